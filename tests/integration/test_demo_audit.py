"""The demo registry's audit log (``dashboard.demo.audit_history``) on a demo of a few thousand
registrations built once into a SQLite file: the chain verifies, the log tells the same story as
the registrations, footage requests and their events (checked row by row from those tables, not
from the generator's memory), searches found what the register held (checked with geodesic
distances from pyproj, not the generator's grid metres), nobody acts while logged out, the
flags module finds each kind of flag a handful of times, and no registrant's personal data is in
any row. The chain continues after the demo on both backends."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from pyproj import Geod

from dashboard.config import Settings
from dashboard.core import audit_rows
from dashboard.demo import audit_history, generate_demo
from dashboard.registry import audit
from dashboard.registry.database import make_engine, session_factory
from dashboard.registry.models import AuditEvent
from dashboard.security import audit_flags, audit_review

PILOT_START = dt.date(2026, 4, 13)
PUBLIC_LAUNCH = dt.date(2026, 7, 6)
AS_OF = dt.date(2026, 11, 29)
N = 3000
SEED = 2026
NOW = audit_review.uk_midnight(AS_OF)  # the demo's "today": every row lies before it
CASEWORK = ("search", "reveal_contact", "request_created", "request_status", "export")


@pytest.fixture(scope="module")
def demo(tmp_path_factory, reference):
    root = tmp_path_factory.mktemp("demo_audit")
    engine = make_engine(f"sqlite:///{root / 'demo.db'}")
    # with an evidence folder: owners answer officer.demo's latest cases through their links
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
    yield engine, summary
    engine.dispose()


@pytest.fixture(scope="module")
def tables(demo) -> dict[str, pd.DataFrame]:
    engine, _ = demo
    return _read_tables(engine)


def _read_tables(engine) -> dict[str, pd.DataFrame]:
    names = ("audit_event", "footage_request", "footage_request_event", "registrant", "site", "camera", "app_user")
    with engine.connect() as conn:
        frames = {n: pd.read_sql_query(sa.text(f"SELECT * FROM {n} ORDER BY id"), conn) for n in names}
    for frame in frames.values():
        for column in frame.columns:
            if column.endswith("_at") or column in ("at", "incident_from", "incident_to"):
                frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
    return frames


def _ids(text: str | None) -> list[int]:
    return [int(i) for i in json.loads(text)] if text else []


def _canonical(detail: str) -> str:
    return json.dumps(json.loads(detail), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- the chain


def test_the_log_verifies_is_in_time_order_and_lies_before_as_of(demo, tables):
    engine, summary = demo
    log = tables["audit_event"]
    with session_factory(engine)() as s:
        check = audit.verify_chain(s)
    assert check.intact and check.rows_checked == len(log) == summary.audit_events
    assert log["id"].tolist() == list(range(1, len(log) + 1))
    assert log["occurred_at"].is_monotonic_increasing
    created = tables["app_user"]["created_at"].min()
    assert log["occurred_at"].min() == created and log["occurred_at"].max() < NOW
    # details are stored exactly as audit.record stores them: canonical JSON
    details = log["detail"].dropna()
    assert (details.map(_canonical) == details).all()
    subjects = log["subject_ids"].dropna()
    assert (subjects.map(lambda t: json.dumps([str(i) for i in json.loads(t)])) == subjects).all()


def test_canonical_row_is_the_text_audit_hashes():
    tricky = [
        (
            "2026-07-01T10:00:00.000000+00:00",
            None,
            "public",
            None,
            "registration_created",
            None,
            None,
            '["1"]',
            '{"cameras":2,"via":"form"}',
        ),
        (
            "2026-07-01T10:00:00.000000+00:00",
            7,
            "o'brien.demo",
            "officer",
            "search",
            "CR-2026-0001",
            'Théft "quoted" \\ back\tslash\nnew line \u2028 emoji 🚲 \x01',
            "[]",
            None,
        ),
    ]
    for values in tricky:
        keys = ("occurred_at", "user_id", "username", "role", "action", "case_ref", "reason", "subject_ids", "detail")
        fields = dict(zip(keys, values))
        assert audit_rows.canonical_row(*values) == json.dumps(
            fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        )
        assert (
            audit.row_digest("f" * 64, fields)
            == hashlib.sha256(("f" * 64 + "|" + audit_rows.canonical_row(*values)).encode()).hexdigest()
        )


# --------------------------------------------------------------------------- the same story as the tables


def test_registrations_reconfirmations_and_withdrawals_are_the_publics(tables):
    log, reg = tables["audit_event"], tables["registrant"]
    cameras = tables["camera"].groupby("site_id").size()  # site i belongs to registrant i
    public = log[log["username"] == "public"]
    assert public["user_id"].isna().all() and public["role"].isna().all()
    # owners answering footage requests through their links act in a case; registrations do not
    answers = public["action"].isin(["response_opened", "footage_uploaded", "response_answered"])
    assert public.loc[answers, "case_ref"].notna().all() and answers.any()
    public = public[~answers]
    assert public["case_ref"].isna().all()
    made = public[public["action"] == "registration_created"]
    assert [_ids(t) for t in made["subject_ids"]] == [[i] for i in reg["id"]]
    assert made["occurred_at"].tolist() == reg["consent_at"].tolist()
    assert [json.loads(d) for d in made["detail"]] == [{"cameras": int(cameras[i]), "via": "form"} for i in reg["id"]]
    again = public[public["action"] == "registration_reconfirmed"]
    later = reg[reg["last_confirmed_at"] > reg["consent_at"]]
    assert [_ids(t) for t in again["subject_ids"]] == [[i] for i in later.sort_values("last_confirmed_at")["id"]]
    gone = public[public["action"] == "registration_withdrawn"]
    withdrawn = reg[reg["status"] == "withdrawn"].sort_values("withdrawn_at")
    assert (withdrawn["end_reason"] == "owner").all() and len(withdrawn) > 0
    assert [_ids(t) for t in gone["subject_ids"]] == [[i] for i in withdrawn["id"]]
    assert gone["occurred_at"].tolist() == withdrawn["withdrawn_at"].tolist()
    assert set(public["action"]) == {"registration_created", "registration_reconfirmed", "registration_withdrawn"}


def test_every_footage_request_has_its_request_created_row(tables):
    log, req = tables["audit_event"], tables["footage_request"]
    users = tables["app_user"].set_index("id")
    created = log[log["action"] == "request_created"]
    by_request = {}
    for row in created.itertuples():
        detail = json.loads(row.detail)
        assert _ids(row.subject_ids) == [int(c) for c in req.set_index("id").loc[detail["request_ids"], "camera_id"]]
        for rid in detail["request_ids"]:
            assert rid not in by_request
            by_request[rid] = (row, detail)
    assert sorted(by_request) == req["id"].tolist()
    for r in req.itertuples():
        row, detail = by_request[r.id]
        assert (row.case_ref, row.user_id, row.username, row.role) == (
            r.case_ref,
            r.requested_by_id,
            users.loc[r.requested_by_id, "username"],
            "officer",
        )
        assert str(r.camera_id) in json.loads(row.subject_ids)
        assert row.occurred_at == r.sent_at
        assert detail["sent_at"] == r.sent_at.isoformat(timespec="seconds")
        assert detail["incident_from"] == r.incident_from.isoformat(timespec="seconds")
        assert detail["incident_to"] == r.incident_to.isoformat(timespec="seconds")
        assert (r.camera_id in detail["likely_overwritten_camera_ids"]) == bool(r.footage_likely_overwritten)


def test_each_status_event_after_sending_has_its_request_status_row(tables):
    """The officer's status changes each have their ``request_status`` row; an owner's answer through
    their link (an event by nobody) has the public's ``response_answered`` row instead."""
    log, req, ev = tables["audit_event"], tables["footage_request"].set_index("id"), tables["footage_request_event"]
    changes = log[log["action"] == "request_status"]
    owners = ev[ev["by_user_id"].isna()]
    assert len(owners) > 0 and (owners["status"] == "footage_provided").all()
    answered = log[log["action"] == "response_answered"]
    assert (answered["username"] == "public").all()
    got = sorted(
        (rid, r.occurred_at, r.case_ref) for r in answered.itertuples() for rid in json.loads(r.detail)["request_ids"]
    )
    assert got == sorted((e.request_id, e.at, req.loc[e.request_id, "case_ref"]) for e in owners.itertuples())
    later = ev[(ev["status"] != "sent") & ev["by_user_id"].notna()].sort_values(["at", "id"])
    assert len(changes) == len(later) > 0
    got = sorted(
        (
            json.loads(r.detail)["request_id"],
            r.occurred_at,
            json.loads(r.detail)["to"],
            r.reason,
            r.user_id,
            r.case_ref,
            r.subject_ids,
            json.loads(r.detail)["footage_useful"],
        )
        for r in changes.itertuples()
    )
    want = sorted(
        (
            e.request_id,
            e.at,
            e.status,
            e.note,
            e.by_user_id,
            req.loc[e.request_id, "case_ref"],
            f'["{req.loc[e.request_id, "camera_id"]}"]',
            bool(req.loc[e.request_id, "footage_useful"]) if e.status == "footage_provided" else None,
        )
        for e in later.itertuples()
    )
    assert got == want


