"""Check a hand-off bundle against its own manifest, anywhere: no database, no settings (issue 17).

``python -m dashboard evidence verify BUNDLE.zip`` re-hashes every file the manifest lists
(streamed: a 10 GB bundle is read, never loaded), and checks its size, that every listed file is
there, that nothing is in the ZIP that the manifest does not list, that every member's name is safe
to unpack (no absolute paths, no '..', no backslashes or drive letters), and that the manifest
itself is readable. One line per file (OK or what is wrong, naming the file and its exhibit
reference), then a summary; the bundle passes only if every line is OK.

Nothing is unpacked to disk. Reading a listed file stops one byte after the size the manifest
gives, so a crafted member that inflates without end costs no more than the manifest admits.
"""
from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = "manifest.json"
MANIFEST_MAX_BYTES = 64 << 20
CHUNK_BYTES = 1 << 20
_SHA = re.compile(r"^[0-9a-f]{64}$")


class BundleUnreadable(Exception):
    """The bundle cannot be checked at all (not a ZIP, no manifest, a manifest that is not valid)."""


@dataclass(frozen=True)
class Line:
    status: str  # 'OK', 'MISMATCH', 'SIZE', 'MISSING', 'EXTRA', 'UNSAFE', 'DUPLICATE'
    name: str
    exhibit_ref: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    def text(self) -> str:
        what = f"exhibit {self.exhibit_ref}: {self.name}" if self.exhibit_ref else self.name
        return f"{self.status:<9} {what}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class Report:
    bundle: str
    lines: list[Line] = field(default_factory=list)
    case_ref: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.lines) and all(line.ok for line in self.lines)

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for line in self.lines:
            counts[line.status] = counts.get(line.status, 0) + 1
        if self.ok:
            exhibits = sum(1 for line in self.lines if line.exhibit_ref is not None)
            documents = len(self.lines) - exhibits
            return (f"PASSED: {exhibits} exhibit file{'s' * (exhibits != 1)} and {documents} "
                    f"document{'s' * (documents != 1)} in {self.bundle} match its manifest"
                    + (f" (case {self.case_ref})." if self.case_ref else "."))
        problems = ", ".join(f"{n} {status.lower()}" for status, n in sorted(counts.items()) if status != "OK")
        return f"FAILED: {self.bundle} is not as it was exported: {problems}; {counts.get('OK', 0)} ok."


def unsafe_name(name: str) -> str | None:
    """Why a ZIP member's name is unsafe to unpack, or None.

    >>> [unsafe_name(n) for n in ("files/a.mp4", "../x", "/etc/passwd", "a\\\\b", "C:x", "files/../../x")]
    [None, "has a '..' part", 'is an absolute path', 'has a backslash', 'names a drive', "has a '..' part"]
    """
    if not name or "\x00" in name:
        return "is empty or holds a NUL"
    if "\\" in name:
        return "has a backslash"
    if name.startswith("/"):
        return "is an absolute path"
    if re.match(r"^[A-Za-z]:", name):
        return "names a drive"
    if any(part == ".." for part in name.split("/")):
        return "has a '..' part"
    if any(ord(c) < 32 for c in name):
        return "has a control character"
    return None


