"""The register's summary counts stay exact through every kind of write, on both backends.

The truth each time is worked out row by row in Python from a plain SQL read of the register (sets
of sites and cameras per cell and choice), not by the summaries' own arithmetic; and every write that
changes the register raises its version in the same transaction, while one that fails changes
nothing."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
import sqlalchemy as sa

from dashboard.core.vocab import CAMERA_FILTERS
from dashboard.demo.generator import generate_demo
from dashboard.registry import registration, summaries
from dashboard.registry.database import session_factory, transaction
from dashboard.registry.models import (
    Camera,
    CoverageCell,
    RegisterCount,
    RegisterMix,
    RegisterState,
    Registrant,
    Site,
    UptakeDay,
)
from dashboard.registry.retention import run_retention
from tests.integration.test_registration import valid

RAW = sa.text(
    "SELECT s.id, r.record_key, c.record_key, s.h3_r7, s.h3_r8, s.h3_r9, c.kind, c.placement, c.direction_deg "
    "FROM camera c JOIN site s ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id "
    "WHERE c.active AND r.status = 'active' AND s.h3_r7 IS NOT NULL"
)


def _keeps(wanted: dict, kind, placement, direction) -> bool:
    facts = {"kind": kind, "placement": placement, "direction_known": direction is not None}
    return all(facts[k] == v for k, v in wanted.items())


def brute_truth(session) -> dict[tuple, tuple]:
    """(res, choice, cell) -> (registrations, their key sum, cameras, their key sum, sites left out),
    from sets over the register's rows."""
    sites: dict[int, dict] = {}
    for site, reg_key, cam_key, r7, r8, r9, kind, placement, direction in session.execute(RAW):
        entry = sites.setdefault(site, {"key": int(reg_key or 0), "cells": (r7, r8, r9), "cameras": []})
        entry["cameras"].append((int(cam_key or 0), kind, placement, direction))
    truth: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for entry in sites.values():
        for choice, wanted in CAMERA_FILTERS.items():
            kept = [c for c in entry["cameras"] if _keeps(wanted, *c[1:])]
            dropped = len(entry["cameras"]) - len(kept)
            for res, cell in zip((7, 8, 9), entry["cells"]):
                row = truth[(res, choice, cell)]
                if kept:
                    row[0] += 1
                    row[1] += entry["key"]
                    row[2] += len(kept)
                    row[3] += sum(c[0] for c in kept)
                if dropped:
                    row[4] += 1
    return {k: tuple(v) for k, v in truth.items() if any(v)}


COUNTS_RAW = sa.text(
    "SELECT s.id, s.district_code, s.lsoa_code, r.consent_at, r.record_key, "
    "(SELECT count(*) FROM camera c WHERE c.site_id = s.id AND c.active), "
    "(SELECT coalesce(sum(c.record_key), 0) FROM camera c WHERE c.site_id = s.id AND c.active) "
    "FROM site s JOIN registrant r ON r.id = s.registrant_id WHERE r.status = 'active'"
)


def brute_counts(session) -> dict[tuple, tuple]:
    """(kind, code) -> (registrations, key sum, active cameras, key sum), site by site; the UK day of
    consent by zoneinfo, one timestamp at a time."""
    from zoneinfo import ZoneInfo

    truth: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, 0])
    for _site, district, lsoa, consent_at, key, cameras, camera_keys in session.execute(COUNTS_RAW):
        if isinstance(consent_at, str):
            consent_at = dt.datetime.fromisoformat(consent_at)
        day = consent_at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo("Europe/London")).date().isoformat()
        for slot in (("district", district), ("lsoa", lsoa), ("consent_day", day)):
            if slot[1] is None:
                continue
            row = truth[slot]
            row[0] += 1
            row[1] += int(key or 0)
            row[2] += int(cameras)
            row[3] += int(camera_keys)
    return {k: tuple(v) for k, v in truth.items()}


def _uk_day(when) -> str:
    from zoneinfo import ZoneInfo

    if isinstance(when, str):
        when = dt.datetime.fromisoformat(when)
    return when.replace(tzinfo=dt.UTC).astimezone(ZoneInfo("Europe/London")).date().isoformat()


