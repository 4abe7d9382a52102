"""Issue 15, item 12: no id a user sees carries order or time (promise 3).

Camera and request ids were sequential: in a demo with a staff pilot, the lowest camera ids were
exactly the pilot's registrations, and officers saw them in search results, case CSVs and audit
rows. Here an officer and an auditor go through the API, the search page's callbacks, My cases'
CSV and the audit export on a demo registry with a pilot, and every camera and request id they
are shown is checked against the truth worked out from the database: it is the camera's random
public id, never its internal id, and the public ids (and registration references) have no rank
correlation with registration time, the pilot's no different from the rest.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from dashboard.pages import search
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, Camera, FootageRequest, Registrant, Site
from dashboard.registry.public_ids import ALPHABET, CAMERA_PATTERN, REQUEST_PATTERN
from dashboard.security.accounts import issue_token
from tests.dash_requests import post_with_values
from tests.direct_calls import as_text, signed_in
from tests.integration.conftest import login

REASON = "Burglary reported at a house in this street overnight"
CASE = "CR-2026-012012"
PILOT_START, PUBLIC_LAUNCH = dt.date(2026, 4, 13), dt.date(2026, 7, 6)
CAMERA_ACTIONS = {
    "search",
    "reveal_contact",
    "reveal_refused",
    "request_created",
    "request_refused",
    "request_status",
    "export",
    "export_refused",
}


@pytest.fixture
def demo(runtime, demo_of):
    from dashboard.application import create_app

    # Enough registrations for a staff pilot of some size (a few per cent of them).
    demo_of(
        runtime,
        seed=11,
        registrations=2500,
        as_of=dt.date(2026, 11, 29),
        pilot_start=PILOT_START,
        public_launch=PUBLIC_LAUNCH,
    )
    with transaction(runtime.sessions) as s:
        token = issue_token(s, "officer1")
    app = create_app(runtime)
    app.server.config["TESTING"] = True
    return app, {"Authorization": f"Bearer {token}"}


def _truth(runtime) -> pd.DataFrame:
    """Every camera: internal id, public id and when its registration was made (from the database)."""
    with runtime.engine.connect() as conn:  # every column of camera, whatever the schema version
        frame = pd.read_sql(
            sa.text(
                "SELECT c.*, r.consent_at AS registered_at, r.reference FROM camera c "
                "JOIN site s ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id"
            ),
            conn,
        )
    frame["registered_at"] = pd.to_datetime(frame["registered_at"], utc=True)
    frame["pilot"] = frame["registered_at"] < pd.Timestamp(PUBLIC_LAUNCH, tz="UTC")
    return frame


def _registered_at(truth: pd.DataFrame, shown: list) -> pd.Series:
    """When the camera behind each shown id was registered: a text id is a public id, a number the
    internal id (what the old pages showed)."""
    by_id = truth.set_index("id")["registered_at"]
    by_public = truth.set_index("public_id")["registered_at"] if "public_id" in truth else pd.Series(dtype=object)
    return pd.Series([by_public[v] if isinstance(v, str) else by_id[int(v)] for v in shown])


def _order(values: list) -> list:
    """The order a shown id reveals: a code's value (base 31), a number as itself."""
    return [_code_value(v) if isinstance(v, str) else int(v) for v in values]


def _code_value(text: str) -> int:
    """A code's characters as a number (base 31): the order an id would reveal, if it had one."""
    value = 0
    for ch in text.split("-", 1)[1]:
        value = value * len(ALPHABET) + ALPHABET.index(ch)
    return value


def _spearman(a, b) -> float:
    return float(pd.Series(a).rank().corr(pd.Series(b).rank()))


def _callback(client, app, output_prefix: str, values: dict, trigger: str):
    return post_with_values(client, app, output_prefix, values, trigger)


