"""The append-only audit log (Data Protection Act 2018 s.62): who did what, when and why.

Each row's ``row_hash`` is an HMAC-SHA-256, under a key held outside the database (AUDIT_KEY),
of its content and the previous row's hash, so an edit or deletion anywhere breaks the chain
from that row on (``verify_chain`` finds where), and nobody without the key can write a chain
that verifies. Signed checkpoints appended to a file outside the database
(``dashboard.registry.audit_checkpoints``) anchor the newest rows, so cutting rows off the end
is found too (``verify_log``).

Rows written before the log was keyed (by earlier versions of this code) were chained with a
plain SHA-256 (``row_digest`` without a key). They are kept as they are: the first checkpoint
written after the upgrade names the last of them (``unkeyed_through``) under the key, and the
first keyed row's HMAC covers that row's hash, so they cannot be rewritten unseen either. An
unkeyed row after a keyed one, or after ``unkeyed_through``, is a rewritten row.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import os
import re
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from dashboard.core.audit_rows import GENESIS_HASH, canonical_json, row_digest, row_fields, time_text
from dashboard.registry import audit_checkpoints
from dashboard.registry.database import hold_write_lock
from dashboard.registry.models import AuditEvent, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who acted: a logged-in user, or the system itself (``user_id`` None)."""

    user_id: int | None
    username: str | None
    role: str | None


SYSTEM = Actor(None, "system", None)


@dataclass(frozen=True)
class Anchor:
    """What ties a database's audit log to things outside it: keys derived from the audit key
    (one for the chain, one for checkpoints) and the checkpoint file (None: no checkpoints)."""

    chain_key: bytes = field(repr=False)
    checkpoint_key: bytes = field(repr=False)
    checkpoint_file: Path | None = None
    checkpoint_every: int = 1000

    @classmethod
    def from_secret(cls, secret: str, checkpoint_file: Path | None = None, every: int = 1000) -> Anchor:
        raw = secret.encode("utf-8")
        return cls(
            hmac.digest(raw, b"ccr audit chain v1", "sha256"),
            hmac.digest(raw, b"ccr audit checkpoints v1", "sha256"),
            checkpoint_file,
            every,
        )

    @classmethod
    def from_settings(cls, settings) -> Anchor:
        return cls.from_secret(settings.audit_key, settings.audit_checkpoint_file, settings.audit_checkpoint_every)


_ANCHORS: weakref.WeakKeyDictionary[Engine, Anchor] = weakref.WeakKeyDictionary()
_DEFAULT: list[Anchor] = []


def anchor_engine(engine: Engine, anchor: Anchor) -> Anchor:
    """Use ``anchor`` for every audit row written or checked through ``engine`` (done at start-up)."""
    _ANCHORS[engine] = anchor
    return anchor


def anchor_for(db: Session | Connection | Engine) -> Anchor:
    """The anchor of the database ``db`` talks to; an engine never given one (tests, tools) uses
    AUDIT_KEY from the environment (or the embedded ``data/audit_key``) and writes no checkpoints."""
    engine = db if isinstance(db, Engine) else (db.connection() if isinstance(db, Session) else db).engine
    found = _ANCHORS.get(engine)
    if found is not None:
        return found
    if not _DEFAULT:
        from dashboard.config import embedded_audit_key

        secret = (os.environ.get("AUDIT_KEY") or "").strip() or embedded_audit_key()
        _DEFAULT.append(Anchor.from_secret(secret))
    return _DEFAULT[0]


