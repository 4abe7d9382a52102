"""A project lead opens the uptake page, narrows it to one district and a date range, and the
headline and the district's weekly bars agree with a direct SQL count; console clean."""
from __future__ import annotations

import datetime as dt
import re
import sqlite3
from zoneinfo import ZoneInfo

from tests.browser.conftest import log_in, wait_for_js

LEAD = ("lead.demo", "demo-lead-2026")
LONDON = ZoneInfo("Europe/London")


def _uk_days(db: str, district: str) -> list[dt.date]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT r.consent_at FROM registrant r JOIN site s ON s.registrant_id = r.id "
                            "WHERE s.district_code = ?", (district,)).fetchall()
    return [dt.datetime.fromisoformat(c).replace(tzinfo=dt.timezone.utc).astimezone(LONDON).date() for (c,) in rows]


def test_lead_narrows_uptake_to_a_district(watched, live_server, reference):
    page, base, db = watched.page, live_server["url"], live_server["db"]
    log_in(watched, base, *LEAD)
    page.goto(f"{base}/uptake")
    page.wait_for_selector("#uptake-headline p")
    page.wait_for_selector("#uptake-timeline .main-svg")
    watched.screenshot("uptake-lead")

    district = reference.districts.sort_values("households", ascending=False).iloc[0]
    first, last = dt.date(2026, 4, 13), dt.date(2026, 11, 1)
    page.select_option("#uptake-district", district["code"])
    page.fill("#uptake-first", first.isoformat())
    page.fill("#uptake-last", last.isoformat())
    page.keyboard.press("Tab")
    days = [d for d in _uk_days(db, district["code"]) if first <= d <= last]
    expected = f"{len(days):,} registrations" if len(days) >= 8 else "fewer than 8 registrations"
    wait_for_js(page, "document.querySelector('#uptake-headline').innerText.startsWith(%r)" % expected)
    headline = page.inner_text("#uptake-headline")
    assert "1 November 2026" in headline and "13 April 2026" in headline
    assert re.search(r"Staff pilot from 13 April 2026; public launch 06 July 2026", headline)
    assert page.locator("#uptake-district-table tbody tr").count() == len(reference.districts)
    watched.screenshot("uptake-lead-district")


def test_lead_opens_the_weekly_report_and_downloads_a_table(watched, live_server, tmp_path):
    page, base = watched.page, live_server["url"]
    log_in(watched, base, *LEAD)
    page.goto(f"{base}/uptake")
    page.wait_for_selector("#uptake-report")
    with page.expect_download() as download:
        page.click("#uptake-csv-weeks")
    path = tmp_path / "weeks.csv"
    download.value.save_as(path)
    lines = path.read_text().splitlines()
    assert lines[0] == "week_starting,registrations,cameras,total" and len(lines) == 13
    with sqlite3.connect(live_server["db"]) as conn:
        days = [dt.datetime.fromisoformat(c).replace(tzinfo=dt.timezone.utc).astimezone(LONDON).date()
                for (c,) in conn.execute("SELECT consent_at FROM registrant")]
    for line in lines[1:]:
        start, registrations, _cameras, total = line.split(",")
        monday = dt.date.fromisoformat(start)
        sunday = monday + dt.timedelta(days=6)
        assert registrations == "" or int(registrations) == sum(monday <= d <= sunday for d in days) >= 8
        assert total == "" or int(total) == sum(d <= sunday for d in days)
    page.goto(base + page.get_attribute("#uptake-report", "href"))
    page.wait_for_selector("svg.chart")
    assert "Community Camera Registry: weekly report" in page.inner_text("h1")
    so_far = page.locator(".figures li", has_text="Registrations so far").inner_text()
    last_total = [line.split(",")[3] for line in lines[1:] if line.split(",")[3]][-1]
    assert f"{int(last_total):,}" in so_far  # the report's total is the CSV's last published total
    assert page.locator("table").count() >= 3
    watched.screenshot("uptake-weekly-report")
