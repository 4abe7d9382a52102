"""Gap analysis of the real Cannock crime sample (imported by an administrator on the Crime data page)
against a demo registry.

- Figures agree with an independent brute force: pyproj.Geod from every crime to every camera, read
  with plain SQL; a published count is the true count plus the perturbation table's entry for the
  cell key worked out here by hand from the record keys in the database.
- The query space is exactly what the design offers; anything else is refused with a message
  (page) or 400 (files), never a 500. Fewer than 50 crimes shows nothing.
- The complement rule, worked out by hand on a tiny cube.
- The attack of issue 14 as a test: an analyst differences every nested pair of figures the query
  space offers, to classify crime points as having a camera within 50 m or not; it does no better
  than chance, and places no registrant more precisely than its res-8 cell.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import sqlite3
from collections import defaultdict

import h3
import numpy as np
import pandas as pd
import pytest
from dash import no_update
from pyproj import Geod

from dashboard.analytics import gap_report as gap_report_module
from dashboard.analytics.disclosure import KEY_RANGE, Disclosure, PTable
from dashboard.analytics.gap_report import (
    GapQuery,
    QueryError,
    build_report,
    from_index,
    gap_crimes,
    gap_register,
    hierarchy_for,
    parse_query,
)
from dashboard.analytics.gaps import VIEW_KEY_OFFSET, Hierarchy, complement_hidden
from dashboard.application import route
from dashboard.config import load_settings
from dashboard.core.vocab import ROLES
from dashboard.demo import generate_demo
from dashboard.geo.fov import fill_effective_fov, in_view_codes
from dashboard.geo.search import CameraIndex
from dashboard.pages import gaps as gaps_page
from dashboard.registry.camera_queries import active_camera_frame
from dashboard.registry.crime_import import CRIME_CATEGORIES
from dashboard.registry.crime_queries import located_crimes, unlocated_crimes
from dashboard.registry.database import transaction
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user
from tests.direct_calls import plain, signed_in
from tests.integration.conftest import PASSWORD, login

GEOD = Geod(ellps="WGS84")
K = 8
EXACT = Disclosure(PTable.build(K, 0, 0.0))  # the rules alone, no adjustment: figures equal the truth where shown
MONTHS = [dt.date(2024, 12, 1)] + [dt.date(2025, m, 1) for m in range(1, 12)]


# --------------------------------------------------------------------------- the registry


@pytest.fixture(scope="module")
def registry(tmp_path_factory, reference, reference_dir):
    """A demo registry (6,000 registrations) whose crimes an administrator imported on the Crime
    data page, one file at a time; the app runs with the default settings (K 8, adjustment up to 3,
    variance 2, at least 50 crimes per analysis)."""
    from dashboard.application import create_app

    path = tmp_path_factory.mktemp("gaps") / "gaps.db"
    rt = prepare(
        load_settings(
            {"DATABASE_URL": f"sqlite:///{path}", "REFERENCE_DATA_DIR": str(reference_dir), "SECRET_KEY": "k" * 48}
        )
    )
    generate_demo(
        rt.engine,
        reference,
        seed=5,
        registrations=6000,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    with transaction(rt.sessions) as s:
        for role in ROLES:
            create_user(s, f"{role}1", PASSWORD, role)
    app = create_app(rt)
    app.server.config["TESTING"] = True
    admin = app.server.test_client()
    login(admin, "admin")
    key = next(k for k in app.callback_map if "crimes-upload-result.children" in k)
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in key.strip(".").split("...") if p]
    for sample in sorted((reference_dir / "police_uk").glob("*-street.csv")):
        contents = "data:text/csv;base64," + base64.b64encode(sample.read_bytes()).decode()
        done = admin.post(
            "/_dash-update-component",
            json={
                "output": key,
                "outputs": outputs,
                "changedPropIds": [],
                "inputs": [{"id": "crimes-upload", "property": "contents", "value": contents}],
                "state": [{"id": "crimes-upload", "property": "filename", "value": sample.name}],
            },
        )
        assert done.status_code == 200 and "Imported" in done.get_data(as_text=True), done.get_data(as_text=True)[:300]
    with rt.sessions() as s:
        index = CameraIndex.from_frame(active_camera_frame(s))
        crimes = gap_crimes(reference, located_crimes(s), unlocated_crimes(s))
        register = gap_register(s)
    yield {"rt": rt, "app": app, "path": path, "index": index, "crimes": crimes, "register": register}
    rt.engine.dispose()


def report(registry, reference, query: GapQuery, layer: Disclosure = EXACT, min_crimes: int = 50):
    true_of = from_index(reference, registry["index"], registry["register"].site_keys)
    return build_report(registry["crimes"], reference, true_of, registry["register"], query, layer, min_crimes)


def brute_force(path, reference, radius_m, month=None, category=None):
    """Per crime (with coordinates, in a force LSOA): LSOA, near, in view, the registrants of the
    contributing cameras and the crime's record key; straight from SQL, distances by Geod to every camera."""
    con = sqlite3.connect(path)
    cams = np.array(
        con.execute(
            "SELECT s.lat, s.lon, c.kind, c.direction_deg, c.fov_angle_deg, c.fov_range_m, s.registrant_id "
            "FROM camera c JOIN site s ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id "
            "WHERE c.active = 1 AND r.status = 'active'"
        ).fetchall(),
        dtype=object,
    )
    crimes = con.execute(
        "SELECT month, crime_type, lat, lon, lsoa_code, record_key FROM crime WHERE lat IS NOT NULL ORDER BY id"
    ).fetchall()
    con.close()
    lat, lon = cams[:, 0].astype(float), cams[:, 1].astype(float)
    angle, reach, _ = fill_effective_fov(cams[:, 2], cams[:, 4].astype(float), cams[:, 5].astype(float))
    direction, owner = cams[:, 3].astype(float), cams[:, 6]
    ours = set(reference.small_areas["code"])
    out = []
    for crime_month, crime_type, clat, clon, lsoa, key in crimes:
        if lsoa not in ours or (month and str(crime_month)[:7] != month) or (category and crime_type != category):
            continue
        azimuth, _, distance = GEOD.inv(lon, lat, np.full(len(lat), clon), np.full(len(lat), clat))
        near = distance <= radius_m
        views = in_view_codes(direction, angle, reach, np.asarray(azimuth) % 360, distance) == 0
        out.append((lsoa, bool(near.any()), bool(views.any()), set(owner[near | views]), int(key)))
    return out


