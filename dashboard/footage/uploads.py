"""An owner's uploads in answer to a footage request: created, appended to, completed, removed.

The web layer (``dashboard/public/tus.py``) speaks the tus protocol; this module holds the rules:

- **Create** (``create``): only while the response is open (its link valid and not yet answered);
  at most ``UPLOAD_MAX_FILES`` files per response (refused and removed ones not counted), each up
  to ``UPLOAD_MAX_FILE_MB``, all together up to ``UPLOAD_MAX_TOTAL_MB``; never a 0-byte file; room
  on the disk for the file plus ``EVIDENCE_MIN_FREE_MB``. The name is cleaned (no folders, no
  control characters); the caption must hold no stream link, address or password (free_text).
- **Append** (``append``): bytes are accepted only at the offset received so far (a chunk sent
  twice or out of order is a conflict and changes nothing). One request at a time per upload (a
  file lock, across worker processes); the database is touched only in short transactions before
  and after the body is streamed, never while it streams. The SHA-256 is computed as the bytes
  arrive; its running state is kept in this process keyed by (upload, offset), and rebuilt once
  from the part file when another process (or a restart) continues the upload.
- **Complete**: once every declared byte has arrived the file is probed by content (probe.py):
  stored under its SHA-256 (state 'stored', the media summary kept, audit 'footage_uploaded'), or
  its bytes deleted (state 'refused' with the reason, audit 'footage_refused').
- **Remove** (``remove``): the owner takes a file back before submitting (state 'removed'); its bytes
  are deleted unless another stored file has the same content.

Every failure is an ``UploadError`` with the HTTP status the tus layer answers and a message for
the owner; none changes anything already received.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from dashboard.config import Settings
from dashboard.footage import links, probe
from dashboard.footage.storage import NO_SPACE, Busy, NoSpace, Store, StoreError
from dashboard.registry import audit, free_text
from dashboard.registry.database import hold_write_lock, transaction
from dashboard.registry.models import EvidenceFile, FootageResponse, utcnow

log = logging.getLogger(__name__)
PUBLIC = audit.Actor(None, "public", None)  # the owner: not a user of the system (as registration.PUBLIC)
MAX_NAME = 255
MAX_CAPTION = 300
COUNTED_STATES = ("uploading", "stored")  # refused and removed files do not count towards the limits
LINK_STATUS = {"unknown": 404, "expired": 410, "answered": 410, "withdrawn": 410, "closed": 410}


class UploadError(Exception):
    """Refused: ``status`` (the HTTP status to answer), ``kind`` (a short code), ``message`` (for the owner)."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


@dataclass(frozen=True)
class Limits:
    max_files: int
    max_file_bytes: int
    max_total_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(settings.upload_max_files, settings.upload_max_file_bytes, settings.upload_max_total_bytes)


@dataclass(frozen=True)
class Upload:
    """What the owner's page is told about one file."""

    key: str
    name: str
    caption: str | None
    size: int
    received: int
    state: str
    sha256: str | None
    refusal: str | None
    media: dict | None
    created_at: dt.datetime
    completed_at: dt.datetime | None

    @classmethod
    def of(cls, f: EvidenceFile) -> Upload:
        return cls(
            f.upload_key,
            f.original_name,
            f.caption,
            f.declared_size,
            f.received_bytes,
            f.state,
            f.sha256,
            f.refusal,
            f.media,
            f.created_at,
            f.completed_at,
        )

    def as_json(self) -> dict:
        return {
            "key": self.key,
            "name": self.name,
            "caption": self.caption,
            "size": self.size,
            "received": self.received,
            "state": self.state,
            "sha256": self.sha256,
            "refusal": self.refusal,
            "media": self.media,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
        }


def _size(n: int) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):g} GB" if n % (1 << 30) == 0 else f"{n / (1 << 30):.1f} GB"
    return f"{n / (1 << 20):.0f} MB" if n >= 1 << 20 else f"{n} bytes"


# --------------------------------------------------------------------------- names and captions

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


_IPV4_IN_NAME = re.compile(r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?![\d])")


