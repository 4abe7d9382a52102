"""What an uploaded file is, decided by its content (never by its name or the Content-Type sent).

Accepted, each with a summary kept as the file's ``media`` JSON:

- **video** that PyAV (ffmpeg's libraries) opens as one of the containers cameras and DVRs write
  (MP4/MOV, Matroska/WebM, AVI, MPEG-TS/PS, ASF/WMV, FLV, raw H.264/H.265 streams, Dahua DAV, IVF,
  MJPEG) with a video stream: container, codec, duration, width and height, frame rate, and the
  recording time embedded in its metadata (``creation_time``) where there is one. Every packet is
  read (demuxed, not decoded) to prove the file is whole: a file that cannot be opened, that fails
  part-way, whose packets point past its end, or whose packets end well short of the duration it
  declares (an MP4 cut in half) is refused as incomplete.
- **image**: JPEG, PNG, GIF, WebP, BMP, TIFF by their magic bytes, opened by PyAV for the
  dimensions; HEIC/HEIF/AVIF by their ``ftyp`` brand (PyAV's ffmpeg has no HEIF reader, so their
  dimensions are left unknown).
- **DVR export archive**: a ZIP, inspected through its central directory only (nothing is
  extracted). Refused: more than ``ZIP_MAX_ENTRIES`` entries; more than ``max_unpacked_bytes`` in
  all when unpacked; a compression ratio over ``ZIP_MAX_RATIO``:1 (overall, or for any member over
  1 MiB); members whose data overlap (the "overlapping files" bomb); a password-protected member
  (its content cannot be checked); an archive inside (by name or by content); a program inside (by
  name or content: DVR exports often carry a Windows player, which must be left out). Every member
  must be footage (a video or proprietary DVR extension: ``FOOTAGE_EXTENSIONS``), an image, or a
  small side file (``SIDE_FILE_EXTENSIONS``, up to 1 MiB: the export's index, log or checksum);
  at least one must be footage. Proprietary formats cannot all be checked, so within an archive
  the member's name decides which it is; its first bytes are still checked for programs.

Refused whatever its name: programs (Windows MZ/PE, ELF, Mach-O, Java class, scripts starting
``#!``, WebAssembly, Android DEX, Windows installers/OLE), anything else unknown, and empty files.
Each refusal is a ``Refused`` with a plain-English message for the owner (at most 300 characters).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import av

MAX_MESSAGE = 300
ZIP_MAX_ENTRIES = 2000
ZIP_MAX_RATIO = 100
SIDE_FILE_MAX_BYTES = 1 << 20
# A video whose packets end this much short of the duration it declares is incomplete.
SHORT_FRACTION = 0.95
SHORT_SLACK_S = 0.5

FOOTAGE_EXTENSIONS = frozenset(
    {
        ".dav",
        ".264",
        ".h264",
        ".265",
        ".h265",
        ".hevc",
        ".avi",
        ".mp4",
        ".m4v",
        ".mov",
        ".mkv",
        ".webm",
        ".ts",
        ".mts",
        ".m2ts",
        ".mpg",
        ".mpeg",
        ".ps",
        ".asf",
        ".wmv",
        ".flv",
        ".3gp",
        ".ivf",
        ".mjpg",
        ".mjpeg",
        ".dvr",
        ".irf",
        ".sec",
        ".g64",
        ".g64x",
        ".vvf",
        ".nvr",
        ".hik",
        ".mp5",
        ".av",
        ".lvf",
    }
)
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".heic", ".heif"})
SIDE_FILE_EXTENSIONS = frozenset(
    {
        ".txt",
        ".xml",
        ".json",
        ".csv",
        ".ini",
        ".log",
        ".md5",
        ".sha1",
        ".sha256",
        ".idx",
        ".nfo",
        ".htm",
        ".html",
        ".pdf",
        ".sig",
        ".dat",
    }
)
PROGRAM_EXTENSIONS = frozenset(
    {
        ".exe",
        ".dll",
        ".com",
        ".scr",
        ".msi",
        ".msp",
        ".bat",
        ".cmd",
        ".ps1",
        ".vbs",
        ".vbe",
        ".js",
        ".jse",
        ".wsf",
        ".hta",
        ".jar",
        ".class",
        ".sh",
        ".bash",
        ".py",
        ".pl",
        ".rb",
        ".app",
        ".apk",
        ".dex",
        ".lnk",
        ".cpl",
        ".sys",
        ".drv",
        ".ocx",
        ".so",
        ".dylib",
        ".elf",
        ".run",
        ".deb",
        ".rpm",
        ".dmg",
        ".pkg",
        ".wasm",
    }
)
ARCHIVE_EXTENSIONS = frozenset(
    {".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".cab", ".iso", ".lz", ".lzma", ".z", ".arj"}
)

# Containers a camera or DVR writes (PyAV's format names); anything else ffmpeg happens to read
# (text shown as ANSI art, raw audio, subtitles) is not footage.
VIDEO_FORMATS = frozenset(
    {
        "mov,mp4,m4a,3gp,3g2,mj2",
        "matroska,webm",
        "avi",
        "mpegts",
        "mpeg",
        "mpegvideo",
        "asf",
        "flv",
        "h264",
        "hevc",
        "dhav",
        "ivf",
        "mjpeg",
        "m4v",
        "nut",
        "ogg",
        "mxf",
        "wtv",
        "h261",
        "h263",
        "cavsvideo",
    }
)


class Refused(Exception):
    """The file is not kept: ``reason`` a short code (audit), ``message`` the owner's explanation."""

    def __init__(self, reason: str, message: str) -> None:
        message = message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass
