"""The coverage area table from the register's area summaries (``postcode_near``, ``postcode_reach``,
``view_tile``, ``area_view``, ``register_count``) is the table counted against an index of the whole
register, on both backends, after the demo's bulk load and after every kind of register write.

The second method is ``area_coverage``: ``point_coverage`` of every reference postcode against every
active camera at once (itself checked against pyproj.Geod in ``test_area_coverage.py``) and
``covered_area_m2``, the union of every counted camera's wedge per area in one pass (checked pixel by
pixel against a brute-force count in ``test_fov_area.py``). The published tables must be equal, and
the ground in view equal to the pixel before the layer rounds it."""

from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from dashboard.analytics.area_report import area_coverage, from_summaries
from dashboard.analytics.disclosure import Disclosure, PTable
from dashboard.core.vocab import POSTCODE_RADII_M
from dashboard.demo.generator import generate_demo
from dashboard.geo.fov import fill_fov
from dashboard.geo.fov_area import covered_area_m2
from dashboard.geo.search import CameraIndex
from dashboard.registry import area_summaries, registration, summaries
from dashboard.registry.camera_queries import active_camera_frame
from dashboard.registry.database import session_factory, transaction
from dashboard.registry.models import PostcodeNear, PostcodePoint, Registrant, Site, ViewTile
from dashboard.registry.retention import run_retention
from tests.integration.test_registration import valid

LAYER = Disclosure(PTable.build(8, 3, 2.0))


@pytest.fixture
def registry(engine, reference):
    generate_demo(
        engine,
        reference,
        seed=5,
        registrations=1500,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    return session_factory(engine)


def _in_view_by_union(s, index: CameraIndex, level: str) -> pd.Series:
    """m² in view per area code: every counted camera's wedge, grouped by its site's area, one union."""
    cam = index.arrays()
    _, _, _, _, x, y = index.grid_parts()
    angle, reach, _ = fill_fov(cam["fov_angle_deg"], cam["fov_range_m"], *index.kind_defaults())
    column = Site.lsoa_code if level == "lsoa" else Site.district_code
    area_of = dict(s.execute(sa.select(Site.id, column)).all())
    codes = pd.Series([area_of.get(int(i)) for i in cam["site_id"]], dtype=object)
    group, names = pd.factorize(codes, use_na_sentinel=True)
    m2 = covered_area_m2(x, y, cam["direction_deg"], angle, reach, group, len(names))
    return pd.Series(m2, index=np.asarray(names, dtype=object))


def _compare(sessions, reference) -> dict[str, float]:
    """Every level and distance: the published table from the summaries equals the one counted
    against the index; the raw m² in view are equal. Returns figures for the test to see the
    comparison is not empty."""
    with sessions() as s:
        index = CameraIndex.from_frame(active_camera_frame(s))
        seen = {}
        for level in ("district", "lsoa"):
            truth = _in_view_by_union(s, index, level)
            stored = area_summaries.area_view(s, level).set_index("code")["in_view_m2"]
            assert stored[stored > 0].sort_index().to_dict() == truth[truth > 0].sort_index().to_dict(), level
            seen[f"{level} m2"] = float(truth.sum())
            for radius in POSTCODE_RADII_M:
                by_index = area_coverage(s, reference, index, level, radius, LAYER)
                by_summary = from_summaries(s, reference, level, radius, LAYER)
                pd.testing.assert_frame_equal(by_summary, by_index, check_exact=True)
                seen[f"{level} near {radius}"] = float(by_index["postcodes_near"].fillna(0).sum())
    return seen


def test_the_area_summaries_are_the_table_counted_against_the_whole_register(registry, reference):
    with registry() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(PostcodePoint)) == len(reference.postcodes)
        assert s.scalar(sa.select(sa.func.count()).select_from(PostcodeNear)) > 100
        assert s.scalar(sa.select(sa.func.count()).select_from(ViewTile)) > 100
        assert summaries.verify(s) == []
    seen = _compare(registry, reference)
    assert seen["district m2"] > 100_000 and seen["lsoa near 200"] > seen["lsoa near 50"] > 0


