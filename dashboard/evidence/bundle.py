"""The hand-off bundle: a case's accepted exhibits (or one request's) as one ZIP, streamed (issue 17).

What the ZIP holds::

    manifest.json             every file: exhibit reference, file id, path in the ZIP, SHA-256, size,
                              times, clock correction, the owner's statement, the requests, the export
    manifest.csv              the same, one row per file (for a spreadsheet or the force's evidence system)
    request.json              the footage requests the files answer
    audit-extract.json        the audit log's rows about these requests, answers and files (row_hash each)
    continuity-statement.html for people: where each exhibit came from, prints to A4
    files/<exhibit>__<name>   the files, exactly as the owners uploaded them

Only ACCEPTED files still stored are in it. Nothing is built in memory: the ZIP is made as it is
sent (``zipstream-ng``, stored not deflated: footage is compressed already; ZIP64 when a file or
the archive passes 4 GiB), each file read from the store in 1 MiB blocks, so a 10 GB case needs a
few MiB. Its length is known before the first byte (``Bundle.size``: a Content-Length).

Each file is hashed again as it is read. The last block of a file is held back until its hash is
known: when the bytes on disk are no longer the ones the owner gave, that block is never sent,
the stream stops with ``IntegrityFailure`` (the download fails, its ZIP has no end and opens in no
tool), and the mismatch is recorded (``EvidenceFile.check_result``, audit ``evidence_integrity_failed``).
The stream runs after the request's unit of work is over, so that record is written through a
session of its own, made from the same engine.

No owner contact details go into the bundle: owners appear by their answer's reference (FTG-...)
and, in their own statement, the name they signed it with.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import sqlalchemy as sa
from sqlalchemy.orm import Session
from zipstream import ZIP_STORED, ZipStream

from dashboard.evidence.cases import responses_of
from dashboard.evidence.integrity import record_failure
from dashboard.evidence.triage import as_utc as _utc
from dashboard.evidence.triage import corrected
from dashboard.evidence.triage import parse_time as _parse_time
from dashboard.footage.responses import clock_text
from dashboard.footage.storage import Store
from dashboard.footage.wording import UK
from dashboard.registry import audit, public_ids
from dashboard.registry.casework import CaseworkError
from dashboard.registry.database import session_factory
from dashboard.registry.models import AuditEvent, Camera, CaseFile, EvidenceFile, FootageRequest, FootageResponse, User

FORMAT = "ccr-evidence-bundle/1"
CHUNK_BYTES = 1 << 20
MEDIA_TYPE = "application/zip"
MANIFEST, MANIFEST_CSV, REQUESTS, AUDIT_EXTRACT, STATEMENT = (
    "manifest.json",
    "manifest.csv",
    "request.json",
    "audit-extract.json",
    "continuity-statement.html",
)
FILES_DIR = "files/"
VERIFY_COMMAND = "python -m dashboard evidence verify"
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
NOTHING_ACCEPTED = (
    "No file in this case has been accepted as an exhibit yet, so there is nothing to hand on: accept the files first."
)
NOTHING_ACCEPTED_REQUEST = (
    "No file answering this request has been accepted as an exhibit yet, so there is "
    "nothing to hand on: accept the files first."
)
NOT_IN_CASE = "There is no such request in this case."
# Audit detail keys whose text came from outside (a mail relay's error may quote the owner's address).
WITHHELD_KEYS = ("error",)
CSV_COLUMNS = [
    "exhibit_ref",
    "file_id",
    "path",
    "sha256",
    "size_bytes",
    "original_name",
    "caption",
    "kind",
    "container",
    "codec",
    "duration_s",
    "width",
    "height",
    "recorded_at_camera_clock",
    "clock_offset_s",
    "clock_offset_words",
    "real_start_utc",
    "real_end_utc",
    "uploaded_at_utc",
    "accepted_by",
    "accepted_at_utc",
    "response_id",
    "request_ids",
    "camera_ids",
    "copy_made_by_owner",
    "copy_made_at_utc",
    "signed_name",
    "owner_note",
]


class IntegrityFailure(Exception):
    """A stored file is not the one the owner gave (``result`` 'mismatch') or is gone ('missing')."""

    def __init__(self, file_id: str, exhibit_ref: str | None, result: str) -> None:
        what = (
            "is missing from the evidence store"
            if result == "missing"
            else "no longer matches the SHA-256 recorded when it arrived"
        )
        super().__init__(
            f"Exhibit {exhibit_ref} (file {file_id}) {what}: the bundle was stopped and the "
            "failure recorded. Tell the evidence store's administrator."
        )
        self.file_id, self.exhibit_ref, self.result = file_id, exhibit_ref, result


@dataclass
class Bundle:
    """The ZIP to send: iterate it for its bytes (once). ``size``: its length in bytes, known in
    advance; ``files``: what it holds (as ``bundle_contents``); ``filename``: for Content-Disposition."""

    filename: str
    size: int | None
    files: list[dict]
    media_type: str = MEDIA_TYPE
    _stream: ZipStream | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)


# --------------------------------------------------------------------------- names


def safe_name(text: str | None, fallback: str, max_len: int = 80) -> str:
    """``text`` as one safe piece of a file name: letters, digits, '.', '-' and '_' only ('/' becomes
    '-', anything else '_'), no leading dot or dash, no '..', at most ``max_len`` characters (the
    extension kept).

    >>> safe_name("JO/1", "x"), safe_name("../../etc/passwd", "x"), safe_name("front door (1).mp4", "x")
    ('JO-1', 'etc-passwd', 'front_door_1_.mp4')
    >>> safe_name("", "file"), safe_name("<script>.mp4", "x")
    ('file', 'script_.mp4')
    """
    value = (text or "").replace("/", "-").replace("\\", "-")
    value = re.sub(r"\s+", "_", value.strip())
    value = re.sub(r"[^A-Za-z0-9._-]", "_", value)
    value = re.sub(r"\.{2,}", ".", value)
    value = re.sub(r"_{2,}", "_", value)
    value = re.sub(r"-{2,}", "-", value)
    value = value.lstrip("._-")
    if len(value) > max_len:  # keep the extension
        stem, dot, ext = value.rpartition(".")
        value = (stem[: max_len - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else value[:max_len]
    return value or fallback


def bundle_filename(case_ref: str, now: dt.datetime, request_public_id: str | None = None) -> str:
    """'CR-2026-004512-evidence-20261205T071500Z.zip' (the request's id after the case's when one).

    >>> bundle_filename("CASE/0001", dt.datetime(2026, 12, 5, 7, 15, tzinfo=dt.timezone.utc))
    'CASE-0001-evidence-20261205T071500Z.zip'
    """
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    scope = f"-{safe_name(request_public_id, 'request', 20)}" if request_public_id else ""
    return f"{safe_name(case_ref, 'case', 40)}{scope}-evidence-{stamp}.zip"


def _natural(ref: str | None) -> tuple:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", ref or "") if p)


# --------------------------------------------------------------------------- what goes in


@dataclass
class _Scope:
    responses: list[FootageResponse]
    requests: list[FootageRequest]
    files: list[EvidenceFile]
    request_public_id: str | None


def _scope(session: Session, case: CaseFile, request_public_id: str | None) -> _Scope:
    """The answers, requests and accepted stored files of the case (or of the answer one request is in)."""
    response_ids = sa.select(responses_of(case).subquery().c.id)
    shown = None
    if request_public_id is not None:
        shown = public_ids.normalise(request_public_id, public_ids.REQUEST_PREFIX)
        request = (
            session.scalars(
                sa.select(FootageRequest).where(
                    FootageRequest.public_id == shown,
                    FootageRequest.case_ref == case.case_ref,
                    FootageRequest.requested_by_id == case.officer_id,
                )
            ).first()
            if shown
            else None
        )
        if request is None:
            raise CaseworkError("case", NOT_IN_CASE)
        if request.response_id is None:
            raise CaseworkError("case", NOTHING_ACCEPTED_REQUEST)
        response_ids = [request.response_id]
    files = session.scalars(
        sa.select(EvidenceFile)
        .join(FootageResponse, FootageResponse.id == EvidenceFile.response_id)
        .where(
            EvidenceFile.response_id.in_(response_ids),
            EvidenceFile.state == "stored",
            EvidenceFile.triage == "accepted",
            FootageResponse.answer == "footage",
        )
    ).all()
    if not files:
        raise CaseworkError("case", NOTHING_ACCEPTED_REQUEST if shown else NOTHING_ACCEPTED)
    files = sorted(files, key=lambda f: (_natural(f.exhibit_ref), f.id))
    wanted = sorted({f.response_id for f in files})
    responses = session.scalars(
        sa.select(FootageResponse)
        .where(FootageResponse.id.in_(wanted))
        .order_by(FootageResponse.answered_at, FootageResponse.id)
    ).all()
    requests = session.scalars(
        sa.select(FootageRequest)
        .where(FootageRequest.response_id.in_(wanted))
        .order_by(FootageRequest.sent_at, FootageRequest.id)
    ).all()
    return _Scope(list(responses), list(requests), files, shown)


def _paths(files: list[EvidenceFile]) -> dict[int, str]:
    """Each file's path in the ZIP, unique even when two references become the same safe text."""
    out, taken = {}, set()
    for f in files:
        base = f"{safe_name(f.exhibit_ref, 'exhibit', 40)}__{safe_name(f.original_name, 'file')}"
        name, n = base, 2
        while name.lower() in taken:
            stem, dot, ext = base.rpartition(".")
            name = f"{stem}-{n}.{ext}" if dot else f"{base}-{n}"
            n += 1
        taken.add(name.lower())
        out[f.id] = FILES_DIR + name
    return out


