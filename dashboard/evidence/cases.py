"""Case files and their teams: who may see and handle a case's evidence (issue 17).

A *case file* is a case reference as one officer works it: the officer who made its footage
requests (``CaseFile.officer_id``). Two officers who use the same reference have two case files,
and neither sees the other's evidence (a case reference is easy to guess; being on a team is not).
The case's *team* is its officer and the officers the officer added (``CaseMember``). Team
members see, play, download, triage and export the case's evidence; only the case's officer
changes the team or closes the case. Owner contact details stay with the officer who made the
requests (``registry.casework``): a team member never sees them.

Every refusal (another officer's case, a role that has no business with evidence, an unknown or
malformed id) is written to the audit log with one answer for all of them (``evidence_refused``),
so that guessing ids tells nothing and is seen by the auditor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.registry import audit, public_ids
from dashboard.registry.casework import CaseworkError, refuse
from dashboard.registry.database import hold_write_lock
from dashboard.registry.models import CaseFile, CaseMember, EvidenceFile, FootageResponse, User

EVIDENCE_ROLES = frozenset({"officer"})  # least privilege: nobody else has a need to see footage
REFUSED = "evidence_refused"
NOT_YOURS = (
    "There is no such case among yours: you can open only cases you made requests in, or whose "
    "officer added you to the team."
)
NO_FILE = "There is no such file in your cases."
USERNAME_MAX = 64


@dataclass(frozen=True)
class CaseSeen:
    """A case file as one user sees it: their own (``own``) or one they are on the team of."""

    case_file_id: int
    public_id: str
    case_ref: str
    officer_id: int
    officer: str  # the case officer's username
    own: bool
    closed_at: dt.datetime | None


@dataclass(frozen=True)
class Member:
    user_id: int
    username: str
    added_by: str
    added_at: dt.datetime


def _active_officer(session: Session, actor: audit.Actor) -> User | None:
    if actor.user_id is None:
        return None
    user = session.get(User, actor.user_id)
    if user is None or not user.active or user.role not in EVIDENCE_ROLES:
        return None
    return user


def _refuse(
    session: Session,
    actor: audit.Actor,
    doing: str,
    *,
    why: str,
    message: str,
    case_ref: str | None = None,
    reason: str | None = None,
    detail: dict | None = None,
) -> NoReturn:
    refuse(
        session,
        actor,
        REFUSED,
        field="evidence",
        why=why,
        message=message,
        case_ref=case_ref,
        reason=reason,
        detail={"doing": doing, **(detail or {})},
    )


def visible_case_ids(session: Session, user_id: int) -> sa.Select:
    """The ids of the case files ``user_id`` may see: their own, and those they were added to."""
    member = sa.select(CaseMember.case_file_id).where(CaseMember.user_id == user_id)
    return sa.select(CaseFile.id).where(sa.or_(CaseFile.officer_id == user_id, CaseFile.id.in_(member)))


def cases_for(session: Session, user_id: int) -> list[CaseSeen]:
    """Every case file ``user_id`` may see, their own first, then by case reference."""
    rows = session.execute(
        sa.select(
            CaseFile.id, CaseFile.public_id, CaseFile.case_ref, CaseFile.officer_id, User.username, CaseFile.closed_at
        )
        .join(User, User.id == CaseFile.officer_id)
        .where(CaseFile.id.in_(visible_case_ids(session, user_id)))
    ).all()
    seen = [CaseSeen(int(r[0]), r[1], r[2], int(r[3]), r[4], int(r[3]) == user_id, r[5]) for r in rows]
    return sorted(seen, key=lambda c: (not c.own, c.case_ref, c.officer))


def _seen(session: Session, case: CaseFile, user_id: int) -> CaseSeen:
    officer = session.get(User, case.officer_id)
    return CaseSeen(
        case.id,
        case.public_id,
        case.case_ref,
        case.officer_id,
        officer.username if officer else "?",
        case.officer_id == user_id,
        case.closed_at,
    )


_NO_SUCH_ID = "-"  # looked up when a given id is malformed, so that every refusal does the same work


def _member_of(user_id: int) -> sa.ColumnElement:
    return sa.exists().where(CaseMember.case_file_id == CaseFile.id, CaseMember.user_id == user_id)


def require_case(
    session: Session,
    actor: audit.Actor,
    case_public_id: object,
    doing: str,
    *,
    reason: str | None = None,
    own: bool = False,
) -> CaseFile:
    """The case file ``case_public_id`` names, when ``actor`` is an active officer on its team (its
    own officer when ``own``); otherwise the refusal is logged and ``CaseworkRefused`` raised, with
    one message whatever the cause (unknown id, another officer's case, a role without access).

    An unknown id, a malformed one and another officer's case cost the same: one query, whose row
    (if any) says whether the user is on the team, then one refusal."""
    user = _active_officer(session, actor)
    shown = public_ids.normalise(case_public_id, public_ids.CASE_FILE_PREFIX) or _NO_SUCH_ID
    row = session.execute(
        sa.select(CaseFile, _member_of(actor.user_id or 0)).where(CaseFile.public_id == shown)
    ).first()
    case, member = (row[0], bool(row[1])) if row is not None else (None, False)
    mine = case is not None and user is not None and case.officer_id == user.id
    if not (user is not None and case is not None and (mine or (member and not own))):
        why = "role" if user is None else "unknown" if case is None else "not_officer" if own and member else "not_team"
        message = "Only the case's own officer can do this." if why == "not_officer" else NOT_YOURS
        _refuse(
            session,
            actor,
            doing,
            why=why,
            message=message,
            reason=reason,
            case_ref=case.case_ref if case is not None and why == "not_officer" else None,
            detail={"case_id": str(case_public_id)[:40] if case_public_id is not None else None},
        )
    return case


def _is_member(session: Session, case_file_id: int, user_id: int) -> bool:
    return bool(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(CaseMember)
            .where(CaseMember.case_file_id == case_file_id, CaseMember.user_id == user_id)
        )
    )


def require_file(
    session: Session,
    actor: audit.Actor,
    file_public_id: object,
    doing: str,
    *,
    reason: str | None = None,
    states: tuple[str, ...] = ("stored",),
) -> tuple[EvidenceFile, CaseFile]:
    """The uploaded file ``file_public_id`` names and its case file, when ``actor`` is on the case's
    team and the file is in one of ``states``; otherwise the refusal is logged (one message for an
    unknown file, another officer's, or one not uploaded whole). One query whatever the id."""
    user = _active_officer(session, actor)
    shown = public_ids.normalise(file_public_id, public_ids.EVIDENCE_PREFIX) or _NO_SUCH_ID
    row = session.execute(
        sa.select(EvidenceFile, CaseFile, _member_of(actor.user_id or 0), FootageResponse.answer)
        .join(FootageResponse, FootageResponse.id == EvidenceFile.response_id)
        .join(
            CaseFile,
            sa.and_(
                CaseFile.case_ref == FootageResponse.case_ref, CaseFile.officer_id == FootageResponse.requested_by_id
            ),
        )
        .where(EvidenceFile.public_id == shown)
    ).first()
    file, case, member = (row[0], row[1], bool(row[2])) if row is not None else (None, None, False)
    if row is not None and row[3] != "footage":
        file = case = None  # the owner has not sent the answer with this file: it is theirs to remove yet
    on_team = case is not None and user is not None and (case.officer_id == user.id or member)
    if not (on_team and file.state in states):
        why = "role" if user is None else "unknown" if case is None else "state" if on_team else "not_team"
        message = (
            NO_FILE
            if why != "state"
            else (
                "That file's content is no longer kept."
                if file.state == "deleted"
                else "That file was not uploaded whole."
            )
        )
        _refuse(
            session,
            actor,
            doing,
            why=why,
            message=message,
            reason=reason,
            case_ref=case.case_ref if why == "state" else None,
            detail={"file_id": str(file_public_id)[:40] if file_public_id is not None else None},
        )
    return file, case


def lock_case(session: Session, case: CaseFile) -> None:
    """Take the case's write lock and forget what was read before it: a check made before the lock
    must be made again under it (the team, the officer's account, the case's state may have changed
    in between: ``require_*_locked``)."""
    hold_write_lock(session, f"case-file:{case.id}")
    session.expire_all()


def require_file_locked(
    session: Session, actor: audit.Actor, file_public_id: object, doing: str, **kw
) -> tuple[EvidenceFile, CaseFile]:
    """``require_file``, then the case's lock, then ``require_file`` again under it."""
    _file, case = require_file(session, actor, file_public_id, doing, **kw)
    lock_case(session, case)
    return require_file(session, actor, file_public_id, doing, **kw)


def require_case_locked(session: Session, actor: audit.Actor, case_public_id: object, doing: str, **kw) -> CaseFile:
    """``require_case``, then the case's lock, then ``require_case`` again under it."""
    case = require_case(session, actor, case_public_id, doing, **kw)
    lock_case(session, case)
    return require_case(session, actor, case_public_id, doing, **kw)


def members(session: Session, case: CaseFile) -> list[Member]:
    adder = sa.orm.aliased(User)
    rows = session.execute(
        sa.select(CaseMember.user_id, User.username, adder.username, CaseMember.added_at)
        .join(User, User.id == CaseMember.user_id)
        .join(adder, adder.id == CaseMember.added_by_id)
        .where(CaseMember.case_file_id == case.id)
        .order_by(User.username)
    ).all()
    return [Member(int(r[0]), r[1], r[2], r[3]) for r in rows]


def _username(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CaseworkError("username", "Enter the username of the officer to add, e.g. sam.officer.")
    name = value.strip().lower()
    if len(name) > USERNAME_MAX:
        raise CaseworkError("username", f"A username is at most {USERNAME_MAX} characters.")
    return name


def add_member(
    session: Session, actor: audit.Actor, case_public_id: object, username: object, now: dt.datetime
) -> Member:
    """Add an active officer to the case's team (the case's officer only); logged."""
    case = require_case_locked(session, actor, case_public_id, "add to the team", own=True)
    name = _username(username)
    user = session.scalars(sa.select(User).where(sa.func.lower(User.username) == name)).first()
    if user is None or not user.active or user.role not in EVIDENCE_ROLES:
        # One answer for "no such user" and "not an officer": the team is for officers.
        raise CaseworkError("username", f"There is no active officer with the username {name}.")
    if user.id == case.officer_id:
        raise CaseworkError("username", "You are already on your own case's team.")
    if _is_member(session, case.id, user.id):
        raise CaseworkError("username", f"{user.username} is already on the team.")
    member = CaseMember(case_file_id=case.id, user_id=user.id, added_by_id=actor.user_id, added_at=now)
    session.add(member)
    session.flush()
    audit.record(
        session,
        actor,
        "case_team_added",
        case_ref=case.case_ref,
        reason=None,
        detail={"case_id": case.public_id, "user_id": user.id, "username": user.username},
    )
    return Member(user.id, user.username, actor.username or "", now)


def remove_member(session: Session, actor: audit.Actor, case_public_id: object, username: object) -> str:
    """Take an officer off the case's team (the case's officer only); logged. Returns the username."""
    case = require_case_locked(session, actor, case_public_id, "remove from the team", own=True)
    name = _username(username)
    row = session.execute(
        sa.select(CaseMember, User.username)
        .join(User, User.id == CaseMember.user_id)
        .where(CaseMember.case_file_id == case.id, sa.func.lower(User.username) == name)
    ).first()
    if row is None:
        raise CaseworkError("username", f"{name} is not on this case's team.")
    member, username_found = row
    session.delete(member)
    session.flush()
    audit.record(
        session,
        actor,
        "case_team_removed",
        case_ref=case.case_ref,
        reason=None,
        detail={"case_id": case.public_id, "user_id": member.user_id, "username": username_found},
    )
    return username_found


def close_case(session: Session, actor: audit.Actor, case_public_id: object, now: dt.datetime) -> CaseFile:
    """Close the case (its officer only): its evidence is then kept for the closed-case period."""
    case = require_case_locked(session, actor, case_public_id, "close the case", own=True)
    if case.closed_at is not None:
        raise CaseworkError("case", "This case is already closed.")
    case.closed_at, case.closed_by_id = now, actor.user_id
    session.flush()
    audit.record(
        session,
        actor,
        "case_closed",
        case_ref=case.case_ref,
        reason=None,
        detail={"case_id": case.public_id, "at": now.isoformat()},
    )
    return case


def reopen_case(session: Session, actor: audit.Actor, case_public_id: object, now: dt.datetime) -> CaseFile:
    """Open a closed case again (its officer only); what retention already deleted stays deleted."""
    case = require_case_locked(session, actor, case_public_id, "reopen the case", own=True)
    if case.closed_at is None:
        raise CaseworkError("case", "This case is open.")
    case.closed_at, case.closed_by_id = None, None
    session.flush()
    audit.record(
        session,
        actor,
        "case_reopened",
        case_ref=case.case_ref,
        reason=None,
        detail={"case_id": case.public_id, "at": now.isoformat()},
    )
    return case


def responses_of(case: CaseFile) -> sa.Select:
    """The ids of the owners' responses that belong to ``case`` (made by its officer in its reference)."""
    return sa.select(FootageResponse.id).where(
        FootageResponse.case_ref == case.case_ref, FootageResponse.requested_by_id == case.officer_id
    )
