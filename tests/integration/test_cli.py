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
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *args],
        cwd=PROJECT_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def env(tmp_path, reference_dir) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TILE_URL", "K_MIN"}}
    return {
        **base,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "s" * 40,
        "EVIDENCE_DIR": str(tmp_path / "evidence"),
    }


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


@pytest.mark.parametrize(
    "name,value",
    [
        ("K_MIN", "eight"),
        ("K_MIN", "0"),
        ("PORT", "70000"),
        ("PUBLIC_LAUNCH", "2026-13-01"),
        ("TILE_URL", "ftp://tiles"),
    ],
)
def test_bad_settings(env, name, value):
    assert_one_line_error(run(["check"], {**env, name: value}), name)


def test_serve_stops_with_one_line_on_bad_setup(env, tmp_path):
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**env, "REFERENCE_DATA_DIR": str(tmp_path / "nowhere")},
        timeout=60,
    )
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
    assert_one_line_error(
        run(["token", "issue", "dana.smith"], env, stdin="not-her-password-at-all\n"),
        "That is not your password; no token was issued.",
    )
    token = run(["token", "issue", "dana.smith"], env, stdin="a-long-enough-password\n")
    assert token.returncode == 0 and token.stdout.strip().startswith("ccr_"), token.stderr
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT token_hash FROM api_token")).scalar()
        roles = conn.execute(sa.text("SELECT username, role FROM app_user")).all()
        logged = conn.execute(
            sa.text("SELECT action, username, detail FROM audit_event WHERE action LIKE 'token%' ORDER BY id")
        ).all()
    import hashlib

    assert stored == hashlib.sha256(token.stdout.strip().encode()).hexdigest()
    assert token.stdout.strip() not in stored
    assert roles == [("dana.smith", "analyst")]
    assert [(a, u) for a, u, _ in logged] == [("token_refused", "dana.smith"), ("token_issued", "dana.smith")]
    assert '"via":"command line"' in logged[1][2]
    assert_one_line_error(run(["token", "issue", "nobody"], env, stdin="whatever-it-is-here\n"), "no user named")


# --------------------------------------------------------------------------- demo data only when asked for


