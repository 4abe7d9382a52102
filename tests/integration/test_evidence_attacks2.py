"""Second attacker's pass on issue 17's hand-off bundle, retention, storage and integrity check.

Cases are made as the app makes them (tests/evidence_case.py: the upload service, responses.submit,
triage); the export is logged the way the My cases page logs it (case_evidence.export: the audit
row's detail is ``bundle_contents``). Expected values are worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import sqlalchemy as sa

from dashboard.evidence import bundle as bundle_mod
from dashboard.evidence import viewing
from dashboard.evidence.retention import Periods, run_footage_retention
from dashboard.footage.storage import Store
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, CaseFile, EvidenceFile
from tests import evidence_case as ec
from tests.integration.test_evidence_bundle import REASON, runtime  # noqa: F401  (fixture)
from tests.media import make_video

CASE = "CR-2026-000888"
NAME = "Zanzibar-porch-camera.mp4"  # distinctive: searched for in the database file's bytes
CAPTION = "Quillfeather driveway view"
P = Periods(30, 90)
CLOSED = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)
AFTER = CLOSED + dt.timedelta(days=90, minutes=1)  # 90 days after closing: every file of the case is due


def _accepted_case(rt, tmp_path: Path) -> tuple[str, str]:
    token, asked = ec.ask_owner(rt, CASE, "ZAN00001")
    video = make_video(tmp_path / "v.mp4", seconds=1.0).read_bytes()
    ec.upload(rt, token, video, NAME, caption=CAPTION)
    ec.answer(rt, token)
    [(file_id, _, _)] = ec.file_ids(rt, asked.response_id)
    ec.accept(rt, file_id)
    return file_id, ec.case_file(rt, CASE)


def _export_as_the_page_does(rt, case_id: str) -> int:
    actor = ec.officer_actor(rt)
    with transaction(rt.sessions) as s:
        case = s.scalar(sa.select(CaseFile).where(CaseFile.public_id == case_id))
        contents = bundle_mod.bundle_contents(s, case)
        return viewing.export_link(
            s, actor, case.public_id, REASON, rt.settings.secret_key, detail={"files": contents}
        ).audit_id


def _close(rt, case_id: str) -> None:
    with transaction(rt.sessions) as s:
        case = s.scalar(sa.select(CaseFile).where(CaseFile.public_id == case_id))
        case.closed_at, case.closed_by_id = CLOSED, case.officer_id


def test_a_deleted_files_name_is_not_left_in_the_export_audit_row(runtime, tmp_path):
    """Retention blanks a deleted file's name in its row ("nothing of a deleted file's caption, name
    or content is left"), but the export logged before (evidence_exported, detail = bundle_contents)
    holds "original_name" for every file, in the append-only log: the owner's file name outlives the
    footage in the audit table and in the database file, after VACUUM."""
    file_id, case_id = _accepted_case(runtime, tmp_path)
    _export_as_the_page_does(runtime, case_id)
    _close(runtime, case_id)
    run = run_footage_retention(runtime.sessions, Store(runtime.settings.evidence_dir, 0), AFTER, P)
    assert run.files.files == 1
    with runtime.sessions() as s:
        f = s.scalar(sa.select(EvidenceFile).where(EvidenceFile.public_id == file_id))
        assert f.state == "deleted" and f.original_name == "deleted" and f.caption is None
        details = [d for (d,) in s.execute(sa.select(AuditEvent.detail)) if d]
    assert not [d for d in details if NAME in d or CAPTION in d]
    runtime.engine.dispose()
    db = Path(str(runtime.settings.database_url).removeprefix("sqlite:///"))
    for path in (db, Path(f"{db}-wal")):
        if path.exists():
            assert NAME.encode() not in path.read_bytes(), path


def _rewrite(src: Path, dst: Path, change) -> None:
    """Copy the ZIP ``src`` to ``dst`` with members changed by ``change(name, data) -> data``."""
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change(info.filename, zin.read(info.filename)))


def test_a_file_and_its_manifest_changed_together_are_caught_by_the_bundles_own_export_row(runtime, tmp_path):
    """What verify can prove: each member matches the manifest in the same ZIP; nothing is signed, so
    someone who swaps an exhibit and rewrites the manifest (and manifest.csv and the continuity
    statement, and their hashes in the manifest) gets 'PASSED'. The bundle does carry a witness
    verify ignores: audit-extract.json holds the export's own audit row (its id is the manifest's
    export.audit_row_id) whose detail lists each exhibit's SHA-256 as exported, with that row's keyed
    row_hash from the tamper-evident log. Left untouched, it names the original hash; verify should
    compare it with the manifest and fail the bundle (editing the row too breaks its row_hash, which
    the force's auditor can check against the log: `audit verify`)."""
    import hashlib
    import zipfile

    from dashboard.evidence.bundle import build_bundle
    from dashboard.evidence.verify import verify_bundle
    from tests.integration.test_evidence_bundle import NOW

    _file_id, case_id = _accepted_case(runtime, tmp_path)
    audit_id = _export_as_the_page_does(runtime, case_id)
    with runtime.sessions() as s:
        case = s.scalar(sa.select(CaseFile).where(CaseFile.public_id == case_id))
        bundle = build_bundle(
            s,
            case,
            request_public_id=None,
            store=Store(runtime.settings.evidence_dir),
            actor=ec.officer_actor(runtime),
            export_audit_id=audit_id,
            reason=REASON,
            now=NOW,
            force_name="Test Constabulary",
        )
    real = tmp_path / "real.zip"
    real.write_bytes(b"".join(bundle))
    assert verify_bundle(real).ok
    with zipfile.ZipFile(real) as z:
        manifest = json.loads(z.read("manifest.json"))
        extract = json.loads(z.read("audit-extract.json"))
    [entry] = manifest["files"]
    old_sha = entry["sha256"]
    [export_row] = [r for r in extract["rows"] if r["id"] == manifest["export"]["audit_row_id"]]
    assert export_row["detail"]["files"][0]["sha256"] == old_sha  # the witness is in the bundle
    evil = b"a different recording altogether " * 100
    new_sha = hashlib.sha256(evil).hexdigest()
    docs: dict[str, bytes] = {}

    def swap(name: str, data: bytes) -> bytes:
        if name == entry["path"]:
            return evil
        if name in ("manifest.csv", "continuity-statement.html"):
            docs[name] = data.replace(old_sha.encode(), new_sha.encode()).replace(
                str(entry["size_bytes"]).encode(), str(len(evil)).encode()
            )
            return docs[name]
        return data

    forged = tmp_path / "forged.zip"
    _rewrite(real, tmp_path / "step.zip", swap)
    entry.update(sha256=new_sha, size_bytes=len(evil))
    for name, data in docs.items():
        manifest["documents"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}
    _rewrite(
        tmp_path / "step.zip",
        forged,
        lambda name, data: json.dumps(manifest).encode() if name == "manifest.json" else data,
    )
    with zipfile.ZipFile(forged) as z:
        assert z.read(entry["path"]) == evil and json.loads(z.read("audit-extract.json")) == extract
    assert not verify_bundle(forged).ok


def test_retention_deleting_a_file_mid_export_is_not_recorded_as_an_integrity_failure(runtime, tmp_path):
    """The integrity check knows that "a file deleted while the check ran is not a missing file";
    the bundle does not. A closed case's export built just before its 90 days are up, streamed after
    the nightly run deleted its files, records evidence_integrity_failed 'missing' (a false alarm
    telling the auditor evidence went missing from the store) for a file retention deleted lawfully."""
    import pytest

    from dashboard.evidence.bundle import IntegrityFailure, build_bundle
    from tests.integration.test_evidence_bundle import NOW

    _file_id, case_id = _accepted_case(runtime, tmp_path)
    audit_id = _export_as_the_page_does(runtime, case_id)
    _close(runtime, case_id)
    with runtime.sessions() as s:
        case = s.scalar(sa.select(CaseFile).where(CaseFile.public_id == case_id))
        bundle = build_bundle(
            s,
            case,
            request_public_id=None,
            store=Store(runtime.settings.evidence_dir),
            actor=ec.officer_actor(runtime),
            export_audit_id=audit_id,
            reason=REASON,
            now=NOW,
            force_name="Test Constabulary",
        )
    run = run_footage_retention(runtime.sessions, Store(runtime.settings.evidence_dir, 0), AFTER, P)
    assert run.files.files == 1
    with pytest.raises(IntegrityFailure):
        b"".join(bundle)
    with runtime.sessions() as s:
        failures = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "evidence_integrity_failed")).all()
    assert not failures, [json.loads(f.detail) for f in failures]