def test_each_case_is_searched_revealed_and_requested_with_one_reason(tables):
    log, req = tables["audit_event"], tables["footage_request"]
    site_of = tables["camera"].set_index("id")["site_id"]
    registrant_of = tables["site"].set_index("id")["registrant_id"]
    withdrawn_at = site_of.map(registrant_of).map(tables["registrant"].set_index("id")["withdrawn_at"])
    work = log[log["action"].isin(CASEWORK)]
    for case_ref, rows in req.groupby("case_ref"):
        case = work[work["case_ref"] == case_ref]
        officer = rows["requested_by_id"].iloc[0]
        first_sent = rows["sent_at"].min()
        searches = case[
            (case["action"] == "search") & (case["user_id"] == officer) & (case["occurred_at"] < first_sent)
        ]
        assert len(searches) >= 1, case_ref
        last = searches.iloc[-1]
        found = set(_ids(last["subject_ids"]))
        assert set(rows["camera_id"]) <= found  # the requested cameras came from the search
        assert json.loads(last["detail"])["results"] == len(_ids(last["subject_ids"]))
        reveals = case[case["action"] == "reveal_contact"]
        for r in reveals.itertuples():
            assert set(_ids(r.subject_ids)) <= found and r.occurred_at > last["occurred_at"]
            assert json.loads(r.detail) == {"cameras": len(_ids(r.subject_ids))}
        own = case[case["action"].isin(["reveal_contact", "request_created"])]
        assert set(own["reason"]) == {last["reason"]} and (own["user_id"] == officer).all()
        for e in case[case["action"] == "export"].itertuples():
            detail = json.loads(e.detail)
            assert detail["request_ids"] == sorted(rows["id"]) and detail["rows"] == len(rows)
            assert e.occurred_at > rows["sent_at"].max() and e.reason
            gone = rows["camera_id"].map(withdrawn_at) <= e.occurred_at  # erased by then (NaT: never)
            assert detail["erased_rows"] == int(gone.sum())
            assert _ids(e.subject_ids) == list(dict.fromkeys(rows.sort_values("id").loc[~gone, "camera_id"]))