def _content_row(f: EvidenceFile) -> dict:
    # No original name: this goes into the append-only audit log, which keeps it after retention has
    # deleted the file (the owner's file names are theirs; the path is made from the exhibit reference).
    return {"file_id": f.public_id, "exhibit_ref": f.exhibit_ref, "sha256": f.sha256, "size": int(f.declared_size)}


def bundle_contents(session: Session, case: CaseFile, request_public_id: str | None = None) -> list[dict]:
    """What the bundle of ``case`` (or of the answer ``request_public_id`` is part of) would hold:
    per accepted stored file its public id, exhibit reference, SHA-256 and size (for the export's audit
    row, written before streaming; the served bundle must hold exactly these). CaseworkError('case', ...)
    when nothing is accepted yet, or the request is not one of the case's."""
    scope = _scope(session, case, request_public_id)
    return [_content_row(f) for f in scope.files]


# --------------------------------------------------------------------------- documents


def _iso(value: dt.datetime | None) -> str | None:
    value = _utc(value)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def _uk(value: dt.datetime | None) -> str | None:
    value = _utc(value)
    return value.astimezone(UK).strftime("%Y-%m-%d %H:%M:%S %Z") if value else None


def _media(f: EvidenceFile) -> dict:
    media = dict(f.media or {})
    duration = media.get("duration_s") if isinstance(media.get("duration_s"), (int, float)) else None
    return {
        "kind": media.get("kind"),
        "container": media.get("container") or media.get("format"),
        "codec": media.get("codec"),
        "duration_s": duration,
        "width": media.get("width"),
        "height": media.get("height"),
        "recorded_at": _parse_time(media.get("recorded_at")),
    }


