"""The hand-off bundle (evidence/bundle.py) and the integrity check of the store (evidence/integrity.py).

Cases are made as the app makes them (tests/evidence_case.py): the owner's files go through the
upload service, their answer through ``responses.submit``, the officer's decisions through triage.
Expected values are worked out by hand from the inputs (times, clock difference, hashes computed
here from the bytes sent), never read back from the code under test.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import tracemalloc
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from dashboard.cli import main
from dashboard.config import load_settings
from dashboard.core.vocab import ROLES
from dashboard.evidence.bundle import IntegrityFailure, build_bundle, bundle_contents
from dashboard.evidence.integrity import check_store, last_check
from dashboard.footage.storage import Store
from dashboard.registry import audit
from dashboard.registry.casework import CaseworkError
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, CaseFile, EvidenceFile, FootageResponse
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user
from tests import evidence_case as ec
from tests.integration.conftest import PASSWORD
from tests.media import make_jpeg, make_video

CASE = "CR-2026-000777"
NOW = dt.datetime(2026, 12, 5, 7, 15, tzinfo=dt.UTC)
REASON = "hand-off to the CPS for the burglary file"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def runtime(tmp_path, reference_dir):
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
            "EVIDENCE_DIR": str(tmp_path / "evidence"),
            "EVIDENCE_MIN_FREE_MB": "0",
            "OUTBOX_WORKER": "0",
        }
    )
    rt = prepare(settings)
    with transaction(rt.sessions) as s:
        for role in ROLES:
            create_user(s, f"{role}1", PASSWORD, role)
        create_user(s, "other.officer", PASSWORD, "officer")
    yield rt
    rt.engine.dispose()


@pytest.fixture
def two_files(runtime, tmp_path):
    """One owner sent a video (accepted: exhibit OF/1) and a picture (declined) for CASE."""
    token, asked = ec.ask_owner(runtime, CASE, "ANN00001")
    video = make_video(tmp_path / "v.mp4", seconds=2.0).read_bytes()
    picture = make_jpeg(tmp_path / "p.jpg").read_bytes()
    ec.upload(runtime, token, video, "front door.mp4", caption=XSS)
    ec.upload(runtime, token, picture, "still.jpg", caption="a still")
    ec.answer(runtime, token, clock="fast", minutes=2, note="Recorded on the hall DVR.")
    (video_id, _, _), (picture_id, _, _) = ec.file_ids(runtime, asked.response_id)
    ref = ec.accept(runtime, video_id)
    ec.decline(runtime, picture_id, "not_relevant")
    return {
        "asked": asked,
        "video": video,
        "picture": picture,
        "video_id": video_id,
        "picture_id": picture_id,
        "ref": ref,
        "case_id": ec.case_file(runtime, CASE),
    }


def _export_row(rt, case_id: str) -> int:
    """The export's audit row, committed before the bundle is built (as viewing.export_link does)."""
    actor = ec.officer_actor(rt)
    with transaction(rt.sessions) as s:
        case = s.scalar(sa.select(CaseFile).where(CaseFile.public_id == case_id))
        try:
            files = bundle_contents(s, case)
        except CaseworkError:
            files = []
        row = audit.record(
            s,
            actor,
            "evidence_exported",
            case_ref=CASE,
            reason=REASON,
            detail={"case_id": case_id, "scope": "case", "files": files},
        )
        return row.id


def _build(rt, case_id: str, *, request_id: str | None = None, audit_id: int | None = None):
    audit_id = audit_id if audit_id is not None else _export_row(rt, case_id)
    with rt.sessions() as s:
        case = s.scalar(sa.select(CaseFile).where(CaseFile.public_id == case_id))
        return build_bundle(
            s,
            case,
            request_public_id=request_id,
            store=Store(rt.settings.evidence_dir),
            actor=ec.officer_actor(rt),
            export_audit_id=audit_id,
            reason=REASON,
            now=NOW,
            force_name="Test Constabulary",
        ), audit_id


def _write(bundle, path: Path) -> Path:
    with open(path, "wb") as out:
        for chunk in bundle:  # iterated after the session that built it was closed, as a streamed response is
            out.write(chunk)
    return path


