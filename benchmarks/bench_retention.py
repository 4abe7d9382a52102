"""Time the retention check on a large register: summary, dry run, flagging every active
registration, then erasing them all after the grace period (the worst case: a whole year's register
going unconfirmed at once).

Usage::

    python -m benchmarks.bench_demo 620000 --keep /tmp/demo1m.db      # once: ~1,000,000 cameras
    python -m benchmarks.bench_retention /tmp/demo1m.db               # works on a copy; the source is untouched

The demo registers from 13 April 2026, so acting as of 2027-12-31 finds every active registration
unconfirmed for 12 months, and as of 2028-02-01 finds them all 30 days past their flag. The copy is
migrated to the current schema first (the 1M demo may predate migration 0006).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import sqlalchemy as sa  # noqa: E402

from dashboard.registry.database import make_engine, migrate, session_factory  # noqa: E402
from dashboard.registry.retention import retention_summary, run_retention  # noqa: E402

UTC = dt.UTC
FLAG_AT = dt.datetime(2027, 12, 31, 12, tzinfo=UTC)
ERASE_AT = dt.datetime(2028, 2, 1, 12, tzinfo=UTC)


def _timed(label: str, fn):
    started = time.perf_counter()
    out = fn()
    print(f"{label:<44} {time.perf_counter() - started:7.2f} s", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a demo SQLite database (copied, never changed)")
    parser.add_argument("--work", type=Path, default=None, help="where to put the copy (default: a temp folder)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-retention-")) if args.work is None else args.work
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "retention.db"
    _timed("copy the database", lambda: shutil.copyfile(args.source, copy))
    engine = make_engine(f"sqlite:///{copy}")
    _timed("migrate the copy", lambda: migrate(engine))
    sessions = session_factory(engine)
    with sessions() as s:
        counts = s.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM registrant WHERE status = 'active'), "
                "(SELECT count(*) FROM camera WHERE active)"
            )
        ).one()
        print(f"{counts[0]:,} active registrations, {counts[1]:,} active cameras")
        summary = _timed("retention_summary", lambda: retention_summary(s, FLAG_AT))
        print(f"  overdue and unflagged {summary.overdue_unflagged:,}, current {summary.current:,}")
        dry = _timed("run_retention dry run (flag)", lambda: run_retention(s, FLAG_AT, dry_run=True))
        flag = _timed("run_retention: flag every active one", lambda: run_retention(s, FLAG_AT))
        print(f"  flagged {flag.flagged:,} (dry run said {dry.flagged:,})")
        again = _timed("run_retention again (nothing to do)", lambda: run_retention(s, FLAG_AT))
        assert again.nothing_to_do
        dry = _timed("run_retention dry run (erase)", lambda: run_retention(s, ERASE_AT, dry_run=True))
        erase = _timed("run_retention: erase every flagged one", lambda: run_retention(s, ERASE_AT))
        print(
            f"  erased {erase.erased:,} registrations, {erase.cameras_switched_off:,} cameras switched off "
            f"(dry run said {dry.erased:,} and {dry.cameras_switched_off:,})"
        )
        again = _timed("run_retention again (nothing to do)", lambda: run_retention(s, ERASE_AT))
        assert again.nothing_to_do
        summary = _timed("retention_summary", lambda: retention_summary(s, ERASE_AT))
        print(
            f"  erased by retention {summary.erased_by_retention:,}, active {summary.active:,}, "
            f"audit rows {summary.audit_rows:,}"
        )
    engine.dispose()
    if args.work is None:
        shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