def registrant_keys(path) -> dict[int, int]:
    with sqlite3.connect(path) as con:
        return dict(con.execute("SELECT id, record_key FROM registrant WHERE status = 'active'").fetchall())


def by_lsoa(truth):
    rows = defaultdict(lambda: [0, 0, 0, set(), 0])
    for lsoa, near, seen, owners, key in truth:
        row = rows[lsoa]
        row[0] += 1
        row[1] += near
        row[2] += seen
        row[3] |= owners
        row[4] += key
    return rows


# --------------------------------------------------------------------------- figures against the truth


def test_cannock_sample_agrees_with_brute_force(registry, reference):
    result = report(registry, reference, GapQuery(radius_m=100, level="lsoa"))
    truth = brute_force(registry["path"], reference, 100)
    everyone = set().union(*(t[3] for t in truth))
    assert result.totals["crimes"] == len(truth) > 2000
    assert (result.totals["near"], result.totals["in_view"], result.totals["registrations_near"]) == (
        sum(t[1] for t in truth),
        sum(t[2] for t in truth),
        len(everyone),
    )

    table = result.by_area.set_index("code")
    shown = 0
    for lsoa, (crimes, near, seen, owners, _) in by_lsoa(truth).items():
        row = table.loc[lsoa]
        assert row["crimes"] == crimes
        if crimes < K or len(owners) < K:
            assert row["suppressed"] and pd.isna(row["near"]) and pd.isna(row["registrations_near"]), lsoa
        if not row["suppressed"]:
            shown += 1
            assert (row["near"], row["registrations_near"]) == (near, len(owners))
            assert row["in_view"] == seen if seen >= K else pd.isna(row["in_view"])
            assert row["share_near"] == pytest.approx(near / crimes, abs=5e-5)
    assert shown >= 3
    assert (table.loc[table["crimes"] == 0, "suppressed"] == False).all()  # noqa: E712 - nothing to hide


