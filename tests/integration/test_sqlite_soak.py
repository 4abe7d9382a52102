"""Soak test (issue 7): 20 concurrent writers and 100 concurrent readers for a minute against the
production server (gunicorn: several worker processes with threads) on the embedded SQLite file.

Nothing a user sees may be a locking error: no status >= 500, no body or server log line with
"database is locked" or "Traceback", no failed connection. Every write the server acknowledged
is in the database afterwards and nothing else was written: registrations by reference, footage
requests by id, status changes by their event rows, each with its audit row; the audit chain is
intact and holds exactly one "search" row per successful near-search, and one "aggregate_query"
row per coverage query answered to the analyst's readers.

Writers: public registrations through the form (GET /register for the CSRF token, then POST),
and footage requests created and moved on through the officer API. Readers: the officer API
search (which writes an audit row each time), dashboard pages with a logged-in session (page,
``/_dash-layout``, the router callback), the analyst's coverage cells, and the public register
page. The registration rate limit is raised, so a 429 here is a misconfigured test, not the
app protecting itself; any 429 fails the test and is counted apart from server errors.

``CCR_SOAK_SECONDS`` shortens or lengthens the run (default 60, as the issue asks). Run it alone
with ``scripts/test -m soak -s`` to see the figures (also written to test-artifacts/sqlite-soak.txt).

A second, short test makes two writers race on one check (two status changes of one request, two
requests for one camera in one case) and expects exactly one to win, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
import requests
import sqlalchemy as sa

from dashboard.config import PROJECT_ROOT
from dashboard.registry import audit, casework
from dashboard.registry.database import make_engine, session_factory, transaction
from dashboard.registry.models import AuditEvent, Camera, FootageRequest, FootageRequestEvent, Registrant, Site, User
from dashboard.security.accounts import issue_token

SOAK_SECONDS = float(os.environ.get("CCR_SOAK_SECONDS", "60"))
WRITERS, READERS = 20, 100
WEB_WORKERS, WEB_THREADS = 3, 4  # several processes, so writers meet across processes as well as threads
DEMO_REGISTRATIONS = 2000
OFFICERS = (("officer.demo", "demo-officer-2026"), ("officer2.demo", "demo-officer2-2026"))
TIMEOUT = (10, 120)  # connect, read: generous, a slow answer is measured, not failed
BAD_TEXT = re.compile(r"database is locked|Traceback", re.IGNORECASE)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REFERENCE = re.compile(r'id="registration-reference">([^<]+)<')
WRITE_CASE = "SK-2026-{writer:02d}{n:05d}"  # one case per request batch; only writers use SK-
READ_CASE = "RD-2026-{reader:04d}"  # readers search only with RD- cases (writers search before requests, SK-)
SEARCH_REASON = "Soak test: an officer looks for cameras near an incident"
REQUEST_REASON = "Soak test: asking the owner for footage of the incident"
KINDS = (
    "write: register form",
    "write: register",
    "write: create requests",
    "write: change status",
    "read: login form",
    "write: login",
    "read: near search (audited)",
    "read: dashboard page",
    "read: _dash-layout",
    "read: page callback",
    "read: coverage cells",
    "read: public register page",
    "read: postcode lookup",
)
NEXT_STATUS = {
    "sent": ("footage_provided", "no_relevant_footage", "declined", "no_response", "withdrawn"),
    "no_response": ("footage_provided", "no_relevant_footage", "declined", "withdrawn"),
}


def _client() -> requests.Session:
    """One client's HTTP session, a new connection per request. Kept-alive connections would race
    gunicorn's 2 s keep-alive expiry whenever this busy client process leaves one idle that long
    (the server closes it as the next request arrives: a reset that browsers retry silently), and
    that is not what this test is about; without them a failed connection is a real failure."""
    http = requests.Session()
    http.headers["Connection"] = "close"
    return http


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- what the clients saw


@dataclass
class Tally:
    """Every request's kind, latency and outcome, from all client threads."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, kind: str, http: requests.Session, method: str, url: str, expect: int, **kwargs):
        """One request; the response when it has the ``expect``ed status and a clean body, else None."""
        started = time.perf_counter()
        try:
            response = http.request(method, url, timeout=TIMEOUT, allow_redirects=False, **kwargs)
            body = response.text
        except requests.RequestException as exc:  # refused, reset, timed out: the user saw a failure
            with self.lock:
                self.statuses[kind]["exception"] += 1
                self.failures.append(f"{kind}: {type(exc).__name__}: {str(exc)[:200]}")
            return None
        elapsed = time.perf_counter() - started
        dirty = BAD_TEXT.search(body)
        with self.lock:
            self.latencies[kind].append(elapsed)
            self.statuses[kind][response.status_code] += 1
            if response.status_code != expect or dirty:
                self.failures.append(
                    f"{kind}: {response.status_code} {'(' + dirty.group(0) + ') ' if dirty else ''}{body[:300]!r}"
                )
                return None
        return response

    def count(self, kind: str, status: int) -> int:
        return self.statuses[kind][status]


