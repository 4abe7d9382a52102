"""A real app (Flask test client) over a temp-file SQLite registry with one user per role."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dashboard.config import load_settings
from dashboard.core.vocab import ROLES
from dashboard.registry.database import transaction
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user

PASSWORD = "correct-horse-battery"


def _settings(folder: Path, reference_dir: Path):
    return load_settings(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'app.db'}",
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
        }
    )


def _runtime(folder: Path, reference_dir: Path):
    """A new registry in ``folder``: migrated, with one user per role."""
    rt = prepare(_settings(folder, reference_dir))
    with transaction(rt.sessions) as s:
        for role in ROLES:
            create_user(s, f"{role}1", PASSWORD, role)
    return rt


def _sqlite_files(database: Path) -> list[Path]:
    """A SQLite registry's files: the database, its write-ahead log (if a connection is still open) and
    its audit checkpoints beside it (the -shm index is rebuilt from the log when missing)."""
    return [database.with_name(database.name + suffix) for suffix in ("", "-wal", "-audit-checkpoints.jsonl")]


def _copy_registry(source: Path, target: Path) -> None:
    """Make ``target`` (closed) a copy of the SQLite registry ``source``."""
    for path in (*_sqlite_files(target), target.with_name(target.name + "-shm")):
        path.unlink(missing_ok=True)
    for original, copy in zip(_sqlite_files(source), _sqlite_files(target)):
        if original.exists():
            shutil.copyfile(original, copy)


@pytest.fixture(scope="session")
def _new_registry(tmp_path_factory, reference_dir) -> Path:
    """A new registry made once per run, as every test's starts: copying it is quicker than migrating
    a database for each test (each migration's commit waits for the disk: seconds on a busy machine)."""
    folder = tmp_path_factory.mktemp("new-registry")
    _runtime(folder, reference_dir).engine.dispose()
    return folder / "app.db"


@pytest.fixture
def runtime(tmp_path, reference_dir, _new_registry):
    """The app's runtime over a new registry of the test's own (a copy of ``_new_registry``)."""
    _copy_registry(_new_registry, tmp_path / "app.db")
    rt = prepare(_settings(tmp_path, reference_dir))
    yield rt
    rt.engine.dispose()


_DEMOS: dict[tuple, Path] = {}


@pytest.fixture
def demo_of(tmp_path_factory, reference_dir, reference):
    """``demo_of(runtime, **generate_demo arguments)``: what ``generate_demo(runtime.engine, ...)`` right
    after the ``runtime`` fixture gives, from a copy. The first call in a run with these arguments makes
    the demo in a database of its own set up as ``runtime`` sets one up (its users, one per role); every
    call copies that database and its audit checkpoints over the runtime's own, which takes
    milliseconds where generating thousands of registrations takes seconds. Each test still has its own
    database to change; nothing of one test's reaches another."""
    from dashboard.demo import generate_demo

    def load(rt, **demo_args) -> None:
        key = tuple(sorted(demo_args.items()))
        if key not in _DEMOS:
            folder = tmp_path_factory.mktemp("demo-template")
            made = _runtime(folder, reference_dir)
            generate_demo(made.engine, reference, **demo_args)
            made.engine.dispose()
            _DEMOS[key] = folder / "app.db"
        rt.engine.dispose()  # the runtime's connections close; the next ones open the copy
        _copy_registry(_DEMOS[key], Path(rt.engine.url.database))

    return load


@pytest.fixture
def app(runtime):
    from dashboard.application import create_app

    dash_app = create_app(runtime)
    dash_app.server.config["TESTING"] = True
    return dash_app


def login(client, role: str) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": f"{role}1", "password": PASSWORD, "csrf_token": token, "next": "/"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
