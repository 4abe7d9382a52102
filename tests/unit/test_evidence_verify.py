"""``evidence verify`` on bundles made by hand here (zipfile), with hashes worked out here: it needs no
database, passes only an untouched bundle, and names what is wrong otherwise."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.evidence.verify import BundleUnreadable, verify_bundle

A = b"front door footage " * 1000
B = b"\x00\x01garden" * 500
SHA_A = hashlib.sha256(A).hexdigest()
SHA_B = hashlib.sha256(B).hexdigest()
NOTE = b"a document"


# The export's audit row as the registry logs it (evidence_exported, detail.files) and the bundle carries it.
EXTRACT = json.dumps(
    {
        "rows": [
            {
                "id": 7,
                "action": "evidence_exported",
                "detail": {
                    "files": [
                        {"file_id": "EVF-AAAAAAAA", "sha256": SHA_A},
                        {"file_id": "EVF-BBBBBBBB", "sha256": SHA_B},
                    ]
                },
            }
        ]
    }
).encode()


def manifest(**changes) -> dict:
    m = {
        "format": "ccr-evidence-bundle/1",
        "case": {"case_ref": "CR-1"},
        "export": {"audit_row_id": 7},
        "files": [
            {
                "exhibit_ref": "JO/1",
                "file_id": "EVF-AAAAAAAA",
                "path": "files/JO-1__a.mp4",
                "sha256": SHA_A,
                "size_bytes": len(A),
            },
            {
                "exhibit_ref": "JO/2",
                "file_id": "EVF-BBBBBBBB",
                "path": "files/JO-2__b.dav",
                "sha256": SHA_B,
                "size_bytes": len(B),
            },
        ],
        "documents": {
            "request.json": {"sha256": hashlib.sha256(NOTE).hexdigest(), "size_bytes": len(NOTE)},
            "audit-extract.json": {"sha256": hashlib.sha256(EXTRACT).hexdigest(), "size_bytes": len(EXTRACT)},
        },
    }
    m.update(changes)
    return m


def make(path: Path, members: dict[str, bytes] | None = None, man: dict | bytes | None = None) -> Path:
    members = {"files/JO-1__a.mp4": A, "files/JO-2__b.dav": B, "request.json": NOTE} if members is None else members
    members = {**members, "audit-extract.json": EXTRACT}
    body = man if isinstance(man, bytes) else json.dumps(man if man is not None else manifest()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("manifest.json", body)
        for name, data in members.items():
            z.writestr(name, data)
    return path


def statuses(path: Path) -> list[tuple[str, str, str | None]]:
    """The lines of the files and documents (the export row's own line and document are tested apart)."""
    return [
        (line.status, line.name, line.exhibit_ref)
        for line in verify_bundle(path).lines
        if line.name not in ("the export's audit row", "audit-extract.json")
    ]


def test_exhibits_swapped_with_their_manifest_rewritten_disagree_with_the_export_row(tmp_path):
    other = b"another recording altogether" * 100
    sha = hashlib.sha256(other).hexdigest()
    files = manifest()["files"]
    files[0] = {**files[0], "sha256": sha, "size_bytes": len(other)}
    path = make(
        tmp_path / "swapped.zip",
        {"files/JO-1__a.mp4": other, "files/JO-2__b.dav": B, "request.json": NOTE},
        manifest(files=files),
    )
    lines = verify_bundle(path).lines
    assert [line.status for line in lines if line.name != "the export's audit row"] == ["OK"] * 4
    assert [line.status for line in lines if line.name == "the export's audit row"] == ["MISMATCH"]
    assert not verify_bundle(path).ok


def test_an_untouched_bundle_passes(tmp_path, capsys):
    path = make(tmp_path / "ok.zip")
    report = verify_bundle(path)
    assert report.ok and statuses(path) == [
        ("OK", "files/JO-1__a.mp4", "JO/1"),
        ("OK", "files/JO-2__b.dav", "JO/2"),
        ("OK", "request.json", None),
    ]
    assert main(["evidence", "verify", str(path)]) == 0
    # (the documents: request.json and the audit extract; the export's row is checked, not counted)
    assert (
        "PASSED: 2 exhibit files and 2 documents in ok.zip match its manifest (case CR-1)." in capsys.readouterr().out
    )


def test_one_changed_byte_fails_naming_the_file_and_exhibit(tmp_path, capsys):
    changed = bytearray(B)
    changed[10] ^= 1
    path = make(tmp_path / "x.zip", {"files/JO-1__a.mp4": A, "files/JO-2__b.dav": bytes(changed), "request.json": NOTE})
    assert statuses(path)[1] == ("MISMATCH", "files/JO-2__b.dav", "JO/2")
    assert main(["evidence", "verify", str(path)]) == 1
    out = capsys.readouterr()
    assert (
        f"MISMATCH  exhibit JO/2: files/JO-2__b.dav (SHA-256 {hashlib.sha256(bytes(changed)).hexdigest()}, "
        f"the manifest says {SHA_B})" in out.out
    )
    assert "OK        exhibit JO/1: files/JO-1__a.mp4" in out.out
    assert "FAILED: x.zip is not as it was exported: 1 mismatch; 4 ok." in out.err


def test_a_changed_hash_in_the_manifest_fails(tmp_path):
    m = manifest()
    m["files"][0]["sha256"] = "0" * 64
    assert statuses(make(tmp_path / "m.zip", man=m))[0] == ("MISMATCH", "files/JO-1__a.mp4", "JO/1")


def test_a_different_size_fails(tmp_path):
    m = manifest()
    m["files"][1]["size_bytes"] = len(B) + 5
    m["files"][1]["sha256"] = SHA_B
    m["files"][0]["size_bytes"] = len(A) - 1
    first, second, *_ = verify_bundle(make(tmp_path / "s.zip", man=m)).lines
    assert (first.status, first.detail) == ("MISMATCH", "longer than the 18,999 bytes the manifest says")
    assert (second.status, second.detail) == ("MISMATCH", "4,000 bytes, the manifest says 4,005")


def test_an_extra_file_a_missing_file_and_an_unsafe_name_fail(tmp_path):
    extra = make(
        tmp_path / "e.zip",
        {"files/JO-1__a.mp4": A, "files/JO-2__b.dav": B, "request.json": NOTE, "files/planted.mp4": b"x"},
    )
    assert ("EXTRA", "files/planted.mp4", None) in statuses(extra) and not verify_bundle(extra).ok
    missing = make(tmp_path / "m.zip", {"files/JO-1__a.mp4": A, "request.json": NOTE})
    assert ("MISSING", "files/JO-2__b.dav", "JO/2") in statuses(missing) and not verify_bundle(missing).ok
    unsafe = make(
        tmp_path / "u.zip",
        {"files/JO-1__a.mp4": A, "files/JO-2__b.dav": B, "request.json": NOTE, "../evil.sh": b"rm -rf"},
    )
    assert ("UNSAFE", "'../evil.sh'", None) in statuses(unsafe) and not verify_bundle(unsafe).ok
    m = manifest()
    m["files"][1]["path"] = "../files/JO-2__b.dav"
    listed = make(tmp_path / "l.zip", man=m)
    assert ("UNSAFE", "'../files/JO-2__b.dav'", "JO/2") in statuses(listed)


def test_a_bundle_that_cannot_be_checked_says_why_and_exits_2(tmp_path, capsys):
    not_zip = tmp_path / "n.zip"
    not_zip.write_bytes(b"PK not really")
    with pytest.raises(BundleUnreadable, match="not a ZIP"):
        verify_bundle(not_zip)
    with pytest.raises(BundleUnreadable, match="not valid JSON"):
        verify_bundle(make(tmp_path / "j.zip", man=b"{not json"))
    with pytest.raises(BundleUnreadable, match="lacks a path, a SHA-256"):
        verify_bundle(make(tmp_path / "h.zip", man=manifest(files=[{"path": "a", "sha256": "xyz", "size_bytes": 1}])))
    with pytest.raises(BundleUnreadable, match=r"no manifest\.json"):
        with zipfile.ZipFile(tmp_path / "none.zip", "w") as z:
            z.writestr("files/a", b"a")
        verify_bundle(tmp_path / "none.zip")
    assert main(["evidence", "verify", str(tmp_path / "j.zip")]) == 2
    assert "error: cannot check" in capsys.readouterr().err
    assert main(["evidence", "verify", str(tmp_path / "absent.zip")]) == 2


def test_a_member_that_inflates_past_its_listed_size_is_read_no_further(tmp_path):
    big = b"\x00" * (20 << 20)
    m = manifest()
    m["files"][0]["size_bytes"] = 10
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(m))
        z.writestr("files/JO-1__a.mp4", big)
        z.writestr("files/JO-2__b.dav", B)
        z.writestr("request.json", NOTE)
    line = verify_bundle(path).lines[0]
    assert line.status == "MISMATCH" and line.detail == "longer than the 10 bytes the manifest says"