@dataclass
class Acknowledged:
    """The writes one writer saw acknowledged, in order."""

    registrations: dict[str, dict] = field(default_factory=dict)  # reference -> what was sent
    requests: dict[int, dict] = field(default_factory=dict)  # request id -> case, camera, statuses in order
    batches: int = 0
    changes: int = 0


@dataclass
class Plan:
    base: str
    deadline: float
    postcodes: list[str]
    cameras: list[int]
    points: list[tuple[float, float]]
    officer_tokens: list[str]
    analyst_token: str
    incident_at: str


# --------------------------------------------------------------------------- writers


def _register(
    tally: Tally, plan: Plan, http: requests.Session, rng: random.Random, writer: int, n: int, acked: Acknowledged
) -> None:
    page = tally.call("write: register form", http, "GET", f"{plan.base}/register", 200)
    if page is None:
        return
    email = f"soak.w{writer}.n{n}@example.org"
    postcode = rng.choice(plan.postcodes)
    cameras = rng.randint(1, 3)
    form = {
        "csrf_token": CSRF.search(page.text).group(1),
        "action": "register",
        "camera_count": str(cameras),
        "name": "Sam Soakwriter",
        "email": email,
        "phone": "",
        "preferred_channel": "email",
        "site_kind": "home",
        "address": f"{n + 1} Soak Road",
        "postcode": postcode,
        "consent": "yes",
    }
    for i in range(cameras):
        form |= {
            f"cam-{i}-kind": rng.choice(["doorbell", "fixed", "dome"]),
            f"cam-{i}-placement": "outdoor",
            f"cam-{i}-recording_mode": "motion",
            f"cam-{i}-retention_days": "30",
        }
    done = tally.call("write: register", http, "POST", f"{plan.base}/register", 200, data=form)
    if done is None:
        return
    found = REFERENCE.search(done.text)
    if found is None:
        with tally.lock:
            tally.failures.append(f"write: register: no reference in the answer {done.text[:300]!r}")
        return
    acked.registrations[found.group(1)] = {"email": email, "postcode": postcode, "cameras": cameras}