def _busiest_sites(runtime, n: int) -> list[tuple[float, float]]:
    """Positions of active sites with the most cameras within about a kilometre (searches find many)."""
    with runtime.sessions() as s:
        sites = pd.DataFrame(
            s.execute(
                sa.select(Site.lat, Site.lon)
                .join(Registrant, Registrant.id == Site.registrant_id)
                .where(Registrant.status == "active", Site.lat.is_not(None))
            ).all(),
            columns=["lat", "lon"],
        )
    near = [
        int(((sites.lat - r.lat) ** 2 + ((sites.lon - r.lon) * 0.6) ** 2 < 0.009**2).sum()) for r in sites.itertuples()
    ]
    best = sites.assign(near=near).sort_values("near", ascending=False)
    picked: list[tuple[float, float]] = []
    for r in best.itertuples():
        if all((r.lat - a) ** 2 + ((r.lon - b) * 0.6) ** 2 > 0.02**2 for a, b in picked):
            picked.append((float(r.lat), float(r.lon)))
        if len(picked) == n:
            break
    return picked


def _shown_everywhere(demo, runtime) -> dict[str, list[str]]:
    """What an officer and an auditor are shown, surface by surface: camera ids and request ids."""
    app, auth = demo
    api = app.server.test_client()
    shown: dict[str, list] = {
        "api_cameras": [],
        "page_cameras": [],
        "api_requests": [],
        "api_request_cameras": [],
        "csv_requests": [],
        "csv_cameras": [],
        "audit_cameras": [],
        "page_contacts": [],
    }
    sites = _busiest_sites(runtime, 5)
    for lat, lon in sites:
        near = api.get(
            "/api/v1/cameras/near",
            headers=auth,
            query_string={
                "lat": lat,
                "lon": lon,
                "radius_m": 1000,
                "at": "2026-11-20T21:30",
                "case_ref": CASE,
                "reason": REASON,
            },
        )
        assert near.status_code == 200, near.get_json()
        shown["api_cameras"] += [c["camera_id"] for c in near.get_json()["cameras"]]
    # The search page: its results grid, then a reveal and requests from the selected rows.
    page = app.server.test_client()
    login(page, "officer")
    lat, lon = sites[0]
    point = {"lat": lat, "lon": lon, "easting_m": 0.0, "northing_m": 0.0, "district": None, "label": "here"}
    with signed_in(app, "officer1"):
        found = search.search_cameras(1, point, "2026-11-20T21:30", 1000, CASE, REASON)
        rows, context = found["rows"], found["context"]
        shown["page_cameras"] = [r["camera_id"] for r in rows]
        reveal = search.show_contacts(1, rows[:2], context)
        shown["page_contacts"] = re.findall(r"Camera ([^\"<]+?)\"", as_text(reveal))
        asked = as_text(search.send_footage_requests(1, rows[:3], context, None, 30, 30, None, None))
    assert "3 footage requests recorded" in asked, asked[:500]
    # The API's requests: made from its own search's ids, and listed.
    made = api.post(
        "/api/v1/requests",
        headers=auth,
        json={
            "case_ref": CASE,
            "reason": REASON,
            "camera_ids": shown["api_cameras"][-2:],
            "incident_lat": sites[-1][0],
            "incident_lon": sites[-1][1],
            "incident_from": "2026-11-20T21:00",
            "incident_to": "2026-11-20T22:00",
        },
    )
    assert made.status_code == 201, made.get_json()
    listed = api.get("/api/v1/requests", headers=auth, query_string={"case_ref": CASE}).get_json()["requests"]
    shown["api_requests"] = [r["request_id"] for r in listed]
    shown["api_request_cameras"] = [r["camera_id"] for r in listed]
    # My cases: the request grid and the case's contact CSV (the page's callback functions, as officer1).
    from dashboard.pages import cases

    with signed_in(app, "officer1"):
        grid, _title = cases.show_case_requests([{"case_ref": CASE}])
        export, _message = cases.export_contact_list(1, [{"case_ref": CASE}], REASON)
    shown["cases_requests"] = [r["request_id"] for r in grid]
    shown["cases_cameras"] = [r["camera_id"] for r in grid]
    table = list(csv.DictReader(io.StringIO(export["content"])))
    shown["csv_requests"] = [r["request_id"] for r in table]
    shown["csv_cameras"] = [r["camera_id"] for r in table]
    # The auditor's export of today's rows: the subjects of the camera rows, and the ids in their detail.
    auditor = app.server.test_client()
    login(auditor, "auditor")
    today = dt.datetime.now(dt.UTC).date()
    audit_csv = auditor.get(f"/audit/export.csv?from={today - dt.timedelta(days=1)}&to={today + dt.timedelta(days=1)}")
    assert audit_csv.status_code == 200
    audit_rows = [
        r
        for r in csv.DictReader(io.StringIO(audit_csv.get_data(as_text=True)))
        if r["action"] in CAMERA_ACTIONS and r["username"] == "officer1"
    ]
    assert {"search", "reveal_contact", "request_created", "export"} <= {r["action"] for r in audit_rows}
    # ... and the auditor's page: its table rows of the same period (subjects shortened after 12).
    from dashboard.security import audit_review
    from dashboard.security.search_places import SearchPlaces

    with runtime.sessions() as s:
        page_rows = audit_review.log_page(
            s,
            audit_review.parse_filter(
                {
                    "from": str(today - dt.timedelta(days=1)),
                    "to": str(today + dt.timedelta(days=1)),
                    "user": "officer1",
                },
                runtime.reference,
            ),
            SearchPlaces(runtime.reference),
            page_size=200,
        ).rows
    for r in page_rows:
        if r["action"] in CAMERA_ACTIONS and r["subjects"]:
            shown.setdefault("audit_page_cameras", []).extend(re.sub(r" and \d+ more$", "", r["subjects"]).split(", "))
    for r in audit_rows:
        shown["audit_cameras"] += json.loads(r["subject_ids"] or "[]")
        detail = json.loads(r["detail"] or "{}")
        shown["audit_cameras"] += detail.get("likely_overwritten_camera_ids", [])
        shown.setdefault("audit_requests", []).extend(detail.get("request_ids", []))
    return shown