def test_a_published_count_is_the_truth_plus_the_tables_entry_for_its_cell_key(registry, reference):
    """The running app's layer (adjustments up to 3): each shown small area's near, in-view and
    registrations-near counts equal the true count plus the perturbation table's entry for the cell
    key computed here from the record keys in the database."""
    layer = registry["rt"].disclosure
    assert layer.ptable.max_perturbation == 3

    def expected(true: int, key: int) -> int:
        return true + int(layer.ptable.perturbation(np.array([true]), np.array([key]))[0])

    result = report(registry, reference, GapQuery(radius_m=200, level="lsoa"), layer)
    truth = brute_force(registry["path"], reference, 200)
    keys = registrant_keys(registry["path"])
    published = result.by_area.set_index("code")
    checked = moved = 0
    for lsoa, (crimes, near, seen, owners, crime_keys) in by_lsoa(truth).items():
        row = published.loc[lsoa]
        if row["suppressed"]:
            continue
        registration_key = sum(keys[o] for o in owners) % KEY_RANGE
        cell_key = (registration_key + crime_keys) % KEY_RANGE
        assert row["registrations_near"] == expected(len(owners), registration_key), lsoa
        checked += 1
        moved += row["registrations_near"] != len(owners)
        view_key = (cell_key + VIEW_KEY_OFFSET) % KEY_RANGE
        for figure, true, key in (("near", near, cell_key), ("in_view", seen, view_key)):
            if true >= K:  # never shown above the area's crimes
                assert row[figure] == min(expected(true, key), crimes), (lsoa, figure)
                checked += 1
                moved += row[figure] != true
            else:
                assert pd.isna(row[figure]), (lsoa, figure)  # a count below K is never published
    # The keys are drawn at import (random), so which figures move differs from run to run. Each
    # stays put with probability at most about 0.4 (0.63 where capped at the area's crimes): over a
    # dozen figures, none moving happens in fewer than one run in a thousand.
    print(f"\n{checked} published gap figures checked against the table, {moved} moved by it")
    assert checked >= 10 and moved >= 1


def test_period_type_and_district_level_agree_too(registry, reference, monkeypatch):
    # One crime type is no longer offered to analysts (check_offered); the report's arithmetic for a
    # selection of the crimes is still checked here, with the rule lifted.
    monkeypatch.setattr(gap_report_module, "check_offered", lambda query: None)
    query = GapQuery(month=None, category="Violence and sexual offences", radius_m=200, level="district")
    result = report(registry, reference, query)
    truth = brute_force(registry["path"], reference, 200, category="Violence and sexual offences")
    assert result.totals["crimes"] == len(truth) > 100
    assert result.totals["near"] == sum(t[1] for t in truth)
    district_of = dict(zip(reference.small_areas["code"], reference.small_areas["district_code"]))
    per_district = defaultdict(int)
    for t in truth:
        per_district[district_of[t[0]]] += 1
    assert {c: n for c, n in zip(result.by_area["code"], result.by_area["crimes"]) if n} == dict(per_district)
    assert result.by_area["code"].tolist() == reference.districts["code"].tolist()  # every district, always


def test_targets_rank_by_crimes_without_a_published_camera_nearby(registry, reference):
    result = report(registry, reference, GapQuery(level="lsoa"), registry["rt"].disclosure)
    targets, gaps = result.targets, result.by_area.set_index("code")
    with_crimes = int((result.by_area["crimes"] > 0).sum())
    assert targets["rank"].tolist() == list(range(1, len(targets) + 1)) and len(targets) == min(20, with_crimes) >= 5
    expected = {
        code: int(g["crimes"] - (0 if pd.isna(g["near"]) else g["near"]))
        for code, g in gaps.iterrows()
        if g["crimes"] > 0
    }
    assert targets["without_camera"].tolist() == [expected[c] for c in targets["code"]]
    assert targets["without_camera"].is_monotonic_decreasing
    assert targets["without_camera"].iloc[0] == max(expected.values())