def clean_name(raw: object) -> str:
    """The file's name as the owner's device gave it, made safe to keep and show: no folders, no
    control or invisible characters, at most 255 characters (its extension kept).

    >>> clean_name("C:\\\\Users\\\\ann\\\\Videos\\\\front door.MP4")
    'front door.MP4'
    >>> clean_name("../../etc/hosts\\x00.mp4")
    'hosts.mp4'
    >>> clean_name("   ")
    'file'
    >>> clean_name("192.168.1.64_01_20261130211405.mp4")
    'x.x.x.x_01_20261130211405.mp4'
    >>> clean_name("admin password=Pa55word.jpg")
    'file.jpg'
    """
    text = unicodedata.normalize("NFC", str(raw or ""))
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"))
    text = re.split(r"[\\/]", text)[-1]
    text = " ".join(text.split()).strip(" .") or "file"
    # Promise 1: recorders name exports after their network address ('192.168.1.64_01_2026...'), and a
    # name can hold a login: addresses are blotted out, and a name still holding a link or a login
    # is replaced by 'file' (its extension kept). The file itself is not refused for its name.
    text = _IPV4_IN_NAME.sub("x.x.x.x", text)
    if free_text.problem(text) is not None:
        stem, dot, ext = text.rpartition(".")
        text = "file" + ("." + ext if dot and ext.isalnum() and len(ext) <= 16 else "")
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        text = (stem[: MAX_NAME - len(ext) - 1] + "." + ext) if dot and len(ext) <= 16 else text[:MAX_NAME]
    return text


def clean_caption(raw: object) -> str | None:
    """The caption, trimmed; None when blank. UploadError (400) when too long or holding a stream
    link, an IP address or a login (free_text)."""
    if raw is None:
        return None
    text = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", str(raw))).split())
    if not text:
        return None
    if len(text) > MAX_CAPTION:
        raise UploadError(400, "caption", f"The caption is {len(text)} characters long; keep it to {MAX_CAPTION}.")
    try:
        return free_text.check(text, "caption")
    except ValueError as exc:
        raise UploadError(400, "caption", str(exc)) from None


# --------------------------------------------------------------------------- running hashes


class _Hashers:
    """SHA-256 states of uploads in progress, keyed by (upload key, bytes hashed). Bounded: an
    upload whose state was dropped is re-hashed from its part file once."""

    def __init__(self, most: int = 256) -> None:
        self._items: OrderedDict[tuple[str, int], object] = OrderedDict()
        self._lock = threading.Lock()
        self._most = most

    def take(self, key: str, offset: int):
        with self._lock:
            return self._items.pop((key, offset), None)

    def put(self, key: str, offset: int, hasher) -> None:
        with self._lock:
            self._items[(key, offset)] = hasher
            while len(self._items) > self._most:
                self._items.popitem(last=False)

    def drop(self, key: str) -> None:
        with self._lock:
            for k in [k for k in self._items if k[0] == key]:
                del self._items[k]


HASHERS = _Hashers()


# --------------------------------------------------------------------------- the service