def test_attack_refused_formulas_and_markup_from_the_owner_never_run_in_the_bundles_documents(runtime, tmp_path):
    """Caption, file name, note and signed name chosen to run in a spreadsheet (=, +, -, @, a tab) or
    a browser: manifest.csv holds every one as text (a leading apostrophe), the continuity statement
    only escaped."""
    import csv
    import io
    import zipfile

    from dashboard.evidence.bundle import build_bundle
    from tests.integration.test_evidence_bundle import NOW

    caption = '=HYPERLINK(A1&A2,"open")'
    name = "@SUM(1+1)<img src=x onerror=alert(1)>.mp4"
    note = "+cmd|' /C calc'!A0 <script>alert(2)</script>"
    signed = "-2+3 <b>Ann</b>"
    token, asked = ec.ask_owner(runtime, CASE, "ZAN00002")
    ec.upload(runtime, token, make_video(tmp_path / "v.mp4", seconds=1.0).read_bytes(), name, caption=caption)
    ec.answer(runtime, token, note=note, signed_name=signed)
    [(file_id, _, _)] = ec.file_ids(runtime, asked.response_id)
    ec.accept(runtime, file_id)
    case_id = ec.case_file(runtime, CASE)
    audit_id = _export_as_the_page_does(runtime, case_id)
    with runtime.sessions() as s:
        case = s.scalar(sa.select(CaseFile).where(CaseFile.public_id == case_id))
        bundle = build_bundle(
            s,
            case,
            request_public_id=None,
            store=Store(runtime.settings.evidence_dir),
            actor=ec.officer_actor(runtime),
            export_audit_id=audit_id,
            reason=REASON,
            now=NOW,
            force_name="Test Constabulary",
        )
    with zipfile.ZipFile(io.BytesIO(b"".join(bundle))) as z:
        [row] = list(csv.DictReader(io.StringIO(z.read("manifest.csv").decode("utf-8-sig"))))
        html = z.read("continuity-statement.html").decode()
        names = z.namelist()
    assert (row["caption"], row["original_name"], row["owner_note"], row["signed_name"]) == (
        "'" + caption,
        "'" + name,
        "'" + note,
        "'" + signed,
    )
    for cell in row.values():
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), cell
    assert "<script>" not in html and "<img src=x" not in html and "<b>Ann</b>" not in html
    assert "&lt;script&gt;" in html
    assert all(n.startswith("files/") or "/" not in n for n in names)
    assert not [n for n in names if "<" in n or "@" in n or "(" in n]


