"""An analyst looks at coverage: the cell map and its summary match a count worked out from the
database with the record keys and the perturbation table, the one "Cameras" choice redraws it,
small cells show no number (at the finest grid they are not drawn), and the page says how figures
are protected."""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict

import numpy as np

from dashboard.analytics.disclosure import PTable
from tests.browser.conftest import log_in, wait_for_js

ANALYST = ("analyst.demo", "demo-analyst-2026")
K = 8
TABLE = PTable.build(K, 3, 2.0)  # the app's default settings


def _expected(db: str, res: int, kind: str | None = None) -> tuple[int, int, int]:
    """Cells drawn, cells with a number and the published cameras between them, from plain SQL:
    per cell the registrations with a camera of the kind and their key, the cameras and theirs,
    and the registrations with a camera of another kind (what the filter leaves out)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            f"SELECT s.h3_r{res}, r.id, r.record_key, c.record_key, c.kind FROM camera c "
            f"JOIN site s ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id "
            f"WHERE c.active = 1 AND r.status = 'active'"
        ).fetchall()
    regs, cams, left = defaultdict(dict), defaultdict(list), defaultdict(set)
    for cell, rid, rkey, ckey, camera_kind in rows:
        if kind is None or camera_kind == kind:
            regs[cell][rid] = rkey
            cams[cell].append(ckey)
        else:
            left[cell].add(rid)
    drawn = shown = cameras = 0
    for cell, keys in cams.items():
        n = len(regs[cell])
        if res == 9 and n < K:
            continue
        drawn += 1
        if n >= K and not 1 <= len(left[cell]) < K:
            shown += 1
            cameras += len(keys) + int(TABLE.perturbation(np.array([len(keys)]), np.array([sum(keys) % 256]))[0])
    return drawn, shown, cameras


def _summary_numbers(page) -> tuple[int, int, int]:
    text = page.inner_text("#coverage-summary")
    found = re.match(r"([\d,]+) cells drawn; ([\d,]+) show a number, with about ([\d,]+) cameras", text)
    return tuple(int(found.group(i).replace(",", "")) for i in (1, 2, 3))


def _wait_for_summary(page, drawn: int) -> None:
    wait_for_js(
        page, "document.querySelector('#coverage-summary').innerText.startsWith('%s cells drawn')" % f"{drawn:,}"
    )


def test_analyst_sees_coverage_that_matches_the_database(watched, live_server):
    page, base, db = watched.page, live_server["url"], live_server["db"]
    log_in(watched, base, *ANALYST)
    page.goto(f"{base}/coverage")
    page.wait_for_selector("#coverage-summary")
    page.wait_for_selector("#coverage-map path.leaflet-interactive")
    assert _summary_numbers(page) == _expected(db, 8)
    protection = page.inner_text("#coverage-protection")
    assert "adjusted to protect owners" in protection and "need not add up exactly" in protection
    # One "Cameras" choice and no date filter.
    assert [t for t in page.locator("#coverage-cameras option").all_inner_texts() if t] == [
        "All cameras",
        "Doorbell camera",
        "Fixed CCTV",
        "Dome camera",
        "Pan-tilt-zoom",
        "Other",
        "Outdoors",
        "Indoors",
        "Direction known",
        "Direction not known",
    ]
    assert page.locator("input[type=date]").count() == 0
    watched.screenshot("coverage-analyst")
    page.select_option("#coverage-res", "7")
    _wait_for_summary(page, _expected(db, 7)[0])
    assert _summary_numbers(page) == _expected(db, 7)
    page.select_option("#coverage-cameras", "kind:doorbell")
    expected = _expected(db, 7, "doorbell")
    wait_for_js(
        page,
        "document.querySelector('#coverage-summary').innerText.includes(' show a number, with about "
        "%s cameras')" % f"{expected[2]:,}",
    )
    assert _summary_numbers(page) == expected
    assert "fewer than 8 registrations" in page.inner_text("#coverage-legend")
    assert "kind=doorbell" in page.get_attribute("#coverage-export-cells-csv", "href")
    # The finest grid draws no cell with fewer than K registrations.
    page.select_option("#coverage-cameras", "all")
    page.select_option("#coverage-res", "9")
    expected = _expected(db, 9)
    wait_for_js(page, "document.querySelector('#coverage-summary').innerText.includes('not drawn at all')")
    assert _summary_numbers(page) == expected
    assert page.locator("#coverage-map .leaflet-overlay-pane path.leaflet-interactive").count() >= expected[0]
    watched.screenshot("coverage-analyst-res9")


def test_area_table_switches_between_districts_and_lsoas(watched, live_server, reference):
    page, base = watched.page, live_server["url"]
    log_in(watched, base, *ANALYST)
    page.goto(f"{base}/coverage")
    page.wait_for_selector("#coverage-areas .ag-row")
    note = page.inner_text("#coverage-areas-note")
    assert f"of {len(reference.districts):,} areas" in note and "adjusted to protect owners" in note
    page.get_by_label("Small areas (LSOA)").check()
    wait_for_js(page, "document.querySelector('#coverage-areas-note').innerText.includes('LSOA households')")
    assert f"of {len(reference.small_areas):,} areas" in page.inner_text("#coverage-areas-note")
    watched.screenshot("coverage-areas-lsoa")


def test_area_grid_shows_thousands_separators_and_whole_headers(watched, live_server):
    """Issue 18: Stoke-on-Trent's 110,400 households (Census 2021) read "110,400", rates per 1,000 one
    decimal, and every header is wrapped whole between words, never cut to "Registrations per 1,0…"."""
    page, base = watched.page, live_server["url"]
    log_in(watched, base, *ANALYST)
    page.goto(f"{base}/coverage")
    page.wait_for_selector("#coverage-areas .ag-row")
    row = page.locator("#coverage-areas .ag-row", has=page.locator("[col-id='name']", has_text="Stoke-on-Trent"))
    assert row.locator("[col-id='households']").inner_text() == "110,400"
    rate = row.locator("[col-id='registrations_per_1000']").inner_text()
    assert re.fullmatch(r"\d+\.\d", rate), rate
    headers = page.evaluate("""Array.from(document.querySelectorAll('#coverage-areas .ag-header-cell-text'))
        .map(e => [e.innerText, e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight])""")
    assert len(headers) == 9
    for text, scroll_w, client_w, scroll_h, client_h in headers:
        assert scroll_w <= client_w and scroll_h <= client_h, (text, scroll_w, client_w, scroll_h, client_h)
    assert "Registrations per 1,000 households" in [h[0].replace("\n", " ") for h in headers]
    assert "Ground in view (km²)" in [h[0].replace("\n", " ") for h in headers]
    watched.screenshot("coverage-area-grid-figures")