DAYS_RAW = sa.text(
    "SELECT s.district_code, r.consent_at, r.record_key, r.end_reason, r.withdrawn_at, "
    "(SELECT count(*) FROM camera c WHERE c.site_id = s.id), "
    "(SELECT coalesce(sum(c.record_key), 0) FROM camera c WHERE c.site_id = s.id) "
    "FROM site s JOIN registrant r ON r.id = s.registrant_id"
)


def brute_days(session) -> dict[tuple, tuple]:
    """(series, day, district) -> (registrations, key sum, cameras, key sum), registration by
    registration: every one ever made on its UK day of consent with its key (none once erased) and
    all its cameras; owner withdrawals on the UK day withdrawn, without keys."""
    truth: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, 0])
    for district, consent_at, key, end_reason, withdrawn_at, cameras, camera_keys in session.execute(DAYS_RAW):
        row = truth[("made", _uk_day(consent_at), district)]
        row[0] += 1
        row[1] += int(key or 0)
        row[2] += int(cameras)
        row[3] += int(camera_keys)
        if end_reason == "owner":
            truth[("withdrawn", _uk_day(withdrawn_at), district)][0] += 1
    return {k: tuple(v) for k, v in truth.items()}


MIX_RAW = sa.text(
    "SELECT s.id, s.district_code, r.record_key, c.record_key, c.kind, c.placement, c.retention_days, "
    "c.direction_deg, c.overlooks FROM camera c JOIN site s ON s.id = c.site_id "
    "JOIN registrant r ON r.id = s.registrant_id WHERE c.active AND r.status = 'active'"
)


def _retention_class(days) -> str:
    if days is None:
        return "not given"
    return (
        "up to 7 days"
        if days <= 7
        else "8 to 14 days"
        if days <= 14
        else "15 to 30 days"
        if days <= 30
        else ("more than 30 days")
    )


def brute_mix(session) -> dict[tuple, tuple]:
    """(district, aspect, value) -> (registrations, key sum, cameras, key sum), camera by camera,
    with the registrations as sets of sites."""
    cameras: dict[tuple, list] = defaultdict(lambda: [0, 0])
    sites: dict[tuple, dict] = defaultdict(dict)
    for site, reg_key, cam_key, kind, placement, retention, direction, overlooks in (
        (r[0], r[2], r[3], r[4], r[5], r[6], r[7], r[8]) for r in session.execute(MIX_RAW)
    ):
        district = session.get(Site, site).district_code
        values = [("kind", kind), ("placement", placement), ("retention", _retention_class(retention)), ("all", "")]
        values += [("given", "direction")] if direction is not None else []
        values += [("given", "retention")] if retention is not None else []
        values += [("given", "overlooks")] if overlooks else []
        for aspect, value in values:
            if value is None:
                continue
            slot = (district, aspect, value)
            cameras[slot][0] += 1
            cameras[slot][1] += int(cam_key or 0)
            sites[slot][site] = int(reg_key or 0)
    return {k: (len(sites[k]), sum(sites[k].values()), *cameras[k]) for k in cameras}


def stored_days(session) -> dict[tuple, tuple]:
    frame = summaries.uptake_days(session)
    return {tuple(r[:3]): tuple(int(v) for v in r[3:]) for r in frame.itertuples(index=False, name=None)}


def stored_mix(session) -> dict[tuple, tuple]:
    frame = summaries.register_mix(session)
    return {tuple(r[:3]): tuple(int(v) for v in r[3:]) for r in frame.itertuples(index=False, name=None)}


def stored_counts(session) -> dict[tuple, tuple]:
    frame = summaries.stored_counts(session)
    return {(r[0], r[1]): tuple(int(v) for v in r[2:]) for r in frame.itertuples(index=False, name=None)}


def stored(session) -> dict[tuple, tuple]:
    frame = summaries.stored_cells(session)
    return {(int(r[0]), r[1], r[2]): tuple(int(v) for v in r[3:]) for r in frame.itertuples(index=False, name=None)}


def _version(sessions) -> int:
    with sessions() as s:
        return summaries.version(s)


