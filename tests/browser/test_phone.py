"""Every logged-in page on a phone (390 x 844) and a laptop (1366 x 768), for every role: no sideways
scroll, no console warning or error, and axe-core (WCAG 2.0-2.2 A/AA) finds no serious or critical
issue. Then the officer's search on a phone (results as cards, one selection with the grid) and from
the keyboard alone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dashboard.pages import all_pages
from tests.browser.conftest import PageWatch, wait_for_js

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WIDTHS = {"phone": (390, 844), "laptop": (1366, 768)}
POSTCODE = "ST16 2DH"  # Stafford: the demo registry has cameras within 500 m of it
OFFICER = ("officer.demo", "demo-officer-2026")


def _demo_users():
    from dashboard.demo.generator import DEMO_USERS

    seen, out = set(), []
    for username, role, password in DEMO_USERS:
        if role not in seen:
            seen.add(role)
            out.append((username, role, password))
    return out


@pytest.fixture
def context_at(browser, live_server):
    """A fresh browser context of a given viewport (closed afterwards); its PageWatch also collects
    console warnings, which the shared fixture does not."""
    contexts = []

    def make(width: int, height: int) -> PageWatch:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        watch = PageWatch(page, live_server["url"])
        watch.warnings = []
        page.on("console", lambda m: watch.warnings.append(m.text) if m.type == "warning" else None)
        return watch

    yield make
    for context in contexts:
        context.close()


def _log_in(watch: PageWatch, base: str, username: str, password: str) -> None:
    page = watch.page
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("#shell-user", state="attached")  # folded away in the menu on a phone


def _settle(page) -> None:
    """Wait until the page's callbacks have answered and every grid has drawn its header cells."""
    page.wait_for_load_state("networkidle")
    wait_for_js(page, "!document.querySelector('._dash-loading, [data-dash-is-loading=\"true\"]')")
    wait_for_js(
        page,
        "Array.from(document.querySelectorAll('.ag-header-row-column')).every("
        "r => r.querySelector('[role=columnheader]') || r.offsetParent === null)",
    )
    page.wait_for_timeout(300)


def _axe(page, name: str) -> None:
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


def _fits(page, name: str) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{name}: the page is {width} px wide in a {inner} px window"


@pytest.mark.browser
@pytest.mark.parametrize("user", _demo_users(), ids=lambda u: u[1])
def test_every_page_of_the_role_fits_a_phone_and_a_laptop_and_passes_axe(context_at, live_server, user):
    username, role, password = user
    base = live_server["url"]
    pages = [p for p in all_pages() if p.allows(role)]
    assert pages
    for label, (width, height) in WIDTHS.items():
        watch = context_at(width, height)
        page = watch.page
        _log_in(watch, base, username, password)
        for p in pages:
            name = f"{role}-{p.path.strip('/') or 'home'}-{label}"
            page.goto(base + p.path)
            page.wait_for_selector("#shell-content > *", state="attached")
            _settle(page)
            watch.screenshot(f"phone-{name}")
            _fits(page, name)
            _axe(page, name)
            assert watch.console_errors == [], f"{name}: console errors {watch.console_errors}"
            assert watch.warnings == [], f"{name}: console warnings {watch.warnings}"
        assert watch.external == []
        if label == "phone":  # the menu folds away behind its toggler, and opens on a tap
            assert not page.locator("#shell-nav").is_visible()
            page.locator("#shell-nav-toggle").click()
            page.wait_for_selector("#shell-nav-collapse.show")
            page.wait_for_timeout(400)  # the menu's opening transition
            assert page.locator("#shell-nav a.nav-link").all_inner_texts() == [p.title for p in pages]
            watch.screenshot(f"phone-{role}-menu-open-phone")


def _search_form(page, case_ref: str) -> None:
    page.get_by_label("Where").fill(POSTCODE)
    page.get_by_role("button", name="Find").click()
    page.wait_for_selector("#search-location-msg >> text=Incident point:")
    page.get_by_label("Case reference").fill(case_ref)
    page.get_by_label("Reason for this search").fill("Bicycle taken from a front garden; cameras may show the thief")