def test_an_export_after_an_owner_withdrew_discloses_only_the_others():
    """Two requested cameras at two sites; the second owner withdraws a minute after the requests
    went out (08:00 UK time), so the export (office hours, later) has one erased row."""
    officer = audit_history.DemoUser(1, "officer.demo", "officer")
    sent = np.datetime64("2026-10-05T07:00:00", "us")  # 08:00 BST
    h = audit_history.HistoryInput(
        phases=None,
        users=(officer,),
        new_users=(),
        users_created_at=np.datetime64("2026-03-30T08:00", "us"),
        consent_at=np.array(["2026-08-01", "2026-08-02"], dtype="datetime64[us]"),
        withdrawn_at=np.array(["NaT", sent + np.timedelta64(1, "m")], dtype="datetime64[us]"),
        last_confirmed_at=np.array(["2026-08-01", "2026-08-02"], dtype="datetime64[us]"),
        easting_m=np.array([400_000.0, 400_060.0]),
        northing_m=np.array([300_000.0, 300_000.0]),
        camera_site=np.array([0, 1]),
        campaign_created_at=np.array([], dtype="datetime64[us]"),
        requests=pd.DataFrame(),
        events=pd.DataFrame(),
    )
    at = int(sent.astype(np.int64))
    case = audit_history._Case(
        ref="CR-2026-000123",
        officer=officer,
        category="Burglary",
        requests=[(1, 1, at, False, 0), (2, 2, at, False, 1)],
        incident_from=at - 10**10,
        incident_to=at - 10**9,
        first_sent=at,
        last_sent=at,
        e=400_030.0,
        n=300_000.0,
        lat=52.6,
        lon=-2.0,
        incident_at=at - 10**10,
    )
    log = audit_history._Log({1: officer})
    audit_history._export(
        np.random.default_rng(1), audit_history._Register(h), log, case, at + 30 * 86_400 * 10**6, night=False
    )
    (row,) = log.rows
    assert row[4] == "export" and row[0] > at + 60 * 10**6 and row[5] == "CR-2026-000123"
    assert row[7] == '["1"]' and json.loads(row[8]) == {"rows": 2, "erased_rows": 1, "request_ids": [1, 2]}


