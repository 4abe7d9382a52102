"""How long owners' footage is kept, and its deletion (issue 17): the footage half of the nightly
``retention run``, what the auditor and the administrators see of it, and the sentence the public reads.

The rules (``EVIDENCE_DECLINED_DAYS``, ``EVIDENCE_CLOSED_CASE_DAYS``):

- a **declined** file's content is deleted ``declined_days`` after the decision (``triaged_at``);
- **every file of a closed case** (accepted, declined or never decided) is deleted
  ``closed_case_days`` after the case was closed (``CaseFile.closed_at``);
- otherwise a file is kept: awaiting a decision or an accepted exhibit, while its case is open.
  Reopening a case stops the clock (``closed_at`` is cleared); closing it again starts it afresh.

A file due by both rules is deleted at the earlier instant, named by that rule. Deleting a file
keeps its row for the record (state 'deleted', ``deleted_at``; the SHA-256, size, exhibit reference
and the decision stay), blanks what the owner gave (the caption, the file's name, what probing read
from it beyond a few technical facts) and deletes the bytes from the content-addressed store unless
another file still being kept (state 'stored' or 'uploading') has the same SHA-256. Each deletion is
logged by the system as ``evidence_deleted`` with the file's id, case, hash, size, exhibit reference
and rule, never its caption, name or content.

The owner's statement (their name as signature, their note, when and that they made the copy, the
camera's clock difference) follows its files: it is erased once every file of that answer with
content has been deleted, or, for an answer that left no file, once its case has been closed for
``closed_case_days``. The captions and names of files the owner removed or that were refused go at
the same moment. Logged as ``evidence_statement_erased``.

**Crash safety.** For each batch the rows are marked deleted (and scrubbed, and logged) in one
committed transaction *first*; the bytes go after the commit. A crash in between leaves bytes that
no kept row refers to: every run starts by finishing those (``finish_interrupted``), so nothing
ever says "stored" for bytes that are gone (an exhibit never silently loses its content, even if its
case is reopened before the next run), and what a crash leaves behind is removed by the next run.
All of it happens under ``Store.content_lock()``, so an upload of the same bytes never races a
deletion. A second run finds nothing due and changes nothing.

**Freed space in the database file.** SQLite keeps old copies of rewritten rows in free space of
its pages and in its write-ahead log; after a run that blanked anything, an SQLite database is
compacted (``VACUUM``, then the log truncated), so the caption and name are gone from the file too.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from dashboard.core.uktime import UK
from dashboard.footage.storage import Store
from dashboard.registry import audit
from dashboard.registry.database import compact, hold_write_lock, transaction
from dashboard.registry.models import CaseFile, EvidenceFile, FootageResponse

DECLINED, CLOSED_CASE = "declined", "closed_case"
RULE_LABELS = {DECLINED: "Declined files", CLOSED_CASE: "Files of closed cases"}
FILES_DELETED = "files_deleted"  # why a statement was erased: every file of the answer deleted
DELETED_NAME = "deleted"  # what a deleted file's name becomes (the column is NOT NULL)
# What is kept of ``media`` (footage/probe.py) once the content is deleted: technical facts that
# identify nobody. Dropped: the recording time read from the file and anything else it said.
KEPT_MEDIA = ("kind", "container", "format", "codec", "duration_s", "width", "height")
STATEMENT_FIELDS = ("signed_name", "owner_note", "copy_made_at", "copy_made_by_owner", "clock_offset_s")
LIVE_STATES = ("stored", "uploading")  # rows whose bytes are (or are about to be) in the store
BATCH = 200  # files per transaction: the content lock (which holds up uploads finishing) is held this long
HORIZON_DAYS = 30  # how far ahead the storage view lists coming deletions
LOCK_KEY = "evidence-retention"
MB, GB = 1 << 20, 1 << 30


# --------------------------------------------------------------------------- the rules


@dataclass(frozen=True)
class Periods:
    """The periods in force (days)."""

    declined_days: int
    closed_case_days: int

    def __post_init__(self) -> None:
        for name in ("declined_days", "closed_case_days"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a whole number of days, at least 1, got {value!r}")

    @classmethod
    def from_settings(cls, settings) -> Periods:
        return cls(settings.evidence_declined_days, settings.evidence_closed_case_days)

    def in_words(self) -> str:
        """The rules in plain words, for staff."""
        return (
            f"Declined files are deleted {days(self.declined_days)} after the decision to decline them. "
            f"Every file of a closed case, accepted, declined or never decided, is deleted "
            f"{days(self.closed_case_days)} after the case was closed. Accepted exhibits and files awaiting a "
            "decision are kept while their case is open; reopening a case stops its clock. Once every file of "
            "an owner's answer is deleted, the owner's statement (their name, note and what they said about "
            "the copy and the camera's clock) is erased too."
        )


def days(n: int) -> str:
    return f"{n:,} day{'s' if n != 1 else ''}"


def public_sentence(periods: Periods) -> str:
    """One sentence for owners (privacy notice, response page, receipt) on how long footage is kept."""
    return (
        f"Footage you send is deleted {days(periods.declined_days)} after the police decide not to use it, "
        f"and all of it, with what you told us about it, {days(periods.closed_case_days)} after the case is "
        "closed."
    )


def due(
    triage: str | None, triaged_at: dt.datetime | None, closed_at: dt.datetime | None, periods: Periods
) -> tuple[dt.datetime, str] | None:
    """When a kept file's content is due for deletion, and by which rule; None: kept (awaiting a
    decision or accepted, in an open case). The one definition of the rules: the run, the dry run,
    the auditor's summary and the storage view all use it.

    >>> p = Periods(30, 90)
    >>> closed = dt.datetime(2026, 9, 1, 10, 0, tzinfo=dt.timezone.utc)
    >>> due("accepted", closed, closed, p)[0].isoformat(), due("accepted", closed, None, p)
    ('2026-11-30T10:00:00+00:00', None)
    """
    found: list[tuple[dt.datetime, str]] = []
    if triage == "declined" and triaged_at is not None:
        found.append((triaged_at + dt.timedelta(days=periods.declined_days), DECLINED))
    if closed_at is not None:
        found.append((closed_at + dt.timedelta(days=periods.closed_case_days), CLOSED_CASE))
    return min(found, key=lambda d: d[0]) if found else None  # a tie: the declined rule (listed first)


def _aware(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware (UTC), got {now!r}")
    return now.astimezone(dt.UTC)


def kept_media(media: object) -> dict | None:
    """What of a file's probe summary stays once its content is deleted (technical facts only).

    >>> kept_media({"kind": "video", "codec": "h264", "recorded_at": "2026-12-01T21:30:00", "width": 1280})
    {'kind': 'video', 'codec': 'h264', 'width': 1280}
    """
    if not isinstance(media, dict):
        return None
    kept = {}
    for key in KEPT_MEDIA:
        value = media.get(key)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        word = isinstance(value, str) and len(value) <= 20  # a codec or container name, never free text
        if number or word:
            kept[key] = value
    return kept or None


# --------------------------------------------------------------------------- what is held, what is due


@dataclass(frozen=True)
class Tally:
    files: int = 0
    bytes: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.files + other.files, self.bytes + other.bytes)


@dataclass(frozen=True)
class DueFile:
    """A kept file whose content is due for deletion (or will be, at ``due_at``)."""

    file_id: int
    public_id: str | None
    sha256: str
    size: int
    rule: str
    due_at: dt.datetime


@dataclass(frozen=True)
class Coming:
    """Deletions falling due on one UK day, by one rule."""

    day: dt.date
    rule: str
    files: int
    bytes: int


@dataclass(frozen=True)
class Plan:
    """What a retention run at ``as_of`` deletes, and what falls due in the ``horizon_days`` after."""

    as_of: dt.datetime
    periods: Periods
    by_rule: dict[str, Tally]  # due now: files and their sizes, per rule
    first_due: dict[str, dt.datetime]  # per rule, the earliest due instant among those due now
    freed: Tally  # distinct contents whose bytes leave the disk, and their size
    kept_shared: int  # due files whose content stays: a file still kept has the same bytes
    statements: int  # owners' statements erased by the run
    coming: list[Coming]  # due after as_of, within horizon_days, by UK day and rule
    horizon_days: int

    @property
    def files(self) -> Tally:
        return sum(self.by_rule.values(), Tally())


def _held_files(session: Session) -> sa.Select:
    """Kept files that a rule may reach (declined, or in a closed case) with their case's closing time."""
    return (
        sa.select(
            EvidenceFile.id,
            EvidenceFile.public_id,
            EvidenceFile.sha256,
            EvidenceFile.declared_size,
            EvidenceFile.triage,
            EvidenceFile.triaged_at,
            CaseFile.closed_at,
        )
        .join(FootageResponse, FootageResponse.id == EvidenceFile.response_id)
        .outerjoin(CaseFile, _case_join())
        .where(
            EvidenceFile.state == "stored", sa.or_(EvidenceFile.triage == "declined", CaseFile.closed_at.is_not(None))
        )
        .order_by(EvidenceFile.id)
    )