def lock_chain(db: Session | Connection) -> None:
    """Serialise writers until commit, so that two events can never chain to the same predecessor:
    the predecessor read next is the newest committed row and no other writer can commit before
    this transaction does (the shared check-then-write lock, keyed to the log)."""
    hold_write_lock(db, "audit_event")


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
    """Append one event to the log in the caller's transaction and return it (a detached
    ``AuditEvent`` holding what was written, its ``id`` included).

    Written with two Core statements on the session's connection, not through the ORM unit of
    work: every search writes one of these while holding the log's write lock, and the ORM's
    bookkeeping cost more than the rest of the row's work. It does not flush the session: a new
    object named in ``subject_ids`` has its id only once the caller has flushed it anyway."""
    lock_chain(session)
    conn = session.connection()
    prev = conn.execute(_NEWEST_HASH).scalar() or GENESIS_HASH
    row = {
        "occurred_at": at or utcnow(),
        "user_id": actor.user_id,
        "username": actor.username,
        "role": actor.role,
        "action": action,
        "case_ref": case_ref,
        "reason": reason,
        "subject_ids": json.dumps([str(s) for s in subject_ids]) if subject_ids is not None else None,
        "detail": canonical_json(detail) if detail is not None else None,
        "prev_hash": prev,
    }
    anchor = anchor_for(conn)
    row["row_hash"] = row_digest(prev, row_fields(row), anchor.chain_key)
    new_id = conn.execute(_INSERT, row).inserted_primary_key[0]
    if anchor.checkpoint_file is not None and new_id % anchor.checkpoint_every == 0:
        # Once this row is committed (never before: a rolled-back row must not be vouched for).
        engine = conn.engine
        sa.event.listen(session, "after_commit", lambda _s: checkpoint_quietly(engine), once=True)
    return AuditEvent(id=new_id, **row)


def record_alone(session: Session, actor: Actor, action: str, **kw) -> None:
    """Roll back the caller's unit of work, then :func:`record` one event in a transaction of its own,
    committed at once: a refusal, which the caller's rollback on the exception that follows must not
    take away. (The caller's session may be a ``transaction`` block, which cannot go on once rolled
    back; and on SQLite its rollback frees the write lock the event's own transaction then takes.)"""
    session.rollback()
    with Session(session.get_bind(), expire_on_commit=False) as own, own.begin():
        record(own, actor, action, **kw)


_NEWEST_HASH = sa.select(AuditEvent.__table__.c.row_hash).order_by(AuditEvent.__table__.c.id.desc()).limit(1)
_INSERT = AuditEvent.__table__.insert()


@dataclass(frozen=True)
class ChainCheck:
    """The result of ``verify_chain``.

    ``rows_checked`` counts the rows read, up to and including the first broken one, where the
    check stops. On a break, ``problem`` says what does not match there (``BROKEN_CONTENT``,
    ``BROKEN_LINK`` or both): the row's content no longer gives its stored hash (the row was
    edited), or its link (``prev_hash``) is not the hash of the row now before it (a row was
    deleted or inserted before it, or the row before was rewritten with a fresh hash). The other
    fields describe the broken row and the run; they do not take part in equality.
    """

    rows_checked: int
    first_broken_id: int | None
    problem: str | None = field(default=None, compare=False)
    broken_at: dt.datetime | None = field(default=None, compare=False)
    broken_username: str | None = field(default=None, compare=False)
    broken_action: str | None = field(default=None, compare=False)
    previous_id: int | None = field(default=None, compare=False)
    last_id: int | None = field(default=None, compare=False)
    elapsed_s: float = field(default=0.0, compare=False)
    # The last row read that was chained without the key (before the log was keyed); 0: none.
    unkeyed_through: int = field(default=0, compare=False)

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None

    @property
    def rows_per_s(self) -> float:
        return self.rows_checked / self.elapsed_s if self.elapsed_s > 0 else float("nan")


