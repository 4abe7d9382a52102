"""Signed checkpoints of the audit log, kept outside the database in an append-only file.

A checkpoint states, at a moment: the newest row's id and chain hash, how many rows there were up
to it, and the last row chained before the log was keyed (``unkeyed_through``), all signed with
an HMAC under the audit key. Someone who can change the database but not the file (nor read the
key) can then neither cut rows off the end of the log nor rewrite it, even with the append-only
trigger dropped: the rows no longer match what a checkpoint says.

One JSON object a line, appended under an exclusive ``flock`` and ``fsync``'d, so several server
processes and the command line can append at once without interleaving or losing a line.

>>> cp = append(path, key, last_id=7, last_hash="ab" * 32, count=7, unkeyed_through=0)  # doctest: +SKIP
>>> [c.last_id for c in read(path).checkpoints]  # doctest: +SKIP
[7]
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows; the single write of a short line is then all there is
    fcntl = None

VERSION = 1
_SIGNED = ("v", "last_id", "last_hash", "count", "unkeyed_through", "at")


@dataclass(frozen=True)
class Checkpoint:
    last_id: int
    last_hash: str
    count: int
    unkeyed_through: int
    at: str
    mac: str
    line_no: int = field(default=0, compare=False)

    def payload(self) -> bytes:
        return _payload(self.last_id, self.last_hash, self.count, self.unkeyed_through, self.at)

    def signed_by(self, key: bytes) -> bool:
        return hmac.compare_digest(self.mac, _mac(key, self.payload()))


@dataclass(frozen=True)
class CheckpointFile:
    """What ``read`` found: the checkpoints, and lines that are not checkpoints (plain words)."""

    path: Path
    exists: bool
    checkpoints: tuple[Checkpoint, ...]
    unreadable: tuple[str, ...]


def _payload(last_id: int, last_hash: str, count: int, unkeyed_through: int, at: str) -> bytes:
    values = dict(zip(_SIGNED, (VERSION, last_id, last_hash, count, unkeyed_through, at)))
    return json.dumps(values, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _mac(key: bytes, payload: bytes) -> str:
    return hmac.digest(key, b"ccr audit checkpoint|" + payload, "sha256").hex()


def append(
    path: Path,
    key: bytes,
    *,
    last_id: int,
    last_hash: str,
    count: int,
    unkeyed_through: int,
    at: dt.datetime | None = None,
) -> Checkpoint:
    """Sign a checkpoint with ``key`` and append it to ``path`` as one line (file created 0600)."""
    when = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="seconds")
    payload = _payload(last_id, last_hash, count, unkeyed_through, when)
    line = json.loads(payload)
    line["mac"] = _mac(key, payload)
    data = (json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    return Checkpoint(last_id, last_hash, count, unkeyed_through, when, line["mac"])


def read(path: Path) -> CheckpointFile:
    """Every checkpoint in ``path`` in file order; a line that is not one is described, not skipped silently."""
    if not path.exists():
        return CheckpointFile(path, False, (), ())
    found, bad = [], []
    with open(path, "rb") as src:
        if fcntl is not None:
            fcntl.flock(src.fileno(), fcntl.LOCK_SH)
        text = src.read()
    for n, raw in enumerate(text.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
            cp = Checkpoint(
                int(obj["last_id"]),
                str(obj["last_hash"]),
                int(obj["count"]),
                int(obj["unkeyed_through"]),
                str(obj["at"]),
                str(obj["mac"]),
                n,
            )
            if obj.get("v") != VERSION:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            bad.append(f"line {n} of {path} is not a checkpoint (the file was edited or damaged)")
            continue
        found.append(cp)
    return CheckpointFile(path, True, tuple(found), tuple(bad))
