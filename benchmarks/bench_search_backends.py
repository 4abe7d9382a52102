"""The officer search API on SQLite and PostgreSQL in one run, interleaved, with ratios.

Starts one app per ``--app NAME=DATABASE_URL`` (``python app.py --no-demo`` as the
README says: gunicorn, ``WEB_WORKERS`` 2 unless set), all at once, and then, round after round,
measures each in turn (the order rotated every round, so a busy spell on a shared machine falls
on all of them): 1 client over 100 points at registered sites, then ``--clients`` concurrent
clients over ``--requests`` more. Points are sampled from each app's own registry with the same
seed (a demo of the same size and seed has the same sites). ``--code NAME=DIR`` runs an app from
another copy of the code (e.g. ``git archive main``), for a before/after in the same run. Prints every round, the
median over rounds of each figure, and each app's ratio to the first app (the reference, e.g.
SQLite). Uses ``bench_api``'s client (separate client processes, kept-alive connections).

    python -m benchmarks.bench_search_backends \\
        --app sqlite=sqlite:////tmp/demo1m.db --app pg=postgresql+psycopg://u@host:5432/db
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.bench_api import (
    OFFICER,
    OFFICER_PASSWORD,
    PROJECT_ROOT,
    _free_port,
    _get,
    _near_url,
    api_concurrent,
)


def _sites(url: str, n: int, seed: int) -> list[tuple[float, float]]:
    query = "SELECT lat, lon FROM site WHERE lat IS NOT NULL ORDER BY id"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("sqlite:///", 1)[1]) as conn:
            rows = conn.execute(query).fetchall()
    else:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
            rows = conn.execute(query).fetchall()
    return random.Random(seed).sample(rows, n)


def _start(name: str, url: str, code: Path, env_extra: dict) -> tuple[subprocess.Popen, str, str]:
    port = _free_port()
    env = {**os.environ, **env_extra, "DATABASE_URL": url, "PORT": str(port), "HOST": "127.0.0.1"}
    env.setdefault("WEB_WORKERS", "2")
    env.setdefault("SEARCH_RATE_LIMIT", "1000000 per minute")
    env.setdefault("OUTBOX_WORKER", "false")
    env.setdefault("SECRET_KEY", "benchmark-" + "k" * 40)
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--no-demo"],
        cwd=code,
        env=env,
        stdout=open(f"/tmp/bench-search-{name}-{port}.log", "w"),  # noqa: SIM115 - lives with the app
        stderr=subprocess.STDOUT,
    )
    token = subprocess.run(
        [sys.executable, "-m", "dashboard", "token", "issue", OFFICER],
        cwd=code,
        env=env,
        input=OFFICER_PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return proc, f"http://127.0.0.1:{port}", token


def _ready(base: str, token: str, point) -> float:
    started = time.monotonic()
    while time.monotonic() - started < 600:
        try:
            status, _ = _get(_near_url(base, *point), token)
            if status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"{base} did not answer a search")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", action="append", required=True, help="NAME=DATABASE_URL; the first is the reference")
    parser.add_argument(
        "--code", action="append", default=[], help="NAME=DIR: run that app from another copy of the code"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=400, help="searches per concurrent run")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--env", action="append", default=[], help="NAME:KEY=VALUE, an environment variable for one app"
    )
    args = parser.parse_args(argv)

    codes = dict(c.split("=", 1) for c in args.code)
    apps = []
    for spec in args.app:
        name, url = spec.split("=", 1)
        extra = dict(e.split(":", 1)[1].split("=", 1) for e in args.env if e.split(":", 1)[0] == name)
        apps.append((name, url, Path(codes.get(name, PROJECT_ROOT)), extra))

    per_round = 100 + args.requests
    running = {}
    try:
        for name, url, code, extra in apps:
            running[name] = _start(name, url, code, extra)
        points = {name: _sites(url, per_round * args.rounds + 10, seed=7) for name, url, _, _ in apps}
        for name, (_, base, token) in running.items():
            print(f"{name}: first search answered after {_ready(base, token, points[name][-1]):.1f} s", flush=True)
            api_concurrent(base, token, points[name][-10:], args.clients)  # warm every worker
        results: dict[str, list[tuple[dict, dict]]] = {name: [] for name in running}
        names = list(running)
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                _, base, token = running[name]
                mine = points[name][per_round * r : per_round * (r + 1)]
                one = api_concurrent(base, token, mine[:100], 1)
                many = api_concurrent(base, token, mine[100:], args.clients)
                results[name].append((one, many))
                print(
                    f"round {r + 1} {name:<12} 1 client median {one['median_ms']:6.1f} p95 {one['p95_ms']:6.1f} | "
                    f"{args.clients} clients median {many['median_ms']:6.1f} p95 {many['p95_ms']:6.1f} "
                    f"({many['per_s']:.0f}/s, {many['errors'] + one['errors']} errors, {many['cameras']:.0f} cameras) "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    finally:
        for proc, _, _ in running.values():
            proc.terminate()
        for proc, _, _ in running.values():
            proc.wait(timeout=60)

    def med(name, which, key):
        return statistics.median(r[which][key] for r in results[name])

    reference = names[0]
    print(f"\nmedian over {args.rounds} rounds (ms); ratio to {reference}")
    print(f"{'app':<12} {'1c median':>9} {'1c p95':>8} {'8c median':>9} {'8c p95':>8} {'1c med x':>9} {'8c p95 x':>9}")
    for name in names:
        row = [med(name, 0, "median_ms"), med(name, 0, "p95_ms"), med(name, 1, "median_ms"), med(name, 1, "p95_ms")]
        ratios = [row[0] / med(reference, 0, "median_ms"), row[3] / med(reference, 1, "p95_ms")]
        print(f"{name:<12} {row[0]:9.1f} {row[1]:8.1f} {row[2]:9.1f} {row[3]:8.1f} {ratios[0]:9.2f} {ratios[1]:9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
