"""Script injection: 200 classic payloads in every free-text field are shown as text, never run.

The payloads (``xss_payloads.txt``, one a line; each sets ``window.__xss`` or calls ``alert`` if it
runs) are stored through the real code paths (the registration rules and ``register``, casework,
campaigns) in a registry of this module's own, served by ``python app.py`` as the README runs it.
Then Chromium opens every page that shows a stored field (table ``VIEWS``: field -> page), and
the forms that echo what was typed, and checks that

(a) no dialog opened and ``window.__xss`` was never set: a trap installed before any page script
    runs logs an error if anything assigns it;
(b) the page shows each payload character for character (read with ``inner_text`` / the input's value);
(c) the console has no errors at all. An injected tag would log one even where the CSP stops it
    (a refused inline script or handler, or a failed load of ``src=x``), so a broken escape cannot
    hide behind the CSP.

Lists (the officer's contact reveal, cases, campaigns, the uptake page, the weekly report) show all
200; pages that show one record or one typed value at a time (the owner's page, the login form, the
registration form's errors, the search form's refusal) take a spread sample to keep the run short.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from dashboard.config import PROJECT_ROOT, load_settings
from dashboard.registry import audit, campaigns, casework, free_text, registration
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, Camera, FootageRequest, Registrant, Site, User, utcnow
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user
from tests.browser.conftest import PageWatch, wait_for_js

PAYLOADS = Path(__file__).with_name("xss_payloads.txt").read_text(encoding="utf-8").splitlines()
PASSWORD = "xss-test-password-2026"
CAMPAIGN_SAMPLE = range(0, len(PAYLOADS), 10)  # campaigns with activity (every campaign is listed, though)
MANAGE_SAMPLE = range(0, len(PAYLOADS), 20)  # owners' private pages opened (one registration a page)
SLOW_PAGE_MS = 90_000  # generous: the machine is shared and some pages draw hundreds of rows
USERS = {"officer1": "officer", "lead1": "lead", "admin1": "admin", "auditor1": "auditor"}
NOTES_CASE = "CR-2026-000777"  # the case of the 200 logged searches and requests that carry payloads
REVEAL_CASE, TYPED_CASE = "CR-2026-000778", "CR-2026-000779"  # the browser's own searches
SEARCH_REASON = "Checking how the owners' details are shown"

TRAP = """
(() => {
  const fired = [];
  Object.defineProperty(window, "__xssFired", {value: fired});
  Object.defineProperty(window, "__xss", {
    get() { return fired.length ? fired[fired.length - 1] : undefined; },
    set(value) { fired.push(String(value)); console.error("XSS marker set by a payload"); },
  });
})();
"""


def text(payload: str) -> str:
    """What a text field keeps of a payload: outer spaces gone, inner runs of spaces as one."""
    return " ".join(payload.split())


# --------------------------------------------------------------------------- storing the payloads


@dataclass
class Stored:
    """What was stored, per field, in the order stored (index = record)."""

    postcode: str
    tokens: list[str] = field(default_factory=list)  # the owners' private links, by record
    expected: dict[str, list[str]] = field(default_factory=dict)
    notes_case_ids: list[int] = field(default_factory=list)  # its audit rows, newest first (as the log lists them)


def _actor(s, username: str) -> audit.Actor:
    user = s.scalar(sa.select(User).where(User.username == username))
    return audit.Actor(user.id, user.username, user.role)


def _found(s, officer, case_ref, camera_ids, centre) -> None:
    """The officer's search in the case that found these cameras (requests need one)."""
    casework.log_search(
        s,
        officer,
        case_ref=case_ref,
        reason=SEARCH_REASON,
        lat=float(centre["lat"]),
        lon=float(centre["lon"]),
        radius_m=200,
        incident_at=None,
        result_count=len(camera_ids),
        source="page",
        camera_ids=[int(c) for c in camera_ids],
    )