def test_the_manifest_of_a_two_file_case_holds_only_the_accepted_file_worked_by_hand(runtime, two_files, tmp_path):
    assert two_files["ref"] == "OF/1"  # officer1: initials OF, first exhibit of the case
    bundle, audit_id = _build(runtime, two_files["case_id"])
    assert bundle.filename == "CR-2026-000777-evidence-20261205T071500Z.zip"
    path = _write(bundle, tmp_path / bundle.filename)
    assert bundle.size == path.stat().st_size  # the Content-Length given in advance is the length sent
    video_sha = hashlib.sha256(two_files["video"]).hexdigest()
    # (no file name here: this goes into the append-only audit log, which outlives the file)
    assert bundle.files == [
        {"file_id": two_files["video_id"], "exhibit_ref": "OF/1", "sha256": video_sha, "size": len(two_files["video"])}
    ]
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == sorted(
            [
                "manifest.json",
                "manifest.csv",
                "request.json",
                "audit-extract.json",
                "continuity-statement.html",
                "files/OF-1__front_door.mp4",
            ]
        )
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        assert z.read("files/OF-1__front_door.mp4") == two_files["video"]
        manifest = json.loads(z.read("manifest.json"))
        rows = list(csv.DictReader(io.StringIO(z.read("manifest.csv").decode("utf-8-sig"))))
        requests = json.loads(z.read("request.json"))
        extract = json.loads(z.read("audit-extract.json"))
        everything = b"".join(z.read(n) for n in z.namelist()) + "".join(z.namelist()).encode()
    [f] = manifest["files"]
    asked = two_files["asked"]
    # Recorded 21:14:05 by the camera's clock (tests/media.py), 2 s long; the clock is 2 minutes fast.
    assert f == {
        "exhibit_ref": "OF/1",
        "file_id": two_files["video_id"],
        "path": "files/OF-1__front_door.mp4",
        "sha256": video_sha,
        "size_bytes": len(two_files["video"]),
        "original_name": "front door.mp4",
        "caption": XSS,
        "kind": "video",
        "container": "mp4",
        "codec": "h264",
        "duration_s": 2.0,
        "width": 320,
        "height": 240,
        "recorded_at_camera_clock": "2026-11-30T21:14:05Z",
        "clock_offset_s": 120,
        "clock_offset_words": "2 minutes fast",
        "real_start_utc": "2026-11-30T21:12:05Z",
        "real_end_utc": "2026-11-30T21:12:07Z",
        "real_start_uk": "2026-11-30 21:12:05 GMT",
        "real_end_uk": "2026-11-30 21:12:07 GMT",
        "uploaded_at_utc": "2026-12-01T17:01:00Z",
        "uploaded_at_uk": "2026-12-01 17:01:00 GMT",
        "accepted_by": "officer1",
        "accepted_at_utc": "2026-12-02T10:00:00Z",
        "accepted_at_uk": "2026-12-02 10:00:00 GMT",
        "response_id": asked.response_id,
        "request_ids": asked.request_ids,
        "camera_ids": asked.camera_ids,
    }
    assert manifest["statements"] == [
        {
            "response_id": asked.response_id,
            "answered_at_utc": "2026-12-01T18:30:00Z",
            "answered_at_uk": "2026-12-01 18:30:00 GMT",
            "copy_made_by_owner": True,
            "copy_made_at_utc": "2026-12-01T18:00:00Z",
            "copy_made_at_uk": "2026-12-01 18:00:00 GMT",
            "signed_name": "Ann Owner",
            "note": "Recorded on the hall DVR.",
            "clock_offset_s": 120,
            "clock_offset_words": "2 minutes fast",
            "request_ids": asked.request_ids,
            "file_ids": [two_files["video_id"]],
        }
    ]
    assert [
        (q["request_id"], q["camera_id"], q["incident_from_utc"], q["incident_to_uk"], q["sent_at_utc"])
        for q in manifest["requests"]
    ] == [
        (
            asked.request_ids[0],
            asked.camera_ids[0],
            "2026-11-30T21:10:00Z",
            "2026-11-30 21:20:00 GMT",
            "2026-12-01T09:00:00Z",
        )
    ]
    assert requests["requests"] == manifest["requests"]
    assert manifest["case"] == {"case_ref": CASE, "case_id": two_files["case_id"], "case_officer": "officer1"}
    assert manifest["export"] == {
        "force": "Test Constabulary",
        "exported_by": "officer1",
        "exported_by_role": "officer",
        "reason": REASON,
        "exported_at_utc": "2026-12-05T07:15:00Z",
        "exported_at_uk": "2026-12-05 07:15:00 GMT",
        "audit_row_id": audit_id,
    }
    assert [
        (
            r["exhibit_ref"],
            r["sha256"],
            r["size_bytes"],
            r["clock_offset_s"],
            r["real_start_utc"],
            r["signed_name"],
            r["caption"],
        )
        for r in rows
    ] == [("OF/1", video_sha, str(len(two_files["video"])), "120", "2026-11-30T21:12:05Z", "Ann Owner", XSS)]
    # The declined picture is not handed on.
    assert two_files["picture"][:4096] not in everything
    assert two_files["picture_id"] not in json.dumps(manifest)
    # No owner contact details anywhere in the bundle (their signed name is their statement).
    for secret in (ec.OWNER_EMAIL, ec.OWNER_PHONE, ec.OWNER_ADDRESS, "ST16 2AB", "ANN00001"):
        assert secret.encode() not in everything, secret
    # The audit extract: this case's rows about this answer and its files, ending with the export, with hashes.
    actions = [r["action"] for r in extract["rows"]]
    assert actions == [
        "footage_uploaded",
        "footage_uploaded",
        "response_answered",
        "evidence_accepted",
        "evidence_declined",
        "evidence_exported",
    ]
    with runtime.sessions() as s:
        hashes = dict(s.execute(sa.select(AuditEvent.id, AuditEvent.row_hash)).tuples().all())
    assert all(hashes[r["id"]] == r["row_hash"] for r in extract["rows"])
    assert extract["rows"][-1]["id"] == audit_id