def _case_join() -> sa.ColumnElement[bool]:
    """A response belongs to the case file of its officer and case reference (evidence.cases)."""
    return sa.and_(
        CaseFile.case_ref == FootageResponse.case_ref, CaseFile.officer_id == FootageResponse.requested_by_id
    )


def _schedule(session: Session, periods: Periods) -> list[DueFile]:
    out = []
    for file_id, public_id, sha, size, triage, triaged_at, closed_at in session.execute(_held_files(session)):
        when = due(triage, triaged_at, closed_at, periods)
        if when is not None:
            out.append(DueFile(int(file_id), public_id, sha, int(size), when[1], when[0]))
    return out


def _chunks(values: Sequence, size: int = 500) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _live_holders(session: Session, shas: Iterable[str]) -> dict[str, set[int]]:
    """For each SHA-256, the ids of the rows in a live state (stored or uploading) that hold it."""
    holders: dict[str, set[int]] = defaultdict(set)
    for chunk in _chunks(sorted(set(shas))):
        for sha, file_id in session.execute(
            sa.select(EvidenceFile.sha256, EvidenceFile.id).where(
                EvidenceFile.sha256.in_(chunk), EvidenceFile.state.in_(LIVE_STATES)
            )
        ):
            holders[sha].add(int(file_id))
    return holders


