"""Is every stored evidence file still the one its owner gave? (issue 17)

``check_store`` re-hashes the bytes of every stored file (each distinct SHA-256 once: several
uploads may share one stored file) and records on each row the result and when
(``EvidenceFile.check_result``: 'ok', 'mismatch' or 'missing'; ``checked_at``), then writes one
audit event, ``evidence_checked``, with the counts and the public ids of the files that failed,
never their content. Run nightly (``python -m dashboard evidence check``, non-zero exit on any
problem) and on demand from the auditor's page.

Hashing runs outside any transaction (a large store takes minutes); the results are written in a
short one at the end, only to rows still stored then (retention may have deleted content in the
meantime: a file deleted while the check ran is not a missing file).

``record_failure`` records one file found wrong while it was being handed on (evidence/bundle.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from dashboard.footage.storage import Store
from dashboard.registry import audit
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, EvidenceFile

CHUNK_BYTES = 1 << 20
CHECKED = "evidence_checked"
FAILED = "evidence_integrity_failed"
MAX_IDS_LOGGED = 200

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreCheck:
    """What ``check_store`` found: counts of rows (``files``) and of distinct stored contents, bytes
    read, and the public ids of the files whose bytes differ from their hash or are gone."""

    files: int
    contents: int
    bytes_checked: int
    ok: int
    mismatch: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0
    audit_id: int | None = None
    checked_at: dt.datetime | None = None

    @property
    def intact(self) -> bool:
        return not self.mismatch and not self.missing

    def as_detail(self) -> dict:
        return {
            "files": self.files,
            "contents": self.contents,
            "bytes": self.bytes_checked,
            "ok": self.ok,
            "mismatch": len(self.mismatch),
            "missing": len(self.missing),
            "mismatch_ids": self.mismatch[:MAX_IDS_LOGGED],
            "missing_ids": self.missing[:MAX_IDS_LOGGED],
            "seconds": round(self.seconds, 3),
        }


def hash_path(store: Store, sha256: str) -> tuple[str | None, int]:
    """(SHA-256 of the stored file named ``sha256``, bytes read); (None, 0) when it is not there."""
    hasher, size = hashlib.sha256(), 0
    try:
        with open(store.path_for(sha256), "rb", buffering=0) as f:
            while block := f.read(CHUNK_BYTES):
                hasher.update(block)
                size += len(block)
    except FileNotFoundError:
        return None, 0
    except OSError as exc:  # there but unreadable (permissions, a failing disk, not a file): as good as missing
        log.error("stored evidence %s cannot be read: %s", sha256, exc)
        return None, 0
    return hasher.hexdigest(), size


def check_store(sessions: sessionmaker[Session], store: Store, actor: audit.Actor, now: dt.datetime) -> StoreCheck:
    """Re-hash every stored evidence file, record each row's result, and log one ``evidence_checked``."""
    started = time.perf_counter()
    with sessions() as s:
        rows = s.execute(
            sa.select(EvidenceFile.id, EvidenceFile.public_id, EvidenceFile.sha256, EvidenceFile.declared_size)
            .where(EvidenceFile.state == "stored", EvidenceFile.sha256.is_not(None))
            .order_by(EvidenceFile.sha256, EvidenceFile.id)
        ).all()
    by_sha: dict[str, list] = {}
    for row in rows:
        by_sha.setdefault(row.sha256, []).append(row)
    results: dict[str, str] = {}
    read = 0
    for sha, same in by_sha.items():
        found, size = hash_path(store, sha)
        read += size
        expected_size = int(same[0].declared_size)
        results[sha] = "missing" if found is None else ("ok" if found == sha and size == expected_size else "mismatch")
    with transaction(sessions) as s:
        still = (
            {
                r.id
                for r in s.execute(
                    sa.select(EvidenceFile.id).where(
                        EvidenceFile.state == "stored", EvidenceFile.id.in_([r.id for r in rows])
                    )
                ).all()
            }
            if rows
            else set()
        )
        for result in ("ok", "mismatch", "missing"):
            ids = [r.id for sha, same in by_sha.items() if results[sha] == result for r in same if r.id in still]
            for start in range(0, len(ids), 500):
                s.execute(
                    sa.update(EvidenceFile)
                    .where(EvidenceFile.id.in_(ids[start : start + 500]))
                    .values(check_result=result, checked_at=now)
                )
        bad = {
            result: sorted(
                r.public_id for sha, same in by_sha.items() if results[sha] == result for r in same if r.id in still
            )
            for result in ("mismatch", "missing")
        }
        kept = [r for r in rows if r.id in still]
        outcome = StoreCheck(
            files=len(kept),
            contents=len({r.sha256 for r in kept}),
            bytes_checked=read,
            ok=sum(1 for r in kept if results[r.sha256] == "ok"),
            mismatch=bad["mismatch"],
            missing=bad["missing"],
            seconds=time.perf_counter() - started,
            checked_at=now,
        )
        event = audit.record(
            s, actor, CHECKED, reason="integrity check of the stored evidence", detail=outcome.as_detail(), at=now
        )
    return dataclasses.replace(outcome, audit_id=event.id)


def record_failure(
    sessions: sessionmaker[Session],
    file_id: int,
    result: str,
    *,
    actor: audit.Actor,
    case_ref: str | None,
    reason: str | None,
    detail: dict,
) -> None:
    """Record that one stored file was found wrong ('mismatch' or 'missing') outside a check (while
    it was being handed on): on its row and in the log (``evidence_integrity_failed``), committed
    in a unit of work of its own. Every row sharing those bytes is marked."""
    now = dt.datetime.now(dt.UTC)
    with transaction(sessions) as s:
        if s.scalar(sa.select(EvidenceFile.state).where(EvidenceFile.id == file_id)) != "stored":
            return  # deleted under the retention rules meanwhile: lawfully gone, not a failure
        sha = s.scalar(sa.select(EvidenceFile.sha256).where(EvidenceFile.id == file_id))
        s.execute(
            sa.update(EvidenceFile)
            .where(EvidenceFile.sha256 == sha, EvidenceFile.state == "stored")
            .values(check_result=result, checked_at=now)
        )
        audit.record(s, actor, FAILED, case_ref=case_ref, reason=reason, detail={**detail, "result": result}, at=now)


@dataclass(frozen=True)
class LastCheck:
    when: dt.datetime
    username: str | None
    detail: dict


def last_check(session: Session) -> LastCheck | None:
    """The newest ``evidence_checked`` event of the log (for the auditor's page)."""
    row = session.execute(
        sa.select(AuditEvent.occurred_at, AuditEvent.username, AuditEvent.detail)
        .where(AuditEvent.action == CHECKED)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    try:
        detail = json.loads(row.detail or "{}")
    except ValueError:
        detail = {}
    when = row.occurred_at if row.occurred_at.tzinfo else row.occurred_at.replace(tzinfo=dt.UTC)
    return LastCheck(when, row.username, detail if isinstance(detail, dict) else {})
