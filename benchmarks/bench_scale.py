"""Issue 19's scale-out figures for whole running apps, each beside a baseline app in the same run:
start-up, the first (cold) request of every analyst/lead route on each worker, the officer search,
and the server's memory, with a verdict per acceptance target.

Usage::

    python -m benchmarks.bench_scale \\
        --app sqlite=sqlite:////tmp/demo1m.db --app pg=postgresql+psycopg://u@host:5432/db1m
    python -m benchmarks.bench_scale --app pg1m=postgresql+psycopg://u@host/db1m \\
        --app pg10m=postgresql+psycopg://u@host/db10m

Build the registries first, e.g. ``DATABASE_URL=... python -m dashboard demo --seed 3 --registrations
620000 --as-of 2026-11-29`` (~1M cameras, with the police.uk crimes shipped in the reference data)
on each backend, or with ``benchmarks.bench_demo`` (whose builds have no crimes: import them with
``python -m dashboard crimes import data/reference/staffordshire/police_uk/*.csv``, else the gap
analysis answers 400, too few crimes). The first ``--app`` is the reference: every figure of the
others is also printed as a ratio to it.

Each ``--app NAME=DATABASE_URL`` is started as the README says (``python app.py --no-demo``:
gunicorn, ``WEB_WORKERS`` 2 unless ``--env NAME:WEB_WORKERS=4``, 4 threads each,
``OUTBOX_WORKER=false``, ``SEARCH_RATE_LIMIT`` lifted), one app after another so that no start
competes with another, and left running. For each it prints the time until the port listens,
until every worker has answered a request, and until every worker has gone idle (start-up work in
the background counts as start-up; ``--settle`` caps that wait). Then, route by route (the apps'
order rotated per route, so a busy spell on a shared machine falls on all of them), each worker's
first request of the route (cold), asked on a connection that worker itself accepted (found from
``/proc/net/tcp`` and the worker's open files, so "worker 1" and "worker 2" are known, not
guessed), the workers one after another (``--together``: at the same moment), then ``--warm``
more per worker (warm); the progress lines add each worker's CPU seconds during its cold request
(the rest of the time is the database's, or waiting). The routes are what the analysts' and leads' pages call
(``dashboard/pages/coverage.py``, ``gaps.py``, ``uptake.py``, ``home.py``): the coverage cells at
H3 resolutions 7, 8 and 9 (and res 8 with one camera filter), the coverage areas per district and
per LSOA, ``/api/v1/summary``, the uptake and request metrics (``--from``/``--to``, default the
demo's pilot), all with a lead token, and the gap analysis export the analyst page links to
(``/gaps/export/areas.csv``, all months and types, 100 m, LSOAs; analyst session), then the
officer search (``/api/v1/cameras/near``, 200 m, a point at a registered site). The pages'
callbacks call the same ``dashboard.figures`` functions as these routes, so a route's time is
its page callback's time plus the JSON and the HTTP round trip.

Then the officer search, round by round (order rotated): 1 client over 100 points at registered
sites, then ``--clients`` concurrent clients (default 8) over ``--requests`` more (``bench_api``'s
client: separate client processes, kept-alive connections). Points are sampled by site id with
the same seed in every app (demos of the same size and seed give the same points). Memory: RSS and
PSS (``/proc/PID/smaps_rollup``) of the master and each worker after start-up, after every
analyst/lead route was used, and at the end; the total PSS is the server's memory (RSS counts the
pages the processes share once per process).

The verdict lines name issue 19's acceptance targets: at ~1M cameras no cold first request over
1 s on any worker after start-up and total server memory under 1 GB with 2 workers, 8-client
p95 within 1.5x of the first app and 1-client median under 10 ms; at 10M cameras search p95 under
50 ms with 1 client and every analyst/lead page's callback (here: its route, cold and warm)
under 1 s. Nothing is asserted: the figures are printed, with the machine's load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import http.cookiejar
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from benchmarks.bench_api import (  # noqa: E402
    OFFICER,
    OFFICER_PASSWORD,
    _free_port,
    _near_url,
    api_concurrent,
)

LEAD, LEAD_PASSWORD = "lead.demo", "demo-lead-2026"
ANALYST, ANALYST_PASSWORD = "analyst.demo", "demo-analyst-2026"
USER_AGENT = "ccr-bench-scale"
PILOT_START, AS_OF = dt.date(2026, 4, 13), dt.date(2026, 11, 29)  # bench_demo's pilot
COLD_TARGET_S, MEMORY_TARGET_MB, SEARCH_P95_TARGET_MS, PAGE_TARGET_S = 1.0, 1024, 50, 1.0
RATIO_TARGET, ONE_CLIENT_MEDIAN_TARGET_MS = 1.5, 10


@dataclass
class Route:
    label: str
    who: str  # "lead", "analyst" (session) or "officer"
    paths: list[str]  # request i asks paths[i % len(paths)]


@dataclass
class App:
    name: str
    url: str
    code: Path
    env: dict
    proc: subprocess.Popen | None = None
    port: int = 0
    cameras: int = 0
    crimes: int = 0
    workers: list[int] = field(default_factory=list)
    listen_s: float = 0.0
    answered_s: dict = field(default_factory=dict)
    idle_s: float | None = None
    headers: dict = field(default_factory=dict)  # who -> request headers
    memory: dict = field(default_factory=dict)  # when -> [(process, pid, rss, pss)]
    cold: dict = field(default_factory=dict)  # route label -> {worker index: (status, s, bytes)}
    cold_cpu: dict = field(default_factory=dict)  # route label -> {worker index: CPU s during the cold requests}
    warm: dict = field(default_factory=dict)  # route label -> [(status, s, bytes)]
    search: list = field(default_factory=list)  # per round (1 client, n clients)
    log: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# --------------------------------------------------------------------------- processes


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory_mb(pid: int) -> tuple[float, float]:
    rss = pss = 0.0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
    return rss, pss


def _snapshot_memory(app: App, when: str) -> None:
    rows = [("master", app.proc.pid, *_memory_mb(app.proc.pid))]
    rows += [(f"worker {i}", w, *_memory_mb(w)) for i, w in enumerate(app.workers, 1) if Path(f"/proc/{w}").exists()]
    app.memory[when] = rows


def _server_inode(server_port: int, client_port: int) -> int:
    """The inode of the server's end of our connection (0 while it waits in the accept queue)."""
    local, remote = f":{server_port:04X}", f":{client_port:04X}"
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if parts[1].endswith(local) and parts[2].endswith(remote):
                return int(parts[9])
    return 0