def _freed(session: Session, files: Sequence[DueFile]) -> tuple[Tally, int]:
    """(contents freed and their bytes, files whose bytes stay) if ``files`` were all deleted."""
    going = {f.file_id for f in files}
    holders = _live_holders(session, (f.sha256 for f in files))
    sizes = {f.sha256: f.size for f in files}
    freed = [sha for sha in sizes if holders.get(sha, set()) <= going]
    kept = sum(1 for f in files if f.sha256 not in set(freed))
    return Tally(len(freed), sum(sizes[s] for s in freed)), kept


def plan(session: Session, now: dt.datetime, periods: Periods, horizon_days: int = HORIZON_DAYS) -> Plan:
    """What a retention run at ``now`` would delete and free (a dry run), and what falls due in the
    ``horizon_days`` after it, by UK day. Reads only."""
    now = _aware(now)
    schedule = _schedule(session, periods)
    due_now = [f for f in schedule if f.due_at <= now]
    by_rule: dict[str, Tally] = {}
    first: dict[str, dt.datetime] = {}
    for f in due_now:
        by_rule[f.rule] = by_rule.get(f.rule, Tally()) + Tally(1, f.size)
        first[f.rule] = min(first.get(f.rule, f.due_at), f.due_at)
    freed, kept_shared = _freed(session, due_now)
    until = now + dt.timedelta(days=horizon_days)
    coming: dict[tuple[dt.date, str], Tally] = defaultdict(Tally)
    for f in schedule:
        if now < f.due_at <= until:
            coming[(f.due_at.astimezone(UK).date(), f.rule)] += Tally(1, f.size)
    statements = len(_statements_due(session, now, periods, {f.file_id for f in due_now}))
    return Plan(
        now,
        periods,
        by_rule,
        first,
        freed,
        kept_shared,
        statements,
        [Coming(d, r, t.files, t.bytes) for (d, r), t in sorted(coming.items())],
        horizon_days,
    )


# --------------------------------------------------------------------------- statements


def _has_statement() -> sa.ColumnElement[bool]:
    return sa.or_(*(getattr(FootageResponse, name).is_not(None) for name in STATEMENT_FIELDS))


REFUSAL_ERASED = "Refused (why, in the owner's words, erased with their statement)"


