"""The officer's casework (searches, reveals, footage requests, outcomes, exports) and the
camera reads behind the search, on SQLite and PostgreSQL/PostGIS.

Most tests use a handful of hand-made rows (``_seed``) whose answers are worked out by hand;
two use demo data to compare against a direct SQL count or a brute-force distance.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from dashboard.registry import audit, public_ids
from dashboard.registry import camera_queries as cq
from dashboard.registry import casework as cw
from dashboard.registry.database import make_engine, migrate, session_factory, transaction
from dashboard.registry.models import (
    AuditEvent,
    Camera,
    FootageRequest,
    FootageRequestEvent,
    Registrant,
    Site,
    User,
)

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
T0 = dt.datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
CASE = "CR-2026-004512"
REASON = "burglary at 1 High St, identify suspect vehicle"

OFFICER = audit.Actor(1, "officer1", "officer")
OFFICER2 = audit.Actor(2, "officer2", "officer")
ADMIN = audit.Actor(3, "admin1", "admin")
ANALYST = audit.Actor(4, "analyst1", "analyst")
RETIRED = audit.Actor(5, "retired1", "officer")  # account switched off

# Camera ids of the hand-made register (see _seed).
DOORBELL_30D = 1  # Ann, retention 30 days
FIXED_UNKNOWN = 2  # Ann, retention not given, no field of view
SWITCHED_OFF = 3  # Ann, camera inactive
SHOP_7D = 4  # "=HYPERLINK" shop, retention 7 days: hostile spreadsheet text
WITHDRAWN_CAM = 5  # withdrawn registrant (camera row still active, position kept to test the filter)
NO_POSITION = 6  # active registrant whose site has no position


def _registrant(id_, status="active", name=None, email=None, phone=None, channel=None):
    return Registrant(
        id=id_,
        reference=f"REF{id_:05d}",
        name=name,
        email=email,
        phone=phone,
        preferred_channel=channel,
        consent_at=T0,
        status=status,
        last_confirmed_at=T0,
        withdrawn_at=T0 if status == "withdrawn" else None,
    )


def _site(id_, registrant_id, address=None, postcode=None, lat=None, lon=None, e=None, n=None):
    return Site(
        id=id_,
        registrant_id=registrant_id,
        kind="home",
        address=address,
        postcode=postcode,
        lat=lat,
        lon=lon,
        easting_m=e,
        northing_m=n,
        district_code="E07000197",
        h3_r7="871f1d4aeffffff",
        h3_r8="881f1d4ae1fffff",
        h3_r9="891f1d4ae03ffff",
    )


def _camera(id_, site_id, kind="doorbell", retention=None, active=True, direction=None, fov=None, range_m=None):
    return Camera(
        id=id_,
        site_id=site_id,
        kind=kind,
        placement="outdoor",
        recording_mode="motion",
        retention_days=retention,
        active=active,
        direction_deg=direction,
        fov_angle_deg=fov,
        fov_range_m=range_m,
    )


def _seed(engine) -> None:
    """Five users, four registrants and six cameras, written with explicit ids."""
    with transaction(session_factory(engine)) as s:
        s.add_all(
            [
                User(id=1, username="officer1", password_hash="x", role="officer"),
                User(id=2, username="officer2", password_hash="x", role="officer"),
                User(id=3, username="admin1", password_hash="x", role="admin"),
                User(id=4, username="analyst1", password_hash="x", role="analyst"),
                User(id=5, username="retired1", password_hash="x", role="officer", active=False),
            ]
        )
        s.flush()
        s.add_all(
            [
                _registrant(1, name="Ann Example", email="ann@example.org", phone="01785 000001", channel="email"),
                _registrant(
                    2,
                    name='=HYPERLINK("http://evil.example","click")',
                    email="@shop.example",
                    phone="+44 7700 900002",
                    channel="phone",
                ),
                _registrant(3, status="withdrawn"),
                _registrant(4, name="Dee NoPin", phone="07700 900004", channel="text"),
            ]
        )
        s.flush()
        s.add_all(
            [
                _site(1, 1, "1 High Street, Stafford", "ST16 2AA", 52.80600, -2.11700, 392400.0, 322900.0),
                _site(2, 2, "-2 Market Square, Stafford", "ST16 2BB", 52.80700, -2.11600, 392468.0, 323011.0),
                _site(3, 3, None, None, 52.80800, -2.11500, 392535.0, 323122.0),
                _site(4, 4, "4 Lane End, Stafford", "ST17 4DD"),
            ]
        )
        s.flush()
        s.add_all(
            [
                _camera(DOORBELL_30D, 1, "doorbell", retention=30, direction=90, fov=160, range_m=8),
                _camera(FIXED_UNKNOWN, 1, "fixed"),
                _camera(SWITCHED_OFF, 1, "dome", retention=14, active=False),
                _camera(SHOP_7D, 2, "fixed", retention=7, direction=180),
                _camera(WITHDRAWN_CAM, 3, "doorbell", retention=30),
                _camera(NO_POSITION, 4, "doorbell", retention=60),
            ]
        )
    if engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        with engine.begin() as conn:
            for table in ("app_user", "registrant", "site", "camera"):
                conn.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )


@pytest.fixture
def seeded(engine):
    _seed(engine)
    return engine


def _sessions(engine):
    return session_factory(engine)


def _cam(engine, camera_id: int) -> str:
    """The camera's public id: what messages and exports name it by (the integer id is internal)."""
    with _sessions(engine)() as s:
        return s.scalar(sa.select(Camera.public_id).where(Camera.id == camera_id))


