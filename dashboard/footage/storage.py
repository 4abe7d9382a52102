"""Where uploaded footage is kept (``EVIDENCE_DIR``): streamed in, never half-visible, stored once.

Layout under the evidence folder::

    incoming/<upload_key>.part     bytes of an upload still arriving (never read as evidence)
    incoming/<upload_key>.lock     held (flock) while one request appends to that upload
    sha256/<ab>/<cd>/<sha256>      a complete, verified file, named by its SHA-256 (content-addressed)

A file reaches ``sha256/`` only by ``os.replace`` of a complete part file that was fsynced first,
followed by an fsync of the directory it went into: a reader of the store sees a whole file or
nothing, after a crash too. Two uploads with the same bytes share one stored file.

Bytes are appended in chunks straight from the request body (never a whole file in memory). A
chunk that fails to be written (the disk filled: ENOSPC, or a quota: EDQUOT) is cut back off, so
the part file always ends at the last chunk written in full; what came before is kept and the
upload can go on from there once there is space again.

No Flask or Dash here: plain paths and file descriptors.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import queue
import re
import shutil
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK_BYTES = 1 << 20  # 1 MiB: the unit read from a request and written to disk
# Every this many bytes of an append are flushed to disk (fdatasync) and dropped from the page
# cache: a 2 GB upload then holds ~16 MiB of the server's memory in dirty pages, not 2 GB, the
# kernel recycles the same pages (measured: 136 -> ~1,000 MiB/s for a fresh file on the project's
# VM, where first-touch pages are slow), and the final fsync has little left to do.
SYNC_BYTES = 16 << 20
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)

NO_SPACE = (
    "The server has run out of space for uploads just now. Nothing you have already sent is lost: "
    "try again later and the upload will carry on from where it stopped."
)


class StoreError(Exception):
    """Something the owner is told (``message``); ``kind`` names it for the web layer."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


class NoSpace(StoreError):
    def __init__(self, message: str = NO_SPACE) -> None:
        super().__init__("no_space", message)


class Busy(StoreError):
    def __init__(self) -> None:
        super().__init__(
            "busy",
            "This file is already being sent from another connection; wait for it to finish "
            "or stop it, then try again.",
        )


@dataclass
class Appended:
    """What one append did: the part file now ends at ``end`` (every byte up to it written and
    fsynced; ``hasher`` has seen exactly those bytes); ``stopped`` says why it ended early, if it
    did: 'no_space' (a chunk could not be written and was cut off), 'disconnected' (the body
    stopped coming), 'too_long' (the body ran past ``limit``: nothing of this append was kept)."""

    end: int
    hasher: object
    stopped: str | None = None