def registrable(payload: str) -> str:
    """A payload as a registration's name or address, or a request's note, can hold it: the few
    with a link or an IP address in them are refused there (promise 1, ``free_text``), so they are
    stored with the link broken ('hxxp', ':/ /', '127·0·0·1') and keep the rest of their markup; elsewhere they are stored whole."""
    if free_text.problem(text(payload)) is None:
        return payload
    defanged = payload.replace("://", ":/ /").replace("http", "hxxp").replace("HTTP", "HXXP")
    defanged = re.sub(r"(\d)\.(?=\d)", "\\1\u00b7", defanged)  # 127.0.0.1 -> 127·0·0·1
    assert free_text.problem(text(defanged)) is None, payload
    return defanged


def _store(rt, ref, payloads: list[str]) -> Stored:
    n = len(payloads)
    owners = [registrable(p) for p in payloads]
    postcode = str(ref.postcodes["postcode"].iloc[10])
    centre = ref.lookup_postcode(postcode)
    stored = Stored(postcode)
    with transaction(rt.sessions) as s:
        for username, role in USERS.items():
            create_user(s, username, PASSWORD, role)
    # Registrations: record i is named payload i and lives at payload i + n/2 (two payloads a record).
    with transaction(rt.sessions) as s:
        for i, payload in enumerate(owners):
            data = registration.RegistrationIn.model_validate(
                {
                    "name": payload,
                    "address": owners[(i + n // 2) % n],
                    "email": f"owner{i}@example.org",
                    "preferred_channel": "email",
                    "site_kind": "home",
                    "postcode": postcode,
                    "consent": True,
                    "cameras": [{"kind": "doorbell", "placement": "outdoor", "recording_mode": "motion"}],
                },
                context={"reference": ref},
            )
            made = registration.register(s, data, ref, via="api")
            stored.tokens.append(made.token)
        camera_ids = list(s.scalars(sa.select(Camera.id).join(Site).join(Registrant).order_by(Registrant.id)))
    stored.expected["registrant name"] = [text(p) for p in owners]
    stored.expected["registrant address"] = [text(owners[(i + n // 2) % n]) for i in range(n)]

    # Campaigns (an admin's input). Every tenth is scanned once. The campaigns page, the lead's uptake
    # page and the weekly report list every campaign (a fixed set of rows: whether a campaign had
    # activity would come from the register), so all 200 are read on each.
    with transaction(rt.sessions) as s:
        admin = _actor(s, "admin1")
        for i, payload in enumerate(payloads):
            made = campaigns.create_campaign(s, admin, name=payload, channel="poster")
            if i in CAMPAIGN_SAMPLE:
                assert campaigns.count_step(s, made.slug, "scans")
    stored.expected["campaign name"] = [text(p) for p in payloads]

    # Case references: casework takes any text of up to 40 characters (the force's format is checked
    # by the page and the API, and a force may set a loose CASE_REF_PATTERN); longer ones are refused.
    now = utcnow()
    incident = dict(
        incident_lat=float(centre["lat"]),
        incident_lon=float(centre["lon"]),
        incident_district_code=None,
        crime_category=None,
        incident_from=now - dt.timedelta(hours=2),
        incident_to=now - dt.timedelta(hours=1),
        now=now,
    )
    short = [p for p in payloads if len(p.strip()) <= casework.CASE_REF_MAX]
    with transaction(rt.sessions) as s:
        officer = _actor(s, "officer1")
        for payload, camera_id in zip(short, camera_ids):
            _found(s, officer, payload, [camera_id], centre)
            casework.create_requests(
                s, officer, case_ref=payload, reason=SEARCH_REASON, camera_ids=[camera_id], **incident
            )
        with pytest.raises(casework.CaseworkError, match="at most 40"):
            casework.create_requests(
                s,
                officer,
                case_ref=max(payloads, key=len),
                reason=SEARCH_REASON,
                camera_ids=[camera_ids[0]],
                **incident,
            )
        # Free text the auditor's page will show: a search's reason and a request's status note.
        _found(s, officer, NOTES_CASE, list(camera_ids[:n]), centre)
        for i in range(0, n, casework.MAX_CAMERAS_PER_ACTION):
            casework.create_requests(
                s,
                officer,
                case_ref=NOTES_CASE,
                reason=SEARCH_REASON,
                camera_ids=camera_ids[i : i + casework.MAX_CAMERAS_PER_ACTION],
                **incident,
            )
        note_requests = list(
            s.scalars(
                sa.select(FootageRequest.id).where(FootageRequest.case_ref == NOTES_CASE).order_by(FootageRequest.id)
            )
        )
        for request_id, payload in zip(note_requests, owners):  # a note refuses links too (promise 1)
            casework.change_status(
                s,
                officer,
                request_id=request_id,
                new_status="no_response",
                note=payload,
                now=now + dt.timedelta(seconds=1),
            )
        for payload in payloads:
            casework.log_search(
                s,
                officer,
                case_ref=NOTES_CASE,
                reason=payload,
                lat=float(centre["lat"]),
                lon=float(centre["lon"]),
                radius_m=200,
                incident_at=None,
                result_count=0,
                source="page",
            )
    stored.expected["case reference"] = [p.strip() for p in short]
    stored.expected["footage request note"] = [p.strip() for p in owners]
    # The search the requests follow, then the payloads.
    stored.expected["search reason"] = [SEARCH_REASON] + [p.strip() for p in payloads]
    with rt.sessions() as s:
        stored.notes_case_ids = list(
            s.scalars(sa.select(AuditEvent.id).where(AuditEvent.case_ref == NOTES_CASE).order_by(AuditEvent.id.desc()))
        )
    return stored


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    """The running app and what was stored in its registry."""

    url: str
    db: Path
    stored: Stored


@pytest.fixture(scope="module")
def site(tmp_path_factory, reference_dir, reference):
    folder = tmp_path_factory.mktemp("xss")
    env = {
        "DATABASE_URL": f"sqlite:///{folder / 'registry.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "xss-tests-" + "x" * 40,
        "PORT": str(_free_port()),
        "HOST": "127.0.0.1",
        "WEB_WORKERS": "1",
        "REGISTRATION_RATE_LIMIT": "10000 per hour",
    }
    rt = prepare(load_settings(env))
    try:
        stored = _store(rt, reference, PAYLOADS)
    finally:
        rt.engine.dispose()
    log_path = folder / "app.log"
    server_env = {k: v for k, v in os.environ.items() if k not in ("TILE_URL", "DEBUG")}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=PROJECT_ROOT,
            env={**server_env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            pytest.fail(f"app exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", int(env["PORT"])), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"app did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.3)
    yield Served(f"http://127.0.0.1:{env['PORT']}", folder / "registry.db", stored)
    proc.terminate()
    proc.wait(timeout=20)


# --------------------------------------------------------------------------- watching the browser


class Watch(PageWatch):
    """The shared page watch (console errors, requests leaving the machine) plus dialogs, the
    marker trap, and console errors kept with the address they came from."""

    def __init__(self, page, base_url: str):
        super().__init__(page, base_url)
        self.dialogs: list[str] = []
        self.located_errors: list[tuple[str, str]] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on(
            "console",
            lambda m: self.located_errors.append((m.text, m.location.get("url", ""))) if m.type == "error" else None,
        )

    def assert_not_run(self) -> None:
        """(a): checked before leaving each page (the marker lives as long as the page)."""
        fired = self.page.evaluate("window.__xssFired.slice()")
        assert fired == [] and self.dialogs == [], f"a payload ran: marker {fired}, dialogs {self.dialogs}"
        assert self.page.evaluate("typeof window.__xss") == "undefined"


@pytest.fixture
def watch(browser, site):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    context.add_init_script(TRAP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    w = Watch(page, site.url)
    yield w
    context.close()
    assert w.external == [], f"requests left the machine: {w.external}"
    assert w.dialogs == [], f"dialogs opened: {w.dialogs}"


def _log_in(w: Watch, base: str, username: str) -> None:
    w.page.goto(f"{base}/login")
    w.page.get_by_label("Username").fill(username)
    w.page.get_by_label("Password").fill(PASSWORD)
    w.page.get_by_role("button", name="Log in").click()
    w.page.wait_for_selector("#shell-user")


# --------------------------------------------------------------------------- pages that show stored text


def read_contact_reveal(w: Watch, base: str, stored: Stored) -> dict[str, list[str]]:
    """The officer searches at the owners' postcode and reveals all 200 owners, 50 at a time."""
    page = w.page
    page.goto(f"{base}/search")
    page.wait_for_selector("#search-map")
    page.get_by_label("Where").fill(stored.postcode)
    page.get_by_role("button", name="Find").click()
    page.wait_for_selector("#search-location-msg >> text=Incident point:")
    page.get_by_label("Case reference").fill(REVEAL_CASE)
    page.get_by_label("Reason for this search").fill(SEARCH_REASON)
    page.get_by_role("button", name="Search cameras").click()
    page.wait_for_selector("#search-result-summary")
    total = len(stored.tokens)
    assert page.locator("#search-result-summary").inner_text().startswith(f"{total} registered cameras")
    names, addresses = [], []
    batch = casework.MAX_CAMERAS_PER_ACTION
    for start in range(0, total, batch):
        # Select the next 50 rows, as ticking their boxes page by page would.
        ids = page.evaluate(
            """([a, b]) => {
            const api = window.dash_ag_grid.getApi('search-grid');
            const nodes = [];
            api.forEachNodeAfterFilterAndSort(n => nodes.push(n));
            api.deselectAll();
            nodes.slice(a, b).forEach(n => n.setSelected(true));
            return api.getSelectedRows().map(r => r.camera_id);
        }""",
            [start, start + batch],
        )
        assert len(ids) == min(batch, total - start)
        page.get_by_role("button", name="Show contact details of selected").click()
        page.wait_for_selector(f"#search-contacts-list p:text-is('Camera {ids[0]}')")
        cards = page.locator("#search-contacts-list .card")
        assert cards.count() == len(ids)
        names += page.locator("#search-contacts-list .card strong").all_inner_texts()
        for card_text in page.locator("#search-contacts-list .card p.mb-0").all_inner_texts():
            last_line = card_text.split("\n")[-1]
            assert last_line.endswith(f", {stored.postcode}")
            addresses.append(last_line.removesuffix(f", {stored.postcode}"))
        w.assert_not_run()
    return {"registrant name": names, "registrant address": addresses}


def read_cases(w: Watch, base: str, stored: Stored) -> dict[str, list[str]]:
    """My cases: every case reference in the grid (one page of all rows), and one case opened."""
    page = w.page
    page.goto(f"{base}/cases")
    page.wait_for_selector("#cases-list .ag-row")
    page.evaluate("window.dash_ag_grid.getApi('cases-list').setGridOption('paginationPageSize', 1000)")
    expected_rows = len(stored.expected["case reference"]) + 1  # and the notes case
    wait_for_js(page, f"document.querySelectorAll('#cases-list .ag-row').length === {expected_rows}")
    shown = page.locator("#cases-list .ag-row [col-id=case_ref]").all_inner_texts()
    # Opening a case puts its reference in the title too.
    first = page.locator("#cases-list .ag-row[row-index='0'] [col-id=case_ref]")
    reference = first.inner_text()
    first.click()
    page.wait_for_selector("#cases-requests .ag-row")
    assert page.locator("#cases-title").inner_text() == f"Requests in case {reference}"
    return {"case reference": [t for t in shown if t != NOTES_CASE]}


# Waits until the log grid holds exactly the given row ids, each with its action cell drawn, and
# reads (action, reason) of every row in that same moment (the grid redraws rows as it measures
# their wrapped heights, so a check and a later read could see different rows).
AUDIT_PAGE_JS = """async ([ids, timeout]) => {
    const want = JSON.stringify(ids);
    const end = Date.now() + timeout;
    for (;;) {
        const rows = Array.from(document.querySelectorAll('#audit-log .ag-center-cols-container .ag-row'));
        const got = rows.map(r => Number(r.getAttribute('row-id'))).sort((a, b) => b - a);
        const cells = rows.map(r => [r.querySelector('[col-id=action_label]'), r.querySelector('[col-id=reason]')]);
        if (JSON.stringify(got) === want && cells.every(([a, b]) => a && b && a.innerText.trim() !== '')) {
            return cells.map(([a, b]) => [a.innerText, b.innerText]);
        }
        if (Date.now() > end) throw new Error('the log grid never held rows ' + want);
        await new Promise(r => setTimeout(r, 50));
    }
}"""


def read_audit_log(w: Watch, base: str, stored: Stored) -> dict[str, list[str]]:
    """The auditor's log filtered to the notes case, every page of it, every row drawn (the grid
    is told to draw all of a page's rows, not only those scrolled into view). Each page is read
    once the grid holds exactly that page's rows, each with its cells filled in."""
    page = w.page
    page.goto(f"{base}/audit")
    page.wait_for_selector("#audit-showing >> text=newest first")
    ids = stored.notes_case_ids
    page.get_by_label("Case reference").fill(NOTES_CASE)
    page.get_by_label("Case reference").press("Enter")
    shown = {"search reason": [], "footage request note": []}
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        if start:
            page.get_by_role("button", name="Older").click()
        page.wait_for_selector(f"#audit-showing >> text=Rows {start + 1:,}–{start + len(chunk):,} of {len(ids):,}")
        page.evaluate("window.dash_ag_grid.getApi('audit-log').setGridOption('domLayout', 'autoHeight')")
        for action, reason in page.evaluate(AUDIT_PAGE_JS, [chunk, 20_000]):
            if action == "Camera search":
                shown["search reason"].append(reason)
            elif action == "Footage request status changed":
                shown["footage request note"].append(reason)
            else:  # the case's other rows: its requests
                assert action == "Footage request sent", (action, reason)
    return shown


def read_campaigns(w: Watch, base: str, stored: Stored) -> dict[str, list[str]]:
    w.page.goto(f"{base}/campaigns")
    w.page.wait_for_selector("#campaigns-grid .ag-row", timeout=SLOW_PAGE_MS)
    names = w.page.locator("#campaigns-grid .ag-center-cols-container .ag-row [col-id=name]")
    return {"campaign name": names.all_inner_texts()}


def read_uptake(w: Watch, base: str, stored: Stored) -> dict[str, list[str]]:
    w.page.goto(f"{base}/uptake")
    w.page.wait_for_selector("#uptake-funnel table tbody tr", timeout=SLOW_PAGE_MS)
    first_table = w.page.locator("#uptake-funnel table").first
    return {"campaign name": first_table.locator("tbody tr td:first-child").all_inner_texts()}


def read_weekly_report(w: Watch, base: str, stored: Stored) -> dict[str, list[str]]:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    w.page.goto(f"{base}/uptake/report?week={today}")
    cells = w.page.locator("h2:text-is('Campaigns this week') + table tbody tr td:first-child")
    return {"campaign name": cells.all_inner_texts()}


def read_owner_pages(w: Watch, base: str, stored: Stored) -> dict[str, list[str]]:
    """The owner's private page (one registration a page): a sample, name and address in the form."""
    names, addresses = [], []
    for i in MANAGE_SAMPLE:
        w.page.goto(f"{base}/manage/{stored.tokens[i]}")
        names.append(w.page.locator("#name").input_value())
        addresses.append(w.page.locator("#address").input_value())
        w.assert_not_run()
    return {"registrant name": names, "registrant address": addresses}


@dataclass(frozen=True)
class View:
    """A page that shows stored free text: who opens it, which fields it shows, how to read them,
    and which stored records it shows (None: every one)."""

    name: str
    user: str | None
    fields: tuple[str, ...]
    read: Callable[[Watch, str, Stored], dict[str, list[str]]]
    records: range | None = None


VIEWS = [
    View("officer's contact reveal", "officer1", ("registrant name", "registrant address"), read_contact_reveal),
    View("officer's cases", "officer1", ("case reference",), read_cases),
    View("admin's campaigns", "admin1", ("campaign name",), read_campaigns),
    View("lead's uptake page", "lead1", ("campaign name",), read_uptake),
    View("lead's weekly report", "lead1", ("campaign name",), read_weekly_report),
    View("owner's private page", None, ("registrant name", "registrant address"), read_owner_pages, MANAGE_SAMPLE),
    View("auditor's log", "auditor1", ("search reason", "footage request note"), read_audit_log),
]


@pytest.mark.browser
@pytest.mark.parametrize("view", VIEWS, ids=[v.name for v in VIEWS])
def test_stored_payloads_are_shown_as_text(watch, site, view):
    if view.user:
        _log_in(watch, site.url, view.user)
    shown = view.read(watch, site.url, site.stored)
    watch.assert_not_run()
    assert sorted(shown) == sorted(view.fields)
    for name in view.fields:
        stored = site.stored.expected[name]
        expected = stored if view.records is None else [stored[i] for i in view.records]
        missing = Counter(expected) - Counter(shown[name])
        extra = Counter(shown[name]) - Counter(expected)
        assert not missing and not extra, f"{name}: not shown as stored {list(missing)[:3]}, shown {list(extra)[:3]}"
    watch.screenshot(f"xss-{view.name.replace(' ', '-').replace(chr(39), '')}")
    assert watch.console_errors == [], f"console errors: {watch.console_errors[:5]}"


def test_free_text_for_the_auditor_is_stored_exactly(site):
    """Search reasons and status notes are stored as typed (the auditor's page will show them)."""
    import sqlite3

    with sqlite3.connect(site.db) as conn:
        reasons = [
            r[0]
            for r in conn.execute(
                "SELECT reason FROM audit_event WHERE action = 'search' AND case_ref = ? ORDER BY id", (NOTES_CASE,)
            )
        ]
        notes = [
            r[0]
            for r in conn.execute(
                "SELECT e.note FROM footage_request_event e JOIN footage_request r ON r.id = e.request_id "
                "WHERE r.case_ref = ? AND e.status = 'no_response' ORDER BY r.id",
                (NOTES_CASE,),
            )
        ]
    assert reasons == site.stored.expected["search reason"]
    assert notes == site.stored.expected["footage request note"]


# --------------------------------------------------------------------------- forms that echo what was typed


def _sample(step: int, offset: int = 0) -> list[str]:
    return PAYLOADS[offset::step]


def _document_errors_only(w: Watch, url_start: str, statuses: tuple[int, ...]) -> None:
    """(c) where an error status is the right answer (a failed login is 401, an unknown postcode
    404): the only console errors are the browser's notes of those statuses for those addresses."""
    allowed = tuple(f"Failed to load resource: the server responded with a status of {s}" for s in statuses)
    unexpected = [(t, u) for t, u in w.located_errors if not (t.startswith(allowed) and u.startswith(url_start))]
    assert unexpected == [], f"console errors: {unexpected[:5]}"


@pytest.mark.browser
def test_case_reference_refused_on_the_search_page_is_shown_as_text(watch, site):
    """The search form checks the force's case-reference format: a payload is refused, and the
    refusal quotes it (its first 40 characters) as text. A payload as the reason is accepted and
    logged exactly as typed."""
    page, base = watch.page, site.url
    _log_in(watch, base, "officer1")
    page.goto(f"{base}/search")
    page.get_by_label("Where").fill(site.stored.postcode)
    page.get_by_role("button", name="Find").click()
    page.wait_for_selector("#search-location-msg >> text=Incident point:")
    page.get_by_label("Reason for this search").fill(SEARCH_REASON)
    for payload in _sample(40, 3):
        page.get_by_label("Case reference").fill(payload)
        page.get_by_role("button", name="Search cameras").click()
        quoted = f"'{payload.strip()[:40]}' is not a case reference in this force's format"
        page.locator("#search-error-summary li", has_text=quoted).wait_for()
        assert page.locator("#search-case-msg").inner_text().startswith(quoted)
        watch.assert_not_run()
    reason = next(p for p in _sample(20, 7) if len(p) >= 10)
    page.get_by_label("Case reference").fill(TYPED_CASE)
    page.get_by_label("Reason for this search").fill(reason)
    page.get_by_role("button", name="Search cameras").click()
    page.wait_for_selector("#search-result-summary")
    watch.assert_not_run()
    import sqlite3

    with sqlite3.connect(site.db) as conn:
        logged = conn.execute(
            "SELECT reason FROM audit_event WHERE action = 'search' AND case_ref = ?", (TYPED_CASE,)
        ).fetchall()
    assert logged == [(reason,)]
    assert watch.console_errors == [], f"console errors: {watch.console_errors[:5]}"


@pytest.mark.browser
def test_login_form_echoes_username_and_next_as_text(watch, site):
    """A failed login shows the form again with the username typed (first 64 characters) and the
    page to go to after login (a local path) kept in a hidden field: both as values, never markup."""
    page, base = watch.page, site.url
    for payload in _sample(50, 5):
        page.goto(f"{base}/login?next={quote('/' + payload)}")
        assert page.locator("input[name=next]").input_value() == "/" + payload
        page.get_by_label("Username").fill(payload)
        page.get_by_label("Password").fill("not-the-password-at-all")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_selector("#login-error")
        assert page.locator("#login-error").inner_text().startswith("Username or password not recognised")
        assert page.get_by_label("Username").input_value() == payload.strip()[:64]
        assert page.locator("input[name=next]").input_value() == "/" + payload
        watch.assert_not_run()
    _document_errors_only(watch, f"{base}/login", (401,))


@pytest.mark.browser
def test_registration_form_echoes_what_was_typed_as_text(watch, site):
    """A registration with errors comes back with every field as typed and the errors listed;
    five payloads a submission (name, email, phone, address, postcode), 5 submissions. The form's
    script looks the (invalid) postcode up for its map, which answers 404 and says so as text."""
    page, base = watch.page, site.url
    fields = ("name", "email", "phone", "address", "postcode")
    for start in range(0, 25, len(fields)):
        page.goto(f"{base}/register")
        sent = {}
        for offset, name in enumerate(fields):
            box = page.locator(f"#{name}")
            box.fill(PAYLOADS[(start + offset) * 5 % len(PAYLOADS)])
            sent[name] = box.input_value()  # what the browser will send (the postcode box holds 10 characters)
        page.locator("#register-form button[type=submit]").last.click()
        page.wait_for_selector("#error-summary")  # answered 200: the form again, with its problems
        for name in fields:
            assert text(page.locator(f"#{name}").input_value()) == text(sent[name]), name
        summary = page.locator("#error-summary").inner_text()
        assert f"'{sent['postcode'].strip()[:10]}' is not a postcode" in summary
        watch.assert_not_run()
    _document_errors_only(watch, f"{base}/register/postcode?", (404,))


# --------------------------------------------------------------------------- the served app


@pytest.mark.browser
def test_the_served_app_has_no_debugger_and_sends_the_policy(site):
    """`python app.py` (gunicorn, DEBUG unset) mounts no debugger, and its answers carry the CSP."""
    import urllib.error
    import urllib.request

    def get(path: str) -> tuple[int, dict, str]:
        try:
            with urllib.request.urlopen(f"{site.url}{path}", timeout=10) as r:
                return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode("utf-8", "replace")

    status, headers, body = get("/login")
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    # Werkzeug's debugger would answer these itself, before the app (and its login) is reached.
    for path in ("/console", "/login?__debugger__=yes&cmd=resource&f=debugger.js"):
        status, _headers, body = get(path)
        assert "Werkzeug" not in body and "__debugger__" not in body and "Traceback" not in body, path
        assert "Debugger" not in body and "console.png" not in body, path