def _holder(inode: int, pids: list[int]) -> int | None:
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                pass
    return None


def connect_to(app: App, worker: int, timeout_s: float = 600) -> http.client.HTTPConnection:
    """A connection accepted by ``worker`` (one of the app's worker processes): connections are
    opened until that worker accepts one; the others are held meanwhile (so the same free
    worker does not take every try) and closed unused."""
    held: list[http.client.HTTPConnection] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if worker in app.workers and not Path(f"/proc/{worker}").exists():
                index = app.workers.index(worker)
                _replace_lost_workers(app)
                worker = app.workers[index]
            conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=900)
            conn.connect()
            client_port = conn.sock.getsockname()[1]
            accepted_by = None
            wait_until = time.monotonic() + min(30.0, max(0.0, deadline - time.monotonic()))
            while accepted_by is None and time.monotonic() < wait_until:
                inode = _server_inode(app.port, client_port)
                if inode:
                    accepted_by = _holder(inode, _children(app.proc.pid))
                if accepted_by is None:
                    time.sleep(0.005)
                    if app.proc.poll() is not None:
                        raise SystemExit(f"{app.name}: the app stopped; see {app.log}")
            if accepted_by == worker:
                return conn
            if accepted_by is not None and accepted_by not in app.workers:
                print(f"  {app.name}: a new worker {accepted_by} (one was restarted?)", flush=True)
            held.append(conn)
            if len(held) > 16:
                held.pop(0).close()
        raise SystemExit(f"{app.name}: worker {worker} accepted no connection in {timeout_s:.0f} s")
    finally:
        for c in held:
            c.close()


