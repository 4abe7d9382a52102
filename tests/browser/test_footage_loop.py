"""The footage loop end to end, in Chromium: an officer sends a request; a real (local) SMTP server
receives the email; the owner, on a phone, opens the link from it, uploads two real videos (one
cut off part-way by a dropped connection and resumed), gives the statement and submits; the stored
files are the originals byte for byte; the officer sees the upload in My cases; the audit log
holds each step.

Its own app (demo mode, a small registry) so that the mail relay and the evidence folder are its own.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import os
import random
import re
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.browser.conftest import PageWatch, running_app
from tests.cutting_proxy import CuttingProxy
from tests.media import make_video

OFFICER = ("officer.demo", "demo-officer-2026")
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-GB",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture(scope="module")
def loop_server(tmp_path_factory, reference_dir):
    folder = tmp_path_factory.mktemp("footage-loop")
    inbox = Inbox()
    relay = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    relay.start()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'registry.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "footage-loop-" + "x" * 40,
        "DEMO": "1",
        "DEMO_REGISTRATIONS": "400",
        "DEMO_SEED": "11",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SMTP_URL": f"smtp://127.0.0.1:{relay.port}",
        "MAIL_FROM": "cameras@force.example",
        "EVIDENCE_DIR": str(folder / "evidence"),
        "EVIDENCE_MIN_FREE_MB": "1",
    }
    env.pop("TILE_URL", None)
    log_path = folder / "app.log"
    with running_app(env, log_path) as url:
        yield {
            "url": url,
            "port": port,
            "db": str(folder / "registry.db"),
            "inbox": inbox,
            "evidence": folder / "evidence",
            "folder": folder,
            "log": log_path,
        }
    relay.stop()


def _email_owner_camera(db: str) -> tuple[str, float, float, str]:
    """A camera whose owner asked for email, standing alone enough that a 50 m search finds few others."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT c.public_id, s.lat, s.lon, r.email FROM camera c JOIN site s ON s.id = c.site_id "
            "JOIN registrant r ON r.id = s.registrant_id WHERE r.status = 'active' AND c.active = 1 "
            "AND r.preferred_channel = 'email' AND r.email IS NOT NULL AND s.lat IS NOT NULL "
            "AND c.retention_days >= 14 ORDER BY c.id"
        ).fetchall()
    return random.Random(4).choice(rows)