def test_deprivation_deciles_count_the_register(registry, reference):
    result = report(registry, reference, GapQuery())
    deciles = result.by_decile
    assert deciles["imd_decile"].tolist() == list(range(1, 11))
    con = sqlite3.connect(registry["path"])
    per_decile = defaultdict(int)
    decile_of = dict(zip(reference.small_areas["code"], reference.small_areas["imd_decile"]))
    for (lsoa,) in con.execute(
        "SELECT s.lsoa_code FROM site s JOIN registrant r ON r.id = s.registrant_id "
        "WHERE r.status = 'active' AND s.lsoa_code IS NOT NULL"
    ):
        per_decile[int(decile_of[lsoa])] += 1
    con.close()
    for row in deciles.itertuples():
        if not pd.isna(row.registrations):
            assert row.registrations == per_decile[row.imd_decile]
        else:
            assert per_decile[row.imd_decile] < K
    assert deciles["registrations"].notna().sum() >= 8
    assert deciles["crimes"].sum() == result.totals["crimes"]


# --------------------------------------------------------------------------- the query space


def test_the_query_space_and_its_refusals():
    months = MONTHS
    assert parse_query({}, months) == GapQuery()
    assert parse_query({"period": "all", "type": "all", "radius": "500", "level": "district"}, months) == GapQuery(
        None, None, 500, "district"
    )
    not_offered = "one month or one crime type is not offered: the gap analysis covers all imported months"
    refused = {
        f"{not_offered} and all crime types together": {"period": "2025-03", "type": "Drugs", "level": "district"},
        not_offered: {"period": "2025-03"},
        "one month or one crime type is not offered": {"type": "Drugs", "level": "district"},
        "one month or one crime type is not offered: ": {"type": "Drugs", "level": "lsoa"},
        "the distance must be 50, 100, 200 or 500 m, not 25": {"radius": "25"},
        "choose one crime type, not 2": {"type": ["Burglary", "Shoplifting"]},
        "a list of crime types is not offered": {"types": ["Burglary"]},
        "a range of months is not offered": {"from": "2025-01", "to": "2025-03"},
        "choose one period, not 2": {"period": ["2025-01", "2025-03"]},
        "no crimes are imported for 2023-01": {"period": "2023-01"},
        "is not a police.uk crime type": {"type": "Probe 7"},
        "the level must be lsoa or district": {"level": "county"},
        "the period must be an imported month like 2025-01, or all": {"period": "2025-01..2025-03"},
        "the crime type must be given as text": {"type": {"$ne": 1}},
        "unknown choice 'res'": {"res": "9"},
    }
    for fragment, args in refused.items():
        with pytest.raises(QueryError, match=fragment.replace("(", r"\(")):
            parse_query(args, months)


def _gap_answer(app, role: str, period, category, radius, level) -> dict:
    """The gap page's answer to these choices, as ``role`` (components as the browser receives them)."""
    with signed_in(app, role):
        answer = gaps_page.redraw(period, category, radius, level)
    return {k: v if v is no_update else plain(v) for k, v in answer.items()}