def _req(engine, request_id: int) -> str:
    with _sessions(engine)() as s:
        return s.scalar(sa.select(FootageRequest.public_id).where(FootageRequest.id == request_id))


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("footage_request", "footage_request_event", "audit_event")
        }


def _audit_rows(engine) -> list[AuditEvent]:
    with _sessions(engine)() as s:
        return list(s.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)))


def _chain_intact(engine) -> bool:
    with _sessions(engine)() as s:
        return audit.verify_chain(s).intact


def _request_kwargs(**overrides):
    kwargs = dict(
        case_ref=CASE,
        reason=REASON,
        camera_ids=[DOORBELL_30D],
        incident_lat=52.8061,
        incident_lon=-2.1171,
        incident_district_code="E07000197",
        crime_category="burglary",
        incident_from=NOW - dt.timedelta(days=2),
        incident_to=NOW - dt.timedelta(days=2, hours=-1),
        now=NOW,
    )
    kwargs.update(overrides)
    return kwargs


def _search(s, actor, case_ref, camera_ids) -> None:
    """A logged search by ``actor`` in ``case_ref`` that found ``camera_ids`` (what opens them to
    reveals and requests)."""
    found = (
        [i for i in camera_ids if isinstance(i, int) and not isinstance(i, bool)]
        if isinstance(camera_ids, list)
        else []
    )
    cw.log_search(
        s,
        actor,
        case_ref=case_ref,
        reason=REASON,
        lat=52.806,
        lon=-2.117,
        radius_m=200,
        incident_at=None,
        result_count=len(found),
        source="page",
        camera_ids=found,
    )


def _searched(engine, actor, case_ref, camera_ids) -> None:
    with transaction(_sessions(engine)) as s:
        _search(s, actor, case_ref, camera_ids)


def _create(engine, actor=OFFICER, **overrides) -> list[int]:
    """Requests made as on the pages: after a search by the same officer in the same case."""
    kwargs = _request_kwargs(**overrides)
    with transaction(_sessions(engine)) as s:
        _search(s, actor, kwargs["case_ref"], kwargs["camera_ids"])
        return [r.id for r in cw.create_requests(s, actor, **kwargs)]


def _logged(engine, action: str) -> list[AuditEvent]:
    return [r for r in _audit_rows(engine) if r.action == action]


def _refused_without_writing(engine, call, field: str) -> cw.CaseworkError:
    """``call(session)`` raises CaseworkError on ``field`` and leaves nothing to write: even a
    caller that commits after the error changes no row."""
    before = _counts(engine)
    with _sessions(engine)() as s:
        with pytest.raises(cw.CaseworkError) as caught:
            call(s)
        assert not s.new and not s.dirty and not s.deleted
        s.commit()
    assert caught.value.field == field, str(caught.value)
    assert _counts(engine) == before
    return caught.value


# --------------------------------------------------------------------------- camera reads


def test_active_camera_frame_is_the_positioned_active_register(seeded):
    with _sessions(seeded)() as s:
        frame = cq.active_camera_frame(s)
    assert list(frame.columns) == cq.CANDIDATE_COLUMNS
    # Inactive camera 3, withdrawn registrant's camera 5 and position-less camera 6 are out.
    assert frame["camera_id"].tolist() == [DOORBELL_30D, FIXED_UNKNOWN, SHOP_7D]
    assert frame["camera_id"].dtype == np.int64 and frame["site_id"].dtype == np.int64
    for column in (
        "lat",
        "lon",
        "easting_m",
        "northing_m",
        "direction_deg",
        "fov_angle_deg",
        "fov_range_m",
        "retention_days",
    ):
        assert frame[column].dtype == np.float64, column
    first, fixed = frame.iloc[0], frame.iloc[1]
    assert (
        first["kind"],
        first["direction_deg"],
        first["fov_angle_deg"],
        first["fov_range_m"],
        first["retention_days"],
        first["preferred_channel"],
    ) == ("doorbell", 90.0, 160.0, 8.0, 30.0, "email")
    assert (first["easting_m"], first["northing_m"], first["lat"], first["lon"]) == (392400.0, 322900.0, 52.806, -2.117)
    assert math.isnan(fixed["retention_days"]) and math.isnan(fixed["direction_deg"])
    assert frame.iloc[2]["preferred_channel"] == "phone"


def test_active_camera_frame_of_an_empty_register_has_the_columns(engine):
    with _sessions(engine)() as s:
        frame = cq.active_camera_frame(s)
    assert list(frame.columns) == cq.CANDIDATE_COLUMNS and len(frame) == 0
    assert frame["camera_id"].dtype == np.int64 and frame["fov_range_m"].dtype == np.float64


