"""A project lead creates a campaign, sees its link and downloads its QR code; the link counts a scan."""

from __future__ import annotations

import sqlite3

from tests.browser.conftest import log_in

LEAD = ("lead.demo", "demo-lead-2026")


def test_lead_creates_a_campaign_and_downloads_its_qr_code(watched, live_server):
    page, base = watched.page, live_server["url"]
    log_in(watched, base, *LEAD)
    page.goto(f"{base}/campaigns")
    page.get_by_label("Name").fill("Library posters winter")
    page.get_by_label("Channel").select_option("poster")
    page.get_by_role("button", name="Create").click()
    page.wait_for_selector("#campaigns-created")
    assert f"{base}/r/library-posters-winter" in page.inner_text("#campaigns-table")
    note = page.inner_text("#campaigns-method-note")
    assert note.startswith("Figures are slightly adjusted to protect owners") and "fewer than 8" in note
    watched.screenshot("campaigns-lead")
    with page.expect_download() as download:
        page.click('#campaigns-table a[href="/campaigns/library-posters-winter/qr.png"]')
    assert download.value.suggested_filename == "qr-library-posters-winter.png"
    # The printed code leads to the registration form and counts one scan.
    page.goto(f"{base}/r/library-posters-winter")
    page.wait_for_url("**/register?c=library-posters-winter")
    with sqlite3.connect(live_server["db"]) as conn:
        scans = conn.execute(
            "SELECT sum(scans) FROM campaign_daily_count d JOIN campaign c ON c.id = d.campaign_id "
            "WHERE c.slug = 'library-posters-winter'"
        ).fetchone()[0]
    assert scans == 1
