"""Evidence triage and hand-off end to end, in Chromium (issue 17's acceptance test).

An owner uploads two real files through the real tus endpoint and sends their answer (camera 2
minutes fast) through the real API; the officer, in My cases, accepts one with an exhibit reference
and declines the other with a reason, plays the accepted MP4 in the page (the player's time and the
corrected real time beside it), exports the case's bundle; ``python -m dashboard evidence verify``
passes on the bundle and fails, naming the file, on a copy with one byte changed. Screenshots of
triage on a desktop and on a phone, and the continuity statement printed to PDF, are saved.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from dashboard.config import PROJECT_ROOT, load_settings
from dashboard.footage import links
from dashboard.registry.database import transaction
from dashboard.registry.models import FootageResponse
from dashboard.runtime import prepare
from tests.browser.conftest import ARTIFACTS, PageWatch, running_app, wait_for_js
from tests.evidence_seed import seed_case
from tests.media import make_video

OFFICER = ("officer.demo", "demo-officer-2026")
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-GB",
}
CASE_REF = "CR-2026-017017"
RECORDED = "2026-11-30T21:14:05.000000Z"  # on the camera's clock; the camera is 2 minutes fast


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, reference_dir):
    folder = tmp_path_factory.mktemp("evidence")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'registry.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "evidence-triage-" + "x" * 40,
        "DEMO": "1",
        "DEMO_REGISTRATIONS": "300",
        "DEMO_SEED": "5",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "EVIDENCE_DIR": str(folder / "evidence"),
        "EVIDENCE_MIN_FREE_MB": "1",
    }
    env.pop("TILE_URL", None)
    log_path = folder / "app.log"
    with running_app(env, log_path) as url:
        yield {"url": url, "port": port, "env": env, "folder": folder, "log": log_path}


def _tus_upload(port: int, token: str, path: Path, caption: str) -> None:
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in {"filename": path.name, "caption": caption}.items()
    )
    data = path.read_bytes()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(
        "POST",
        f"/respond/{token}/files",
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)), "Upload-Metadata": meta},
    )
    made = conn.getresponse()
    made.read()
    assert made.status == 201, made.status
    location = made.getheader("Location")
    conn.request(
        "PATCH",
        location,
        body=data,
        headers={"Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    done = conn.getresponse()
    body = done.read()
    assert done.status == 204, (done.status, body[:300])
    conn.close()


def _owner_answers(server, tmp_path) -> tuple[Path, Path]:
    """The owner's half, as their browser would do it: two uploads over tus, then the answer."""
    rt = prepare(load_settings({k: v for k, v in server["env"].items() if k != "DEMO"}))
    try:
        seeded = seed_case(rt, [], officer=OFFICER[0], case_ref=CASE_REF, answered=False, n=17)
        with transaction(rt.sessions) as s:
            response = s.scalar(sa.select(FootageResponse).where(FootageResponse.public_id == seeded.response_id))
            token = links.issue(response, dt.datetime.now(dt.UTC), 7)
    finally:
        rt.engine.dispose()
    front = make_video(
        tmp_path / "front-door.mp4", seconds=4, width=640, height=360, recorded_at=RECORDED, seed=3, faststart=True
    )
    side = make_video(tmp_path / "side-path.mp4", seconds=2, width=320, height=240, recorded_at=RECORDED, seed=4)
    _tus_upload(server["port"], token, front, "Front door: man in a grey hoodie at the gate")
    _tus_upload(server["port"], token, side, "Side path")
    answer = {
        "answer": "footage",
        "clock_direction": "fast",
        "clock_minutes": 2,
        "clock_seconds": 0,
        "copy_made_by_owner": True,
        "copy_made_at": dt.datetime.now(dt.UTC).isoformat(),
        "signed_name": "Alex Owner",
    }
    conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=30)
    conn.request(
        "POST",
        f"/api/v1/responses/{token}/answer",
        body=json.dumps(answer),
        headers={"Content-Type": "application/json"},
    )
    done = conn.getresponse()
    body = done.read()
    assert done.status == 200, (done.status, body[:500])
    return front, side