def test_active_camera_frame_matches_a_direct_count_on_demo_data(engine, reference):
    from dashboard.demo import generate_demo

    summary = generate_demo(
        engine,
        reference,
        seed=7,
        registrations=600,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    assert summary.withdrawn > 0
    with _sessions(engine)() as s:
        frame = cq.active_camera_frame(s)
    with engine.connect() as conn:
        expected = (
            conn.execute(
                sa.text(
                    "SELECT c.id FROM camera c, site s, registrant r WHERE s.id = c.site_id AND r.id = s.registrant_id "
                    "AND c.active = :yes AND r.status = 'active' AND s.easting_m IS NOT NULL ORDER BY c.id"
                ),
                {"yes": True},
            )
            .scalars()
            .all()
        )
        null_ranges = conn.execute(
            sa.text(
                "SELECT count(*) FROM camera c JOIN site s ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id "
                "WHERE c.active = :yes AND r.status = 'active' AND c.fov_range_m IS NULL"
            ),
            {"yes": True},
        ).scalar_one()
        withdrawn_cameras = (
            conn.execute(
                sa.text(
                    "SELECT c.id FROM camera c JOIN site s ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id "
                    "WHERE r.status = 'withdrawn'"
                )
            )
            .scalars()
            .all()
        )
    assert 0 < len(expected) < summary.cameras and withdrawn_cameras
    assert frame["camera_id"].tolist() == list(expected)
    assert not set(withdrawn_cameras) & set(frame["camera_id"])
    assert int(frame["fov_range_m"].isna().sum()) == null_ranges
    assert frame[["lat", "lon", "easting_m", "northing_m"]].notna().all().all()


def test_camera_contacts_keep_the_asked_order_and_skip_withdrawn_and_unknown(seeded):
    with _sessions(seeded)() as s:
        contacts = cq.camera_contacts(s, [SHOP_7D, 999, WITHDRAWN_CAM, SWITCHED_OFF, DOORBELL_30D, SHOP_7D])
    assert list(contacts.columns) == cq.CONTACT_COLUMNS
    # The switched-off camera's owner is still registered (and may hold old footage).
    assert contacts["camera_id"].tolist() == [SHOP_7D, SWITCHED_OFF, DOORBELL_30D]
    assert contacts.iloc[2][["name", "email", "phone", "preferred_channel", "address", "postcode"]].tolist() == [
        "Ann Example",
        "ann@example.org",
        "01785 000001",
        "email",
        "1 High Street, Stafford",
        "ST16 2AA",
    ]


def test_postgis_candidates_refuse_sqlite(sqlite_url):
    eng = make_engine(sqlite_url)
    migrate(eng)
    try:
        with _sessions(eng)() as s, pytest.raises(ValueError, match="PostgreSQL"):
            cq.postgis_candidates(s, 392400.0, 322900.0, 100.0)
    finally:
        eng.dispose()


@pytest.mark.postgres
def test_postgis_candidates_match_brute_force_grid_distance(pg_url, reference):
    from dashboard.demo import generate_demo

    eng = make_engine(pg_url)
    try:
        generate_demo(
            eng,
            reference,
            seed=11,
            registrations=600,
            as_of=dt.date(2026, 11, 29),
            pilot_start=dt.date(2026, 4, 13),
            public_launch=dt.date(2026, 7, 6),
        )
        with _sessions(eng)() as s:
            everything = cq.active_camera_frame(s)
            e, n = everything["easting_m"].to_numpy(), everything["northing_m"].to_numpy()
            rng = np.random.default_rng(3)
            centres = [(float(e[i]), float(n[i])) for i in rng.choice(len(e), size=4, replace=False)]
            centres.append((float(e.mean()) + 0.5, float(n.mean()) - 0.5))  # not on any site
            found_any = 0
            for e0, n0 in centres:
                for radius in (25.0, 150.0, 800.0, 4000.0):
                    found = cq.postgis_candidates(s, e0, n0, radius)
                    inside = np.hypot(e - e0, n - n0) <= radius
                    pd.testing.assert_frame_equal(
                        found.drop(columns="public_id"), everything[inside].reset_index(drop=True)
                    )
                    # Each camera's own public id, as the one-by-one look-up gives it
                    mapping = public_ids.cameras_to_public(s, found["camera_id"])
                    assert found["public_id"].tolist() == [mapping[int(i)] for i in found["camera_id"]]
                    found_any += len(found)
            assert found_any > 0
            assert cq.postgis_candidates(s, e0, n0, 0.0).empty
            with pytest.raises(ValueError, match="radius_m"):
                cq.postgis_candidates(s, e0, n0, -1.0)
            with pytest.raises(ValueError, match="easting_m"):
                cq.postgis_candidates(s, float("nan"), n0, 10.0)
    finally:
        eng.dispose()


@pytest.mark.postgres
def test_postgis_candidates_can_use_the_gist_index(pg_url):
    """The prepared candidate statement's generic plan (the one PostgreSQL keeps for a prepared
    statement) still finds cameras through the GiST index of the search's own table."""
    eng = make_engine(pg_url)
    migrate(eng)
    try:
        with _sessions(eng)() as s:
            conn = s.connection()
            sql = cq._NEAR_SQL
            params = {cq._E: 392400.0, cq._N: 322900.0, cq._R: 100.0}
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            cursor = conn.connection.driver_connection.cursor()
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
    finally:
        eng.dispose()
    assert "FROM search_camera" in sql and "%(near_easting_m)s" in sql and "392400" not in sql
    assert "ix_search_camera_geom" in plan, plan


# --------------------------------------------------------------------------- searches and reveals


def test_log_search_records_who_where_why_and_how_many(seeded):
    incident = dt.datetime(2026, 11, 19, 23, 15, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    with transaction(_sessions(seeded)) as s:
        event = cw.log_search(
            s,
            OFFICER,
            case_ref=f"  {CASE} ",
            reason=REASON,
            lat=52.8061234567,
            lon=-2.1171298,
            radius_m=250,
            incident_at=incident,
            result_count=7,
            source="page",
        )
        event_id = event.id
    [row] = _audit_rows(seeded)
    assert row.id == event_id
    assert (row.action, row.case_ref, row.reason, row.user_id, row.username, row.role, row.subject_ids) == (
        "search",
        CASE,
        REASON,
        1,
        "officer1",
        "officer",
        None,
    )
    assert json.loads(row.detail) == {
        "centre": {"lat": 52.80612, "lon": -2.11713},
        "radius_m": 250.0,
        "incident_at": "2026-11-19T22:15:00+00:00",
        "results": 7,
        "source": "page",
    }
    assert _chain_intact(seeded)


def test_log_search_keeps_the_cameras_it_found(seeded):
    with transaction(_sessions(seeded)) as s:
        cw.log_search(
            s,
            OFFICER,
            case_ref=CASE,
            reason=REASON,
            lat=52.806,
            lon=-2.117,
            radius_m=100,
            incident_at=None,
            result_count=2,
            source="api",
            camera_ids=[SHOP_7D, np.int64(DOORBELL_30D)],
        )
    [row] = _audit_rows(seeded)
    assert json.loads(row.subject_ids) == [str(SHOP_7D), str(DOORBELL_30D)]
    assert json.loads(row.detail)["incident_at"] is None and json.loads(row.detail)["source"] == "api"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"camera_ids": [1, 2], "result_count": 3}, "result_count"),
        ({"camera_ids": [1, "2"], "result_count": 2}, "camera_ids"),
        ({"case_ref": "  "}, "case_ref"),
        ({"reason": None}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"lat": 91.0}, "lat"),
        ({"lon": float("nan")}, "lon"),
        ({"radius_m": 0}, "radius_m"),
        ({"incident_at": dt.datetime(2026, 11, 19, 23, 15)}, "incident_at"),
        ({"result_count": -1}, "result_count"),
        ({"source": "batch"}, "source"),
    ],
)
def test_log_search_refuses_bad_input_without_writing(seeded, overrides, field):
    kwargs = dict(
        case_ref=CASE, reason=REASON, lat=52.8, lon=-2.1, radius_m=100, incident_at=NOW, result_count=0, source="api"
    )
    kwargs.update(overrides)
    _refused_without_writing(seeded, lambda s: cw.log_search(s, OFFICER, **kwargs), field)


