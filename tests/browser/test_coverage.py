"""An analyst looks at coverage: the cell map and its summary match a direct SQL count, the
controls redraw it, and small cells show no number."""
from __future__ import annotations

import re
import sqlite3

from tests.browser.conftest import log_in, wait_for_js

ANALYST = ("analyst.demo", "demo-analyst-2026")


def _sql_cells(db: str, res: int, kind: str | None = None) -> tuple[int, int]:
    """Cells with a camera of the kind, and how many may be shown: at least 8 registrations, and
    the registrations with a camera of another kind (what the filter leaves out) none or at least 8."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            f"SELECT s.h3_r{res}, count(DISTINCT CASE WHEN c.kind = ?1 OR ?1 IS NULL THEN s.registrant_id END), "
            f"count(DISTINCT CASE WHEN c.kind != ?1 THEN s.registrant_id END) FROM camera c "
            f"JOIN site s ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id "
            f"WHERE c.active = 1 AND r.status = 'active' GROUP BY s.h3_r{res}", (kind,)).fetchall()
    rows = [(cell, regs, left) for cell, regs, left in rows if regs > 0]
    return len(rows), sum(1 for _, regs, left in rows if regs >= 8 and not 1 <= left < 8)


def _summary_numbers(page) -> tuple[int, int]:
    text = page.inner_text("#coverage-summary")
    found = re.match(r"([\d,]+) cells have registered cameras; ([\d,]+) are shown", text)
    return int(found.group(1).replace(",", "")), int(found.group(2).replace(",", ""))


def test_analyst_sees_coverage_that_matches_the_database(watched, live_server):
    page, base, db = watched.page, live_server["url"], live_server["db"]
    log_in(watched, base, *ANALYST)
    page.goto(f"{base}/coverage")
    page.wait_for_selector("#coverage-summary")
    page.wait_for_selector("#coverage-map path.leaflet-interactive")
    assert _summary_numbers(page) == _sql_cells(db, 8)
    watched.screenshot("coverage-analyst")
    page.select_option("#coverage-res", "7")
    wait_for_js(page, "document.querySelector('#coverage-summary').innerText.startsWith('%s ')"
                           % f"{_sql_cells(db, 7)[0]:,}")
    assert _summary_numbers(page) == _sql_cells(db, 7)
    page.select_option("#coverage-kind", "doorbell")
    expected = _sql_cells(db, 7, "doorbell")
    wait_for_js(page, "document.querySelector('#coverage-summary').innerText.startsWith('%s ')"
                           % f"{expected[0]:,}")
    assert _summary_numbers(page) == expected
    assert "fewer than 8 registrations" in page.inner_text("#coverage-legend")


def test_area_table_switches_between_districts_and_lsoas(watched, live_server, reference):
    page, base = watched.page, live_server["url"]
    log_in(watched, base, *ANALYST)
    page.goto(f"{base}/coverage")
    page.wait_for_selector("#coverage-areas .ag-row")
    assert f"of {len(reference.districts):,} areas" in page.inner_text("#coverage-areas-note")
    page.get_by_label("Small areas (LSOA)").check()
    wait_for_js(page, "document.querySelector('#coverage-areas-note').innerText.includes('LSOA households')")
    assert f"of {len(reference.small_areas):,} areas" in page.inner_text("#coverage-areas-note")
    watched.screenshot("coverage-areas-lsoa")