def _manifest(
    session: Session,
    case: CaseFile,
    scope: _Scope,
    paths: dict[int, str],
    *,
    actor: audit.Actor,
    export_audit_id: int,
    reason: str,
    now: dt.datetime,
    force_name: str,
) -> dict:
    users = dict(
        session.execute(
            sa.select(User.id, User.username).where(
                User.id.in_({f.triaged_by_id for f in scope.files if f.triaged_by_id} | {case.officer_id})
            )
        )
        .tuples()
        .all()
    )
    cameras = dict(
        session.execute(
            sa.select(Camera.id, Camera.public_id).where(Camera.id.in_({q.camera_id for q in scope.requests}))
        )
        .tuples()
        .all()
    )
    by_response = {r.id: r for r in scope.responses}
    requests_of = {r.id: [q for q in scope.requests if q.response_id == r.id] for r in scope.responses}
    files = []
    for f in scope.files:
        response = by_response[f.response_id]
        media = _media(f)
        start, end = corrected(media["recorded_at"], media["duration_s"], response.clock_offset_s)
        mine = requests_of[response.id]
        files.append(
            {
                "exhibit_ref": f.exhibit_ref,
                "file_id": f.public_id,
                "path": paths[f.id],
                "sha256": f.sha256,
                "size_bytes": int(f.declared_size),
                "original_name": f.original_name,
                "caption": f.caption,
                "kind": media["kind"],
                "container": media["container"],
                "codec": media["codec"],
                "duration_s": media["duration_s"],
                "width": media["width"],
                "height": media["height"],
                "recorded_at_camera_clock": _iso(media["recorded_at"]),
                "clock_offset_s": response.clock_offset_s,
                "clock_offset_words": clock_text(response.clock_offset_s),
                "real_start_utc": _iso(start),
                "real_end_utc": _iso(end),
                "real_start_uk": _uk(start),
                "real_end_uk": _uk(end),
                "uploaded_at_utc": _iso(f.completed_at),
                "uploaded_at_uk": _uk(f.completed_at),
                "accepted_by": users.get(f.triaged_by_id or 0),
                "accepted_at_utc": _iso(f.triaged_at),
                "accepted_at_uk": _uk(f.triaged_at),
                "response_id": response.public_id,
                "request_ids": [q.public_id for q in mine],
                "camera_ids": [cameras.get(q.camera_id) for q in mine],
            }
        )
    statements = [
        {
            "response_id": r.public_id,
            "answered_at_utc": _iso(r.answered_at),
            "answered_at_uk": _uk(r.answered_at),
            "copy_made_by_owner": r.copy_made_by_owner,
            "copy_made_at_utc": _iso(r.copy_made_at),
            "copy_made_at_uk": _uk(r.copy_made_at),
            "signed_name": r.signed_name,
            "note": r.owner_note,
            "clock_offset_s": r.clock_offset_s,
            "clock_offset_words": clock_text(r.clock_offset_s),
            "request_ids": [q.public_id for q in requests_of[r.id]],
            "file_ids": [f.public_id for f in scope.files if f.response_id == r.id],
        }
        for r in scope.responses
    ]
    requests = [
        {
            "request_id": q.public_id,
            "camera_id": cameras.get(q.camera_id),
            "response_id": by_response[q.response_id].public_id,
            "case_ref": q.case_ref,
            "incident_from_utc": _iso(q.incident_from),
            "incident_to_utc": _iso(q.incident_to),
            "incident_from_uk": _uk(q.incident_from),
            "incident_to_uk": _uk(q.incident_to),
            "sent_at_utc": _iso(q.sent_at),
            "sent_at_uk": _uk(q.sent_at),
            "status": q.status,
            "crime_category": q.crime_category,
            "detail_told_to_owner": by_response[q.response_id].shared_detail,
        }
        for q in scope.requests
    ]
    return {
        "format": FORMAT,
        "case": {"case_ref": case.case_ref, "case_id": case.public_id, "case_officer": users.get(case.officer_id)},
        "scope": {"kind": "request" if scope.request_public_id else "case", "request_id": scope.request_public_id},
        "export": {
            "force": force_name,
            "exported_by": actor.username,
            "exported_by_role": actor.role,
            "reason": reason,
            "exported_at_utc": _iso(now),
            "exported_at_uk": _uk(now),
            "audit_row_id": export_audit_id,
        },
        "hash_algorithm": "sha256",
        "verify_with": f"{VERIFY_COMMAND} BUNDLE.zip",
        "files": files,
        "statements": statements,
        "requests": requests,
    }