def test_log_search_needs_a_known_user(seeded):
    ghost = audit.Actor(99, "ghost", "officer")
    _refused_without_writing(
        seeded,
        lambda s: cw.log_search(
            s,
            ghost,
            case_ref=CASE,
            reason=REASON,
            lat=52.8,
            lon=-2.1,
            radius_m=100,
            incident_at=None,
            result_count=0,
            source="api",
        ),
        "actor",
    )


def test_reveal_contacts_returns_details_and_logs_a_consultation(seeded):
    _searched(seeded, OFFICER, CASE, [SHOP_7D, DOORBELL_30D])
    with transaction(_sessions(seeded)) as s:
        contacts = cw.reveal_contacts(
            s, OFFICER, case_ref=CASE, reason=REASON, camera_ids=[SHOP_7D, DOORBELL_30D, SHOP_7D]
        )
    assert contacts["camera_id"].tolist() == [SHOP_7D, DOORBELL_30D]
    assert contacts.iloc[1]["email"] == "ann@example.org"
    [row] = _logged(seeded, "reveal_contact")
    assert (row.action, row.case_ref, row.reason, json.loads(row.subject_ids)) == (
        "reveal_contact",
        CASE,
        REASON,
        [str(SHOP_7D), str(DOORBELL_30D)],
    )
    assert _chain_intact(seeded)


@pytest.mark.parametrize(
    "actor, camera_ids, field",
    [
        (OFFICER, [DOORBELL_30D, SWITCHED_OFF], "camera_ids"),
        (OFFICER, [WITHDRAWN_CAM], "camera_ids"),
        (OFFICER, [424242], "camera_ids"),
        (OFFICER, [], "camera_ids"),
        (OFFICER, list(range(1, 52)), "camera_ids"),
        (OFFICER, [True], "camera_ids"),
        (ANALYST, [DOORBELL_30D], "actor"),
        (ADMIN, [DOORBELL_30D], "actor"),
    ],
)
def test_reveal_contacts_refuses_without_revealing_or_logging(seeded, actor, camera_ids, field):
    _searched(seeded, OFFICER, CASE, [DOORBELL_30D, SWITCHED_OFF, WITHDRAWN_CAM, 424242])
    error = _refused_without_writing(
        seeded, lambda s: cw.reveal_contacts(s, actor, case_ref=CASE, reason=REASON, camera_ids=camera_ids), field
    )
    if camera_ids == [DOORBELL_30D, SWITCHED_OFF]:
        assert str(error) == (
            f"Camera {_cam(seeded, SWITCHED_OFF)} is not on the active register (unknown, switched off or withdrawn)."
        )


# --------------------------------------------------------------------------- creating requests


def test_request_transitions_table():
    outcomes = {"footage_provided", "no_relevant_footage", "declined"}
    assert {
        "sent": frozenset(outcomes | {"no_response", "withdrawn"}),
        "no_response": frozenset(outcomes | {"withdrawn"}),
        "footage_provided": frozenset(),
        "no_relevant_footage": frozenset(),
        "declined": frozenset(),
        "withdrawn": frozenset(),
    } == cw.REQUEST_TRANSITIONS


