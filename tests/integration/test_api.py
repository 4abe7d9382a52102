"""The JSON API over a small demo registry: shapes match the documented schemas, bad input is a 422."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from dashboard.api.schemas import NearResponse, RequestList
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, Site
from dashboard.security.accounts import issue_token

REASON = "Burglary reported at a house in this street overnight"


@pytest.fixture
def demo_app(runtime, demo_of):
    from dashboard.application import create_app

    demo_of(
        runtime,
        seed=11,
        registrations=400,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    with transaction(runtime.sessions) as s:
        token = issue_token(s, "officer.demo")
    app = create_app(runtime)
    return app, {"Authorization": f"Bearer {token}"}


def _site(runtime) -> tuple[float, float]:
    with runtime.sessions() as s:
        return s.execute(sa.select(Site.lat, Site.lon).where(Site.lat.is_not(None)).limit(1)).one()


def test_cameras_near_matches_its_schema_and_is_logged(demo_app, runtime):
    app, auth = demo_app
    lat, lon = _site(runtime)
    client = app.server.test_client()
    response = client.get(
        "/api/v1/cameras/near",
        headers=auth,
        query_string={
            "lat": lat,
            "lon": lon,
            "radius_m": 300,
            "at": "2026-11-20T21:30",
            "case_ref": "cr-2026-000777",
            "reason": REASON,
        },
    )
    assert response.status_code == 200, response.get_json()
    body = NearResponse.model_validate(response.get_json())
    assert body.count == len(body.cameras) >= 1 and body.case_ref == "CR-2026-000777"
    assert [c.rank for c in body.cameras] == list(range(1, body.count + 1))
    assert body.cameras[0].distance_m <= 300
    with runtime.sessions() as s:  # the demo's own history has searches too: this one is the newest
        event = s.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "search", AuditEvent.case_ref == "CR-2026-000777")
        ).one()
        newest = s.scalar(sa.select(sa.func.max(AuditEvent.id)))
    assert (event.case_ref, event.reason, event.username) == ("CR-2026-000777", REASON, "officer.demo")
    assert event.id == newest


@pytest.mark.parametrize(
    "change,field",
    [
        ({"radius_m": 20}, "radius_m"),
        ({"radius_m": 5000}, "radius_m"),
        ({"lat": 91}, "lat"),
        ({"lon": "west"}, "lon"),
        ({"case_ref": "12345"}, "case_ref"),
        ({"reason": "x"}, "reason"),
        ({"at": "last tuesday"}, "at"),
        ({"at": "2099-01-01T00:00"}, "at"),
        ({"lat": 51.5074, "lon": -0.1278}, "lat"),  # London: outside the force area
    ],
)
def test_bad_search_input_is_a_422_naming_the_field_and_writes_nothing(demo_app, runtime, change, field):
    app, auth = demo_app
    lat, lon = _site(runtime)
    with runtime.sessions() as s:
        before = s.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    query = {
        "lat": lat,
        "lon": lon,
        "radius_m": 200,
        "at": "2026-11-20T21:30",
        "case_ref": "CR-2026-000777",
        "reason": REASON,
        **change,
    }
    response = app.server.test_client().get("/api/v1/cameras/near", headers=auth, query_string=query)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert field in {e["field"] for e in errors} and all(e["message"] for e in errors)
    with runtime.sessions() as s:  # nothing written: not a search row, not any row
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before


def test_requests_create_list_update(demo_app, runtime):
    app, auth = demo_app
    lat, lon = _site(runtime)
    client = app.server.test_client()
    near = client.get(
        "/api/v1/cameras/near",
        headers=auth,
        query_string={
            "lat": lat,
            "lon": lon,
            "radius_m": 300,
            "at": "2026-11-20T21:30",
            "case_ref": "CR-2026-000778",
            "reason": REASON,
        },
    ).get_json()
    ids = [c["camera_id"] for c in near["cameras"][:2]]
    created = client.post(
        "/api/v1/requests",
        headers=auth,
        json={
            "case_ref": "CR-2026-000778",
            "reason": REASON,
            "camera_ids": ids,
            "incident_lat": lat,
            "incident_lon": lon,
            "incident_from": "2026-11-20T21:00",
            "incident_to": "2026-11-20T22:00",
            "crime_category": "Burglary",
        },
    )
    assert created.status_code == 201, created.get_json()
    body = RequestList.model_validate(created.get_json())
    assert sorted(r.camera_id for r in body.requests) == sorted(ids)
    again = client.post(
        "/api/v1/requests",
        headers=auth,
        json={
            "case_ref": "CR-2026-000778",
            "reason": REASON,
            "camera_ids": ids[:1],
            "incident_lat": lat,
            "incident_lon": lon,
            "incident_from": "2026-11-20T21:00",
            "incident_to": "2026-11-20T22:00",
        },
    )
    assert again.status_code == 422  # already requested in this case
    listed = client.get("/api/v1/requests", headers=auth, query_string={"case_ref": "CR-2026-000778"}).get_json()
    assert listed["count"] == len(ids)
    rid = body.requests[0].request_id
    updated = client.patch(
        f"/api/v1/requests/{rid}", headers=auth, json={"status": "footage_provided", "footage_useful": True}
    )
    assert updated.status_code == 200 and updated.get_json()["status"] == "footage_provided"
    wrong = client.patch(f"/api/v1/requests/{rid}", headers=auth, json={"status": "archived"})
    assert wrong.status_code == 422 and wrong.get_json()["errors"][0]["field"] == "status"


def test_openapi_documents_every_route_from_the_schemas(demo_app):
    app, auth = demo_app
    doc = app.server.test_client().get("/api/v1/openapi.json", headers=auth).get_json()
    assert doc["openapi"].startswith("3.")
    assert {"/api/v1/cameras/near", "/api/v1/requests", "/api/v1/requests/{request_id}", "/api/v1/summary"} <= set(
        doc["paths"]
    )
    near = doc["paths"]["/api/v1/cameras/near"]["get"]
    assert {p["name"] for p in near["parameters"]} == {"lat", "lon", "radius_m", "at", "case_ref", "reason"}
    assert set(doc["components"]["schemas"]["NearCamera"]["properties"]) >= {
        "camera_id",
        "distance_m",
        "in_view",
        "retained_until",
        "retention_status",
    }


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/api/v1/cameras/nearby"),
        ("post", "/api/v1/request"),
        ("get", "/api/v1/"),
        ("delete", "/api/v1/requests/x/y"),
    ],
)
def test_an_unknown_api_path_is_a_json_404_not_the_dashboard_page(demo_app, method, path):
    app, auth = demo_app
    response = getattr(app.server.test_client(), method)(path, headers=auth)
    assert response.status_code == 404
    assert response.get_json() == {"error": "No such API route."}


def test_a_real_api_route_asked_with_another_method_is_a_json_405(demo_app):
    app, auth = demo_app
    response = app.server.test_client().delete("/api/v1/requests", headers=auth)
    assert response.status_code == 405
    assert response.get_json() == {"error": "This method is not allowed on this route."}
