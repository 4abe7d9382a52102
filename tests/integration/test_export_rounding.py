"""Every CSV and GeoJSON export an analyst and a project lead can download, and the JSON API figures
they can ask for, carry no more decimals than their column's rule (issue 18): counts whole, rates
per 1,000 one decimal, shares (fractions) three, the share of an area in view four, km² three,
coordinates six. Parsed from the files themselves; the rules below are written out by hand, not
read from the code."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest

from dashboard.config import load_settings
from dashboard.core.vocab import ROLES
from dashboard.demo import generate_demo
from dashboard.registry import audit
from dashboard.registry.crime_import import import_crimes, parse_police_uk_csv
from dashboard.registry.database import transaction
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user
from tests.integration.conftest import PASSWORD, login

RATES = {"registrations_per_1000": 1, "cameras_per_1000": 1}
SHARES = {
    "share_postcodes_near": 3,
    "share_near": 3,
    "share_in_view": 4,
    "share": 3,
    "start_rate": 3,
    "completion_rate": 3,
    "response_rate": 3,
    "useful_share": 3,
    "accepted_share": 3,
    "postcodes_near_share": 3,
    "in_view_share": 4,
}
AREAS = {"area_km2": 3, "in_view_km2": 3}
COORDINATES = 6


def allowed(column: str) -> int:
    """The hand-written rule: anything not listed is a count (whole)."""
    name = column.split(".")[-1].removesuffix("[]")
    return {**RATES, **SHARES, **AREAS}.get(name, COORDINATES if name in ("centre", "polygon") else 0)


def places(text: str) -> int:
    return len(text.split(".", 1)[1]) if re.fullmatch(r"-?\d+\.\d+", text) else 0


@pytest.fixture(scope="module")
def app(tmp_path_factory, reference, reference_dir):
    from dashboard.application import create_app

    path = tmp_path_factory.mktemp("rounding") / "r.db"
    rt = prepare(
        load_settings(
            {"DATABASE_URL": f"sqlite:///{path}", "REFERENCE_DATA_DIR": str(reference_dir), "SECRET_KEY": "k" * 48}
        )
    )
    generate_demo(
        rt.engine,
        reference,
        seed=7,
        registrations=3000,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    with transaction(rt.sessions) as s:
        for role in ROLES:
            create_user(s, f"{role}1", PASSWORD, role)
        for sample in sorted((reference_dir / "police_uk").glob("*-street.csv")):
            import_crimes(s, parse_police_uk_csv(sample.read_bytes(), sample.name), audit.SYSTEM, rt.reference)
    dash_app = create_app(rt)
    dash_app.server.config["TESTING"] = True
    yield dash_app
    rt.engine.dispose()


def client_for(app, role):
    client = app.server.test_client()
    login(client, role)
    return client


def csv_too_precise(body: str) -> list[str]:
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows, "an empty export proves nothing"
    return [f"{col}={value}" for row in rows for col, value in row.items() if places(value) > allowed(col)]


def geojson_too_precise(body: str) -> list[str]:
    doc = json.loads(body)
    assert doc["features"]
    bad = [
        f"{k}={v}"
        for f in doc["features"]
        for k, v in f["properties"].items()
        if isinstance(v, float) and places(repr(v)) > allowed(k)
    ]
    shapes = [f["geometry"] for f in doc["features"] if f["geometry"]]  # the deciles are a table, no shapes
    coordinates = re.findall(r"-?\d+\.\d+", json.dumps(shapes[:50]))
    return bad + [f"coordinate {c}" for c in coordinates if places(c) > COORDINATES]


def json_too_precise(doc, key="") -> list[str]:
    if isinstance(doc, dict):
        return [bad for k, v in doc.items() for bad in json_too_precise(v, k)]
    if isinstance(doc, list):
        return [bad for v in doc for bad in json_too_precise(v, key)]
    if isinstance(doc, float) and places(repr(doc)) > allowed(key):
        return [f"{key}={doc}"]
    return []


ANALYST_FILES = [
    "/coverage/export/areas.{fmt}?level=lsoa&near=100",
    "/coverage/export/areas.{fmt}?level=district&near=200",
    "/coverage/export/cells.{fmt}?res=7",
    "/gaps/export/areas.{fmt}?level=lsoa&radius=200",
    "/gaps/export/areas.{fmt}?level=district&radius=500",
    "/gaps/export/targets.{fmt}?level=lsoa&radius=100",
    "/gaps/export/deciles.{fmt}?level=lsoa&radius=200",
]


@pytest.mark.parametrize("role", ["analyst", "lead"])
def test_every_csv_and_geojson_export_is_rounded_by_its_columns_rule(app, role):
    client = client_for(app, role)
    urls = [u.format(fmt=fmt) for u in ANALYST_FILES for fmt in ("csv", "geojson")] + ["/protection/ptable.csv"]
    if role == "lead":
        urls += [
            f"/uptake/report/{t}.csv?week=2026-11-16"
            for t in ("weeks", "districts", "cameras", "campaigns", "requests_by_district", "requests_by_crime")
        ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        body = response.get_data(as_text=True)
        bad = csv_too_precise(body) if ".csv" in url else geojson_too_precise(body)
        assert not bad, (url, bad[:5])


def test_lsoa_households_are_whole_in_the_csv(app, reference):
    """E01014210 (Stoke-on-Trent 012A) has 661.8018575851393 estimated households: the file says 662."""
    body = client_for(app, "analyst").get("/coverage/export/areas.csv?level=lsoa&near=100").get_data(as_text=True)
    row = next(r for r in csv.DictReader(io.StringIO(body)) if r["code"] == "E01014210")
    estimate = float(reference.small_areas.set_index("code").loc["E01014210", "households_estimate"])
    assert estimate == pytest.approx(661.8018575851393)
    assert row["households"] == "662"


def test_api_figures_are_rounded_by_their_keys_rule(app):
    lead = client_for(app, "lead")
    for url in (
        "/api/v1/summary",
        "/api/v1/coverage/areas?level=lsoa&near_m=100",
        "/api/v1/coverage/cells?res=7",
        "/api/v1/metrics/uptake?from=2026-04-13&to=2026-11-29",
        "/api/v1/metrics/requests?from=2026-04-13&to=2026-11-29",
    ):
        response = lead.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        bad = json_too_precise(response.get_json())
        assert not bad, (url, bad[:5])


def test_the_weekly_reports_chart_has_axes_with_ticks_and_titles(app):
    page = client_for(app, "lead").get("/uptake/report?week=2026-11-16").get_data(as_text=True)
    svg = page[page.index("<svg") : page.index("</svg>")]
    left = [int(t.replace(",", "")) for t in re.findall(r"class='tick y-left'[^>]*>([^<]+)<", svg)]
    right = [int(t.replace(",", "")) for t in re.findall(r"class='tick y-right'[^>]*>([^<]+)<", svg)]
    weeks = re.findall(r"class='tick x'[^>]*>([^<]+)<", svg)
    assert len(left) >= 3 and left[0] == 0 and len(set(b - a for a, b in zip(left, left[1:]))) == 1  # even steps
    assert len(right) >= 3 and right[0] == 0 and len(set(b - a for a, b in zip(right, right[1:]))) == 1
    assert weeks and all(re.fullmatch(r"\d\d [A-Z][a-z]{2}", w) for w in weeks)
    assert re.findall(r"class='axis-title [^']+'[^>]*>([^<]+)<", svg) == [
        "Week starting (Monday)",
        "Registrations per week",
        "Registrations so far",
    ]