BROKEN_CONTENT = "content"  # the row's content does not give its stored hash: the row was edited
BROKEN_LINK = "link"  # the row's prev_hash is not the hash of the row before it: a row deleted or inserted
# The check reads the time as the database returns it for text (SQLite: the stored UTC text, turned
# into row_fields' form by slicing; other databases still return a datetime) and unpacks plain tuples:
# together about twice as fast as ORM rows through row_fields, with the same digest (tested).
_CHAIN_COLUMNS = (
    AuditEvent.id,
    sa.type_coerce(AuditEvent.occurred_at, sa.String).label("occurred_at"),
    AuditEvent.user_id,
    AuditEvent.username,
    AuditEvent.role,
    AuditEvent.action,
    AuditEvent.case_ref,
    AuditEvent.reason,
    AuditEvent.subject_ids,
    AuditEvent.detail,
    AuditEvent.prev_hash,
    AuditEvent.row_hash,
)
_STORED_UTC = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")


def _stored_time(value: str | dt.datetime) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _time_text(value: str | dt.datetime) -> str:
    """``occurred_at`` as ``row_fields`` renders it, from the column read as text."""
    if isinstance(value, str) and _STORED_UTC.fullmatch(value):
        return f"{value[:10]}T{value[11:]}+00:00"
    return time_text(_stored_time(value))


def verify_chain(
    session: Session,
    *,
    batch: int = 5000,
    anchor: Anchor | None = None,
    unkeyed_through: int | None = None,
    checkpoints: dict[int, list[audit_checkpoints.Checkpoint]] | None = None,
    mismatches: list[str] | None = None,
) -> ChainCheck:
    """Recompute every hash in id order and stop at the first row whose content or link does not match.

    Rows must carry the keyed hash (``anchor``: the database's own); rows chained before the log
    was keyed may carry the plain one, but only before the first keyed row and, when the
    checkpoints say where keying began, no later than ``unkeyed_through``. Each row named in
    ``checkpoints`` is compared with what they say (its hash, the count of rows up to it); what
    differs is added to ``mismatches`` in plain words.

    Streams the log ``batch`` rows at a time (plain rows, not ORM objects), so memory stays flat
    however long the log is.

    >>> check = verify_chain(s)  # doctest: +SKIP
    >>> check.intact, check.rows_checked, check.problem  # doctest: +SKIP
    (False, 42, 'content')
    """
    anchor = anchor or anchor_for(session)
    key = anchor.chain_key
    started = time.perf_counter()
    prev, prev_id, count, last_id = GENESIS_HASH, None, 0, None
    unkeyed_last, keyed_seen = 0, False
    plain_allowed = unkeyed_through if unkeyed_through is not None else float("inf")
    # Through the session's connection, not the ORM: plain rows cost less to read.
    rows = session.connection().execute(
        sa.select(*_CHAIN_COLUMNS).order_by(AuditEvent.id).execution_options(yield_per=batch)
    )
    for row in rows:
        row_id, when, user_id, username, role, action, case_ref, reason, subject_ids, detail, prev_hash, row_hash = row
        count += 1
        fields = {
            "occurred_at": _time_text(when),
            "user_id": user_id,
            "username": username,
            "role": role,
            "action": action,
            "case_ref": case_ref,
            "reason": reason,
            "subject_ids": subject_ids,
            "detail": detail,
        }
        content_ok = row_hash == row_digest(prev_hash, fields, key)
        if content_ok:
            keyed_seen = True
        elif not keyed_seen and row_id <= plain_allowed and row_hash == row_digest(prev_hash, fields):
            content_ok, unkeyed_last = True, row_id
        link_ok = prev_hash == prev
        if checkpoints and row_id in checkpoints and mismatches is not None:
            for cp in checkpoints[row_id]:
                if cp.last_hash != row_hash:
                    mismatches.append(
                        f"row {row_id} was rewritten: its hash is not the one the checkpoint of "
                        f"{cp.at} (line {cp.line_no}) recorded"
                    )
                elif cp.count != count:
                    mismatches.append(
                        f"{abs(cp.count - count):,} row(s) up to row {row_id} "
                        f"{'are missing' if count < cp.count else 'were added'}: the checkpoint of "
                        f"{cp.at} (line {cp.line_no}) counted {cp.count:,}, the log has {count:,}"
                    )
        if not (content_ok and link_ok):
            rows.close()
            problem = " and ".join(p for p, ok in ((BROKEN_CONTENT, content_ok), (BROKEN_LINK, link_ok)) if not ok)
            return ChainCheck(
                count,
                row_id,
                problem,
                _stored_time(when),
                username,
                action,
                prev_id,
                row_id,
                time.perf_counter() - started,
                unkeyed_last,
            )
        prev, prev_id, last_id = row_hash, row_id, row_id
    return ChainCheck(
        count, None, last_id=last_id, elapsed_s=time.perf_counter() - started, unkeyed_through=unkeyed_last
    )