class Media:
    kind: str  # 'video', 'image' or 'archive'
    summary: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"kind": self.kind, **self.summary}


# --------------------------------------------------------------------------- content signatures


def program_kind(head: bytes) -> str | None:
    """What kind of program ``head`` (a file's first bytes) starts, or None.

    >>> program_kind(b"MZ\\x90\\x00"), program_kind(b"\\x7fELF\\x02"), program_kind(b"#!/bin/sh")
    ('a Windows program', 'a Linux program', 'a script')
    >>> program_kind(b"\\x00\\x00\\x00\\x18ftypmp42") is None
    True
    """
    if head[:2] == b"MZ":
        return "a Windows program"
    if head[:4] == b"\x7fELF":
        return "a Linux program"
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"):
        return "a Mac program"
    if head[:4] == b"\xca\xfe\xba\xbe":
        return "a program (Java class or Mac universal binary)"
    if head[:2] == b"#!" or head[:5] == b"\xef\xbb\xbf#!":
        return "a script"
    if head[:4] == b"\x00asm":
        return "a WebAssembly program"
    if head[:4] == b"dex\n":
        return "an Android program"
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "a Windows installer or Office document"
    return None


def archive_kind(head: bytes) -> str | None:
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "ZIP"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:6] == b"7z\xbc\xaf\x27\x1c":
        return "7-Zip"
    if head[:4] == b"Rar!":
        return "RAR"
    if head[:3] == b"BZh":
        return "bzip2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:4] == b"MSCF":
        return "CAB"
    if head[257:262] == b"ustar":
        return "tar"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    return None


def image_kind(head: bytes) -> str | None:
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and len(head) >= 26 and int.from_bytes(head[2:6], "little") > 26:
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp" and head[8:12] in (
        b"heic",
        b"heix",
        b"heim",
        b"heis",
        b"hevc",
        b"hevx",
        b"mif1",
        b"msf1",
        b"avif",
        b"avis",
    ):
        return "heif"
    return None


# --------------------------------------------------------------------------- probing