def test_the_audit_extract_leaves_out_another_officers_case_with_the_same_reference(runtime, two_files, tmp_path):
    _token, other = ec.ask_owner(runtime, CASE, "BOB00002", officer="other.officer")
    bundle, _ = _build(runtime, two_files["case_id"])
    with zipfile.ZipFile(_write(bundle, tmp_path / "b.zip")) as z:
        extract = z.read("audit-extract.json").decode()
        manifest = json.loads(z.read("manifest.json"))
    assert other.response_id not in extract and other.request_ids[0] not in extract
    assert len(manifest["files"]) == 1
    with runtime.sessions() as s:  # nor can a bundle be asked for by the other officer's request id
        case = s.scalar(sa.select(CaseFile).where(CaseFile.public_id == two_files["case_id"]))
        with pytest.raises(CaseworkError, match="no such request in this case"):
            bundle_contents(s, case, other.request_ids[0])


def test_the_continuity_statement_keeps_owner_text_as_text_and_prints_without_outside_resources(
    runtime, two_files, tmp_path
):
    bundle, _ = _build(runtime, two_files["case_id"])
    with zipfile.ZipFile(_write(bundle, tmp_path / "b.zip")) as z:
        html = z.read("continuity-statement.html").decode()
    assert "<script" not in html and "onerror=alert" not in html.replace("&#34;", '"').split("&lt;img")[0]
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert (
        "http://" not in html
        and "https://" not in html
        and "<link" not in html
        and "src=" not in html.replace("&lt;img src=x", "")
    )
    assert "@page { size: A4" in html and "@media print" in html
    assert "Exhibit OF/1" in html and hashlib.sha256(two_files["video"]).hexdigest() in html
    assert "2 minutes fast" in html and "2026-11-30 21:12:05 GMT to 2026-11-30 21:12:07 GMT" in html
    assert two_files["asked"].response_id in html and "python -m dashboard evidence verify " + bundle.filename in html
    assert ec.OWNER_ADDRESS not in html and ec.OWNER_EMAIL not in html


