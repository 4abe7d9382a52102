"""A camera owner's whole journey on the public pages, on a phone and on a desktop: scan a campaign
link, register two cameras (postcode, pin moved by keyboard and by mouse), keep the private link,
change a camera, withdraw. Every public page passes axe-core with no serious or critical issue."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SLUG = "staff-intranet-pilot"
POSTCODE = "ST16 2DH"
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


def _axe(watch, name: str) -> None:
    """Run axe-core (WCAG 2.0-2.2 A/AA rules) on the current page; no serious or critical issue."""
    page = watch.page
    # Evaluated by Playwright, not added as an inline <script>, which the app's CSP refuses.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"
    )
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"axe on {name}: {bad}"


def _campaign(db: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT OR IGNORE INTO campaign (slug, name, channel, created_at) VALUES (?, ?, ?, ?)",
            (SLUG, "Staff intranet pilot", "internal_message", "2026-11-01 09:00:00.000000"),
        )


def _counts(db: str) -> tuple[int, int, int]:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(scans), 0), coalesce(sum(form_starts), 0), coalesce(sum(completions), 0) "
            "FROM campaign_daily_count d JOIN campaign c ON c.id = d.campaign_id WHERE c.slug = ?",
            (SLUG,),
        ).fetchone()
    return tuple(row)


def _fill_camera(
    page,
    i: int,
    kind: str,
    placement: str,
    recording: str,
    *,
    compass: str = "",
    retention: str = "",
    overlooks: tuple[str, ...] = (),
) -> None:
    page.select_option(f"#cam-{i}-kind", kind)
    page.check(f"#cam-{i}-placement-{placement}")
    page.check(f"#cam-{i}-recording_mode-{recording}")
    if compass:
        page.select_option(f"#cam-{i}-compass", compass)
    if retention:
        page.fill(f"#cam-{i}-retention_days", retention)
    for code in overlooks:
        page.check(f"#cam-{i}-overlooks-{code}")


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_owner_registers_changes_and_withdraws(browser, live_server, device):
    from tests.browser.conftest import PageWatch, wait_for_js

    base, db = live_server["url"], live_server["db"]
    _campaign(db)
    viewport = {"width": 390, "height": 844} if device == "phone" else {"width": 1366, "height": 900}
    # Each device has its own browser string, as real ones do: the app counts a campaign scan once
    # per visitor (address and browser) and day, and both devices run here from one address.
    context = browser.new_context(
        viewport=viewport,
        locale="en-GB",
        is_mobile=device == "phone",
        has_touch=device == "phone",
        user_agent=PHONE_UA if device == "phone" else None,
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = PageWatch(page, base)
    before = _counts(db)
    name, email = f"Robin Testowner {device}", f"robin.{device}@example.org"

    # The campaign's QR code leads here, through /r/<slug>.
    page.goto(f"{base}/r/{SLUG}")
    page.wait_for_url("**/register?c=*")
    assert page.get_by_role("heading", name="Before you start: what happens to your details").is_visible()
    _axe(watch, "register (empty)")

    # Sending it empty: a summary at the top, a message on each field, nothing stored.
    page.click("#register-submit")
    page.wait_for_selector("#error-summary")
    # (the page moves focus to the summary as it loads: on a loaded machine just after it appears)
    wait_for_js(page, "document.activeElement && document.activeElement.id === 'error-summary'", 10_000)
    assert "Enter your full name." in page.inner_text("#name-error")
    watch.screenshot(f"register-errors-{device}")
    _axe(watch, "register (errors)")

    page.fill("#name", name)
    page.fill("#email", email)
    page.check("#preferred_channel-email")
    page.check("#site_kind-home")
    page.fill("#address", "7 Testing Lane")
    page.fill("#postcode", POSTCODE)
    page.click("#postcode-find")
    page.wait_for_selector("#pin-map .leaflet-marker-icon")
    start = (float(page.input_value("#lat")), float(page.input_value("#lon")))
    # Keyboard: select the pin, move it north three steps (2 m each).
    page.focus("#pin-map .leaflet-marker-icon")
    for _ in range(3):
        page.keyboard.press("ArrowUp")
    after_keys = (float(page.input_value("#lat")), float(page.input_value("#lon")))
    assert after_keys[0] - start[0] == pytest.approx(3 * 2 / 111320, rel=0.05) and after_keys[1] == start[1]
    assert "north" in page.inner_text("#pin-status")
    # Mouse (or finger): drag the pin a little east.
    marker = page.locator("#pin-map .leaflet-marker-icon")
    marker.scroll_into_view_if_needed()
    box = marker.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 25, y, steps=5)
    page.mouse.up()
    pinned = (float(page.input_value("#lat")), float(page.input_value("#lon")))
    assert pinned[1] > after_keys[1]

    _fill_camera(page, 0, "doorbell", "outdoor", "motion", compass="NE", retention="30", overlooks=("street",))
    page.click("#add-camera")  # a round trip: the page comes back with two cameras and what was typed
    page.wait_for_selector("#cam-1-kind")
    assert page.input_value("#name") == name and page.input_value("#lat") != ""
    _fill_camera(page, 1, "fixed", "outdoor", "continuous", retention="14", overlooks=("driveway", "garden"))
    page.check("#consent")
    watch.screenshot(f"register-filled-{device}")
    page.click("#register-submit")
    page.wait_for_selector("#registration-reference")
    reference = page.inner_text("#registration-reference")
    manage_url = page.get_attribute("#manage-link", "href")
    watch.screenshot(f"registered-{device}")
    _axe(watch, "registered")

    with sqlite3.connect(db) as conn:
        stored = conn.execute(
            "SELECT r.id, s.lat, s.lon, s.postcode FROM registrant r JOIN site s ON s.registrant_id = r.id "
            "WHERE r.reference = ?",
            (reference,),
        ).fetchone()
        cams = conn.execute(
            "SELECT kind, direction_deg, retention_days, overlooks FROM camera WHERE site_id = "
            "(SELECT id FROM site WHERE registrant_id = ?) ORDER BY id",
            (stored[0],),
        ).fetchall()
    assert (stored[1], stored[2]) == (pytest.approx(pinned[0], abs=1e-6), pytest.approx(pinned[1], abs=1e-6))
    assert stored[3] == POSTCODE
    assert cams == [("doorbell", 45, 30, "street"), ("fixed", None, 14, "driveway,garden")]

    # The private link: change a camera.
    assert manage_url.startswith(base + "/manage/")
    page.goto(manage_url)
    page.wait_for_selector("#manage-form")
    _axe(watch, "manage")
    page.fill("#cam-1-retention_days", "21")
    page.click("#save-changes")
    page.wait_for_selector("#saved")
    assert page.input_value("#cam-1-retention_days") == "21"
    watch.screenshot(f"manage-{device}")

    # Withdraw: one confirmation, then gone.
    page.click("#withdraw")
    page.wait_for_selector("#withdraw-confirm")
    _axe(watch, "withdraw")
    page.click("#withdraw-confirm")
    page.wait_for_selector("#withdrawn")
    _axe(watch, "withdrawn")
    # The link is dead now; its page says so plainly (and is itself accessible). The browser logs
    # the 404 as a failed load, which is expected here and not kept as a console error.
    errors_before = len(watch.console_errors)
    page.goto(manage_url)
    assert "does not open a registration" in page.inner_text("main")
    _axe(watch, "dead link")
    assert all("404" in e for e in watch.console_errors[errors_before:]), watch.console_errors
    del watch.console_errors[errors_before:]

    with sqlite3.connect(db) as conn:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                text = json.dumps([str(v) for v in row])
                assert name not in text and email not in text and "Testing Lane" not in text, table
        assert conn.execute("SELECT status, name FROM registrant WHERE reference = ?", (reference,)).fetchone() == (
            "withdrawn",
            None,
        )
    scans, starts, completions = (a - b for a, b in zip(_counts(db), before))
    assert (scans, starts, completions) == (1, 1, 1)
    context.close()
    assert watch.external == [], watch.external
    assert watch.console_errors == [], watch.console_errors


def test_registration_can_be_completed_with_the_keyboard_alone(watched, live_server):
    """No mouse: Tab from field to field, type, Space for choices, arrows for the pin, Enter to send."""
    page, base = watched.page, live_server["url"]
    page.goto(f"{base}/register")
    page.wait_for_selector("#register-form")
    order: list[str] = []

    def tab_to(element_id: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            now = page.evaluate("document.activeElement.id")
            order.append(now)
            if now == element_id:
                return
        raise AssertionError(f"Tab never reached #{element_id}; went through {order[-limit:]}")

    tab_to("name")
    page.keyboard.type("Kim Keyboard")
    tab_to("email")
    page.keyboard.type("kim.keyboard@example.org")
    tab_to("preferred_channel-email")
    page.keyboard.press("Space")
    tab_to("site_kind-home")
    page.keyboard.press("Space")
    tab_to("address")
    page.keyboard.type("5 Key Street")
    tab_to("postcode")
    page.keyboard.type(POSTCODE)
    tab_to("postcode-find")
    page.keyboard.press("Enter")
    page.wait_for_selector("#pin-map .leaflet-marker-icon")
    before = float(page.input_value("#lat"))
    page.locator("#pin-map .leaflet-marker-icon").evaluate("el => el.id = 'pin-marker'")
    tab_to("pin-marker")
    page.keyboard.press("Shift+ArrowDown")  # 10 m south
    assert float(page.input_value("#lat")) == pytest.approx(before - 10 / 111320, rel=1e-3)
    tab_to("cam-0-kind")
    page.keyboard.press("ArrowDown")  # the first kind after "Choose…"
    tab_to("cam-0-placement-outdoor")
    page.keyboard.press("Space")
    tab_to("cam-0-retention_days")
    page.keyboard.type("28")
    tab_to("cam-0-recording_mode-continuous")
    page.keyboard.press("Space")
    tab_to("consent")
    page.keyboard.press("Space")
    tab_to("register-submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("#registration-reference")
    with sqlite3.connect(live_server["db"]) as conn:
        row = conn.execute(
            "SELECT r.preferred_channel, s.kind, c.kind, c.placement, c.retention_days, c.recording_mode "
            "FROM registrant r JOIN site s ON s.registrant_id = r.id JOIN camera c ON c.site_id = s.id "
            "WHERE r.reference = ?",
            (page.inner_text("#registration-reference"),),
        ).fetchone()
    assert row == ("email", "home", "doorbell", "outdoor", 28, "continuous")