def timed(conn: http.client.HTTPConnection, path: str, headers: dict) -> tuple[int, float, int]:
    """(status, seconds to the last byte, bytes) of one GET on ``conn``, which is then closed."""
    started = time.perf_counter()
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        status, body = 0, b""
    seconds = time.perf_counter() - started
    conn.close()
    return status, seconds, len(body)


# --------------------------------------------------------------------------- set-up


def _engine(url: str):
    import sqlalchemy as sa

    return sa.create_engine(url)


def _counts(url: str) -> tuple[int, int]:
    """Active cameras, and crimes placed on the map (the gap analysis needs GAP_MIN_CRIMES, 50)."""
    import sqlalchemy as sa

    engine = _engine(url)
    with engine.connect() as conn:
        cameras = conn.execute(sa.text("SELECT count(*) FROM camera WHERE active = :t"), {"t": True}).scalar()
        crimes = conn.execute(sa.text("SELECT count(*) FROM crime WHERE lat IS NOT NULL")).scalar()
    engine.dispose()
    return int(cameras), int(crimes)


def sites(url: str, n: int, seed: int) -> list[tuple[float, float]]:
    """``n`` registered sites' (lat, lon), drawn by id with ``seed`` (the same ids, hence the same
    points, in demos of the same size and seed; cheap at any size)."""
    import sqlalchemy as sa

    engine = _engine(url)
    rng = random.Random(seed)
    with engine.connect() as conn:
        low, high = conn.execute(sa.text("SELECT min(id), max(id) FROM site")).one()
        out: list[tuple[float, float]] = []
        while len(out) < n:
            ids = rng.sample(range(low, high + 1), min(high - low + 1, 3 * (n - len(out)) + 10))
            found = dict(
                (row[0], (row[1], row[2]))
                for row in conn.execute(
                    sa.text("SELECT id, lat, lon FROM site WHERE id IN :ids AND lat IS NOT NULL").bindparams(
                        sa.bindparam("ids", expanding=True)
                    ),
                    {"ids": ids},
                )
            )
            out.extend(found[i] for i in ids if i in found)
    engine.dispose()
    return out[:n]


def _token(app: App, user: str, password: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "token", "issue", user],
        cwd=app.code,
        env=app.env,
        input=password + "\n",
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{app.name}: could not issue a token for {user}: {done.stderr.strip()[-400:]}")
    return done.stdout.strip()


