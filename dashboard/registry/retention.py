"""The data lifecycle after registration (issue 7): erasure on an owner's request, and the retention
check that keeps only registrations whose owners still confirm them (UK GDPR storage limitation).

- :func:`erase_on_request`: an administrator erases one registration, found by the reference its
  owner quotes, giving the reason (the owner's request, e.g. its ticket number).
- :func:`find_for_erasure` and :func:`erase_by_email_and_postcode` (issue 18): the same, for an owner
  who no longer has their reference: every active registration made with an email address at a
  postcode. The administrator sees only how many match, never what they hold.
- :func:`run_retention`: the scheduled check. A registration last confirmed ``period`` months ago
  or more is *flagged* (its owner is sent a reminder with a new private link when mail is set
  up); one still unconfirmed ``grace`` days after its flag is *erased*; the flag of one
  reconfirmed since (or no longer overdue under the current period) is *cleared*. A second run
  with nothing new to do changes nothing.
- :func:`retention_summary`: counts for the auditor page: what is kept and why, what is due,
  what has been erased and why.

Every erasure goes through :func:`dashboard.registry.registration.erase`, the same as an owner's
own withdrawal (promise 6), and is logged without the erased data: ``registration_erased`` with
``{"why": "request"}`` and the administrator's reason, or ``{"why": "retention"}`` by the system.
The retention run selects with set-based SQL and changes rows in batches of ``BATCH`` ids, one
transaction and one audit row per batch, so SQLite's write lock is never held for long and a
run over hundreds of thousands of registrations takes seconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from dashboard.core.uktime import uk_day
from dashboard.registry import audit
from dashboard.registry.models import AuditEvent, Camera, Registrant, Site, User, utcnow
from dashboard.registry.registration import (
    REFERENCE_ALPHABET,
    REFERENCE_LENGTH,
    REFERENCE_PREFIX,
    RETENTION_MONTHS,
    confirmation_cutoff,
    erase,
    id_in,
    registrations_at,
    token_digest,
)

GRACE_DAYS = 30  # the default of the RETENTION_GRACE_DAYS setting
BATCH = 20_000  # ids per UPDATE, per transaction and per audit row
REMINDER_GROUP = 100  # reminders whose new links are stored (and logged) together
MAX_MAIL_FAILURES = 3  # the relay failing this many times in a row stops the reminders for this run
MIN_REASON_LENGTH = 8
MAX_REASON_LENGTH = 500  # AuditEvent.reason
REFERENCE_EXAMPLE = "CCR-7KQ2MX"
AUDIT_KEPT_BECAUSE = (
    "Kept in full and never erased: the audit log is append-only and tamper-evident because the Data Protection "
    "Act 2018 s.62 requires logs of collection, alteration, consultation, disclosure and erasure. Its rows name "
    "registrations by id and reference only, never their owners' details."
)

_REFERENCE = re.compile(re.escape(REFERENCE_PREFIX) + f"[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class ErasureError(ValueError):
    """An erasure on request cannot be done; the message says why, for the administrator."""


# --------------------------------------------------------------------------- erasure on request


@dataclass(frozen=True)
class ErasedOnRequest:
    """What :func:`erase_on_request` erased (no personal data)."""

    reference: str
    cameras_switched_off: int
    erased_at: dt.datetime


def erase_on_request(
    session: Session, actor: audit.Actor, reference: str, reason: str, now: dt.datetime | None = None
) -> ErasedOnRequest:
    """Erase the registration with ``reference`` at its owner's request (administrators only).

    ``reason`` is kept in the audit log (``registration_erased``, ``{"why": "request"}``): quote
    the owner's request, e.g. its ticket number, not the owner's details (a reason that repeats
    the name, email, phone, address or postcode being erased is refused). Raises
    :class:`ErasureError` and changes nothing for a non-admin actor, a malformed or unknown
    reference, a registration already ended, or a missing reason. Flushes; the caller commits.
    """
    now = now or utcnow()
    _check_admin(session, actor)
    ref = " ".join(str(reference or "").split()).upper()
    if not ref:
        raise ErasureError(f"Give the registration's reference, as the owner quotes it (like {REFERENCE_EXAMPLE}).")
    if not _REFERENCE.fullmatch(ref):
        raise ErasureError(
            f"{ref[:20]!r} is not a registration reference; references look like "
            f"{REFERENCE_EXAMPLE}. Nothing was erased."
        )
    text = _reason(reason)
    registrant = session.scalar(sa.select(Registrant).where(Registrant.reference == ref))
    if registrant is None:
        raise ErasureError(
            f"No registration has the reference {ref}; check it against the owner's request. Nothing was erased."
        )
    if registrant.status != "active":
        how = {
            "owner": "withdrawn by its owner",
            "request": "erased on request",
            "retention": "erased by the retention check",
        }.get(registrant.end_reason or "", "ended")
        when = f" on {registrant.withdrawn_at:%d %B %Y}" if registrant.withdrawn_at else ""
        raise ErasureError(
            f"Registration {ref} was already {how}{when}: its personal data is already erased. Nothing was changed."
        )
    if _repeats_personal_data(text, registrant):
        raise ErasureError(
            "The reason repeats the owner's details, which the audit log would keep after they are "
            "erased; quote the request instead (e.g. its ticket number). Nothing was erased."
        )
    erased = erase(session, [registrant.id], why="request", now=now)
    audit.record(
        session,
        actor,
        "registration_erased",
        reason=text,
        subject_ids=erased.registrant_ids,
        detail={"why": "request", "reference": ref, "cameras_switched_off": erased.cameras_switched_off},
        at=now,
    )
    return ErasedOnRequest(ref, erased.cameras_switched_off, now)


@dataclass(frozen=True)
class ErasedByContact:
    """What :func:`erase_by_email_and_postcode` erased (no personal data)."""

    registrations: int
    cameras_switched_off: int


_EMAIL = TypeAdapter(EmailStr)


def _email_and_postcode(email: str | None, postcode: str | None, reference) -> tuple[str, str]:
    """The email address and postcode written as the register stores them, or ErasureError."""
    text = " ".join(str(email or "").split())
    try:
        address = _EMAIL.validate_python(text).lower() if text else ""
    except ValidationError:
        address = ""
    if not address:
        raise ErasureError(
            "Give the email address the owner registered with, like name@example.com. Nothing was erased."
        )
    typed = " ".join(str(postcode or "").split())[:12]
    row = reference.lookup_postcode(typed) if typed else None
    if row is None:
        raise ErasureError(
            f"Give the postcode of the owner's cameras in the {reference.force_name} area"
            f"{f' ({typed!r} is not one)' if typed else ''}. Nothing was erased."
        )
    return address, str(row["postcode"])


@dataclass(frozen=True)
class Found:
    """What :func:`find_for_erasure` found: how many registrations, and ``key``, which names exactly
    which ones (a digest of their references: nothing of them can be read from it), so that the
    erase that follows erases that set or nothing."""

    count: int
    key: str


def _found_key(found: list[Registrant]) -> str:
    return hashlib.sha256("\n".join(sorted(r.reference for r in found)).encode("utf-8")).hexdigest()[:32]


def _typed_in_reason(text: str, address: str, code: str) -> bool:
    """Whether the reason repeats the email address or postcode typed to find the registrations."""
    compact = re.sub(r"\s", "", text.casefold())
    return address.casefold() in text.casefold() or code.replace(" ", "").casefold() in compact


_REPEATS = (
    "The reason repeats the owner's details, which the audit log would keep after they are "
    "erased; quote the request instead (e.g. its ticket number)."
)


def find_for_erasure(
    session: Session,
    actor: audit.Actor,
    email: str | None,
    postcode: str | None,
    reason: str | None,
    reference,
    now: dt.datetime | None = None,
) -> Found:
    """Which active registrations were made with ``email`` at ``postcode`` (administrators only;
    only their count is shown). A search of personal data, so it needs the reason and is logged
    (``erasure_lookup``, with the count; never the email address or postcode). A reason that repeats
    the email address or postcode typed, or any other detail of the registrations found, is refused
    as the erase refuses it: the log keeps the reason after the owner is erased."""
    _check_admin(session, actor)
    text = _reason(reason)
    address, code = _email_and_postcode(email, postcode, reference)
    found = registrations_at(session, address, code)
    if _typed_in_reason(text, address, code) or any(_repeats_personal_data(text, r) for r in found):
        raise ErasureError(f"{_REPEATS} Nothing was looked up.")
    audit.record(session, actor, "erasure_lookup", reason=text, detail={"matches": len(found)}, at=now)
    return Found(len(found), _found_key(found))


def erase_by_email_and_postcode(
    session: Session,
    actor: audit.Actor,
    email: str | None,
    postcode: str | None,
    reason: str | None,
    reference,
    *,
    expected: Found,
    now: dt.datetime | None = None,
) -> ErasedByContact:
    """Erase the active registrations made with ``email`` at ``postcode`` at their owner's request
    (administrators only), when they are exactly those :func:`find_for_erasure` found (``expected``;
    if the register changed since, even to the same count, nothing is erased). Logged as one
    ``registration_erased`` row naming the registrations by reference, with the reason."""
    now = now or utcnow()
    _check_admin(session, actor)
    text = _reason(reason)
    address, code = _email_and_postcode(email, postcode, reference)
    if _typed_in_reason(text, address, code):
        raise ErasureError(f"{_REPEATS} Nothing was erased.")
    found = registrations_at(session, address, code)
    if not found:
        raise ErasureError(
            "No active registration was made with that email address at that postcode. Nothing was erased."
        )
    if len(found) != expected.count:
        raise ErasureError(
            f"{len(found)} registrations match now, not {expected.count}: find them again before erasing. "
            "Nothing was erased."
        )
    if _found_key(found) != expected.key:
        raise ErasureError(
            "The registrations that match are not the ones found (one was withdrawn and another made "
            "since): find them again before erasing. Nothing was erased."
        )
    if any(_repeats_personal_data(text, r) for r in found):
        raise ErasureError(f"{_REPEATS} Nothing was erased.")
    references = [registrant.reference for registrant in found]
    erased = erase(session, [registrant.id for registrant in found], why="request", now=now)
    audit.record(
        session,
        actor,
        "registration_erased",
        reason=text,
        subject_ids=erased.registrant_ids,
        detail={
            "why": "request",
            "found_by": "email_and_postcode",
            "references": references,
            "cameras_switched_off": erased.cameras_switched_off,
        },
        at=now,
    )
    return ErasedByContact(len(erased.registrant_ids), erased.cameras_switched_off)


def _check_admin(session: Session, actor: audit.Actor) -> None:
    """An administrator: a logged-in user whose account is still active with the admin role, or the
    command line acting as one (``user_id`` None: whoever runs it can reach the database anyway)."""
    role = actor.role
    if actor.user_id is not None:
        user = session.get(User, actor.user_id)
        role = user.role if user is not None and user.active else None
    if role != "admin":
        raise ErasureError(
            f"Only an administrator can erase a registration on request; "
            f"{actor.username or 'this user'} is {_role(role)}. Nothing was erased."
        )


def _role(role: str | None) -> str:
    if role is None:
        return "not an active user with a role"
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"


def _reason(reason: str | None) -> str:
    raw = str(reason or "")
    if _CONTROL.search(raw):
        raise ErasureError("The reason contains control characters; type it again. Nothing was erased.")
    text = " ".join(raw.split())
    if not text:
        raise ErasureError(
            "Give the reason for the erasure, quoting the owner's request (e.g. its ticket number). Nothing was erased."
        )
    if len(text) < MIN_REASON_LENGTH:
        raise ErasureError(
            f"The reason {text!r} is too short to trace the request; quote the owner's request "
            f"(e.g. its ticket number), at least {MIN_REASON_LENGTH} characters. Nothing was erased."
        )
    if len(text) > MAX_REASON_LENGTH:
        raise ErasureError(
            f"The reason is {len(text):,} characters long; keep it to {MAX_REASON_LENGTH}. Nothing was erased."
        )
    return text


def _repeats_personal_data(text: str, registrant: Registrant) -> bool:
    """Whether ``text`` contains any of the personal values about to be erased."""
    folded = text.casefold()
    compact = re.sub(r"[\s\-().+]", "", folded)
    site = registrant.site
    phrases = [registrant.name, site.address if site else None]
    if any(p and re.search(rf"(?<!\w){re.escape(p.casefold())}(?!\w)", folded) for p in phrases):
        return True
    if registrant.email and registrant.email.casefold() in folded:
        return True
    if site is not None and site.postcode and site.postcode.replace(" ", "").casefold() in compact:
        return True
    digits = re.sub(r"\D", "", registrant.phone or "")
    return bool(digits) and (digits in compact or "44" + digits.lstrip("0") in compact)


# --------------------------------------------------------------------------- the retention run


@dataclass(frozen=True)
class Reminder:
    """One reminder to an owner whose registration was just flagged: a new private link."""

    to: str
    reference: str
    token: str  # the new management token (only its digest is stored)
    erase_from: dt.date  # the first day a run may erase it (UK date), unless confirmed before


Mailer = Callable[[Reminder], None]  # raises dashboard.mail.MailError when the relay refuses


def reminder_mailer(settings, force_name: str) -> Mailer | None:
    """A mailer that sends reminders through ``settings.smtp_url``, or None without a mail relay."""
    if settings.smtp_url is None:
        return None
    from dashboard.mail import retention_reminder_message, send

    def send_reminder(reminder: Reminder) -> None:
        subject, body = retention_reminder_message(
            reminder.reference,
            f"{settings.public_base_url}/manage/{reminder.token}",
            force_name,
            settings.retention_months,
            reminder.erase_from,
        )
        send(settings.smtp_url, settings.mail_from, reminder.to, subject, body)

    return send_reminder


@dataclass(frozen=True)
class RetentionRun:
    """What one retention run did (or, for a dry run, would do). No personal data."""

    as_of: dt.datetime
    period_months: int
    grace_days: int
    dry_run: bool
    flagged: int  # newly flagged as unconfirmed for the period
    erase_from: dt.datetime  # those flagged now may be erased from this instant (as_of + grace)
    mail_configured: bool
    reminders_sent: int  # a dry run counts the reminders it would send
    reminders_unsent: int  # flagged owners with an email address not reminded (no mail relay, or it failed)
    without_email: int  # flagged owners with no email address (phone only): not reminded
    erased: int  # flagged at least grace_days ago and still unconfirmed: personal data erased now
    cameras_switched_off: int
    flags_cleared: int  # reconfirmed since flagged (or no longer overdue under this period)
    seconds: float

    @property
    def nothing_to_do(self) -> bool:
        return not (self.flagged or self.erased or self.flags_cleared)


def _check_policy(period: int, grace: int) -> None:
    if not isinstance(period, int) or isinstance(period, bool) or period < 1:
        raise ValueError(f"the retention period must be a whole number of months, at least 1, got {period!r}")
    if not isinstance(grace, int) or isinstance(grace, bool) or grace < 1:
        raise ValueError(f"the grace period must be a whole number of days, at least 1, got {grace!r}")


def _aware(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware (UTC), got {now!r}")
    return now.astimezone(dt.UTC)


@dataclass(frozen=True)
class _Rules:
    """The three sets of a run, as SQL conditions on ``registrant`` (disjoint by construction)."""

    stale: sa.ColumnElement  # flagged, but reconfirmed since or no longer overdue: clear the flag
    due: sa.ColumnElement  # flagged at least grace ago and still unconfirmed: erase
    to_flag: sa.ColumnElement  # overdue and not (validly) flagged: flag


def _rules(now: dt.datetime, period: int, grace: int) -> _Rules:
    r = Registrant
    cutoff = confirmation_cutoff(now, period)
    active, flag, confirmed = r.status == "active", r.retention_flagged_at, r.last_confirmed_at
    overdue = confirmed <= cutoff
    return _Rules(
        stale=sa.and_(active, flag.is_not(None), sa.or_(confirmed > flag, confirmed > cutoff)),
        due=sa.and_(active, flag.is_not(None), confirmed <= flag, overdue, flag <= now - dt.timedelta(days=grace)),
        to_flag=sa.and_(active, overdue, sa.or_(flag.is_(None), confirmed > flag)),
    )


def _ids(session: Session, condition: sa.ColumnElement) -> list[int]:
    return list(session.scalars(sa.select(Registrant.id).where(condition).order_by(Registrant.id)))


def _batches(ids: Sequence[int], size: int):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def run_retention(
    session: Session,
    now: dt.datetime,
    period: int = RETENTION_MONTHS,
    grace: int = GRACE_DAYS,
    mailer: Mailer | None = None,
    *,
    dry_run: bool = False,
    batch_size: int = BATCH,
) -> RetentionRun:
    """Flag, remind, erase and unflag as the retention policy says, as of ``now``.

    Parameters
    ----------
    now : the instant the run acts as of (aware); flags are stamped with it, erasures dated by it
    period : months without confirmation after which a registration is flagged (``RETENTION_MONTHS``)
    grace : days from the flag to erasure, for the owner to confirm (``RETENTION_GRACE_DAYS``)
    mailer : sends each newly flagged owner with an email address a reminder with a new private
        link (:func:`reminder_mailer`); None: no reminders, and the report says so
    dry_run : count only: change nothing, send nothing

    In order: clear stale flags, erase the due, flag the newly overdue (so nothing is flagged and
    erased in one run). Commits after every batch (an interrupted run keeps what it finished and
    the next run does the rest); pass a session with nothing else pending. Audit rows, by the
    system actor, name registrations by id only: ``retention_flag_cleared``,
    ``registration_erased`` (``{"why": "retention"}``), ``retention_flagged`` and
    ``retention_reminder_sent``, one per batch.

    Example: confirmed 2025-01-10 09:00 UTC, period 12, grace 30: flagged by the first run at or
    after 2026-01-10 09:00; erased by the first run at least 30 days after that flag, unless its
    owner confirms it first (which clears the flag).
    """
    _check_policy(period, grace)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    now = _aware(now)
    started = time.perf_counter()
    rules = _rules(now, period, grace)
    erase_from = now + dt.timedelta(days=grace)
    policy = {"period_months": period, "grace_days": grace, "as_of": now.isoformat(timespec="seconds")}
    if dry_run:
        return _dry_run(session, now, period, grace, rules, erase_from, mailer, started)

    cleared = 0
    for batch in _batches(_ids(session, rules.stale), batch_size):
        done = _set_flag(session, batch, rules.stale, None, max(now, utcnow()))
        if done:
            audit.record(
                session,
                audit.SYSTEM,
                "retention_flag_cleared",
                subject_ids=sorted(done),
                detail={"registrations": len(done), **policy},
            )
            cleared += len(done)
        session.commit()

    erased = cameras = 0
    for batch in _batches(_ids(session, rules.due), batch_size):
        result = erase(session, batch, why="retention", now=now, where=rules.due)
        if result.registrant_ids:
            audit.record(
                session,
                audit.SYSTEM,
                "registration_erased",
                subject_ids=result.registrant_ids,
                detail={
                    "why": "retention",
                    "registrations": len(result.registrant_ids),
                    "cameras_switched_off": result.cameras_switched_off,
                    **policy,
                },
            )
            erased += len(result.registrant_ids)
            cameras += result.cameras_switched_off
        session.commit()

    flagged: list[int] = []
    for batch in _batches(_ids(session, rules.to_flag), batch_size):
        done = _set_flag(session, batch, rules.to_flag, now, max(now, utcnow()))
        if done:
            audit.record(
                session,
                audit.SYSTEM,
                "retention_flagged",
                subject_ids=done,
                detail={"registrations": len(done), "erase_from": uk_day(erase_from).isoformat(), **policy},
            )
            flagged.extend(done)
        session.commit()
    session.expire_all()

    sent, unsent, without_email = _remind(session, flagged, mailer, uk_day(erase_from), batch_size)
    return RetentionRun(
        now,
        period,
        grace,
        False,
        len(flagged),
        erase_from,
        mailer is not None,
        sent,
        unsent,
        without_email,
        erased,
        cameras,
        cleared,
        time.perf_counter() - started,
    )


def _set_flag(
    session: Session, ids: Sequence[int], condition: sa.ColumnElement, value: dt.datetime | None, changed: dt.datetime
) -> list[int]:
    """Set ``retention_flagged_at`` of those of ``ids`` still matching ``condition`` (re-checked in the
    statement, so a registration reconfirmed or withdrawn meanwhile is left alone); their ids."""
    table = Registrant.__table__
    return sorted(
        session.execute(
            sa.update(table)
            .where(id_in(session, table.c.id, ids), condition)
            .values(retention_flagged_at=value, updated_at=changed)
            .returning(table.c.id)
        )
        .scalars()
        .all()
    )


def _dry_run(session: Session, now, period, grace, rules: _Rules, erase_from, mailer, started) -> RetentionRun:
    def count(condition) -> int:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Registrant).where(condition)))

    flagged = count(rules.to_flag)
    with_email = count(sa.and_(rules.to_flag, Registrant.email.is_not(None)))
    cameras = int(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Camera)
            .join(Site, Site.id == Camera.site_id)
            .join(Registrant, Registrant.id == Site.registrant_id)
            .where(rules.due, Camera.active.is_(True))
        )
    )
    sent = with_email if mailer is not None else 0
    return RetentionRun(
        now,
        period,
        grace,
        True,
        flagged,
        erase_from,
        mailer is not None,
        sent,
        with_email - sent,
        flagged - with_email,
        count(rules.due),
        cameras,
        count(rules.stale),
        time.perf_counter() - started,
    )


def _remind(
    session: Session, flagged: list[int], mailer: Mailer | None, erase_from: dt.date, batch_size: int
) -> tuple[int, int, int]:
    """Send each flagged owner with an email address a new private link: (sent, unsent, without email).

    The new link's digest is stored only after its message was handed to the relay, so a failed
    send leaves the owner's old link working."""
    from dashboard.mail import MailError

    if mailer is None:
        emailable = sum(
            int(
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Registrant)
                    .where(id_in(session, Registrant.id, batch), Registrant.email.is_not(None))
                )
            )
            for batch in _batches(flagged, batch_size)
        )
        return 0, emailable, len(flagged) - emailable
    with_email: list[tuple[int, str, str]] = []
    for batch in _batches(flagged, batch_size):
        with_email.extend(
            session.execute(
                sa.select(Registrant.id, Registrant.reference, Registrant.email)
                .where(id_in(session, Registrant.id, batch), Registrant.email.is_not(None))
                .order_by(Registrant.id)
            ).tuples()
        )
    without_email = len(flagged) - len(with_email)
    sent = failures_in_a_row = 0
    pending: list[dict] = []

    def store() -> None:
        if not pending:
            return
        table = Registrant.__table__
        session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("rid"), table.c.status == "active")
            .values(management_token_hash=sa.bindparam("digest")),
            pending,
        )
        audit.record(
            session,
            audit.SYSTEM,
            "retention_reminder_sent",
            subject_ids=[p["rid"] for p in pending],
            detail={"reminders": len(pending), "erase_from": erase_from.isoformat()},
        )
        session.commit()
        pending.clear()

    for registrant_id, reference, email in with_email:
        if failures_in_a_row >= MAX_MAIL_FAILURES:
            break
        token = secrets.token_urlsafe(32)
        try:
            mailer(Reminder(email, reference, token, erase_from))
        except MailError:
            failures_in_a_row += 1
            continue
        failures_in_a_row = 0
        pending.append({"rid": registrant_id, "digest": token_digest(token)})
        sent += 1
        if len(pending) >= REMINDER_GROUP:
            store()
    store()
    session.expire_all()
    return sent, len(with_email) - sent, without_email