def _audit_actions(db: str, case_ref: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [
            r[0] for r in conn.execute("SELECT action FROM audit_event WHERE case_ref = ? ORDER BY id", (case_ref,))
        ]


def _wait(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.browser
def test_a_request_reaches_the_owner_and_their_footage_comes_back_intact(browser, loop_server, tmp_path):
    base, db, inbox = loop_server["url"], loop_server["db"], loop_server["inbox"]
    camera_id, lat, lon, owner_email = _email_owner_camera(db)
    case_ref = f"CR-2026-{random.Random().randint(100000, 999999)}"
    incident = (
        (dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        .astimezone(dt.timezone(dt.timedelta(0)))
        .replace(minute=30, second=0, microsecond=0)
    )

    # ---- the officer, on a phone, searches and sends a request to this camera's owner
    officer = browser.new_context(**PHONE)
    watch = PageWatch(officer.new_page(), base)
    page = watch.page
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(OFFICER[0])
    page.get_by_label("Password").fill(OFFICER[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("#shell-user", state="attached")
    page.goto(f"{base}/search")
    page.get_by_label("Where").fill(f"{lat:.6f}, {lon:.6f}")
    page.get_by_role("button", name="Find").click()
    page.wait_for_selector(f"#search-location-msg >> text=Incident point: {lat:.5f}")
    page.get_by_label("When (UK time)").fill(incident.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Case reference").fill(case_ref)
    page.get_by_label("Reason for this search").fill("Burglary reported at a house in this street overnight")
    page.get_by_role("button", name="Search cameras").click()
    page.wait_for_selector("#search-result-summary")
    # On a phone the results are cards (the grid is out of sight); a card selects the grid's row.
    page.locator("#search-cards .form-check", has_text=camera_id).locator("input[type=checkbox]").first.click()
    page.wait_for_selector("#search-grid .ag-row-selected", state="attached")
    page.get_by_role("button", name="Send footage requests").click()
    page.wait_for_selector("#search-request-done")
    done_text = page.locator("#search-request-done").inner_text()
    assert "email" in done_text.lower(), done_text

    # ---- the relay receives one email, to the owner, multipart, with the link
    message = _wait(lambda: next((m for m in inbox.messages if m["To"] == owner_email), None), 60, "the request email")
    assert message.is_multipart()
    types = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html"} <= types
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
    assert case_ref in text
    for word in ("staff", "pilot", "colleague", "intranet"):
        assert not re.search(rf"\b{word}\b", text, re.IGNORECASE)
    link = re.search(r"http://127\.0\.0\.1:\d+/respond/[A-Za-z0-9_-]{43}", text).group(0)

    # ---- the owner, on a phone, through a connection that drops once mid-upload
    recorded = incident.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    first = make_video(tmp_path / "front door.mp4", seconds=3, width=1280, height=720, seed=1, recorded_at=recorded)
    second = make_video(tmp_path / "driveway.mp4", seconds=2, width=320, height=240, seed=2, recorded_at=recorded)
    assert first.stat().st_size > 900_000
    with CuttingProxy(loop_server["port"]) as proxy:
        owner = browser.new_context(**PHONE)
        owner_watch = PageWatch(owner.new_page(), base)
        page = owner_watch.page
        page.set_default_timeout(30_000)
        page.goto(link.replace(f":{loop_server['port']}/", f":{proxy.port}/"))
        page.wait_for_selector("#request-window")
        page.get_by_label("I have footage").check()
        proxy.cut_next_upload_after(500_000)  # the first upload's bytes stop after ~0.5 MB: signal lost
        page.set_input_files("#file-input", [str(first), str(second)])
        captions = page.locator(".file-caption")
        captions.nth(0).fill("Front door, van at 21:40")
        captions.nth(1).fill("Driveway")
        page.get_by_role("button", name="Upload").click()
        # (wait with the page's clock: PageWatch's request routing runs on this thread, so a plain
        # sleep here would hold every request of the page)
        for _ in range(300):
            if proxy.cut.is_set():
                break
            page.wait_for_timeout(200)
        cut = proxy.cut.is_set()
        owner_watch.screenshot("footage-owner-uploading")
        (tmp_path / "proxy.log").write_text(
            repr(proxy.requests) + "\n" + repr(owner_watch.console_errors) + f"\n{proxy.cut_bytes}"
        )
        assert cut, ("the connection was never cut", str(tmp_path))
        stored = page.locator(".file-row[data-state=stored]")
        for _ in range(900):  # (the page restarts a stalled request after 30 s)
            if stored.count() == 2:
                break
            page.wait_for_timeout(200)
        if stored.count() != 2:  # say what the server had, for the next person to read this
            with sqlite3.connect(db) as conn:
                rows = conn.execute(
                    "SELECT upload_key, state, received_bytes, declared_size, refusal FROM evidence_file ORDER BY id"
                ).fetchall()
            parts = sorted((p.name, p.stat().st_size) for p in (loop_server["evidence"] / "incoming").glob("*.part"))
            raise AssertionError(
                f"uploads not stored: page {page.locator('#file-rows').inner_text()!r}; "
                f"rows {rows}; parts {parts}; requests {proxy.requests}; cut at {proxy.cut_bytes}"
            )
        owner_watch.screenshot("footage-owner-uploaded")

        page.get_by_label("It is fast (ahead of the real time)").check()
        page.get_by_label("By how many minutes").fill("3")
        page.get_by_label("When did you make this copy of the footage?").fill(
            dt.datetime.now().strftime("%Y-%m-%dT%H:%M")
        )
        page.get_by_label("I made this copy myself", exact=False).check()
        page.get_by_label("Your full name").fill("Pat Owner")
        page.get_by_role("button", name="Send my answer").click()
        page.wait_for_selector("#receipt")
        receipt = page.locator("#receipt").inner_text()
        owner_watch.screenshot("footage-owner-receipt")
        assert _sha(first) in receipt and _sha(second) in receipt
        assert "3 minutes fast" in receipt
        owner.close()
        # The dropped connection is the one error the browser may report; then, as tus-js-client finds
        # its way back, the server's "423 Locked" (it is still finishing the cut-off request) and "409
        # Conflict" (the client resumed from a byte the server never got): each answered by asking
        # the server where it is (HEAD) and carrying on from there.
        dropped = (
            "net::ERR_EMPTY_RESPONSE",
            "net::ERR_CONNECTION_RESET",
            "net::ERR_CONNECTION_CLOSED",
            "status of 423 (LOCKED)",
            "status of 409 (CONFLICT)",
        )
        assert owner_watch.external == []
        assert [e for e in owner_watch.console_errors if not any(d in e for d in dropped)] == []
    assert proxy.cut_bytes >= 500_000

    # ---- stored byte for byte, content-addressed
    for original in (first, second):
        digest = _sha(original)
        stored_path = loop_server["evidence"] / "sha256" / digest[:2] / digest[2:4] / digest
        assert stored_path.is_file() and _sha(stored_path) == digest
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT e.sha256, e.state, e.caption FROM evidence_file e JOIN footage_response r "
            "ON r.id = e.response_id WHERE r.case_ref = ? ORDER BY e.id",
            (case_ref,),
        ).fetchall()
        offset = conn.execute(
            "SELECT clock_offset_s, signed_name FROM footage_response WHERE case_ref = ?", (case_ref,)
        ).fetchone()
    assert sorted(r[0] for r in rows) == sorted([_sha(first), _sha(second)]) and {r[1] for r in rows} == {"stored"}
    assert offset == (180, "Pat Owner")

    # ---- the officer sees it in My cases (at a desk: the grid's columns need the width)
    officer.close()
    assert watch.external == [] and watch.console_errors == []
    desk = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    watch = PageWatch(desk.new_page(), base)
    page = watch.page
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(OFFICER[0])
    page.get_by_label("Password").fill(OFFICER[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("#shell-user")
    page.goto(f"{base}/cases")
    page.locator("#cases-list .ag-row", has_text=case_ref).locator("input[type=checkbox]").first.click()
    page.wait_for_selector("#cases-requests .ag-row")
    files = page.locator("#cases-requests .ag-row [col-id=files]").first
    answer = page.locator("#cases-requests .ag-row [col-id=answer]").first
    assert files.inner_text() == "2" and answer.inner_text().startswith("Footage"), page.locator(
        "#cases-requests"
    ).inner_text()
    watch.screenshot("footage-officer-cases")
    desk.close()
    assert watch.external == [] and watch.console_errors == []

    # ---- every step is in the audit log, in order
    actions = _audit_actions(db, case_ref)
    for step in (
        "search",
        "request_created",
        "message_sent",
        "response_opened",
        "footage_uploaded",
        "response_answered",
    ):
        assert step in actions, (step, actions)
    assert actions.count("footage_uploaded") == 2
    assert actions.index("message_sent") < actions.index("response_opened") < actions.index("response_answered")
