"""The append-only audit log (Data Protection Act 2018 s.62): who did what, when and why.

Each row's ``row_hash`` is the SHA-256 of its content and the previous row's hash, so an edit
or deletion anywhere breaks the chain from that row on (``verify_chain`` finds where).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.registry.models import AuditEvent, utcnow

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who acted: a logged-in user, or the system itself (``user_id`` None)."""

    user_id: int | None
    username: str | None
    role: str | None


SYSTEM = Actor(None, "system", None)


def _canonical(event: dict) -> str:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def row_digest(prev_hash: str, fields: dict) -> str:
    """SHA-256 over the previous hash and the row's fields in a canonical JSON form."""
    return hashlib.sha256((prev_hash + "|" + _canonical(fields)).encode("utf-8")).hexdigest()


def _fields(row: AuditEvent) -> dict:
    return {
        "occurred_at": row.occurred_at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"),
        "user_id": row.user_id,
        "username": row.username,
        "role": row.role,
        "action": row.action,
        "case_ref": row.case_ref,
        "reason": row.reason,
        "subject_ids": row.subject_ids,
        "detail": row.detail,
    }


def _lock_chain(session: Session) -> None:
    """Serialise writers until commit, so that two events can never chain to the same predecessor.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: a write statement that changes no row
    takes the database's write lock now (waiting up to the busy timeout), so the predecessor read
    next is the newest committed row and no other writer can commit before this transaction does.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('audit_event'))"))
    elif dialect == "sqlite":
        session.execute(sa.text("UPDATE app_user SET id = id WHERE 0"))


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    case_ref: str | None = None,
    reason: str | None = None,
    subject_ids: Iterable[int | str] | None = None,
    detail: dict | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent:
    """Append one event to the log in the caller's transaction and return it."""
    _lock_chain(session)
    prev = session.scalar(sa.select(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS_HASH
    row = AuditEvent(
        occurred_at=at or utcnow(),
        user_id=actor.user_id,
        username=actor.username,
        role=actor.role,
        action=action,
        case_ref=case_ref,
        reason=reason,
        subject_ids=json.dumps([str(s) for s in subject_ids]) if subject_ids is not None else None,
        detail=_canonical(detail) if detail is not None else None,
        prev_hash=prev,
    )
    row.row_hash = row_digest(prev, _fields(row))
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class ChainCheck:
    rows_checked: int
    first_broken_id: int | None

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


def verify_chain(session: Session) -> ChainCheck:
    """Recompute every hash in order; report the first row whose hash or link does not match."""
    prev = GENESIS_HASH
    count = 0
    for row in session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).yield_per(5000):
        count += 1
        if row.prev_hash != prev or row.row_hash != row_digest(prev, _fields(row)):
            return ChainCheck(count, row.id)
        prev = row.row_hash
    return ChainCheck(count, None)
