"""The operator's command line: bad set-up gives one clear line and a non-zero exit, never a traceback."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa

from dashboard.config import PROJECT_ROOT
from dashboard.registry.database import make_engine, migrate


def run(args: list[str], env: dict, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=PROJECT_ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def env(tmp_path, reference_dir) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TILE_URL", "K_MIN"}}
    return {**base, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "s" * 40}


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_check_passes_on_a_good_setup(env):
    unmigrated = run(["check"], env)
    assert_one_line_error(unmigrated, "schema none")
    migrate(make_engine(env["DATABASE_URL"]))
    result = run(["check"], env)
    assert result.returncode == 0, result.stderr
    assert "all checks passed" in result.stdout


def test_missing_reference_file_names_the_file(env, tmp_path, reference_dir):
    copy = tmp_path / "refdata"
    shutil.copytree(reference_dir, copy)
    copy.chmod(0o755)
    missing = copy / "staffordshire_lad.geojson"
    missing.unlink()
    result = run(["check"], {**env, "REFERENCE_DATA_DIR": str(copy)})
    assert_one_line_error(result, str(missing))


def test_unreachable_database_url(env):
    result = run(["check"], {**env, "DATABASE_URL": "postgresql+psycopg://nobody:pw@127.0.0.1:9/none"})
    assert_one_line_error(result, "cannot reach the database", "DATABASE_URL")
    assert "pw@" not in result.stderr  # the password is never printed


def test_database_url_with_unknown_scheme(env):
    assert_one_line_error(run(["check"], {**env, "DATABASE_URL": "mysql://x@y/z"}), "DATABASE_URL")


def test_corrupt_sqlite_file(env, tmp_path):
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"this is not a database" * 200)
    result = run(["check"], {**env, "DATABASE_URL": f"sqlite:///{bad}"})
    assert_one_line_error(result, str(bad))
    assert bad.read_bytes() == b"this is not a database" * 200  # left untouched


@pytest.mark.parametrize("value", ["changeme", "short-key", ""])
def test_weak_secret_key(env, value):
    assert_one_line_error(run(["check"], {**env, "SECRET_KEY": value}), "SECRET_KEY")


@pytest.mark.parametrize("name,value", [("K_MIN", "eight"), ("K_MIN", "0"), ("PORT", "70000"),
                                        ("PUBLIC_LAUNCH", "2026-13-01"), ("TILE_URL", "ftp://tiles")])
def test_bad_settings(env, name, value):
    assert_one_line_error(run(["check"], {**env, name: value}), name)


def test_serve_stops_with_one_line_on_bad_setup(env, tmp_path):
    result = subprocess.run([sys.executable, "app.py"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            env={**env, "REFERENCE_DATA_DIR": str(tmp_path / "nowhere")}, timeout=60)
    assert_one_line_error(result, "REFERENCE_DATA_DIR")


def test_user_add_and_token_issue(env):
    created = run(["user", "add", "Dana.Smith", "--role", "analyst"], env, stdin="a-long-enough-password\n")
    assert created.returncode == 0, created.stderr
    assert "created user dana.smith with role analyst" in created.stdout
    again = run(["user", "add", "dana.smith", "--role", "analyst"], env, stdin="a-long-enough-password\n")
    assert_one_line_error(again, "already exists")
    short = run(["user", "add", "eve", "--role", "officer"], env, stdin="short\n")
    assert_one_line_error(short, "at least 12")
    # A token is issued only on its owner's password (issue 15): without it, or with a wrong one, none.
    assert_one_line_error(run(["token", "issue", "dana.smith"], env, stdin=""), "own password is needed")
    assert_one_line_error(run(["token", "issue", "dana.smith"], env, stdin="not-her-password-at-all\n"),
                          "That is not your password; no token was issued.")
    token = run(["token", "issue", "dana.smith"], env, stdin="a-long-enough-password\n")
    assert token.returncode == 0 and token.stdout.strip().startswith("ccr_"), token.stderr
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT token_hash FROM api_token")).scalar()
        roles = conn.execute(sa.text("SELECT username, role FROM app_user")).all()
        logged = conn.execute(sa.text("SELECT action, username, detail FROM audit_event WHERE action LIKE 'token%' "
                                      "ORDER BY id")).all()
    import hashlib

    assert stored == hashlib.sha256(token.stdout.strip().encode()).hexdigest()
    assert token.stdout.strip() not in stored
    assert roles == [("dana.smith", "analyst")]
    assert [(a, u) for a, u, _ in logged] == [("token_refused", "dana.smith"), ("token_issued", "dana.smith")]
    assert '"via":"command line"' in logged[1][2]
    assert_one_line_error(run(["token", "issue", "nobody"], env, stdin="whatever-it-is-here\n"), "no user named")