def test_create_requests_flags_footage_past_its_retention(seeded):
    # Camera 1 keeps 30 days: an incident 31 days back is probably gone, 29 days back is not.
    late = _create(
        seeded,
        case_ref="CR-2026-0001",
        incident_from=NOW - dt.timedelta(days=31),
        incident_to=NOW - dt.timedelta(days=31) + dt.timedelta(hours=1),
        camera_ids=[DOORBELL_30D, FIXED_UNKNOWN, SHOP_7D],
    )
    fresh = _create(
        seeded,
        case_ref="CR-2026-0002",
        incident_from=NOW - dt.timedelta(days=29),
        incident_to=NOW - dt.timedelta(days=29),
        camera_ids=[DOORBELL_30D, SHOP_7D],
    )
    with _sessions(seeded)() as s:
        flags = dict(s.execute(sa.select(FootageRequest.id, FootageRequest.footage_likely_overwritten)).all())
        first = s.get(FootageRequest, late[0])
        events = s.execute(
            sa.select(
                FootageRequestEvent.request_id,
                FootageRequestEvent.status,
                FootageRequestEvent.at,
                FootageRequestEvent.by_user_id,
            ).order_by(FootageRequestEvent.id)
        ).all()
    # Retention unknown (camera 2): never flagged. Camera 4 keeps 7 days: late both times.
    assert [flags[i] for i in late] == [True, False, True]
    assert [flags[i] for i in fresh] == [False, True]
    assert (first.status, first.sent_at, first.status_changed_at, first.requested_by_id, first.footage_useful) == (
        "sent",
        NOW,
        NOW,
        1,
        None,
    )
    assert [tuple(e) for e in events] == [(i, "sent", NOW, 1) for i in late + fresh]

    rows = _logged(seeded, "request_created")
    assert [(r.action, r.case_ref, r.reason, json.loads(r.subject_ids)) for r in rows] == [
        ("request_created", "CR-2026-0001", REASON, ["1", "2", "4"]),
        ("request_created", "CR-2026-0002", REASON, ["1", "4"]),
    ]
    detail = json.loads(rows[0].detail)
    assert detail["request_ids"] == late and detail["likely_overwritten_camera_ids"] == [DOORBELL_30D, SHOP_7D]
    assert _chain_intact(seeded)


def test_exactly_at_the_end_of_retention_is_not_late():
    t = dt.datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    assert not cw.likely_overwritten(t, t + dt.timedelta(days=30), 30)
    assert cw.likely_overwritten(t, t + dt.timedelta(days=30, seconds=1), 30)
    assert cw.likely_overwritten(t, t + dt.timedelta(seconds=1), 0)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"camera_ids": []}, "camera_ids"),
        ({"camera_ids": list(range(1, 52))}, "camera_ids"),
        ({"camera_ids": [DOORBELL_30D, 31337]}, "camera_ids"),
        ({"camera_ids": [SWITCHED_OFF]}, "camera_ids"),
        ({"camera_ids": [WITHDRAWN_CAM]}, "camera_ids"),
        ({"camera_ids": "1,2"}, "camera_ids"),
        ({"incident_to": NOW - dt.timedelta(days=3)}, "incident_to"),
        ({"incident_from": NOW + dt.timedelta(minutes=1), "incident_to": NOW + dt.timedelta(hours=1)}, "incident_from"),
        ({"incident_from": dt.datetime(2026, 11, 18, 12, 0)}, "incident_from"),
        ({"now": dt.datetime(2026, 11, 20, 12, 0)}, "now"),
        ({"case_ref": ""}, "case_ref"),
        ({"case_ref": "X" * 41}, "case_ref"),
        ({"reason": "   "}, "reason"),
        ({"incident_lat": 200.0}, "incident_lat"),
        ({"incident_district_code": "E0700019700"}, "incident_district_code"),
    ],
)
def test_create_requests_refuses_bad_input_without_writing(seeded, overrides, field):
    _searched(seeded, OFFICER, CASE, [DOORBELL_30D, 31337, SWITCHED_OFF, WITHDRAWN_CAM])
    _refused_without_writing(seeded, lambda s: cw.create_requests(s, OFFICER, **_request_kwargs(**overrides)), field)


@pytest.mark.parametrize(
    "actor",
    [
        ANALYST,
        ADMIN,
        RETIRED,
        audit.SYSTEM,
        audit.Actor(99, "ghost", "officer"),
        audit.Actor(4, "analyst1", "officer"),  # the role is read from the account, not taken from the caller
    ],
)
def test_only_officers_create_requests(seeded, actor):
    _refused_without_writing(seeded, lambda s: cw.create_requests(s, actor, **_request_kwargs()), "actor")


def test_a_camera_is_asked_once_per_case_until_withdrawn(seeded):
    [first] = _create(seeded, camera_ids=[DOORBELL_30D])
    _searched(seeded, OFFICER2, CASE, [SHOP_7D, DOORBELL_30D])
    error = _refused_without_writing(
        seeded,
        lambda s: cw.create_requests(s, OFFICER2, **_request_kwargs(camera_ids=[SHOP_7D, DOORBELL_30D])),
        "camera_ids",
    )
    assert str(error) == (
        f"Camera {_cam(seeded, DOORBELL_30D)} already has a request in case {CASE} "
        f"(request {_req(seeded, first)}); "
        "withdraw it first to ask again."
    )
    # Another case may ask the same camera; after withdrawal this case may ask again.
    assert len(_create(seeded, case_ref="CR-2026-0099", camera_ids=[DOORBELL_30D])) == 1
    with transaction(_sessions(seeded)) as s:
        cw.change_status(s, OFFICER, request_id=first, new_status="withdrawn", note="wrong address", now=NOW)
    again = _create(seeded, camera_ids=[DOORBELL_30D, SHOP_7D])
    assert len(again) == 2 and first not in again


# --------------------------------------------------------------------------- request status