def test_every_register_write_keeps_the_area_summaries_exact(registry, reference):
    sessions = registry
    # A registration 10 m from a postcode's centroid, in the busiest tile of the register.
    codes = reference.postcodes
    with sessions() as s:
        busiest = s.execute(
            sa.select(ViewTile.tile).group_by(ViewTile.tile).order_by(sa.func.sum(ViewTile.pixels).desc()).limit(1)
        ).scalar_one()
        site_lat, site_lon = s.execute(
            sa.select(PostcodePoint.lat, PostcodePoint.lon).order_by(PostcodePoint.id).limit(1)
        ).one()
        tiles_before = s.scalar(sa.select(sa.func.count()).select_from(ViewTile))
    assert busiest > 0 and tiles_before > 0
    nearest = int(np.argmin((codes["lat"] - site_lat) ** 2 + (codes["lon"] - site_lon) ** 2))
    postcode = codes["postcode"].iloc[nearest]
    body = valid(
        postcode,
        cameras=[{"kind": "dome", "placement": "outdoor", "direction_deg": 90, "recording_mode": "continuous"}],
    )
    body.update({"lat": float(site_lat) + 0.00009, "lon": float(site_lon)})
    data = registration.RegistrationIn.model_validate(body, context={"reference": reference})
    with transaction(sessions) as s:
        made = registration.register(s, data, reference, via="api")
    with sessions() as s:
        assert summaries.verify(s) == []
        point = s.scalar(
            sa.select(PostcodePoint.id).where(PostcodePoint.lat == site_lat, PostcodePoint.lon == site_lon)
        )
        assert s.scalar(sa.select(PostcodeNear.near_50).where(PostcodeNear.postcode_id == point)) >= 1
    _compare(sessions, reference)

    # A camera that sees 300 m all round: its wedge reaches tiles its site is not in.
    with transaction(sessions) as s:
        site = s.scalar(sa.select(Site).where(Site.registrant_id == made.registrant_id))
        with summaries.changing(s, [site.id]):
            for camera in site.cameras:
                camera.fov_angle_deg, camera.fov_range_m = 360.0, 300.0
    with sessions() as s:
        assert summaries.verify(s) == []
        reached = s.scalar(sa.select(sa.func.count(sa.distinct(ViewTile.tile))).where(ViewTile.tile > 0))
        assert reached >= 1
    _compare(sessions, reference)

    # The owner switches the camera off and adds one that looks the other way.
    with transaction(sessions) as s:
        reg = s.get(Registrant, made.registrant_id)
        changed = valid(
            postcode,
            cameras=[{"kind": "ptz", "placement": "outdoor", "direction_deg": 180, "recording_mode": "continuous"}],
        )
        changed.update({"lat": float(site_lat) + 0.00009, "lon": float(site_lon)})
        registration.update(
            s,
            reg,
            registration.RegistrationIn.model_validate(changed, context={"reference": reference}),
            [None],
            reference,
        )
    with sessions() as s:
        assert summaries.verify(s) == []
    _compare(sessions, reference)

    # The owner withdraws; retention erases many at once.
    with transaction(sessions) as s:
        registration.withdraw(s, s.get(Registrant, made.registrant_id), via="web")
    with sessions() as s:
        assert summaries.verify(s) == []
    flagged_at = dt.datetime(2027, 12, 20, tzinfo=dt.UTC)
    with sessions() as s:
        assert run_retention(s, flagged_at, period=12, grace=1).flagged > 50
    with sessions() as s:
        assert run_retention(s, flagged_at + dt.timedelta(days=2), period=12, grace=1).erased > 50
    with sessions() as s:
        assert summaries.verify(s) == []
        assert s.scalar(sa.select(sa.func.count()).select_from(ViewTile)) < tiles_before
    _compare(sessions, reference)


def test_a_changed_reference_counts_the_postcode_tables_again(registry, reference):
    """Postcodes placed for another reference (here: the last one dropped) are replaced when the app
    starts (``ensure_built``) and the tables counted for them again."""
    with transaction(registry) as s:
        s.execute(sa.delete(PostcodeNear))
        s.execute(sa.delete(PostcodePoint).where(PostcodePoint.id == len(reference.postcodes)))
    with transaction(registry) as s:
        assert summaries.verify(s) != []
        version = summaries.version(s)
        assert summaries.ensure_built(s, reference) is True
    with registry() as s:
        assert summaries.verify(s) == [] and summaries.version(s) == version + 1
        assert summaries.ensure_built(s, reference) is False
    _compare(registry, reference)


def test_servers_starting_together_place_the_postcodes_once(registry, reference):
    """Two processes start at once on a register whose postcode points are gone (as after a new
    reference): each replaces them in its own transaction; neither fails on the other's rows."""
    with transaction(registry) as s:
        s.execute(sa.delete(PostcodeNear))
        s.execute(sa.delete(PostcodePoint))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def starting() -> None:
        try:
            start.wait()
            with transaction(registry) as s:
                summaries.ensure_built(s, reference)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    both = [threading.Thread(target=starting) for _ in range(2)]
    for t in both:
        t.start()
    for t in both:
        t.join()
    assert errors == []
    with registry() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(PostcodePoint)) == len(reference.postcodes)
        assert summaries.verify(s) == []
