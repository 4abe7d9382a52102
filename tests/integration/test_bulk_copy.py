"""Bulk loading on PostgreSQL by COPY (issue 19): the demo and the crime import write their rows with
``COPY ... FROM STDIN`` and the demo makes its large tables' indexes and foreign keys after the rows are
in; what is stored must be exactly what the SQLite build of the same seed stores (SQLite keeps its
``executemany`` path, so it is the independent expectation here), every index and constraint the
migrations made must be back, the audit log's chain must verify, and the id sequences must continue
after the loaded rows (a registration through the app after the build gets the next ids). A crime
import that fails at the database still stores nothing. Needs TEST_DATABASE_URL."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
from collections import Counter

import pytest
import sqlalchemy as sa

from dashboard.config import PROJECT_ROOT, load_settings
from dashboard.demo import generate_demo
from dashboard.demo import writer as demo_writer
from dashboard.registry import audit, bulk_copy
from dashboard.registry.crime_import import COLUMNS, import_crimes, parse_police_uk_csv
from dashboard.registry.database import make_engine, migrate, session_factory, transaction
from dashboard.registry.models import AuditEvent, Base, Camera, Registrant, Site
from dashboard.runtime import prepare

pytestmark = pytest.mark.postgres

SEED = 11
N = 1500
DEMO = {
    "seed": SEED,
    "registrations": N,
    "as_of": dt.date(2026, 11, 29),
    "pilot_start": dt.date(2026, 4, 13),
    "public_launch": dt.date(2026, 7, 6),
}
BIG = {"registrant", "site", "camera", "audit_event"}


def _new_pg_database(admin_url: str, template: str) -> str:
    name = f"ccr_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {template}")
    admin.dispose()
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(admin_url: str, url: str) -> None:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {sa.engine.make_url(url).database} WITH (FORCE)")
    admin.dispose()


def _dump(engine) -> dict[str, list[tuple]]:
    """Every table of the models, rows ordered by all their columns (JSON ones have no order in
    PostgreSQL); password hashes left out (argon2 salts them randomly, by design)."""
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            cols = [c for c in table.c if not (table.name == "app_user" and c.name == "password_hash")]
            order = [c for c in cols if not isinstance(c.type, sa.JSON)]
            out[table.name] = [tuple(r) for r in conn.execute(sa.select(*cols).order_by(*order)).all()]
    return out


def _schema(engine) -> tuple[set, set]:
    """The index definitions and constraint definitions of the public schema."""
    with engine.connect() as conn:
        indexes = set(conn.exec_driver_sql("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'").scalars())
        constraints = set(
            conn.exec_driver_sql(
                "SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
            ).scalars()
        )
    return indexes, constraints


@pytest.fixture(scope="module")
def builds(tmp_path_factory, reference, pg_admin_url, pg_template):
    """The same demo (with owners' footage answers) built on SQLite and, by COPY, on PostgreSQL;
    yields (sqlite engine, postgresql engine, postgresql summary, tables written by COPY)."""
    root = tmp_path_factory.mktemp("bulk_copy")
    lite = make_engine(f"sqlite:///{root / 'demo.db'}")
    generate_demo(lite, reference, **DEMO, evidence_dir=root / "evidence-sqlite")
    url = _new_pg_database(pg_admin_url, pg_template)
    pg = make_engine(url)
    copied: Counter = Counter()
    real_copy = demo_writer.copy_columns

    def spy(conn, table, columns, chunk_rows=bulk_copy.CHUNK_ROWS):
        copied[table.name] += real_copy(conn, table, columns, chunk_rows)
        return copied[table.name]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_writer, "copy_columns", spy)
        summary = generate_demo(pg, reference, **DEMO, evidence_dir=root / "evidence-pg")
    yield lite, pg, summary, copied
    lite.dispose()
    pg.dispose()
    _drop_pg_database(pg_admin_url, url)


def test_the_copy_build_stores_exactly_what_the_sqlite_build_stores(builds):
    lite, pg, summary, copied = builds
    # The large tables really went by COPY, every row of them.
    assert copied["registrant"] == copied["site"] == N
    assert copied["camera"] == summary.cameras and copied["audit_event"] == summary.audit_events
    assert summary.owner_answers > 0  # the footage answers (written by plain INSERT) are compared too
    expected, got = _dump(lite), _dump(pg)
    assert sum(len(rows) for rows in expected.values()) > 5 * N
    for name in expected:
        assert got[name] == expected[name], f"table {name} differs between the SQLite and the COPY build"


def test_the_point_geometry_is_filled_from_the_grid_reference(builds):
    _, pg, _, _ = builds
    with pg.connect() as conn:
        located, with_geom, wrong, srids = conn.execute(
            sa.text(
                "SELECT count(easting_m), count(geom), "
                "count(*) FILTER (WHERE ST_X(geom) <> easting_m OR ST_Y(geom) <> northing_m), "
                "array_agg(DISTINCT ST_SRID(geom)) FILTER (WHERE geom IS NOT NULL) FROM site"
            )
        ).one()
        withdrawn = conn.execute(
            sa.text(
                "SELECT count(*) FROM site JOIN registrant r ON r.id = site.registrant_id WHERE r.status = 'withdrawn'"
            )
        ).scalar()
    assert withdrawn > 0 and located == N - withdrawn  # erased sites keep no position, so no point either
    assert with_geom == located and wrong == 0 and srids == [27700]


def test_every_index_and_constraint_of_the_migrations_is_back_and_the_tables_are_analysed(
    builds, pg_admin_url, pg_template
):
    _, pg, _, _ = builds
    url = _new_pg_database(pg_admin_url, pg_template)
    fresh = make_engine(url)
    try:
        migrate(fresh)
        assert _schema(pg) == _schema(fresh)
    finally:
        fresh.dispose()
        _drop_pg_database(pg_admin_url, url)
    with pg.connect() as conn:
        analysed = dict(
            conn.exec_driver_sql(
                "SELECT relname, last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL FROM pg_stat_user_tables"
            ).all()
        )
        foreign_keys = conn.exec_driver_sql(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND convalidated AND conrelid::regclass::text IN ('site', 'camera')"
        ).all()
    assert all(analysed[name] for name in BIG)
    assert set(foreign_keys) == {("site", "registrant"), ("camera", "site")}


def test_the_audit_chain_verifies_and_every_sequence_continues_after_its_rows(builds):
    _, pg, _, _ = builds
    with session_factory(pg)() as s:
        check = audit.verify_log(s)
        assert check.intact, check.describe()
        assert check.chain.rows_checked == s.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    with pg.connect() as conn:
        behind = []
        for table in Base.metadata.sorted_tables:
            if "id" not in table.c or not table.c.id.autoincrement:
                continue
            sequence = conn.execute(sa.text(f"SELECT pg_get_serial_sequence('{table.name}', 'id')")).scalar()
            if sequence is None:
                continue
            top = conn.execute(sa.text(f"SELECT max(id) FROM {table.name}")).scalar()
            last, called = conn.execute(sa.text(f"SELECT last_value, is_called FROM {sequence}")).one()
            nxt = last + 1 if called else last
            if top is not None and nxt <= top:
                behind.append((table.name, top, nxt))
    assert behind == []


def test_a_registration_through_the_app_after_the_copy_build_gets_the_next_ids(pg_url, reference_dir, reference):
    from dashboard.application import create_app

    settings = load_settings(
        {
            "DATABASE_URL": pg_url,
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
            "PUBLIC_BASE_URL": "https://cameras.example",
        }
    )
    rt = prepare(settings)
    try:
        summary = generate_demo(rt.engine, reference, **{**DEMO, "registrations": 300})
        with rt.sessions() as s:
            top_audit = s.scalar(sa.select(sa.func.max(AuditEvent.id)))
        postcode = reference.postcodes["postcode"].iloc[0]
        response = (
            create_app(rt)
            .server.test_client()
            .post(
                "/api/v1/registrations",
                json={
                    "name": "Sam Owner",
                    "email": "sam.owner@example.org",
                    "preferred_channel": "email",
                    "site_kind": "home",
                    "address": "12 Example Street",
                    "postcode": postcode,
                    "consent": True,
                    "cameras": [
                        {"kind": "doorbell", "placement": "outdoor", "recording_mode": "motion"},
                        {"kind": "fixed", "placement": "outdoor", "recording_mode": "continuous"},
                    ],
                },
            )
        )
        assert response.status_code == 201, response.get_json()
        with rt.sessions() as s:
            person = s.scalar(sa.select(Registrant).where(Registrant.email == "sam.owner@example.org"))
            assert person.id == 301 and person.site.id == 301
            assert sorted(c.id for c in person.site.cameras) == [summary.cameras + 1, summary.cameras + 2]
            assert s.scalar(sa.select(sa.func.count()).select_from(Camera)) == summary.cameras + 2
            assert s.scalar(sa.select(sa.func.count()).select_from(Site)) == 301
            after = s.execute(sa.select(AuditEvent.id, AuditEvent.action).where(AuditEvent.id > top_audit)).all()
            assert "registration_created" in {action for _, action in after}
            assert sorted(i for i, _ in after) == list(range(top_audit + 1, top_audit + 1 + len(after)))
            check = audit.verify_log(s)
            assert check.intact, check.describe()
    finally:
        rt.engine.dispose()


# --------------------------------------------------------------------------- crime import


TRICKY = [
    ["t1", "2025-03", "Staffordshire Police", "Staffordshire Police", "-2.03", "52.68", "On or near Park Road",
     "E01029359", "Cannock Chase 012A", "Burglary", "Under investigation", ""],
    ["", "2025-03", "Staffordshire Police", "Staffordshire Police", "", "", "No location",
     "", "", "Drugs", "", ""],
    ["t3", "2025-04", "Staffordshire Police", "Staffordshire Police", "-2.1", "52.7", "On or near \\N Lane\tEast",
     "E01029360", "Cannock Chase 012B", "Robbery", "", 'a "quoted", back\\slash\nand a new line'],
]  # fmt: skip


def _csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _crimes(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT crime_ref, month, reported_by, falls_within, lon, lat, location, lsoa_code, lsoa_name, "
                "crime_type, last_outcome, context FROM crime ORDER BY id"
            )
        ).all()


def test_the_crime_import_copies_every_value_as_the_file_has_it(pg_url):
    engine = make_engine(pg_url)
    migrate(engine)
    data = _csv(TRICKY)
    with transaction(session_factory(engine)) as s:
        done = import_crimes(s, parse_police_uk_csv(data, "tricky.csv"), audit.SYSTEM, None, count=False)
    expected = [
        (
            r["Crime ID"] or None,
            dt.date(int(r["Month"][:4]), int(r["Month"][5:]), 1),
            r["Reported by"],
            r["Falls within"],
            float(r["Longitude"]) if r["Longitude"] else None,
            float(r["Latitude"]) if r["Latitude"] else None,
            r["Location"],
            r["LSOA code"] or None,
            r["LSOA name"] or None,
            r["Crime type"],
            r["Last outcome category"],
            r["Context"],
        )
        for r in csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
    ]
    assert [tuple(r) for r in _crimes(engine)] == expected
    with engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT record_key, import_id FROM crime")).all()
        logged = (
            conn.execute(sa.text("SELECT detail FROM audit_event WHERE action = 'crimes_imported'")).scalars().all()
        )
    assert all(0 <= k <= 255 for k, _ in keys) and {i for _, i in keys} == {done.import_id}
    assert [json.loads(d)["rows"] for d in logged] == [3]
    assert json.loads(logged[0])["sha256"] == hashlib.sha256(data).hexdigest()
    engine.dispose()


def test_a_crime_import_refused_at_the_database_on_postgresql_stores_nothing(pg_url, tmp_path, reference_dir):
    """Two copies of one file in one command: the first is copied in, the second is refused as
    already imported, and the whole command rolls back (the copied rows with it); a malformed file
    is refused before anything is written."""
    engine = make_engine(pg_url)
    migrate(engine)
    good, again, bad = tmp_path / "good.csv", tmp_path / "again.csv", tmp_path / "bad.csv"
    good.write_bytes(_csv(TRICKY))
    again.write_bytes(_csv(TRICKY))
    bad.write_bytes(_csv([TRICKY[0][:1] + ["2025-13"] + TRICKY[0][2:]]))
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "DATABASE_URL": pg_url,
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "k" * 48,
    }
    for files, says in (((good, again), "already imported"), ((good, bad), "bad.csv")):
        refused = subprocess.run(
            [sys.executable, "-m", "dashboard", "crimes", "import", *map(str, files)],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert refused.returncode == 2 and says in refused.stderr and "Nothing was imported" in refused.stderr
        assert "Traceback" not in refused.stderr
        with engine.connect() as conn:
            counts = [conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in ("crime", "crime_import")]
            logged = conn.execute(sa.text("SELECT count(*) FROM audit_event WHERE action = 'crimes_imported'")).scalar()
        assert counts == [0, 0] and logged == 0
    engine.dispose()
