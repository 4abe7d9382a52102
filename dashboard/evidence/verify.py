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
import struct
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = "manifest.json"
AUDIT_EXTRACT = "audit-extract.json"
EXPORT_ROW = "the export's audit row"
FILES_DIR = "files/"
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
            documents = sum(1 for line in self.lines if line.exhibit_ref is None and line.name != EXPORT_ROW)
            return (
                f"PASSED: {exhibits} exhibit file{'s' * (exhibits != 1)} and {documents} "
                f"document{'s' * (documents != 1)} in {self.bundle} match its manifest"
                + (f" (case {self.case_ref})." if self.case_ref else ".")
            )
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
    parts = name.split("/")
    if any(part == ".." for part in parts):
        return "has a '..' part"
    if any(ord(c) < 32 for c in name):
        return "has a control character"
    if any(part in ("", ".") for part in parts[:-1]) or parts[-1] == ".":
        return "has an empty or '.' part"
    if any(part != part.rstrip(". ") for part in parts if part):
        return "has a part ending in a dot or a space (Windows drops them)"
    return None


def unpack_key(name: str) -> str:
    """What a member's name becomes on the computers it may be unpacked on: one case (Windows, macOS),
    one Unicode form (macOS). Two members with one key would unpack to one file.

    >>> unpack_key("files/A.mp4") == unpack_key("FILES/a.MP4"), unpack_key("caf\u00e9") == unpack_key("cafe\u0301")
    (True, True)
    """
    return unicodedata.normalize("NFC", name).casefold()


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return (info.external_attr >> 16) & 0o170000 == 0o120000


_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIG = b"PK\x03\x04"
_DESCRIPTOR_SIG = b"PK\x07\x08"


def _zip64_sizes(extra: bytes, fields: tuple[int, int]) -> tuple[int, int]:
    """(uncompressed, compressed) sizes from a local header's ZIP64 extra field, where the header says
    0xFFFFFFFF; the header's own values otherwise."""
    usize, csize = fields
    i = 0
    while i + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4 : i + 4 + length]
        if tag == 0x0001:
            j = 0
            if usize == 0xFFFFFFFF and j + 8 <= len(body):
                usize = struct.unpack_from("<Q", body, j)[0]
                j += 8
            if csize == 0xFFFFFFFF and j + 8 <= len(body):
                csize = struct.unpack_from("<Q", body, j)[0]
            break
        i += 4 + length
    return usize, csize