def test_searches_found_the_cameras_on_the_register_then(tables):
    """Every search's cameras against geodesic distances from its centre (pyproj), for the
    sites still holding a place: those found lie within the radius (plus a metre or two for the
    centre's 5 decimals), and every camera on the register then, well within it, was found."""
    log, site, cam, reg = tables["audit_event"], tables["site"], tables["camera"], tables["registrant"]
    cams = cam.merge(
        site[["id", "lat", "lon", "registrant_id"]], left_on="site_id", right_on="id", suffixes=("", "_site")
    ).merge(reg[["id", "consent_at", "withdrawn_at"]], left_on="registrant_id", right_on="id", suffixes=("", "_reg"))
    placed = cams[cams["lat"].notna()]  # withdrawn sites have no place left to check against
    geod = Geod(ellps="WGS84")
    searches = log[log["action"] == "search"]
    assert len(searches) > 20
    for s in searches.itertuples():
        detail = json.loads(s.detail)
        assert set(detail) == {"centre", "radius_m", "incident_at", "results", "source"} and detail["source"] == "page"
        lat, lon, radius = detail["centre"]["lat"], detail["centre"]["lon"], detail["radius_m"]
        assert round(lat, 5) == lat and round(lon, 5) == lon and isinstance(radius, float)
        found = set(_ids(s.subject_ids))
        assert len(found) == detail["results"] == len(_ids(s.subject_ids))
        _, _, dist = geod.inv(np.full(len(placed), lon), np.full(len(placed), lat), placed["lon"], placed["lat"])
        on_register = (placed["consent_at"] < s.occurred_at).to_numpy()
        near = set(placed.loc[(dist <= radius - 3) & on_register, "id"].astype(int))
        assert near <= found, s.id
        found_placed = placed["id"].isin(found).to_numpy()
        assert (dist[found_placed] <= radius + 3).all(), s.id
        assert on_register[found_placed].all(), s.id
        every = cams.set_index("id").loc[sorted(found)]
        assert (every["consent_at"] < s.occurred_at).all()
        assert (every["withdrawn_at"].isna() | (every["withdrawn_at"] > s.occurred_at)).all()


def test_nobody_acts_while_logged_out(tables):
    """Every action of a user falls within one of their sessions: after a login with no logout
    between, and within the longest a session may last (``SESSION_MAX_HOURS``, default 12)."""
    log = tables["audit_event"]
    longest = pd.Timedelta(hours=Settings.session_max_hours)
    users = log[log["user_id"].notna()]
    for _uid, rows in users.groupby("user_id"):
        logged_in_at = None
        for r in rows.sort_values("id").itertuples():
            if r.action == "login":
                logged_in_at = r.occurred_at
            elif r.action == "logout":
                assert logged_in_at is not None, r.id
                logged_in_at = None
            else:
                assert logged_in_at is not None and r.occurred_at - logged_in_at <= longest, r.id
    last_login = users[users["action"] == "login"].groupby("username")["occurred_at"].max()
    app_user = tables["app_user"].set_index("username")
    assert (app_user.loc[last_login.index, "last_login_at"] == last_login).all()
    failed = log[log["action"] == "login_failed"]
    assert 3 <= len(failed) <= 60 and failed["user_id"].isna().all() and failed["role"].isna().all()
    assert {"admin", "root"} <= set(failed["username"])  # a night of guessing at names that are not accounts
    made = log[log["action"] == "user_created"]
    assert sorted(json.loads(d)["username"] for d in made["detail"]) == sorted(app_user.index)
    assert (made["username"] == "system").all()