def _manifest_csv(manifest: dict) -> bytes:
    statements = {s["response_id"]: s for s in manifest["statements"]}
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for f in manifest["files"]:
        s = statements[f["response_id"]]
        row = {
            **f,
            "request_ids": " ".join(f["request_ids"]),
            "camera_ids": " ".join(c or "" for c in f["camera_ids"]),
            "copy_made_by_owner": {True: "yes", False: "no"}.get(s["copy_made_by_owner"], ""),
            "copy_made_at_utc": s["copy_made_at_utc"],
            "signed_name": s["signed_name"],
            "owner_note": s["note"],
        }
        writer.writerow({k: _csv_cell(row.get(k)) for k in CSV_COLUMNS})
    return out.getvalue().encode("utf-8-sig")  # with a BOM: Excel reads it as UTF-8


def _csv_cell(value: object) -> object:
    """A cell a spreadsheet will not run: text starting with = + - @ (or a tab/CR) gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _concerns(detail: dict, case: CaseFile, ids: dict[str, set]) -> bool:
    """Whether an audit row's detail is about this case file's requests, answers or files."""
    if detail.get("case_id") == case.public_id and not detail.get("file_id") and not detail.get("response_id"):
        return True  # the case file itself: its team, closing, exports
    for key in ("response", "response_id"):
        if detail.get(key) in ids["responses"]:
            return True
    if detail.get("file_id") in ids["files"]:
        return True
    if detail.get("request_id") in ids["request_rowids"]:
        return True
    for key, pool in (("request_ids", "request_rowids"), ("responses", "responses")):
        values = detail.get(key)
        if isinstance(values, list) and any(v in ids[pool] for v in values if isinstance(v, (str, int))):
            return True
    return False


def _public_detail(detail: dict, request_ids: dict[int, str]) -> tuple[dict, list[str]]:
    """The detail with internal request ids shown as public ones and outside text withheld."""
    out, withheld = dict(detail), []
    if isinstance(out.get("request_id"), int):
        out["request_id"] = request_ids.get(out["request_id"], "another request")
    if isinstance(out.get("request_ids"), list):
        out["request_ids"] = [
            request_ids.get(v, "another request") if isinstance(v, int) else v for v in out["request_ids"]
        ]
    for key in ("likely_overwritten_camera_ids",):
        if key in out:
            out.pop(key)
            withheld.append(key)
    for key in WITHHELD_KEYS:
        if out.get(key) is not None:
            out[key] = "[withheld from the bundle]"
            withheld.append(key)
    return out, withheld


def _audit_extract(session: Session, case: CaseFile, scope: _Scope, export_audit_id: int) -> dict:
    """The case's audit rows (up to and including the export's) about these requests, answers and files."""
    case_requests = (
        session.execute(
            sa.select(FootageRequest.id, FootageRequest.public_id).where(
                FootageRequest.case_ref == case.case_ref, FootageRequest.requested_by_id == case.officer_id
            )
        )
        .tuples()
        .all()
    )
    public_of = dict(case_requests)
    ids = {
        "responses": {r.public_id for r in scope.responses},
        "files": {f.public_id for f in scope.files},
        "request_rowids": {q.id for q in scope.requests},
    }
    rows = session.execute(
        sa.select(AuditEvent)
        .where(AuditEvent.case_ref == case.case_ref, AuditEvent.id <= export_audit_id)
        .order_by(AuditEvent.id)
    ).scalars()
    out = []
    for row in rows:
        try:
            detail = json.loads(row.detail) if row.detail else {}
        except ValueError:
            detail = {}
        if not isinstance(detail, dict):
            detail = {}
        if row.id != export_audit_id and not _concerns(detail, case, ids):
            continue
        shown, withheld = _public_detail(detail, public_of)
        out.append(
            {
                "id": row.id,
                "occurred_at_utc": _iso(row.occurred_at),
                "occurred_at_uk": _uk(row.occurred_at),
                "username": row.username,
                "role": row.role,
                "action": row.action,
                "case_ref": row.case_ref,
                "reason": row.reason,
                "detail": shown,
                "withheld": withheld,
                "prev_hash": row.prev_hash,
                "row_hash": row.row_hash,
            }
        )
    return {
        "about": (
            "Rows of the registry's append-only audit log with this case reference that concern the requests, "
            "owners' answers and files in this bundle, up to and including the export itself. row_hash is "
            "each row's keyed hash in the tamper-evident log: the force's auditor can match every row against "
            "the log. Internal request numbers are shown as public request ids; text from outside the registry "
            "that may hold an owner's contact details is withheld ('withheld' names those fields); camera "
            "subject lists are left out."
        ),
        "case_ref": case.case_ref,
        "case_id": case.public_id,
        "export_audit_row_id": export_audit_id,
        "rows": out,
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def _size_text(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,} bytes"


def continuity_html(manifest: dict, filename: str) -> str:
    """The continuity statement (HTML for people; prints to A4) from the manifest."""
    statements = {s["response_id"]: s for s in manifest["statements"]}
    return (
        _environment()
        .get_template("evidence/continuity.html")
        .render(m=manifest, statements=statements, size_text=_size_text, verify=VERIFY_COMMAND, filename=filename)
    )


def _json(value: dict) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- streaming


def stream_file(
    path: Path, sha256: str, size: int, on_failure: Callable[[str, str | None, int], None]
) -> Iterator[bytes]:
    """The bytes of ``path`` in blocks, hashed as read; the last block is given only once the whole
    file is known to have ``sha256`` and ``size``. Otherwise ``on_failure(result, found_sha, found_size)``
    is called ('missing' or 'mismatch') and IntegrityFailure raised (by it)."""
    hasher = hashlib.sha256()
    seen, held = 0, None
    try:
        f = open(path, "rb", buffering=0)  # noqa: SIM115 - opened here to tell a missing file apart; closed by `with f` below
    except FileNotFoundError:
        on_failure("missing", None, 0)
        return
    with f:
        try:
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        except (AttributeError, OSError):  # pragma: no cover - not on every platform
            pass
        while True:
            block = f.read(CHUNK_BYTES)
            if not block:
                break
            seen += len(block)
            if seen > size:
                break  # longer than recorded: not the owner's file, whatever follows
            hasher.update(block)
            if held is not None:
                yield held
            held = block
    found = hasher.hexdigest()
    if seen != size or found != sha256:
        on_failure("mismatch", found if seen == size else None, seen)
        return
    if held is not None:
        yield held


def _failure_recorder(
    session: Session, case: CaseFile, f: EvidenceFile, *, actor: audit.Actor, export_audit_id: int, reason: str
) -> Callable[[str, str | None, int], None]:
    engine = session.get_bind()
    ids = (f.id, f.public_id, f.exhibit_ref, f.sha256, int(f.declared_size))
    case_ref, case_id = case.case_ref, case.public_id

    def failed(result: str, found_sha: str | None, found_size: int) -> None:
        file_id, public_id, exhibit_ref, sha, size = ids
        record_failure(
            session_factory(engine),
            file_id,
            result,
            actor=actor,
            case_ref=case_ref,
            reason=reason,
            detail={
                "case_id": case_id,
                "file_id": public_id,
                "exhibit_ref": exhibit_ref,
                "during": "export",
                "export_audit_id": export_audit_id,
                "sha256": sha,
                "size": size,
                "found_sha256": found_sha,
                "found_size": found_size,
            },
        )
        raise IntegrityFailure(public_id, exhibit_ref, result)

    return failed


def build_bundle(
    session: Session,
    case: CaseFile,
    *,
    request_public_id: str | None,
    store: Store,
    actor: audit.Actor,
    export_audit_id: int,
    reason: str,
    now: dt.datetime,
    force_name: str,
) -> Bundle:
    """The hand-off ZIP of ``case`` (or of the answer ``request_public_id`` is part of), to stream.

    Everything from the database is read here, in the caller's session (the manifest, statement and
    audit extract are small); the returned ``Bundle`` then reads only the evidence store, so it may
    be iterated after the caller's unit of work has ended (a Flask streamed response). The export's
    audit row (``export_audit_id``, from ``viewing.export_link``) must be committed first: the
    extract ends with it. A file missing from the store or of the wrong size is found here
    (IntegrityFailure, recorded) before any byte is sent; a changed byte, while streaming.

    In a Flask route (no ``stream_with_context``: the bundle needs no request or session)::

        bundle = build_bundle(s, case, ...)
        return Response(iter(bundle), mimetype=bundle.media_type, direct_passthrough=True, headers={
            "Content-Length": str(bundle.size), "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{bundle.filename}"'})
    """
    scope = _scope(session, case, request_public_id)
    paths = _paths(scope.files)
    filename = bundle_filename(case.case_ref, now, scope.request_public_id)
    manifest = _manifest(
        session,
        case,
        scope,
        paths,
        actor=actor,
        export_audit_id=export_audit_id,
        reason=reason,
        now=now,
        force_name=force_name,
    )
    requests = {
        "case_ref": case.case_ref,
        "case_id": case.public_id,
        "scope": manifest["scope"],
        "requests": manifest["requests"],
    }
    documents = {
        MANIFEST_CSV: _manifest_csv(manifest),
        REQUESTS: _json(requests),
        AUDIT_EXTRACT: _json(_audit_extract(session, case, scope, export_audit_id)),
        STATEMENT: continuity_html(manifest, filename).encode("utf-8"),
    }
    manifest["documents"] = {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)} for name, data in documents.items()
    }
    zs = ZipStream(compress_type=ZIP_STORED, sized=True)
    zs.add(_json(manifest), MANIFEST)
    for name, data in documents.items():
        zs.add(data, name)
    for f in scope.files:
        path = store.path_for(f.sha256)
        failed = _failure_recorder(session, case, f, actor=actor, export_audit_id=export_audit_id, reason=reason)
        try:
            on_disk = path.stat().st_size
        except FileNotFoundError:
            failed("missing", None, 0)
        if on_disk != f.declared_size:
            failed("mismatch", None, on_disk)
        zs.add(stream_file(path, f.sha256, int(f.declared_size), failed), paths[f.id], size=int(f.declared_size))
    return Bundle(filename=filename, size=len(zs), files=[_content_row(f) for f in scope.files], _stream=zs)
