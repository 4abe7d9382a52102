"""GET /api/v1/coverage/cells: counts per fixed H3 cell, worked out by hand from registrations
made through the public API; cells under K are suppressed; no individual's data in the answer."""
from __future__ import annotations

import json

import h3
import pytest

from dashboard.config import load_settings
from dashboard.registry.database import transaction
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user, issue_token
from tests.integration.test_registration import valid

DOORBELL = {"kind": "doorbell", "placement": "outdoor", "recording_mode": "motion", "direction_deg": 90}
DOME = {"kind": "dome", "placement": "indoor", "recording_mode": "continuous"}


@pytest.fixture
def covered(tmp_path, reference_dir, reference):
    from dashboard.application import create_app

    rt = prepare(load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'cov.db'}",
                                "REFERENCE_DATA_DIR": str(reference_dir), "SECRET_KEY": "k" * 48,
                                "REGISTRATION_RATE_LIMIT": "1000 per hour"}))
    client = create_app(rt).server.test_client()
    busy, quiet = reference.postcodes.iloc[100], reference.postcodes.iloc[20000]
    assert h3.latlng_to_cell(busy["lat"], busy["lon"], 8) != h3.latlng_to_cell(quiet["lat"], quiet["lon"], 8)
    # 10 registrations at one postcode (one with two cameras), 3 at another far away.
    for i in range(10):
        cams = [DOORBELL, DOME] if i == 0 else [DOORBELL]
        assert client.post("/api/v1/registrations", json=valid(busy["postcode"], email=f"b{i}@example.org",
                                                               name=f"Busy Person {i}", cameras=cams)).status_code == 201
    for i in range(3):
        assert client.post("/api/v1/registrations", json=valid(quiet["postcode"], email=f"q{i}@example.org",
                                                               name=f"Quiet Person {i}", cameras=[DOME])).status_code == 201
    tokens = {}
    with transaction(rt.sessions) as s:
        for role in ("analyst", "lead", "officer"):
            create_user(s, f"{role}9", "correct-horse-battery", role)
            tokens[role] = issue_token(s, f"{role}9")
    yield client, tokens, busy, quiet
    rt.engine.dispose()


def _get(client, token, query=""):
    return client.get(f"/api/v1/coverage/cells?{query}", headers={"Authorization": f"Bearer {token}"})


def test_counts_by_hand_and_the_small_cell_is_suppressed(covered):
    client, tokens, busy, quiet = covered
    busy_cell = h3.latlng_to_cell(busy["lat"], busy["lon"], 8)
    quiet_cell = h3.latlng_to_cell(quiet["lat"], quiet["lon"], 8)
    for role in ("analyst", "lead"):
        answer = _get(client, tokens[role], "res=8")
        assert answer.status_code == 200
        cells = {c["cell"]: c for c in answer.get_json()["cells"]}
        assert set(cells) == {busy_cell, quiet_cell}
        assert (cells[busy_cell]["registrations"], cells[busy_cell]["cameras"]) == (10, 11)
        assert cells[quiet_cell] | {"polygon": None, "centre": None} == {
            "cell": quiet_cell, "registrations": None, "cameras": None, "suppressed": True, "polygon": None,
            "centre": None}
        ring = cells[busy_cell]["polygon"]
        assert ring[0] == ring[-1] and len(ring) == 7
    # Filters: indoor cameras only -> the busy cell has 1 registration left, so it is suppressed too.
    indoor = {c["cell"]: c for c in _get(client, tokens["analyst"], "res=8&placement=indoor").get_json()["cells"]}
    assert indoor[busy_cell]["suppressed"] and indoor[busy_cell]["cameras"] is None
    by_kind = {c["cell"]: c for c in _get(client, tokens["analyst"], "res=8&kind=doorbell&direction_known=true")
               .get_json()["cells"]}
    assert (by_kind[busy_cell]["registrations"], by_kind[busy_cell]["cameras"]) == (10, 10)


def test_no_individual_data_and_no_small_count_in_the_answer(covered):
    client, tokens, busy, quiet = covered
    for res in (7, 8, 9):
        body = _get(client, tokens["analyst"], f"res={res}").get_json()
        text = json.dumps(body)
        for personal in ("Busy Person", "Quiet Person", "example.org", busy["postcode"], quiet["postcode"],
                         "Example Street", f"{busy['lat']:.5f}", f"{busy['lon']:.5f}", "camera_id"):
            assert personal not in text, (res, personal)
        for cell in body["cells"]:
            assert cell["registrations"] is None or cell["registrations"] >= body["k"]


def test_roles_and_bad_parameters(covered):
    client, tokens, _, _ = covered
    assert _get(client, tokens["officer"], "res=8").status_code == 403
    assert client.get("/api/v1/coverage/cells?res=8").status_code == 401
    for query, field in [("res=6", "res"), ("res=x", "res"), ("kind=webcam", "kind"),
                         ("registered_by=yesterday", "registered_by"), ("colour=red", "colour")]:
        answer = _get(client, tokens["analyst"], query)
        assert answer.status_code == 422 and answer.get_json()["errors"][0]["field"] == field, query