# --------------------------------------------------------------------------- flags


@pytest.mark.parametrize("days", [30, 92])
def test_flags_find_a_handful_of_each_kind(demo, reference, days):
    engine, _ = demo
    f = audit_review.AuditFilter(AS_OF - dt.timedelta(days=days - 1), AS_OF)
    with session_factory(engine)() as s:
        report = audit_flags.review_flags(s, f, NOW, audit_review.SearchPlaces(reference))
    kinds = Counter(flag.kind for flag in report.flags)
    assert set(kinds) == set(audit_flags.KINDS), kinds
    assert max(kinds.values()) <= 10, kinds
    vague = [flag for flag in report.flags if flag.kind == "vague_reason"]
    assert all(any(v in flag.why for v in audit_history.VAGUE_REASONS) for flag in vague)


def test_the_analyst_and_the_lead_query_figures_and_one_burst_stands_out(demo, tables, reference):
    """Figure queries are the analyst's and the lead's only, shaped as ``query_log`` writes them,
    after the pilot began; the one burst is the planted run of uptake queries with only the end
    date moving, worked out here from the rows themselves."""
    log = tables["audit_event"]
    figures = log[log["action"].isin(["aggregate_query", "aggregate_export"])]
    assert set(figures["username"]) == {"analyst.demo", "lead.demo"} and len(figures) > 200
    assert set(figures["role"]) == {"analyst", "lead"} and figures["case_ref"].isna().all()
    assert (figures["occurred_at"] >= pd.Timestamp(PILOT_START, tz="Europe/London").tz_convert("UTC")).all()
    for action, text in zip(figures["action"], figures["detail"]):
        detail = json.loads(text)
        assert set(detail) in ({"page", "callback", "inputs", "status"}, {"route", "params", "status"}), detail
        assert action == "aggregate_query" or not detail["route"].startswith("/api/")
    engine, _ = demo
    f = audit_review.AuditFilter(AS_OF - dt.timedelta(days=29), AS_OF)
    with session_factory(engine)() as s:
        report = audit_flags.review_flags(s, f, NOW, audit_review.SearchPlaces(reference))
    (burst,) = [fl for fl in report.flags if fl.kind == "query_burst"]
    rows = log.set_index("id").loc[list(burst.row_ids)]
    params = [json.loads(d)["params"] for d in rows["detail"]]
    assert burst.users == ("lead.demo",) and len(rows) >= 20
    assert {json.loads(d)["route"] for d in rows["detail"]} == {"/api/v1/metrics/uptake"}
    assert len({p["from"] for p in params}) == 1 and len({p["to"] for p in params}) == len(rows)
    assert rows["occurred_at"].max() - rows["occurred_at"].min() <= pd.Timedelta(hours=1)


def test_specific_reasons_are_not_vague_and_vague_ones_are():
    specific = [r for reasons in audit_history.CASE_REASONS.values() for r in reasons]
    specific += [*audit_history.RURAL_REASONS, *audit_history.REPEAT_REASONS, audit_history.COLLEAGUE_REASON]
    assert [r for r in specific if audit_flags.vague_because(r)] == []
    assert all(audit_flags.vague_because(r) and len(r) >= 10 for r in audit_history.VAGUE_REASONS)


# --------------------------------------------------------------------------- no personal data


