"""Gap analysis of the real Cannock crime sample against a demo registry, checked against an
independent brute force: pyproj.Geod from every crime to every camera, read with plain SQL."""
from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict

import numpy as np
import pytest
from pyproj import Geod

from dashboard.analytics.gap_report import GapQuery, gap_report
from dashboard.demo import generate_demo
from dashboard.geo.fov import fill_effective_fov, in_view_codes
from dashboard.geo.search import CameraIndex
from dashboard.registry.camera_queries import active_camera_frame
from dashboard.registry.crime_import import import_crimes, parse_police_uk_csv
from dashboard.registry.database import make_engine, migrate, session_factory, transaction
from dashboard.security import audit

GEOD = Geod(ellps="WGS84")
K = 8


@pytest.fixture(scope="module")
def registry(tmp_path_factory, reference_dir, reference):
    path = tmp_path_factory.mktemp("gaps") / "gaps.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    generate_demo(engine, reference, seed=5, registrations=6000, as_of=dt.date(2026, 11, 29),
                  pilot_start=dt.date(2026, 4, 13), public_launch=dt.date(2026, 7, 6))
    sessions = session_factory(engine)
    for sample in sorted((reference_dir / "police_uk").glob("*-street.csv")):
        with transaction(sessions) as s:
            import_crimes(s, parse_police_uk_csv(sample.read_bytes(), sample.name), audit.SYSTEM)
    with sessions() as s:
        index = CameraIndex.from_frame(active_camera_frame(s))
    yield sessions, index, path
    engine.dispose()


def brute_force(path, reference, radius_m, months=None, types=None):
    """Per crime (with coordinates, in a force LSOA): near / in view, and the registrant of each
    contributing camera; straight from SQL, distances by Geod to every camera."""
    con = sqlite3.connect(path)
    cams = np.array(con.execute(
        "SELECT s.lat, s.lon, c.kind, c.direction_deg, c.fov_angle_deg, c.fov_range_m, s.registrant_id "
        "FROM camera c JOIN site s ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id "
        "WHERE c.active = 1 AND r.status = 'active'").fetchall(), dtype=object)
    crimes = con.execute("SELECT month, crime_type, lat, lon, lsoa_code FROM crime WHERE lat IS NOT NULL").fetchall()
    con.close()
    lat, lon = cams[:, 0].astype(float), cams[:, 1].astype(float)
    angle, reach, _ = fill_effective_fov(cams[:, 2], cams[:, 4].astype(float), cams[:, 5].astype(float))
    direction, owner = cams[:, 3].astype(float), cams[:, 6]
    ours = set(reference.small_areas["code"])
    out = []
    for month, crime_type, clat, clon, lsoa in crimes:
        if lsoa not in ours or (months and str(month)[:7] not in months) or (types and crime_type not in types):
            continue
        azimuth, _, distance = GEOD.inv(lon, lat, np.full(len(lat), clon), np.full(len(lat), clat))
        near = distance <= radius_m
        views = in_view_codes(direction, angle, reach, np.asarray(azimuth) % 360, distance) == 0
        out.append((lsoa, bool(near.any()), bool(views.any()), set(owner[near | views])))
    return out


def test_cannock_sample_agrees_with_brute_force(registry, reference):
    sessions, index, path = registry
    with sessions() as s:
        report = gap_report(s, reference, index, GapQuery(radius_m=100, level="lsoa"), K)
    truth = brute_force(path, reference, 100)
    assert report.totals["points"] == len(truth) > 2000
    assert report.totals["near"] == sum(t[1] for t in truth) > 0
    assert report.totals["in_view"] == sum(t[2] for t in truth) > 0
    assert report.totals["registrations_near"] == len(set().union(*(t[3] for t in truth)))

    by_lsoa = defaultdict(lambda: [0, 0, 0, set()])
    for lsoa, near, seen, owners in truth:
        row = by_lsoa[lsoa]
        row[0] += 1
        row[1] += near
        row[2] += seen
        row[3] |= owners
    table = report.by_area.set_index("code")
    shown = 0
    for lsoa, (crimes, near, seen, owners) in by_lsoa.items():
        row = table.loc[lsoa]
        assert row["points"] == crimes
        if len(owners) < K:
            assert row["suppressed"], lsoa  # drawn from fewer than K registrations: never shown
        if not row["suppressed"]:
            shown += 1
            assert (row["near"], row["in_view"], row["registrations_near"]) == (near, seen, len(owners))
            assert row["share_near"] == pytest.approx(near / crimes, abs=5e-5)
    assert shown >= 3
    # hidden areas cannot be recovered from the published total
    hidden = table[table["suppressed"]]
    assert len(hidden) == 0 or (len(hidden) >= 2 and sum(len(by_lsoa[c][3]) for c in hidden.index) >= K)


