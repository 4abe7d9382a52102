"""Coverage per area against independent computations: postcodes with a camera nearby by
pyproj.Geod over every site, and ground in view by an exact shapely union of the wedges."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest
import shapely
from pyproj import Geod

from dashboard.analytics.area_report import area_coverage
from dashboard.geo.fov import fill_effective_fov
from dashboard.geo.search import wgs84_to_bng
from tests.integration.test_gap_analysis import K, registry  # noqa: F401 - the shared demo registry fixture

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def districts(registry, reference):  # noqa: F811
    sessions, index, _ = registry
    with sessions() as s:
        return area_coverage(s, reference, index, "district", 100, K).set_index("code")


def test_postcode_shares_match_geod_over_every_site(registry, reference, districts):  # noqa: F811
    _, _, path = registry
    with sqlite3.connect(path) as con:
        sites = np.array(con.execute("SELECT s.lon, s.lat FROM site s JOIN registrant r ON r.id = s.registrant_id "
                                     "WHERE r.status = 'active' AND s.lat IS NOT NULL").fetchall())
    shown = districts[districts["share_postcodes_near"].notna()]
    assert len(shown) >= 3
    code = shown["postcodes"].idxmin()  # the smallest shown district keeps the brute force quick
    postcodes = reference.postcodes[reference.postcodes["district_code"] == code]
    near = 0
    for lon, lat in zip(postcodes["lon"], postcodes["lat"]):
        box = (np.abs(sites[:, 1] - lat) < 0.002) & (np.abs(sites[:, 0] - lon) < 0.003)  # ~200 m: a generous box
        if box.any():
            _, _, distance = GEOD.inv(sites[box, 0], sites[box, 1], np.full(box.sum(), lon), np.full(box.sum(), lat))
            near += bool((distance <= 100).any())
    row = districts.loc[code]
    assert row["postcodes"] == len(postcodes)
    assert row["share_postcodes_near"] == pytest.approx(near / len(postcodes), abs=5e-5)


def test_ground_in_view_matches_an_exact_union(registry, reference, districts):  # noqa: F811
    _, _, path = registry
    with sqlite3.connect(path) as con:
        rows = con.execute(
            "SELECT s.lon, s.lat, s.district_code, c.kind, c.direction_deg, c.fov_angle_deg, c.fov_range_m "
            "FROM camera c JOIN site s ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id "
            "WHERE c.active = 1 AND r.status = 'active'").fetchall()
    lon, lat, district, kind, direction, angle, reach = (np.array(c, dtype=object) for c in zip(*rows))
    angle, reach, _ = fill_effective_fov(kind, angle.astype(float), reach.astype(float))
    direction = direction.astype(float)
    x, y = wgs84_to_bng().transform(lon.astype(float), lat.astype(float))
    code = districts["in_view_km2"].dropna().index[0]
    wedges = []
    for i in np.flatnonzero((district == code) & (~np.isnan(direction) | (angle >= 360))):
        if angle[i] >= 360:
            wedges.append(shapely.Point(x[i], y[i]).buffer(reach[i], quad_segs=32))
            continue
        bearings = np.radians(np.linspace(direction[i] - angle[i] / 2, direction[i] + angle[i] / 2, 65))
        ring = [(x[i], y[i]), *zip(x[i] + reach[i] * np.sin(bearings), y[i] + reach[i] * np.cos(bearings))]
        wedges.append(shapely.Polygon(ring))
    exact_km2 = shapely.union_all(wedges).area / 1e6
    assert len(wedges) > 300
    assert districts.loc[code, "in_view_km2"] == pytest.approx(exact_km2, rel=0.02)
    area = reference.districts.set_index("code").loc[[code]].to_crs(27700).area.iloc[0] / 1e6
    assert districts.loc[code, "share_in_view"] == pytest.approx(exact_km2 / area, rel=0.02)


def test_small_areas_hide_what_few_registrations_could_reveal(registry, reference):  # noqa: F811
    sessions, index, _ = registry
    with sessions() as s:
        lsoas = area_coverage(s, reference, index, "lsoa", 50, K)
    assert len(lsoas) == len(reference.small_areas)
    hidden = lsoas["registrations"].isna()
    assert hidden.any() and (~hidden).any()
    assert (lsoas.loc[~hidden, "registrations"] >= K).all()
    assert lsoas["in_view_km2"].isna().sum() >= 2 and lsoas["share_postcodes_near"].isna().sum() >= 2


def test_gap_and_area_figures_on_either_database(engine, reference, reference_dir):
    """The same reads on SQLite and PostgreSQL/PostGIS: crimes, site areas and counts agree with SQL."""
    import datetime as dt

    import sqlalchemy as sa

    from dashboard.analytics.gap_report import GapQuery, gap_report
    from dashboard.demo import generate_demo
    from dashboard.registry.camera_queries import active_camera_frame
    from dashboard.registry.crime_import import import_crimes, parse_police_uk_csv
    from dashboard.registry.database import session_factory, transaction
    from dashboard.geo.search import CameraIndex
    from dashboard.security import audit

    generate_demo(engine, reference, seed=2, registrations=1500, as_of=dt.date(2026, 11, 29),
                  pilot_start=dt.date(2026, 4, 13), public_launch=dt.date(2026, 7, 6))
    sessions = session_factory(engine)
    sample = reference_dir / "police_uk" / "2025-03-staffordshire-street.csv"
    with transaction(sessions) as s:
        import_crimes(s, parse_police_uk_csv(sample.read_bytes(), sample.name), audit.SYSTEM)
    with sessions() as s:
        index = CameraIndex.from_frame(active_camera_frame(s))
        report = gap_report(s, reference, index, GapQuery(level="district"), 1)
        areas = area_coverage(s, reference, index, "district", 100, 1)
        crimes = s.scalar(sa.text("SELECT count(*) FROM crime WHERE lat IS NOT NULL"))
        registrations = s.scalar(sa.text("SELECT count(*) FROM registrant WHERE status = 'active'"))
    assert report.totals["points"] == crimes > 100  # every Cannock crime lies in the force area
    assert report.totals["near"] is not None and 0 < report.totals["near"] <= crimes
    assert int(areas["registrations"].sum()) == registrations  # K = 1: nothing hidden
    assert areas["in_view_km2"].notna().all() and (areas["share_postcodes_near"] > 0).all()
