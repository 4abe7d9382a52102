"""What keeping the shared summaries exact costs a register write: one registration (the public
form's payload, two cameras) at a time, in its own transaction, each summary kept as the app keeps
it, beside the same write with the gap analysis's part (``gap_crime``, ``gap_reach``: the crimes
around the site and the pairs decided for them) switched off, alternated write by write in the same
run (a shared machine's load falls on both).

Usage::

    python -m benchmarks.bench_writes --database-url sqlite:////tmp/demo1m.db [--writes 60]

Works on a copy you can spare: every write is rolled back, so the register is as it was after. The
registrations are placed at postcodes drawn with a fixed seed, so the two sides meet the same
places. Printed: median and p95 of each side and their ratio, with the database's size. Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))


def _payload(postcode: str, lat: float, lon: float, n: int) -> dict:
    return {
        "name": f"Bench Writer {n}",
        "email": f"bench.writer{n}@example.org",
        "phone": "07700 900123",
        "preferred_channel": "email",
        "site_kind": "home",
        "address": f"{n} Bench Street",
        "postcode": postcode,
        "lat": lat,
        "lon": lon,
        "consent": True,
        "cameras": [
            {"kind": "doorbell", "placement": "outdoor", "direction_deg": 180, "recording_mode": "motion"},
            {"kind": "fixed", "placement": "outdoor", "recording_mode": "continuous", "retention_days": 14},
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--writes", type=int, default=60, help="writes per side (default 60)")
    args = parser.parse_args(argv)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECRET_KEY", "bench-" + "w" * 42)

    import sqlalchemy as sa

    from dashboard.registry import gap_summaries, registration
    from dashboard.registry.models import Camera, Crime
    from dashboard.runtime import prepare

    rt = prepare()
    ref = rt.reference
    with rt.sessions() as s:
        cameras = s.scalar(sa.select(sa.func.count()).select_from(Camera))
        crimes = s.scalar(sa.select(sa.func.count()).select_from(Crime).where(Crime.area_lsoa.is_not(None)))
    rng = random.Random(19)
    codes = ref.postcodes.sample(n=args.writes, random_state=19).reset_index(drop=True)
    kept = gap_summaries.contributions

    def without_gap(session, site_ids):
        return gap_summaries._empty(gap_summaries.CRIME_KEY, gap_summaries.CRIME_SUMS), gap_summaries._empty(
            gap_summaries.REACH_KEY, gap_summaries.REACH_SUMS
        )

    times: dict[str, list[float]] = {"all summaries": [], "without the gap part": []}
    for i, row in codes.iterrows():
        data = registration.RegistrationIn.model_validate(
            _payload(row["postcode"], float(row["lat"]), float(row["lon"]), i), context={"reference": ref}
        )
        sides = list(times)
        rng.shuffle(sides)
        for side in sides:
            gap_summaries.contributions = kept if side == "all summaries" else without_gap
            try:
                with rt.sessions() as s:
                    started = time.perf_counter()
                    registration.register(s, data, ref, via="api")
                    s.flush()
                    times[side].append(time.perf_counter() - started)
                    s.rollback()
            finally:
                gap_summaries.contributions = kept
    print(
        f"registration writes on {rt.engine.dialect.name}: {cameras:,} cameras, {crimes:,} counted crimes, "
        f"{args.writes} writes per side, alternated (rolled back)"
    )
    base = statistics.median(times["without the gap part"])
    for side, values in times.items():
        ordered = sorted(values)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        print(
            f"  {side}: median {statistics.median(values) * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms "
            f"(median {statistics.median(values) / base:.2f}x the write without the gap part)"
        )


if __name__ == "__main__":
    main()