def test_no_registrants_personal_data_in_any_audit_row(tables):
    log, reg, site = tables["audit_event"], tables["registrant"], tables["site"]
    text = "\n".join(
        log[c].dropna().astype(str).str.cat(sep="\n")
        for c in ("username", "case_ref", "reason", "subject_ids", "detail")
    )
    assert "@" not in text
    assert not re.search(r"07700 ?900|01632 ?960", text)
    assert not re.search(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b", text)  # no postcode of any kind
    words = re.findall(r"[A-Za-z0-9']+", text)
    pairs = {" ".join(p) for p in zip(words, words[1:])}
    triples = {" ".join(t) for t in zip(words, words[1:], words[2:])}
    names = set(reg["name"].dropna())
    addresses = set(site["address"].dropna())
    assert names and addresses
    assert not names & pairs
    assert not {a for a in addresses if a in triples or a in pairs}


# --------------------------------------------------------------------------- after the demo


def test_the_log_continues_after_the_demo_on_each_backend(engine, reference):
    with session_factory(engine)() as s:  # a row before the demo: an administrator created first
        first = audit.record(s, audit.SYSTEM, "user_created", subject_ids=[99], detail={"username": "boss"})
        s.commit()
        first_hash = first.row_hash
    summary = generate_demo(
        engine, reference, seed=3, registrations=300, as_of=AS_OF, pilot_start=PILOT_START, public_launch=PUBLIC_LAUNCH
    )
    with session_factory(engine)() as s:
        assert s.scalar(sa.select(AuditEvent.prev_hash).where(AuditEvent.id == 2)) == first_hash
        later = audit.record(s, audit.SYSTEM, "audit_verified")
        s.commit()
        assert later.id == summary.audit_events + 2
        check = audit.verify_chain(s)
    assert check.intact and check.rows_checked == summary.audit_events + 2


def test_a_search_with_more_cameras_than_it_lists(tmp_path, reference, monkeypatch):
    """As the product does (``MOST_LISTED``), a demo search lists at most so many cameras and says how
    many were within the radius; what the case revealed and asked for is among those listed (kept even
    past the cut: the product's cut is 1,000 and a case asks for a few). The cut is made 1 here so that
    a small demo reaches it."""
    monkeypatch.setattr(audit_history, "MOST_LISTED", 1)
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    generate_demo(
        engine, reference, seed=SEED, registrations=N, as_of=AS_OF, pilot_start=PILOT_START, public_launch=PUBLIC_LAUNCH
    )
    tables = _read_tables(engine)
    engine.dispose()
    test_each_case_is_searched_revealed_and_requested_with_one_reason(tables)
    log, site, cam, reg = tables["audit_event"], tables["site"], tables["camera"], tables["registrant"]
    used = log[log["action"].isin(["reveal_contact", "request_created"])]
    used = {ref: {i for t in rows["subject_ids"] for i in _ids(t)} for ref, rows in used.groupby("case_ref")}
    cams = cam.merge(
        site[["id", "lat", "lon", "registrant_id"]], left_on="site_id", right_on="id", suffixes=("", "_site")
    ).merge(reg[["id", "consent_at", "withdrawn_at"]], left_on="registrant_id", right_on="id", suffixes=("", "_reg"))
    geod = Geod(ellps="WGS84")
    cut = 0
    for s in log[log["action"] == "search"].itertuples():
        detail = json.loads(s.detail)
        listed = _ids(s.subject_ids)
        assert len(listed) == detail["results"] <= max(1, len(used.get(s.case_ref, ()))), s.id
        if "within_radius" not in detail:
            continue
        cut += 1
        assert detail["within_radius"] > detail["results"]
        # How many were within: every camera on the register then, by pyproj's distance from the centre
        # (a metre or two either way for the centre's 5 decimals; withdrawn sites have no place left).
        then = cams[(cams["consent_at"] < s.occurred_at) & ~(cams["withdrawn_at"] <= s.occurred_at)]
        placed = then[then["lat"].notna()]
        lat, lon, radius = detail["centre"]["lat"], detail["centre"]["lon"], detail["radius_m"]
        _, _, dist = geod.inv(np.full(len(placed), lon), np.full(len(placed), lat), placed["lon"], placed["lat"])
        loose = int((dist <= radius + 3).sum()) + len(then) - len(placed)
        assert int((dist <= radius - 3).sum()) <= detail["within_radius"] <= loose, s.id
    assert cut > 5, cut
