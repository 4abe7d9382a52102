"""A project lead opens the uptake page, narrows it to one district and a date range (widened to whole
weeks), and the headline agrees with figures worked out by hand from the database (record keys,
the p-table's rows); per day is refused for a district; the weekly report's CSV agrees too; console
clean."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from dashboard.analytics.disclosure import Disclosure, PTable
from tests.browser.conftest import log_in, wait_for_js
from tests.integration.test_uptake_page import Truth, by_table, difference

LEAD = ("lead.demo", "demo-lead-2026")
TABLE = PTable.build(8, 3, 2.0)  # the settings' defaults, as the live server runs


def _truth(db: str) -> Truth:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        return Truth(engine)
    finally:
        engine.dispose()


def test_lead_narrows_uptake_to_a_district(watched, live_server, reference):
    page, base, db = watched.page, live_server["url"], live_server["db"]
    log_in(watched, base, *LEAD)
    page.goto(f"{base}/uptake")
    page.wait_for_selector("#uptake-headline p")
    page.wait_for_selector("#uptake-timeline .main-svg")
    assert Disclosure(TABLE).describe() in page.inner_text("#uptake-method-note")
    assert "need not add up exactly" in page.inner_text("#uptake-method-note")
    watched.screenshot("uptake-lead")
    # What became of the footage: the card is drawn with its three tables; the demo has no uploads
    # yet, so its counts of files are worded as the other cards word a suppressed count.
    page.wait_for_selector("#uptake-footage-files")
    card = page.inner_text("#uptake-footage")
    assert "what officers decided about the files" in card
    for row in (
        "Accepted as exhibits",
        "Awaiting a decision",
        "Does not show anything relevant",
        "A file was accepted as an exhibit all the same",
    ):
        assert row in card, row
    assert "fewer than 8" in page.inner_text("#uptake-footage-files")
    page.locator("#uptake-footage").scroll_into_view_if_needed()
    watched.screenshot("uptake-footage-card")

    district = reference.districts.sort_values("households", ascending=False).iloc[0]
    page.select_option("#uptake-district", district["code"])
    page.fill("#uptake-first", "2026-04-15")  # a Wednesday: widened to Monday 13 April
    page.fill("#uptake-last", "2026-11-01")
    page.keyboard.press("Tab")
    truth = _truth(db)
    made = difference(
        TABLE,
        truth.registered(dt.date(2026, 4, 12), district["code"]),
        truth.registered(dt.date(2026, 11, 1), district["code"]),
    )
    expected = f"{made:,} registrations" if made is not None else "fewer than 8 registrations"
    wait_for_js(page, "document.querySelector('#uptake-headline').innerText.startsWith(%r)" % expected)
    headline = page.inner_text("#uptake-headline")
    assert "widened to Monday 13 April 2026 to Sunday 01 November 2026" in headline
    assert "Staff pilot from 13 April 2026; public launch 06 July 2026" in headline
    assert page.locator("#uptake-district-table tbody tr").count() == len(reference.districts)
    watched.screenshot("uptake-lead-district")

    page.select_option("#uptake-period", "day")
    page.wait_for_selector("#uptake-refused")
    assert page.inner_text("#uptake-refused") == "Days are shown for the whole force only; choose Week."
    page.select_option("#uptake-district", "all")
    wait_for_js(page, "document.querySelector('#uptake-refused') === null")
    page.wait_for_selector("#uptake-headline p")
    watched.screenshot("uptake-lead-force-days")


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
    truth = _truth(live_server["db"])
    for line in lines[1:]:
        start, registrations, _cameras, total = line.split(",")
        sunday = dt.date.fromisoformat(start) + dt.timedelta(days=6)
        bar = difference(TABLE, truth.registered(sunday - dt.timedelta(days=7)), truth.registered(sunday))
        assert registrations == ("" if bar is None else str(bar))
        published = by_table(TABLE, *truth.registered(sunday))
        assert total == ("" if published is None else str(published))
    page.goto(base + page.get_attribute("#uptake-report", "href"))
    page.wait_for_selector("svg.chart")
    assert "Community Camera Registry: weekly report" in page.inner_text("h1")
    so_far = page.locator(".figures li", has_text="Registrations so far").inner_text()
    last_total = [line.split(",")[3] for line in lines[1:] if line.split(",")[3]][-1]
    assert f"{int(last_total):,}" in so_far  # the report's total is the CSV's last published total
    assert "need not add up exactly" in page.inner_text("body")
    assert page.locator("table").count() >= 3
    watched.screenshot("uptake-weekly-report")
