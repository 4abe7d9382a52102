"""Storage on both backends: migrations, the schema promises, per-backend settings, append-only audit."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from dashboard.registry.database import current_revision, head_revision, make_engine, migrate, session_factory
from dashboard.registry.models import AuditEvent, Base, Camera, Registrant, Site
from dashboard.registry.schema_rules import forbidden_columns

UTC = dt.UTC


def _all_columns(engine) -> list[tuple[str, str]]:
    import warnings

    insp = sa.inspect(engine)
    with warnings.catch_warnings():  # SQLAlchemy does not know PostGIS's geometry type by name
        warnings.filterwarnings("ignore", "Did not recognize type 'geometry'")
        return _columns(insp)


def _columns(insp) -> list[tuple[str, str]]:
    tables = [t for t in insp.get_table_names() if t not in {"alembic_version", "spatial_ref_sys"}]
    return [(t, c["name"]) for t in tables for c in insp.get_columns(t)]


def test_migrations_create_every_model_table_and_are_idempotent(engine):
    assert current_revision(engine) == head_revision()
    migrate(engine)  # a second run changes nothing and does not fail
    tables = set(sa.inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_schema_has_no_column_for_camera_access_or_police_link(engine):
    columns = _all_columns(engine)
    assert len(columns) > 60  # the check really saw the schema
    assert forbidden_columns(columns) == []


def test_record_key_columns_are_small_integers_that_cannot_hold_access_details(engine):
    """The disclosure layer's record keys pass the name check only because they are integers."""
    from dashboard.registry.schema_rules import RECORD_KEY_COLUMNS

    insp = sa.inspect(engine)
    types = {(t, c["name"]): c["type"] for t in insp.get_table_names() for c in insp.get_columns(t)}
    assert set(types) >= RECORD_KEY_COLUMNS
    for column in RECORD_KEY_COLUMNS:
        assert isinstance(types[column], sa.Integer), (column, types[column])


def test_schema_check_catches_a_forbidden_column_added_by_a_migration(engine):
    # The same check must fail when someone adds such a column to the real database.
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE camera ADD COLUMN rtsp_stream_url VARCHAR(200)")
        conn.exec_driver_sql("ALTER TABLE registrant ADD COLUMN staff_cohort VARCHAR(20)")
        conn.exec_driver_sql("ALTER TABLE site ADD COLUMN camera_ip VARCHAR(45)")
    problems = forbidden_columns(_all_columns(engine))
    assert sorted(p.split(":")[0] for p in problems) == [
        "camera.rtsp_stream_url",
        "registrant.staff_cohort",
        "site.camera_ip",
    ]


def _add_registration(session, *, email="a@example.org") -> Registrant:
    now = dt.datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    reg = Registrant(
        reference="CCR-TEST01",
        name="Ann Example",
        email=email,
        preferred_channel="email",
        consent_at=now,
        last_confirmed_at=now,
        status="active",
    )
    reg.site = Site(
        kind="home",
        address="1 Test Road",
        postcode="ST16 2DH",
        lat=52.80,
        lon=-2.11,
        easting_m=392500.0,
        northing_m=323000.0,
        district_code="E07000197",
        lsoa_code="E01029600",
        h3_r7="871f1d",
        h3_r8="881f1d",
        h3_r9="891f1d",
    )
    reg.site.cameras.append(
        Camera(
            kind="doorbell",
            placement="outdoor",
            recording_mode="motion",
            retention_days=30,
            direction_deg=350,
            overlooks="street",
        )
    )
    session.add(reg)
    session.commit()
    return reg


def test_registration_round_trip_keeps_utc_times(engine):
    Session = session_factory(engine)
    with Session() as s:
        _add_registration(s)
    with Session() as s:
        reg = s.scalars(sa.select(Registrant)).one()
        assert reg.consent_at == dt.datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
        assert reg.site.cameras[0].direction_deg == 350