# --------------------------------------------------------------------------- the auditor's summary


@dataclass(frozen=True)
class RetentionSummary:
    """Where every registration stands under the retention policy as of ``as_of`` (counts only).

    Active registrations split into ``current + overdue_unflagged + in_grace + due_now``; ended
    ones into ``ended_by_owner + erased_on_request + erased_by_retention + ended_reason_unknown``.
    """

    as_of: dt.datetime
    period_months: int
    grace_days: int
    active: int
    current: int  # kept: confirmed within the period, consent current
    overdue_unflagged: int  # unconfirmed for the period but not yet flagged: the next run flags them
    in_grace: int  # flagged and still in the grace period: kept until it ends, unless confirmed
    first_erasure_at: dt.datetime | None  # when the first of those in grace becomes due for erasure
    due_now: int  # grace over, still unconfirmed: the next run erases them
    ended_by_owner: int  # withdrawn by the owner from the management link
    erased_on_request: int  # erased by an administrator at the owner's request
    erased_by_retention: int  # erased by the retention check
    ended_reason_unknown: int  # ended with no reason recorded (none expected since migration 0006)
    audit_rows: int
    audit_kept_because: str = AUDIT_KEPT_BECAUSE

    @property
    def ended(self) -> int:
        return self.ended_by_owner + self.erased_on_request + self.erased_by_retention + self.ended_reason_unknown


