"""An analyst imports a police.uk file on the gap analysis page, sees the headline and ranked
recruitment targets match a direct SQL count, changes the radius, and downloads a GeoPackage that
geopandas reads back with the same figures; a malformed file imports nothing."""
from __future__ import annotations

import re
import sqlite3

import geopandas as gpd

from tests.browser.conftest import log_in, wait_for_js

ANALYST = ("analyst.demo", "demo-analyst-2026")


def _crimes_by_lsoa(db: str, codes: set[str]) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT lsoa_code, count(*) FROM crime WHERE lat IS NOT NULL GROUP BY lsoa_code").fetchall()
    return {code: n for code, n in rows if code in codes}


def _headline_crimes(page) -> int:
    return int(re.match(r"([\d,]+) crimes", page.inner_text("#gaps-headline")).group(1).replace(",", ""))


def test_analyst_imports_crimes_and_downloads_the_gaps(watched, live_server, reference, reference_dir, tmp_path):
    page, base, db = watched.page, live_server["url"], live_server["db"]
    codes = set(reference.small_areas["code"])
    log_in(watched, base, *ANALYST)
    page.goto(f"{base}/gaps")
    page.wait_for_selector("#gaps-catalogue")

    bad = tmp_path / "not-police.csv"
    bad.write_text("Crime ID,Month,Where\n1,2025-01,here\n")
    page.set_input_files("#gaps-upload input[type=file]", str(bad))
    page.wait_for_selector("#gaps-upload-error")
    assert "Nothing was imported" in page.inner_text("#gaps-upload-error")
    assert "not in the police.uk street-level layout" in page.inner_text("#gaps-upload-error")
    assert _crimes_by_lsoa(db, codes) == {}

    for name in ("2025-01-staffordshire-street.csv", "2025-02-staffordshire-street.csv"):
        page.set_input_files("#gaps-upload input[type=file]", str(reference_dir / "police_uk" / name))
        wait_for_js(page, "document.querySelector('#gaps-upload-result').innerText.includes('%s')" % name)
        assert "Imported" in page.inner_text("#gaps-upload-result")
    by_lsoa = _crimes_by_lsoa(db, codes)
    total = sum(by_lsoa.values())
    assert total > 300
    wait_for_js(page, "document.querySelector('#gaps-headline').innerText.startsWith('%s crimes')" % f"{total:,}")
    assert _headline_crimes(page) == total
    page.wait_for_selector("#gaps-targets .ag-row")
    wait_for_js(page, "document.querySelectorAll('#gaps-map path.leaflet-interactive').length >= %d"
                           % len(reference.small_areas))
    watched.screenshot("gaps-analyst")

    # The top target has the most crimes without a camera nearby; its crime count is the SQL count.
    first = page.locator("#gaps-targets .ag-row[row-index='0']")
    name = first.locator("[col-id='name']").inner_text()
    crimes = int(first.locator("[col-id='points']").inner_text().replace(",", ""))
    code = reference.small_areas.set_index("name").loc[name, "code"]
    assert crimes == by_lsoa[code]

    page.select_option("#gaps-radius", "500")
    wait_for_js(page, "document.querySelector('#gaps-export-areas-gpkg').href.includes('radius=500')")

    with page.expect_download() as download:
        page.click("#gaps-export-areas-gpkg")
    path = tmp_path / "areas.gpkg"
    download.value.save_as(path)
    layer = gpd.read_file(path)
    assert layer.crs.to_epsg() == 4326 and len(layer) == len(reference.small_areas)
    exported = dict(zip(layer["code"], layer["points"].astype(int)))
    assert {c: n for c, n in exported.items() if n} == by_lsoa
    assert set(layer["radius_m"]) == {500}
    shown = layer[~layer["suppressed"].astype(bool) & (layer["points"] > 0)]
    assert (shown["registrations_near"] >= 8).all()
    assert layer.loc[layer["suppressed"].astype(bool), "near"].isna().all()
    watched.screenshot("gaps-analyst-500m")