def test_every_id_shown_is_the_random_public_id_never_the_internal_one(demo, runtime):
    shown = _shown_everywhere(demo, runtime)
    for surface, values in shown.items():
        assert values and all(isinstance(v, str) and not v.isdigit() for v in values), (
            f"{surface} shows {values[:5]}: internal (sequential) ids"
        )
    truth = _truth(runtime)
    by_public = truth.set_index("public_id")["id"]
    with runtime.sessions() as s:
        requests = dict(s.execute(sa.select(FootageRequest.public_id, FootageRequest.id)).tuples().all())
    cameras_seen, requests_seen = set(), set()
    for surface, values in shown.items():
        assert values, f"nothing was shown on {surface}: the test would prove nothing"
        for value in values:
            assert isinstance(value, str), f"{surface} shows {value!r}, a number"
            if surface.endswith("_requests"):
                assert re.fullmatch(REQUEST_PATTERN, value) and value in requests, (surface, value)
                assert value != str(requests[value])
                requests_seen.add(value)
            else:
                assert re.fullmatch(CAMERA_PATTERN, value) and value in by_public.index, (surface, value)
                assert value != str(by_public[value])  # exact: a text code is never an integer id
                cameras_seen.add(value)
    # No string of digits (an internal id) anywhere in the officer's CSV or what the API listed.
    assert len(cameras_seen) >= 20 and len(requests_seen) >= 5


def test_shown_ids_and_references_carry_no_registration_order_or_pilot(demo, runtime):
    truth = _truth(runtime)
    assert truth["pilot"].sum() >= 50 and (~truth["pilot"]).sum() >= 50  # both groups present
    # The ids the officer saw through the API and the page: their order says nothing of when.
    seen = list(dict.fromkeys(_shown_everywhere(demo, runtime)["api_cameras"]))
    assert len(seen) >= 50
    rho_seen = _spearman(_order(seen), _registered_at(truth, seen).astype("int64"))
    assert abs(rho_seen) < 0.3, rho_seen
    # What the officer is shown is the public id (the test above), so the ids are judged over every
    # camera too: their order says nothing of when, or whether in the pilot.
    value = truth["public_id"].map(_code_value)
    when = truth["registered_at"].astype("int64")
    rho = _spearman(value, when)
    assert abs(rho) < 0.1, rho
    median_public = np.median(value[~truth["pilot"]])
    below = float((value[truth["pilot"]] < median_public).mean())
    assert 0.35 < below < 0.65, below  # the pilot's ids are not a low (or high) block
    # Registration references were random already: the same holds for them.
    refs = truth.drop_duplicates("reference")
    ref_value = refs["reference"].map(_code_value)
    assert abs(_spearman(ref_value, refs["registered_at"].astype("int64"))) < 0.1
    ref_below = float((ref_value[refs["pilot"]] < np.median(ref_value[~refs["pilot"]])).mean())
    assert 0.35 < ref_below < 0.65, ref_below


