"""The force's open reference data ships in the repository (data/reference/staffordshire/) and is the
default; its licences' attribution is shown wherever the app shows the data: the footer of every staff
page, the weekly report, and the sources page (its SOURCES.md, with the licence notes)."""

from __future__ import annotations

import json
import tomllib

import pytest

from dashboard.config import DEFAULT_MANIFEST, DEFAULT_REFERENCE_DIR, PROJECT_ROOT, load_settings
from tests.integration.conftest import login

SHIPPED = PROJECT_ROOT / "data" / "reference" / "staffordshire"
FILES = (
    "staffordshire_police_force_area.geojson",
    "staffordshire_county.geojson",
    "staffordshire_lad.geojson",
    "staffordshire_lsoa_2011.geojson",
    "staffordshire_msoa_2011.geojson",
    "staffordshire_wards_2013.geojson",
    "staffordshire_police_neighbourhoods_list.csv",
    "staffordshire_lad_census2021_households_population.csv",
    "staffordshire_lsoa21_population_census2021.csv",
    "staffordshire_lsoa11_imd2019.csv",
    "staffordshire_postcodes_codepoint_open_2025.csv",
    "SOURCES.md",
)
MONTHS = ["2024-12-staffordshire-street.csv"] + [f"2025-{m:02d}-staffordshire-street.csv" for m in range(1, 12)]


def _statements() -> list[str]:
    """The attribution statements, read here from the manifest (what the app is told to show)."""
    return tomllib.loads(DEFAULT_MANIFEST.read_text(encoding="utf-8"))["attribution"]["statements"]


def test_the_shipped_folder_holds_every_file_and_is_the_default(tmp_path):
    assert DEFAULT_REFERENCE_DIR == SHIPPED
    assert sorted(p.name for p in SHIPPED.iterdir() if p.is_file()) == sorted(FILES)
    assert sorted(p.name for p in (SHIPPED / "police_uk").iterdir()) == sorted(MONTHS)
    settings = load_settings({"SECRET_KEY": "k" * 48, "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"})
    assert settings.reference_data_dir == SHIPPED.resolve()
    assert settings.manifest_path == DEFAULT_MANIFEST.resolve()
    # another force: its own folder and manifest still win
    other = tmp_path / "other-force"
    other.mkdir()
    manifest = tmp_path / "other.toml"
    manifest.write_text("# another force's manifest\n", encoding="utf-8")
    moved = load_settings(
        {
            "SECRET_KEY": "k" * 48,
            "REFERENCE_DATA_DIR": str(other),
            "REFERENCE_MANIFEST": str(manifest),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
        }
    )
    assert (moved.reference_data_dir, moved.manifest_path) == (other.resolve(), manifest.resolve())


def test_the_crime_months_are_the_police_uk_files_unchanged():
    """The shipped months are data.police.uk's official layout, 2,363 records in all (SOURCES.md)."""
    header = (
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
        "Last outcome category,Context"
    )
    rows = 0
    for name in MONTHS:
        lines = (SHIPPED / "police_uk" / name).read_text(encoding="utf-8-sig").splitlines()
        assert lines[0] == header, name
        body = [line for line in lines[1:] if line.strip()]
        assert all(line.split(",")[1] == name[:7] for line in body), name
        rows += len(body)
    assert rows == 2363


def test_sources_keep_every_licence_and_attribution_and_say_the_data_may_be_shipped():
    text = (SHIPPED / "SOURCES.md").read_text(encoding="utf-8")
    flat = " ".join(text.split())
    assert "may be copied" not in flat and "None of it may be copied" not in flat
    for statement in _statements():
        assert statement in flat
    notes = flat.split("## Licence notes", 1)[1]
    for licence, link in (
        ("Open Government Licence v3.0", "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"),
        ("OS OpenData", "https://www.ordnancesurvey.co.uk/"),
        ("CC-BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    ):
        assert licence in notes and link in notes, licence


def _texts(node) -> list[str]:
    """Every string in a Dash layout tree (JSON)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


@pytest.mark.parametrize("role", ["officer", "analyst", "lead", "auditor", "admin"])
def test_every_staff_page_carries_the_attribution(app, role):
    client = app.server.test_client()
    login(client, role)
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200
    shown = _texts(json.loads(layout.get_data(as_text=True)))
    for statement in _statements():
        assert statement in shown, (role, statement)
    assert "/sources" in shown
    sources = client.get("/sources")
    assert sources.status_code == 200
    assert sources.get_data() == (SHIPPED / "SOURCES.md").read_bytes()


def test_the_weekly_report_carries_the_attribution(app):
    client = app.server.test_client()
    login(client, "lead")
    page = client.get("/uptake/report?week=2026-11-16")
    assert page.status_code == 200
    text = " ".join(page.get_data(as_text=True).split())
    for statement in _statements():
        assert statement in text, statement


def test_the_shipped_files_are_tracked_by_git_not_ignored():
    """A clone gets them: none is excluded by .gitignore (git check-ignore finds no rule)."""
    import subprocess

    names = [str(p.relative_to(PROJECT_ROOT)) for p in sorted(SHIPPED.rglob("*")) if p.is_file()]
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *names], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert ignored.stdout.strip() == "" and ignored.returncode == 1, ignored.stdout


def test_a_missing_shipped_folder_says_how_to_restore_it_in_one_line(tmp_path, monkeypatch):
    from dashboard import config

    monkeypatch.setattr(config, "DEFAULT_REFERENCE_DIR", tmp_path / "gone")
    with pytest.raises(config.ConfigError) as info:
        load_settings({"SECRET_KEY": "k" * 48, "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"})
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "gone") in message
    assert "git checkout -- data/reference" in message and "REFERENCE_DATA_DIR" in message