@dataclass(frozen=True)
class LogCheck:
    """The result of ``verify_log``: the chain's check and the checkpoints' findings.

    ``problems`` says, in plain words, each thing found beyond the chain's first break: a
    checkpoint whose signature is wrong, rows missing after a checkpoint's row (truncation), a
    row whose hash is not the one a checkpoint recorded, a missing checkpoint file."""

    chain: ChainCheck
    checkpoint_file: Path | None
    checkpoints_checked: int
    problems: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return self.chain.intact and not self.problems

    def describe(self) -> list[str]:
        """Every finding as one plain line, the chain's break first."""
        c = self.chain
        lines = []
        if not c.intact:
            if BROKEN_CONTENT in (c.problem or ""):
                lines.append(
                    f"row {c.first_broken_id} was rewritten: its content does not give its stored hash under "
                    "the audit key (or AUDIT_KEY is not the key the log was written with)"
                )
            if BROKEN_LINK in (c.problem or ""):
                before = f"row {c.previous_id}" if c.previous_id else "the start of the log"
                lines.append(
                    f"row {c.first_broken_id} does not follow {before}: a row was deleted or inserted just "
                    f"before it, or {before} was rewritten"
                )
        return lines + list(self.problems)


def verify_log(session: Session, anchor: Anchor | None = None, *, batch: int = 5000) -> LogCheck:
    """Check the chain under the key and against every checkpoint in the checkpoint file.

    >>> result = verify_log(s)  # doctest: +SKIP
    >>> result.intact, result.describe()  # doctest: +SKIP
    (False, ['rows after row 1200 are missing: ...'])
    """
    anchor = anchor or anchor_for(session)
    problems: list[str] = []
    signed: list[audit_checkpoints.Checkpoint] = []
    newest_id = session.connection().execute(_NEWEST_ID).scalar()
    if anchor.checkpoint_file is not None:
        found = audit_checkpoints.read(anchor.checkpoint_file)
        problems.extend(found.unreadable)
        for cp in found.checkpoints:
            if cp.signed_by(anchor.checkpoint_key):
                signed.append(cp)
            else:
                problems.append(
                    f"checkpoint signature wrong on line {cp.line_no} of {anchor.checkpoint_file} "
                    f"(row {cp.last_id}, {cp.at}): the file was edited, or AUDIT_KEY is not the key "
                    "the log was written with"
                )
        if found.checkpoints and not signed:
            problems.insert(
                0,
                f"none of the {len(found.checkpoints):,} checkpoints in {anchor.checkpoint_file} is "
                "signed with this AUDIT_KEY: the key is wrong, or the file was replaced",
            )
        if newest_id is not None and not signed and not found.checkpoints:
            problems.append(
                f"no checkpoint in {anchor.checkpoint_file}: rows cut off the end of the log cannot be "
                "ruled out (write one with 'python -m dashboard audit checkpoint' once the log is known good)"
            )
    by_id: dict[int, list[audit_checkpoints.Checkpoint]] = {}
    for cp in signed:
        if cp.last_id > 0:  # a new log's first checkpoint names no row
            by_id.setdefault(cp.last_id, []).append(cp)
    through = min((cp.unkeyed_through for cp in signed), default=None)
    mismatches: list[str] = []
    chain = verify_chain(
        session, batch=batch, anchor=anchor, unkeyed_through=through, checkpoints=by_id, mismatches=mismatches
    )
    problems.extend(mismatches)
    if chain.intact:
        seen = chain.last_id or 0
        furthest = max(signed, key=lambda cp: cp.last_id, default=None)
        if furthest is not None and furthest.last_id > seen:
            problems.append(
                f"rows after row {seen} are missing: the checkpoint of {furthest.at} (line "
                f"{furthest.line_no}) records row {furthest.last_id} and {furthest.count:,} rows; "
                f"the log has {chain.rows_checked:,}"
            )
        present = set()
        if by_id:
            ids = [i for i in by_id if i <= seen]
            for start in range(0, len(ids), 500):
                present.update(
                    session.connection()
                    .execute(sa.select(AuditEvent.id).where(AuditEvent.id.in_(ids[start : start + 500])))
                    .scalars()
                )
            for i in sorted(set(ids) - present):
                problems.append(
                    f"row {i} is missing: the checkpoint of {by_id[i][0].at} (line {by_id[i][0].line_no}) records it"
                )
    return LogCheck(chain, anchor.checkpoint_file, len(signed), tuple(dict.fromkeys(problems)))