def _session_headers(app: App, user: str, password: str) -> dict:
    """The headers of a logged-in browser: its session cookie, and its User-Agent (the session is
    bound to the browser that logged in: Flask-Login's strong session protection)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"{app.base}/login", timeout=300).read().decode()
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    opener.open(
        f"{app.base}/login",
        data=urllib.parse.urlencode({"username": user, "password": password, "csrf_token": csrf, "next": "/"}).encode(),
        timeout=300,
    ).read()
    return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in jar), "User-Agent": USER_AGENT}


def start(app: App, workers: int, settle_s: float) -> None:
    """Start the app, wait until it listens, every worker has answered, and the workers are idle."""
    app.port = _free_port()
    app.env["PORT"] = str(app.port)
    app.log = Path(tempfile.gettempdir()) / f"bench-scale-{app.name}-{app.port}.log"
    started = time.monotonic()
    app.proc = subprocess.Popen(
        [sys.executable, "app.py", "--no-demo"],
        cwd=app.code,
        env=app.env,
        stdout=open(app.log, "w"),  # noqa: SIM115 - lives with the app
        stderr=subprocess.STDOUT,
    )
    while True:
        try:
            with socket.create_connection(("127.0.0.1", app.port), timeout=1):
                break
        except OSError:
            if app.proc.poll() is not None:
                raise SystemExit(f"{app.name}: the app stopped before listening; see {app.log}") from None
            if time.monotonic() - started > 900:
                raise SystemExit(f"{app.name}: not listening after 900 s; see {app.log}") from None
            time.sleep(0.1)
    app.listen_s = time.monotonic() - started
    while len(_children(app.proc.pid)) < workers:
        if app.proc.poll() is not None:
            raise SystemExit(f"{app.name}: the app stopped; see {app.log}")
        time.sleep(0.1)
    app.workers = _children(app.proc.pid)[:workers]
    floor = "/api/v1/openapi.json"
    for w in app.workers:
        status, _, _ = timed(connect_to(app, w), floor, app.headers["lead"])
        app.answered_s[w] = time.monotonic() - started
        if status != 200:
            print(f"  {app.name}: worker {w} answered {floor} with {status}", flush=True)
    # Start-up ends when every worker is idle (under 5% of a core for 1 s): work a worker does in
    # the background after its first answer (warming caches) is start-up, not a cold request.
    while time.monotonic() - started < settle_s:
        before = [_cpu_s(w) for w in app.workers]
        time.sleep(1)
        if all(_cpu_s(w) - b < 0.05 for w, b in zip(app.workers, before)):
            app.idle_s = time.monotonic() - started
            break
    _snapshot_memory(app, "after start-up")


# --------------------------------------------------------------------------- measuring


def routes(first: dt.date, last: dt.date, points: list[tuple[float, float]]) -> list[Route]:
    span = urllib.parse.urlencode({"from": first.isoformat(), "to": last.isoformat()})
    lead = [
        ("summary (home page; /api/v1/summary)", "/api/v1/summary"),
        ("coverage cells res 7", "/api/v1/coverage/cells?res=7"),
        ("coverage cells res 8", "/api/v1/coverage/cells?res=8"),
        ("coverage cells res 9", "/api/v1/coverage/cells?res=9"),
        ("coverage cells res 8, doorbells", "/api/v1/coverage/cells?res=8&kind=doorbell"),
        ("coverage areas, districts, 100 m", "/api/v1/coverage/areas?level=district&near_m=100"),
        ("coverage areas, LSOAs, 100 m", "/api/v1/coverage/areas?level=lsoa&near_m=100"),
        ("uptake metrics", f"/api/v1/metrics/uptake?{span}"),
        ("request metrics", f"/api/v1/metrics/requests?{span}"),
    ]
    return [
        *(Route(label, "lead", [path]) for label, path in lead),
        Route(
            "gap analysis export (LSOA CSV, 100 m)",
            "analyst",
            ["/gaps/export/areas.csv?period=all&type=all&radius=100&level=lsoa"],
        ),
        Route("officer search (200 m, at a site)", "officer", [_near_url("", lat, lon) for lat, lon in points]),
    ]


def _replace_lost_workers(app: App) -> None:
    """A worker that died (gunicorn restarts one silent for 120 s) is replaced in ``app.workers``
    by its successor, with a note: its later figures are the new process's."""
    for i, w in enumerate(app.workers):
        if Path(f"/proc/{w}").exists():
            continue
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            new = [c for c in _children(app.proc.pid) if c not in app.workers]
            if new:
                app.workers[i] = new[0]
                print(f"  {app.name}: worker {i + 1} ({w}) is gone; its successor is {new[0]}", flush=True)
                break
            time.sleep(0.5)


