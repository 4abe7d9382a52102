"""The auditor's page: the log filtered to one case shows the officer's search, contact reveal and
export with their reasons; the chain check passes, then fails naming a row changed in SQL; an
analyst's figure queries are in the log in plain words, and the burst flag shows its rows."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import time

import pytest
import sqlalchemy as sa

from dashboard.registry import audit, casework
from dashboard.registry.database import make_engine, session_factory, transaction
from dashboard.registry.models import Camera, Registrant, Site, User, utcnow
from tests.browser.conftest import ARTIFACTS as ARTIFACTS_DIR
from tests.browser.conftest import log_in

AUDITOR = ("auditor.demo", "demo-auditor-2026")
OFFICER = "officer.demo"
SEARCH_REASON = "Burglary at a house in this street overnight, suspects left on foot"
EXPORT_REASON = "To phone the owners who have not replied yet"
APPEND_ONLY = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
)


def officer_case(db: str, case_ref: str, officer_name: str = OFFICER) -> dict[str, int]:
    """The demo officer's work on one case, through the same casework functions the search and
    cases pages call: a search, a contact reveal, a footage request and the case's CSV export."""
    engine = make_engine(f"sqlite:///{db}")
    try:
        with transaction(session_factory(engine)) as s:
            user = s.scalar(sa.select(User).where(User.username == officer_name))
            officer = audit.Actor(user.id, user.username, user.role)
            camera_id, lat, lon = s.execute(
                sa.select(Camera.id, Site.lat, Site.lon)
                .join(Site, Site.id == Camera.site_id)
                .join(Registrant, Registrant.id == Site.registrant_id)
                .where(Registrant.status == "active", Camera.active.is_(True), Site.lat.is_not(None))
                .order_by(Camera.id)
                .limit(1)
            ).one()
            now = utcnow()
            search = casework.log_search(
                s,
                officer,
                case_ref=case_ref,
                reason=SEARCH_REASON,
                lat=lat,
                lon=lon,
                radius_m=200,
                incident_at=now - dt.timedelta(hours=3),
                result_count=1,
                source="page",
                camera_ids=[camera_id],
            )
            casework.reveal_contacts(s, officer, case_ref=case_ref, reason=SEARCH_REASON, camera_ids=[camera_id])
            casework.create_requests(
                s,
                officer,
                case_ref=case_ref,
                reason=SEARCH_REASON,
                camera_ids=[camera_id],
                incident_lat=lat,
                incident_lon=lon,
                incident_district_code=None,
                crime_category="Burglary",
                incident_from=now - dt.timedelta(hours=3),
                incident_to=now - dt.timedelta(hours=2),
                now=now,
            )
            casework.export_case_csv(s, officer, case_ref=case_ref, reason=EXPORT_REASON)
            return {"search": search.id}
    finally:
        engine.dispose()


@pytest.mark.browser
def test_auditor_reviews_one_case_and_the_chain_check_finds_a_tampered_row(watched, live_server):
    page, base, db = watched.page, live_server["url"], live_server["db"]
    case_ref = f"CR-2026-{random.Random().randint(100000, 999999)}"
    rows = officer_case(db, case_ref)

    log_in(watched, base, *AUDITOR)
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_selector("#audit-showing >> text=newest first")
    case = page.get_by_label("Case reference")
    case.fill(case_ref.lower())  # case references are matched in capitals
    case.press("Enter")
    page.wait_for_selector("#audit-showing >> text=Rows 1–4 of 4, newest first")
    log = page.locator("#audit-log")
    for text in (
        "Camera search",
        "Owner contact details shown",
        "Footage request sent",
        "Case contacts exported (CSV)",
        SEARCH_REASON,
        EXPORT_REASON,
        OFFICER,
        case_ref,
    ):
        log.get_by_text(text).first.wait_for()
    assert log.get_by_text(SEARCH_REASON).count() == 3  # the search, the reveal and the request
    summary = page.locator("#audit-summary")
    summary.get_by_text(OFFICER).wait_for()
    page.wait_for_selector("#audit-map-note >> text=1 search placed by its centre in 1 of")

    # The chain check passes, and is itself recorded.
    page.get_by_role("button", name="Check the log's integrity").click()
    page.wait_for_selector("#audit-check-ok >> text=The chain is intact")

    # Someone with database access drops the guard and changes the search's reason.
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER audit_event_no_update")
        conn.execute("UPDATE audit_event SET reason = 'routine patrol' WHERE id = ?", (rows["search"],))
    try:
        page.get_by_role("button", name="Check the log's integrity").click()
        broken = page.wait_for_selector(f"#audit-check-broken >> text=First broken row: {rows['search']}")
        result = page.locator("#audit-check-result").inner_text()
        assert f"First broken row: {rows['search']}" in broken.inner_text()
        assert "this row was edited after it was written" in result and f"{OFFICER}, search" in result
        assert "Previous check:" in result and "intact" in result
        # The grids draw only what is on screen: make the window as tall as the page for the picture.
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": 1366, "height": height})
        page.locator("#audit-log").get_by_text(EXPORT_REASON).wait_for()
        page.locator("#audit-summary").get_by_text(OFFICER).wait_for()
        watched.screenshot("audit-auditor")
    finally:  # put the row and the guard back, so the rest of the session sees an intact log
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE audit_event SET reason = ? WHERE id = ?", (SEARCH_REASON, rows["search"]))
            conn.execute(APPEND_ONLY)
    with sqlite3.connect(db) as conn:
        checks = conn.execute(
            "SELECT username, detail FROM audit_event WHERE action = 'audit_verified' ORDER BY id"
        ).fetchall()
    assert [c[0] for c in checks[-2:]] == [AUDITOR[0]] * 2
    assert '"intact":true' in checks[-2][1] and f'"first_broken_id":{rows["search"]}' in checks[-1][1]


