"""Acceptance for oversight and accounts (issue 7), across three browsers at once: an admin
creates an officer, who logs in and works a case; the auditor filters the log to that case and
sees the search, reveal and export with their reasons; the admin disables the officer, whose
very next request is refused and lands on the login page saying why; the auditor sees the
disabling in the log and the retention summary on the same page."""

from __future__ import annotations

import random
import sqlite3

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import PageWatch, log_in
from tests.browser.test_audit import AUDITOR, EXPORT_REASON, SEARCH_REASON, officer_case

ADMIN = ("admin.demo", "demo-admin-2026")


def _watch(browser, live_server) -> PageWatch:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("dialog", lambda d: d.accept())  # the accounts page confirms a disable
    return PageWatch(page, live_server["url"])


@pytest.mark.browser
def test_admin_disables_an_audited_officer_whose_next_request_is_refused(watched, browser, live_server):
    base, db = live_server["url"], live_server["db"]
    admin = watched
    admin.page.on("dialog", lambda d: d.accept())
    name = f"pc.accept{random.Random().randint(1000, 9999)}"
    case_ref = f"CR-2026-{random.Random().randint(100000, 999999)}"

    # The admin creates the officer; the generated password is shown once.
    log_in(admin, base, *ADMIN)
    admin.page.goto(f"{base}/accounts")
    admin.page.get_by_label("Username").fill(name)
    admin.page.get_by_role("button", name="Create").click()
    password = admin.page.wait_for_selector("#accounts-generated-password").inner_text().strip()
    assert len(password) >= 12

    # The officer logs in in another browser and works a case (search, reveal, request, export).
    officer = _watch(browser, live_server)
    log_in(officer, base, name, password)
    officer.page.goto(f"{base}/cases")
    officer.page.wait_for_selector("text=Cases with footage requests")
    officer_case(db, case_ref, officer_name=name)

    # The auditor filters the log to the case and sees the work with its reasons.
    auditor = _watch(browser, live_server)
    log_in(auditor, base, *AUDITOR)
    auditor.page.goto(f"{base}/audit")
    auditor.page.wait_for_selector("#audit-showing >> text=newest first")
    auditor.page.get_by_label("Case reference").fill(case_ref)
    auditor.page.get_by_label("Case reference").press("Enter")
    auditor.page.wait_for_selector("#audit-showing >> text=Rows 1–4 of 4, newest first")
    log = auditor.page.locator("#audit-log")
    for text in (
        "Camera search",
        "Owner contact details shown",
        "Case contacts exported (CSV)",
        SEARCH_REASON,
        EXPORT_REASON,
        name,
    ):
        log.get_by_text(text).first.wait_for()

    # The admin disables the officer: one open session ends at once.
    admin.page.reload()
    admin.page.locator(".ag-row", has_text=name).click()
    admin.page.wait_for_selector(f"#accounts-panel-title >> text={name}")
    admin.page.get_by_role("button", name="Disable").click()
    admin.page.wait_for_selector("text=User disabled; 1 open session ended and API tokens revoked.")

    # The officer's next request (a page update) is refused and the browser lands on the login page. My cases
    # refreshes its requests every REFRESH_MS, so that update may come first and move the page on before the
    # click: either way the next request is the one refused.
    if "/login" not in officer.page.url:
        try:
            officer.page.locator("#cases-export").click(timeout=5_000)
        except PlaywrightTimeout:
            pass  # the refresh got there first and the page is leaving: the wait below says where it lands
    officer.page.wait_for_url("**/login**")
    officer.page.wait_for_selector("text=Your account has been disabled")
    officer.page.goto(f"{base}/cases")
    officer.page.wait_for_url("**/login**")
    refused = [e for e in officer.console_errors if "401" in e]
    assert refused and len(refused) == len(officer.console_errors), officer.console_errors
    officer.screenshot("oversight-officer-refused")

    # The auditor sees the disabling in the log, and the retention summary.
    auditor.page.get_by_label("Case reference").fill("")
    auditor.page.get_by_label("Case reference").press("Enter")
    auditor.page.locator("#audit-log").get_by_text("User disabled").first.wait_for()
    auditor.page.wait_for_selector("#audit-retention >> text=Kept")
    auditor.screenshot("oversight-auditor")
    assert auditor.console_errors == [] and auditor.external == []
    admin.screenshot("oversight-admin")
    with sqlite3.connect(db) as conn:
        (active,) = conn.execute("SELECT active FROM app_user WHERE username = ?", (name,)).fetchone()
        ended = conn.execute(
            "SELECT end_reason FROM login_session s JOIN app_user u ON u.id = s.user_id WHERE u.username = ?", (name,)
        ).fetchall()
        disabled = conn.execute(
            "SELECT username, detail FROM audit_event WHERE action = 'user_disabled' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert active == 0 and ended == [("disabled",)]
    assert disabled[0] == ADMIN[0] and f'"username":"{name}"' in disabled[1]
    for w in (officer, auditor):
        w.page.context.close()