def test_status_changes_are_timestamped_attributed_and_audited(seeded):
    [request_id] = _create(seeded)
    later, latest = NOW + dt.timedelta(days=14), NOW + dt.timedelta(days=16)
    with transaction(_sessions(seeded)) as s:
        cw.change_status(s, OFFICER, request_id=request_id, new_status="no_response", now=later)
    with transaction(_sessions(seeded)) as s:  # a late reply, recorded by an admin
        request = cw.change_status(
            s,
            ADMIN,
            request_id=request_id,
            new_status="footage_provided",
            note="USB stick handed in",
            footage_useful=True,
            now=latest,
        )
        assert (request.status, request.status_changed_at, request.footage_useful) == ("footage_provided", latest, True)
    with _sessions(seeded)() as s:
        events = s.execute(
            sa.select(
                FootageRequestEvent.status,
                FootageRequestEvent.at,
                FootageRequestEvent.by_user_id,
                FootageRequestEvent.note,
            )
            .where(FootageRequestEvent.request_id == request_id)
            .order_by(FootageRequestEvent.id)
        ).all()
    assert [tuple(e) for e in events] == [
        ("sent", NOW, 1, None),
        ("no_response", later, 1, None),
        ("footage_provided", latest, 3, "USB stick handed in"),
    ]
    rows = [r for r in _audit_rows(seeded) if r.action == "request_status"]
    assert [(r.username, r.case_ref, r.reason, json.loads(r.subject_ids)) for r in rows] == [
        ("officer1", CASE, None, [str(DOORBELL_30D)]),
        ("admin1", CASE, "USB stick handed in", [str(DOORBELL_30D)]),
    ]
    detail = json.loads(rows[1].detail)
    assert (detail["request_id"], detail["from"], detail["to"], detail["footage_useful"]) == (
        request_id,
        "no_response",
        "footage_provided",
        True,
    )
    assert _chain_intact(seeded)


def test_status_change_refusals_leave_nothing_written(seeded):
    [request_id] = _create(seeded)
    with transaction(_sessions(seeded)) as s:
        cw.change_status(s, OFFICER, request_id=request_id, new_status="declined", now=NOW + dt.timedelta(days=1))
    [other] = _create(seeded, case_ref="CR-2026-0100", camera_ids=[SHOP_7D])

    def change(actor, rid, status, **kw):
        kw.setdefault("now", NOW + dt.timedelta(days=2))
        return lambda s: cw.change_status(s, actor, request_id=rid, new_status=status, **kw)

    refusals = [
        (change(OFFICER, request_id, "footage_provided"), "new_status"),  # declined is final
        (change(OFFICER, other, "sent"), "new_status"),
        (change(OFFICER, other, "lost"), "new_status"),
        (change(OFFICER, other, "declined", footage_useful=True), "footage_useful"),
        (change(OFFICER, other, "footage_provided", footage_useful="yes"), "footage_useful"),
        (change(OFFICER, other, "declined", now=NOW - dt.timedelta(seconds=1)), "now"),
        (change(OFFICER, other, "declined", note="n" * 501), "note"),
    ]
    for call, field in refusals:
        _refused_without_writing(seeded, call, field)
    with _sessions(seeded)() as s:
        assert s.get(FootageRequest, other).status == "sent"
        assert s.get(FootageRequest, request_id).status == "declined"


def test_another_officers_request_is_refused_as_an_unknown_one_and_both_are_logged(seeded):
    """Changing another officer's request was refused "Request REQ-… belongs to another officer" and an
    unknown id "does not exist", neither logged: a guess at other officers' requests told which exist,
    and the auditor never saw it. Both now get one refusal, worded alike, each logged."""
    [other] = _create(seeded, case_ref="CR-2026-0100", camera_ids=[SHOP_7D])
    with _sessions(seeded)() as s:
        public = s.get(FootageRequest, other).public_id
    before = _counts(seeded)
    answers = []
    for actor, typed in ((OFFICER2, public), (OFFICER2, "REQ-ZZZZZZZZ"), (ANALYST, public)):
        with _sessions(seeded)() as s, pytest.raises(cw.CaseworkRefused) as caught:
            cw.own_request(s, actor, typed, admin_too=True)
        answers.append((caught.value.field, caught.value.message.replace(typed, "ID")))
    # change_status itself, given the internal id, refuses and logs the same way
    with _sessions(seeded)() as s, pytest.raises(cw.CaseworkRefused) as caught:
        cw.change_status(s, OFFICER2, request_id=other, new_status="declined", now=NOW + dt.timedelta(days=2))
    answers.append((caught.value.field, caught.value.message.replace(public, "ID")))
    assert answers == [("request_id", "There is no footage request ID among yours.")] * 4
    after = _counts(seeded)
    assert after["footage_request_event"] == before["footage_request_event"]
    assert after["audit_event"] == before["audit_event"] + 4
    rows = _audit_rows(seeded)[-4:]
    assert [(r.action, r.username) for r in rows] == [("request_refused", "officer2")] * 2 + [
        ("request_refused", "analyst1"),
        ("request_refused", "officer2"),
    ]
    whys = [json.loads(r.detail)["why"] for r in rows]
    assert whys == ["not_your_request", "no_such_request", "not_your_request", "not_your_request"]
    with _sessions(seeded)() as s:
        assert s.get(FootageRequest, other).status == "sent"
        # its own officer still gets it
        assert cw.own_request(s, OFFICER, public) == other


# --------------------------------------------------------------------------- case views


