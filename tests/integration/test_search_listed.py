"""A search lists at most ``MOST_LISTED`` cameras, the best-ranked, and says how many were within the
radius; only the listed cameras are logged as found, so only they can be revealed or requested from it.
Both backends, through the API, the search page's callback and the audit log.

The cut is made small here (``MOST_LISTED`` set to 5 in this process) so that a 300-registration demo
has more cameras than that within the radius. The count within the radius is checked against a second
method: every active camera's geodesic distance from the incident by pyproj's ``Geod`` (not the
search's own distance code); the listed cameras against the same search with no cut.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
import sqlalchemy as sa
from pyproj import Geod

from dashboard.config import load_settings
from dashboard.core.vocab import MOST_LISTED
from dashboard.pages import search as search_page
from dashboard.registry import camera_search
from dashboard.registry.camera_queries import active_camera_frame
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, Camera
from dashboard.runtime import prepare
from dashboard.security.accounts import issue_token
from tests.direct_calls import as_text, signed_in

REASON = "Burglary reported at a house in this street overnight"
RADIUS_M = 1000
CUT = 5


@pytest.fixture(params=["sqlite", "postgresql"])
def officer_api(request, tmp_path, reference_dir, reference):
    from dashboard.application import create_app
    from dashboard.demo import generate_demo

    url = f"sqlite:///{tmp_path / 'app.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    settings = load_settings({"DATABASE_URL": url, "REFERENCE_DATA_DIR": str(reference_dir), "SECRET_KEY": "k" * 48})
    rt = prepare(settings)
    generate_demo(
        rt.engine,
        reference,
        seed=15,
        registrations=300,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    with transaction(rt.sessions) as s:
        token = issue_token(s, "officer.demo")
    yield rt, create_app(rt), {"Authorization": f"Bearer {token}"}
    rt.engine.dispose()


def _within_by_geod(rt, lat: float, lon: float) -> int:
    """Active cameras within RADIUS_M of the point, by pyproj's geodesic on WGS84."""
    with rt.sessions() as s:
        cams = active_camera_frame(s)
    n = len(cams)
    _, _, dist = Geod(ellps="WGS84").inv(
        np.full(n, lon), np.full(n, lat), cams["lon"].to_numpy(), cams["lat"].to_numpy()
    )
    return int((dist <= RADIUS_M).sum())


def _densest_site(rt) -> tuple[float, float]:
    """The active site with the most active cameras within RADIUS_M (so the cut is surely reached)."""
    with rt.sessions() as s:
        cams = active_camera_frame(s)
    sample = cams.drop_duplicates("site_id").head(60)
    return max(((r.lat, r.lon) for r in sample.itertuples()), key=lambda p: _within_by_geod(rt, *p))


def _near(app, auth, lat: float, lon: float, case_ref: str):
    return app.server.test_client().get(
        "/api/v1/cameras/near",
        headers=auth,
        query_string={
            "lat": lat,
            "lon": lon,
            "radius_m": RADIUS_M,
            "at": "2026-11-20T21:30",
            "case_ref": case_ref,
            "reason": REASON,
        },
    )


def _request(app, auth, lat: float, lon: float, case_ref: str, camera_id: str):
    return app.server.test_client().post(
        "/api/v1/requests",
        headers=auth,
        json={
            "camera_ids": [camera_id],
            "case_ref": case_ref,
            "reason": REASON,
            "incident_lat": lat,
            "incident_lon": lon,
            "incident_from": "2026-11-20T21:00",
            "incident_to": "2026-11-20T22:00",
        },
    )


def _searches(rt, case_ref: str) -> list[AuditEvent]:
    with rt.sessions() as s:
        return s.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "search", AuditEvent.case_ref == case_ref)
            .order_by(AuditEvent.id)
        ).all()


def test_the_real_cut_is_a_thousand():
    # The figure the README, the API's description and the page's wording give.
    assert MOST_LISTED == camera_search.MOST_LISTED == 1000


def test_a_search_lists_the_best_and_counts_the_rest(officer_api, monkeypatch):
    rt, app, auth = officer_api
    lat, lon = _densest_site(rt)
    expected_within = _within_by_geod(rt, lat, lon)
    assert CUT < expected_within < MOST_LISTED, expected_within

    # With no cut reached: every camera within the radius is listed, and the count says so.
    whole = _near(app, auth, lat, lon, "CR-2026-000101")
    assert whole.status_code == 200, whole.get_json()
    whole = whole.get_json()
    assert whole["count"] == whole["within_radius"] == len(whole["cameras"]) == expected_within
    (uncut,) = _searches(rt, "CR-2026-000101")
    assert "within_radius" not in json.loads(uncut.detail)

    # With the cut at 5: the first 5 of the same ranking, each exactly as listed before; the rest counted.
    monkeypatch.setattr(camera_search, "MOST_LISTED", CUT)
    cut = _near(app, auth, lat, lon, "CR-2026-000102")
    assert cut.status_code == 200, cut.get_json()
    cut = cut.get_json()
    assert cut["count"] == len(cut["cameras"]) == CUT
    assert cut["within_radius"] == expected_within
    assert cut["cameras"] == whole["cameras"][:CUT]
    assert [c["rank"] for c in cut["cameras"]] == [1, 2, 3, 4, 5]

    # The log holds the listed cameras only, and how many were within the radius.
    (event,) = _searches(rt, "CR-2026-000102")
    detail = json.loads(event.detail)
    assert (detail["results"], detail["within_radius"]) == (CUT, expected_within)
    listed = [c["camera_id"] for c in cut["cameras"]]
    with rt.sessions() as s:
        internal = dict(s.execute(sa.select(Camera.public_id, Camera.id).where(Camera.public_id.in_(listed))).all())
    assert [int(i) for i in json.loads(event.subject_ids)] == [internal[p] for p in listed]

    # Only a listed camera can be asked for under that case: the sixth best was not shown, so not found.
    sixth = whole["cameras"][CUT]["camera_id"]
    refused = _request(app, auth, lat, lon, "CR-2026-000102", sixth)
    assert refused.status_code == 403, refused.get_json()
    assert refused.get_json()["error"] == (
        f"Camera {sixth} was not found by your searches in case CR-2026-000102 in the last 30 days; "
        "search again in this case to include it."
    )
    sent = _request(app, auth, lat, lon, "CR-2026-000102", listed[0])
    assert sent.status_code == 201, sent.get_json()
    assert [r["camera_id"] for r in sent.get_json()["requests"]] == [listed[0]]


def test_the_page_says_the_best_are_listed(officer_api, monkeypatch):
    rt, app, _ = officer_api
    lat, lon = _densest_site(rt)
    expected_within = _within_by_geod(rt, lat, lon)
    monkeypatch.setattr(camera_search, "MOST_LISTED", CUT)
    with signed_in(app, "officer", "officer.demo"):
        point = search_page.place_incident(
            1, None, {"latlng": {"lat": lat, "lng": lon}}, RADIUS_M, None, None, trigger=search_page.MAP
        )["point"]
        answer = search_page.search_cameras(1, point, "2026-11-20T21:30", RADIUS_M, "CR-2026-000103", REASON)
    summary = as_text(answer["summary"])
    assert f"{expected_within:,} registered cameras within 1,000 m" in summary
    assert f"the best {CUT} are listed" in summary and "Narrow the radius to list the others" in summary
    assert len(answer["rows"]) == CUT
    (event,) = _searches(rt, "CR-2026-000103")
    assert json.loads(event.detail)["within_radius"] == expected_within
