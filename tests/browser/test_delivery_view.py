"""The officer's side of delivery in a real browser: the search page's send confirmation says how the
requests reach the owners (the demo sets up no email or text service: recorded, not delivered), and
My cases follows each request (delivery, urgent notice, link opened, answer, files) and refreshes by
itself when the owner's side changes."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_search import OFFICER, _brute_force, _busiest_site

REASON = "Burglary reported at a house in this street overnight"


def _db_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


@pytest.mark.browser
def test_the_officer_sees_delivery_and_the_owners_answer_without_reloading(watched, live_server):
    page, db, base = watched.page, live_server["db"], live_server["url"]
    lat, lon = _busiest_site(db)
    case_ref = f"CR-2026-{random.Random().randint(100000, 999999)}"
    log_in(watched, base, *OFFICER)
    page.get_by_role("link", name="Search").click()
    page.wait_for_selector("#search-map")
    page.get_by_label("Where").fill(f"{lat:.6f}, {lon:.6f}")
    page.get_by_role("button", name="Find").click()
    page.wait_for_selector(f"#search-location-msg >> text=Incident point: {lat:.5f}")
    # The incident as long ago as the shortest footage kept by a camera there, less 12 hours: that
    # camera's footage is at risk (kept until 12 hours from now) whatever the day's demo holds.
    near = list(_brute_force(db, lat, lon, 200))
    with sqlite3.connect(db) as conn:
        (shortest,) = conn.execute(
            f"SELECT min(retention_days) FROM camera WHERE retention_days >= 1 AND public_id IN ({','.join('?' * len(near))})",
            near,
        ).fetchone()
    assert shortest is not None, "no camera near the site says how long it keeps footage"
    when = (dt.datetime.now() - dt.timedelta(days=shortest) + dt.timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("When (UK time)").fill(when)
    page.get_by_label("Case reference").fill(case_ref)
    page.get_by_label("Reason for this search").fill(REASON)
    page.get_by_role("button", name="Search cameras").click()
    page.wait_for_selector("#search-result-summary")

    for index in (0, 1):
        page.locator(f"#search-grid .ag-row[row-index='{index}'] input[type=checkbox]").first.click()
    # The urgent notice is offered only when a selected camera's footage may be gone within 48 hours.
    footage = [page.locator(f"#search-grid .ag-row[row-index='{i}'] [col-id=retention]").inner_text() for i in (0, 1)]
    at_risk = any(f.startswith(("At risk", "Likely overwritten")) for f in footage)
    notice = page.get_by_label("Send an urgent 'please keep your footage' notice first")
    if at_risk:
        notice.wait_for(state="visible")
    else:
        page.wait_for_timeout(500)  # the selection's callback has answered
        assert not notice.is_visible()
        page.locator("#search-grid .ag-row", has_text="At risk").first.locator("input[type=checkbox]").first.click()
        notice.wait_for(state="visible")
    notice.check()
    page.get_by_label("What the owner is told about the incident (optional)").fill(
        "A bicycle was taken from a front garden."
    )
    page.get_by_role("button", name="Send footage requests").click()
    page.wait_for_selector("#search-request-done")
    done = page.locator("#search-request-done").inner_text()
    assert f"Case {case_ref}: {2 if at_risk else 3} footage requests recorded." in done
    assert "no email or text service is set up" in done or "asked to be phoned" in done
    page.locator("#search-request-done").scroll_into_view_if_needed()
    watched.screenshot("delivery-search-summary")
    with sqlite3.connect(db) as conn:
        shared = conn.execute(
            "SELECT DISTINCT r.shared_detail FROM footage_response r JOIN footage_request q "
            "ON q.response_id = r.id WHERE q.case_ref = ?",
            (case_ref,),
        ).fetchall()
    assert shared == [("A bicycle was taken from a front garden.",)]

    page.get_by_role("link", name="Open my cases").click()
    page.wait_for_selector("#cases-list .ag-row")
    page.locator("#cases-list .ag-row", has_text=case_ref).locator("input[type=checkbox]").first.click()
    page.wait_for_selector("#cases-requests .ag-row")
    first = page.locator("#cases-requests .ag-row[row-index='0']")
    request_id = first.locator("[col-id=request_id]").inner_text()
    delivery = first.locator("[col-id=delivery]").inner_text()
    assert delivery.startswith(("Not delivered", "Not sent: the owner asked to be phoned"))

    # The owner's side changes (as if the message had gone and the owner had answered): the grid
    # follows within its 10-second refresh, without a reload.
    now = dt.datetime.now(dt.UTC)
    with sqlite3.connect(db, timeout=10) as conn:
        (response_id,) = conn.execute(
            "SELECT response_id FROM footage_request WHERE public_id = ?", (request_id,)
        ).fetchone()
        conn.execute(
            "INSERT INTO outbox_message (response_id, kind, channel, priority, state, attempts, "
            "next_attempt_at, created_at, sent_at) VALUES (?, 'request', 'email', 1, 'sent', 1, ?, ?, ?)",
            (response_id, _db_time(now), _db_time(now), _db_time(now)),
        )
        conn.execute(
            "UPDATE footage_response SET first_opened_at = ?, answer = 'nothing', answered_at = ? WHERE id = ?",
            (_db_time(now), _db_time(now), response_id),
        )
    page.wait_for_selector(
        "#cases-requests .ag-row[row-index='0'] [col-id=delivery] >> text=Sent by email at", timeout=15_000
    )
    assert "Nothing recorded" in first.locator("[col-id=answer]").inner_text()
    assert first.locator("[col-id=opened]").inner_text() != "–"
    watched.screenshot("delivery-my-cases")

    # The urgent notice from My cases: the demo has no service to send it with, and says so.
    page.locator("#cases-requests .ag-row[row-index='1'] input[type=checkbox]").first.click()
    page.get_by_role("button", name="Send urgent 'keep your footage' notice").click()
    page.wait_for_selector("#cases-preserve-msg .alert")
    said = page.locator("#cases-preserve-msg").inner_text()
    assert "ring" in said.lower() or "already answered" in said  # the second camera may be the same owner's