def test_my_cases_counts_my_requests_newest_first(seeded):
    older, newer = NOW - dt.timedelta(days=5), NOW - dt.timedelta(days=1)
    a = _create(
        seeded,
        case_ref="CR-2026-0001",
        camera_ids=[DOORBELL_30D, FIXED_UNKNOWN],
        incident_from=older - dt.timedelta(hours=3),
        incident_to=older - dt.timedelta(hours=2),
        now=older,
    )
    _create(
        seeded,
        case_ref="CR-2026-0002",
        camera_ids=[DOORBELL_30D, SHOP_7D],
        incident_from=newer - dt.timedelta(hours=3),
        incident_to=newer - dt.timedelta(hours=2),
        now=newer,
    )
    _create(
        seeded,
        actor=OFFICER2,
        case_ref="CR-2026-0001",
        camera_ids=[SHOP_7D],
        incident_from=older - dt.timedelta(hours=3),
        incident_to=older - dt.timedelta(hours=2),
        now=NOW,
    )
    with transaction(_sessions(seeded)) as s:  # activity on the older case makes it the newest
        cw.change_status(s, OFFICER, request_id=a[0], new_status="footage_provided", now=NOW)

    with _sessions(seeded)() as s:
        mine = cw.my_cases(s, 1)
        theirs = cw.my_cases(s, 2)
        nobody = cw.my_cases(s, 4)
    assert list(mine.columns) == cw.MY_CASES_COLUMNS
    assert mine[["case_ref", "requests", "open", "provided"]].values.tolist() == [
        ["CR-2026-0001", 2, 1, 1],
        ["CR-2026-0002", 2, 2, 0],
    ]
    assert mine["last_activity"].tolist() == [pd.Timestamp(NOW), pd.Timestamp(newer)]
    assert str(mine["last_activity"].dt.tz) == "UTC"
    assert theirs[["case_ref", "requests", "open"]].values.tolist() == [["CR-2026-0001", 1, 1]]
    assert list(nobody.columns) == cw.MY_CASES_COLUMNS and nobody.empty


def test_case_requests_lists_requests_without_contact_details(seeded):
    mine = _create(seeded, camera_ids=[SHOP_7D, DOORBELL_30D])
    theirs = _create(seeded, actor=OFFICER2, camera_ids=[FIXED_UNKNOWN])
    with _sessions(seeded)() as s:
        everyone = cw.case_requests(s, CASE)
        only_mine = cw.case_requests(s, CASE, user_id=1)
        unknown = cw.case_requests(s, "CR-0000-0000")
    assert list(everyone.columns) == cw.CASE_REQUEST_COLUMNS
    assert not {"name", "email", "phone", "address", "postcode"} & set(everyone.columns)
    assert everyone["request_id"].tolist() == mine + theirs
    assert everyone[["camera_id", "kind", "status", "district", "requested_by"]].values.tolist() == [
        [SHOP_7D, "fixed", "sent", "E07000197", "officer1"],
        [DOORBELL_30D, "doorbell", "sent", "E07000197", "officer1"],
        [FIXED_UNKNOWN, "fixed", "sent", "E07000197", "officer2"],
    ]
    assert everyone["sent_at"].tolist() == [pd.Timestamp(NOW)] * 3
    assert everyone["incident_from"].iloc[0] == pd.Timestamp(NOW - dt.timedelta(days=2))
    assert everyone["footage_likely_overwritten"].tolist() == [False, False, False]
    assert everyone["footage_useful"].isna().all()
    assert only_mine["request_id"].tolist() == mine
    assert unknown.empty and list(unknown.columns) == cw.CASE_REQUEST_COLUMNS


# --------------------------------------------------------------------------- export


def _parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_export_case_csv_has_one_row_per_request_and_is_logged(seeded):
    ann_fixed, shop, ann_bell = _create(seeded, camera_ids=[FIXED_UNKNOWN, SHOP_7D, DOORBELL_30D])
    _create(seeded, case_ref="CR-2026-0777", camera_ids=[SHOP_7D])  # another case: not exported
    with transaction(_sessions(seeded)) as s:
        cw.change_status(s, OFFICER, request_id=ann_bell, new_status="no_response", now=NOW)
    # The shop owner withdraws after the request: their details are erased at once.
    with transaction(_sessions(seeded)) as s:
        owner = s.get(Registrant, 2)
        owner.status, owner.withdrawn_at = "withdrawn", NOW
        owner.name = owner.email = owner.phone = owner.preferred_channel = None
        site = s.get(Site, 2)
        site.address = site.postcode = site.lat = site.lon = site.easting_m = site.northing_m = None
        s.get(Camera, SHOP_7D).active = False
    _create(seeded, actor=OFFICER2, camera_ids=[NO_POSITION])  # another officer's request: not exported
    audit_before = len(_audit_rows(seeded))

    with transaction(_sessions(seeded)) as s:
        text = cw.export_case_csv(s, OFFICER, case_ref=CASE, reason="prepare owner letters")
    assert _parse(text) == [
        cw.CSV_COLUMNS,
        [
            _req(seeded, ann_fixed),
            _cam(seeded, FIXED_UNKNOWN),
            "sent",
            "Ann Example",
            "email",
            "ann@example.org",
            "01785 000001",
            "1 High Street, Stafford",
            "ST16 2AA",
        ],
        [_req(seeded, shop), _cam(seeded, SHOP_7D), "sent", "withdrawn, details erased", "", "", "", "", ""],
        [
            _req(seeded, ann_bell),
            _cam(seeded, DOORBELL_30D),
            "no_response",
            "Ann Example",
            "email",
            "ann@example.org",
            "01785 000001",
            "1 High Street, Stafford",
            "ST16 2AA",
        ],
    ]
    rows = _audit_rows(seeded)
    assert len(rows) == audit_before + 1
    last = rows[-1]
    assert (last.action, last.username, last.case_ref, last.reason, json.loads(last.subject_ids)) == (
        "export",
        "officer1",
        CASE,
        "prepare owner letters",
        [str(FIXED_UNKNOWN), str(DOORBELL_30D)],
    )
    assert json.loads(last.detail) == {"rows": 3, "erased_rows": 1, "request_ids": [ann_fixed, shop, ann_bell]}
    assert _chain_intact(seeded)