def measure_route(app: App, route: Route, warm: int, together: bool) -> None:
    _replace_lost_workers(app)
    headers = app.headers[route.who]
    cold: dict[int, tuple] = {}
    before = {i: _cpu_s(w) for i, w in enumerate(app.workers, 1)}
    if together:
        conns = {i: connect_to(app, w) for i, w in enumerate(app.workers, 1)}
        threads = [
            threading.Thread(
                target=lambda i=i, c=c: cold.__setitem__(i, timed(c, route.paths[i % len(route.paths)], headers))
            )
            for i, c in conns.items()
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for i, w in enumerate(app.workers, 1):
            cold[i] = timed(connect_to(app, w), route.paths[i % len(route.paths)], headers)
    app.cold_cpu[route.label] = {i: _cpu_s(w) - before[i] for i, w in enumerate(app.workers, 1)}
    answers = []
    n = len(app.workers)
    for k in range(warm):
        for i, w in enumerate(app.workers, 1):
            answers.append(timed(connect_to(app, w), route.paths[(n + 1 + k * n + i) % len(route.paths)], headers))
    app.cold[route.label] = cold
    app.warm[route.label] = answers


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}" if seconds >= 0.1 else f"{seconds * 1000:.1f}"


def _status_note(answers) -> str:
    bad = sorted({a[0] for a in answers if a[0] != 200})
    return f" status {','.join(map(str, bad))}!" if bad else ""


# --------------------------------------------------------------------------- report


def _print_cold(apps: list[App], labels: list[str], together: bool) -> None:
    ref = apps[0]
    n = max(len(a.workers) for a in apps)
    print(
        f"\nFirst request of each route per worker (cold; {'all workers at once' if together else 'one worker after another'}), "
        f"then warm; ms to the last byte"
    )
    head = "".join(f"{f'worker {i}':>10}" for i in range(1, n + 1))
    print(f"{'route':<40} {'app':<10}{head} {'warm med':>9} {'warm max':>9} {'kB':>7} {'cold x':>7} {'warm x':>7}")
    for label in labels:
        for j, app in enumerate(apps):
            cold = app.cold.get(label, {})
            warm = app.warm.get(label, [])
            cells = "".join(f"{_ms(cold[i][1]) if i in cold else '-':>10}" for i in range(1, n + 1))
            worst_cold = max((c[1] for c in cold.values()), default=0.0)
            warm_med = statistics.median(a[1] for a in warm) if warm else 0.0
            warm_max = max((a[1] for a in warm), default=0.0)
            size = statistics.median(a[2] for a in [*cold.values(), *warm]) / 1e3 if cold else 0
            ratios = ""
            if app is not ref and ref.cold.get(label) and ref.warm.get(label):
                ref_cold = max(c[1] for c in ref.cold[label].values())
                ref_warm = statistics.median(a[1] for a in ref.warm[label])
                ratios = f" {worst_cold / ref_cold:>6.2f}x {warm_med / ref_warm:>6.2f}x"
            print(
                f"{label if j == 0 else '':<40} {app.name:<10}{cells} {_ms(warm_med):>9} {_ms(warm_max):>9} "
                f"{size:>7,.0f}{ratios}{_status_note([*cold.values(), *warm])}"
            )
    print("cold x / warm x: the slowest worker's cold request / the warm median, as a ratio to " + ref.name)


def _print_memory(apps: list[App]) -> None:
    ref_total = None
    print("\nServer memory, MB: RSS / PSS per process; total PSS is the server's memory")
    for when in ("after start-up", "after analyst/lead routes", "at the end (search too)"):
        for app in apps:
            rows = app.memory.get(when)
            if not rows:
                continue
            total_rss, total_pss = sum(r[2] for r in rows), sum(r[3] for r in rows)
            each = ", ".join(f"{r[0]} {r[2]:,.0f} / {r[3]:,.0f}" for r in rows)
            ratio = ""
            if app is apps[0]:
                ref_total = total_pss
            elif ref_total:
                ratio = f"  ({total_pss / ref_total:.2f}x {apps[0].name})"
            print(f"{when:<26} {app.name:<10} total RSS {total_rss:>7,.0f} PSS {total_pss:>7,.0f}{ratio}   [{each}]")


