"""Promise 2 and 4 for analysts and leads: every callback and API route they can reach, and every
export file, answers with aggregates only. No response holds a registrant's name, email, phone,
postcode, a site's coordinates or a camera id, and no count drawn from fewer than K
registrations is present."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
import sqlalchemy as sa

from dashboard.pages import all_pages
from dashboard.registry import audit
from dashboard.registry.crime_import import import_crimes, parse_police_uk_csv
from dashboard.registry.database import transaction
from tests.integration.conftest import login
from tests.integration.test_access import _callback_bodies, _page_for_output

K = 8


@pytest.fixture
def demo_app(runtime, reference_dir, demo_of):
    from dashboard.application import create_app

    demo_of(
        runtime,
        seed=21,
        registrations=2500,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    for sample in sorted((reference_dir / "police_uk").glob("*-street.csv"))[:6]:
        with transaction(runtime.sessions) as s:
            import_crimes(s, parse_police_uk_csv(sample.read_bytes(), sample.name), audit.SYSTEM, runtime.reference)
    app = create_app(runtime)
    app.server.config["TESTING"] = True
    return app


def _secrets(runtime) -> tuple[list[str], list[str]]:
    """Texts no analyst answer may contain, and compact [lon,lat] pairs of every site."""
    with runtime.engine.connect() as con:
        people = con.execute(
            sa.text(
                "SELECT r.name, r.email, r.phone, s.postcode, s.address FROM registrant r JOIN site s "
                "ON s.registrant_id = r.id WHERE r.status = 'active'"
            )
        ).all()
        sites = con.execute(sa.text("SELECT lon, lat FROM site WHERE lat IS NOT NULL")).all()
    texts = sorted({re.sub(r"\s+", "", v.lower()) for row in people for v in row if v and len(v) >= 5})
    pairs = [f"[{round(lon, d)!r},{round(lat, d)!r}]" for lon, lat in sites for d in (5, 6)]
    return texts, pairs


PAIR = re.compile(r"\[-?\d+(?:\.\d+)?,-?\d+(?:\.\d+)?\]")
COORDINATES = re.compile(r'"coordinates":\[[-\d.,\[\]eE]*\]')


def _check_text(body: str, texts: list[str], pairs: list[str], where: str) -> None:
    compact = re.sub(r"\s+", "", body)
    assert not set(PAIR.findall(compact)) & set(pairs), f"{where} contains a site's coordinates"
    # Outlines are numbers only (checked just above); the names and addresses can only be elsewhere.
    low = COORDINATES.sub("", compact).lower()
    leaked = [t for t in texts if t in low]
    assert not leaked, f"{where} contains personal data: {leaked[:3]}"
    assert not re.search(r'"(camera_id|site_id|registrant_id|camera_ids)"', body), f"{where} names camera ids"


def _gap_query_bodies() -> list[dict]:
    keys = ["gaps-period", "gaps-type", "gaps-radius", "gaps-level"]
    # All months and all crime types: the only period and type offered (gap_report.check_offered).
    choices = [
        ("all", "all", "100", "lsoa"),
        ("all", "all", "50", "district"),
        ("all", "all", "500", "district"),
        ("all", "all", "50", "lsoa"),
    ]
    return [dict(zip(keys, c)) for c in choices]


def _post(client, key: str, values: dict):
    spec_outputs = [
        {"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in key.strip(".").split("...") if p
    ]
    body = {
        "output": key,
        "outputs": spec_outputs if len(spec_outputs) > 1 else spec_outputs[0],
        "inputs": [
            {"id": cid, "property": "data" if cid in ("gaps-period", "gaps-type") else "value", "value": v}
            for cid, v in values.items()
        ],
        "changedPropIds": [],
        "state": [],
    }
    return client.post("/_dash-update-component", json=body)


@pytest.mark.parametrize("role", ["analyst", "lead"])
def test_every_analyst_answer_is_aggregate_and_suppressed(demo_app, runtime, role):
    client = demo_app.server.test_client()
    login(client, role)
    texts, pairs = _secrets(runtime)
    assert len(texts) > 1000 and len(pairs) > 4000
    answers: list[tuple[str, str]] = []

    # every page the role may open, and every callback of those pages with default inputs
    for page in all_pages():
        if page.allows(role):
            answers.append((page.path, client.get(page.path).get_data(as_text=True)))
    for key, body in _callback_bodies(demo_app):
        page = _page_for_output(key)
        if page is not None and page.allows(role):
            response = client.post("/_dash-update-component", json=body)
            assert response.status_code in (200, 204), (key, response.status_code)
            answers.append((key, response.get_data(as_text=True)))

    # the coverage map at every grid and filter, the area table at both levels
    redraw = next(k for k in demo_app.callback_map if "coverage-cells.data" in k)
    cell_keys = ["coverage-res", "coverage-cameras"]
    for values in (("7", "all"), ("8", "kind:doorbell"), ("9", "placement:indoor"), ("9", "direction:unknown")):
        response = _post(client, redraw, dict(zip(cell_keys, values)))
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        answers.append((f"coverage {values}", text))
        for feature in json.loads(text)["response"]["coverage-cells"]["data"]["features"]:
            assert "r" not in feature["properties"] or feature["properties"]["r"] >= K
    areas = next(k for k in demo_app.callback_map if "coverage-areas.rowData" in k)
    for level, near in (("district", "100"), ("lsoa", "50"), ("lsoa", "200")):
        text = _post(client, areas, {"coverage-level": level, "coverage-near": near}).get_data(as_text=True)
        answers.append((f"areas {level}", text))
        for row in json.loads(text)["response"]["coverage-areas"]["rowData"]:
            assert not isinstance(row["registrations"], int) or row["registrations"] >= K
        for fmt in ("csv", "geojson", "gpkg"):
            exported = client.get(f"/coverage/export/areas.{fmt}?level={level}&near={near}")
            assert exported.status_code == 200
            if fmt != "gpkg":
                answers.append((f"coverage export areas.{fmt}", exported.get_data(as_text=True)))
    for args in ("res=9", "res=7&kind=doorbell", "res=8&direction=known"):
        for fmt in ("csv", "geojson", "gpkg"):
            exported = client.get(f"/coverage/export/cells.{fmt}?{args}")
            assert exported.status_code == 200
            if fmt == "csv":
                for row in csv.DictReader(io.StringIO(exported.get_data(as_text=True))):
                    assert row["registrations"] == "" or int(row["registrations"]) >= K
            if fmt != "gpkg":
                answers.append((f"coverage export cells.{fmt} {args}", exported.get_data(as_text=True)))

    # gap analysis at several periods, types, radii and levels, and every export of each
    gaps = next(k for k in demo_app.callback_map if "gaps-layer.data" in k)
    for values in _gap_query_bodies():
        response = _post(client, gaps, values)
        assert response.status_code == 200
        answers.append((f"gaps {values}", response.get_data(as_text=True)))
        args = {
            "period": values["gaps-period"],
            "type": values["gaps-type"],
            "radius": values["gaps-radius"],
            "level": values["gaps-level"],
        }
        for layer in ("areas", "targets", "deciles"):
            for fmt in ("csv", "geojson", "gpkg"):
                query = "&".join(f"{k}={v}" for k, v in args.items())
                exported = client.get(f"/gaps/export/{layer}.{fmt}?{query}")
                assert exported.status_code == 200, (layer, fmt, exported.get_data(as_text=True)[:200])
                if fmt != "gpkg":
                    answers.append((f"export {layer}.{fmt} {values}", exported.get_data(as_text=True)))
                if fmt == "csv" and layer == "areas":
                    for row in csv.DictReader(io.StringIO(exported.get_data(as_text=True))):
                        assert row["registrations_near"] == "" or int(row["registrations_near"]) >= K

    # the API routes for analysts
    headers = {}
    for path in [
        "/api/v1/coverage/cells?res=7",
        "/api/v1/coverage/cells?res=9&placement=indoor",
        "/api/v1/coverage/cells?res=8&kind=ptz",
        "/api/v1/coverage/areas?level=district",
        "/api/v1/coverage/areas?level=lsoa",
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        answers.append((path, text))
        data = json.loads(text)
        for row in data.get("cells", []) + data.get("areas", []):
            assert row["registrations"] is None or row["registrations"] >= K

    assert len(answers) > 40
    for where, body in answers:
        _check_text(body, texts, pairs, where)


def test_the_leak_check_itself_finds_a_planted_name_and_position(runtime, demo_app):
    texts, pairs = _secrets(runtime)
    with pytest.raises(AssertionError, match="personal data"):
        _check_text(json.dumps({"x": texts[10].upper()}), texts, pairs, "planted")
    with pytest.raises(AssertionError, match="coordinates"):
        _check_text('{"centre": ' + pairs[7].replace(",", ", ") + "}", texts, pairs, "planted")
    with pytest.raises(AssertionError, match="camera ids"):
        _check_text('{"camera_id": 3}', [], [], "planted")


def test_exports_refuse_other_roles_and_bad_arguments(demo_app):
    client = demo_app.server.test_client()
    assert client.get("/gaps/export/areas.csv").status_code in (302, 401)
    login(client, "officer")
    assert client.get("/gaps/export/areas.csv").status_code == 403
    client = demo_app.server.test_client()
    login(client, "analyst")
    for bad in (
        "radius=7",
        "radius=25",
        "level=county",
        "from=2025-13",
        "from=2025-05&to=2025-01",
        "period=2025-13",
        "types=Burglary&types=Drugs",
        "type=Burglary&type=Drugs",
        "type=Probe",
    ):
        response = client.get(f"/gaps/export/areas.csv?{bad}")
        assert response.status_code == 400 and response.get_data(as_text=True).startswith("Cannot export:"), bad
    assert client.get("/gaps/export/people.csv").status_code == 404
    for bad in (
        "cells.csv?res=10",
        "cells.csv?kind=drone",
        "cells.gpkg?by=nonsense",
        "areas.csv?level=county",
        "areas.csv?near=75",
    ):
        response = client.get(f"/coverage/export/{bad}")
        assert response.status_code == 400 and response.get_data(as_text=True).startswith("Cannot export:"), bad
    assert client.get("/gaps/export/areas.xlsx").status_code == 404