_NEWEST_ID = sa.select(sa.func.max(AuditEvent.__table__.c.id))


class CheckpointError(Exception):
    """A checkpoint cannot be written; the message says why in one line."""


def write_checkpoint(engine: Engine, anchor: Anchor | None = None) -> audit_checkpoints.Checkpoint | None:
    """Append a signed checkpoint of the newest committed row to the checkpoint file (None: the log is empty).

    The first checkpoint (none yet signed with this key) is written only after the whole chain
    verifies, and records the last row chained before the log was keyed; later ones carry that
    on. Several processes may call this at once (the file is appended under a lock)."""
    anchor = anchor or anchor_for(engine)
    if anchor.checkpoint_file is None:
        raise CheckpointError("no checkpoint file is configured (AUDIT_CHECKPOINT_FILE)")
    table = AuditEvent.__table__
    with engine.connect() as conn:
        newest = conn.execute(sa.select(table.c.id, table.c.row_hash).order_by(table.c.id.desc()).limit(1)).first()
        count = (
            0
            if newest is None
            else conn.execute(sa.select(sa.func.count()).select_from(table).where(table.c.id <= newest.id)).scalar_one()
        )
    earlier = [
        cp for cp in audit_checkpoints.read(anchor.checkpoint_file).checkpoints if cp.signed_by(anchor.checkpoint_key)
    ]
    if newest is None:
        if earlier:  # an emptied log: the checkpoints already say what was there; add nothing
            return None
        # A new log: say so, keyed from its first row (no row may carry the plain pre-keying hash).
        return audit_checkpoints.append(
            anchor.checkpoint_file, anchor.checkpoint_key, last_id=0, last_hash=GENESIS_HASH, count=0, unkeyed_through=0
        )
    if earlier:
        through = min(cp.unkeyed_through for cp in earlier)
    else:
        with Session(engine) as s:
            check = verify_chain(s, anchor=anchor)
        if not check.intact:
            raise CheckpointError(
                f"the audit log's chain is broken at row {check.first_broken_id}; no checkpoint "
                "was written (run 'python -m dashboard audit verify')"
            )
        through = check.unkeyed_through
    return audit_checkpoints.append(
        anchor.checkpoint_file,
        anchor.checkpoint_key,
        last_id=int(newest.id),
        last_hash=newest.row_hash,
        count=int(count),
        unkeyed_through=through,
    )


def checkpoint_quietly(engine: Engine) -> None:
    """``write_checkpoint`` for the app's own use (every N rows, at start-up): a failure is logged,
    never raised into the request that triggered it (``audit verify`` reports what is wrong)."""
    try:
        write_checkpoint(engine)
    except Exception as exc:  # noqa: BLE001 - a checkpoint must never fail the user's request
        log.warning("audit checkpoint not written: %s", exc)