def test_bundle_contents_refuses_a_case_with_nothing_accepted_and_a_request_of_another_case(runtime, tmp_path):
    token, asked = ec.ask_owner(runtime, CASE, "ANN00001")
    ec.upload(runtime, token, make_jpeg(tmp_path / "p.jpg").read_bytes(), "still.jpg")
    ec.answer(runtime, token)
    _, other = ec.ask_owner(runtime, "CR-2026-000999", "BOB00002")
    with runtime.sessions() as s:
        case = s.scalar(sa.select(CaseFile).where(CaseFile.case_ref == CASE))
        with pytest.raises(CaseworkError, match="No file in this case has been accepted"):
            bundle_contents(s, case, None)
        with pytest.raises(CaseworkError, match="no such request in this case"):
            bundle_contents(s, case, other.request_ids[0])
        with pytest.raises(CaseworkError, match="no such request in this case"):
            bundle_contents(s, case, "REQ-../../x")
    [(file_id, _, _sha)] = ec.file_ids(runtime, asked.response_id)
    ec.accept(runtime, file_id, ref="JO/7")
    with runtime.sessions() as s:
        case = s.scalar(sa.select(CaseFile).where(CaseFile.case_ref == CASE))
        by_request = bundle_contents(s, case, asked.request_ids[0].lower())
    assert [(r["file_id"], r["exhibit_ref"]) for r in by_request] == [(file_id, "JO/7")]


def test_a_request_bundle_holds_only_that_owners_answer(runtime, two_files, tmp_path):
    token, bob = ec.ask_owner(runtime, CASE, "BOB00002")
    ec.upload(runtime, token, make_jpeg(tmp_path / "b.jpg", width=320, height=240).read_bytes(), "bob.jpg")
    ec.answer(runtime, token, clock="right")
    [(bob_file, _, _)] = ec.file_ids(runtime, bob.response_id)
    assert ec.accept(runtime, bob_file) == "OF/2"
    bundle, _ = _build(runtime, two_files["case_id"], request_id=bob.request_ids[0])
    assert bundle.filename.startswith(f"CR-2026-000777-{bob.request_ids[0]}-evidence-")
    with zipfile.ZipFile(_write(bundle, tmp_path / "r.zip")) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert [f["exhibit_ref"] for f in manifest["files"]] == ["OF/2"]
    assert manifest["files"][0]["clock_offset_words"] == "shows the right time"
    assert manifest["scope"] == {"kind": "request", "request_id": bob.request_ids[0]}
    whole, _ = _build(runtime, two_files["case_id"])
    assert [f["exhibit_ref"] for f in whole.files] == ["OF/1", "OF/2"]


def test_verify_passes_on_a_fresh_bundle_and_names_the_file_after_one_byte_changes(
    runtime, two_files, tmp_path, capsys
):
    bundle, _ = _build(runtime, two_files["case_id"])
    path = _write(bundle, tmp_path / bundle.filename)
    assert main(["evidence", "verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "OK        exhibit OF/1: files/OF-1__front_door.mp4" in out
    assert "PASSED: 1 exhibit file and 4 documents in" in out
    copy = tmp_path / "copy.zip"
    shutil.copy(path, copy)
    with zipfile.ZipFile(copy) as z:
        info = z.getinfo("files/OF-1__front_door.mp4")
    data = bytearray(copy.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.file_size // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    assert main(["evidence", "verify", str(copy)]) == 1
    captured = capsys.readouterr()
    assert "MISMATCH  exhibit OF/1: files/OF-1__front_door.mp4" in captured.out
    assert "FAILED: copy.zip is not as it was exported: 1 mismatch" in captured.err


def test_the_stream_stops_when_a_stored_file_changed_on_disk_and_the_mismatch_is_recorded(runtime, two_files, tmp_path):
    bundle, audit_id = _build(runtime, two_files["case_id"])
    sha = hashlib.sha256(two_files["video"]).hexdigest()
    stored = Store(runtime.settings.evidence_dir).path_for(sha)
    os.chmod(stored, 0o600)
    data = bytearray(stored.read_bytes())
    data[-10] ^= 0xFF  # one byte near the end: the whole file goes through but its last block
    stored.write_bytes(bytes(data))
    sent = io.BytesIO()
    with pytest.raises(IntegrityFailure, match="Exhibit OF/1"):
        for chunk in bundle:
            sent.write(chunk)
    # The changed file's last block never left: the download is short of it, and has no ZIP directory.
    assert bytes(data[-100:]) not in sent.getvalue()
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(sent.getvalue()))
    with runtime.sessions() as s:
        f = s.scalar(sa.select(EvidenceFile).where(EvidenceFile.public_id == two_files["video_id"]))
        assert f.check_result == "mismatch" and f.checked_at is not None
        row = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "evidence_integrity_failed")).one()
    detail = json.loads(row.detail)
    assert (row.username, row.case_ref, row.reason) == ("officer1", CASE, REASON)
    assert detail["file_id"] == two_files["video_id"] and detail["sha256"] == sha
    assert detail["found_sha256"] == hashlib.sha256(bytes(data)).hexdigest()
    assert detail["export_audit_id"] == audit_id and detail["result"] == "mismatch"