def test_the_api_and_the_page_take_public_ids_and_refuse_internal_ones(demo, runtime):
    app, auth = demo
    api = app.server.test_client()
    truth = _truth(runtime)
    with runtime.sessions() as s:
        before = s.scalar(sa.select(sa.func.count()).select_from(FootageRequest))
    internal = truth["id"].head(3).astype(int).tolist()
    body = {
        "case_ref": CASE,
        "reason": REASON,
        "camera_ids": internal,
        "incident_lat": 52.8,
        "incident_lon": -2.1,
        "incident_from": "2026-11-20T21:00",
        "incident_to": "2026-11-20T22:00",
    }
    refused = api.post("/api/v1/requests", headers=auth, json=body)
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == [
        {
            "field": "camera_ids",
            "message": (
                f"'{internal[0]}', '{internal[1]}', '{internal[2]}' are not camera ids: give the ids the search showed, "
                "such as CAM-7K3QX9P2."
            ),
        }
    ]
    as_text = api.post("/api/v1/requests", headers=auth, json={**body, "camera_ids": [str(i) for i in internal]})
    assert as_text.status_code == 422
    unknown = api.post("/api/v1/requests", headers=auth, json={**body, "camera_ids": ["CAM-22222222"]})
    assert unknown.status_code == 422 and "CAM-22222222" in unknown.get_json()["error"]
    # The request route takes the public id; the internal one, or an unknown code, is a 404.
    with runtime.sessions() as s:
        some_request = s.execute(sa.select(FootageRequest.id, FootageRequest.public_id).limit(1)).one()
    for path in (str(some_request.id), "REQ-22222222", "<script>"):
        answer = api.patch(f"/api/v1/requests/{path}", headers=auth, json={"status": "withdrawn"})
        assert answer.status_code == 404 and answer.is_json, (path, answer.status_code)
    owner_only = api.patch(
        f"/api/v1/requests/{some_request.public_id.lower()}", headers=auth, json={"status": "withdrawn"}
    )
    # Found by its public id (any case), but another officer's request: the same 404 as an unknown id,
    # naming the id as typed (casework.own_request; both refusals are logged).
    assert owner_only.status_code == 404
    assert owner_only.get_json()["error"] == f"There is no footage request {some_request.public_id} among yours."
    # The page's reveal and request callbacks, forged with internal ids: a message, nothing shown or made.
    page = app.server.test_client()
    login(page, "officer")
    with runtime.sessions() as s:
        search_id = s.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "search").limit(1))
    context = {
        "search_id": search_id,
        "case_ref": CASE,
        "lat": 52.8,
        "lon": -2.1,
        "district": None,
        "at": "2026-11-20T21:30:00+00:00",
    }
    rows = [{"camera_id": i} for i in internal]
    for output, trigger in (
        ("search-contacts.children", "search-reveal.n_clicks"),
        ("search-request-msg.children", "search-request.n_clicks"),
    ):
        answer = _callback(
            page, app, output, {"search-grid.selectedRows": rows, "search-context.data": context}, trigger
        )
        assert answer.status_code == 200
        text = answer.get_data(as_text=True)
        assert "No camera with the ids" in text and "is on the register" in text and "@" not in text
    with runtime.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(FootageRequest)) == before