def test_one_unreadable_stored_file_does_not_stop_the_integrity_check_of_all_the_others(runtime, tmp_path):
    """hash_path treats only FileNotFoundError as 'missing'; any other error reading one stored file
    (here: a directory where the file should be, IsADirectoryError; on a real disk EACCES or EIO)
    escapes check_store, so no result is recorded for ANY file and the auditor's button answers 500.
    Whoever can break one path in the store blinds the whole nightly check. It should finish, and
    report that file as not intact."""
    from dashboard.evidence.integrity import check_store

    file_id, _ = _accepted_case(runtime, tmp_path)
    token, _asked = ec.ask_owner(runtime, CASE, "ZAN00003")
    ec.upload(runtime, token, make_video(tmp_path / "w.mp4", seconds=2.0).read_bytes(), "other.mp4")
    ec.answer(runtime, token)
    store = Store(runtime.settings.evidence_dir)
    with runtime.sessions() as s:
        f = s.scalar(sa.select(EvidenceFile).where(EvidenceFile.public_id == file_id))
    path = store.path_for(f.sha256)
    path.unlink()
    path.mkdir()
    result = check_store(
        runtime.sessions, store, ec.officer_actor(runtime), dt.datetime(2026, 12, 5, 7, 0, tzinfo=dt.UTC)
    )
    assert result.files == 2 and result.ok == 1 and file_id in result.mismatch + result.missing


def test_a_refused_archives_member_name_is_not_kept_after_its_answer_is_erased(runtime, tmp_path):
    """An owner's DVR export (a ZIP) is refused because it holds a player program: the refusal kept on
    the file's row quotes the member's name, chosen by the owner's recorder or the owner
    ('Quillfeather-family-garage.exe'). Retention later deletes the answer's footage and erases its
    statement, blanking the refused row's caption and name, but not ``refusal``: the owner's text
    stays in the database for ever."""
    import io
    import zipfile

    import pytest

    from dashboard.footage.uploads import UploadError

    token, asked = ec.ask_owner(runtime, CASE, "ZAN00004")
    ec.upload(runtime, token, make_video(tmp_path / "v.mp4", seconds=1.0).read_bytes(), "front.mp4")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("Quillfeather-family-garage.exe", b"MZ" + b"\x00" * 200)
        z.write(tmp_path / "v.mp4", "CH01.mp4")
    with pytest.raises(UploadError):
        ec.upload(runtime, token, archive.getvalue(), "export.zip")
    ec.answer(runtime, token)
    [(file_id, _, _)] = ec.file_ids(runtime, asked.response_id)
    ec.decline(runtime, file_id)
    with runtime.sessions() as s:
        refusals = [r for (r,) in s.execute(sa.select(EvidenceFile.refusal).where(EvidenceFile.state == "refused"))]
    assert any("Quillfeather" in (r or "") for r in refusals), refusals  # the name is there to start with
    done = run_footage_retention(
        runtime.sessions, Store(runtime.settings.evidence_dir, 0), ec.ACCEPTED + dt.timedelta(days=30, minutes=1), P
    )
    assert done.files.files == 1 and done.statements_erased == 1
    with runtime.sessions() as s:
        left = [r for (r,) in s.execute(sa.select(EvidenceFile.refusal)) if r and "Quillfeather" in r]
    assert not left, left