def _unscrubbed() -> sa.ColumnElement[bool]:
    """A file row without content that still holds the owner's caption, name or probe summary."""
    # A JSON column may hold SQL NULL or the JSON text 'null' (an ORM write of None): both are empty.
    media = sa.func.coalesce(sa.cast(EvidenceFile.media, sa.Text), "null")
    return sa.and_(
        EvidenceFile.state.in_(("refused", "removed")),
        sa.or_(
            EvidenceFile.caption.is_not(None),
            EvidenceFile.original_name != DELETED_NAME,
            media != "null",
            sa.and_(EvidenceFile.refusal.is_not(None), EvidenceFile.refusal != REFUSAL_ERASED),
        ),
    )


def _statements_due(
    session: Session,
    now: dt.datetime,
    periods: Periods,
    going: set[int] | frozenset = frozenset(),
    only: Sequence[int] | None = None,
) -> list[int]:
    """Ids of the responses whose statement (and leftover file names) is due for erasure at ``now``,
    counting the files in ``going`` as deleted already: those with something of the owner's left,
    no file still kept, and either a file deleted or (no file with content at all) a case closed
    for the closed-case period. ``only``: look at these responses only."""
    leftover = sa.exists().where(EvidenceFile.response_id == FootageResponse.id, _unscrubbed())
    touched = sa.exists().where(
        EvidenceFile.response_id == FootageResponse.id,
        sa.or_(
            EvidenceFile.state == "deleted", sa.and_(EvidenceFile.state == "stored", EvidenceFile.triage == "declined")
        ),
    )
    rows = session.execute(
        sa.select(FootageResponse.id, CaseFile.closed_at)
        .outerjoin(CaseFile, _case_join())
        .where(
            sa.or_(_has_statement(), leftover),
            sa.or_(CaseFile.closed_at.is_not(None), touched),
            *([FootageResponse.id.in_(list(only))] if only is not None else []),
        )
        .order_by(FootageResponse.id)
    ).all()
    if not rows:
        return []
    states: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for chunk in _chunks([int(r[0]) for r in rows]):
        for response_id, file_id, state in session.execute(
            sa.select(EvidenceFile.response_id, EvidenceFile.id, EvidenceFile.state).where(
                EvidenceFile.response_id.in_(chunk)
            )
        ):
            states[int(response_id)].append((int(file_id), state))
    out = []
    for response_id, closed_at in rows:
        files = states.get(int(response_id), [])
        if any(state in LIVE_STATES and fid not in going for fid, state in files):
            continue  # a file is still kept: so is the statement about it
        content_gone = any(state == "deleted" or fid in going for fid, state in files)
        closed_over = closed_at is not None and closed_at + dt.timedelta(days=periods.closed_case_days) <= now
        if content_gone or closed_over:
            out.append(int(response_id))
    return out


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class FootageRun:
    """What one footage retention run did (a dry run: ``plan`` says what it would do)."""

    as_of: dt.datetime
    periods: Periods
    dry_run: bool
    deleted: dict[str, Tally]  # files whose content was deleted, per rule (sizes as uploaded)
    freed: Tally  # contents removed from the disk and their bytes
    kept_shared: int  # deleted files whose bytes stayed: a kept file has the same content
    statements_erased: int
    finished: Tally  # contents an interrupted run had marked deleted but left on the disk, removed now
    compacted: bool | None  # SQLite compacted after blanking (None: nothing blanked, or not SQLite)
    seconds: float
    plan: Plan | None = None  # dry run: what a run would do

    @property
    def files(self) -> Tally:
        return sum(self.deleted.values(), Tally())


def _stored_size(store: Store, sha: str) -> int | None:
    try:
        return store.path_for(sha).stat().st_size
    except FileNotFoundError:
        return None


def _delete_unheld(session_factory: sessionmaker[Session], store: Store, shas: Iterable[str]) -> tuple[Tally, set[str]]:
    """Delete the stored bytes of each of ``shas`` that no live row holds (call under the content
    lock): the contents removed and their bytes, and the SHA-256s kept because a live row holds them."""
    shas = sorted(set(s for s in shas if s))
    if not shas:
        return Tally(), set()
    with session_factory() as s:
        held = _live_holders(s, shas)
    freed = Tally()
    for sha in shas:
        if held.get(sha):
            continue
        size = _stored_size(store, sha)
        if size is None:
            continue
        store.delete_content(sha)
        freed += Tally(1, size)
    return freed, {sha for sha in shas if held.get(sha)}


