"""Issue 18: the registration form on a 390 px phone. One submit lists every problem at once;
"Add another camera" comes back at the new camera with what was typed; the success page's copy
button copies the private link and says so (and without JavaScript the link is in a field to
select); "Lost your link?" is reachable from the form and the success page."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS, PageWatch, wait_for_js
from tests.browser.test_register import PHONE_UA, POSTCODE, _axe, _fill_camera

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True, has_touch=True, user_agent=PHONE_UA)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server["url"])
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = PageWatch(page, live_server["url"])
    yield watch
    context.close()
    assert watch.external == [], f"requests left the machine: {watch.external}"
    assert watch.console_errors == [], f"console errors: {watch.console_errors}"


def _top(page, element_id: str) -> float:
    return page.evaluate(f"document.getElementById('{element_id}').getBoundingClientRect().top")


def test_the_form_on_a_phone_lists_every_problem_keeps_the_place_and_copies_the_link(phone, live_server):
    page, base = phone.page, live_server["url"]
    page.goto(f"{base}/register")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Some answers right, several wrong: a bad email, texts chosen without a phone (a rule on two
    # fields), no address, a camera bearing out of range and no consent. One submit names them all.
    page.fill("#name", "Robin Phoneowner")
    page.fill("#email", "robin@")
    page.check("#preferred_channel-text")
    page.check("#site_kind-home")
    page.fill("#postcode", POSTCODE)
    _fill_camera(page, 0, "doorbell", "outdoor", "motion")
    page.fill("#cam-0-direction_deg", "400")
    page.click("#register-submit")
    page.wait_for_selector("#error-summary")
    wait_for_js(page, "document.activeElement && document.activeElement.id === 'error-summary'", 10_000)
    summary = page.inner_text("#error-summary")
    expected = {
        "email": "Enter an email address like name@example.com.",
        "preferred_channel": "You chose phone or text; give a phone number, or choose email.",
        "address": "Enter the house number or name, and the street.",
        "cam-0-direction_deg": "Enter camera 1's bearing as a whole number from 0 to 359, or leave it empty.",
        "consent": "Tick the box to agree to be contacted; the register exists only for that.",
    }
    assert "There are 5 problems" in summary
    for fid, message in expected.items():
        assert message in summary
        assert message in page.inner_text(f"#{fid}-error")
    assert "value is not" not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot("register-phone-all-errors")
    _axe(phone, "register (all errors, phone)")

    # Put them right; then add a camera: the page comes back at camera 2, with everything typed.
    page.fill("#email", "robin.phone@example.org")
    page.check("#preferred_channel-email")
    page.fill("#address", "9 Handset Row")
    page.fill("#cam-0-direction_deg", "90")
    page.click("#add-camera")
    page.wait_for_selector("#cam-1-kind")
    assert page.url.endswith("#cam-1")
    # The browser focuses the new camera's fieldset (the fragment's target; it has tabindex -1), so a
    # screen reader reads "Camera 2" and Tab goes on into its fields.
    wait_for_js(page, "document.getElementById('cam-1').contains(document.activeElement)", 10_000)
    page.wait_for_selector("#pin-map .leaflet-marker-icon")  # the map above it has come in too
    top = _top(page, "cam-1")
    assert 0 <= top < PHONE["height"] / 2, top  # the new camera is in view, near the top
    assert (
        page.input_value("#name"),
        page.input_value("#email"),
        page.input_value("#address"),
        page.input_value("#cam-0-direction_deg"),
        page.input_value("#cam-0-kind"),
    ) == ("Robin Phoneowner", "robin.phone@example.org", "9 Handset Row", "90", "doorbell")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "register-phone-added-camera.png"))  # what the owner sees: the viewport

    _fill_camera(page, 1, "fixed", "indoor", "continuous")
    page.check("#consent")
    page.click("#register-submit")
    page.wait_for_selector("#registration-reference")
    manage_url = page.get_attribute("#manage-link", "href")
    assert page.input_value("#manage-link-field") == manage_url
    # The copy button is shown by its script (without JavaScript there is only the field to select):
    # wait for it, as a loaded machine may draw the page before the script has run.
    page.wait_for_selector("#copy-link", state="visible", timeout=30_000)
    assert page.is_visible("#lost-link")
    page.click("#copy-link")
    wait_for_js(page, "document.getElementById('copy-link-status').textContent === 'Copied'", 10_000)
    assert page.get_attribute("#copy-link-status", "aria-live") == "polite"
    assert page.evaluate("navigator.clipboard.readText()") == manage_url
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot("registered-phone-copied")
    _axe(phone, "registered (phone)")

    page.click("#lost-link")
    page.get_by_role("heading", name="Lost your private link?").wait_for()
    # The browser tests' app has no mail relay: the page says what to do instead of showing the form.
    page.wait_for_selector("#lost-link-no-email")
    phone.screenshot("lost-link-phone")
    _axe(phone, "lost link (phone)")


def test_without_javascript_the_link_is_in_a_field_to_select(browser, live_server):
    from tests.integration.test_public_pages import _form

    context = browser.new_context(viewport=PHONE, locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server['url']}/register")
    for name, value in _form(POSTCODE, email="nojs.owner@example.org", **{"cam-1-kind": "dome"}).items():
        if name in ("action", "camera_count", "consent") or name.startswith("cam-1") or not value:
            continue
        if name.endswith(("placement", "recording_mode", "preferred_channel", "site_kind")):
            page.check(f"#{name}-{value}")
        elif name.endswith(("kind", "compass")):
            page.select_option(f"#{name}", value)
        else:
            page.fill(f"#{name}", value)
    page.check("#consent")
    page.click("#register-submit")
    page.wait_for_selector("#registration-reference")
    assert not page.is_visible("#copy-link")  # a button that could do nothing is not shown
    field = page.locator("#manage-link-field")
    assert field.is_visible() and field.get_attribute("readonly") is not None
    assert field.input_value() == page.get_attribute("#manage-link", "href")
    context.close()