class Uploads:
    """The upload rules over one database (``sessions``) and one evidence store."""

    def __init__(self, sessions: sessionmaker[Session], store: Store, limits: Limits) -> None:
        self.sessions, self.store, self.limits = sessions, store, limits

    @classmethod
    def from_settings(cls, sessions: sessionmaker[Session], settings: Settings) -> Uploads:
        return cls(
            sessions, Store(settings.evidence_dir, settings.evidence_min_free_bytes), Limits.from_settings(settings)
        )

    # ---------------------------------------------------------------- helpers

    @staticmethod
    def _open(session: Session, token: object, now: dt.datetime, *, answered_ok: bool = False) -> FootageResponse:
        try:
            return links.resolve(session, token, now, answered_ok=answered_ok)
        except links.LinkError as exc:
            raise UploadError(LINK_STATUS.get(exc.kind, 404), f"link_{exc.kind}", exc.message) from None

    @staticmethod
    def _file(session: Session, response: FootageResponse, key: object) -> EvidenceFile:
        # Another response's upload is answered exactly as one that does not exist.
        found = None
        if isinstance(key, str) and len(key) <= 64:
            found = session.scalars(
                sa.select(EvidenceFile).where(EvidenceFile.upload_key == key, EvidenceFile.response_id == response.id)
            ).first()
        if found is None:
            raise UploadError(
                404, "no_upload", "There is no such file in this answer. Choose the file again to send it."
            )
        return found

    def _refuse_at_creation(
        self, ref: tuple[str, str], kind: str, status: int, message: str, now: dt.datetime, size: int | None
    ) -> UploadError:
        """Log a refused creation (in its own short transaction) and return the error to raise.
        ``ref``: the response's (case reference, public id)."""
        with transaction(self.sessions) as s:
            audit.record(
                s,
                PUBLIC,
                "footage_refused",
                case_ref=ref[0],
                at=now,
                detail={"response": ref[1], "reason": kind, "size": size},
            )
        return UploadError(status, kind, message)

    # ---------------------------------------------------------------- create

    def create(
        self,
        token: object,
        *,
        size: object,
        filename: object = None,
        caption: object = None,
        now: dt.datetime | None = None,
    ) -> Upload:
        """A new, empty upload of ``size`` bytes for the response ``token`` opens."""
        now = now or utcnow()
        name = clean_name(filename)
        with transaction(self.sessions) as s:
            response = self._open(s, token, now)
            response_id, public_id, case_ref = response.id, response.public_id, response.case_ref
        text = clean_caption(caption)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise UploadError(400, "size", "The file's size was not sent (Upload-Length); choose the file again.")
        ref = (case_ref, public_id)
        if size == 0:
            raise self._refuse_at_creation(
                ref,
                "empty",
                400,
                f"'{name}' is empty (0 bytes), so there is nothing to "
                "send. Choose the file again: it may not have been saved properly.",
                now,
                0,
            )
        if size > self.limits.max_file_bytes:
            raise self._refuse_at_creation(
                ref,
                "file_too_large",
                413,
                f"'{name}' is {_size(size)}; each file can be "
                f"at most {_size(self.limits.max_file_bytes)}. Send a shorter clip, or "
                "split it into parts.",
                now,
                size,
            )
        key = secrets.token_urlsafe(32)
        refusal = None
        with transaction(self.sessions) as s:
            hold_write_lock(s, f"footage-response-{response_id}")
            response = self._open(s, token, now)  # still open, under the lock
            rows = s.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(EvidenceFile.declared_size), 0)).where(
                    EvidenceFile.response_id == response_id, EvidenceFile.state.in_(COUNTED_STATES)
                )
            ).one()
            count, total = int(rows[0]), int(rows[1])
            if count >= self.limits.max_files:
                refusal = (
                    "too_many_files",
                    403,
                    f"You can send up to {self.limits.max_files} files with this answer, "
                    "and you have already chosen that many. Remove one to send another.",
                )
            elif total + size > self.limits.max_total_bytes:
                left = max(0, self.limits.max_total_bytes - total)
                refusal = (
                    "total_too_large",
                    413,
                    f"Together your files can be at most "
                    f"{_size(self.limits.max_total_bytes)}; '{name}' ({_size(size)}) would go over that "
                    f"({_size(left)} left). Remove a file or send a shorter clip.",
                )
            else:
                try:
                    self.store.check_space(size)
                except NoSpace as exc:
                    refusal = ("no_space", 507, exc.message)
            if refusal is None:
                row = EvidenceFile(
                    response_id=response_id,
                    upload_key=key,
                    original_name=name,
                    caption=text,
                    declared_size=size,
                    received_bytes=0,
                    state="uploading",
                    created_at=now,
                )
                s.add(row)
                s.flush()
                try:
                    self.store.create_part(key)
                except StoreError as exc:
                    raise UploadError(507, exc.kind, exc.message) from None
                made = Upload.of(row)
        if refusal is not None:
            raise self._refuse_at_creation(ref, refusal[0], refusal[1], refusal[2], now, size)
        HASHERS.put(key, 0, hashlib.sha256())
        return made

    # ---------------------------------------------------------------- read

    def status(self, token: object, key: object, now: dt.datetime | None = None) -> Upload:
        """The upload as it stands (its offset for HEAD)."""
        now = now or utcnow()
        with transaction(self.sessions) as s:
            response = self._open(s, token, now)
            return Upload.of(self._file(s, response, key))

    def listing(self, token: object, now: dt.datetime | None = None) -> list[Upload]:
        """Every file of the response, oldest first (the receipt too: a submitted answer still lists)."""
        now = now or utcnow()
        with transaction(self.sessions) as s:
            response = self._open(s, token, now, answered_ok=True)
            rows = s.scalars(
                sa.select(EvidenceFile).where(EvidenceFile.response_id == response.id).order_by(EvidenceFile.id)
            )
            return [Upload.of(f) for f in rows]

    # ---------------------------------------------------------------- append

    def _uploading(self, token: object, key: object, now: dt.datetime) -> tuple[EvidenceFile, FootageResponse]:
        with transaction(self.sessions) as s:
            response = self._open(s, token, now)
            f = self._file(s, response, key)
            s.expunge(f)
            s.expunge(response)
        if f.state == "refused":
            raise UploadError(410, "refused", f.refusal or "This file was not accepted.")
        if f.state == "removed":
            raise UploadError(404, "no_upload", "This file was removed from your answer. Choose it again to send it.")
        return f, response

    def append(
        self,
        token: object,
        key: object,
        offset: object,
        chunks: Iterable[bytes],
        *,
        length: int | None = None,
        now: dt.datetime | None = None,
    ) -> Upload:
        """Write ``chunks`` (the request body) at ``offset``; complete the upload when it is whole.

        ``length``: the body's declared length (Content-Length), checked before anything is read."""
        now = now or utcnow()
        f, response = self._uploading(token, key, now)
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise UploadError(400, "offset", "The request did not say where these bytes go (Upload-Offset).")
        if offset != f.received_bytes:
            raise self._conflict(f)
        if length is not None and offset + length > f.declared_size:
            raise UploadError(
                413,
                "too_long",
                f"These bytes would run past the end of the file ({f.declared_size} bytes); nothing was written.",
            )
        if f.state == "stored":
            return Upload.of(f)  # complete already; an empty PATCH at the end changes nothing
        try:
            with self.store.locked(f.upload_key):
                return self._append_locked(token, f.upload_key, offset, chunks, response, now)
        except Busy as exc:
            raise UploadError(423, exc.kind, exc.message) from None

    def _conflict(self, f: EvidenceFile) -> UploadError:
        return UploadError(
            409,
            "offset",
            f"The server has {f.received_bytes} bytes of this file, so it expects "
            f"the next bytes from there; nothing was written. Your browser will "
            "carry on from the right place.",
        )

    def _append_locked(
        self, token, key: str, offset: int, chunks: Iterable[bytes], response: FootageResponse, now: dt.datetime
    ) -> Upload:
        f, _ = self._uploading(token, key, now)  # again, under the lock: a request before us may have moved it
        if f.state == "stored":
            if offset == f.declared_size:
                return Upload.of(f)
            raise self._conflict(f)
        if offset != f.received_bytes:
            raise self._conflict(f)
        if f.sha256 and self.store.part_size(key) is None and self.store.path_for(f.sha256).is_file():
            # Renamed into the store, then interrupted before it was marked stored: finish that.
            with self.store.content_lock():
                return self._mark_stored(f.id, response, f.sha256, f.declared_size, f.media, now)
        hasher = HASHERS.take(key, offset)
        if hasher is None:
            try:
                hasher = self.store.rehash(key, offset)
            except (StoreError, FileNotFoundError):
                raise UploadError(
                    410,
                    "lost",
                    "The part of this file received earlier is no longer on the server. Remove it and send it again.",
                ) from None
        try:
            done = self.store.append(key, offset, chunks, hasher, f.declared_size)
        except StoreError as exc:
            raise UploadError(410, "lost", exc.message) from None
        if done.stopped == "too_long":
            raise UploadError(
                413,
                "too_long",
                f"These bytes would run past the end of the file ({f.declared_size} bytes); nothing was written.",
            )
        if done.end != offset:
            with transaction(self.sessions) as s:
                s.execute(
                    sa.update(EvidenceFile)
                    .where(
                        EvidenceFile.id == f.id,
                        EvidenceFile.state == "uploading",
                        EvidenceFile.received_bytes == offset,
                    )
                    .values(received_bytes=done.end)
                )
        if done.hasher is not None:
            HASHERS.put(key, done.end, done.hasher)
        f.received_bytes = done.end
        if done.stopped == "no_space":
            raise UploadError(507, "no_space", NO_SPACE)
        if done.end < f.declared_size:
            return Upload.of(f)
        return self._complete(f, response, done.hasher or self.store.rehash(key, done.end), now)

    # ---------------------------------------------------------------- complete

    def _probe(self, key: str) -> dict:
        """What the part file is (probe.py); a reader failing in a way it should not (ffmpeg's
        libraries meeting a file no camera made) refuses the file rather than storing it unchecked."""
        try:
            return probe.probe(self.store.part_path(key), max_unpacked_bytes=self.limits.max_total_bytes).as_json()
        except probe.Refused:
            raise
        except Exception:
            log.exception("probing upload %s failed", key[:8])
            raise probe.Refused(
                "unreadable",
                "This file could not be checked, so it cannot be accepted. If it is "
                "footage, export or copy it again, or send it in another format.",
            ) from None

    def _complete(self, f: EvidenceFile, response: FootageResponse, hasher, now: dt.datetime) -> Upload:
        sha = hasher.hexdigest()
        HASHERS.drop(f.upload_key)
        try:
            media = self._probe(f.upload_key)
        except probe.Refused as refused:
            self.store.discard(f.upload_key)
            with transaction(self.sessions) as s:
                s.execute(
                    sa.update(EvidenceFile)
                    .where(EvidenceFile.id == f.id)
                    .values(state="refused", refusal=refused.message, completed_at=now, received_bytes=f.declared_size)
                )
                audit.record(
                    s,
                    PUBLIC,
                    "footage_refused",
                    case_ref=response.case_ref,
                    at=now,
                    detail={
                        "response": response.public_id,
                        "reason": refused.reason,
                        "sha256": sha,
                        "size": f.declared_size,
                    },
                )
            raise UploadError(422, refused.reason, f"'{f.original_name}' was not accepted: {refused.message}") from None
        with self.store.content_lock():
            # The hash first, then the rename, then 'stored': a crash between the last two leaves a
            # row that knows where its bytes went, and the next request for it finishes the job.
            with transaction(self.sessions) as s:
                s.execute(
                    sa.update(EvidenceFile)
                    .where(EvidenceFile.id == f.id)
                    .values(sha256=sha, media=media, received_bytes=f.declared_size)
                )
            self.store.commit(f.upload_key, sha)
            return self._mark_stored(f.id, response, sha, f.declared_size, media, now)

    def _mark_stored(
        self, file_id: int, response: FootageResponse, sha: str, size: int, media: dict, now: dt.datetime
    ) -> Upload:
        with transaction(self.sessions) as s:
            s.execute(
                sa.update(EvidenceFile).where(EvidenceFile.id == file_id).values(state="stored", completed_at=now)
            )
            audit.record(
                s,
                PUBLIC,
                "footage_uploaded",
                case_ref=response.case_ref,
                at=now,
                detail={"response": response.public_id, "sha256": sha, "size": size, "kind": (media or {}).get("kind")},
            )
            return Upload.of(s.get(EvidenceFile, file_id))

    # ---------------------------------------------------------------- remove

    def remove(self, token: object, key: object, now: dt.datetime | None = None) -> None:
        """The owner takes a file back before submitting: its bytes go (unless another stored file
        has the same content), the row stays as 'removed'."""
        now = now or utcnow()
        with transaction(self.sessions) as s:
            response = self._open(s, token, now)
            f = self._file(s, response, key)
            file_id, upload_key, response_id = f.id, f.upload_key, response.id
        try:
            with self.store.locked(upload_key), self.store.content_lock():
                with transaction(self.sessions) as s:
                    # One writer at a time with the owner's answer (responses.submit takes the same lock),
                    # so a file listed in a sent answer is never removed after it.
                    hold_write_lock(s, response_lock_key(response_id))
                    response = self._open(s, token, now)
                    f = s.get(EvidenceFile, file_id)
                    if f.state == "removed":
                        return
                    sha, was = f.sha256, f.state
                    f.state = "removed"
                    audit.record(
                        s,
                        PUBLIC,
                        "footage_removed",
                        case_ref=response.case_ref,
                        at=now,
                        detail={"response": response.public_id, "sha256": sha, "was": was},
                    )
                    s.flush()
                    shared = sha is not None and s.scalar(
                        sa.select(sa.func.count()).where(EvidenceFile.sha256 == sha, EvidenceFile.state == "stored")
                    )
                if was == "stored" and sha and not shared:
                    self.store.delete_content(sha)
                self.store.discard(upload_key)
                HASHERS.drop(upload_key)
        except Busy as exc:
            raise UploadError(423, exc.kind, exc.message) from None