def test_attack_refused_odd_weeks_on_the_metrics_api_get_a_4xx_not_a_500(app, runtime):
    """The lead's /api/v1/metrics/requests (footage block included) with reversed, impossible,
    far-off or garbage dates answers 200 or a 4xx, never a 500."""
    from tests.integration.conftest import login

    client = app.server.test_client()
    login(client, "lead")
    assert client.get("/api/v1/metrics/requests?from=2026-11-02&to=2026-11-29").status_code == 200
    for query in (
        "from=2026-12-31&to=2026-01-01",
        "from=2026-02-30&to=2026-03-01",
        "from=0001-01-01&to=9999-12-31",
        "from=x&to=y",
        "from=2026-01-01",
        "from=2026-01-01&to=2026-01-01T00:00",
        "from[]=1&to=%00",
    ):
        got = client.get(f"/api/v1/metrics/requests?{query}")
        assert got.status_code < 500, (query, got.status_code, got.get_data(as_text=True)[:300])
        if got.status_code == 200:
            assert "footage" in got.get_json()


def test_attack_refused_another_officers_closed_case_of_the_same_reference_deletes_nothing_of_mine(runtime, tmp_path):
    """Case files are per (case reference, officer): another officer who uses the same reference and
    closed their case long ago does not start the clock on this officer's open case's exhibits."""
    from dashboard.registry.casework import ensure_case_file
    from dashboard.registry.models import User

    file_id, _case_id = _accepted_case(runtime, tmp_path)
    with transaction(runtime.sessions) as s:
        other = s.scalar(sa.select(User).where(User.username == "other.officer"))
        theirs = ensure_case_file(s, CASE, other.id)
        theirs.closed_at, theirs.closed_by_id = CLOSED - dt.timedelta(days=400), other.id
    done = run_footage_retention(runtime.sessions, Store(runtime.settings.evidence_dir, 0), AFTER, P)
    assert done.files.files == 0 and done.statements_erased == 0
    with runtime.sessions() as s:
        f = s.scalar(sa.select(EvidenceFile).where(EvidenceFile.public_id == file_id))
        assert (f.state, f.original_name) == ("stored", NAME)
    assert Store(runtime.settings.evidence_dir).path_for(f.sha256).is_file()


def test_the_time_to_footage_of_a_request_does_not_change_when_retention_deletes_its_files(runtime, tmp_path):
    """uptake_queries.requests dates footage by its answer's first file in state 'stored' (falling back
    to the request's status time); the footage-outcome figures count 'deleted' files as uploaded, but
    the time-to-footage figure does not: once retention deletes a closed case's files, each of its
    requests' time to footage moves from the upload (17:01 UTC here) to the answer (18:30), so the
    published median/p90 bands of past weeks change overnight, and a lead comparing two readings
    learns that some case of those weeks was closed 90 days before."""
    from dashboard.registry import uptake_queries

    _file_id, case_id = _accepted_case(runtime, tmp_path)
    _close(runtime, case_id)
    with runtime.sessions() as s:
        before = uptake_queries.requests(s)[["status", "status_changed_at", "first_upload_at"]]
    assert list(before["status"]) == ["footage_provided"]
    run = run_footage_retention(runtime.sessions, Store(runtime.settings.evidence_dir, 0), AFTER, P)
    assert run.files.files == 1
    with runtime.sessions() as s:
        after = uptake_queries.requests(s)[["status", "status_changed_at", "first_upload_at"]]
    assert after["first_upload_at"].tolist() == before["first_upload_at"].tolist()  # the new figure: stable
    assert after["status_changed_at"].tolist() == before["status_changed_at"].tolist()