@pytest.mark.parametrize("role", ["analyst", "lead"])
def test_the_page_offers_exactly_the_query_space_and_refuses_forged_values(registry, role):
    app = registry["app"]
    client = app.server.test_client()
    login(client, role)
    with signed_in(app, role):
        page = plain(route("/gaps"))
    found = {}

    def walk(tree):
        if isinstance(tree, dict):
            props = tree.get("props", {})
            if isinstance(props, dict) and isinstance(props.get("id"), str) and "options" in props:
                found[props["id"]] = [o["value"] for o in props["options"]]
            for v in tree.values():
                walk(v)
        elif isinstance(tree, list):
            for v in tree:
                walk(v)

    walk(page)
    # No month or crime type to choose: the analysis covers all of them together (check_offered).
    assert "gaps-period" not in found and "gaps-type" not in found
    assert "all crime types" in json.dumps(page)
    assert found["gaps-radius"] == ["50", "100", "200", "500"] and found["gaps-level"] == ["lsoa", "district"]

    ok = _gap_answer(app, role, "all", "all", "50", "lsoa")
    assert "crimes" in json.dumps(ok["headline"]) and no_update not in ok.values()
    for values, fragment in (
        ((None, "all", "25", "lsoa"), "The distance must be 50, 100, 200 or 500 m, not 25"),
        (("all", ["Burglary", "Drugs"], "100", "lsoa"), "Choose one crime type, not 2"),
        ((["2025-01", "2025-02"], "all", "100", "lsoa"), "Choose one period, not 2"),
        (("all", "Probe 3", "100", "lsoa"), "is not a police.uk crime type"),
        (("1999-01", "all", "100", "lsoa"), "No crimes are imported for 1999-01"),
        (("all", "all", 100.5, "lsoa"), "The distance must be given as text"),
        (("all", "all", "100", {"x": 1}), "The level must be given as text"),
        (("2025-03", "all", "100", "district"), "One month or one crime type is not offered"),
        (("all", "Burglary", "100", "district"), "One month or one crime type is not offered"),
    ):
        refused = _gap_answer(app, role, *values)
        assert fragment in json.dumps(refused["headline"]), (values, refused["headline"])
        assert refused["hidden"] == ""  # and the map, tables, chart, downloads and view stay as they were
        assert all(v is no_update for k, v in refused.items() if k not in ("headline", "hidden")), values

    for args, fragment in (
        ("radius=25", "the distance must be 50, 100, 200 or 500 m"),
        ("types=Burglary&types=Drugs", "a list of crime types is not offered"),
        ("type=Burglary&type=Drugs", "choose one crime type, not 2"),
        ("from=2025-01&to=2025-03", "a range of months is not offered"),
        ("period=2025-13", "the period must be an imported month"),
        ("level=county", "the level must be lsoa or district"),
        ("type=Probe%2017", "is not a police.uk crime type"),
    ):
        response = client.get(f"/gaps/export/areas.csv?{args}")
        assert response.status_code == 400 and response.get_data(as_text=True).startswith("Cannot export:"), args
        assert fragment in response.get_data(as_text=True), args
    refused = client.get("/gaps/export/areas.csv?period=2025-03&radius=500&level=district")
    assert refused.status_code == 400 and "one month or one crime type is not offered" in refused.get_data(as_text=True)


def test_an_analysis_of_fewer_than_50_crimes_shows_nothing(registry, reference, monkeypatch):
    # Every choice offered covers all 2,363 imported crimes; a force that imported fewer than 50 would
    # meet this rule. One crime type (fewer than 50 bicycle thefts) stands in for it, the query-space
    # rule lifted for the test.
    monkeypatch.setattr(gap_report_module, "check_offered", lambda query: None)
    truth = brute_force(registry["path"], reference, 50, category="Bicycle theft")
    assert 0 < len(truth) < 50
    result = report(
        registry,
        reference,
        GapQuery(category="Bicycle theft", radius_m=50, level="district"),
        registry["rt"].disclosure,
    )
    assert result.too_few and result.by_area.empty and result.targets.empty and not result.totals

    app = registry["app"]
    client = app.server.test_client()
    login(client, "analyst")
    response = _gap_answer(app, "analyst", "all", "Bicycle theft", "50", "district")
    text = json.dumps(response["headline"])
    assert "Nothing is shown for this choice" in text and "fewer than 50 crimes" in text
    assert response["targets"] == [] and response["deciles"] == []
    assert all(f["properties"]["fill"] == "#ffffff" for f in response["layer"]["features"])
    export = client.get("/gaps/export/areas.csv?type=Bicycle+theft&radius=50&level=district")
    assert export.status_code == 400 and "fewer than 50 crimes" in export.get_data(as_text=True)


def test_exports_carry_exactly_the_published_figures(registry, reference):
    app = registry["app"]
    client = app.server.test_client()
    login(client, "analyst")
    with app.server.app_context():
        from dashboard.figures import report_for

        published = report_for(GapQuery(radius_m=100, level="district"))
    tables = {"areas": published.by_area, "targets": published.targets, "deciles": published.by_decile}
    for layer, frame in tables.items():
        response = client.get(f"/gaps/export/{layer}.csv?period=all&type=all&radius=100&level=district")
        assert response.status_code == 200
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
        assert len(rows) == len(frame)
        for row, (_, expected) in zip(rows, frame.iterrows()):
            for column, value in expected.items():
                text = "" if pd.isna(value) else str(value)
                if isinstance(value, (bool, np.bool_)):
                    assert row[column] in (str(value), str(value).lower(), str(int(value))), (layer, column)
                elif text and not isinstance(value, str):
                    # rounded by the export's column rule (issue 18): rates per 1,000 to 1 decimal, shares
                    # to 3 (the share in view to 4), everything else (counts, households) whole
                    places = {
                        "registrations_per_1000": 1,
                        "cameras_per_1000": 1,
                        "share_near": 3,
                        "share_in_view": 4,
                    }.get(column, 0)
                    assert float(row[column]) == pytest.approx(float(value), abs=0.5 * 10**-places + 1e-9), (
                        layer,
                        column,
                    )
                else:
                    assert row[column] == text, (layer, column)
        assert {r["period"] for r in rows} == {"all imported months"} and {r["radius_m"] for r in rows} == {"100"}