def layout_problems(path: Path, z: zipfile.ZipFile) -> list[str]:
    """What in the ZIP's byte layout a tool that reads it front to back (``unzip -`` from a pipe,
    Java's ZipInputStream, bsdtar) would see differently from its central directory, which this check
    (like Python's zipfile) reads: bytes before, between or after the listed members, a local header
    naming another file or other sizes or CRC than the directory. Empty when the layout is clean."""
    problems: list[str] = []
    infos = sorted(z.infolist(), key=lambda i: i.header_offset)
    expected = 0
    with open(path, "rb") as f:
        for info in infos:
            if info.header_offset != expected:
                problems.append(
                    f"{info.header_offset - expected:+,} bytes before {info.filename!r} that no listed "
                    "member accounts for"
                )
            f.seek(info.header_offset)
            head = f.read(_LOCAL.size)
            if len(head) < _LOCAL.size:
                problems.append(f"{info.filename!r} has no local header")
                break
            sig, _ver, flags, method, _t, _d, crc, csize, usize, nlen, elen = _LOCAL.unpack(head)
            name = f.read(nlen)
            extra = f.read(elen)
            if sig != _LOCAL_SIG:
                problems.append(f"{info.filename!r} has no local header where the directory says")
                break
            local_name = name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
            if local_name != info.orig_filename:
                problems.append(f"{info.filename!r} is called {local_name!r} in its local header")
            if method != info.compress_type:
                problems.append(f"{info.filename!r} is stored another way in its local header")
            data_end = info.header_offset + _LOCAL.size + nlen + elen + info.compress_size
            if flags & 0x08:  # sizes and CRC follow the data, in a data descriptor
                f.seek(data_end)
                tail = f.read(24)
                if tail[:4] == _DESCRIPTOR_SIG:
                    tail, data_end = tail[4:], data_end + 4
                big = (
                    info.compress_size >= 0xFFFFFFFF
                    or info.file_size >= 0xFFFFFFFF
                    or (len(tail) >= 20 and struct.unpack_from("<Q", tail, 4)[0] == info.compress_size)
                )
                fmt = "<IQQ" if big else "<III"
                if len(tail) < struct.calcsize(fmt):
                    problems.append(f"{info.filename!r} has no data descriptor")
                    break
                dcrc, dcsize, dusize = struct.unpack_from(fmt, tail)
                data_end += struct.calcsize(fmt)
                if (dcrc, dcsize, dusize) != (info.CRC, info.compress_size, info.file_size):
                    problems.append(f"{info.filename!r}'s data descriptor gives other sizes or CRC than the directory")
            else:
                usize, csize = _zip64_sizes(extra, (usize, csize))
                if (crc, csize, usize) != (info.CRC, info.compress_size, info.file_size):
                    problems.append(
                        f"{info.filename!r}'s local header gives other sizes or CRC than the directory "
                        f"({usize:,} bytes, the directory {info.file_size:,})"
                    )
            expected = data_end
    if z.start_dir != expected:
        problems.append(
            f"{z.start_dir - expected:+,} bytes between the last member and the directory that no "
            "listed member accounts for"
        )
    return problems


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
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("path"), str)
            and isinstance(entry.get("sha256"), str)
            and _SHA.match(entry["sha256"])
            and isinstance(entry.get("size_bytes"), int)
            and not isinstance(entry.get("size_bytes"), bool)
            and entry["size_bytes"] >= 0
        ):
            raise BundleUnreadable(f"{MANIFEST}: file entry {i + 1} lacks a path, a SHA-256 in hex or a size in bytes")
    documents = manifest.get("documents", {})
    if not isinstance(documents, dict) or not all(
        isinstance(k, str)
        and isinstance(v, dict)
        and isinstance(v.get("sha256"), str)
        and _SHA.match(v["sha256"])
        and isinstance(v.get("size_bytes"), int)
        and not isinstance(v.get("size_bytes"), bool)
        for k, v in documents.items()
    ):
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
        keys: dict[str, str] = {}
        for info in z.infolist():
            why = unsafe_name(info.filename)
            if why:
                report.lines.append(Line("UNSAFE", repr(info.filename), None, f"this member's name {why}"))
            elif _is_symlink(info):
                report.lines.append(Line("UNSAFE", repr(info.filename), None, "this member is a symbolic link"))
            elif info.filename in infos:
                report.lines.append(Line("DUPLICATE", info.filename, None, "two members have this name"))
            elif unpack_key(info.filename) in keys:
                report.lines.append(
                    Line(
                        "DUPLICATE",
                        info.filename,
                        None,
                        f"unpacks to the same file as {keys[unpack_key(info.filename)]!r} on some computers",
                    )
                )
            else:
                infos[info.filename] = info
                keys[unpack_key(info.filename)] = info.filename
        try:
            layout = layout_problems(path, z)
        except (OSError, struct.error, ValueError) as exc:
            layout = [f"its layout cannot be read ({exc})"]
        for problem in layout:
            report.lines.append(Line("HIDDEN", path.name, None, problem))
        manifest = _load_manifest(z, infos)
        case = manifest.get("case")
        report.case_ref = (
            case.get("case_ref") if isinstance(case, dict) and isinstance(case.get("case_ref"), str) else None
        )
        listed = {MANIFEST}
        wanted = [
            (e["path"], e["sha256"], e["size_bytes"], str(e.get("exhibit_ref") or "?")) for e in manifest["files"]
        ]
        for e in manifest["files"]:
            if not e["path"].startswith(FILES_DIR):
                report.lines.append(
                    Line(
                        "UNSAFE",
                        repr(e["path"]),
                        str(e.get("exhibit_ref") or "?"),
                        f"an exhibit listed outside {FILES_DIR}",
                    )
                )
        wanted += [(name, d["sha256"], d["size_bytes"], None) for name, d in manifest.get("documents", {}).items()]
        for name, sha, size, exhibit in wanted:
            if name in listed or unpack_key(name) in {unpack_key(n) for n in listed}:
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
                report.lines.append(
                    Line(
                        "MISMATCH",
                        name,
                        exhibit,
                        f"longer than the {size:,} bytes the manifest says"
                        if read > size
                        else f"{read:,} bytes, the manifest says {size:,}",
                    )
                )
            elif found != sha:
                report.lines.append(Line("MISMATCH", name, exhibit, f"SHA-256 {found}, the manifest says {sha}"))
            else:
                report.lines.append(Line("OK", name, exhibit, f"SHA-256 {sha[:16]}…, {size:,} bytes"))
        for name, info in infos.items():
            if name not in listed and not (info.is_dir() and info.file_size == 0):
                report.lines.append(Line("EXTRA", name, None, "in the ZIP but not in the manifest"))
        report.lines.extend(_export_row_lines(z, infos, manifest))
    return report


def _export_row_lines(z: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], manifest: dict) -> list[Line]:
    """The bundle's own witness: the export's audit row (in audit-extract.json, with its keyed row hash
    from the registry's tamper-evident log) lists the SHA-256 of every exhibit as exported. An exhibit
    swapped with its manifest rewritten no longer agrees with it. (Whoever also rewrites the row breaks
    its row hash, which only the force's auditor can check against the log: ``audit verify``.)"""
    export = manifest.get("export") if isinstance(manifest.get("export"), dict) else {}
    row_id = export.get("audit_row_id")
    info = infos.get(AUDIT_EXTRACT)
    if row_id is None or info is None or info.file_size > MANIFEST_MAX_BYTES:
        return [
            Line("MISMATCH", EXPORT_ROW, None, "it is not in the bundle, so the exhibits cannot be checked against it")
        ]
    try:
        with z.open(info) as f:
            extract = json.loads(f.read(MANIFEST_MAX_BYTES + 1).decode("utf-8"))
        [row] = [r for r in extract["rows"] if isinstance(r, dict) and r.get("id") == row_id]
        logged = sorted((str(x["file_id"]), str(x["sha256"])) for x in row["detail"]["files"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, zipfile.BadZipFile, OSError, RecursionError):
        return [Line("MISMATCH", EXPORT_ROW, None, f"row {row_id} is missing from {AUDIT_EXTRACT} or unreadable")]
    listed = sorted((str(e.get("file_id")), e["sha256"]) for e in manifest["files"])
    if logged != listed:
        return [
            Line(
                "MISMATCH",
                EXPORT_ROW,
                None,
                f"row {row_id} names other exhibits or other SHA-256 than the "
                "manifest: the files or the manifest were changed",
            )
        ]
    return [Line("OK", EXPORT_ROW, None, f"row {row_id} names every exhibit with the SHA-256 the manifest gives")]
