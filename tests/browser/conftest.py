"""Browser tests: the real app in its own process (gunicorn, as `python app.py` runs it), driven by Debian's Chromium via Playwright.

The app runs over a small demo registry built once per session; every page test collects console
errors and any request that leaves 127.0.0.1 (there must be none: the app works offline).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.config import PROJECT_ROOT
from tests.conftest import unavailable

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
DEMO_REGISTRATIONS = 1500
DEMO_SEED = 7


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_env(tmp_path_factory, reference_dir) -> dict:
    db = tmp_path_factory.mktemp("browser") / "registry.db"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "browser-tests-" + "x" * 40,
        "DEMO": "1",
        "DEMO_REGISTRATIONS": str(DEMO_REGISTRATIONS),
        "DEMO_SEED": str(DEMO_SEED),
        "PORT": str(_free_port()),
        "HOST": "127.0.0.1",
        "EVIDENCE_DIR": str(db.parent / "evidence"),
    }  # the demo's footage files, not the project's data/
    env.pop("TILE_URL", None)
    return env


@contextlib.contextmanager
def running_app(env: dict, log_path: Path, timeout_s: float = 180) -> Iterator[str]:
    """`python app.py` with ``env`` (its output in ``log_path``) until it answers on its port; yields its
    address and stops it afterwards. A start that fails or takes longer than ``timeout_s`` fails the test
    with the end of the log."""
    port = int(env["PORT"])
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail(f"app did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.5)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=20)


@pytest.fixture(scope="session")
def live_server(app_env):
    """`python app.py` in demo mode (DEMO=1), as the README's `scripts/run --demo` runs it (first run builds
    the demo registry)."""
    log_path = Path(app_env["DATABASE_URL"].removeprefix("sqlite:///")).with_suffix(".log")
    with running_app(app_env, log_path) as url:
        yield {"url": url, "log": log_path, "db": app_env["DATABASE_URL"].removeprefix("sqlite:///")}


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class PageWatch:
    """Console errors and off-machine requests seen by one page."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.console_errors: list[str] = []
        self.external: list[str] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))

        def route(r):
            if r.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
                r.continue_()
            else:
                self.external.append(r.request.url)
                r.abort()

        page.route("**/*", route)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        # An artefact to look at, not a check: a tall page (My cases with 100 rows is 7,500 px) can take longer than
        # the 20 s default to capture on a loaded machine.
        self.page.screenshot(path=str(path), full_page=True, timeout=90_000)
        return path


@pytest.fixture
def watched(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = PageWatch(page, live_server["url"])
    yield watch
    context.close()
    assert watch.external == [], f"requests left the machine: {watch.external}"
    assert watch.console_errors == [], f"console errors: {watch.console_errors}"


def wait_for_js(page, condition: str, timeout_ms: int = 20_000) -> None:
    """Wait until the JavaScript expression ``condition`` is true on the page.

    ``page.wait_for_function`` evaluates its expression with ``eval`` inside the page, which the
    app's Content-Security-Policy refuses (no 'unsafe-eval'); this polls from a function that
    Playwright hands to the browser directly, which the policy does not govern."""
    page.evaluate(
        """async ([timeout]) => {
        const end = Date.now() + timeout;
        while (!(%s)) {
            if (Date.now() > end) throw new Error("timed out waiting for: " + %s);
            await new Promise(r => setTimeout(r, 50));
        }
    }"""
        % (condition, json.dumps(condition)),
        [timeout_ms],
    )


def log_in(watch: PageWatch, base_url: str, username: str, password: str) -> None:
    page = watch.page
    page.goto(f"{base_url}/")
    page.wait_for_url("**/login**")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("#shell-user")


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