def test_a_missing_stored_file_stops_the_bundle_before_a_byte_is_sent(runtime, two_files):
    sha = hashlib.sha256(two_files["video"]).hexdigest()
    Store(runtime.settings.evidence_dir).path_for(sha).unlink()
    with pytest.raises(IntegrityFailure, match="missing"):
        _build(runtime, two_files["case_id"])
    with runtime.sessions() as s:
        assert (
            s.scalar(sa.select(EvidenceFile.check_result).where(EvidenceFile.public_id == two_files["video_id"]))
            == "missing"
        )


def _big_accepted_file(rt, tmp_path, size: int) -> tuple[str, str]:
    """A stored, accepted file of ``size`` bytes, its row written directly (the upload service would
    refuse bytes that are not footage); returns (case public id, sha256)."""
    _token, asked = ec.ask_owner(rt, CASE, "BIG00001")
    store = Store(rt.settings.evidence_dir)
    store.ensure()
    block = os.urandom(1 << 20)
    hasher = hashlib.sha256()
    part = tmp_path / "big.part"
    with open(part, "wb") as out:
        for i in range(size >> 20):
            piece = block[:-8] + i.to_bytes(8, "big")
            hasher.update(piece)
            out.write(piece)
    sha = hasher.hexdigest()
    target = store.path_for(sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    part.rename(target)
    with transaction(rt.sessions) as s:
        response = s.scalar(sa.select(FootageResponse).where(FootageResponse.public_id == asked.response_id))
        response.answer, response.answered_at, response.clock_offset_s = "footage", ec.ANSWERED, 0
        s.add(
            EvidenceFile(
                response_id=response.id,
                upload_key="b" * 43,
                original_name="dvr export.dav",
                declared_size=size,
                received_bytes=size,
                sha256=sha,
                state="stored",
                media={"kind": "archive"},
                completed_at=ec.ANSWERED,
                triage="accepted",
                triaged_at=ec.ACCEPTED,
                exhibit_ref="OF/1",
                triaged_by_id=ec.officer_actor(rt).user_id,
            )
        )
    return ec.case_file(rt, CASE), sha


def test_a_300_mb_file_streams_through_the_bundle_in_flat_memory(runtime, tmp_path):
    size = 300 << 20
    case_id, _sha = _big_accepted_file(runtime, tmp_path, size)
    bundle, _ = _build(runtime, case_id)
    hasher, total = hashlib.sha256(), 0
    tracemalloc.start()
    try:
        for chunk in bundle:
            total += len(chunk)
            hasher.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == bundle.size and total > size
    assert peak < 8 << 20, f"peak {peak / (1 << 20):.1f} MiB while streaming a 300 MiB file"


def test_the_store_check_finds_a_changed_and_a_missing_file_and_logs_their_ids(
    runtime, two_files, tmp_path, capsys, monkeypatch
):
    store = Store(runtime.settings.evidence_dir)
    actor = ec.officer_actor(runtime)
    first = check_store(runtime.sessions, store, actor, NOW)
    assert (first.files, first.contents, first.ok, first.mismatch, first.missing) == (2, 2, 2, [], [])
    assert first.bytes_checked == len(two_files["video"]) + len(two_files["picture"])
    video = store.path_for(hashlib.sha256(two_files["video"]).hexdigest())
    os.chmod(video, 0o600)
    with open(video, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 1]))
    store.path_for(hashlib.sha256(two_files["picture"]).hexdigest()).unlink()
    later = NOW + dt.timedelta(hours=1)
    second = check_store(runtime.sessions, store, actor, later)
    assert (second.files, second.ok, second.mismatch, second.missing) == (
        2,
        0,
        [two_files["video_id"]],
        [two_files["picture_id"]],
    )
    with runtime.sessions() as s:
        results = dict(s.execute(sa.select(EvidenceFile.public_id, EvidenceFile.check_result)).tuples().all())
        assert results == {two_files["video_id"]: "mismatch", two_files["picture_id"]: "missing"}
        row = s.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "evidence_checked").order_by(AuditEvent.id.desc())
        ).first()
        seen = last_check(s)
    detail = json.loads(row.detail)
    assert detail["mismatch_ids"] == [two_files["video_id"]] and detail["missing_ids"] == [two_files["picture_id"]]
    assert (detail["files"], detail["ok"], detail["mismatch"], detail["missing"]) == (2, 0, 1, 1)
    assert two_files["video"][:64].hex() not in row.detail  # ids and counts, never content
    assert seen.detail == detail and seen.when == later
    # The command line for cron: non-zero, naming the files.
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("EVIDENCE_DIR", str(runtime.settings.evidence_dir))
    monkeypatch.setenv("REFERENCE_DATA_DIR", str(runtime.settings.reference_data_dir))
    assert main(["evidence", "check"]) == 1
    captured = capsys.readouterr()
    assert "0 ok, 1 changed, 1 missing" in captured.out
    assert f"CHANGED  {two_files['video_id']}" in captured.err and f"MISSING  {two_files['picture_id']}" in captured.err


