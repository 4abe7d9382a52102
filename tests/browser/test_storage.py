"""The administrators' storage view in a real browser, over a store seeded by hand (the figures of
tests/integration/test_storage_view.py): its own app process, since the shared demo has no footage."""

from __future__ import annotations

import os
import socket

import pytest

from dashboard.config import load_settings
from dashboard.registry.database import transaction
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user
from tests.browser.conftest import ARTIFACTS, PageWatch, log_in, running_app
from tests.integration.test_storage_view import seed_store

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def storage_server(tmp_path_factory, reference_dir):
    where = tmp_path_factory.mktemp("storage")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{where / 'registry.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "browser-storage-" + "x" * 40,
        "EVIDENCE_DIR": str(where / "evidence"),
        "EVIDENCE_MIN_FREE_MB": "512",
        "OUTBOX_WORKER": "0",
        "DEMO": "0",
        "HOST": "127.0.0.1",
    }
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        env["PORT"] = str(s.getsockname()[1])
    env.pop("TILE_URL", None)
    rt = prepare(load_settings({k: v for k, v in env.items() if k != "PORT"}))
    with transaction(rt.sessions) as s:
        create_user(s, "admin1", PASSWORD, "admin")
        create_user(s, "officer1", PASSWORD, "officer")
        create_user(s, "auditor1", PASSWORD, "auditor")
    seed_store(rt)
    rt.engine.dispose()
    log_path = where / "app.log"
    with running_app(env, log_path, timeout_s=120) as url:
        yield url


@pytest.mark.browser
def test_the_administrator_sees_space_by_state_and_what_the_next_run_frees(browser, storage_server):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    watched = PageWatch(page, storage_server)
    log_in(watched, storage_server, "admin1", PASSWORD)
    page.get_by_role("link", name="Storage").click()
    page.wait_for_selector("#storage-used >> text=Files of closed cases")
    rows = [
        [c.strip() for c in r.locator("th, td").all_inner_texts()][:3]
        for r in page.locator("#storage-used tbody tr").all()
    ]
    assert rows == [
        ["Awaiting a decision", "1", "2.0 MB"],
        ["Accepted exhibits of open cases", "1", "3.0 MB"],
        ["Declined (case open)", "2", "4.0 MB"],
        ["Files of closed cases", "2", "2.0 MB"],
        ["Unfinished uploads (part files on disk)", "1", "0.2 MB"],
        ["On the evidence disk in all", "6", "8.2 MB"],
    ]
    due = [
        [c.strip() for c in r.locator("th, td").all_inner_texts()][:3]
        for r in page.locator("#storage-next tbody tr").all()
    ]
    assert due == [
        ["Declined files", "1", "3.0 MB"],
        ["Files of closed cases", "2", "2.0 MB"],
        ["In all", "3", "5.0 MB"],
    ]
    disk = page.locator("#storage-disk").inner_text()
    assert "EVIDENCE_MIN_FREE_MB keeps 512 MB free" in disk and "Free on the evidence disk:" in disk
    periods = page.locator("#storage-periods").inner_text()
    assert "Declined files are deleted 30 days after the decision" in periods
    assert "deleted 90 days after the case was closed" in periods
    assert page.locator("#storage-coming tbody tr").count() == 1
    watched.screenshot("storage-admin")
    context.close()
    assert watched.external == [] and watched.console_errors == [], (watched.external, watched.console_errors)


@pytest.mark.browser
def test_the_auditor_sees_footage_in_the_retention_summary(browser, storage_server):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    watched = PageWatch(page, storage_server)
    log_in(watched, storage_server, "auditor1", PASSWORD)
    page.goto(f"{storage_server}/audit")
    footage = page.locator("#audit-retention-footage")
    footage.get_by_text("Files of closed cases").wait_for()
    rows = [[c.strip() for c in r.locator("th, td").all_inner_texts()] for r in footage.locator("tbody tr").all()]
    assert [[r[0], r[2], r[3]] for r in rows] == [
        ["Awaiting a decision", "1", "2.0 MB"],
        ["Accepted exhibits, open cases", "1", "3.0 MB"],
        ["Declined, case open", "2", "4.0 MB"],
        ["Files of closed cases", "2", "2.0 MB"],
        ["Due now: declined", "1", "3.0 MB"],
        ["Due now: closed cases", "2", "2.0 MB"],
        ["Deleted so far", "0", "–"],
    ]
    assert page.get_by_role("link", name="Storage").count() == 0  # the administrators' page is not the auditor's
    footage.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#audit-retention").screenshot(path=str(ARTIFACTS / "retention-summary-footage.png"))
    context.close()
    assert watched.external == [] and watched.console_errors == [], (watched.external, watched.console_errors)