def test_the_migration_gives_every_existing_camera_and_request_a_random_public_id(tmp_path):
    """A register at revision 0009 (ids only) upgraded: every row gets a distinct, well-formed
    public id, none of them a number, and new rows get one too."""
    from alembic import command

    from dashboard.registry.database import alembic_config, make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(engine), "0009")
    now = "2026-05-01 10:00:00"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO app_user (id, username, password_hash, role, active, created_at) "
                "VALUES (1, 'o', 'x', 'officer', 1, :now)"
            ),
            {"now": now},
        )
        for i in range(1, 41):
            conn.execute(
                sa.text(
                    "INSERT INTO registrant (id, reference, name, email, consent_at, status, last_confirmed_at, "
                    "created_at, updated_at) VALUES (:i, :ref, 'A', 'a@example.org', :now, 'active', :now, :now, :now)"
                ),
                {"i": i, "ref": f"CCR-{i:06d}", "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO site (id, registrant_id, kind, district_code, created_at, updated_at) "
                    "VALUES (:i, :i, 'home', 'E07000197', :now, :now)"
                ),
                {"i": i, "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO camera (id, site_id, kind, active, created_at, updated_at) "
                    "VALUES (:i, :i, 'doorbell', 1, :now, :now)"
                ),
                {"i": i, "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO footage_request (id, case_ref, camera_id, requested_by_id, incident_lat, incident_lon, "
                    "incident_from, incident_to, status, sent_at, status_changed_at, footage_likely_overwritten) "
                    "VALUES (:i, 'CR-1', :i, 1, 52.8, -2.1, :now, :now, 'sent', :now, :now, 0)"
                ),
                {"i": i, "now": now},
            )
    migrate(engine)
    with engine.connect() as conn:
        for table, pattern in (("camera", CAMERA_PATTERN), ("footage_request", REQUEST_PATTERN)):
            rows = conn.execute(sa.text(f"SELECT id, public_id FROM {table}")).all()
            assert len(rows) == 40 and len({p for _, p in rows}) == 40
            assert all(re.fullmatch(pattern, p) for _, p in rows)
            with pytest.raises(sa.exc.IntegrityError):  # the column is unique and required
                conn.execute(sa.text(f"UPDATE {table} SET public_id = NULL WHERE id = 1"))
    from dashboard.registry.database import session_factory

    with transaction(session_factory(engine)) as s:
        s.add(Camera(site_id=1, kind="fixed", active=True))
    with engine.connect() as conn:
        assert re.fullmatch(
            CAMERA_PATTERN, conn.execute(sa.text("SELECT public_id FROM camera WHERE id = 41")).scalar()
        )
    engine.dispose()


def test_rows_logged_before_the_public_ids_are_shown_with_them(demo, runtime):
    """An old refusal named its cameras by integer id, in subject_ids, detail and its message: the
    auditor's page shows the public ids (the row itself is never rewritten: the hash chain)."""
    from dashboard.registry import audit
    from dashboard.security import audit_review
    from dashboard.security.search_places import SearchPlaces

    truth = _truth(runtime).set_index("id")["public_id"]
    a, b = (int(i) for i in truth.index[:2])
    with transaction(runtime.sessions) as s:
        row = audit.record(
            s,
            audit.Actor(None, "officer.old", "officer"),
            "request_refused",
            case_ref=CASE,
            reason=REASON,
            subject_ids=[a, b, 10**9],
            detail={
                "why": "not_searched",
                "not_searched": [a, b],
                "message": f"Cameras {a}, {b} were not found by your searches in case {CASE}.",
            },
        )
        row_id, stored = row.id, row.subject_ids
    with runtime.sessions() as s:
        shown = audit_review.rows_by_id(s, [row_id], SearchPlaces(runtime.reference))[0]
        assert s.get(AuditEvent, row_id).subject_ids == stored == json.dumps([str(a), str(b), str(10**9)])
    assert shown["subjects"] == f"{truth[a]}, {truth[b]}, erased"
    assert f"Cameras {truth[a]}, {truth[b]} were not found" in shown["detail"]
    assert f"[{truth[a]}, {truth[b]}]" in shown["detail"] and f" {a}," not in shown["detail"]