def finish_interrupted(session_factory: sessionmaker[Session], store: Store) -> Tally:
    """Delete the bytes of files marked deleted that are still on the disk with no kept file holding
    them (a run stopped between its commit and the deletion); what it removed."""
    with session_factory() as s:
        shas = list(
            s.scalars(
                sa.select(EvidenceFile.sha256)
                .where(EvidenceFile.state == "deleted", EvidenceFile.sha256.is_not(None))
                .distinct()
            )
        )
    on_disk = [sha for sha in shas if _stored_size(store, sha) is not None]
    if not on_disk:
        return Tally()
    with store.content_lock():
        return _delete_unheld(session_factory, store, on_disk)[0]


def _delete_batch(
    session_factory: sessionmaker[Session], store: Store, ids: Sequence[int], now: dt.datetime, periods: Periods
) -> tuple[dict[str, Tally], Tally, int]:
    """Delete the files of ``ids`` still due (re-checked under the locks): rows first, then bytes."""
    deleted: dict[str, Tally] = {}
    with store.content_lock():
        with transaction(session_factory) as s:
            hold_write_lock(s, LOCK_KEY)
            rows = s.execute(
                sa.select(
                    EvidenceFile,
                    CaseFile.closed_at,
                    CaseFile.public_id,
                    FootageResponse.case_ref,
                    FootageResponse.public_id,
                )
                .join(FootageResponse, FootageResponse.id == EvidenceFile.response_id)
                .outerjoin(CaseFile, _case_join())
                .where(EvidenceFile.id.in_(list(ids)), EvidenceFile.state == "stored")
                .order_by(EvidenceFile.id)
                .with_for_update(of=EvidenceFile)
            ).all()
            shas: list[str] = []
            for f, closed_at, case_id, case_ref, response_id in rows:
                when = due(f.triage, f.triaged_at, closed_at, periods)
                if when is None or when[0] > now:
                    continue  # reopened, or decided again, since the plan was made
                due_at, rule = when
                f.state, f.deleted_at = "deleted", now
                f.caption, f.original_name = None, DELETED_NAME
                media = kept_media(f.media)
                f.media = media if media is not None else sa.null()
                audit.record(
                    s,
                    audit.SYSTEM,
                    "evidence_deleted",
                    case_ref=case_ref,
                    at=now,
                    detail={
                        "file_id": f.public_id,
                        "case_id": case_id,
                        "response_id": response_id,
                        "sha256": f.sha256,
                        "size": int(f.declared_size),
                        "exhibit_ref": f.exhibit_ref,
                        "triage": f.triage,
                        "rule": rule,
                        "due_at": due_at.isoformat(timespec="seconds"),
                        "period_days": periods.declined_days if rule == DECLINED else periods.closed_case_days,
                    },
                )
                deleted[rule] = deleted.get(rule, Tally()) + Tally(1, int(f.declared_size))
                shas.append(f.sha256)
            s.flush()
        # Committed: the rows say deleted. Now the bytes (a crash here is finished by the next run).
        freed, held = _delete_unheld(session_factory, store, shas)
    return deleted, freed, sum(1 for sha in shas if sha in held)


def _erase_statements(
    session_factory: sessionmaker[Session], ids: Sequence[int], now: dt.datetime, periods: Periods
) -> int:
    erased = 0
    with transaction(session_factory) as s:
        hold_write_lock(s, LOCK_KEY)
        still = _statements_due(s, now, periods, only=ids)  # again, under the lock
        for response in s.scalars(
            sa.select(FootageResponse).where(FootageResponse.id.in_(still)).order_by(FootageResponse.id)
        ):
            files = s.scalars(sa.select(EvidenceFile).where(EvidenceFile.response_id == response.id)).all()
            deleted = sum(1 for f in files if f.state == "deleted")
            had_statement = any(getattr(response, name) is not None for name in STATEMENT_FIELDS)
            for name in STATEMENT_FIELDS:
                setattr(response, name, None)
            scrubbed = 0
            for f in files:
                if f.state in ("refused", "removed") and (
                    f.caption is not None
                    or f.original_name != DELETED_NAME
                    or f.media is not None
                    or (f.refusal is not None and f.refusal != REFUSAL_ERASED)
                ):  # None: SQL or JSON null
                    # The refusal's words may quote the owner's file or an archive member's name.
                    f.caption, f.original_name, f.media = None, DELETED_NAME, sa.null()
                    f.refusal = REFUSAL_ERASED if f.refusal is not None else None
                    scrubbed += 1
            case = s.execute(
                sa.select(CaseFile.public_id, CaseFile.closed_at).where(
                    CaseFile.case_ref == response.case_ref, CaseFile.officer_id == response.requested_by_id
                )
            ).first()
            audit.record(
                s,
                audit.SYSTEM,
                "evidence_statement_erased",
                case_ref=response.case_ref,
                at=now,
                detail={
                    "response_id": response.public_id,
                    "case_id": case[0] if case else None,
                    "rule": FILES_DELETED if deleted else CLOSED_CASE,
                    "files_deleted": deleted,
                    "statement": had_statement,
                    "other_files_blanked": scrubbed,
                    "period_days": None if deleted else periods.closed_case_days,
                },
            )
            erased += 1
        s.flush()
    return erased