def probe(path: Path | str, *, max_unpacked_bytes: int) -> Media:
    """What the file at ``path`` is (``Media``), or ``Refused`` saying why it is not kept."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise Refused(
            "empty",
            "The file is empty (0 bytes). Choose the file again: it may not have been saved or copied properly.",
        )
    with open(path, "rb") as f:
        head = f.read(4096)
    kind = program_kind(head)
    if kind:
        raise Refused(
            "program",
            f"This file is {kind}, not footage, so it cannot be accepted (whatever its "
            "name). Send the video or photo files themselves.",
        )
    image = image_kind(head)
    if image:
        _refuse_hidden_archive(path)
        return _image(path, image)
    archive = archive_kind(head)
    if archive == "ZIP":
        return _zip(path, size, max_unpacked_bytes)
    if archive:
        raise Refused(
            "archive_kind",
            f"This is a {archive} archive. Only ZIP archives (as DVRs export) can be "
            "accepted: send the video files themselves, or a ZIP of them.",
        )
    _refuse_hidden_archive(path)
    return _video(path, size, head)


def _escapes(member: str) -> bool:
    """A ZIP member's name that would land outside the folder it is unpacked in (zip-slip):
    absolute (/..., \\...), a drive (C:), or a '..' part, with either slash."""
    name = member.replace("\\", "/")
    return name.startswith("/") or bool(re.match(r"^[A-Za-z]:", name)) or ".." in name.split("/")


def _refuse_hidden_archive(path: Path) -> None:
    """A picture or video that is also a ZIP (a polyglot: an archive appended to an image) is refused:
    what it carries would pass no archive check, and a program could travel inside it."""
    try:
        hidden = zipfile.is_zipfile(path)
    except OSError:
        hidden = False
    if hidden:
        raise Refused(
            "hidden_archive",
            "This picture or video has an archive hidden inside it, so it cannot be "
            "accepted. Send the picture or video as your camera saved it.",
        )


def _image(path: Path, kind: str) -> Media:
    summary: dict = {"format": kind, "width": None, "height": None}
    try:
        with av.open(str(path), mode="r") as container:
            stream = next(iter(container.streams.video), None)
            if stream is not None:
                summary["width"], summary["height"] = (
                    stream.codec_context.width or None,
                    stream.codec_context.height or None,
                )
            summary["recorded_at"] = _recorded_at(container.metadata, *(s.metadata for s in container.streams))
            if stream is not None and kind != "heif":
                frame = next(container.decode(stream), None)  # a damaged image does not decode
                if frame is None:
                    raise av.error.InvalidDataError(0, "no picture")
                summary["width"], summary["height"] = frame.width, frame.height
    except (av.error.FFmpegError, OSError, StopIteration, ValueError) as exc:
        if kind != "heif":
            raise Refused(
                "damaged_image",
                "This picture could not be read: it may be incomplete or damaged. Try saving or copying it again.",
            ) from exc
    if summary.get("recorded_at") is None:
        summary.pop("recorded_at", None)
    return Media("image", summary)


def _recorded_at(*metadata: dict) -> str | None:
    """The recording time a file carries (``creation_time``), as ISO 8601 in UTC, or None."""
    for meta in metadata:
        raw = (meta or {}).get("creation_time") or (meta or {}).get("date")
        if not raw:
            continue
        try:
            when = dt.datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
        except ValueError:
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        if when.year <= 1970:  # an unset camera clock writes the epoch
            continue
        return when.astimezone(dt.UTC).isoformat(timespec="seconds")
    return None


NOT_FOOTAGE = (
    "This file is not a video, a photo or a DVR export (ZIP) that can be recognised, so it cannot be "
    "accepted. Send the video files as your camera or its app saves them."
)
INCOMPLETE = "This video is incomplete or damaged (it {why}). Copy or export it again and send the new copy."


def video_container_kind(head: bytes) -> str | None:
    """The video container ``head`` starts like, or None (used only to word a refusal).

    >>> video_container_kind(b"\\x00\\x00\\x00 ftypisom"), video_container_kind(b"RIFF\\x00\\x00\\x00\\x00AVI LIST")
    ('MP4', 'AVI')
    """
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free"):
        return "MP4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "Matroska"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if head[:4] == b"\x30\x26\xb2\x75":
        return "ASF"
    if head[:3] == b"FLV":
        return "FLV"
    if head[:4] == b"DHAV":
        return "DAV"
    return None


class _Reader(io.RawIOBase):
    """The file for PyAV to read, given as a file object (so ffmpeg sees the content only, never a
    name to guess from), in large reads, dropping what it has read from the page cache as it goes:
    probing a 2 GB video then holds a few MiB of cache, not 2 GB."""

    DROP_BYTES = 16 << 20

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.fd = os.open(path, os.O_RDONLY)
        self.dropped = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = os.readv(self.fd, [buffer])
        pos = os.lseek(self.fd, 0, os.SEEK_CUR)
        if pos - self.dropped >= self.DROP_BYTES:
            os.posix_fadvise(self.fd, self.dropped, pos - self.dropped, os.POSIX_FADV_DONTNEED)
            self.dropped = pos
        return n

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        pos = os.lseek(self.fd, offset, whence)
        self.dropped = min(self.dropped, pos)
        return pos

    def tell(self) -> int:
        return os.lseek(self.fd, 0, os.SEEK_CUR)

    def close(self) -> None:
        if not self.closed:
            os.close(self.fd)
        super().close()


def _video(path: Path, size: int, head: bytes) -> Media:
    if head[:4] == b"RIFF" and head[8:12] == b"AVI " and int.from_bytes(head[4:8], "little") + 8 > size:
        raise Refused("incomplete", INCOMPLETE.format(why="is shorter than its header says"))
    reader = _Reader(path)
    try:
        container = av.open(reader, mode="r", buffer_size=1 << 20)
    except (av.error.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        # An MP4 cut short loses the index at its end ("moov atom not found"): it starts like a
        # video but does not open.
        if video_container_kind(head):
            raise Refused("incomplete", INCOMPLETE.format(why="could not be opened")) from exc
        raise Refused("unknown", NOT_FOOTAGE) from exc
    finally:
        if "container" not in locals():
            reader.close()
    with container, reader:
        fmt = container.format.name
        streams = list(container.streams.video)
        if fmt not in VIDEO_FORMATS or not streams:
            raise Refused("unknown", NOT_FOOTAGE)
        stream = streams[0]
        ctx = stream.codec_context
        if not ctx.name or not (ctx.width and ctx.height):
            raise Refused("incomplete", INCOMPLETE.format(why="has no readable picture"))
        declared = _declared_duration(container, stream)
        packets, end_s, start_s = 0, None, None
        tb = stream.time_base
        try:
            for packet in container.demux(stream):
                if packet.size == 0 and packet.pts is None:
                    continue  # the flushing packet at the end
                packets += 1
                if packet.pos is not None and packet.pos >= 0 and packet.pos + packet.size > size:
                    raise Refused("incomplete", INCOMPLETE.format(why="ends before the end of its last frame"))
                ts = packet.pts if packet.pts is not None else packet.dts
                if ts is not None and tb is not None:
                    t0 = float(ts * tb)
                    t1 = float((ts + (packet.duration or 0)) * tb)
                    start_s = t0 if start_s is None else min(start_s, t0)
                    end_s = t1 if end_s is None else max(end_s, t1)
        except av.error.FFmpegError as exc:
            raise Refused("incomplete", INCOMPLETE.format(why="stops part-way through")) from exc
        if packets == 0:
            raise Refused("incomplete", INCOMPLETE.format(why="holds no pictures"))
        seen = (end_s - start_s) if end_s is not None and start_s is not None else None
        if stream.frames and packets < stream.frames * SHORT_FRACTION - 2:
            raise Refused(
                "incomplete", INCOMPLETE.format(why=f"holds {packets} of the {stream.frames} pictures it should have")
            )
        if declared and seen is not None and seen < declared * SHORT_FRACTION - SHORT_SLACK_S:
            raise Refused(
                "incomplete", INCOMPLETE.format(why=f"ends after {seen:.1f} s of the {declared:.1f} s it should last")
            )
        rate = stream.average_rate or stream.guessed_rate
        summary = {
            "container": _container_name(fmt, ctx.name),
            "codec": ctx.name,
            "duration_s": round(declared if declared else (seen or 0.0), 3),
            "width": ctx.width,
            "height": ctx.height,
            "frame_rate": round(float(rate), 3) if rate else None,
            "frames": packets,
            "audio": bool(container.streams.audio),
        }
        recorded = _recorded_at(container.metadata, *(s.metadata for s in container.streams))
        if recorded:
            summary["recorded_at"] = recorded
    return Media("video", summary)


def _container_name(fmt: str, codec: str) -> str:
    """A short name for PyAV's format name.

    >>> _container_name("mov,mp4,m4a,3gp,3g2,mj2", "h264"), _container_name("matroska,webm", "vp9")
    ('mp4', 'webm')
    >>> _container_name("matroska,webm", "h264"), _container_name("avi", "mjpeg")
    ('matroska', 'avi')
    """
    if fmt.startswith("mov,"):
        return "mp4"
    if fmt == "matroska,webm":
        return "webm" if codec in ("vp8", "vp9", "av1") else "matroska"
    return fmt


def _declared_duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


# --------------------------------------------------------------------------- ZIP archives (DVR exports)


def _zip(path: Path, size: int, max_unpacked_bytes: int) -> Media:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise Refused(
            "damaged_archive",
            "This ZIP archive could not be read: it may be incomplete or damaged. Export or copy it again.",
        ) from exc
    with archive:
        members = archive.infolist()
        if len(members) > ZIP_MAX_ENTRIES:
            raise Refused(
                "zip_bomb",
                f"This archive holds {len(members)} files; at most {ZIP_MAX_ENTRIES} can be "
                "accepted. Send the video files themselves.",
            )
        files = [m for m in members if not m.is_dir()]
        total = sum(m.file_size for m in files)
        if total > max_unpacked_bytes:
            raise Refused(
                "zip_bomb",
                f"This archive would unpack to {_size(total)}, more than the "
                f"{_size(max_unpacked_bytes)} allowed. Send the video files themselves.",
            )
        if total > (1 << 20) and total > ZIP_MAX_RATIO * max(size, 1):
            raise Refused(
                "zip_bomb",
                "This archive unpacks to far more than its own size (a 'zip bomb'), so it "
                "cannot be accepted. Send the video files themselves.",
            )
        spans = []
        footage = images = 0
        for m in files:
            if _escapes(m.filename):
                raise Refused(
                    "archive_paths",
                    f"'{m.filename[:60]}' in this archive would be unpacked outside its "
                    "folder (an absolute path, a drive or '..'), so the archive cannot be "
                    "accepted. Export it again from the recorder.",
                )
            name = PurePosixPath(m.filename.replace("\\", "/")).name or m.filename
            if m.file_size > (1 << 20) and m.file_size > ZIP_MAX_RATIO * max(m.compress_size, 1):
                raise Refused(
                    "zip_bomb",
                    f"'{name[:60]}' in this archive unpacks to far more than its own size "
                    "(a 'zip bomb'), so the archive cannot be accepted.",
                )
            spans.append(
                (m.header_offset, m.header_offset + 30 + len(m.filename.encode("utf-8", "replace")) + m.compress_size)
            )
            if m.flag_bits & 0x1:
                raise Refused(
                    "encrypted",
                    "This archive is password-protected, so what is in it cannot be checked. "
                    "Export it again without a password.",
                )
            ext = PurePosixPath(name.lower()).suffix
            if stat.S_ISLNK(m.external_attr >> 16):
                raise Refused("archive_link", "This archive holds a link to another file; send the files themselves.")
            if ext in PROGRAM_EXTENSIONS:
                raise Refused(
                    "program",
                    f"This archive holds a program ('{name[:60]}'). DVR exports often include "
                    "a player: export the footage without it, or send the video files on "
                    "their own.",
                )
            if ext in ARCHIVE_EXTENSIONS:
                raise Refused(
                    "nested_archive",
                    f"This archive holds another archive ('{name[:60]}'). Send the "
                    "files inside it directly, in one ZIP at most.",
                )
            head = _member_head(archive, m)
            kind = program_kind(head)
            if kind:
                raise Refused(
                    "program",
                    f"'{name[:60]}' in this archive is {kind}, whatever its name, so the archive cannot be accepted.",
                )
            inner = archive_kind(head)
            if inner:
                raise Refused(
                    "nested_archive",
                    f"'{name[:60]}' in this archive is itself a {inner} archive. Send "
                    "the files inside it directly, in one ZIP at most.",
                )
            if ext in FOOTAGE_EXTENSIONS:
                footage += 1
            elif ext in IMAGE_EXTENSIONS or image_kind(head):
                images += 1
            elif ext in SIDE_FILE_EXTENSIONS and m.file_size <= SIDE_FILE_MAX_BYTES:
                pass
            else:
                raise Refused(
                    "archive_content",
                    f"'{name[:60]}' in this archive is not a video, a photo or a DVR "
                    "export file. Send an archive with footage files only.",
                )
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:]):
            if start < end:
                raise Refused(
                    "zip_bomb",
                    "The files in this archive overlap one another (a 'zip bomb'), so it cannot be accepted.",
                )
        if footage == 0:
            raise Refused(
                "archive_content",
                "This archive holds no video or DVR footage files. Send the footage files, or a ZIP export of them.",
            )
    return Media(
        "archive",
        {"container": "zip", "files": len(files), "footage_files": footage, "images": images, "unpacked_bytes": total},
    )


def _member_head(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    """The first bytes of a member (only those are decompressed)."""
    try:
        with archive.open(member) as f:
            return f.read(512)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, ValueError, EOFError) as exc:
        raise Refused(
            "damaged_archive",
            f"'{member.filename[:60]}' in this archive could not be read (damaged, or "
            "compressed in a way that cannot be checked). Export it again.",
        ) from exc


def _size(n: int) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GB"
    return f"{n / (1 << 20):.0f} MB"
