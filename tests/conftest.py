"""Shared fixtures: real databases (a SQLite file, a PostgreSQL/PostGIS database) and the
reference data. Under scripts/test (CCR_REQUIRE_ALL_TESTS=1) a missing PostgreSQL or browser
fails the run instead of skipping, so CI can never go green without running them."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from dashboard.config import DEFAULT_MANIFEST, DEFAULT_REFERENCE_DIR, PROJECT_ROOT
from dashboard.registry.database import make_engine, migrate

REQUIRE_ALL = os.environ.get("CCR_REQUIRE_ALL_TESTS") == "1"
# Cheap password hashes for the test suite only (dashboard/security/passwords.py: one pass over 1 MiB
# instead of three over 64 MiB): set before any test hashes one, and inherited by the apps and
# commands the tests start. tests/unit/test_passwords.py checks that a deployment gets the strong ones.
os.environ["PASSWORD_HASH_PROFILE"] = "test"
# The adversary suite's figures, one line per attack (tests/adversary): written by the test processes
# (several under pytest-xdist), printed at the end of the run by the controlling one.
ADVERSARY_REPORT = PROJECT_ROOT / "test-artifacts" / "adversary-report.txt"


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the controlling process, before any test runs
        ADVERSARY_REPORT.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter):
    lines = ADVERSARY_REPORT.read_text(encoding="utf-8").splitlines() if ADVERSARY_REPORT.is_file() else []
    if lines:
        terminalreporter.section("adversary suite: what each attack recovered")
        for line in lines:
            terminalreporter.write_line(line)


def unavailable(reason: str) -> None:
    """Skip when running ad hoc; fail under the README test command."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (required under scripts/test)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _checkpoints_out_of_the_project(tmp_path_factory):
    """Audit checkpoints of test databases on PostgreSQL go to a temporary folder, not the project's
    data folder (a SQLite database's go beside its file, in the test's own folder already)."""
    from dashboard import config

    folder = tmp_path_factory.mktemp("audit-checkpoints")
    original = config.default_checkpoint_file

    def beside_the_tests(database_url: str) -> Path:
        path = original(database_url)
        return folder / path.name if path.parent == config.DATA_DIR else path

    config.default_checkpoint_file = beside_the_tests
    yield
    config.default_checkpoint_file = original


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The reference data the app reads by default (shipped in data/reference/), or REFERENCE_DATA_DIR."""
    configured = os.environ.get("REFERENCE_DATA_DIR")
    path = Path(configured) if configured else DEFAULT_REFERENCE_DIR
    if not path.is_dir():
        unavailable(f"reference data folder {path} not found")
    return path


@pytest.fixture(scope="session")
def reference(reference_dir):
    from dashboard.geo.reference import cached_reference

    return cached_reference(reference_dir, DEFAULT_MANIFEST)


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        unavailable("TEST_DATABASE_URL is not set (PostgreSQL test server not running)")
    return url


@pytest.fixture(scope="session")
def pg_template(pg_admin_url) -> str:
    """A template database with PostGIS installed, so each test database is a fast copy. One per
    pytest-xdist worker: a shared one was dropped and remade by one worker while another copied it."""
    name = f"ccr_template_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    tmpl = sa.create_engine(sa.engine.make_url(pg_admin_url).set(database=name))
    with tmpl.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    tmpl.dispose()
    admin.dispose()
    return name


@pytest.fixture
def pg_url(pg_admin_url, pg_template):
    """URL of a brand-new, empty PostgreSQL database (PostGIS available), dropped afterwards."""
    name = f"ccr_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    url = sa.engine.make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """The same test against a SQLite file and a PostgreSQL/PostGIS database."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()
