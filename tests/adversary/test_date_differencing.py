"""Attack 2 of issue 14: differencing by date.

The issue's attacker asked ``/api/v1/coverage/cells?res=R&registered_by=D`` against ``D+1`` cell by
cell and recovered over 18,000 counts of 1-7 registrations, and ``registered_by`` before the public
launch turned the heatmap into a map of the staff pilot's homes. The fix takes the date filter off
the coverage side altogether and keeps dates below force level to whole weeks. Here the attacker
tries every way of putting a date on a coverage figure (the API, every export format, a forged page
callback, other parameter names) and a day below force level on the uptake side; every attempt
must be refused (or, for a parameter that is simply not read, answer exactly what the undated
query answers). The differencing of time ranges themselves (force-level days, district weeks,
campaigns, footage requests) is measured in ``test_uptake_differencing``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import warnings

import pandas as pd

from tests.adversary.conftest import PILOT_START, PUBLIC_LAUNCH, callback_body, client_for, post_callback

DATES = ("2026-05-01", "2026-07-05", "2026-07-06", "2026-05-01T00:00:00", "20260501", "2026-W18")
OTHER_NAMES = (
    "registered_after",
    "registered_before",
    "from",
    "to",
    "as_of",
    "date",
    "since",
    "until",
    "consent_before",
    "created_before",
    "by",
    "day",
    "week",
    "month",
)


def _pilot_exposure(registry) -> tuple[int, int]:
    """What a date filter before the public launch would show: the active registrations made in the
    staff pilot, and the res-9 cells where they number 1 to K-1 (truth)."""
    frame = registry.truth.frame(
        "SELECT s.h3_r9 AS cell, r.consent_at FROM registrant r JOIN site s ON s.registrant_id = r.id "
        "WHERE r.status = 'active'"
    )
    days = pd.to_datetime(frame["consent_at"]).dt.tz_localize("UTC").dt.tz_convert("Europe/London").dt.date
    pilot = frame[days < PUBLIC_LAUNCH]
    per_cell = pilot.groupby("cell").size()
    return len(pilot), int(((per_cell >= 1) & (per_cell < registry.k)).sum())


def _content(response) -> str:
    """An export's content (a GeoPackage's attribute table: its bytes carry a creation time)."""
    if response.headers.get("Content-Disposition", "").endswith('.gpkg"'):
        import geopandas as gpd

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return gpd.read_file(io.BytesIO(response.get_data())).drop(columns="geometry").to_json()
    return response.get_data(as_text=True)


def test_a_date_on_the_coverage_map_is_refused_everywhere(apps, registry, report):
    client = client_for(apps.noisy, "analyst")
    attempts = 0
    # The API: registered_by at every grid, with and without a camera filter, in several spellings.
    for res in (7, 8, 9):
        for date in DATES:
            for extra in ("", "&kind=doorbell", "&placement=indoor"):
                response = client.get(f"/api/v1/coverage/cells?res={res}&registered_by={date}{extra}")
                attempts += 1
                assert response.status_code == 422, (res, date, extra, response.status_code)
                errors = response.get_json()["errors"]
                assert any(e["field"] == "registered_by" and "no longer offered" in e["message"] for e in errors), (
                    errors
                )
    for level in ("district", "lsoa"):
        response = client.get(f"/api/v1/coverage/areas?level={level}&registered_by=2026-05-01")
        attempts += 1
        assert response.status_code == 422, level
    # Other names for a date: refused, or (if not read at all) the undated answer exactly.
    undated = {res: client.get(f"/api/v1/coverage/cells?res={res}").get_data() for res in (8, 9)}
    undated_areas = client.get("/api/v1/coverage/areas?level=lsoa").get_data()
    for name in OTHER_NAMES:
        for res in (8, 9):
            response = client.get(f"/api/v1/coverage/cells?res={res}&{name}=2026-05-01")
            attempts += 1
            assert response.status_code == 422 or response.get_data() == undated[res], (name, res)
        response = client.get(f"/api/v1/coverage/areas?level=lsoa&{name}=2026-05-01")
        attempts += 1
        assert response.status_code == 422 or response.get_data() == undated_areas, name
    # Every export format.
    plain = {fmt: client.get(f"/coverage/export/cells.{fmt}?res=9").get_data() for fmt in ("csv", "geojson")}
    for fmt in ("csv", "geojson", "gpkg"):
        for layer, args in (("cells", "res=9"), ("cells", "res=8&kind=doorbell"), ("areas", "level=lsoa")):
            for name in ("registered_by", "by"):
                response = client.get(f"/coverage/export/{layer}.{fmt}?{args}&{name}=2026-05-01")
                attempts += 1
                if layer == "cells":
                    assert response.status_code == 400, (layer, fmt, name, response.status_code)
                    assert "no longer offered" in response.get_data(as_text=True)
                else:  # the area table has no date at all: refused, or exactly the undated file
                    assert response.status_code == 400 or _content(response) == _content(
                        client.get(f"/coverage/export/{layer}.{fmt}?{args}")
                    ), (layer, fmt, name)
        if fmt in plain:
            for name in ("from", "to", "registered_after", "date"):
                response = client.get(f"/coverage/export/cells.{fmt}?res=9&{name}=2026-05-01")
                attempts += 1
                assert response.status_code == 400 or response.get_data() == plain[fmt], (fmt, name)
    # A forged page callback with a date input the page does not have: refused by the guard.
    body = callback_body(apps.noisy, "coverage-cells.data", {"coverage-res": "9", "coverage-cameras": "all"})
    body["inputs"].append({"id": "coverage-registered-by", "property": "value", "value": "2026-05-01"})
    response = client.post("/_dash-update-component", json=body)
    attempts += 1
    assert response.status_code in (400, 403), response.status_code
    body = callback_body(apps.noisy, "coverage-cells.data", {"coverage-res": "9", "coverage-cameras": "all"})
    body["state"] = [{"id": "coverage-registered-by", "property": "value", "value": "2026-05-01"}]
    response = client.post("/_dash-update-component", json=body)
    attempts += 1
    assert response.status_code in (400, 403), response.status_code
    pilot, cells = _pilot_exposure(registry)
    assert pilot > 200 and cells > 50, "the demo registry must have a staff pilot worth protecting"
    report(
        f"registered_by (differencing by date on the coverage map): refused on all {attempts} attempts (API 422 "
        f"naming registered_by, export 400, forged callback {response.status_code}, other names refused or "
        f"ignored); offered, it would single out {pilot:,} staff-pilot registrations, in {cells:,} res-9 cells "
        "with 1-7 of them (truth)"
    )


def _uptake(client, app, first, last, district="all", period="week"):
    return post_callback(
        client,
        app,
        "uptake-headline.children",
        {"uptake-first": first, "uptake-last": last, "uptake-district": district, "uptake-period": period},
    )


def test_days_below_force_level_are_refused_and_ranges_widen_to_whole_weeks(apps, registry, report):
    client = client_for(apps.noisy, "lead")
    district = registry.rt.reference.districts["code"].iloc[0]
    first, last = PILOT_START + dt.timedelta(days=2), PILOT_START + dt.timedelta(days=3)  # a Wednesday, Thursday
    refused = _uptake(client, apps.noisy, first.isoformat(), last.isoformat(), district, "day")
    assert refused.status_code == 200
    text = json.dumps(refused.get_json()["response"]["uptake-headline"])
    assert "uptake-refused" in text and "whole force only" in text, text[:400]
    timeline = refused.get_json()["response"]["uptake-timeline"]["figure"]
    assert not any(trace.get("y") for trace in timeline.get("data", [])), "a refused day view must draw no bars"
    widened = _uptake(client, apps.noisy, first.isoformat(), last.isoformat(), district, "week")
    text = json.dumps(widened.get_json()["response"]["uptake-headline"])
    assert "uptake-widened" in text and "13 April 2026" in text and "19 April 2026" in text, text[:600]
    # The request metrics and the campaign funnel: whole weeks whatever is asked.
    response = client.get(f"/api/v1/metrics/requests?from={first}&to={last}").get_json()
    assert (response["from"], response["to"]) == ("2026-04-13", "2026-04-19"), response
    response = client.get(f"/api/v1/metrics/uptake?from={first}&to={last}").get_json()
    assert (response["funnel_from"], response["funnel_to"]) == ("2026-04-13", "2026-04-19")
    assert [d["day"] for d in response["daily"]] == [first.isoformat(), last.isoformat()]  # force level: days
    report(
        "days below force level: refused for a district (the page's message), ranges widened to whole UK weeks "
        "(page, request metrics, campaign funnel)"
    )


def test_forged_uptake_values_are_refused_without_a_server_error(apps, registry):
    """Values a browser never sends (a list or an object for the district, a number for a date, an
    unknown period) must be refused or read as the defaults: never a server error, and never a
    day view for a district."""
    client = client_for(apps.noisy, "lead")
    district = registry.rt.reference.districts["code"].iloc[0]
    first, last = PILOT_START + dt.timedelta(days=2), PILOT_START + dt.timedelta(days=3)
    # Forged values on the uptake page: refused or read as the defaults, never a server error.
    crashed = []
    for values in (
        (first.isoformat(), last.isoformat(), [district], "day"),
        (first.isoformat(), last.isoformat(), {"code": district}, "week"),
        ([first.isoformat()], last.isoformat(), "all", "day"),
        ("2026-13-01", 20260501, "all", "day"),
        (first.isoformat(), last.isoformat(), district, "hour"),
        (first.isoformat(), last.isoformat(), district, ["day"]),
    ):
        try:
            status = _uptake(client, apps.noisy, *values).status_code
        except Exception as exc:  # noqa: BLE001 - the test client re-raises what would be a 500
            status = f"500 ({type(exc).__name__})"
        if not isinstance(status, int) or status >= 500:
            crashed.append(f"{values!r}: {status}")
        elif values[3] in ("hour", ["day"]) and values[2] == district:
            text = json.dumps(_uptake(client, apps.noisy, *values).get_json()["response"]["uptake-timeline"])
            assert '"per day"' not in text, f"{values!r} drew days for a district"
    assert not crashed, (
        "forged values crash the uptake callback instead of being refused (a server error, not a "
        "disclosure): " + "; ".join(crashed)
    )