def retention_summary(
    session: Session, now: dt.datetime, period: int = RETENTION_MONTHS, grace: int = GRACE_DAYS
) -> RetentionSummary:
    """Counts for the auditor page, in three queries (one pass over ``registrant``)."""
    _check_policy(period, grace)
    now = _aware(now)
    r = Registrant
    cutoff = confirmation_cutoff(now, period)
    rules = _rules(now, period, grace)
    flagged_valid = sa.and_(r.retention_flagged_at.is_not(None), r.last_confirmed_at <= r.retention_flagged_at)
    in_grace = sa.and_(
        r.status == "active",
        r.last_confirmed_at <= cutoff,
        flagged_valid,
        r.retention_flagged_at > now - dt.timedelta(days=grace),
    )
    category = sa.case(
        (sa.and_(r.status != "active", r.end_reason == "owner"), "owner"),
        (sa.and_(r.status != "active", r.end_reason == "request"), "request"),
        (sa.and_(r.status != "active", r.end_reason == "retention"), "retention"),
        (r.status != "active", "unknown"),
        (r.last_confirmed_at > cutoff, "current"),
        (rules.due, "due"),
        (in_grace, "grace"),
        else_="overdue",
    ).label("category")
    counts = dict(session.execute(sa.select(category, sa.func.count()).group_by(category)).tuples().all())
    first_flag = session.scalar(sa.select(sa.func.min(r.retention_flagged_at)).where(in_grace))
    audit_rows = int(session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)))
    active = sum(counts.get(c, 0) for c in ("current", "overdue", "grace", "due"))
    return RetentionSummary(
        as_of=now,
        period_months=period,
        grace_days=grace,
        active=active,
        current=counts.get("current", 0),
        overdue_unflagged=counts.get("overdue", 0),
        in_grace=counts.get("grace", 0),
        first_erasure_at=first_flag + dt.timedelta(days=grace) if first_flag is not None else None,
        due_now=counts.get("due", 0),
        ended_by_owner=counts.get("owner", 0),
        erased_on_request=counts.get("request", 0),
        erased_by_retention=counts.get("retention", 0),
        ended_reason_unknown=counts.get("unknown", 0),
        audit_rows=audit_rows,
    )