def response_lock_key(response_id: int) -> str:
    """The advisory lock (PostgreSQL) that answers and removals of one response's files share."""
    return f"footage-response-{response_id}"


def drop_files(uploads: Uploads, files: list[tuple[str, str | None]]) -> None:
    """After an answer other than footage was committed: the bytes of the files it let go of
    (``(upload_key, sha256)``, already marked removed), unless another stored file has them."""
    for key, sha in files:
        try:
            with uploads.store.locked(key), uploads.store.content_lock():
                if sha:
                    with uploads.sessions() as s:
                        shared = s.scalar(
                            sa.select(sa.func.count()).where(EvidenceFile.sha256 == sha, EvidenceFile.state == "stored")
                        )
                    if not shared:
                        uploads.store.delete_content(sha)
                uploads.store.discard(key)
                HASHERS.drop(key)
        except Busy:
            continue  # still being written to: its part file goes with the nightly sweep of unfinished uploads


ABANDONED = (
    "Not finished before the link closed (the answer was sent, or the link expired): the part received was deleted."
)


def sweep_abandoned(uploads: Uploads, now: dt.datetime | None = None) -> int:
    """Delete the part files of uploads that can never finish: their response was answered, or its
    link has expired. Each becomes 'refused' (why, in ``refusal``) and is logged by the system as
    ``footage_abandoned`` with the bytes that had come; an upload still being written to (its lock
    held) is left for the next sweep. Returns how many were swept. Run nightly with ``retention run``."""
    now = now or utcnow()
    with uploads.sessions() as s:
        rows = s.execute(
            sa.select(EvidenceFile.id, EvidenceFile.upload_key)
            .join(FootageResponse, FootageResponse.id == EvidenceFile.response_id)
            .where(
                EvidenceFile.state == "uploading",
                sa.or_(FootageResponse.answered_at.is_not(None), FootageResponse.link_expires_at <= now),
            )
        ).all()
    swept = 0
    for file_id, key in rows:
        try:
            with uploads.store.locked(key):
                with transaction(uploads.sessions) as s:
                    f = s.get(EvidenceFile, file_id)
                    if f is None or f.state != "uploading":
                        continue
                    f.state, f.refusal = "refused", ABANDONED
                    audit.record(
                        s,
                        audit.SYSTEM,
                        "footage_abandoned",
                        case_ref=f.response.case_ref,
                        at=now,
                        detail={
                            "response": f.response.public_id,
                            "received_bytes": f.received_bytes,
                            "declared_size": f.declared_size,
                        },
                    )
                uploads.store.discard(key)
                HASHERS.drop(key)
                swept += 1
        except Busy:
            continue
    return swept