# --------------------------------------------------------------------------- the complement rule by hand


def test_the_complement_rule_on_a_hand_built_cube():
    """Three small areas: a and b in district D1 (deciles 1 and 2), c in D2 (decile 1). Two months,
    two crime types. Crimes (month, type): a: (0,0)=20 (0,1)=3 (1,0)=2 (1,1)=0; b: (0,0)=9 (0,1)=0
    (1,0)=0 (1,1)=0; c: (0,0)=30 (0,1)=30 (1,0)=30 (1,1)=30."""
    cube = np.zeros((2, 2, 3), dtype="int64")
    cube[0, 0] = [20, 9, 30]
    cube[0, 1] = [3, 0, 30]
    cube[1, 0] = [2, 0, 30]
    cube[1, 1] = [0, 0, 30]
    h = Hierarchy(np.array([0, 0, 1]), np.array([0, 1, 0]), 2)

    # Month 0, type 0. Area a: 20; larger: a all types 23 (+3) -> hidden.
    # Area b: 9; b all types 9 (+0), b all months 9 (+0), D1 (m0,t0) 29 (+20), decile 2 (m0,t0) 9 (+0),
    # force (m0,t0) 59 (+50), D1 all months 31, ... nothing within 1..7 -> shown.
    # Area c: 30; c all types 60, all months 60; D2 30 (+0); decile 1 (m0,t0) 50 (+20); force 59 (+29) -> shown.
    # D1: 29; D1 all types 32 (+3) -> hidden. D2: 30; +0 or +30 or force 59 (+29) -> shown.
    # Decile 1 (a, c): 50; decile 1 all types 83, all months 82, force 59 (+9) -> shown.
    # Decile 2 (b): 9; all types/months 9 (+0), force 59 -> shown. Force: 59; all types 92, all months 91 -> shown.
    hidden = complement_hidden(cube, h, 0, 0, 8)
    assert hidden["lsoa"].tolist() == [True, False, False]
    assert hidden["district"].tolist() == [True, False]
    assert hidden["decile"][:2].tolist() == [False, False] and not hidden["decile"][2:].any()
    assert hidden["force"].tolist() == [False]

    # Month 1, all types. a: 2 -> larger: a all months 25 (+23); D1 month 1: 2 (+0); decile 1 month 1: 62 (+60);
    # force month 1: 62. Not hidden by the rule (2 < K hides it anyway). b: 0 -> D1 month 1: 2 (+2) -> hidden.
    # c: 60 -> c all months 120, D2 60 (+0), decile 1 month 1 62 (+2) -> hidden.
    # D1: 2 -> D1 all months 34, force m1 62 (+60) -> shown by the rule. D2: 60 -> force 62 (+2) -> hidden.
    # Force: 62 -> all months 154 -> shown. Decile 1: 62 -> force 62 (+0), all months 145 -> shown.
    # Decile 2: 0 -> decile 2 all months 9, force m1 62 -> shown by the rule.
    hidden = complement_hidden(cube, h, 1, None, 8)
    assert hidden["lsoa"].tolist() == [False, True, True]
    assert hidden["district"].tolist() == [False, True]
    assert hidden["decile"][:2].tolist() == [False, False]
    assert hidden["force"].tolist() == [False]

    # With K = 1 the rule never hides anything.
    assert not any(m.any() for m in complement_hidden(cube, h, 0, 0, 1).values())


# --------------------------------------------------------------------------- the attack of issue 14


PARENTS = {
    "lsoa": ("lsoa", "district", "decile", "force"),
    "district": ("district", "force"),
    "decile": ("decile", "force"),
    "force": ("force",),
}


