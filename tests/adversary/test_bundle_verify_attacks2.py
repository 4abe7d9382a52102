"""Second attacker's pass on ``evidence verify`` (issue 17): crafted ZIPs that a tool unpacks into
something other than what verify checked, and manifests that crash it. Hashes are worked out here
from the bytes written; every bundle is made by hand with zipfile."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.evidence.verify import verify_bundle

GOOD = b"the owner's real footage " * 400
EVIL = b"something else entirely!! " * 400


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry(path: str, data: bytes, ref: str = "JO/1") -> dict:
    return {"exhibit_ref": ref, "path": path, "sha256": sha(data), "size_bytes": len(data)}


def write(path: Path, manifest: dict | bytes, members: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    body = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("manifest.json", body)
        for name, data in members:
            z.writestr(name, data)
    return path


def test_two_members_that_unpack_to_the_same_file_do_not_pass(tmp_path):
    """'files/JO-1__a.mp4' and 'files/./JO-1__a.mp4' are different names to verify but one file to
    every unzip tool (Python's own extractall drops the '.' part): the second overwrites the first, so
    the exhibit a recipient opens is EVIL while verify said JO/1 (GOOD) is OK."""
    bundle = write(
        tmp_path / "b.zip",
        {
            "case": {"case_ref": "CR-1"},
            "files": [entry("files/JO-1__a.mp4", GOOD, "JO/1"), entry("files/./JO-1__a.mp4", EVIL, "JO/2")],
        },
        [("files/JO-1__a.mp4", GOOD), ("files/./JO-1__a.mp4", EVIL)],
    )
    out = tmp_path / "out"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(out)
    assert (out / "files" / "JO-1__a.mp4").read_bytes() == EVIL  # what the recipient gets under JO/1's name
    assert not verify_bundle(bundle).ok
    assert main(["evidence", "verify", str(bundle)]) != 0


@pytest.mark.parametrize(
    "other",
    [
        "files/JO-1__A.mp4",  # Windows and macOS: case-insensitive
        "files/JO-1__a.mp4.",  # Windows drops a trailing dot
        "files/JO-1__a.mp4 ",  # ... and a trailing space
        "files//JO-1__a.mp4",  # every unzip drops the empty part
    ],
)
def test_names_that_one_filesystem_takes_for_the_same_file_do_not_pass(tmp_path, other):
    """Names verify takes for two files and a recipient's system for one: the export itself keeps
    paths unique ignoring case (bundle._paths); verify checks only exact duplicates, so the bundle
    passes and, unpacked, one exhibit's name holds the other's bytes."""
    bundle = write(
        tmp_path / "b.zip",
        {"files": [entry("files/JO-1__a.mp4", GOOD, "JO/1"), entry(other, EVIL, "JO/2")]},
        [("files/JO-1__a.mp4", GOOD), (other, EVIL)],
    )
    assert not verify_bundle(bundle).ok


def test_names_differing_only_in_unicode_normal_form_do_not_pass(tmp_path):
    """'café' in NFC and NFD: one file on macOS (APFS/HFS+ normalise names), two to verify."""
    import unicodedata

    nfc, nfd = (unicodedata.normalize(f, "files/JO-1__caf\u00e9.mp4") for f in ("NFC", "NFD"))
    assert nfc != nfd
    bundle = write(
        tmp_path / "b.zip", {"files": [entry(nfc, GOOD, "JO/1"), entry(nfd, EVIL, "JO/2")]}, [(nfc, GOOD), (nfd, EVIL)]
    )
    assert not verify_bundle(bundle).ok


def test_a_symlink_member_does_not_pass(tmp_path):
    """A member stored as a symbolic link (Unix mode 0o120777): its 'content' is the link's target, so
    its hash matches a manifest that lists the target text, verify says OK, and `unzip` (Info-ZIP)
    makes a link pointing anywhere on the recipient's machine instead of a file."""
    target = b"../../../../home/officer/.ssh/authorized_keys"
    info = zipfile.ZipInfo("files/JO-1__a.mp4")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    bundle = write(tmp_path / "b.zip", {"files": [entry("files/JO-1__a.mp4", target)]}, [(info, target)])
    with zipfile.ZipFile(bundle) as z:
        assert stat.S_ISLNK(z.getinfo("files/JO-1__a.mp4").external_attr >> 16)
    assert not verify_bundle(bundle).ok


def test_a_manifest_path_outside_files_does_not_pass(tmp_path):
    """Exhibits live under files/ (bundle.FILES_DIR); a manifest listing an exhibit at the top level
    (next to, or named like, the bundle's own documents) is not one this registry writes."""
    bundle = write(tmp_path / "b.zip", {"files": [entry("run-me.html", EVIL)]}, [("run-me.html", EVIL)])
    assert not verify_bundle(bundle).ok


def test_attack_refused_a_deeply_nested_manifest_fails_without_a_traceback(tmp_path, capsys):
    """A 200 kB manifest of nested lists makes json.loads raise RecursionError; verify_bundle does not
    catch it, but the command's catch-all turns it into 'unexpected failure' and exit 1 (held)."""
    depth = 100_000
    body = b'{"files": [], "x": ' + b"[" * depth + b"]" * depth + b"}"
    bundle = write(tmp_path / "b.zip", body, [])
    try:
        code = main(["evidence", "verify", str(bundle)])
    except SystemExit as exc:
        code = exc.code
    assert code not in (0, None)
    assert "Traceback" not in capsys.readouterr().err


def _stored_local_entries(name: str, data: bytes) -> bytes:
    """The local header and bytes of one stored member (what a streaming unzip reads), no directory."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(name, data)
    raw = buf.getvalue()
    return raw[: raw.rfind(b"PK\x01\x02")]


def test_bytes_outside_every_listed_member_do_not_pass(tmp_path):
    """A member's local header and bytes put before the real ZIP: Python's zipfile (and so verify)
    reads only the central directory and passes the bundle; a streaming unzip (reading local headers
    from the start, as `bsdtar -xf -` or Java's ZipInputStream do) unpacks EVIL as files/JO-1__a.mp4
    first. Verify should refuse a ZIP with bytes no listed member accounts for."""
    genuine = write(
        tmp_path / "g.zip", {"files": [entry("files/JO-1__a.mp4", GOOD)]}, [("files/JO-1__a.mp4", GOOD)]
    ).read_bytes()
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(_stored_local_entries("files/JO-1__a.mp4", EVIL) + genuine)
    assert bundle.read_bytes()[:4] == b"PK\x03\x04" and EVIL in bundle.read_bytes()
    assert not verify_bundle(bundle).ok


def test_attack_refused_a_member_listed_twice_or_two_members_of_one_name_fail(tmp_path):
    both = write(
        tmp_path / "d.zip", {"files": [entry("files/a.mp4", GOOD)]}, [("files/a.mp4", GOOD), ("files/a.mp4", EVIL)]
    )
    assert not verify_bundle(both).ok
    twice = write(
        tmp_path / "t.zip",
        {"files": [entry("files/a.mp4", GOOD), entry("files/a.mp4", GOOD, "JO/2")]},
        [("files/a.mp4", GOOD)],
    )
    assert not verify_bundle(twice).ok and main(["evidence", "verify", str(twice)]) == 1


def test_attack_refused_a_manifest_claiming_more_than_64_mib_is_not_read(tmp_path):
    """The central directory's size for manifest.json is checked before reading; a manifest that
    lies small in the directory but inflates is cut off at the limit (read(MAX+1))."""
    import zlib

    big = b'{"files": [' + b" " * (70 << 20) + b"]}"
    bundle = tmp_path / "m.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", big)
    assert bundle.stat().st_size < 1 << 20 and zlib
    try:
        code = main(["evidence", "verify", str(bundle)])
    except SystemExit as exc:
        code = exc.code
    assert code not in (0, None)


def test_a_member_whose_local_header_gives_more_bytes_than_the_directory_does_not_pass(tmp_path):
    """files/JO-1__a.mp4 is GOOD + TAIL on disk; its local header (what a streaming unzip reads) says
    so, its central directory entry (what Python's zipfile, and verify, read) says len(GOOD) with
    GOOD's CRC-32. verify hashes GOOD and passes; the recipient's streaming tool unpacks GOOD + TAIL,
    a file whose SHA-256 is not the manifest's. Verify should refuse headers that disagree."""
    import struct
    import zlib

    tail = b"spliced-in frames " * 300
    bundle = write(
        tmp_path / "b.zip", {"files": [entry("files/JO-1__a.mp4", GOOD)]}, [("files/JO-1__a.mp4", GOOD + tail)]
    )
    raw = bytearray(bundle.read_bytes())
    name = b"files/JO-1__a.mp4"
    at = raw.find(b"PK\x01\x02")  # the central directory's first entry
    while raw[at + 46 : at + 46 + len(name)] != name:
        at = raw.find(b"PK\x01\x02", at + 4)
    struct.pack_into("<III", raw, at + 16, zlib.crc32(GOOD), len(GOOD), len(GOOD))
    bundle.write_bytes(bytes(raw))
    local = raw.find(b"PK\x03\x04")  # the local headers come first
    while raw[local + 30 : local + 30 + len(name)] != name:
        local = raw.find(b"PK\x03\x04", local + 4)
    assert struct.unpack_from("<I", raw, local + 22)[0] == len(GOOD + tail)  # what a streaming unzip reads
    assert not verify_bundle(bundle).ok
