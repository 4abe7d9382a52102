"""Time demo-data generation into a fresh temporary SQLite file.

Usage::

    python -m benchmarks.bench_demo                     # 20,000 registrations
    python -m benchmarks.bench_demo 20000 620000        # several sizes, one after another
    python -m benchmarks.bench_demo 620000 --keep /tmp/demo.db

620,000 registrations make about 1,000,000 cameras; the target is under 3 minutes on a
2-core machine. Reference data is read from REFERENCE_DATA_DIR (default data/reference/staffordshire,
shipped in the repository) with the project's manifest, before the clock starts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from dashboard.config import DEFAULT_MANIFEST, DEFAULT_REFERENCE_DIR  # noqa: E402
from dashboard.demo import generate_demo  # noqa: E402
from dashboard.geo.reference import load_reference  # noqa: E402
from dashboard.registry.database import make_engine  # noqa: E402

PILOT_START = dt.date(2026, 4, 13)
PUBLIC_LAUNCH = dt.date(2026, 7, 6)
AS_OF = dt.date(2026, 11, 29)


def bench(ref, registrations: int, path: Path, seed: int) -> dict[str, float]:
    """Generate ``registrations`` into a new SQLite file at ``path``; return the figures."""
    if path.exists():
        path.unlink()
    engine = make_engine(f"sqlite:///{path}")
    started = time.perf_counter()
    summary = generate_demo(
        engine,
        ref,
        seed=seed,
        registrations=registrations,
        as_of=AS_OF,
        pilot_start=PILOT_START,
        public_launch=PUBLIC_LAUNCH,
    )
    seconds = time.perf_counter() - started
    engine.dispose()
    rows = summary.registrations + summary.sites + summary.cameras + summary.footage_requests
    return {
        "registrations": summary.registrations,
        "cameras": summary.cameras,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "megabytes": path.stat().st_size / 1e6,
    }


def raw_write_baseline(rows: int, path: Path) -> float:
    """Seconds for plain ``sqlite3`` to write ``rows`` eight-column rows in one transaction: the
    floor any generator writing the same number of rows to the same disk must pay, measured in
    the same run so that the ratio, not the raw time, is what compares across machines."""
    import sqlite3

    if path.exists():
        path.unlink()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL, d REAL, e TEXT, f INTEGER, g TEXT)"
    )
    data = (
        (i, i % 7, "doorbell", 52.0 + i * 1e-7, -2.0 - i * 1e-7, "street", 30, "2026-07-01 12:00:00")
        for i in range(rows)
    )
    started = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)", data)
    seconds = time.perf_counter() - started
    conn.close()
    path.unlink()
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, default=[20_000], help="registrations per run")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", type=Path, help="write the (last) database here and keep it")
    args = parser.parse_args(argv)

    data_dir = Path(os.environ.get("REFERENCE_DATA_DIR") or DEFAULT_REFERENCE_DIR)
    ref = load_reference(data_dir, Path(os.environ.get("REFERENCE_MANIFEST") or DEFAULT_MANIFEST))
    print(
        f"{'registrations':>13} {'cameras':>10} {'seconds':>8} {'rows/s':>9} {'MB':>7} {'baseline s':>10} {'ratio':>6}"
    )
    with tempfile.TemporaryDirectory(prefix="ccr-bench-") as tmp:
        for i, n in enumerate(args.sizes):
            last = i == len(args.sizes) - 1
            path = args.keep if (args.keep and last) else Path(tmp) / f"demo-{n}.db"
            r = bench(ref, n, path, args.seed)
            rows = round(r["rows_per_s"] * r["seconds"])
            base = raw_write_baseline(rows, Path(tmp) / "baseline.db")
            print(
                f"{r['registrations']:>13,} {r['cameras']:>10,} {r['seconds']:>8.1f} "
                f"{r['rows_per_s']:>9,.0f} {r['megabytes']:>7.0f} {base:>10.1f} {r['seconds'] / base:>6.1f}",
                flush=True,
            )
    print("baseline: plain sqlite3 executemany of the same number of rows; ratio = generator / baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
