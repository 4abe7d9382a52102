"""Time the project lead's uptake page callback at a million cameras, beside SQL counts of the
same figures measured in the same run.

Usage::

    python -m benchmarks.bench_uptake --db /tmp/demo1m.db

The callback's figures (weekly registrations from the fixed-calendar running totals and the
projection, the district table and map, camera mix and completeness, campaign funnels,
withdrawals, request outcomes, every one through the disclosure-control layer) are counted from
the register's uptake summaries (``uptake_day``, ``register_mix``, ``register_count``: rows per
day, district and aspect, read once per register version). Printed: the first callback (cold: it
reads the summaries), then the callback's median and maximum over 5 runs for the whole force (the
figure compared across changes) and for one district, and as the baseline the two heaviest of
those figures by SQL ``GROUP BY`` over the register (registrations per week; cameras and
registrations per kind). Target: under 500 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path)
    args = parser.parse_args(argv)
    if not args.db.exists():
        parser.error(f"{args.db} does not exist; build it with python -m benchmarks.bench_demo 620000 --keep {args.db}")
    os.environ["DATABASE_URL"] = f"sqlite:///{args.db}"
    os.environ.setdefault("SECRET_KEY", "bench-" + "u" * 42)

    import sqlalchemy as sa

    from dashboard.application import create_app
    from dashboard.figures import uptake_frames
    from dashboard.pages import uptake
    from dashboard.runtime import prepare

    rt = prepare()
    app = create_app(rt)
    with app.server.app_context():
        started = time.perf_counter()
        uptake._report("2026-04-13", "2026-11-29", "all", "week")  # cold: reads the summaries
        build = time.perf_counter() - started
        frames = uptake_frames()
        times = []
        for _ in range(5):
            started = time.perf_counter()
            uptake._report("2026-04-13", "2026-11-29", "all", "week")
            times.append(time.perf_counter() - started)
        district = str(rt.reference.districts["code"].iloc[0])
        uptake._report("2026-04-13", "2026-11-29", district, "week")
        district_times = []
        for _ in range(5):
            started = time.perf_counter()
            uptake._report("2026-04-13", "2026-11-29", district, "week")
            district_times.append(time.perf_counter() - started)
    sql = []
    with rt.engine.connect() as con:
        for _ in range(3):
            started = time.perf_counter()
            con.execute(sa.text("SELECT strftime('%Y-%W', consent_at), count(*) FROM registrant GROUP BY 1")).all()
            con.execute(
                sa.text(
                    "SELECT c.kind, count(*), count(DISTINCT s.registrant_id) FROM camera c JOIN site s "
                    "ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id WHERE c.active = 1 "
                    "AND r.status = 'active' GROUP BY c.kind"
                )
            ).all()
            sql.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(
        f"first callback (reads {len(frames['registrations']):,} day rows and {len(frames['mix']):,} mix rows "
        f"from the summaries): {build * 1e3:.0f} ms"
    )
    print(
        f"uptake callback: median {median * 1e3:.0f} ms, max {max(times) * 1e3:.0f} ms over {len(times)} runs "
        f"({'under' if median < 0.5 else 'OVER'} the 500 ms target)"
    )
    print(
        f"uptake callback for one district: median {statistics.median(district_times) * 1e3:.0f} ms, "
        f"max {max(district_times) * 1e3:.0f} ms over {len(district_times)} runs"
    )
    print(
        f"baseline, two of its figures by SQL GROUP BY: median {statistics.median(sql) * 1e3:.0f} ms "
        f"(ratio {statistics.median(sql) / median:.1f}x)"
    )


if __name__ == "__main__":
    main()
