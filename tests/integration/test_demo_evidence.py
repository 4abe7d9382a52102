"""The demo's footage loop, officer's half: case files for every case with requests, and owners'
answers with real files for officer.demo's latest cases, built once into a temp SQLite file and a
temp evidence folder.

Checked from the stored rows and bytes, not the generator's memory: every file is in the store
under its SHA-256 (re-hashed here), its ``media`` is what ``footage.probe`` finds when run again
here on the stored bytes, its recording time lies inside the incident window as the camera's clock
shows it (worked out here from the request's window and the owner's stated clock difference), the
officer's triage so far reads through ``evidence.triage`` as the My cases page will show it, the
audit log holds the owner's and the officer's rows, and a second build gives the same rows and the
same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from dashboard.core.vocab import DECLINE_REASONS
from dashboard.demo import generate_demo
from dashboard.evidence import cases as evidence_cases
from dashboard.evidence import triage
from dashboard.footage import probe
from dashboard.footage.storage import Store
from dashboard.registry import audit
from dashboard.registry.database import make_engine, session_factory
from dashboard.registry.models import Base, CaseFile
from dashboard.registry.public_ids import CASE_FILE_PATTERN, EVIDENCE_PATTERN

PILOT_START = dt.date(2026, 4, 13)
PUBLIC_LAUNCH = dt.date(2026, 7, 6)
AS_OF = dt.date(2026, 11, 29)
N = 4000
SEED = 2026
UTC = dt.UTC


def _build(root: Path, reference):
    engine = make_engine(f"sqlite:///{root / 'demo.db'}")
    summary = generate_demo(
        engine,
        reference,
        seed=SEED,
        registrations=N,
        as_of=AS_OF,
        pilot_start=PILOT_START,
        public_launch=PUBLIC_LAUNCH,
        evidence_dir=root / "evidence",
    )
    return engine, summary


@pytest.fixture(scope="module")
def demo(tmp_path_factory, reference):
    root = tmp_path_factory.mktemp("demo_evidence_a")
    engine, summary = _build(root, reference)
    yield engine, summary, root / "evidence"
    engine.dispose()


@pytest.fixture(scope="module")
def tables(demo) -> dict[str, pd.DataFrame]:
    engine, _, _ = demo
    names = (
        "footage_request",
        "footage_request_event",
        "footage_response",
        "evidence_file",
        "case_file",
        "app_user",
        "registrant",
        "audit_event",
    )
    with engine.connect() as conn:
        frames = {n: pd.read_sql_query(sa.text(f"SELECT * FROM {n} ORDER BY id"), conn) for n in names}
    for frame in frames.values():
        for column in frame.columns:
            if column.endswith("_at") or column in ("at", "incident_from", "incident_to"):
                frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
    return frames


def _officer_id(tables, name: str = "officer.demo") -> int:
    users = tables["app_user"]
    return int(users.loc[users["username"] == name, "id"].iloc[0])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 16):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- case files


def test_every_case_with_requests_has_one_open_case_file_of_its_officer(tables):
    req, files = tables["footage_request"], tables["case_file"]
    first = req.groupby(["case_ref", "requested_by_id"])["sent_at"].min()
    assert len(files) == len(first) > 10
    got = files.set_index(["case_ref", "officer_id"]).sort_index()
    assert list(got.index) == list(first.index)
    assert (got["created_at"] == first).all()
    assert got["closed_at"].isna().all() and got["closed_by_id"].isna().all()
    assert all(re.match(CASE_FILE_PATTERN, p) for p in files["public_id"]) and files["public_id"].is_unique


def test_case_files_let_each_officer_open_only_their_own_cases(demo, tables):
    engine, _, _ = demo
    req = tables["footage_request"]
    with session_factory(engine)() as s:
        for name in ("officer.demo", "officer2.demo"):
            uid = _officer_id(tables, name)
            seen = evidence_cases.cases_for(s, uid)
            assert sorted(c.case_ref for c in seen) == sorted(set(req.loc[req["requested_by_id"] == uid, "case_ref"]))
            assert all(c.own and c.officer == name for c in seen)


# --------------------------------------------------------------------------- answers and files


def test_the_demo_officers_latest_cases_have_owner_answers_with_footage(demo, tables):
    _, summary, _ = demo
    resp, req, files = tables["footage_response"], tables["footage_request"], tables["evidence_file"]
    officer = _officer_id(tables)
    assert 4 <= summary.owner_answers == len(resp) <= 6 and summary.evidence_files == len(files)
    assert resp["case_ref"].nunique() >= 3
    assert (resp["answer"] == "footage").all() and (resp["requested_by_id"] == officer).all()
    assert resp["copy_made_by_owner"].all() and resp["clock_offset_s"].notna().all()
    assert resp["clock_offset_s"].isin([120, -45, 3600, 0, 95, -20]).all() and 120 in set(resp["clock_offset_s"])
    # signed by the registrant who answered (a made-up name from the demo's lists)
    names = tables["registrant"].set_index("id")["name"]
    assert (resp["signed_name"] == resp["registrant_id"].map(names)).all()
    asked = req[req["response_id"].notna()]
    assert sorted(asked["response_id"].astype(int).unique()) == sorted(resp["id"])
    assert (asked["status"] == "footage_provided").all() and (asked["requested_by_id"] == officer).all()
    assert asked["footage_useful"].isna().all()
    for r in resp.itertuples():
        mine = asked[asked["response_id"] == r.id]
        assert (mine["case_ref"] == r.case_ref).all()
        assert (mine["status_changed_at"] == r.answered_at).all()
        own = files[files["response_id"] == r.id]
        assert 1 <= len(own) <= 3
        # link opened after the request went out, files uploaded after that, the answer last, all before "today"
        assert mine["sent_at"].max() < r.first_opened_at <= r.copy_made_at <= own["created_at"].min()
        assert (own["created_at"] < own["completed_at"]).all() and (own["completed_at"] < r.answered_at).all()
        assert r.copy_made_at >= mine["incident_to"].max()
        assert r.answered_at < r.link_expires_at and r.answered_at < pd.Timestamp(AS_OF, tz="UTC")
    # they are the officer's most recent cases with footage answers among the requests
    latest = asked.groupby("case_ref")["sent_at"].max().min()
    provided = req[(req["requested_by_id"] == officer) & (req["status"] == "footage_provided")]
    later = provided.groupby("case_ref")["sent_at"].max()
    assert set(later[later > latest].index) <= set(asked["case_ref"])


def test_files_are_in_the_store_under_their_sha256_and_probe_as_recorded(demo, tables):
    _, _, evidence_dir = demo
    files = tables["evidence_file"]
    store = Store(evidence_dir)
    assert (files["state"] == "stored").all() and files["public_id"].map(
        lambda p: bool(re.match(EVIDENCE_PATTERN, p))
    ).all()
    kinds = []
    for f in files.itertuples():
        path = store.path_for(f.sha256)
        assert path.is_file(), f.original_name
        assert _sha256(path) == f.sha256
        assert path.stat().st_size == f.declared_size == f.received_bytes
        media = json.loads(f.media)
        assert media == probe.probe(path, max_unpacked_bytes=1 << 30).as_json()
        assert f.caption and len(f.caption) > 20
        kinds.append((media["kind"], media.get("container"), media.get("codec") or media.get("format")))
    assert ("video", "mp4", "h264") in kinds and ("image", None, "jpeg") in kinds and ("archive", "zip", None) in kinds
    assert not list((evidence_dir / "incoming").glob("*.part"))  # nothing left half-way


def test_the_dvr_export_holds_a_dav_recording_that_only_downloads(demo, tables):
    _, _, evidence_dir = demo
    files = tables["evidence_file"]
    archive = files[files["media"].map(lambda m: json.loads(m)["kind"]) == "archive"]
    assert len(archive) == 1
    row = archive.iloc[0]
    assert triage.mime_for(json.loads(row["media"])) is None
    with zipfile.ZipFile(Store(evidence_dir).path_for(row["sha256"])) as z:
        names = z.namelist()
        dav = [n for n in names if n.endswith(".dav")]
        assert len(dav) == 1 and z.read(dav[0])[:4] == b"DHAV"
        log = z.read("export_log.txt").decode("ascii")
        assert hashlib.sha256(z.read(dav[0])).hexdigest() in log


def test_recording_times_lie_in_the_incident_window_on_the_cameras_clock(tables):
    resp = tables["footage_response"].set_index("id")
    req = tables["footage_request"]
    checked = 0
    for f in tables["evidence_file"].itertuples():
        media = json.loads(f.media)
        if "recorded_at" not in media:
            continue
        r = resp.loc[f.response_id]
        mine = req[req["response_id"] == f.response_id]
        offset = pd.Timedelta(seconds=int(r["clock_offset_s"]))
        start = pd.Timestamp(media["recorded_at"])
        end = start + pd.Timedelta(seconds=media["duration_s"])
        assert mine["incident_from"].min() + offset <= start and end <= mine["incident_to"].max() + offset
        checked += 1
    assert checked >= 3


def test_triage_reads_as_my_cases_will_show_it(demo, tables):
    """One file accepted (the first exhibit in the force's format), one declined with a reason, the
    rest waiting; the real triage functions give the next exhibit reference after the demo's."""
    engine, summary, _ = demo
    officer = _officer_id(tables)
    actor = audit.Actor(officer, "officer.demo", "officer")
    with session_factory(engine)() as s:
        seen = evidence_cases.cases_for(s, officer)
        evidence = [triage.case_evidence(s, actor, c.public_id) for c in seen]
        with_files = [e for e in evidence if e.submissions]
        shown = [f for e in with_files for f in e.files]
        assert len(with_files) == tables["footage_response"]["case_ref"].nunique()
        assert len(shown) == summary.evidence_files
        decided = {f.triage for f in shown}
        assert decided == {"accepted", "declined", None}
        accepted = [f for f in shown if f.triage == "accepted"]
        declined = [f for f in shown if f.triage == "declined"]
        assert len(accepted) == 1 and accepted[0].exhibit_ref == "OD/1" and accepted[0].triaged_by == "officer.demo"
        assert accepted[0].mime == "video/mp4" and accepted[0].playable
        assert len(declined) == 1 and declined[0].decline_reason in DECLINE_REASONS and declined[0].decline_note
        for e in with_files:
            for sub in e.submissions:
                assert sub.signed_name and sub.copy_made_by_owner and sub.clock_offset_s is not None
                for f in sub.files:
                    assert f.triaged_at is None or f.triaged_at > sub.answered_at
                    if f.recorded_at is not None:  # corrected by the owner's clock difference
                        assert f.real_start == f.recorded_at - dt.timedelta(seconds=sub.clock_offset_s)
        case = next(e for e in with_files if any(f.triage == "accepted" for f in e.files)).case
        row = s.get(CaseFile, case.case_file_id)
        assert triage.next_exhibit_ref(s, row, "officer.demo", "{initials}/{n}") == "OD/2"


def test_the_owners_answers_replace_the_officers_status_events(tables):
    ev, req = tables["footage_request_event"], tables["footage_request"]
    answered = set(req.loc[req["response_id"].notna(), "id"])
    owner = ev[ev["by_user_id"].isna()]
    assert set(owner["request_id"]) == answered and len(owner) == len(answered)
    assert (owner["status"] == "footage_provided").all() and (owner["note"] == "Answered by the owner").all()
    assert ev.loc[~ev["request_id"].isin(answered), "by_user_id"].notna().all()


# --------------------------------------------------------------------------- audit


def test_the_audit_log_holds_the_owners_and_the_officers_rows(demo, tables):
    engine, _, _ = demo
    log, resp, files = tables["audit_event"], tables["footage_response"], tables["evidence_file"]
    with session_factory(engine)() as s:
        assert audit.verify_chain(s).intact
    cases = tables["case_file"].set_index(["case_ref", "officer_id"])["public_id"]
    officer = _officer_id(tables)
    for r in resp.itertuples():
        rows = log[
            log["detail"].fillna("").str.contains(r.public_id)
            & log["action"].isin(["response_opened", "response_answered", "footage_uploaded"])
        ]
        opened = rows[rows["action"] == "response_opened"]
        answered = rows[rows["action"] == "response_answered"]
        uploaded = rows[rows["action"] == "footage_uploaded"]
        assert len(opened) == 1 and opened["occurred_at"].iloc[0] == r.first_opened_at
        assert len(answered) == 1 and answered["occurred_at"].iloc[0] == r.answered_at
        assert (rows["username"] == "public").all() and rows["user_id"].isna().all()
        own = files[files["response_id"] == r.id]
        assert sorted(json.loads(d)["sha256"] for d in uploaded["detail"]) == sorted(own["sha256"])
        assert sorted(uploaded["occurred_at"]) == sorted(own["completed_at"])
        detail = json.loads(answered["detail"].iloc[0])
        assert detail["answer"] == "footage" and detail["clock_offset_s"] == r.clock_offset_s
        assert sorted(detail["request_ids"]) == sorted(
            tables["footage_request"].loc[tables["footage_request"]["response_id"] == r.id, "id"]
        )
    triaged = files[files["triage"].notna()]
    for f in triaged.itertuples():
        action = "evidence_accepted" if f.triage == "accepted" else "evidence_declined"
        rows = log[(log["action"] == action) & log["detail"].str.contains(f.public_id)]
        assert len(rows) == 1
        row = rows.iloc[0]
        detail = json.loads(row["detail"])
        case_ref = resp.set_index("id").loc[f.response_id, "case_ref"]
        assert (row["user_id"], row["case_ref"], row["occurred_at"]) == (officer, case_ref, f.triaged_at)
        assert detail["case_id"] == cases[(case_ref, officer)] and detail["sha256"] == f.sha256
        viewed = log[(log["action"] == "evidence_viewed") & log["detail"].str.contains(f.public_id)]
        assert len(viewed) == 1 and viewed["occurred_at"].iloc[0] < f.triaged_at and viewed["reason"].iloc[0]
    # the owner's answer is not also logged as an officer's status change
    answered_ids = set(tables["footage_request"].loc[tables["footage_request"]["response_id"].notna(), "id"])
    changes = log[log["action"] == "request_status"]
    assert not answered_ids & {json.loads(d)["request_id"] for d in changes["detail"]}


# --------------------------------------------------------------------------- determinism


def _dump(engine) -> dict[str, list[tuple]]:
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            cols = [c for c in table.c if not (table.name == "app_user" and c.name == "password_hash")]
            out[table.name] = [tuple(r) for r in conn.execute(sa.select(*cols).order_by(*cols)).all()]
    return out


def _store_files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _sha256(p) for p in sorted((root / "sha256").rglob("*")) if p.is_file()}


def test_a_second_build_gives_the_same_rows_and_the_same_bytes(demo, tmp_path, reference):
    engine, _, evidence_dir = demo
    twin, _ = _build(tmp_path, reference)
    try:
        a, b = _dump(engine), _dump(twin)
    finally:
        twin.dispose()
    assert a["evidence_file"] and a["case_file"]
    for name in a:
        assert a[name] == b[name], f"table {name} differs"
    assert _store_files(evidence_dir) == _store_files(tmp_path / "evidence") != {}
