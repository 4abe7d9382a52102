"""Time demo-data generation into a fresh temporary SQLite file, or into PostgreSQL.

Usage::

    python -m benchmarks.bench_demo                     # 20,000 registrations
    python -m benchmarks.bench_demo 20000 620000        # several sizes, one after another
    python -m benchmarks.bench_demo 620000 --keep /tmp/demo.db
    python -m benchmarks.bench_demo 620000 --database-url postgresql+psycopg://postgres@127.0.0.1:54329/bench

620,000 registrations make about 1,000,000 cameras; the target is under 3 minutes on a
2-core machine. Reference data is read from REFERENCE_DATA_DIR (default data/reference/staffordshire,
shipped in the repository) with the project's manifest, before the clock starts.

With ``--database-url`` (a PostgreSQL/PostGIS database whose contents are DELETED: every table
is dropped and made again before each build; one with real accounts is refused), each size is
built there twice per pair, by COPY (the writer) and by ``executemany`` (the writer before COPY,
``writer.executemany_only``), in alternating order, plus once into SQLite for reference; the
ratio old/new is what compares across machines. ``--pairs`` repeats the PostgreSQL pair;
``--copy-only --no-sqlite`` builds once by COPY and leaves the database there (the 10M-camera scale
run: ``python -m benchmarks.bench_demo 6200000 --copy-only --no-sqlite --database-url ...``).
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

import sqlalchemy as sa  # noqa: E402
from alembic import command  # noqa: E402

from dashboard.config import DEFAULT_MANIFEST, DEFAULT_REFERENCE_DIR  # noqa: E402
from dashboard.demo import generate_demo, real_accounts  # noqa: E402
from dashboard.demo.writer import executemany_only  # noqa: E402
from dashboard.geo.reference import load_reference  # noqa: E402
from dashboard.registry.database import alembic_config, make_engine  # noqa: E402
from dashboard.registry.models import Base  # noqa: E402

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


def empty_database(engine) -> None:
    """Drop every registry table (the migrations' own downgrade, then anything left), so that the
    build starts from an empty database as the SQLite build starts from a new file."""
    if "alembic_version" in set(sa.inspect(engine).get_table_names()):
        command.downgrade(alembic_config(engine), "base")
    Base.metadata.drop_all(engine)


def bench_postgres(ref, registrations: int, url: str, seed: int, writer: str) -> float:
    """Seconds to build ``registrations`` into the emptied PostgreSQL database at ``url`` with the
    COPY writer (``writer="copy"``) or the executemany one (``"executemany"``)."""
    engine = make_engine(url)
    held = real_accounts(engine)
    if held:
        raise SystemExit(f"{url} has real accounts ({', '.join(held)}); the benchmark deletes everything: refused")
    empty_database(engine)
    started = time.perf_counter()
    if writer == "copy":
        generate_demo(
            engine, ref, seed=seed, registrations=registrations, as_of=AS_OF,
            pilot_start=PILOT_START, public_launch=PUBLIC_LAUNCH,
        )  # fmt: skip
    else:
        with executemany_only():
            generate_demo(
                engine, ref, seed=seed, registrations=registrations, as_of=AS_OF,
                pilot_start=PILOT_START, public_launch=PUBLIC_LAUNCH,
            )  # fmt: skip
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def server_settings(url: str) -> str:
    """The server settings that decide how fast a load is, for the report."""
    engine = make_engine(url)
    names = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_wal_size")
    with engine.connect() as conn:
        values = [f"{n}={conn.exec_driver_sql(f'SHOW {n}').scalar()}" for n in names]
    engine.dispose()
    return ", ".join(values)


def main_postgres(ref, args) -> int:
    print(
        f"PostgreSQL: {sa.engine.make_url(args.database_url).render_as_string(hide_password=True)} ({server_settings(args.database_url)})"
    )
    print(f"{'registrations':>13} {'SQLite s':>9} {'PG executemany s':>17} {'PG COPY s':>10} {'old/new':>8}")
    with tempfile.TemporaryDirectory(prefix="ccr-bench-") as tmp:
        for n in args.sizes:
            lite = None if args.no_sqlite else bench(ref, n, Path(tmp) / f"demo-{n}.db", args.seed)["seconds"]
            if args.copy_only:  # a scale build (10M cameras): the writer alone, the database kept
                took = bench_postgres(ref, n, args.database_url, args.seed, "copy")
                print(
                    f"{n:>13,} {'-' if lite is None else f'{lite:.1f}':>9} {'-':>17} {took:>10.1f} {'-':>8}", flush=True
                )
                continue
            for pair in range(args.pairs):
                order = ("executemany", "copy") if pair % 2 == 0 else ("copy", "executemany")
                took = {w: bench_postgres(ref, n, args.database_url, args.seed, w) for w in order}
                print(
                    f"{n:>13,} {'-' if lite is None else f'{lite:.1f}':>9} {took['executemany']:>17.1f} "
                    f"{took['copy']:>10.1f} {took['executemany'] / took['copy']:>8.2f}",
                    flush=True,
                )
    print("PG executemany: the writer before COPY (writer.executemany_only), PG COPY: the writer; same run, same seed")
    return 0


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
    parser.add_argument(
        "--database-url",
        help="build into this PostgreSQL database instead (ALL ITS DATA IS DELETED), COPY beside executemany",
    )
    parser.add_argument("--pairs", type=int, default=1, help="PostgreSQL: executemany/COPY pairs per size")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL: skip the SQLite reference build")
    parser.add_argument(
        "--copy-only", action="store_true", help="PostgreSQL: only the COPY build (keeps it there; for scale runs)"
    )
    args = parser.parse_args(argv)

    data_dir = Path(os.environ.get("REFERENCE_DATA_DIR") or DEFAULT_REFERENCE_DIR)
    ref = load_reference(data_dir, Path(os.environ.get("REFERENCE_MANIFEST") or DEFAULT_MANIFEST))
    if args.database_url:
        return main_postgres(ref, args)
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
