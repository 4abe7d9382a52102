"""The force's frame on the public pages in a real browser (issue 18): the register page and the
privacy notice, on a phone (390 px) and a desktop (1366 px), show the configured force name, logo
and colour and the footer, fit the screen without sideways scrolling, and pass axe-core."""

from __future__ import annotations

import os

import pytest

from tests.browser.conftest import PageWatch, _free_port, running_app
from tests.browser.test_register import _axe
from tests.integration.test_public_branding import SVG

FRAME = {
    "FORCE_NAME": "Staffordshire Police",
    "FORCE_COLOUR": "#1d4e89",
    "DATA_CONTROLLER": "Chief Constable of Staffordshire Police",
    "DPO_EMAIL": "data.protection.officer@staffordshire.example.police.uk",
    "DPO_ADDRESS": "Data Protection Officer, Police Headquarters, Weston Road, Stafford ST18 0YY",
    "RETENTION_MONTHS": "18",
    "EVIDENCE_CLOSED_CASE_DAYS": "120",
}
SIZES = {"phone": (390, 844), "desktop": (1366, 900)}


@pytest.fixture(scope="module")
def framed_server(tmp_path_factory, reference_dir):
    folder = tmp_path_factory.mktemp("frame")
    logo = folder / "logo.svg"
    # A plain stand-in mark (no force's crest is in the repository): a white rounded square with a dot.
    logo.write_bytes(
        SVG.replace(
            b'<rect width="120" height="48" fill="#ffffff"/>',
            b'<rect x="36" y="0" width="48" height="48" rx="10" fill="#ffffff"/>'
            b'<circle cx="60" cy="24" r="10" fill="#1d4e89"/>',
        )
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'frame.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "browser-frame-" + "x" * 40,
        "PORT": str(_free_port()),
        "HOST": "127.0.0.1",
        "EVIDENCE_DIR": str(folder / "evidence"),
        "OUTBOX_WORKER": "0",
        "FORCE_LOGO": str(logo),
        **FRAME,
    }
    for name in ("TILE_URL", "DEMO"):
        env.pop(name, None)
    with running_app(env, folder / "frame.log") as url:
        yield url


def _fits(page) -> None:
    wide = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1], f"the page scrolls sideways: {wide[0]} px wide in a {wide[1]} px window"


@pytest.mark.parametrize("size", SIZES)
def test_register_and_privacy_carry_the_forces_frame_and_fit_the_screen(browser, framed_server, size):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = PageWatch(page, framed_server)
    try:
        page.goto(f"{framed_server}/register")
        page.wait_for_selector("#register-form")
        assert page.inner_text("#public-force") == "Staffordshire Police"
        assert page.evaluate("() => document.getElementById('public-logo').naturalWidth") > 0  # the logo loaded
        header = page.evaluate("() => getComputedStyle(document.getElementById('public-header')).backgroundColor")
        assert header == "rgb(29, 78, 137)"  # #1d4e89
        footer = page.inner_text("#public-footer")
        assert "Chief Constable of Staffordshire Police" in footer and "0303 123 1113" in footer
        assert "data.protection.officer@staffordshire.example.police.uk" in footer
        _fits(page)
        _axe(watch, f"register ({size})")
        watch.screenshot(f"public-frame-register-{size}")

        page.click("#footer-privacy-link")
        page.wait_for_url("**/privacy")
        page.wait_for_selector("#privacy-retention")
        assert "Every 18 months we ask you to confirm" in page.inner_text("#privacy-retention")
        assert "120 days after the case is closed" in page.inner_text("#privacy-footage")
        assert page.is_visible("#public-footer")
        _fits(page)
        _axe(watch, f"privacy ({size})")
        watch.screenshot(f"public-frame-privacy-{size}")
    finally:
        context.close()
    assert watch.external == [], f"requests left the machine: {watch.external}"
    assert watch.console_errors == [], f"console errors: {watch.console_errors}"


def test_without_branding_the_header_is_the_force_area_name_in_text(browser, tmp_path, reference_dir):
    """No FORCE_* setting: the header is the manifest's force area name in text on the default colour."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'plain.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "browser-frame-" + "y" * 40,
        "PORT": str(_free_port()),
        "HOST": "127.0.0.1",
        "EVIDENCE_DIR": str(tmp_path / "evidence"),
        "OUTBOX_WORKER": "0",
    }
    for name in ("TILE_URL", "DEMO", *FRAME, "FORCE_LOGO", "LAWFUL_BASIS", "DPO_EMAIL", "DPO_ADDRESS"):
        env.pop(name, None)
    with running_app(env, tmp_path / "plain.log") as url:
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
        page = context.new_page()
        watch = PageWatch(page, url)
        try:
            page.goto(f"{url}/register")
            page.wait_for_selector("#public-footer")
            assert page.query_selector("#public-logo") is None
            assert page.inner_text("#public-force") == "Staffordshire"
            header = page.evaluate("() => getComputedStyle(document.getElementById('public-header')).backgroundColor")
            assert header == "rgb(18, 40, 76)"  # #12284c
            assert "Write to the data protection officer at Staffordshire" in page.inner_text("#public-footer")
            _fits(page)
            watch.screenshot("public-frame-register-default-phone")
        finally:
            context.close()
    assert watch.console_errors == [], f"console errors: {watch.console_errors}"