def _published_near_figures(registry, reference, layer, min_crimes, radius_m):
    """Every published (crimes, near) figure of the whole query space at one distance, keyed by
    (period, type, level, area): what the analyst collects from the page or the files."""
    crimes = registry["crimes"]
    figures = {}
    for month in (None, *range(len(crimes.months))):
        for category in (None, *range(len(CRIME_CATEGORIES))):
            for level in ("lsoa", "district"):
                query = GapQuery(
                    crimes.months[month] if month is not None else None,
                    CRIME_CATEGORIES[category] if category is not None else None,
                    radius_m,
                    level,
                )
                try:
                    result = report(registry, reference, query, layer, min_crimes)
                except QueryError:
                    continue  # not offered (gap_report.check_offered)
                if result.too_few:
                    continue
                for i, (n, near) in enumerate(zip(result.by_area["crimes"], result.by_area["near"])):
                    if not pd.isna(near):
                        figures[(month, category, level, i)] = (int(n), int(near))
                for i, (n, near) in enumerate(zip(result.by_decile["crimes"], result.by_decile["crimes_near"])):
                    if not pd.isna(near):
                        figures[(month, category, "decile", i)] = (int(n), int(near))
                if result.totals["near"] is not None:
                    figures[(month, category, "force", 0)] = (result.totals["crimes"], result.totals["near"])
    return figures


def _difference_attack(registry, reference, figures):
    """For every crime point, the smallest set of crimes the analyst can isolate that holds it: a
    published figure, or the difference of two published figures whose crime sets are nested
    (period in {p, all}, type in {c, all}, the area or a parent). Returns per crime the size of
    that set and the estimated share near in it, and the sizes of every nested difference."""
    crimes = registry["crimes"]
    h = hierarchy_for(reference)
    unit = {
        "lsoa": crimes.lsoa,
        "district": h.lsoa_district[crimes.lsoa],
        "decile": h.lsoa_decile[crimes.lsoa],
        "force": np.zeros(len(crimes.lsoa), dtype="int64"),
    }

    def members(month, category, level, area):
        mask = unit[level] == area
        if month is not None:
            mask &= crimes.month == month
        if category is not None:
            mask &= crimes.category == category
        return mask

    def parent(level, area, to):
        if to == level:
            return area
        return 0 if to == "force" else int((h.lsoa_district if to == "district" else h.lsoa_decile)[area])

    size = np.full(len(crimes.month), np.inf)
    share = np.full(len(crimes.month), np.nan)
    differences = []
    for (month, category, level, area), (n_a, near_a) in figures.items():
        inside = members(month, category, level, area)
        assert inside.sum() == n_a  # the analyst knows each figure's crimes (public police.uk data)
        better = inside & (n_a < size)
        size[better], share[better] = n_a, near_a / n_a
        for larger_month in {month, None}:
            for larger_category in {category, None}:
                for to in PARENTS[level]:
                    key = (larger_month, larger_category, to, parent(level, area, to))
                    if key == (month, category, level, area) or key[3] < 0 or key not in figures:
                        continue
                    n_b, near_b = figures[key]
                    if n_b == n_a:
                        continue
                    differences.append(n_b - n_a)
                    extra = members(*key) & ~inside
                    assert extra.sum() == n_b - n_a
                    better = extra & (n_b - n_a < size)
                    size[better], share[better] = n_b - n_a, (near_b - near_a) / (n_b - n_a)
    return size, share, np.array(differences)


