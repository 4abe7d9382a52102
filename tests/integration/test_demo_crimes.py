"""The demo imports the shipped police.uk months (data/reference/staffordshire/police_uk/*.csv) as admin.demo's
import, logged like one on the Crime data page, so the gap analysis has data on first run; serving the demo
again, or rebuilding it, never imports a file twice. Expected rows and digests are worked out here from the
CSV files themselves (csv module, hashlib), not from the import code."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import Counter

import pytest
import sqlalchemy as sa

from dashboard import cli
from dashboard.config import load_settings
from tests.integration.test_cli import _serve_in_process

ADMIN, ANALYST = ("admin.demo", "demo-admin-2026"), ("analyst.demo", "demo-analyst-2026")


@pytest.fixture
def env(tmp_path, reference_dir) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TILE_URL", "K_MIN", "GAP_MIN_CRIMES"}}
    return {
        **base,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "s" * 40,
        "EVIDENCE_DIR": str(tmp_path / "evidence"),
        "DEMO_REGISTRATIONS": "50",
    }


@pytest.fixture(scope="module")
def samples(reference_dir):
    """Per shipped month: file name, SHA-256 and its records as (month, lon, lat, crime type, LSOA code)."""
    out = []
    for path in sorted((reference_dir / "police_uk").glob("*.csv")):
        with open(path, newline="", encoding="utf-8-sig") as f:
            records = [
                (
                    r["Month"],
                    float(r["Longitude"]) if r["Longitude"] else None,
                    float(r["Latitude"]) if r["Latitude"] else None,
                    r["Crime type"],
                    r["LSOA code"] or None,
                )
                for r in csv.DictReader(f)
                if any(v.strip() for v in r.values())
            ]
        out.append((path.name, hashlib.sha256(path.read_bytes()).hexdigest(), records))
    assert len(out) == 12 and sum(len(r) for _, _, r in out) == 2363
    return out


def _stored(env) -> tuple[Counter, list[tuple]]:
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        crimes = Counter(
            (str(m)[:7], lon, lat, t, lsoa)
            for m, lon, lat, t, lsoa in conn.execute(
                sa.text("SELECT month, lon, lat, crime_type, lsoa_code FROM crime")
            )
        )
        logged = conn.execute(
            sa.text(
                "SELECT e.username, e.role, e.detail, u.username FROM audit_event e "
                "LEFT JOIN crime_import i ON i.id = CAST(json_extract(e.subject_ids, '$[0]') AS INTEGER) "
                "LEFT JOIN app_user u ON u.id = i.imported_by_id "
                "WHERE e.action = 'crimes_imported' ORDER BY e.id"
            )
        ).all()
    engine.dispose()
    return crimes, logged


def _expected(samples) -> Counter:
    return Counter(rec for _, _, records in samples for rec in records)


def _assert_imported_once(env, samples) -> None:
    crimes, logged = _stored(env)
    assert crimes == _expected(samples) and sum(crimes.values()) == 2363
    assert len(logged) == len(samples) == 12
    for (name, digest, records), (username, role, detail, importer) in zip(samples, logged):
        detail = json.loads(detail)
        assert (username, role, importer) == ("admin.demo", "admin", "admin.demo")
        assert (detail["file"], detail["sha256"], detail["rows"]) == (name, digest, len(records))
        assert detail["months"] == [name[:7]]


def test_the_demo_imports_the_shipped_months_once_as_the_administrator(env, samples, monkeypatch, capsys):
    _serve_in_process(monkeypatch, {**env, "DEMO": "1"})
    _assert_imported_once(env, samples)
    assert (
        "imported 12 police.uk crime files as admin.demo: 2,363 crimes, Dec 2024 to Nov 2025" in capsys.readouterr().out
    )

    # Served again in demo mode: nothing imported a second time, nothing said about it.
    _serve_in_process(monkeypatch, env, "--demo")
    _assert_imported_once(env, samples)
    assert "police.uk" not in capsys.readouterr().out

    # The chain still verifies with the import rows appended after the demo's history.
    assert cli.main(["audit", "verify"]) == 0

    # Rebuilt from scratch (demo --replace): the new registry holds the files once again, not twice.
    assert cli.main(["demo", "--registrations", "50", "--replace"]) == 0
    _assert_imported_once(env, samples)


def test_a_demo_built_without_crimes_gets_them_when_served_and_only_the_missing_ones(env, samples, monkeypatch):
    """A demo built before the demo imported crimes (generate_demo alone), with one month already imported by
    hand: demo mode adds the other eleven as admin.demo's import and leaves that one alone."""
    import datetime as dt

    from dashboard.demo import generate_demo
    from dashboard.geo.reference import cached_reference
    from dashboard.registry import audit
    from dashboard.registry.crime_import import import_crimes, parse_police_uk_csv
    from dashboard.registry.database import transaction
    from dashboard.runtime import prepare

    rt = prepare(load_settings(env))
    generate_demo(
        rt.engine,
        cached_reference(rt.settings.reference_data_dir, rt.settings.manifest_path),
        seed=3,
        registrations=50,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    first = rt.settings.reference_data_dir / "police_uk" / samples[0][0]
    with transaction(rt.sessions) as s:
        import_crimes(
            s,
            parse_police_uk_csv(first.read_bytes(), first.name),
            audit.Actor(None, "command line", None),
            rt.reference,
        )
    rt.engine.dispose()

    _serve_in_process(monkeypatch, env, "--demo")
    crimes, logged = _stored(env)
    assert crimes == _expected(samples)
    assert [json.loads(d)["sha256"] for _, _, d, _ in logged] == [digest for _, digest, _ in samples]
    assert [u for u, _, _, _ in logged] == ["command line"] + ["admin.demo"] * 11


def test_a_bad_demo_crime_file_stops_the_demo_before_anything_is_built(
    env, reference_dir, tmp_path, monkeypatch, capsys
):
    import shutil

    copy = tmp_path / "reference"
    shutil.copytree(reference_dir, copy)
    (copy / "police_uk" / "2025-13-staffordshire-street.csv").write_text("Crime ID,Month,Where\n1,2025-13,here\n")
    for name, value in {**env, "REFERENCE_DATA_DIR": str(copy), "DEMO": "1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("dashboard.server.serve", lambda settings: None)
    assert cli.main(["serve"]) != 0
    err = capsys.readouterr().err
    assert "2025-13-staffordshire-street.csv" in err and "not in the police.uk street-level layout" in err
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM registrant")).scalar() == 0
    engine.dispose()


def test_a_force_without_crime_months_gets_a_demo_without_crimes(env, reference_dir, tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "reference"
    shutil.copytree(reference_dir, copy, ignore=shutil.ignore_patterns("police_uk"))
    _serve_in_process(monkeypatch, {**env, "REFERENCE_DATA_DIR": str(copy), "DEMO": "1"})
    crimes, logged = _stored(env)
    assert crimes == Counter() and logged == []
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM registrant")).scalar() == 50
    engine.dispose()


def _log_in(client, username: str, password: str) -> None:
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"})
    assert done.status_code == 302, done.get_data(as_text=True)[:300]


def test_after_the_demo_build_the_analyst_sees_a_gap_analysis(env, samples, reference, monkeypatch):
    """The 50-crime minimum is met on first run: the analyst's gap page shows the analysis of every placed crime."""
    from dashboard.application import create_app
    from dashboard.pages.gaps import redraw
    from dashboard.runtime import prepare
    from tests.direct_calls import plain, signed_in

    _serve_in_process(monkeypatch, {**env, "DEMO": "1"})
    ours = set(reference.small_areas["code"])
    placed = sum(1 for _, _, records in samples for _, lon, _, _, lsoa in records if lon is not None and lsoa in ours)
    assert placed >= 50

    rt = prepare(load_settings(env))
    app = create_app(rt)
    app.server.config["TESTING"] = True
    client = app.server.test_client()
    _log_in(client, *ANALYST)  # the demo's analyst login works
    with signed_in(app, "analyst", ANALYST[0]):
        headline = json.dumps(plain(redraw("all", "all", "200", "lsoa")["headline"]))
    assert f"{placed:,} crimes" in headline and "Nothing is shown" not in headline
    rt.engine.dispose()