@pytest.mark.browser
def test_an_analysts_figures_are_in_the_log_and_the_burst_flag_shows_its_rows(browser, live_server):
    """An analyst opens the coverage page and the API; the auditor finds both rows in plain words,
    the analyst's figure queries counted in the summary, and the demo's planted burst of uptake
    queries among the flags with the rows behind it."""
    base = live_server["url"]
    with sqlite3.connect(live_server["db"]) as conn:
        before = conn.execute("SELECT coalesce(max(id), 0) FROM audit_event").fetchone()[0]
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    try:
        page = context.new_page()
        page.goto(f"{base}/login")
        page.get_by_label("Username").fill("analyst.demo")
        page.get_by_label("Password").fill("demo-analyst-2026")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_selector("#shell-user")
        page.goto(f"{base}/coverage")  # its layout computes the figures: one "page opened" query
        page.wait_for_selector("#coverage-res")
        assert page.request.get(f"{base}/api/v1/coverage/cells?res=7").status == 200
    finally:
        context.close()
    # The auditor's page reads the log once per filter: wait until the page's figure queries are in it
    # (each is logged as its callback answers; a loaded machine answers late).
    deadline = time.monotonic() + 30
    while True:
        with sqlite3.connect(live_server["db"]) as conn:
            logged = conn.execute(
                "SELECT count(*) FROM audit_event WHERE username = 'analyst.demo' AND action = "
                "'aggregate_query' AND detail LIKE '%\"page\":\"/coverage\"%' AND id > ?",
                (before,),
            ).fetchone()[0]
        if logged:
            break
        if time.monotonic() > deadline:
            with sqlite3.connect(live_server["db"]) as conn:
                rows = conn.execute(
                    "SELECT action, username, detail FROM audit_event WHERE id > ?", (before,)
                ).fetchall()
            raise AssertionError(f"the coverage page's figure queries never reached the audit log: {rows}")
        time.sleep(0.2)

    context = browser.new_context(viewport={"width": 1366, "height": 2400}, locale="en-GB")
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/login")
        page.get_by_label("Username").fill(AUDITOR[0])
        page.get_by_label("Password").fill(AUDITOR[1])
        page.get_by_role("button", name="Log in").click()
        page.wait_for_selector("#shell-user")
        page.goto(f"{base}/audit")
        page.wait_for_selector("#audit-showing >> text=newest first")
        # Choose the user; on a loaded machine the dropdown's options may not be filtered yet when Enter
        # is pressed (nothing is chosen, and the log's newest rows look the same), so check it took.
        for _ in range(5):
            page.click("#audit-user")
            page.keyboard.type("analyst.demo")
            page.keyboard.press("Enter")
            page.keyboard.press("Escape")
            if "analyst.demo" in page.locator("#audit-user").inner_text():
                break
            page.wait_for_timeout(1000)
        assert "analyst.demo" in page.locator("#audit-user").inner_text()
        log = page.locator("#audit-log")
        log.get_by_text("API coverage/cells: res 7").wait_for()
        log.get_by_text("Coverage: page opened").first.wait_for()
        # (each row's action, "Figures asked for", is in a column the grid may not draw at this width)
        summary = page.locator("#audit-summary")
        summary.get_by_text("Figure queries").wait_for()
        summary.get_by_text("analyst.demo").wait_for(timeout=60_000)
        page.get_by_role("button", name="Check the log's integrity").click()  # any row written since still chains
        page.wait_for_selector("#audit-check-ok >> text=The chain is intact")

        page.goto(f"{base}/audit")  # everyone again, for the flags
        flags = page.locator("#audit-flags")
        burst = flags.get_by_text("Burst of near-identical figure queries")
        burst.first.wait_for(timeout=60_000)
        burst.first.click()
        rows = page.locator("#audit-flag-rows")
        rows.get_by_text("API metrics/uptake: from").first.wait_for()
        assert "every setting the same but 'to'" in flags.inner_text()
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS_DIR / "audit-figure-queries.png"), full_page=True)
    finally:
        context.close()
    assert errors == []