def _hash_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> tuple[str, int, str | None]:
    """(SHA-256, bytes read, problem) of a member, reading at most ``limit`` + 1 bytes."""
    hasher, size = hashlib.sha256(), 0
    try:
        with z.open(info) as f:
            while size <= limit:
                block = f.read(min(CHUNK_BYTES, limit + 1 - size))
                if not block:
                    break
                hasher.update(block)
                size += len(block)
    except zipfile.BadZipFile as exc:  # the ZIP's own CRC-32 does not match: the bytes were changed
        return hasher.hexdigest(), size, f"its bytes were changed: {exc}"
    except (OSError, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        return hasher.hexdigest(), size, f"cannot be read: {exc}"
    return hasher.hexdigest(), size, None


def _load_manifest(z: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo]) -> dict:
    info = infos.get(MANIFEST)
    if info is None:
        raise BundleUnreadable(f"there is no {MANIFEST} in it, so there is nothing to check the files against")
    if info.file_size > MANIFEST_MAX_BYTES:
        raise BundleUnreadable(f"{MANIFEST} is {info.file_size:,} bytes: not a manifest this registry writes")
    try:
        with z.open(info) as f:
            manifest = json.loads(f.read(MANIFEST_MAX_BYTES + 1).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError) as exc:
        raise BundleUnreadable(f"{MANIFEST} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise BundleUnreadable(f"{MANIFEST} has no list of files")
    for i, entry in enumerate(manifest["files"]):
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str) and isinstance(entry.get("sha256"), str)
                and _SHA.match(entry["sha256"]) and isinstance(entry.get("size_bytes"), int)
                and not isinstance(entry.get("size_bytes"), bool) and entry["size_bytes"] >= 0):
            raise BundleUnreadable(f"{MANIFEST}: file entry {i + 1} lacks a path, a SHA-256 in hex or a size in bytes")
    documents = manifest.get("documents", {})
    if not isinstance(documents, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) and isinstance(v.get("sha256"), str) and _SHA.match(v["sha256"])
            and isinstance(v.get("size_bytes"), int) and not isinstance(v.get("size_bytes"), bool)
            for k, v in documents.items()):
        raise BundleUnreadable(f"{MANIFEST}: its list of documents is not valid")
    return manifest


def verify_bundle(path: Path | str) -> Report:
    """Check the bundle at ``path`` against its manifest (see the module's docstring).
    BundleUnreadable when it cannot be checked at all."""
    path = Path(path)
    report = Report(path.name)
    try:
        z = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BundleUnreadable(f"there is no file {path}") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleUnreadable(f"{path.name} is not a ZIP file ({exc})") from None
    with z:
        infos: dict[str, zipfile.ZipInfo] = {}
        for info in z.infolist():
            why = unsafe_name(info.filename)
            if why:
                report.lines.append(Line("UNSAFE", repr(info.filename), None, f"this member's name {why}"))
            elif info.filename in infos:
                report.lines.append(Line("DUPLICATE", info.filename, None, "two members have this name"))
            else:
                infos[info.filename] = info
        manifest = _load_manifest(z, infos)
        case = manifest.get("case")
        report.case_ref = case.get("case_ref") if isinstance(case, dict) and isinstance(case.get("case_ref"), str) \
            else None
        listed = {MANIFEST}
        wanted = [(e["path"], e["sha256"], e["size_bytes"], str(e.get("exhibit_ref") or "?"))
                  for e in manifest["files"]]
        wanted += [(name, d["sha256"], d["size_bytes"], None) for name, d in manifest.get("documents", {}).items()]
        for name, sha, size, exhibit in wanted:
            if name in listed:
                report.lines.append(Line("DUPLICATE", name, exhibit, "the manifest lists this name twice"))
                continue
            listed.add(name)
            why = unsafe_name(name)
            if why:
                report.lines.append(Line("UNSAFE", repr(name), exhibit, f"the manifest's path {why}"))
                continue
            info = infos.get(name)
            if info is None:
                report.lines.append(Line("MISSING", name, exhibit, "listed in the manifest, not in the ZIP"))
                continue
            found, read, problem = _hash_member(z, info, size)
            if problem:
                report.lines.append(Line("MISMATCH", name, exhibit, problem))
            elif read != size:
                report.lines.append(Line("MISMATCH", name, exhibit, f"longer than the {size:,} bytes the manifest says"
                                         if read > size else f"{read:,} bytes, the manifest says {size:,}"))
            elif found != sha:
                report.lines.append(Line("MISMATCH", name, exhibit, f"SHA-256 {found}, the manifest says {sha}"))
            else:
                report.lines.append(Line("OK", name, exhibit, f"SHA-256 {sha[:16]}…, {size:,} bytes"))
        for name, info in infos.items():
            if name not in listed and not (info.is_dir() and info.file_size == 0):
                report.lines.append(Line("EXTRA", name, None, "in the ZIP but not in the manifest"))
    return report
