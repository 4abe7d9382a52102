"""Each role logs in, sees exactly its pages, and the overview matches the database."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from dashboard.pages import all_pages
from tests.browser.conftest import log_in, wait_for_js

K = 8


def _expected_figures(db_path: str, days_back: int = 0) -> dict:
    """The landing figures worked out straight from the SQLite file: true counts and the sums of
    their record keys by plain SQL, the adjustment read from the perturbation table's rows.
    ``days_back``: as the page computed them that many UK days ago (its figures are cached 30 s, so
    just after midnight it may still show yesterday's last 7 days)."""
    from zoneinfo import ZoneInfo

    import numpy as np

    from dashboard.analytics.disclosure import PTable

    table = PTable.build(K, 3, 2.0)  # the app's default settings

    def published(count, key_sum):
        count = int(count)
        if count < K:
            return None
        return count + int(table.perturbation(np.array([count]), np.array([int(key_sum or 0) % 256]))[0])

    uk_today = dt.datetime.now(ZoneInfo("Europe/London")).date() - dt.timedelta(days=days_back)
    window = dt.datetime.combine(uk_today - dt.timedelta(days=6), dt.time(), tzinfo=ZoneInfo("Europe/London"))
    window_utc = window.astimezone(dt.UTC).replace(tzinfo=None)
    with sqlite3.connect(db_path) as conn:
        active, active_keys = conn.execute(
            "SELECT count(*), sum(record_key) FROM registrant WHERE status = 'active'"
        ).fetchone()
        cameras, camera_keys = conn.execute(
            "SELECT count(*), sum(c.record_key) FROM camera c JOIN site s ON s.id = c.site_id "
            "JOIN registrant r ON r.id = s.registrant_id WHERE r.status = 'active' AND c.active = 1"
        ).fetchone()
        before, before_keys = conn.execute(
            "SELECT count(*), sum(record_key) FROM registrant WHERE status = 'active' AND consent_at < ?",
            (window_utc.isoformat(sep=" "),),
        ).fetchone()
        per_district = conn.execute(
            "SELECT s.district_code, count(*) FROM site s JOIN registrant r ON r.id = s.registrant_id "
            "WHERE r.status = 'active' GROUP BY s.district_code"
        ).fetchall()
    total = published(active, active_keys)
    earlier = 0 if before == 0 else published(before, before_keys)
    recent = None if total is None or earlier is None or total - earlier < K else total - earlier
    shown = lambda n: f"fewer than {K}" if n is None else f"{n:,}"  # noqa: E731
    return {
        "home-stat-registrations": shown(total),
        "home-stat-cameras": shown(None if total is None else published(cameras, camera_keys)),
        "home-stat-recent": shown(recent),
        # no secondary suppression any more: a district is shown when it has K or more
        "home-stat-districts": f"{sum(1 for _, n in per_district if n >= K)} of 9",
    }


def _demo_users():
    from dashboard.demo.generator import DEMO_USERS

    seen, out = set(), []
    for username, role, password in DEMO_USERS:
        if role not in seen:
            seen.add(role)
            out.append((username, role, password))
    return out


@pytest.mark.browser
@pytest.mark.parametrize("user", _demo_users(), ids=lambda u: u[1])
def test_role_logs_in_and_sees_its_pages_and_true_figures(watched, live_server, user):
    username, role, password = user
    page = watched.page
    log_in(watched, live_server["url"], username, password)
    nav = page.locator("#shell-nav a.nav-link")
    assert nav.all_inner_texts() == [p.title for p in all_pages() if p.allows(role)]
    page.wait_for_selector("#home-stat-registrations")
    expected = _expected_figures(live_server["db"])
    yesterday = _expected_figures(live_server["db"], days_back=1)  # a run crossing UK midnight
    for element_id, text in expected.items():
        assert page.locator(f"#{element_id}").inner_text() in {text, yesterday[element_id]}, element_id
    # The district boundaries are drawn with no tile server: one SVG path per district.
    wait_for_js(page, "document.querySelectorAll('#home-map .leaflet-overlay-pane path').length >= 9")
    assert page.locator("#home-map .leaflet-overlay-pane path").count() == 9
    # With no tile server the base is the app's own orientation tiles (nothing leaves the machine).
    sources = page.locator("#home-map img.leaflet-tile").evaluate_all("tiles => tiles.map(t => t.src)")
    assert sources and all("/tiles/orientation" in src for src in sources), sources
    assert "Crown copyright" in page.locator("#shell-footer").inner_text()
    watched.screenshot(f"overview-{role}")
    _header_fits(page, role)


def _header_fits(page, role: str) -> None:
    """At a small laptop's width and a wide screen, the header never widens the page (the admin's eight
    links pushed a 1,200 px page to 1,290 px and broke 'How figures are protected' over four lines):
    the product and the user with Log out on one row, every link below on one line of its own."""
    for width in (992, 1280, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth") == width, (role, width)
        box = lambda selector: page.locator(selector).first.bounding_box()  # noqa: E731
        brand, user, logout = box(".app-navbar .navbar-brand"), box("#shell-user"), box("#shell-logout")
        links = [page.locator("#shell-nav a.nav-link").nth(i).bounding_box() for i in range(len(_titles(role)))]
        assert logout["x"] + logout["width"] <= width and user["x"] > brand["x"] + brand["width"], (role, width)
        assert abs(user["y"] - brand["y"]) < brand["height"], (role, width)  # the same row
        row = links[0]["y"]
        assert row >= brand["y"] + brand["height"] - 2, (role, width)  # the links' row is below
        for link in links:  # one line each, all on one row
            assert abs(link["y"] - row) < 2 and link["height"] < 2 * 24, (role, width, link)
    page.set_viewport_size({"width": 1280, "height": 900})


def _titles(role: str) -> list[str]:
    return [p.title for p in all_pages() if p.allows(role)]


@pytest.mark.browser
def test_switching_the_map_measure_recolours_the_districts(watched, live_server):
    username, _, password = _demo_users()[0]
    page = watched.page
    log_in(watched, live_server["url"], username, password)
    page.wait_for_selector("#home-legend .legend-title")
    assert page.locator("#home-legend .legend-title").inner_text() == "Registrations per 1,000 households"
    page.get_by_label("Cameras per 1,000 households").check()
    wait_for_js(
        page, "document.querySelector('#home-legend .legend-title').innerText === 'Cameras per 1,000 households'"
    )
    page.locator("#home-map .leaflet-overlay-pane path").first.hover()
    page.wait_for_selector(".leaflet-tooltip")
    assert "Cameras per 1,000 households" in page.locator(".leaflet-tooltip").inner_text()
    watched.screenshot("overview-cameras-measure")


@pytest.mark.browser
def test_login_refuses_a_wrong_password_with_a_clear_message(watched, live_server):
    page = watched.page
    page.goto(f"{live_server['url']}/login")
    page.get_by_label("Username").fill("officer.demo")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    assert "not recognised" in page.locator("#login-error").inner_text()
    watched.console_errors.clear()  # the 401 response status itself is reported by Chromium
    watched.screenshot("login-refused")


@pytest.mark.browser
def test_logging_out_ends_the_session(watched, live_server):
    username, _, password = _demo_users()[0]
    page = watched.page
    log_in(watched, live_server["url"], username, password)
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    page.goto(f"{live_server['url']}/")
    page.wait_for_url("**/login**")