def test_the_store_check_reads_shared_bytes_once_and_passes_a_clean_store(runtime, tmp_path, capsys, monkeypatch):
    picture = make_jpeg(tmp_path / "p.jpg").read_bytes()
    for ref in ("ANN00001", "BOB00002"):  # two owners sent the same bytes: one stored file
        token, _ = ec.ask_owner(runtime, CASE, ref)
        ec.upload(runtime, token, picture, "same.jpg")
    result = check_store(runtime.sessions, Store(runtime.settings.evidence_dir), ec.officer_actor(runtime), NOW)
    assert (result.files, result.contents, result.bytes_checked, result.ok) == (2, 1, len(picture), 2)
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("EVIDENCE_DIR", str(runtime.settings.evidence_dir))
    monkeypatch.setenv("REFERENCE_DATA_DIR", str(runtime.settings.reference_data_dir))
    assert main(["evidence", "check"]) == 0
    assert "2 stored files (1 distinct contents" in capsys.readouterr().out


def test_the_auditors_check_button_shows_counts_and_ids_and_is_logged_and_nobody_else_can_press_it(
    app, runtime, two_files
):
    from tests.dash_requests import post_with_values
    from tests.integration.conftest import login

    Store(runtime.settings.evidence_dir).path_for(hashlib.sha256(two_files["picture"]).hexdigest()).unlink()
    for role in ("officer", "analyst", "lead", "admin"):
        client = app.server.test_client()
        login(client, role)
        answer = post_with_values(client, app, "audit-evidence-result", {"audit-evidence-check.n_clicks": 1})
        assert answer.status_code == 403, role
    anonymous = post_with_values(
        app.server.test_client(), app, "audit-evidence-result", {"audit-evidence-check.n_clicks": 1}
    )
    assert anonymous.status_code == 401
    with runtime.sessions() as s:
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "evidence_checked"))
            == 0
        )
    client = app.server.test_client()
    login(client, "auditor")
    page = client.get("/audit")
    assert page.status_code == 200
    answer = post_with_values(client, app, "audit-evidence-result", {"audit-evidence-check.n_clicks": 1})
    assert answer.status_code == 200
    text = json.dumps(answer.get_json())
    assert "2 files (2 distinct contents" in text and "1 match, 0 changed, 1 missing." in text
    assert two_files["picture_id"] in text and "audit-evidence-bad" in text
    assert "still.jpg" not in text and two_files["picture"][:32].hex() not in text
    with runtime.sessions() as s:
        row = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "evidence_checked")).one()
    assert (row.username, row.role) == ("auditor1", "auditor")
    from tests.dash_requests import router_body

    drawn = json.dumps(client.post("/_dash-update-component", json=router_body("/audit")).get_json())
    assert "Last check: " in drawn and "(UK) by auditor1: " in drawn and "1 match, 0 changed, 1 missing." in drawn
    assert two_files["picture_id"] in drawn
    # A forged body without a click runs nothing.
    assert post_with_values(
        client, app, "audit-evidence-result", {"audit-evidence-check.n_clicks": None}
    ).status_code in (200, 204)
    with runtime.sessions() as s:
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "evidence_checked"))
            == 1
        )