def _print_search(apps: list[App], clients: int) -> dict:
    ref = apps[0]

    def med(app, which, key):
        return statistics.median(r[which][key] for r in app.search)

    print(f"\nOfficer search, median over {len(ref.search)} rounds (ms); ratio to {ref.name}")
    print(
        f"{'app':<10} {'1c median':>9} {'1c p95':>8} {f'{clients}c median':>10} {f'{clients}c p95':>8} "
        f"{'req/s':>6} {'errors':>6} {'1c med x':>9} {f'{clients}c p95 x':>9}"
    )
    figures = {}
    for app in apps:
        row = [med(app, 0, "median_ms"), med(app, 0, "p95_ms"), med(app, 1, "median_ms"), med(app, 1, "p95_ms")]
        errors = sum(r[0]["errors"] + r[1]["errors"] for r in app.search)
        ratios = (row[0] / med(ref, 0, "median_ms"), row[3] / med(ref, 1, "p95_ms"))
        figures[app.name] = (*row, errors, ratios)
        print(
            f"{app.name:<10} {row[0]:9.1f} {row[1]:8.1f} {row[2]:10.1f} {row[3]:8.1f} {med(app, 1, 'per_s'):6.0f} "
            f"{errors:6} {ratios[0]:8.2f}x {ratios[1]:8.2f}x"
        )
    return figures


