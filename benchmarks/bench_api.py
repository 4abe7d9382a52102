"""End-to-end timing of the officer search through the running app: the JSON API with 8
concurrent clients, and the page's Dash search callback, on a registry of N cameras.

Usage::

    python -m benchmarks.bench_api --db /tmp/demo1m.db          # an existing demo registry (migrated first)
    python -m benchmarks.bench_api --registrations 620000       # build one (~1M cameras) in a temp folder

It starts ``python app.py`` exactly as the README does (waitress, 8 threads) on a free port, issues
an API token for the demo officer, waits for the in-memory index, then sends searches at real
site positions (radius 200 m). Printed beside them, measured in the same run on the same data:
the naive GeoPandas scan ``gdf[gdf.distance(point) <= r]`` (EPSG:27700) in-process, and an
authenticated API call that does no search (``/api/v1/openapi.json``), the floor of one round trip.
Targets at 1M cameras: API p95 under 50 ms with 8 concurrent clients and no errors; the Dash
search callback under 300 ms.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CASE, REASON = "CR-2026-000001", "Benchmark of the officer search end to end"
OFFICER, OFFICER_PASSWORD = "officer.demo", "demo-officer-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[max(0, int(round(0.95 * len(ordered))) - 1)] * 1000


def _sites(db: str, n: int, seed: int) -> list[tuple[float, float]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT lat, lon FROM site WHERE lat IS NOT NULL").fetchall()
    return random.Random(seed).sample(rows, n)


def _env(db: str, port: int) -> dict:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "PORT": str(port), "HOST": "127.0.0.1"}
    env.setdefault("SECRET_KEY", "benchmark-" + "k" * 40)
    return env


def _start_app(env: dict) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "app.py", "--no-demo"], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", int(env["PORT"])), timeout=1):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the app did not start")


def _get(url: str, token: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _near_url(base: str, lat: float, lon: float) -> str:
    q = urllib.parse.urlencode({"lat": lat, "lon": lon, "radius_m": 200, "at": "2026-11-20T21:30",
                                "case_ref": CASE, "reason": REASON})
    return f"{base}/api/v1/cameras/near?{q}"


def api_concurrent(base: str, token: str, points: list, clients: int) -> dict:
    latencies: list[float] = []
    errors = []
    lock = threading.Lock()
    chunks = [points[i::clients] for i in range(clients)]

    def worker(chunk):
        for lat, lon in chunk:
            t = time.perf_counter()
            status, body = _get(_near_url(base, lat, lon), token)
            elapsed = time.perf_counter() - t
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    errors.append((status, body[:200]))

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    med, p95 = _pct(latencies)
    return {"requests": len(latencies), "errors": len(errors), "median_ms": med, "p95_ms": p95,
            "per_s": len(latencies) / wall, "first_error": errors[0] if errors else None}


def floor_calls(base: str, token: str, n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        _get(f"{base}/api/v1/openapi.json", token)
        times.append(time.perf_counter() - t)
    return _pct(times)


def dash_callback(base: str, points: list) -> tuple[float, float, int]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    opener.open(f"{base}/login", data=urllib.parse.urlencode(
        {"username": OFFICER, "password": OFFICER_PASSWORD, "csrf_token": token, "next": "/"}).encode())
    times, failures = [], 0
    for lat, lon in points:
        from dashboard.geo.locate import wgs84_to_bng

        e, n = wgs84_to_bng(lon, lat)
        outputs = [("search-grid", "rowData"), ("search-results-layer", "children"), ("search-summary", "children"),
                   ("search-case", "invalid"), ("search-case-msg", "children"), ("search-reason", "invalid"),
                   ("search-reason-msg", "children"), ("search-when", "invalid"), ("search-when-msg", "children"),
                   ("search-context", "data"), ("search-contacts", "children"), ("search-grid", "selectedRows")]
        body = {
            "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
            "outputs": [{"id": i, "property": p} for i, p in outputs],
            "inputs": [{"id": "search-submit", "property": "n_clicks", "value": 1}],
            "state": [{"id": "search-point", "property": "data", "value": {
                          "lat": lat, "lon": lon, "easting_m": e, "northing_m": n, "district": None, "label": "bench"}},
                      {"id": "search-when", "property": "value", "value": "2026-11-20T21:30"},
                      {"id": "search-radius", "property": "value", "value": 200},
                      {"id": "search-case", "property": "value", "value": CASE},
                      {"id": "search-reason", "property": "value", "value": REASON}],
            "changedPropIds": ["search-submit.n_clicks"],
        }
        req = urllib.request.Request(f"{base}/_dash-update-component", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        t = time.perf_counter()
        try:
            answer = opener.open(req, timeout=30).read()
            if b"search-result-summary" not in answer:
                failures += 1
        except urllib.error.HTTPError as exc:
            failures += 1
            if failures == 1:
                print("Dash callback refused:", exc.code, exc.read()[:300])
        times.append(time.perf_counter() - t)
    med, p95 = _pct(times)
    return med, p95, failures


def naive_baseline(db: str, points: list) -> tuple[float, float]:
    import geopandas as gpd
    from shapely.geometry import Point

    from dashboard.geo.locate import wgs84_to_bng

    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT s.easting_m, s.northing_m FROM camera c JOIN site s ON s.id = c.site_id "
            "JOIN registrant r ON r.id = s.registrant_id WHERE c.active = 1 AND r.status = 'active'").fetchall()
    gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy([r[0] for r in rows], [r[1] for r in rows]), crs="EPSG:27700")
    times = []
    for lat, lon in points:
        x, y = wgs84_to_bng(lon, lat)
        t = time.perf_counter()
        gdf[gdf.distance(Point(x, y)) <= 200]
        times.append(time.perf_counter() - t)
    return _pct(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="an existing SQLite demo registry (it is migrated first)")
    parser.add_argument("--registrations", type=int, default=620_000)
    parser.add_argument("--requests", type=int, default=800, help="API searches in all")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(PROJECT_ROOT))

    tmp = tempfile.TemporaryDirectory(prefix="ccr-bench-api-")
    db = args.db or str(Path(tmp.name) / "registry.db")
    port = _free_port()
    env = _env(db, port)
    if not args.db:
        subprocess.run([sys.executable, "-m", "dashboard", "demo", "--registrations", str(args.registrations),
                        "--seed", "1", "--as-of", "2026-11-29"], cwd=PROJECT_ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    proc = _start_app(env)
    try:
        token = subprocess.run([sys.executable, "-m", "dashboard", "token", "issue", OFFICER], cwd=PROJECT_ROOT,
                               env=env, capture_output=True, text=True, check=True).stdout.strip()
        base = f"http://127.0.0.1:{port}"
        points = _sites(db, args.requests + 60, seed=7)
        with sqlite3.connect(db) as conn:
            cameras = conn.execute("SELECT count(*) FROM camera WHERE active = 1").fetchone()[0]
        t = time.perf_counter()
        status, _ = _get(_near_url(base, *points[0]), token)  # waits for the index to be ready
        print(f"registry: {cameras:,} active cameras; first search (index ready) {time.perf_counter() - t:.1f} s, "
              f"status {status}")
        floor_med, floor_p95 = floor_calls(base, token, 50)
        one = api_concurrent(base, token, points[:100], 1)
        many = api_concurrent(base, token, points[100:100 + args.requests], args.clients)
        dash_med, dash_p95, dash_fail = dash_callback(base, points[-50:])
        naive_med, naive_p95 = naive_baseline(db, points[:20])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        tmp.cleanup()
    print(f"{'measure':<44} {'median ms':>10} {'p95 ms':>8} {'n':>6} {'errors':>6}")
    print(f"{'API round trip, no search (openapi.json)':<44} {floor_med:>10.1f} {floor_p95:>8.1f} {50:>6} {0:>6}")
    print(f"{'API cameras/near, 1 client':<44} {one['median_ms']:>10.1f} {one['p95_ms']:>8.1f} "
          f"{one['requests']:>6} {one['errors']:>6}")
    print(f"{'API cameras/near, ' + str(args.clients) + ' concurrent clients':<44} {many['median_ms']:>10.1f} "
          f"{many['p95_ms']:>8.1f} {many['requests']:>6} {many['errors']:>6}   ({many['per_s']:.0f} req/s)")
    print(f"{'Dash search callback (page), 1 client':<44} {dash_med:>10.1f} {dash_p95:>8.1f} {50:>6} {dash_fail:>6}")
    print(f"{'naive GeoPandas scan, in-process (baseline)':<44} {naive_med:>10.1f} {naive_p95:>8.1f} {20:>6} {0:>6}")
    print(f"ratio naive median / API median (1 client): {naive_med / one['median_ms']:.1f}x; "
          f"API p95 at {args.clients} clients {'under' if many['p95_ms'] < 50 else 'OVER'} 50 ms; "
          f"Dash callback p95 {'under' if dash_p95 < 300 else 'OVER'} 300 ms")
    if many["first_error"]:
        print("first error:", many["first_error"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