def test_the_probe_attack_classifies_no_crime_point_better_than_chance(registry, reference, monkeypatch):
    """Issue 14's attack, with the best the query space now allows. Crime data are imported by an
    administrator (no probes of the analyst's own); the analyst collects every published figure at
    50 m and differences every nested pair, classifying each crime point as "a camera within 50 m"
    when the smallest set it can isolate around it is mostly near."""
    from dashboard.geo.near_points import point_coverage

    crimes = registry["crimes"]
    truth = point_coverage(registry["index"], crimes.lat, crimes.lon, 50).near
    layer = registry["rt"].disclosure
    figures = _published_near_figures(registry, reference, layer, 50, 50)
    size, share, differences = _difference_attack(registry, reference, figures)

    # 1. No difference of published figures isolates fewer than K crime points.
    assert len(differences) >= 1 and differences.min() >= K
    assert np.isfinite(size).mean() > 0.9 and size.min() >= K

    # 2. Classifying each crime point is no better than chance: the base rate (everything "not
    # near" when most crimes have no camera within 50 m). Individual crime records (the only crime
    # of their month, type and small area) are judged on their own too.
    claimed = np.nan_to_num(share, nan=0.0) >= 0.5
    base_rate = truth.mean()
    chance = max(base_rate, 1 - base_rate)
    accuracy = (claimed == truth).mean()
    atoms = pd.Series(1, index=pd.MultiIndex.from_arrays([crimes.month, crimes.category, crimes.lsoa]))
    single = atoms.groupby(level=[0, 1, 2]).transform("size").to_numpy() == 1
    single_chance = max(truth[single].mean(), 1 - truth[single].mean())
    print(
        f"\n50 m: {len(truth):,} crimes, base rate {base_rate:.3f}; {len(figures)} published figures, "
        f"{len(differences)} nested differences (smallest {differences.min()}); attacker's accuracy "
        f"{accuracy:.3f} against chance {chance:.3f}; on {single.sum()} single crime records "
        f"{(claimed[single] == truth[single]).mean():.3f} against {single_chance:.3f}"
    )
    assert 0.6 < chance < 1 and accuracy <= chance + 0.03
    assert (claimed[single] == truth[single]).mean() <= single_chance + 0.05

    # 3. No registrant is placed more precisely than its res-8 cell: the centroid of the crimes
    # classified "near" in a small area is no closer to a registrant's site than that site's res-8
    # cell centre more often than the centroid of as many crimes of that small area drawn at random.
    with sqlite3.connect(registry["path"]) as con:
        sites = np.array(
            con.execute(
                "SELECT s.lat, s.lon, s.h3_r8 FROM site s JOIN registrant r ON "
                "r.id = s.registrant_id WHERE r.status = 'active'"
            ).fetchall(),
            dtype=object,
        )
    site_lat, site_lon = sites[:, 0].astype(float), sites[:, 1].astype(float)
    centres = np.array([h3.cell_to_latlng(cell) for cell in sites[:, 2]])
    _, _, to_centre = GEOD.inv(site_lon, site_lat, centres[:, 1], centres[:, 0])

    def placed(lat: float, lon: float) -> bool:
        _, _, d = GEOD.inv(np.full(len(site_lat), lon), np.full(len(site_lat), lat), site_lon, site_lat)
        nearest = int(np.argmin(d))
        return bool(d[nearest] < to_centre[nearest])

    rng = np.random.default_rng(14)
    attacker = by_chance = groups = 0
    for area in np.unique(crimes.lsoa[claimed]):
        chosen = claimed & (crimes.lsoa == area)
        attacker += placed(crimes.lat[chosen].mean(), crimes.lon[chosen].mean())
        pool = np.flatnonzero(crimes.lsoa == area)
        draws = [rng.choice(pool, int(chosen.sum()), replace=False) for _ in range(20)]
        by_chance += np.mean([placed(crimes.lat[d].mean(), crimes.lon[d].mean()) for d in draws])
        groups += 1
    print(
        f"res-8: {groups} small areas with crimes classified near; centroid closer to a site than its res-8 "
        f"centre in {attacker}, by chance {by_chance:.1f}"
    )
    assert attacker <= by_chance + max(2.0, 0.2 * groups)

    # The check has teeth: without the complement and dominance rules, the adjustment and the narrower query space
    # (threshold K only, as before issue 14), the same differencing at 100 m isolates handfuls of crimes.
    monkeypatch.setattr(
        gap_report_module,
        "complement_hidden",
        lambda cube, h, month, category, k: {level: np.zeros(n, dtype=bool) for level, n in h.sizes.items()},
    )
    monkeypatch.setattr(gap_report_module, "check_offered", lambda query: None)  # every month x type x small area
    monkeypatch.setattr(
        gap_report_module,
        "dominated",
        lambda point, lsoa, h: {level: np.zeros(n, dtype=bool) for level, n in h.sizes.items()},
    )
    undefended = _published_near_figures(registry, reference, EXACT, 50, 100)
    size, share, differences = _difference_attack(registry, reference, undefended)
    truth = point_coverage(registry["index"], crimes.lat, crimes.lon, 100).near
    isolated = size < K
    print(f"without the defences: {isolated.sum()} crimes isolated in sets under {K}, {(size == 1).sum()} alone")
    assert differences.min() < K and isolated.sum() >= 5