def _reveals(db: str, case_ref: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT count(*) FROM audit_event WHERE action = 'reveal_contact' AND case_ref = ?", (case_ref,)
        ).fetchone()[0]


@pytest.mark.browser
def test_officer_on_a_phone_picks_results_as_cards_with_the_grids_selection(context_at, live_server):
    watch = context_at(*WIDTHS["phone"])
    page, base = watch.page, live_server["url"]
    _log_in(watch, base, *OFFICER)
    page.goto(f"{base}/search")
    page.wait_for_selector("#search-map")
    _search_form(page, "CR-2026-390390")
    page.get_by_role("button", name="Search cameras").click()
    page.wait_for_selector("#search-result-summary")
    summary = page.locator("#search-result-summary").inner_text()
    shown = int(summary.split()[0])
    assert shown >= 3, summary
    # On a phone the results are cards, one per camera, and the grid is out of sight.
    cards = page.locator("#search-cards .form-check")
    wait_for_js(page, f"document.querySelectorAll('#search-cards .form-check').length === {shown}")
    assert not page.locator("#search-grid").is_visible()
    first = page.locator("#search-cards .form-check-label").nth(0).inner_text()
    assert first.startswith("#1 ") and "Incident in view:" in first and "Footage:" in first and "Contact by:" in first
    # Ticking two cards selects exactly those rows in the grid, which the reveal reads.
    ids = [cards.nth(i).locator("input").get_attribute("value") for i in (0, 2)]
    page.locator("#search-cards .form-check-label").nth(0).click()
    page.locator("#search-cards .form-check-label").nth(2).click()
    wait_for_js(page, "document.querySelectorAll('#search-grid .ag-row-selected').length === 2")
    page.get_by_role("button", name="Show contact details of selected").click()
    page.wait_for_selector("#search-contacts-list")
    contacts = page.locator("#search-contacts-list").inner_text()
    assert all(f"Camera {i}" in contacts for i in ids), (ids, contacts)
    assert contacts.count("Camera CAM-") == 2
    assert _reveals(live_server["db"], "CR-2026-390390") >= 1
    _fits(page, "search results on a phone")
    watch.screenshot("phone-officer-search-cards-phone")
    # Back on a wide screen the grid shows the same two rows selected; unticking in the grid unticks the card.
    page.set_viewport_size({"width": 1366, "height": 768})
    page.wait_for_selector("#search-grid .ag-row-selected")
    selected = page.evaluate(
        "Array.from(document.querySelectorAll('#search-grid .ag-center-cols-container "
        ".ag-row-selected')).map(r => r.getAttribute('row-id'))"
    )
    assert sorted(selected) == sorted(ids)
    page.locator(
        f"#search-grid .ag-pinned-left-cols-container [row-id='{ids[0]}'] input, "
        f"#search-grid [row-id='{ids[0]}'] .ag-selection-checkbox input"
    ).first.click()
    wait_for_js(page, "document.querySelectorAll('#search-cards input:checked').length === 1")
    assert page.locator("#search-cards input:checked").get_attribute("value") == ids[1]
    assert watch.console_errors == [] and watch.warnings == [], (watch.console_errors, watch.warnings)