def run_footage_retention(
    session_factory: sessionmaker[Session],
    store: Store,
    now: dt.datetime,
    periods: Periods,
    *,
    dry_run: bool = False,
    batch_size: int = BATCH,
    compact_database: bool = True,
) -> FootageRun:
    """Delete the footage the rules say is due at ``now``, erase the statements that follow it, and
    finish any deletion an interrupted run left; a dry run only plans (nothing changes, nothing is
    taken from the disk). Commits per batch; a second run finds nothing to do.

    Example: a case closed 2026-09-01 10:00 UTC, 90-day period: its files are deleted by the first run
    at or after 2026-11-30 10:00 UTC; a file declined 2026-10-01 12:00 UTC, 30-day period, by the
    first run at or after 2026-10-31 12:00 UTC (both instants, whatever the UK clocks did between).
    """
    now = _aware(now)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    started = time.perf_counter()
    if dry_run:
        with session_factory() as s:
            planned = plan(s, now, periods)
        return FootageRun(
            now,
            periods,
            True,
            dict(planned.by_rule),
            planned.freed,
            planned.kept_shared,
            planned.statements,
            Tally(),
            None,
            time.perf_counter() - started,
            planned,
        )
    finished = finish_interrupted(session_factory, store)
    with session_factory() as s:
        ids = [f.file_id for f in _schedule(s, periods) if f.due_at <= now]
    deleted: dict[str, Tally] = {}
    freed, kept_shared = Tally(), 0
    for batch in _chunks(ids, batch_size):
        done, batch_freed, batch_kept = _delete_batch(session_factory, store, batch, now, periods)
        for rule, tally in done.items():
            deleted[rule] = deleted.get(rule, Tally()) + tally
        freed += batch_freed
        kept_shared += batch_kept
    with session_factory() as s:
        responses = _statements_due(s, now, periods)
    erased = sum(_erase_statements(session_factory, batch, now, periods) for batch in _chunks(responses, batch_size))
    compacted = None
    if compact_database and (deleted or erased):
        with session_factory() as s:
            engine = s.get_bind()
        compacted = compact(engine)
    return FootageRun(
        now, periods, False, deleted, freed, kept_shared, erased, finished, compacted, time.perf_counter() - started
    )


# --------------------------------------------------------------------------- what is held (auditor, admin)


STATES = ("awaiting", "accepted", "declined", "closed")
STATE_LABELS = {
    "awaiting": "Awaiting a decision",
    "accepted": "Accepted exhibits of open cases",
    "declined": "Declined (case open)",
    "closed": "Files of closed cases",
}


@dataclass(frozen=True)
class Holdings:
    """Every file with content kept, by where it stands, and what the next run deletes."""

    as_of: dt.datetime
    periods: Periods
    by_state: dict[str, Tally]  # STATES -> files and their sizes (as uploaded; shared content counted per file)
    contents: Tally  # distinct contents the database says are stored, and their bytes
    uploading: Tally  # uploads not finished: files and the bytes received so far
    deleted: int  # files whose content was deleted under these rules, so far
    statements_kept: int  # owners' statements held
    statements_erased: int  # answers with footage whose statement was erased
    plan: Plan

    @property
    def kept(self) -> Tally:
        return sum(self.by_state.values(), Tally())