@pytest.fixture
def demo(engine, reference):
    generate_demo(
        engine,
        reference,
        seed=4,
        registrations=600,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    return session_factory(engine)


def test_after_a_demo_load_the_summary_is_the_register_counted_by_hand(demo):
    with demo() as s:
        truth = brute_truth(s)
        assert len(truth) > 300  # the check really saw cells of every grid
        assert stored(s) == truth
        counts = brute_counts(s)
        assert {k for k, _ in counts} == {"district", "lsoa", "consent_day"} and len(counts) > 100
        assert stored_counts(s) == counts
        days = brute_days(s)
        assert {series for series, _, _ in days} == {"made", "withdrawn"} and len(days) > 100
        assert stored_days(s) == days
        mix = brute_mix(s)
        assert {aspect for _, aspect, _ in mix} == {"kind", "placement", "retention", "given", "all"}
        assert stored_mix(s) == mix
        assert summaries.verify(s) == []
        assert s.scalar(sa.select(RegisterState.summaries_built))
    # The read the coverage page makes: keys modulo 256, only cells with a kept camera.
    with demo() as s:
        doorbells = summaries.cells(s, 8, "kind:doorbell").set_index("cell")
    expected = {
        cell: [v[0], v[1] % 256, v[2], v[3] % 256, v[4]]
        for (res, choice, cell), v in truth.items()
        if res == 8 and choice == "kind:doorbell" and v[2] > 0
    }
    assert {c: r.tolist() for c, r in doorbells.iterrows()} == expected


def test_every_register_write_keeps_it_exact_and_raises_the_version(demo, reference):
    sessions = demo
    postcode = reference.postcodes["postcode"].iloc[40]
    versions = [_version(sessions)]

    def check(what: str) -> None:
        with sessions() as s:
            assert stored(s) == brute_truth(s), what
            assert stored_counts(s) == brute_counts(s), what
            assert stored_days(s) == brute_days(s), what
            assert stored_mix(s) == brute_mix(s), what
            assert summaries._search_differences(s) == [], what  # PostgreSQL's search rows (none on SQLite)
        versions.append(_version(sessions))
        assert versions[-1] > versions[-2], what

    data = registration.RegistrationIn.model_validate(valid(postcode), context={"reference": reference})
    with transaction(sessions) as s:
        made = registration.register(s, data, reference, via="api")
    check("registration")
    with sessions() as s:
        site_id = s.scalar(sa.select(Site.id).where(Site.registrant_id == made.registrant_id))
        cell9 = s.scalar(sa.select(Site.h3_r9).where(Site.id == site_id))
        own = stored(s)
    # Two cameras: a doorbell with a direction, a fixed camera without: counted by hand.
    assert own[(9, "kind:doorbell", cell9)][2] >= 1 and own[(9, "direction:unknown", cell9)][2] >= 1

    # The owner changes one camera's kind, switches the other off and adds a third.
    with transaction(sessions) as s:
        reg = s.get(Registrant, made.registrant_id)
        cameras = sorted(reg.site.cameras, key=lambda c: c.id)
        changed = valid(
            postcode,
            cameras=[
                {"kind": "dome", "placement": "indoor", "recording_mode": "motion"},
                {"kind": "ptz", "placement": "outdoor", "direction_deg": 90, "recording_mode": "continuous"},
            ],
        )
        registration.update(
            s,
            reg,
            registration.RegistrationIn.model_validate(changed, context={"reference": reference}),
            [cameras[0].id, None],
            reference,
        )
    check("update")
    with sessions() as s:
        active = s.execute(
            sa.select(Camera.kind).where(Camera.site_id == site_id, Camera.active.is_(True)).order_by(Camera.kind)
        ).scalars()
        assert list(active) == ["dome", "ptz"]

    # The owner withdraws.
    with transaction(sessions) as s:
        registration.withdraw(s, s.get(Registrant, made.registrant_id), via="web")
    check("withdrawal")

    # Retention erases many at once (set-based).
    flagged_at = dt.datetime(2027, 12, 20, tzinfo=dt.UTC)  # a year after the demo: most are overdue
    with sessions() as s:  # the run commits batch by batch itself
        assert run_retention(s, flagged_at, period=12, grace=1).flagged > 50
    with sessions() as s:
        ran = run_retention(s, flagged_at + dt.timedelta(days=2), period=12, grace=1)
    assert ran.erased > 50
    check("retention")


def test_a_write_that_fails_changes_neither_the_summary_nor_the_version(demo, reference):
    sessions = demo
    with sessions() as s:
        before, version = stored(s), summaries.version(s)
        some = s.scalar(sa.select(Registrant.id).where(Registrant.status == "active").limit(1))
    with pytest.raises(RuntimeError), transaction(sessions) as s:
        registration.erase(s, [some], why="request")
        raise RuntimeError("the caller fails after the erasure")
    with sessions() as s:
        assert stored(s) == before and summaries.version(s) == version
        assert s.get(Registrant, some).status == "active"


def test_a_register_from_before_the_summaries_is_counted_once_at_start_up(demo):
    with transaction(demo) as s:  # as the migration leaves an existing register
        s.execute(sa.delete(CoverageCell))
        s.execute(sa.delete(RegisterCount))
        s.execute(sa.delete(UptakeDay))
        s.execute(sa.delete(RegisterMix))
        s.execute(sa.update(RegisterState).values(summaries_built=False))
    with transaction(demo) as s:
        assert summaries.verify(s)  # the check notices a summary that does not match
        assert summaries.ensure_built(s) is True
    with transaction(demo) as s:
        assert summaries.ensure_built(s) is False  # once
        assert stored(s) == brute_truth(s) and stored_counts(s) == brute_counts(s)
        assert stored_days(s) == brute_days(s) and stored_mix(s) == brute_mix(s)


def test_the_operators_check_finds_a_change_made_by_hand_and_rebuild_mends_it(
    tmp_path, reference_dir, reference, monkeypatch, capsys
):
    from dashboard import cli
    from dashboard.registry.database import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    for name, value in {"DATABASE_URL": url, "REFERENCE_DATA_DIR": str(reference_dir), "SECRET_KEY": "s" * 40}.items():
        monkeypatch.setenv(name, value)
    engine = make_engine(url)
    migrate(engine)
    generate_demo(
        engine,
        reference,
        seed=5,
        registrations=300,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    assert cli.main(["summaries", "check"]) == 0
    assert "agree with the register" in capsys.readouterr().out
    with engine.begin() as conn:  # someone switches a camera off in SQL, past the app
        conn.execute(sa.text("UPDATE camera SET active = 0 WHERE id = (SELECT min(id) FROM camera WHERE active)"))
    assert cli.main(["summaries", "check"]) == 1
    err = capsys.readouterr().err
    assert "SUMMARIES DIFFER" in err and "summaries rebuild" in err
    assert cli.main(["summaries", "rebuild"]) == 0
    assert cli.main(["summaries", "check"]) == 0
    with session_factory(engine)() as s:
        assert stored(s) == brute_truth(s) and stored_counts(s) == brute_counts(s)
    engine.dispose()


@pytest.mark.postgres
def test_a_camera_switched_off_by_hand_in_sql_leaves_the_search_at_once(pg_url, reference):
    """Promise 6 does not depend on every writer going through the app: the search's own table on
    PostgreSQL follows any write to cameras, sites and registrants in the writer's transaction."""
    from dashboard.registry.camera_queries import postgis_candidate_columns
    from dashboard.registry.database import make_engine, migrate

    engine = make_engine(pg_url)
    migrate(engine)
    generate_demo(
        engine,
        reference,
        seed=6,
        registrations=300,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    sessions = session_factory(engine)
    with sessions() as s:
        camera, site, east, north = s.execute(
            sa.text(
                "SELECT c.id, c.site_id, s.easting_m, s.northing_m FROM camera c JOIN site s ON s.id = c.site_id "
                "JOIN registrant r ON r.id = s.registrant_id WHERE c.active AND r.status = 'active' "
                "AND s.easting_m IS NOT NULL ORDER BY c.id LIMIT 1"
            )
        ).one()

    def found() -> set[int]:
        with sessions() as s:
            return set(postgis_candidate_columns(s, east, north, 5.0)["camera_id"].tolist())

    assert camera in found()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE camera SET active = false WHERE id = :c"), {"c": camera})
    assert camera not in found()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE camera SET active = true WHERE id = :c"), {"c": camera})
    assert camera in found()
    with engine.begin() as conn:  # the owner's status, changed by hand: every camera of the site goes
        conn.execute(
            sa.text(
                "UPDATE registrant SET status = 'withdrawn' WHERE id = (SELECT registrant_id FROM site WHERE id = :s)"
            ),
            {"s": site},
        )
    assert not found() & {camera}
    with sessions() as s:
        assert summaries._search_differences(s) == []
    engine.dispose()