def test_export_neutralises_spreadsheet_formulas(seeded):
    [request_id] = _create(seeded, camera_ids=[SHOP_7D])
    with transaction(_sessions(seeded)) as s:
        text = cw.export_case_csv(s, OFFICER, case_ref=CASE, reason=REASON)
    header, row = _parse(text)
    cells = dict(zip(header, row))
    assert cells == {
        "request_id": _req(seeded, request_id),
        "camera_id": _cam(seeded, SHOP_7D),
        "status": "sent",
        "name": '\'=HYPERLINK("http://evil.example","click")',
        "preferred_channel": "phone",
        "email": "'@shop.example",
        "phone": "'+44 7700 900002",
        "address": "'-2 Market Square, Stafford",
        "postcode": "ST16 2BB",
    }
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)
    assert [cw.csv_safe(v) for v in ("\tx", "\rx", "a=b", "")] == ["'\tx", "'\rx", "a=b", ""]


@pytest.mark.parametrize(
    "actor, case_ref, reason, field",
    [
        (OFFICER, CASE, "", "reason"),
        (ANALYST, CASE, REASON, "actor"),
        (ADMIN, CASE, REASON, "actor"),
        (audit.SYSTEM, CASE, REASON, "actor"),
    ],
)
def test_export_refusals_disclose_nothing(seeded, actor, case_ref, reason, field):
    _create(seeded)
    _refused_without_writing(seeded, lambda s: cw.export_case_csv(s, actor, case_ref=case_ref, reason=reason), field)


def test_export_of_a_case_that_is_not_mine_is_refused_alike_for_unknown_and_others_and_logged(seeded):
    _create(seeded)  # officer1's case
    messages = []
    for actor, case_ref in ((OFFICER2, CASE), (OFFICER2, "CR-2026-9999")):
        with _sessions(seeded)() as s, pytest.raises(cw.CaseworkRefused) as caught:
            cw.export_case_csv(s, actor, case_ref=case_ref, reason=REASON)
        assert caught.value.field == "case_ref"
        messages.append(str(caught.value).replace(case_ref, "<case>"))
    assert (
        messages[0]
        == messages[1]
        == (
            "You have no footage requests in case <case> to export; you can export only cases in which you sent "
            "requests yourself."
        )
    )
    assert [
        (r.username, r.case_ref, r.reason, json.loads(r.detail)["why"]) for r in _logged(seeded, "export_refused")
    ] == [("officer2", CASE, REASON, "no_case"), ("officer2", "CR-2026-9999", REASON, "no_case")]
    assert not _logged(seeded, "export") and _chain_intact(seeded)


def test_export_refuses_requests_no_search_of_mine_found(seeded):
    """A request made before requests were checked against searches (written here directly)."""
    _create(seeded, camera_ids=[DOORBELL_30D])
    with transaction(_sessions(seeded)) as s:
        s.add(
            FootageRequest(
                case_ref=CASE,
                camera_id=SHOP_7D,
                requested_by_id=1,
                incident_lat=52.8,
                incident_lon=-2.1,
                incident_from=NOW,
                incident_to=NOW,
                status="sent",
                sent_at=NOW,
                status_changed_at=NOW,
                footage_likely_overwritten=False,
            )
        )
    with (
        _sessions(seeded)() as s,
        pytest.raises(
            cw.CaseworkRefused, match=f"Camera {_cam(seeded, SHOP_7D)} was not found by your searches in case {CASE};"
        ),
    ):
        cw.export_case_csv(s, OFFICER, case_ref=CASE, reason=REASON)
    [refused] = _logged(seeded, "export_refused")
    assert json.loads(refused.detail)["not_searched"] == [SHOP_7D] and not _logged(seeded, "export")


def test_a_whole_case_keeps_the_audit_chain_intact(seeded):
    with transaction(_sessions(seeded)) as s:
        cw.log_search(
            s,
            OFFICER,
            case_ref=CASE,
            reason=REASON,
            lat=52.806,
            lon=-2.117,
            radius_m=200,
            incident_at=NOW - dt.timedelta(days=2),
            result_count=2,
            source="page",
            camera_ids=[DOORBELL_30D, SHOP_7D],
        )
        cw.reveal_contacts(s, OFFICER, case_ref=CASE, reason=REASON, camera_ids=[DOORBELL_30D])
    with transaction(_sessions(seeded)) as s:
        ids = [r.id for r in cw.create_requests(s, OFFICER, **_request_kwargs(camera_ids=[DOORBELL_30D, SHOP_7D]))]
    with transaction(_sessions(seeded)) as s:
        cw.change_status(s, OFFICER, request_id=ids[1], new_status="no_relevant_footage", now=NOW)
        cw.export_case_csv(s, OFFICER, case_ref=CASE, reason=REASON)
    rows = _audit_rows(seeded)
    assert [r.action for r in rows] == ["search", "reveal_contact", "request_created", "request_status", "export"]
    assert {r.case_ref for r in rows} == {CASE}
    with _sessions(seeded)() as s:
        assert audit.verify_chain(s) == audit.ChainCheck(rows_checked=5, first_broken_id=None)