def test_period_type_and_radius_filters_agree_too(registry, reference):
    sessions, index, path = registry
    query = GapQuery(first_month=dt.date(2025, 3, 1), last_month=dt.date(2025, 5, 1),
                     crime_types=("Anti-social behaviour", "Shoplifting"), radius_m=200, level="district")
    with sessions() as s:
        report = gap_report(s, reference, index, query, K)
    truth = brute_force(path, reference, 200, months={"2025-03", "2025-04", "2025-05"},
                        types={"Anti-social behaviour", "Shoplifting"})
    assert report.totals["points"] == len(truth) > 100
    assert report.totals["near"] == sum(t[1] for t in truth)
    assert set(report.by_area.loc[report.by_area["points"] > 0, "code"]) <= set(reference.districts["code"])


def test_targets_rank_by_crimes_without_a_camera(registry, reference):
    sessions, index, _ = registry
    with sessions() as s:
        report = gap_report(s, reference, index, GapQuery(level="lsoa"), K)
    targets = report.targets
    with_crimes = int((report.by_area["points"] > 0).sum())
    assert targets["rank"].tolist() == list(range(1, len(targets) + 1)) and len(targets) == min(20, with_crimes) >= 5
    assert targets["priority"].is_monotonic_decreasing
    gaps = report.by_area.set_index("code")
    for row in targets.itertuples():
        g = gaps.loc[row.code]
        expected = g["points"] if g["suppressed"] else g["points"] - g["near"]
        assert row.priority == expected and row.points == g["points"]
    # the highest priority of all areas with crimes is first
    priority = gaps["points"] - gaps["near"].fillna(0).where(~gaps["suppressed"], 0)
    assert targets["priority"].iloc[0] == priority.max()


def test_deprivation_deciles_add_up_to_the_register(registry, reference):
    sessions, index, path = registry
    with sessions() as s:
        report = gap_report(s, reference, index, GapQuery(), K)
    deciles = report.by_decile
    assert deciles["imd_decile"].tolist() == list(range(1, 11))
    con = sqlite3.connect(path)
    per_decile = defaultdict(int)
    decile_of = dict(zip(reference.small_areas["code"], reference.small_areas["imd_decile"]))
    for (lsoa,) in con.execute("SELECT s.lsoa_code FROM site s JOIN registrant r ON r.id = s.registrant_id "
                               "WHERE r.status = 'active' AND s.lsoa_code IS NOT NULL"):
        per_decile[int(decile_of[lsoa])] += 1
    con.close()
    for row in deciles.itertuples():
        if not np.isnan(row.registrations if row.registrations is not None else np.nan):
            assert row.registrations == per_decile[row.imd_decile]
    assert deciles["registrations"].notna().sum() >= 8


@pytest.mark.parametrize("filters", [
    {}, {"kind": "doorbell"}, {"placement": "indoor"}, {"direction_known": True}, {"direction_known": False},
    {"registered_by": dt.date(2026, 6, 30)}, {"kind": "fixed", "placement": "outdoor", "registered_by": dt.date(2026, 9, 1)},
    {"kind": "no-such-kind"},
])
def test_in_memory_cell_counts_equal_the_sql_group_by(registry, filters):
    from dashboard.registry.camera_queries import active_cell_frame, cameras_by_cell
    from dashboard.registry.cell_counts import CellCounts

    sessions, _, _ = registry
    with sessions() as s:
        counts = CellCounts.from_frame(active_cell_frame(s))
        for res in (7, 8, 9):
            by_sql = cameras_by_cell(s, res, **filters).sort_values("cell").reset_index(drop=True)
            in_memory = counts.by_cell(res, **filters).sort_values("cell").reset_index(drop=True)
            left_out = in_memory.pop("registrations_left_out")
            assert (left_out == 0).all() if not filters else left_out.sum() > 0 or len(in_memory) == 0
            assert in_memory.to_dict("list") == by_sql.to_dict("list")
            assert filters.get("kind") == "no-such-kind" or len(by_sql) > 0
