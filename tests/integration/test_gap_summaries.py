"""The gap analysis from the register's gap summaries (``gap_crime``, ``gap_reach``) is the gap
analysis counted against an index of the whole register, on both backends, after the crimes are
imported and after every kind of register write.

The second method is ``point_coverage`` over every active camera at once (``from_index``), itself
checked against pyproj.Geod from every crime to every camera in ``test_gap_analysis.py``. The two
must give the same true figures, array for array, at every distance and level (small area,
district, IMD decile, force), and so the same published report."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import sqlalchemy as sa

from dashboard.analytics.disclosure import Disclosure, PTable
from dashboard.analytics.gap_report import (
    GapQuery,
    build_report,
    from_index,
    from_summaries,
    gap_crimes,
    gap_register,
)
from dashboard.core.vocab import GAP_RADII_M
from dashboard.demo.generator import generate_demo
from dashboard.geo.search import CameraIndex
from dashboard.registry import audit, gap_summaries, registration, summaries
from dashboard.registry.camera_queries import active_camera_frame
from dashboard.registry.crime_import import import_crimes, parse_police_uk_csv
from dashboard.registry.crime_queries import located_crimes, unlocated_crimes
from dashboard.registry.database import session_factory, transaction
from dashboard.registry.models import Crime, GapCrime, Registrant, Site
from dashboard.registry.retention import run_retention
from tests.integration.test_registration import valid

LAYER = Disclosure(PTable.build(8, 3, 2.0))


@pytest.fixture
def registry(engine, reference, reference_dir):
    generate_demo(
        engine,
        reference,
        seed=7,
        registrations=1500,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    sessions = session_factory(engine)
    files = sorted((reference_dir / "police_uk").glob("*-street.csv"))
    assert files
    with transaction(sessions) as s:
        for path in files:
            import_crimes(
                s,
                parse_police_uk_csv(path.read_bytes(), path.name),
                audit.Actor(None, "test", None),
                reference,
                count=False,
            )
        summaries.rebuild_gap(s, reference)
    return sessions


def _compare(sessions, reference) -> int:
    """Every distance and level: the true figures from the summaries equal those from the index;
    returns how many crimes are near a site at 100 m (so a test sees the comparison is not empty)."""
    with sessions() as s:
        crimes = gap_crimes(reference, located_crimes(s), unlocated_crimes(s))
        index = CameraIndex.from_frame(active_camera_frame(s))
        register = gap_register(s)
        stored = {r: (gap_summaries.area_counts(s, r), gap_summaries.reach(s, r)) for r in GAP_RADII_M}
    chosen = np.ones(len(crimes.lat), dtype=bool)
    near_100 = 0
    for radius in GAP_RADII_M:
        by_index = from_index(reference, index, register.site_keys)(crimes, chosen, radius)
        by_summary = from_summaries(reference, *stored[radius])(crimes, chosen, radius)
        for level, truth in by_index.items():
            got = by_summary[level]
            for field in ("crimes", "near", "in_view", "crime_key", "registrations", "registration_key"):
                assert getattr(got, field).tolist() == getattr(truth, field).tolist(), (radius, level, field)
        if radius == 100:
            near_100 = int(by_index["force"].near[0])
        for level in ("lsoa", "district"):
            query = GapQuery(radius_m=radius, level=level)
            a = build_report(
                crimes, reference, from_index(reference, index, register.site_keys), register, query, LAYER, 50
            )
            b = build_report(crimes, reference, from_summaries(reference, *stored[radius]), register, query, LAYER, 50)
            assert a.by_area.equals(b.by_area) and a.totals == b.totals and a.targets.equals(b.targets)
    return near_100


def test_the_gap_summaries_are_the_report_counted_against_the_whole_register(registry, reference):
    with registry() as s:
        placed = s.scalar(sa.select(sa.func.count()).select_from(Crime).where(Crime.area_lsoa.is_not(None)))
        assert placed > 1000
        assert s.scalar(sa.select(sa.func.count()).select_from(GapCrime)) > 100
        assert summaries.verify(s) == []
    near = _compare(registry, reference)
    assert near > 100


def test_every_register_write_keeps_the_gap_summaries_exact(registry, reference):
    sessions = registry
    # A registration right by a crime: its site is near that crime at every distance.
    with sessions() as s:
        crime_lat, crime_lon = s.execute(
            sa.select(Crime.lat, Crime.lon).where(Crime.area_lsoa.is_not(None)).order_by(Crime.id).limit(1)
        ).one()
    codes = reference.postcodes
    nearest = int(np.argmin((codes["lat"] - crime_lat) ** 2 + (codes["lon"] - crime_lon) ** 2))
    postcode = codes["postcode"].iloc[nearest]
    body = valid(postcode)
    body.update({"lat": float(crime_lat) + 0.0001, "lon": float(crime_lon)})
    data = registration.RegistrationIn.model_validate(body, context={"reference": reference})
    with transaction(sessions) as s:
        made = registration.register(s, data, reference, via="api")
    with sessions() as s:
        assert summaries.verify(s) == []
        site_id = s.scalar(sa.select(Site.id).where(Site.registrant_id == made.registrant_id))
        near_crime = s.execute(
            sa.select(GapCrime.near_50)
            .join(Crime, Crime.id == GapCrime.crime_id)
            .where(Crime.lat == crime_lat, Crime.lon == crime_lon)
        ).scalars()
        assert all(n >= 1 for n in near_crime) and site_id is not None  # about 11 m from the crime point
    _compare(sessions, reference)

    # A second registration 200 m north of the crime with one camera that sees 400 m, looking
    # south at it: in view from beyond 50 and 100 m, so it is counted near the crime's areas there
    # by its view alone.
    north = registration.RegistrationIn.model_validate(
        {
            **valid(postcode),
            "lat": float(crime_lat) + 0.0018,
            "lon": float(crime_lon),
            "cameras": [
                {"kind": "fixed", "placement": "outdoor", "direction_deg": 180, "recording_mode": "continuous"}
            ],
        },
        context={"reference": reference},
    )
    with transaction(sessions) as s:
        far = registration.register(s, north, reference, via="api")
    with transaction(sessions) as s:  # the form offers no range: set as the demo's long views are, kept exact
        far_site = s.scalar(sa.select(Site).where(Site.registrant_id == far.registrant_id))
        with summaries.changing(s, [far_site.id]):
            for camera in far_site.cameras:
                camera.fov_angle_deg, camera.fov_range_m = 60.0, 400.0
    with sessions() as s:
        assert summaries.verify(s) == []
        seeing = s.execute(
            sa.select(GapCrime.seeing, GapCrime.near_100)
            .join(Crime, Crime.id == GapCrime.crime_id)
            .where(Crime.lat == crime_lat, Crime.lon == crime_lon)
        ).all()
        assert seeing and all(n >= 1 for n, _ in seeing)
    _compare(sessions, reference)
    with transaction(sessions) as s:
        registration.withdraw(s, s.get(Registrant, far.registrant_id), via="web")

    # The owner switches a camera off and adds one that looks the other way.
    with transaction(sessions) as s:
        reg = s.get(Registrant, made.registrant_id)
        cameras = sorted(reg.site.cameras, key=lambda c: c.id)
        changed = valid(
            postcode,
            cameras=[{"kind": "ptz", "placement": "outdoor", "direction_deg": 180, "recording_mode": "continuous"}],
        )
        changed.update({"lat": float(crime_lat) + 0.0001, "lon": float(crime_lon)})
        registration.update(
            s,
            reg,
            registration.RegistrationIn.model_validate(changed, context={"reference": reference}),
            [None],
            reference,
        )
    with sessions() as s:
        assert summaries.verify(s) == []
        assert len(cameras) >= 1
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
    _compare(sessions, reference)