def _verdicts(apps: list[App], labels: list[str], search: dict, clients: int) -> None:
    ref = apps[0]
    analytics = [label for label in labels if not label.startswith("officer")]

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print("\nVerdicts (issue 19's acceptance targets; each app judged on its own figures)")
    for app in apps:
        print(f"{app.name} ({app.cameras:,} active cameras, {len(app.workers)} workers):")
        worst = max(
            ((s[1], label, i) for label in labels for i, s in app.cold.get(label, {}).items()), default=(0.0, "-", 0)
        )
        print(
            f"  [1M] no cold first request over {COLD_TARGET_S:.0f} s on any worker after start-up: "
            f"{met(worst[0] <= COLD_TARGET_S)} (slowest {_ms(worst[0])} ms: {worst[1]}, worker {worst[2]}, "
            f"which used {app.cold_cpu.get(worst[1], {}).get(worst[2], 0.0):.2f} s of CPU)"
        )
        rows = app.memory.get("at the end (search too)") or app.memory.get("after analyst/lead routes") or []
        pss = max(sum(r[3] for r in m) for m in app.memory.values()) if app.memory else 0.0
        rss = sum(r[2] for r in rows)
        two = "" if len(app.workers) == 2 else f" (the target is for 2 workers; this app ran {len(app.workers)})"
        print(
            f"  [1M] total server memory under {MEMORY_TARGET_MB / 1024:.0f} GB with 2 workers: "
            f"{met(pss < MEMORY_TARGET_MB)} (largest total PSS {pss:,.0f} MB; RSS at the end {rss:,.0f} MB){two}"
        )
        one_med, one_p95, _, many_p95, errors, ratios = search[app.name]
        if app is not ref:
            print(
                f"  [1M] search p95 with {clients} clients within {RATIO_TARGET}x of {ref.name}: "
                f"{met(ratios[1] <= RATIO_TARGET)} ({many_p95:.1f} ms, {ratios[1]:.2f}x)"
            )
        print(
            f"  [1M] search median with 1 client under {ONE_CLIENT_MEDIAN_TARGET_MS} ms: "
            f"{met(one_med < ONE_CLIENT_MEDIAN_TARGET_MS)} ({one_med:.1f} ms)"
        )
        print(
            f"  [10M] search p95 under {SEARCH_P95_TARGET_MS} ms with 1 client: "
            f"{met(one_p95 < SEARCH_P95_TARGET_MS and not errors)} ({one_p95:.1f} ms, median over rounds; {errors} errors)"
        )
        slow_cold = max(((max(c[1] for c in app.cold[label].values()), label) for label in analytics), default=(0, "-"))
        slow_warm = max(
            ((max(a[1] for a in app.warm[label]), label) for label in analytics if app.warm[label]), default=(0, "-")
        )
        failed = [
            label for label in analytics if any(a[0] != 200 for a in [*app.cold[label].values(), *app.warm[label]])
        ]
        print(
            f"  [10M] every analyst/lead page's callback under {PAGE_TARGET_S:.0f} s (its route, cold and warm): "
            f"{met(max(slow_cold[0], slow_warm[0]) < PAGE_TARGET_S and not failed)} (slowest cold {_ms(slow_cold[0])} ms: "
            f"{slow_cold[1]}; slowest warm {_ms(slow_warm[0])} ms: {slow_warm[1]})"
            + (f"; not 200: {', '.join(failed)}" if failed else "")
        )


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", action="append", required=True, help="NAME=DATABASE_URL; the first is the reference")
    parser.add_argument(
        "--code", action="append", default=[], help="NAME=DIR: run that app from another copy of the code"
    )
    parser.add_argument(
        "--env", action="append", default=[], help="NAME:KEY=VALUE, an environment variable for one app"
    )
    parser.add_argument("--warm", type=int, default=3, help="warm requests per route per worker")
    parser.add_argument(
        "--together", action="store_true", help="send each route's cold requests to all workers at once"
    )
    parser.add_argument("--settle", type=float, default=300, help="at most this many seconds waiting for idle workers")
    parser.add_argument("--rounds", type=int, default=3, help="officer search rounds")
    parser.add_argument("--requests", type=int, default=400, help="searches per concurrent run")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--from", dest="first", type=dt.date.fromisoformat, default=PILOT_START)
    parser.add_argument("--to", dest="last", type=dt.date.fromisoformat, default=AS_OF)
    args = parser.parse_args(argv)

    codes = dict(c.split("=", 1) for c in args.code)
    scratch = tempfile.TemporaryDirectory(prefix="ccr-bench-scale-")
    apps: list[App] = []
    for spec in args.app:
        name, url = spec.split("=", 1)
        extra = dict(e.split(":", 1)[1].split("=", 1) for e in args.env if e.split(":", 1)[0] == name)
        env = {**os.environ, **extra, "DATABASE_URL": url, "HOST": "127.0.0.1"}
        env.setdefault("WEB_WORKERS", "2")
        env.setdefault("SEARCH_RATE_LIMIT", "1000000 per minute")
        env.setdefault("OUTBOX_WORKER", "false")
        env.setdefault("SECRET_KEY", "benchmark-" + "k" * 40)
        env.setdefault("EVIDENCE_DIR", f"{scratch.name}/evidence-{name}")
        env.setdefault("AUDIT_CHECKPOINT_FILE", f"{scratch.name}/checkpoint-{name}.jsonl")
        apps.append(App(name, url, Path(codes.get(name, PROJECT_ROOT)), env))

    per_round = 100 + args.requests
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}  {time.strftime('%H:%M:%S')}")
    points: dict[str, list] = {}
    for app in apps:
        app.cameras, app.crimes = _counts(app.url)
        points[app.name] = sites(app.url, per_round * args.rounds + 20, seed=7)
        app.headers = {
            "lead": {"Authorization": f"Bearer {_token(app, LEAD, LEAD_PASSWORD)}"},
            "officer": {"Authorization": f"Bearer {_token(app, OFFICER, OFFICER_PASSWORD)}"},
        }
    plan = {app.name: routes(args.first, args.last, points[app.name][-20:]) for app in apps}
    labels = [r.label for r in plan[apps[0].name]]
    try:
        for app in apps:
            start(app, int(app.env["WEB_WORKERS"]), args.settle)
            answered = ", ".join(f"{s:.1f}" for s in app.answered_s.values())
            idle = f"{app.idle_s:.1f} s" if app.idle_s is not None else f"not within {args.settle:.0f} s"
            few = " (too few for the gap analysis: import some, see --help)" if app.crimes < 50 else ""
            print(
                f"{app.name}: {app.cameras:,} active cameras, {app.crimes:,} crimes{few}; listening after {app.listen_s:.1f} s; workers "
                f"{', '.join(map(str, app.workers))} first answered after {answered} s; idle after {idle}; "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        for app in apps:  # a session for the gap analysis export (the page's download links)
            app.headers["analyst"] = _session_headers(app, ANALYST, ANALYST_PASSWORD)
        for k, label in enumerate(labels):
            order = apps[k % len(apps) :] + apps[: k % len(apps)]
            for app in order:
                route = next(r for r in plan[app.name] if r.label == label)
                measure_route(app, route, args.warm, args.together)
                cold = app.cold[label]
                print(
                    f"  {label:<40} {app.name:<10} cold "
                    + ", ".join(f"w{i} {_ms(c[1])}" for i, c in cold.items())
                    + " ms (worker CPU s "
                    + ", ".join(f"{c:.2f}" for c in app.cold_cpu[label].values())
                    + f"); warm median {_ms(statistics.median(a[1] for a in app.warm[label]))} ms"
                    + _status_note([*cold.values(), *app.warm[label]])
                    + f"  load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            if k == len(labels) - 2:  # every analyst/lead route used; the officer search is last
                for app in apps:
                    _snapshot_memory(app, "after analyst/lead routes")
        for app in apps:
            api_concurrent(app.base, app.headers["officer"]["Authorization"][7:], points[app.name][-10:], args.clients)
        for r in range(args.rounds):
            for app in apps[r % len(apps) :] + apps[: r % len(apps)]:
                token = app.headers["officer"]["Authorization"][7:]
                mine = points[app.name][per_round * r : per_round * (r + 1)]
                one = api_concurrent(app.base, token, mine[:100], 1)
                many = api_concurrent(app.base, token, mine[100:], args.clients)
                app.search.append((one, many))
                print(
                    f"  search round {r + 1} {app.name:<10} 1 client median {one['median_ms']:6.1f} p95 "
                    f"{one['p95_ms']:6.1f} | {args.clients} clients median {many['median_ms']:6.1f} p95 "
                    f"{many['p95_ms']:6.1f} ({many['per_s']:.0f}/s, {one['errors'] + many['errors']} errors, "
                    f"{many['cameras']:.0f} cameras) load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                for result in (one, many):
                    if result["first_error"]:
                        print(f"    first error: {result['first_error']}", flush=True)
        for app in apps:
            _snapshot_memory(app, "at the end (search too)")
    finally:
        for app in apps:
            if app.proc is not None:
                app.proc.terminate()
        for app in apps:
            if app.proc is not None:
                try:
                    app.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    app.proc.kill()
        scratch.cleanup()

    print(f"\n{'app':<10} {'cameras':>12} {'listening s':>11} {'answered s':>14} {'idle s':>7}  database")
    for app in apps:
        answered = "/".join(f"{s:.1f}" for s in app.answered_s.values())
        idle = f"{app.idle_s:.1f}" if app.idle_s is not None else "-"
        shown = app.url.split("@")[-1] if "@" in app.url else app.url
        print(f"{app.name:<10} {app.cameras:>12,} {app.listen_s:>11.1f} {answered:>14} {idle:>7}  {shown}")
    _print_cold(apps, labels, args.together)
    _print_memory(apps)
    figures = _print_search(apps, args.clients)
    _verdicts(apps, labels, figures, args.clients)
    print(
        f"\nload average at the end {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores); logs: "
        + ", ".join(str(a.log) for a in apps)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
