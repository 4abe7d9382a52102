"""Server-side login sessions: a random id in the browser's signed cookie, its SHA-256 in the
``login_session`` table. A session is live while its row has no ``ended_at`` and its user is
active, so logging out, a timeout, a password reset or disabling the account ends it at once,
whatever the cookie still says.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.digests import token_digest
from dashboard.registry.models import LoginSession, User, utcnow

# Why a session ended, as stored in ``login_session.end_reason``.
END_REASONS = ("logout", "idle", "max", "disabled", "password", "replaced")


class LiveSession(NamedTuple):
    user_id: int
    username: str
    role: str


def open_session(session: Session, user_id: int) -> str:
    """Start a session for ``user_id`` and return its new random id (for the cookie only)."""
    sid = secrets.token_urlsafe(32)
    session.add(LoginSession(sid_hash=token_digest(sid), user_id=user_id, started_at=utcnow()))
    session.flush()
    return sid


def live_user(session: Session, sid: str | None, started_after: dt.datetime | None = None) -> LiveSession | None:
    """The active user of a session that has not ended (and, with ``started_after``, began after
    it), or None (one indexed query)."""
    if not isinstance(sid, str) or not sid:
        return None
    query = (
        sa.select(User.id, User.username, User.role)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.sid_hash == token_digest(sid), LoginSession.ended_at.is_(None), User.active.is_(True))
    )
    if started_after is not None:
        query = query.where(LoginSession.started_at > started_after)
    row = session.execute(query).first()
    return LiveSession(*row) if row is not None else None


def why_ended(session: Session, sid: str | None) -> str | None:
    """Why a session is no longer live: its end reason, 'disabled' when its user was disabled,
    or None when there is no such session."""
    if not isinstance(sid, str) or not sid:
        return None
    row = session.execute(
        sa.select(LoginSession.end_reason, User.active)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.sid_hash == token_digest(sid))
    ).first()
    if row is None:
        return None
    return row.end_reason or ("disabled" if not row.active else None)


def end_session(session: Session, sid: str | None, reason: str) -> bool:
    """End one session; False when it had already ended or never existed."""
    if not isinstance(sid, str) or not sid:
        return False
    return _end(session, LoginSession.sid_hash == token_digest(sid), reason) > 0


def end_user_sessions(session: Session, user_id: int, reason: str) -> int:
    """End every live session of one user; returns how many there were."""
    return _end(session, LoginSession.user_id == user_id, reason)


def open_session_counts(session: Session, started_after: dt.datetime) -> dict[int, int]:
    """Sessions per user id started after ``started_after`` and not ended (users with none are
    left out). Pass now minus the absolute session limit: an older session cannot be in use."""
    rows = session.execute(
        sa.select(LoginSession.user_id, sa.func.count())
        .where(LoginSession.ended_at.is_(None), LoginSession.started_at > started_after)
        .group_by(LoginSession.user_id)
    )
    return {int(user_id): int(count) for user_id, count in rows}


def _end(session: Session, which, reason: str) -> int:
    if reason not in END_REASONS:
        raise ValueError(f"unknown session end reason {reason!r}; one of {', '.join(END_REASONS)}")
    result = session.execute(
        sa.update(LoginSession)
        .where(which, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )
    return int(result.rowcount or 0)