def holdings(session: Session, now: dt.datetime, periods: Periods, horizon_days: int = HORIZON_DAYS) -> Holdings:
    """Counts for the auditor's retention summary and the storage view. Reads only."""
    now = _aware(now)
    f = EvidenceFile
    state = sa.case(
        (CaseFile.closed_at.is_not(None), "closed"),
        (f.triage == "accepted", "accepted"),
        (f.triage == "declined", "declined"),
        else_="awaiting",
    ).label("state")
    rows = session.execute(
        sa.select(state, sa.func.count(), sa.func.coalesce(sa.func.sum(f.declared_size), 0))
        .select_from(f)
        .join(FootageResponse, FootageResponse.id == f.response_id)
        .outerjoin(CaseFile, _case_join())
        .where(f.state == "stored")
        .group_by(state)
    ).all()
    by_state = {name: Tally() for name in STATES}
    for name, n, size in rows:
        by_state[name] = Tally(int(n), int(size))
    distinct = (
        sa.select(f.sha256, sa.func.max(f.declared_size).label("size"))
        .where(f.state == "stored")
        .group_by(f.sha256)
        .subquery()
    )
    n_contents, content_bytes = session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(distinct.c.size), 0))
    ).one()
    n_up, up_bytes = session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(f.received_bytes), 0)).where(f.state == "uploading")
    ).one()
    deleted = int(session.scalar(sa.select(sa.func.count()).select_from(f).where(f.state == "deleted")))
    r = FootageResponse
    kept = int(session.scalar(sa.select(sa.func.count()).select_from(r).where(_has_statement())))
    erased = int(
        session.scalar(
            sa.select(sa.func.count()).select_from(r).where(r.answer == "footage", sa.not_(_has_statement()))
        )
    )
    return Holdings(
        now,
        periods,
        by_state,
        Tally(int(n_contents), int(content_bytes)),
        Tally(int(n_up), int(up_bytes)),
        deleted,
        kept,
        erased,
        plan(session, now, periods, horizon_days),
    )


@dataclass(frozen=True)
class Disk:
    """What is on the evidence disk, measured."""

    stored: Tally  # files under sha256/ and their bytes
    parts: Tally  # part files of unfinished uploads under incoming/
    free_bytes: int
    total_bytes: int
    min_free_bytes: int


def measure_disk(store: Store) -> Disk:
    """Walk the evidence folder (no file is opened); the disk's free and total space."""
    stored = Tally()
    if store.objects.is_dir():
        for folder, _dirs, names in os.walk(store.objects):
            for name in names:
                try:
                    stored += Tally(1, os.stat(os.path.join(folder, name)).st_size)
                except FileNotFoundError:
                    continue  # deleted while we looked
    parts = Tally()
    if store.incoming.is_dir():
        for entry in os.scandir(store.incoming):
            if entry.name.endswith(".part") and entry.is_file():
                try:
                    parts += Tally(1, entry.stat().st_size)
                except FileNotFoundError:
                    continue
    root = _existing(store.root)
    usage = shutil.disk_usage(root)
    return Disk(stored, parts, usage.free, usage.total, store.min_free_bytes)


def _existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


@dataclass(frozen=True)
class StorageReport:
    holdings: Holdings
    disk: Disk

    @property
    def unaccounted(self) -> Tally:
        """Stored files on the disk beyond (or, negative, short of) what the database lists."""
        return Tally(
            self.disk.stored.files - self.holdings.contents.files, self.disk.stored.bytes - self.holdings.contents.bytes
        )


def storage_report(session: Session, store: Store, now: dt.datetime, periods: Periods) -> StorageReport:
    """The administrators' storage view: space used by state, on disk against the database, free
    space, and what the next retention run frees. Reads only (never creates the evidence folder)."""
    return StorageReport(holdings(session, now, periods), measure_disk(store))


def size_text(n: int) -> str:
    """A size in MB or GB (of 2^20 and 2^30 bytes, as ``EVIDENCE_MIN_FREE_MB``), with thousands separators.

    >>> size_text(0), size_text(3 * (1 << 20) // 2), size_text(1234 * (1 << 30)), size_text(512)
    ('0 MB', '1.5 MB', '1,234.0 GB', 'under 0.1 MB')
    """
    if n == 0:
        return "0 MB"
    if abs(n) >= GB:
        return f"{n / GB:,.1f} GB"
    if abs(n) * 10 < MB:
        return f"{'minus ' if n < 0 else ''}under 0.1 MB"
    return f"{n / MB:,.1f} MB"