class _BackgroundHash:
    """Feeds a hasher from its own thread, so hashing (~0.6 ms per MiB; hashlib lets go of the GIL
    for large blocks) overlaps receiving and writing the next chunk. Each block is copied first:
    the request reader reuses its buffer."""

    def __init__(self, hasher, depth: int = 4) -> None:
        self.hasher = hasher
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.thread = threading.Thread(target=self._run, name="sha256", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (block := self.queue.get()) is not None:
            self.hasher.update(block)

    def feed(self, block) -> None:
        self.queue.put(bytes(block))

    def finish(self):
        """The hasher, once it has seen every block fed."""
        self.queue.put(None)
        self.thread.join()
        return self.hasher


def _flush(fd: int, start: int, end: int) -> int:
    """Write bytes ``start..end`` of ``fd`` to disk and drop them from the page cache; returns ``end``."""
    os.fdatasync(fd)
    os.posix_fadvise(fd, start, end - start, os.POSIX_FADV_DONTNEED)
    return end


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    """The evidence folder at ``root``; ``min_free_bytes`` is kept free beyond any upload."""

    def __init__(self, root: Path | str, min_free_bytes: int = 0) -> None:
        self.root = Path(root)
        self.min_free_bytes = min_free_bytes
        self.incoming = self.root / "incoming"
        self.objects = self.root / "sha256"

    # ------------------------------------------------------------------ paths

    def ensure(self) -> None:
        for folder in (self.incoming, self.objects):
            folder.mkdir(parents=True, exist_ok=True)

    def part_path(self, upload_key: str) -> Path:
        if not _KEY.match(upload_key or ""):
            raise ValueError(f"not an upload key: {upload_key!r}")
        return self.incoming / f"{upload_key}.part"

    def path_for(self, sha256: str) -> Path:
        """Where the file with this SHA-256 is (or would be) stored."""
        if not _SHA.match(sha256 or ""):
            raise ValueError(f"not a SHA-256 in hex: {sha256!r}")
        return self.objects / sha256[:2] / sha256[2:4] / sha256

    # ------------------------------------------------------------------ space

    def free_bytes(self) -> int:
        self.ensure()
        return shutil.disk_usage(self.incoming).free

    def check_space(self, needed: int) -> None:
        """NoSpace unless ``needed`` bytes fit and ``min_free_bytes`` would still be left."""
        if self.free_bytes() < needed + self.min_free_bytes:
            raise NoSpace(
                "The server does not have room for a file this large just now. Try again later, or send a shorter clip."
            )

    # ------------------------------------------------------------------ uploads

    def create_part(self, upload_key: str) -> None:
        """An empty part file for a new upload (its directory entry fsynced)."""
        self.ensure()
        try:
            fd = os.open(self.part_path(upload_key), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            if exc.errno in NO_SPACE_ERRNOS:
                raise NoSpace() from None
            raise
        os.close(fd)
        _fsync_dir(self.incoming)

    def part_size(self, upload_key: str) -> int | None:
        try:
            return self.part_path(upload_key).stat().st_size
        except FileNotFoundError:
            return None

    @contextlib.contextmanager
    def locked(self, upload_key: str) -> Iterator[None]:
        """Hold this upload's lock (across threads and worker processes); Busy if someone else has it."""
        self.ensure()
        fd = os.open(self.incoming / f"{upload_key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Busy() from None
            yield
        finally:
            os.close(fd)  # releases the lock

    @contextlib.contextmanager
    def content_lock(self) -> Iterator[None]:
        """Held (waiting for it) while a file enters the store or leaves it, so that deleting content
        no longer referenced never races with a new upload of the same bytes."""
        self.ensure()
        fd = os.open(self.incoming / ".store.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def delete_content(self, sha256: str) -> None:
        """Remove a stored file (when nothing refers to it any more)."""
        target = self.path_for(sha256)
        try:
            target.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(target.parent)

    def rehash(self, upload_key: str, length: int):
        """A SHA-256 hasher that has seen the first ``length`` bytes of the part file (read in chunks)."""
        hasher = hashlib.sha256()
        with open(self.part_path(upload_key), "rb", buffering=0) as f:
            left = length
            while left > 0:
                block = f.read(min(CHUNK_BYTES, left))
                if not block:
                    raise StoreError("short", "The part of this file received so far is missing on the server.")
                hasher.update(block)
                left -= len(block)
        return hasher

    def append(self, upload_key: str, offset: int, chunks: Iterable[bytes], hasher, limit: int) -> Appended:
        """Write ``chunks`` to the part file from ``offset``, feeding ``hasher`` with what is written.

        The part file is first cut to ``offset`` (a chunk half-written by a crash is dropped). Never
        writes past ``limit`` bytes in all: a body that runs past it is cut back to ``offset``
        (``stopped='too_long'``). The file is fsynced before returning."""
        fd = os.open(self.part_path(upload_key), os.O_WRONLY)
        end, stopped = offset, None
        synced, keep_hash = offset, True
        background = _BackgroundHash(hasher)
        try:
            size = os.fstat(fd).st_size
            if size < offset:
                raise StoreError("short", "The part of this file received so far is missing on the server.")
            if size > offset:
                os.ftruncate(fd, offset)
            os.lseek(fd, offset, os.SEEK_SET)
            iterator = iter(chunks)
            while True:
                try:
                    chunk = next(iterator)
                except StopIteration:
                    break
                except Exception:  # noqa: BLE001 - the client went away mid-body (werkzeug's ClientDisconnected, socket errors)
                    stopped = "disconnected"
                    break
                if not chunk:
                    continue
                if end + len(chunk) > limit:
                    os.ftruncate(fd, offset)
                    end, stopped, keep_hash = offset, "too_long", False
                    break
                try:
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view) :]
                except OSError as exc:
                    if exc.errno not in NO_SPACE_ERRNOS:
                        os.ftruncate(fd, end)
                        raise
                    os.ftruncate(fd, end)  # the chunk is cut off: the file ends at the last whole one
                    stopped = "no_space"
                    break
                background.feed(chunk)  # only bytes written in full are hashed
                end += len(chunk)
                if end - synced >= SYNC_BYTES:
                    synced = _flush(fd, synced, end)
            try:
                os.fsync(fd)
            except OSError as exc:
                # Delayed allocation can report a full disk only at fsync: nothing of this append is certain.
                if exc.errno not in NO_SPACE_ERRNOS:
                    raise
                os.ftruncate(fd, offset)
                end, stopped, keep_hash = offset, "no_space", False
        finally:
            hasher = background.finish()
            os.close(fd)
        return Appended(end, hasher if keep_hash else None, stopped)

    def commit(self, upload_key: str, sha256: str) -> Path:
        """Move the complete part file into the store under its SHA-256 (or drop it when the store
        already holds those bytes); the directory entry is fsynced. Returns the stored path."""
        target = self.path_for(sha256)
        part = self.part_path(upload_key)
        created = []
        for folder in (target.parent.parent, target.parent):
            if not folder.is_dir():
                folder.mkdir(exist_ok=True)
                created.append(folder)
        if target.exists():
            part.unlink()
        else:
            fd = os.open(part, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.chmod(part, 0o400)
            os.replace(part, target)
            _fsync_dir(target.parent)
        for folder in created:
            _fsync_dir(folder.parent)
        _fsync_dir(self.incoming)
        self.forget(upload_key)
        return target

    def discard(self, upload_key: str) -> None:
        """Delete an upload's part file and lock file (refused, removed, abandoned)."""
        self.part_path(upload_key).unlink(missing_ok=True)
        self.forget(upload_key)

    def forget(self, upload_key: str) -> None:
        (self.incoming / f"{upload_key}.lock").unlink(missing_ok=True)