@pytest.mark.parametrize("bad", [{"direction_deg": 360}, {"retention_days": 400}, {"kind": "webcam"}])
def test_database_refuses_out_of_range_camera_values(engine, bad):
    Session = session_factory(engine)
    with Session() as s:
        reg = _add_registration(s)
        site_id = reg.site.id
    values = {
        "site_id": site_id,
        "kind": "fixed",
        "placement": "outdoor",
        "recording_mode": "continuous",
        "overlooks": "",
        "active": True,
        **bad,
    }
    now = dt.datetime.now(UTC)
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(Camera.__table__.insert(), {**values, "created_at": now, "updated_at": now})
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Camera)) == 1  # nothing half-written


def test_foreign_keys_are_enforced(engine):
    now = dt.datetime.now(UTC)
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(
                Camera.__table__.insert(),
                {
                    "site_id": 999,
                    "kind": "fixed",
                    "placement": "outdoor",
                    "recording_mode": "motion",
                    "overlooks": "",
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                },
            )


def test_audit_log_refuses_update_and_delete(engine):
    now = dt.datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            AuditEvent.__table__.insert(),
            {"occurred_at": now, "action": "search", "prev_hash": "0" * 64, "row_hash": "a" * 64},
        )
    for statement in ("UPDATE audit_event SET action = 'nothing'", "DELETE FROM audit_event"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.exec_driver_sql(statement)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT action FROM audit_event")) == "search"


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_busy_timeout(sqlite_url):
    eng = make_engine(sqlite_url)
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


@pytest.mark.postgres
def test_postgis_geometry_follows_grid_reference_and_is_gist_indexed(pg_url):
    eng = make_engine(pg_url)
    migrate(eng)
    with session_factory(eng)() as s:
        _add_registration(s)
    with eng.connect() as conn:
        x, y, srid = conn.execute(sa.text("SELECT ST_X(geom), ST_Y(geom), ST_SRID(geom) FROM site")).one()
        assert (x, y, srid) == (392500.0, 323000.0, 27700)
        # A point 100 m east is within 150 m, one 200 m east is not (metres in EPSG:27700).
        near = conn.execute(
            sa.text(
                "SELECT ST_DWithin(geom, ST_SetSRID(ST_MakePoint(392600, 323000), 27700), 150), "
                "ST_DWithin(geom, ST_SetSRID(ST_MakePoint(392700, 323000), 27700), 150) FROM site"
            )
        ).one()
        assert near == (True, False)
        indexdef = conn.execute(
            sa.text("SELECT indexdef FROM pg_indexes WHERE tablename = 'site' AND indexname = 'ix_site_geom'")
        ).scalar()
        assert indexdef is not None and "gist" in indexdef.lower()
        # Erasing the position erases the geometry with it.
        conn.execute(sa.text("UPDATE site SET lat = NULL, lon = NULL, easting_m = NULL, northing_m = NULL"))
        assert conn.execute(sa.text("SELECT geom FROM site")).scalar() is None
    eng.dispose()


def test_models_and_migrations_agree(engine):
    """The typed models and the Alembic migrations describe the same schema."""
    import warnings

    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # PostGIS adds its own table, and the generated geometry column exists only in the database; so
    # does the officer search's own table on PostgreSQL (kept by registry.summaries, not the ORM).
    ignored = {("remove_table", "spatial_ref_sys"), ("remove_column", "geom"), ("remove_table", "search_camera")}
    remaining = []
    for d in diff:
        kind = d[0] if isinstance(d, tuple) else d[0][0]
        name = (
            getattr(d[1], "name", None) if kind == "remove_table" else (d[3].name if kind == "remove_column" else None)
        )
        if (kind, name) not in ignored and not (
            kind == "remove_index"
            and d[1].name in ("ix_site_geom", "ix_search_camera_geom", "ix_search_camera_site_id")
        ):
            remaining.append(d)
    assert remaining == []


def test_register_fingerprint_changes_with_every_kind_of_edit(engine):
    from dashboard.registry.camera_queries import register_fingerprint

    Session = session_factory(engine)
    with Session() as s:
        empty = register_fingerprint(s)
        reg = _add_registration(s)
        added = register_fingerprint(s)
        assert added != empty
        reg.site.cameras[0].direction_deg = 10
        s.commit()
        edited = register_fingerprint(s)
        assert edited != added
        reg.status, reg.name, reg.email = "withdrawn", None, None
        s.commit()
        assert register_fingerprint(s) != edited