def _serve_in_process(monkeypatch, env: dict, *argv: str) -> None:
    """``python -m dashboard serve ARGV`` up to the point where it would start serving."""
    import dashboard.server
    from dashboard import cli

    for name in ("DEMO", "DEMO_REGISTRATIONS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    served = []
    monkeypatch.setattr(dashboard.server, "serve", lambda settings: served.append(settings))
    assert cli.main(["serve", *argv]) == 0
    assert len(served) == 1


def _contents(env: dict) -> tuple[int, list[str]]:
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        registrants = conn.execute(sa.text("SELECT count(*) FROM registrant")).scalar()
        users = [u for (u,) in conn.execute(sa.text("SELECT username FROM app_user ORDER BY username"))]
    engine.dispose()
    return registrants, users


def test_a_real_deployment_gets_no_demo_data_or_demo_accounts(env, monkeypatch, capsys):
    """The issue's steps: an empty database, a real administrator, then start-up."""
    created = run(["user", "add", "jane.admin", "--role", "admin"], env, stdin="tawny-owl-lantern-quay\n")
    assert created.returncode == 0, created.stderr
    _serve_in_process(monkeypatch, {**env, "DEMO_REGISTRATIONS": "50"})
    assert _contents(env) == (0, ["jane.admin"])
    assert "demo-admin-2026" not in capsys.readouterr().out


def test_a_demo_database_given_a_real_account_serves_with_the_demo_accounts_disabled(env, monkeypatch, capsys):
    """A demo registry later given a real administrator kept the six demo accounts, whose passwords are
    published, and 'serve' printed them: anyone who had read the README could log in as admin.demo.
    Outside demo mode, once a real account exists, they are disabled (logged), and none is printed."""
    from dashboard.demo import DEMO_USERS
    from dashboard.security.passwords import verify_password

    _serve_in_process(monkeypatch, {**env, "DEMO_REGISTRATIONS": "50", "DEMO": "1"})
    capsys.readouterr()
    created = run(["user", "add", "jane.admin", "--role", "admin"], env, stdin="tawny-owl-lantern-quay\n")
    assert created.returncode == 0, created.stderr
    _serve_in_process(monkeypatch, {**env, "DEMO_REGISTRATIONS": "50"})
    out = capsys.readouterr().out
    [said] = [line for line in out.splitlines() if line.startswith("Disabled the demo accounts ")]
    assert "admin.demo," in said or "admin.demo:" in said
    assert "demo-admin-2026" not in out
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        users = dict(conn.execute(sa.text("SELECT username, active FROM app_user")).all())
        hashes = dict(conn.execute(sa.text("SELECT username, password_hash FROM app_user")).all())
        logged = conn.execute(
            sa.text("SELECT count(*) FROM audit_event WHERE action = 'user_disabled' AND username = 'start-up check'")
        ).scalar()
    engine.dispose()
    assert users.pop("jane.admin") in (1, True)
    assert {name for name, _, _ in DEMO_USERS} <= set(users) and not any(users.values())
    assert logged == len(DEMO_USERS)
    # still their published passwords: they are disabled, not changed (an admin may enable them after changing them)
    assert all(verify_password(hashes[name], password) for name, _, password in DEMO_USERS)
    # a second start-up has nothing more to do
    _serve_in_process(monkeypatch, {**env, "DEMO_REGISTRATIONS": "50"})
    assert "Disabled" not in capsys.readouterr().out


@pytest.mark.parametrize("how", [{"DEMO": "1"}, {"args": "--demo"}])
def test_demo_mode_is_refused_when_a_real_account_exists(env, how):
    created = run(["user", "add", "jane.admin", "--role", "admin"], env, stdin="tawny-owl-lantern-quay\n")
    assert created.returncode == 0, created.stderr
    args = ["serve", "--demo"] if "args" in how else ["serve"]
    result = run(args, {**env, "DEMO_REGISTRATIONS": "50", **{k: v for k, v in how.items() if k != "args"}})
    assert_one_line_error(result, "jane.admin", "real")
    assert _contents(env) == (0, ["jane.admin"])
    # the demo command refuses too, even with --replace (which would wipe the real account)
    for extra in ([], ["--replace"]):
        assert_one_line_error(run(["demo", "--registrations", "50", *extra], env), "jane.admin")
    assert _contents(env) == (0, ["jane.admin"])


def test_demo_mode_is_refused_on_a_registry_with_registrations_and_no_demo_accounts(env, monkeypatch):
    from dashboard.demo import DEMO_USERS

    # a demo registry whose demo accounts were all removed stands in for real registrations
    # made before any account existed
    _serve_in_process(monkeypatch, {**env, "DEMO_REGISTRATIONS": "50", "DEMO": "1"})
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM login_session"))
        conn.execute(sa.text("DELETE FROM api_token"))
        conn.execute(sa.text("DELETE FROM app_user"))
    engine.dispose()
    result = run(["serve", "--demo"], {**env, "DEMO_REGISTRATIONS": "50"})
    assert_one_line_error(result, "registrations")
    assert len(DEMO_USERS) == 6 and _contents(env)[1] == []


def test_demo_mode_on_a_fresh_database_builds_the_demo_once(env, monkeypatch, capsys):
    from dashboard.demo import DEMO_USERS

    _serve_in_process(monkeypatch, {**env, "DEMO_REGISTRATIONS": "50", "DEMO": "1"})
    registrants, users = _contents(env)
    assert registrants == 50 and users == sorted(u for u, _, _ in DEMO_USERS)
    assert "demo-admin-2026" in capsys.readouterr().out
    # started again in demo mode: the demo is served as it is, not rebuilt or refused
    _serve_in_process(monkeypatch, {**env, "DEMO_REGISTRATIONS": "60"}, "--demo")
    assert _contents(env) == (registrants, users)


def test_the_demo_command_stores_the_owners_footage_in_evidence_dir(env):
    """The README's demo command hands its EVIDENCE_DIR to the demo: every evidence_file row's bytes
    are there under their SHA-256 (re-hashed here), and the command says how many it wrote."""
    import hashlib
    from pathlib import Path

    result = run(["demo", "--registrations", "3000", "--seed", "2026", "--as-of", "2026-11-29"], env)
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT sha256, declared_size, state FROM evidence_file")).all()
        answers = conn.execute(sa.text("SELECT count(*) FROM footage_response WHERE answer = 'footage'")).scalar()
    engine.dispose()
    assert rows and answers and {r.state for r in rows} == {"stored"}
    root = Path(env["EVIDENCE_DIR"]) / "sha256"
    for sha, size, _ in rows:
        stored = root / sha[:2] / sha[2:4] / sha
        assert stored.stat().st_size == size and hashlib.sha256(stored.read_bytes()).hexdigest() == sha
    assert f"{answers} owners' answers with {len(rows)} footage files" in result.stdout


@pytest.mark.parametrize(
    "password, says",
    [
        ("123456789012", "too easy to guess"),
        ("qwertyuiopas", "a common keyboard pattern"),
        ("Staffordshire1", "the force's name"),
    ],
)
def test_user_add_refuses_an_easily_guessed_password(env, password, says):
    assert_one_line_error(run(["user", "add", "jane.admin", "--role", "admin"], env, stdin=password + "\n"), says)
    assert _contents(env)[1] == []
