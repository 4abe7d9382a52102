"""The demo comes with the shipped police.uk months imported by admin.demo (each listed with its SHA-256 on
the Crime data page); a malformed file, one with an invented crime type and a month imported already import
nothing and say why; an analyst, who has no such page, opens the gap
analysis: the controls offer the query space and nothing more, the headline and the top recruitment
target match a direct SQL count, a GeoPackage download reads back in geopandas with the same crime
counts and only published coverage figures, and a choice of fewer than 50 crimes shows nothing."""

from __future__ import annotations

import hashlib
import re
import sqlite3

import geopandas as gpd

from tests.browser.conftest import PageWatch, log_in, wait_for_js

ADMIN = ("admin.demo", "demo-admin-2026")
ANALYST = ("analyst.demo", "demo-analyst-2026")


def _crimes_by_lsoa(db: str, codes: set[str]) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT lsoa_code, count(*) FROM crime WHERE lat IS NOT NULL GROUP BY lsoa_code").fetchall()
    return {code: n for code, n in rows if code in codes}


def _headline_crimes(page) -> int:
    return int(re.match(r"([\d,]+) crimes", page.inner_text("#gaps-headline")).group(1).replace(",", ""))


def test_admin_imports_and_analyst_analyses_the_gaps(watched, browser, live_server, reference, reference_dir, tmp_path):
    page, base, db = watched.page, live_server["url"], live_server["db"]
    codes = set(reference.small_areas["code"])
    months = sorted((reference_dir / "police_uk").glob("*-street.csv"))
    assert len(months) == 12

    # The administrator's page: the demo's twelve months, each file by its SHA-256; then refusals.
    log_in(watched, base, *ADMIN)
    page.goto(f"{base}/crime-data")
    page.wait_for_selector("#crimes-summary")
    page.wait_for_selector("#crimes-imports .ag-row[row-index='11']")
    listed = page.inner_text("#crimes-imports")
    for month in months:
        assert hashlib.sha256(month.read_bytes()).hexdigest() in listed, month.name
    assert "admin.demo" in listed
    before = _crimes_by_lsoa(db, codes)
    bad = tmp_path / "not-police.csv"
    bad.write_text("Crime ID,Month,Where\n1,2025-01,here\n")
    page.set_input_files("#crimes-upload input[type=file]", str(bad))
    page.wait_for_selector("#crimes-upload-error")
    assert "Nothing was imported" in page.inner_text("#crimes-upload-error")
    assert "not in the police.uk street-level layout" in page.inner_text("#crimes-upload-error")
    real = months[1].read_text(encoding="utf-8-sig").splitlines()
    probes = tmp_path / "probes.csv"
    probes.write_text("\n".join([real[0], real[1], real[2].replace(real[2].split(",")[9], "Probe 17")]) + "\n")
    page.set_input_files("#crimes-upload input[type=file]", str(probes))
    wait_for_js(page, "document.querySelector('#crimes-upload-error').innerText.includes('Probe 17')")
    assert "line 3: Crime type 'Probe 17' is not a police.uk street-level crime category" in page.inner_text(
        "#crimes-upload-error"
    )
    page.set_input_files("#crimes-upload input[type=file]", str(months[1]))
    wait_for_js(page, "document.querySelector('#crimes-upload-error').innerText.includes('already imported')")
    assert months[1].name in page.inner_text("#crimes-upload-error")
    assert _crimes_by_lsoa(db, codes) == before
    watched.screenshot("crime-data-admin")

    # The analyst: no crime data page, no upload, only the query space.
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    analyst = context.new_page()
    analyst.set_default_timeout(20_000)
    seen = PageWatch(analyst, base)
    log_in(seen, base, *ANALYST)
    assert "Crime data" not in analyst.inner_text("#shell-nav")
    assert context.request.get(f"{base}/crime-data").status == 403
    analyst.goto(f"{base}/gaps")
    analyst.wait_for_selector("#gaps-headline")
    assert analyst.locator("input[type=file]").count() == 0
    values = "os => os.filter(o => o.value).map(o => o.value)"
    # No month or crime type to choose: the figures cover all imported months and all types together.
    assert analyst.locator("#gaps-period option").count() == 0 and analyst.locator("#gaps-type option").count() == 0
    assert analyst.inner_text("#gaps-covers") == "All months (Dec 2024 to Nov 2025), all crime types"
    assert analyst.eval_on_selector_all("#gaps-radius option", values) == ["50", "100", "200", "500"]

    by_lsoa = _crimes_by_lsoa(db, codes)
    total = sum(by_lsoa.values())
    assert total > 300
    wait_for_js(analyst, "document.querySelector('#gaps-headline').innerText.startsWith('%s crimes')" % f"{total:,}")
    assert _headline_crimes(analyst) == total
    assert "need not add up exactly" in analyst.inner_text("#gaps-protection")
    analyst.wait_for_selector("#gaps-targets .ag-row")
    wait_for_js(
        analyst,
        "document.querySelectorAll('#gaps-map path.leaflet-interactive').length >= %d" % len(reference.small_areas),
    )
    assert "Coverage is hidden for" in analyst.inner_text(
        "#gaps-hidden"
    ) or "Coverage is shown for every one" in analyst.inner_text("#gaps-hidden")
    seen.screenshot("gaps-analyst")

    # The top target has the most crimes without a camera nearby; its crime count is the SQL count.
    first = analyst.locator("#gaps-targets .ag-row[row-index='0']")
    name = first.locator("[col-id='name']").inner_text()
    crimes = int(first.locator("[col-id='crimes']").inner_text().replace(",", ""))
    code = reference.small_areas.set_index("name").loc[name, "code"]
    assert crimes == by_lsoa[code]

    analyst.select_option("#gaps-radius", "500")
    wait_for_js(analyst, "document.querySelector('#gaps-export-areas-gpkg').href.includes('radius=500')")
    with analyst.expect_download() as download:
        analyst.click("#gaps-export-areas-gpkg")
    path = tmp_path / "areas.gpkg"
    download.value.save_as(path)
    layer = gpd.read_file(path)
    assert layer.crs.to_epsg() == 4326 and len(layer) == len(reference.small_areas)
    exported = dict(zip(layer["code"], layer["crimes"].astype(int)))
    assert {c: n for c, n in exported.items() if n} == by_lsoa
    assert set(layer["radius_m"]) == {500} and set(layer["period"]) == {"all imported months"}
    suppressed = layer["suppressed"].astype(bool)
    shown = layer[~suppressed & (layer["crimes"] > 0)]
    assert len(shown) >= 1 and (shown["registrations_near"] >= 8).all() and (shown["crimes"] >= 8).all()
    assert (shown["near"] <= shown["crimes"]).all()
    assert layer.loc[suppressed, ["near", "in_view", "registrations_near"]].isna().all().all()

    # By district: the same crimes, counted per district.
    analyst.select_option("#gaps-level", "district")
    wait_for_js(analyst, "document.querySelector('#gaps-export-areas-gpkg').href.includes('level=district')")
    wait_for_js(analyst, "document.querySelector('#gaps-headline').innerText.startsWith('%s crimes')" % f"{total:,}")
    context.close()
    assert seen.external == [] and seen.console_errors == [], (seen.external, seen.console_errors)
