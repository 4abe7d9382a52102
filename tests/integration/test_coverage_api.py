"""GET /api/v1/coverage/cells: counts per fixed H3 cell, worked out by hand from registrations
made through the public API; cells under K are suppressed; no individual's data in the answer."""
from __future__ import annotations

import datetime as dt
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
    # Doorbells only: 10 cameras from 10 registrations would be >= K, but the unfiltered view shows 11
    # cameras, and the difference (one dome) is drawn from 1 registration: so this view hides the cell.
    by_kind = {c["cell"]: c for c in _get(client, tokens["analyst"], "res=8&kind=doorbell&direction_known=true")
               .get_json()["cells"]}
    assert by_kind[busy_cell]["suppressed"] and by_kind[busy_cell]["cameras"] is None
    # A filter that leaves nothing out of the cell (everyone registered by today) shows it as before.
    today = dt.date.today().isoformat()
    by_date = {c["cell"]: c for c in _get(client, tokens["analyst"], f"res=8&registered_by={today}").get_json()["cells"]}
    assert (by_date[busy_cell]["registrations"], by_date[busy_cell]["cameras"]) == (10, 11)


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


def test_areas_by_district_with_secondary_suppression(covered, reference):
    client, tokens, busy, quiet = covered
    # A third group: 9 registrations in a district of their own.
    districts = {busy["district_code"], quiet["district_code"]}
    third = reference.postcodes[~reference.postcodes["district_code"].isin(districts)].iloc[0]
    for i in range(9):
        assert client.post("/api/v1/registrations", json=valid(third["postcode"], email=f"t{i}@example.org",
                                                               cameras=[DOME])).status_code == 201
    body = client.get("/api/v1/coverage/areas?level=district",
                      headers={"Authorization": f"Bearer {tokens['lead']}"}).get_json()
    rows = {a["code"]: a for a in body["areas"]}
    assert set(rows) == set(reference.districts["code"])
    # By hand: 10 (busy), 9 (third), 3 (quiet), 0 elsewhere. 3 and the zeros are under K; they add
    # up to 3 < 8, so the smallest shown count (9) is hidden as well. Only the busy district shows.
    shown = {c for c, a in rows.items() if not a["suppressed"]}
    assert shown == {busy["district_code"]}
    households = float(reference.districts.set_index("code").loc[busy["district_code"], "households"])
    b = rows[busy["district_code"]]
    assert (b["registrations"], b["cameras"]) == (10, 11)
    assert b["registrations_per_1000"] == pytest.approx(round(10 * 1000 / households, 2))
    assert rows[third["district_code"]]["registrations"] is None and rows[quiet["district_code"]]["cameras"] is None
    assert "Census 2021" in body["households_source"]


def test_areas_by_lsoa_are_labelled_estimates_and_small_ones_hidden(covered, reference):
    client, tokens, busy, _ = covered
    body = client.get("/api/v1/coverage/areas?level=lsoa",
                      headers={"Authorization": f"Bearer {tokens['analyst']}"}).get_json()
    assert "estimated" in body["households_source"] and len(body["areas"]) == len(reference.small_areas)
    assert all(a["registrations"] is None or a["registrations"] >= 8 for a in body["areas"])
    text = json.dumps(body)
    assert "Busy Person" not in text and busy["postcode"] not in text
    assert client.get("/api/v1/coverage/areas?level=street",
                      headers={"Authorization": f"Bearer {tokens['analyst']}"}).status_code == 422
    assert client.get("/api/v1/coverage/areas", headers={"Authorization": f"Bearer {tokens['officer']}"}).status_code == 403