def _create_requests(
    tally: Tally,
    plan: Plan,
    http: requests.Session,
    rng: random.Random,
    writer: int,
    n: int,
    acked: Acknowledged,
    token: str,
) -> None:
    case = WRITE_CASE.format(writer=writer, n=n)
    lat, lon = rng.choice(plan.points)
    # Requests only for cameras this officer's own search in the case found (issue 15), as an officer would.
    found = tally.call(
        "write: near search before requests",
        http,
        "GET",
        f"{plan.base}/api/v1/cameras/near",
        200,
        params={
            "lat": lat,
            "lon": lon,
            "radius_m": 200,
            "at": plan.incident_at,
            "case_ref": case,
            "reason": SEARCH_REASON,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    if found is None or not found.json()["cameras"]:
        return
    ids = [c["camera_id"] for c in found.json()["cameras"]]
    cameras = rng.sample(ids, min(len(ids), rng.randint(1, 3)))
    body = {
        "case_ref": case,
        "reason": REQUEST_REASON,
        "camera_ids": cameras,
        "incident_lat": lat,
        "incident_lon": lon,
        "incident_from": plan.incident_at,
        "incident_to": plan.incident_at,
    }
    answer = tally.call(
        "write: create requests",
        http,
        "POST",
        f"{plan.base}/api/v1/requests",
        201,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    if answer is None:
        return
    acked.batches += 1
    for r in answer.json()["requests"]:
        acked.requests[r["request_id"]] = {"case": case, "camera": r["camera_id"], "statuses": ["sent"]}


def _change_status(
    tally: Tally,
    plan: Plan,
    http: requests.Session,
    rng: random.Random,
    acked: Acknowledged,
    request_id: int,
    token: str,
) -> None:
    statuses = acked.requests[request_id]["statuses"]
    new = rng.choice(NEXT_STATUS[statuses[-1]])
    body = {"status": new, "note": f"Soak test: the owner's answer, step {len(statuses)}"}
    if new == "footage_provided":
        body["footage_useful"] = rng.random() < 0.5
    answer = tally.call(
        "write: change status",
        http,
        "PATCH",
        f"{plan.base}/api/v1/requests/{request_id}",
        200,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    if answer is None:
        return
    if answer.json()["status"] != new:
        with tally.lock:
            tally.failures.append(f"write: change status: asked for {new}, answered {answer.json()['status']}")
        return
    statuses.append(new)
    acked.changes += 1


def writer(tally: Tally, plan: Plan, start: threading.Barrier, w: int, acked: Acknowledged) -> None:
    rng = random.Random(1000 + w)
    token = plan.officer_tokens[w % len(plan.officer_tokens)]
    # The owner's browser and the officer's API client are different clients (their own cookies).
    browser, api = _client(), _client()
    start.wait()
    n = 0
    while time.monotonic() < plan.deadline:
        n += 1
        open_ids = [i for i, r in acked.requests.items() if r["statuses"][-1] in NEXT_STATUS]
        roll = rng.random()
        if roll < 0.4:
            _register(tally, plan, browser, rng, w, n, acked)
        elif roll < 0.7 or not open_ids:
            _create_requests(tally, plan, api, rng, w, n, acked, token)
        else:
            _change_status(tally, plan, api, rng, acked, rng.choice(open_ids), token)
    browser.close()
    api.close()


# --------------------------------------------------------------------------- readers


def _log_in(tally: Tally, plan: Plan, http: requests.Session, username: str, password: str) -> bool:
    page = tally.call("read: login form", http, "GET", f"{plan.base}/login", 200)
    if page is None:
        return False
    form = {"username": username, "password": password, "csrf_token": CSRF.search(page.text).group(1), "next": "/"}
    return tally.call("write: login", http, "POST", f"{plan.base}/login", 302, data=form) is not None


def _router(path: str) -> dict:
    return {
        "output": "shell-content.children",
        "outputs": {"id": "shell-content", "property": "children"},
        "inputs": [{"id": "shell-url", "property": "pathname", "value": path}],
        "changedPropIds": ["shell-url.pathname"],
        "state": [],
    }


def reader(tally: Tally, plan: Plan, start: threading.Barrier, r: int, searches_ok: list[int]) -> None:
    rng = random.Random(5000 + r)
    http = _client()
    kind = ("near", "near", "near", "near", "dashboard", "dashboard", "dashboard", "coverage", "coverage", "public")[
        r % 10
    ]
    officer_token = plan.officer_tokens[r % len(plan.officer_tokens)]
    start.wait()
    if kind == "dashboard" and not _log_in(tally, plan, http, *OFFICERS[r % len(OFFICERS)]):
        return
    while time.monotonic() < plan.deadline:
        if kind == "near":
            lat, lon = rng.choice(plan.points)
            query = {
                "lat": lat,
                "lon": lon,
                "radius_m": rng.choice([100, 200, 500]),
                "at": plan.incident_at,
                "case_ref": READ_CASE.format(reader=r),
                "reason": SEARCH_REASON,
            }
            if (
                tally.call(
                    "read: near search (audited)",
                    http,
                    "GET",
                    f"{plan.base}/api/v1/cameras/near",
                    200,
                    params=query,
                    headers={"Authorization": f"Bearer {officer_token}"},
                )
                is not None
            ):
                searches_ok[r] += 1
        elif kind == "dashboard":
            tally.call("read: dashboard page", http, "GET", f"{plan.base}/search", 200)
            tally.call("read: _dash-layout", http, "GET", f"{plan.base}/_dash-layout", 200)
            tally.call(
                "read: page callback",
                http,
                "POST",
                f"{plan.base}/_dash-update-component",
                200,
                json=_router(rng.choice(["/", "/search", "/cases"])),
            )
        elif kind == "coverage":
            tally.call(
                "read: coverage cells",
                http,
                "GET",
                f"{plan.base}/api/v1/coverage/cells",
                200,
                params={"res": rng.choice([7, 8, 9])},
                headers={"Authorization": f"Bearer {plan.analyst_token}"},
            )
        else:
            tally.call("read: public register page", http, "GET", f"{plan.base}/register", 200)
            tally.call(
                "read: postcode lookup",
                http,
                "GET",
                f"{plan.base}/register/postcode",
                200,
                params={"postcode": rng.choice(plan.postcodes)},
            )
    http.close()


# --------------------------------------------------------------------------- the server


@pytest.fixture
def server(tmp_path, reference_dir):
    """``python app.py`` in demo mode, as the README runs it: builds a small demo register, then serves with gunicorn."""
    db = tmp_path / "soak.db"
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "soak-test-" + "s" * 40,
        "DEMO": "1",
        "DEMO_REGISTRATIONS": str(DEMO_REGISTRATIONS),
        "DEMO_SEED": "11",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_WORKERS": str(WEB_WORKERS),
        "WEB_THREADS": str(WEB_THREADS),
        # Every client here shares one address: the default (30 per hour) would answer most
        # registrations with 429, which is the limiter working, not what this test measures.
        "REGISTRATION_RATE_LIMIT": "100000 per minute",
        # Likewise eight officer tokens run thousands of searches a minute here.
        "SEARCH_RATE_LIMIT": "1000000 per minute",
    }
    env.pop("TILE_URL", None)
    out, err = tmp_path / "server.out", tmp_path / "server.err"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, stdout=stdout, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    launched = time.monotonic()
    try:
        deadline = launched + 240
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}: {err.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer within 240 s: {err.read_text()[-2000:]}")
            try:
                if requests.get(f"{base}/login", timeout=5).status_code == 200:
                    started_s = time.monotonic() - launched
                    break
            except requests.RequestException:  # not listening yet, or a worker still starting
                pass
            time.sleep(0.2)  # polling for readiness, not waiting a guessed time
        yield {"base": base, "db": db, "proc": proc, "stderr": err, "started_s": started_s}
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _stop(proc: subprocess.Popen) -> int:
    proc.terminate()  # gunicorn finishes the requests in hand and exits
    return proc.wait(30)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000


# --------------------------------------------------------------------------- the test


@pytest.mark.soak
def test_twenty_writers_and_a_hundred_readers_for_a_minute_see_no_lock_and_lose_no_write(server, reference):
    began = time.monotonic()
    engine = make_engine(f"sqlite:///{server['db']}")
    sessions = session_factory(engine)
    rng = random.Random(7)
    with transaction(sessions) as s:
        officer_tokens = [issue_token(s, OFFICERS[i % 2][0]) for i in range(8)]
        analyst_token = issue_token(s, "analyst.demo")
    with sessions() as s:
        cameras = s.scalars(
            sa.select(Camera.id).join(Site).join(Registrant).where(Camera.active, Registrant.status == "active")
        ).all()
        points = s.execute(
            sa.select(Site.lat, Site.lon).join(Registrant).where(Registrant.status == "active", Site.lat.is_not(None))
        ).all()
        audit_before = s.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0
        audit_rows_before = s.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    postcodes = reference.postcodes["postcode"].sample(300, random_state=3).tolist()
    incident_at = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat(timespec="seconds")

    tally = Tally()
    start = threading.Barrier(WRITERS + READERS + 1)
    plan = Plan(
        server["base"],
        0.0,
        postcodes,
        rng.sample(list(cameras), 600),
        [tuple(p) for p in points],
        officer_tokens,
        analyst_token,
        incident_at,
    )
    acked = [Acknowledged() for _ in range(WRITERS)]
    searches_ok = [0] * READERS
    threads = [
        threading.Thread(target=writer, args=(tally, plan, start, w, acked[w]), daemon=True) for w in range(WRITERS)
    ]
    threads += [
        threading.Thread(target=reader, args=(tally, plan, start, r, searches_ok), daemon=True) for r in range(READERS)
    ]
    for t in threads:
        t.start()
    plan.deadline = time.monotonic() + SOAK_SECONDS
    start.wait()
    soak_began = time.monotonic()
    for t in threads:
        t.join(SOAK_SECONDS + 2 * TIMEOUT[1])
    soak_s = time.monotonic() - soak_began
    assert not any(t.is_alive() for t in threads), "a client thread never finished"
    assert _stop(server["proc"]) == 0
    stderr = server["stderr"].read_text()

    # ------------------------------------------------------------ what the database holds now
    registrations = {ref: sent for a in acked for ref, sent in a.registrations.items()}
    footage = {rid: sent for a in acked for rid, sent in a.requests.items()}
    batches, changes = sum(a.batches for a in acked), sum(a.changes for a in acked)
    with sessions() as s:
        stored = {
            r.reference: (r.email, r.status, r.site.postcode, len(r.site.cameras))
            for r in s.scalars(sa.select(Registrant).where(Registrant.email.like("soak.%@example.org")))
        }
        new_registrant_ids = set(s.scalars(sa.select(Registrant.id).where(Registrant.email.like("soak.%@example.org"))))
        # The API names requests and cameras by their public ids: the stored rows are read by them too.
        camera_public = dict(s.execute(sa.select(Camera.id, Camera.public_id)).tuples().all())
        soak_requests = list(s.scalars(sa.select(FootageRequest).where(FootageRequest.case_ref.like("SK-%"))))
        request_public = {r.id: r.public_id for r in soak_requests}
        requests_stored = {r.public_id: (r.case_ref, camera_public[r.camera_id], r.status) for r in soak_requests}
        events = defaultdict(list)
        for request_id, status in s.execute(
            sa.select(FootageRequestEvent.request_id, FootageRequestEvent.status)
            .join(FootageRequest)
            .where(FootageRequest.case_ref.like("SK-%"))
            .order_by(FootageRequestEvent.id)
        ):
            events[request_public[request_id]].append(status)
        new_audit = s.execute(
            sa.select(AuditEvent.action, AuditEvent.case_ref, AuditEvent.subject_ids, AuditEvent.detail).where(
                AuditEvent.id > audit_before
            )
        ).all()
        chain = audit.verify_chain(s)
        # No half-written registration: every new site has cameras (and, by its foreign key, a registrant).
        bare_sites = s.scalar(
            sa.select(sa.func.count())
            .select_from(Site)
            .outerjoin(Camera)
            .where(Site.registrant_id.in_(new_registrant_ids), Camera.id.is_(None))
        )
    engine.dispose()
    actions = Counter(a.action for a in new_audit)
    created_ids = {int(i) for a in new_audit if a.action == "registration_created" for i in json.loads(a.subject_ids)}
    batch_ids = [
        request_public.get(rid)
        for a in new_audit
        if a.action == "request_created"
        for rid in json.loads(a.detail)["request_ids"]
    ]
    searches = Counter(a.case_ref for a in new_audit if a.action == "search")

    # ------------------------------------------------------------ figures
    lines = [
        f"SQLite soak: {WRITERS} writers, {READERS} readers, {soak_s:.1f} s against {WEB_WORKERS} gunicorn "
        f"workers x {WEB_THREADS} threads; server start-up (demo register of {DEMO_REGISTRATIONS}) "
        f"{server['started_s']:.1f} s, then {time.monotonic() - began:.1f} s",
        f"{'kind':<34}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}  statuses",
    ]
    for kind in sorted(tally.statuses):
        lat = tally.latencies[kind]
        lines.append(
            f"{kind:<34}{sum(tally.statuses[kind].values()):>9}{_pct(lat, 0.5) if lat else 0:>9.0f}"
            f"{_pct(lat, 0.95) if lat else 0:>9.0f}  {dict(tally.statuses[kind])}"
        )
    lines.append(f"errors: {len(tally.failures)}; server stderr lines: {len(stderr.splitlines())}")
    lines.append(
        f"acknowledged: {len(registrations)} registrations, {batches} request batches ({len(footage)} "
        f"requests), {changes} status changes; found: {len(set(stored) & set(registrations))} registrations, "
        f"{len(set(requests_stored) & set(footage))} requests; audit chain {chain.rows_checked} rows, "
        f"{'intact' if chain.intact else f'broken at {chain.first_broken_id}'}; "
        f"search rows {sum(v for k, v in searches.items() if k and k.startswith('RD-'))} for "
        f"{sum(searches_ok)} searches"
    )
    report = "\n".join(lines)
    print("\n" + report)
    (PROJECT_ROOT / "test-artifacts").mkdir(exist_ok=True)
    (PROJECT_ROOT / "test-artifacts" / "sqlite-soak.txt").write_text(report + "\n")

    # ------------------------------------------------------------ what a user saw
    too_many = sum(c[429] for c in tally.statuses.values())
    assert too_many == 0, (
        f"{too_many} answers 429: a rate limit answered, not the database (see REGISTRATION_RATE_LIMIT)"
    )
    assert tally.failures == [], f"{len(tally.failures)} failed requests, first ones: {tally.failures[:5]}"
    assert not [k for k, c in tally.statuses.items() for status in c if status == "exception" or status >= 500]
    bad_lines = [
        line for line in stderr.splitlines() if BAD_TEXT.search(line) or "[ERROR]" in line or "[CRITICAL]" in line
    ]
    assert bad_lines == [], f"server stderr: {bad_lines[:10]}"
    # Every kind of request really ran, for the whole time asked.
    assert soak_s >= SOAK_SECONDS
    assert len(registrations) > 0 and batches > 0 and changes > 0 and sum(searches_ok) > 0
    assert all(sum(tally.statuses[kind].values()) > 0 for kind in KINDS), set(KINDS) - set(tally.statuses)

    # ------------------------------------------------------------ no write lost, nothing extra
    assert {
        ref: (sent["email"], "active", sent["postcode"], sent["cameras"]) for ref, sent in registrations.items()
    } == stored
    assert created_ids == new_registrant_ids and actions["registration_created"] == len(registrations)
    assert {
        rid: (sent["case"], sent["camera"], sent["statuses"][-1]) for rid, sent in footage.items()
    } == requests_stored
    assert {rid: sent["statuses"] for rid, sent in footage.items()} == dict(events)
    assert sorted(batch_ids) == sorted(footage) and actions["request_created"] == batches
    assert actions["request_status"] == changes
    assert bare_sites == 0

    # ------------------------------------------------------------ the audit log
    assert chain.intact and chain.rows_checked == audit_rows_before + len(new_audit)
    read_cases = {READ_CASE.format(reader=r) for r in range(READERS)}
    assert {k: v for k, v in searches.items() if k in read_cases} == {
        READ_CASE.format(reader=r): n for r, n in enumerate(searches_ok) if n
    }
    # the writers' searches before their requests (issue 15), each logged under its own case
    assert (
        sum(v for k, v in searches.items() if k not in read_cases)
        == tally.statuses["write: near search before requests"][200]
    )
    # every coverage query answered to the analyst's readers is logged (issue 14: probing is visible)
    logged_cells = sum(
        1
        for a in new_audit
        if a.action == "aggregate_query" and json.loads(a.detail)["route"] == "/api/v1/coverage/cells"
    )
    assert logged_cells == tally.statuses["read: coverage cells"][200] > 0


# --------------------------------------------------------------------------- two writers, one check


RACES = 25
T0 = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)


def _small_register(engine) -> tuple[audit.Actor, list[int]]:
    """One officer and one site with RACES cameras on the active register."""
    with transaction(session_factory(engine)) as s:
        officer = User(username="racer1", password_hash="x", role="officer", active=True)
        owner = Registrant(
            reference="REF-RACE",
            name="Ann Example",
            email="ann@example.org",
            preferred_channel="email",
            consent_at=T0,
            status="active",
            last_confirmed_at=T0,
        )
        site = Site(
            registrant=owner,
            kind="home",
            address="1 High Street",
            postcode="ST16 2AA",
            lat=52.806,
            lon=-2.117,
            easting_m=392400.0,
            northing_m=322900.0,
            district_code="E07000197",
            h3_r7="871f1d4aeffffff",
            h3_r8="881f1d4ae1fffff",
            h3_r9="891f1d4ae03ffff",
        )
        site.cameras = [
            Camera(kind="doorbell", placement="outdoor", recording_mode="motion", retention_days=30, active=True)
            for _ in range(RACES)
        ]
        s.add_all([officer, owner])
        s.flush()
        return audit.Actor(officer.id, officer.username, officer.role), [c.id for c in site.cameras]


def _at_once(*work) -> list[object]:
    """Run each callable in its own thread, released together; what each returned or raised."""
    gate = threading.Barrier(len(work))
    results: list[object] = [None] * len(work)

    def run(i, job):
        gate.wait()
        try:
            results[i] = job()
        except casework.CaseworkError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(work)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_officers_writing_at_the_same_moment_cannot_both_pass_one_check(engine):
    """Two status changes of one request, or two requests for one camera in one case, sent at the
    same moment: exactly one is accepted and the other is refused with its reason, on SQLite as on
    PostgreSQL. (On SQLite, reads before a transaction's first write run outside it, so both
    writers used to read "sent" / "no request yet" and both were accepted.)"""
    officer, cameras = _small_register(engine)
    sessions = session_factory(engine)
    window = {
        "incident_lat": 52.806,
        "incident_lon": -2.117,
        "incident_district_code": None,
        "crime_category": None,
        "incident_from": T0,
        "incident_to": T0,
    }

    def create(case: str, camera: int):
        def job():
            with transaction(sessions) as s:
                return [
                    r.id
                    for r in casework.create_requests(
                        s,
                        officer,
                        case_ref=case,
                        reason=REQUEST_REASON,
                        camera_ids=[camera],
                        now=dt.datetime.now(dt.UTC),
                        **window,
                    )
                ]

        return job

    def change(request_id: int, status: str):
        def job():
            with transaction(sessions) as s:
                return casework.change_status(
                    s, officer, request_id=request_id, new_status=status, now=dt.datetime.now(dt.UTC)
                ).status

        return job

    for i in range(RACES):
        case = f"CR-2026-{i:06d}"
        with transaction(sessions) as s:  # the officer's search in the case that found the camera
            casework.log_search(
                s,
                officer,
                case_ref=case,
                reason=REQUEST_REASON,
                lat=52.806,
                lon=-2.117,
                radius_m=200,
                incident_at=None,
                result_count=1,
                source="api",
                camera_ids=[cameras[i]],
            )
        created = _at_once(create(case, cameras[i]), create(case, cameras[i]))
        assert sorted(type(r).__name__ for r in created) == ["CaseworkError", "list"], created
        assert "already has a request" in str(next(r for r in created if isinstance(r, Exception)))
        request_id = next(r for r in created if isinstance(r, list))[0]
        changed = _at_once(change(request_id, "declined"), change(request_id, "footage_provided"))
        assert sorted(type(r).__name__ for r in changed) == ["CaseworkError", "str"], changed
        assert "cannot become" in str(next(r for r in changed if isinstance(r, Exception)))
        with sessions() as s:
            winner = next(r for r in changed if isinstance(r, str))
            assert s.get(FootageRequest, request_id).status == winner
            assert s.scalars(
                sa.select(FootageRequestEvent.status)
                .where(FootageRequestEvent.request_id == request_id)
                .order_by(FootageRequestEvent.id)
            ).all() == ["sent", winner]
    with sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(FootageRequest)) == RACES
        actions = Counter(s.scalars(sa.select(AuditEvent.action)))
        assert (actions["request_created"], actions["request_status"]) == (RACES, RACES)
        assert audit.verify_chain(s).intact


def test_one_form_submitted_twice_at_the_same_moment_is_seen_as_a_repeat(engine, reference):
    """A double-click on the public form's submit: both are kept (a repeat is answered as any
    registration, issue 15 item 5), and the check for an earlier one holds the write lock, so
    exactly one of the two sees the other and its owner is told; without the lock both could miss."""
    from dashboard.registry import registration

    sessions = session_factory(engine)
    postcode = str(reference.postcodes["postcode"].iloc[0])

    def submit(i: int):
        data = registration.RegistrationIn.model_validate(
            {
                "name": "Ann Example",
                "address": "1 High Street",
                "email": f"owner{i}@example.org",
                "preferred_channel": "email",
                "site_kind": "home",
                "postcode": postcode,
                "consent": True,
                "cameras": [{"kind": "doorbell", "placement": "outdoor", "recording_mode": "motion"}],
            },
            context={"reference": reference},
        )

        def job():
            with transaction(sessions) as s:
                return registration.register(s, data, reference, via="form")

        return job

    for i in range(RACES):
        results = _at_once(submit(i), submit(i))
        assert sorted(r.repeat_of is None for r in results) == [False, True], results
        assert {r.repeat_of for r in results} - {None} == {
            next(r.registrant_id for r in results if r.repeat_of is None)
        }
    with sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Registrant)) == 2 * RACES
        assert Counter(s.scalars(sa.select(AuditEvent.action)))["registration_created"] == 2 * RACES