def _officer_opens_my_cases(page, base: str) -> None:
    """Log in as the demo officer and open My cases (the user's name is in the menu, folded away on a phone)."""
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(OFFICER[0])
    page.get_by_label("Password").fill(OFFICER[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("#shell-user", state="attached")
    page.goto(f"{base}/cases")


def _verify(bundle: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dashboard", "evidence", "verify", str(bundle)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_an_officer_triages_plays_and_hands_on_evidence_that_verifies(browser, server, tmp_path):
    front, side = _owner_answers(server, tmp_path)
    base = server["url"]
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB", accept_downloads=True)
    watch = PageWatch(context.new_page(), base)
    page = watch.page
    _officer_opens_my_cases(page, base)
    page.locator("#cases-list .ag-row", has_text=CASE_REF).first.click()
    page.wait_for_selector(".evidence-file >> nth=1")
    cards = page.locator(".evidence-file")
    first, second = cards.nth(0), cards.nth(1)
    assert "Front door: man in a grey hoodie" in first.inner_text()
    # The recording time in the file and the real time, corrected by the owner's 2 minutes (worked by hand:
    # 21:14:05 on the camera's clock is 21:12:05 real time; GMT on 30 November).
    text = first.inner_text()
    assert "30 Nov 2026 21:14:05 GMT on the camera's clock" in text
    assert "30 Nov 2026 21:12:05 GMT to 30 Nov 2026 21:12:09 GMT" in text
    assert hashlib.sha256(front.read_bytes()).hexdigest() in text
    assert "2 min 0 s fast" in page.locator("#cases-ev-body").inner_text()

    # Accept the first with an exhibit reference; decline the second with a reason.
    first.get_by_label("Exhibit reference").fill("AB/1")
    first.get_by_role("button", name="Accept").click()
    page.wait_for_selector("#cases-ev-done >> text=accepted as exhibit AB/1")
    page.wait_for_selector(".evidence-file >> text=Exhibit AB/1")  # the list is drawn again with the decision
    second = page.locator(".evidence-file").nth(1)
    second.get_by_label("Or decline, because").select_option("not_relevant")
    second.get_by_role("button", name="Decline").click()
    page.wait_for_selector("#cases-ev-done >> text=declined")
    page.wait_for_selector(".evidence-file .badge:has-text('Declined')")
    assert "Does not show anything relevant" in page.locator(".evidence-file").nth(1).inner_text()

    # Play the accepted MP4 in the page, with a reason.
    page.get_by_label("Reason for viewing, downloading or exporting footage").fill(
        "Reviewing the front door footage for the suspect's clothing"
    )
    page.locator(".evidence-file").nth(0).get_by_role("button", name="Play").click()
    page.wait_for_selector("#cases-ev-video")
    wait_for_js(page, "document.getElementById('cases-ev-video').readyState >= 2", 30_000)
    page.evaluate("() => { const v = document.getElementById('cases-ev-video'); v.muted = true; v.currentTime = 1.0; }")
    wait_for_js(page, "document.getElementById('cases-ev-player-times').innerText.includes('21:12:06')", 15_000)
    times = page.locator("#cases-ev-player-times").inner_text()
    assert "Camera clock" in times and "21:14:06" in times and "Real time" in times, times
    page.evaluate("() => document.getElementById('cases-ev-video').play()")
    wait_for_js(page, "document.getElementById('cases-ev-video').currentTime > 1.2", 15_000)
    watch.screenshot("evidence-triage-desktop")

    # On a phone: the same case, readable.
    phone = browser.new_context(**PHONE)
    phone_watch = PageWatch(phone.new_page(), base)
    p = phone_watch.page
    _officer_opens_my_cases(p, base)
    # On a phone the cases are cards (the grid is out of sight); a card selects the grid's row.
    p.locator("#cases-list-cards .form-check-label", has_text=CASE_REF).first.click()
    p.wait_for_selector(".evidence-file >> nth=1")
    p.locator("#cases-ev-box").scroll_into_view_if_needed()
    phone_watch.screenshot("evidence-triage-phone")
    p.locator(".evidence-file").nth(0).screenshot(path=str(ARTIFACTS / "evidence-triage-phone-file.png"))
    width = p.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    # Export the case's bundle.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export evidence (ZIP)").click()
    bundle = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(bundle)
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        manifest = json.loads(z.read("manifest.json"))
        statement = z.read("continuity-statement.html").decode()
    assert sum(n.startswith("files/") for n in names) == 1  # only the accepted exhibit
    assert json.dumps(manifest).count(hashlib.sha256(front.read_bytes()).hexdigest()) >= 1
    assert hashlib.sha256(side.read_bytes()).hexdigest() not in json.dumps(manifest)
    assert "AB/1" in statement

    good = _verify(bundle)
    assert good.returncode == 0, good.stdout + good.stderr
    # One byte of the exhibit changed in a copy: verify fails and names the file.
    tampered = tmp_path / "tampered.zip"
    member = next(n for n in names if n.startswith("files/"))
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(tampered, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = bytearray(src.read(info.filename))
            if info.filename == member:
                data[len(data) // 2] ^= 0x01
            dst.writestr(info, bytes(data))
    bad = _verify(tampered)
    assert bad.returncode != 0
    assert member.rsplit("/", 1)[-1] in bad.stdout + bad.stderr or "AB/1" in bad.stdout + bad.stderr

    # The continuity statement, printed to PDF as the officer's browser would.
    ARTIFACTS.mkdir(exist_ok=True)
    printer = context.new_page()
    statement_file = tmp_path / "continuity-statement.html"
    statement_file.write_text(statement, encoding="utf-8")
    printer.goto(statement_file.as_uri())
    printer.emulate_media(media="print")
    printer.pdf(path=str(ARTIFACTS / "continuity-statement.pdf"), format="A4", print_background=True)
    printer.screenshot(path=str(ARTIFACTS / "continuity-statement-print.png"), full_page=True)
    assert (ARTIFACTS / "continuity-statement.pdf").stat().st_size > 5000

    assert watch.console_errors == [] and phone_watch.console_errors == []
    assert watch.external == [] and phone_watch.external == []
    context.close()
    phone.close()