@pytest.mark.browser
def test_officer_searches_and_reveals_with_the_keyboard_alone(context_at, live_server):
    watch = context_at(*WIDTHS["laptop"])
    page, base = watch.page, live_server["url"]
    _log_in(watch, base, *OFFICER)
    page.goto(f"{base}/search")
    page.wait_for_selector("#search-map")

    def tab_to(element_id: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
                return
        pytest.fail(f"Tab never reached #{element_id}")

    def tab_to_selector(selector: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
                return
        pytest.fail(f"Tab never reached {selector}")

    tab_to("search-location")
    page.keyboard.type(POSTCODE)
    page.keyboard.press("Enter")
    page.wait_for_selector("#search-location-msg >> text=Incident point:")
    tab_to("search-when")  # the datetime field keeps the default hour ago
    tab_to_selector("#search-radius [role=slider]")
    for _ in range(2):
        page.keyboard.press("ArrowRight")  # 200 -> 300 m
    page.wait_for_selector("#search-radius-label >> text=300 m")
    tab_to("search-case")
    page.keyboard.type("CR-2026-777777")
    tab_to("search-reason")
    page.keyboard.type("Bicycle taken from a front garden; cameras may show the thief")
    tab_to("search-submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("#search-result-summary")
    assert " within 300 m " in page.locator("#search-result-summary").inner_text()
    # Into the grid: its first row's checkbox, selected with Space.
    tab_to_selector("#search-grid .ag-selection-checkbox input, #search-grid .ag-cell")
    page.keyboard.press("Space")
    wait_for_js(page, "document.querySelectorAll('#search-grid .ag-row-selected').length >= 1")
    # The selection has reached the page's state when the phone's card for that row is ticked (the grid
    # sends its selection after a timer; under load, a reveal pressed before then finds nothing chosen).
    wait_for_js(page, "document.querySelectorAll('#search-cards input:checked').length >= 1")
    # Tab leaves the grid at once (arrows move inside it): past its page buttons to the reveal button. AG Grid
    # used to move Tab cell by cell, about 150 presses to get out of 20 rows.
    tab_to("search-reveal", limit=8)
    page.keyboard.press("Space")
    page.wait_for_selector("#search-contacts-list, #search-contacts .alert")
    assert page.locator("#search-contacts-list").count() == 1, page.locator("#search-contacts").inner_text()
    assert page.locator("#search-contacts-list").inner_text().count("Camera CAM-") >= 1
    assert _reveals(live_server["db"], "CR-2026-777777") >= 1
    watch.screenshot("phone-officer-search-keyboard-laptop")
    assert watch.console_errors == [] and watch.warnings == [], (watch.console_errors, watch.warnings)


@pytest.mark.browser
def test_officer_on_a_phone_chooses_a_case_and_a_request_from_cards(context_at, live_server):
    """My cases on a phone: the cases and their requests are cards with a radio button; choosing one
    selects the same row in the grid, which the page's callbacks read (the requests of that case)."""
    watch = context_at(*WIDTHS["phone"])
    page, base = watch.page, live_server["url"]
    _log_in(watch, base, *OFFICER)
    page.goto(f"{base}/cases")
    page.wait_for_selector("#cases-list-cards .form-check-label")
    assert not page.locator("#cases-list").is_visible()
    with sqlite3.connect(live_server["db"]) as conn:
        own = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT f.case_ref FROM footage_request f JOIN app_user u ON u.id = f.requested_by_id "
                "WHERE u.username = 'officer.demo'"
            )
        }
    card = page.locator("#cases-list-cards .form-check-label").nth(0)
    case_ref = card.locator("strong").inner_text()
    assert case_ref in own
    card.click()
    page.wait_for_selector(f"#cases-title >> text={case_ref}")
    selected = page.evaluate(
        "Array.from(document.querySelectorAll('#cases-list .ag-center-cols-container "
        ".ag-row-selected')).map(r => r.textContent)"
    )
    assert len(selected) == 1 and case_ref in selected[0]
    with sqlite3.connect(live_server["db"]) as conn:
        expected = conn.execute("SELECT count(*) FROM footage_request WHERE case_ref = ?", (case_ref,)).fetchone()[0]
    wait_for_js(page, f"document.querySelectorAll('#cases-requests-cards .form-check').length === {expected}")
    page.locator("#cases-requests-cards .form-check-label").nth(0).click()
    wait_for_js(page, "document.querySelectorAll('#cases-requests .ag-row-selected').length === 1")
    _fits(page, "My cases on a phone")
    _axe(page, "My cases on a phone, a case and a request chosen")
    watch.screenshot("phone-officer-cases-cards-phone")
    assert watch.console_errors == [] and watch.warnings == [], (watch.console_errors, watch.warnings)
