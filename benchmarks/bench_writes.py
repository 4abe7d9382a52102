"""What keeping the shared summaries exact costs a register write: one registration (the public
form's payload, two cameras) at a time, in its own transaction, each summary kept as the app keeps
it, beside the same write with the parts that join the register with points and ground switched
off (the gap analysis's ``gap_crime``, ``gap_reach``; the area table's ``postcode_near``,
``postcode_reach``, ``area_view`` and the tiles of ground in view counted again), alternated write
by write in the same run (a shared machine's load falls on both).

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

    from dashboard.registry import area_summaries, gap_summaries, registration
    from dashboard.registry.models import Camera, Crime
    from dashboard.registry.point_summaries import empty_frame
    from dashboard.runtime import prepare

    rt = prepare()
    ref = rt.reference
    with rt.sessions() as s:
        cameras = s.scalar(sa.select(sa.func.count()).select_from(Camera))
        crimes = s.scalar(sa.select(sa.func.count()).select_from(Crime).where(Crime.area_lsoa.is_not(None)))
    rng = random.Random(19)
    codes = ref.postcodes.sample(n=args.writes, random_state=19).reset_index(drop=True)
    a, g = area_summaries, gap_summaries
    kept = {
        (g, "contributions"): g.contributions,
        (a, "contributions"): a.contributions,
        (a, "tiles_of_sites"): a.tiles_of_sites,
        (a, "replace_wedges"): a.replace_wedges,
        (a, "recount_tiles"): a.recount_tiles,
    }
    off = {
        (g, "contributions"): lambda session, sites: (
            empty_frame(g.CRIME_KEY, g.CRIME_SUMS),
            empty_frame(g.REACH_KEY, g.REACH_SUMS),
        ),
        (a, "contributions"): lambda session, sites: (
            empty_frame(a.NEAR_KEY, a.NEAR_SUMS),
            empty_frame(a.REACH_KEY, a.REACH_SUMS),
            empty_frame(a.VIEW_KEY, a.VIEW_SUMS),
        ),
        (a, "tiles_of_sites"): lambda session, ids: set(),
        (a, "replace_wedges"): lambda session, ids, sites: set(),
        (a, "recount_tiles"): lambda session, tiles: empty_frame(a.VIEW_KEY, ["pixels"]),
    }

    def switch(parts: dict) -> None:
        for (module, name), function in parts.items():
            setattr(module, name, function)

    times: dict[str, list[float]] = {"all summaries": [], "without the gap and area parts": []}
    for i, row in codes.iterrows():
        data = registration.RegistrationIn.model_validate(
            _payload(row["postcode"], float(row["lat"]), float(row["lon"]), i), context={"reference": ref}
        )
        sides = list(times)
        rng.shuffle(sides)
        for side in sides:
            switch(kept if side == "all summaries" else off)
            try:
                with rt.sessions() as s:
                    started = time.perf_counter()
                    registration.register(s, data, ref, via="api")
                    s.flush()
                    times[side].append(time.perf_counter() - started)
                    s.rollback()
            finally:
                switch(kept)
    print(
        f"registration writes on {rt.engine.dialect.name}: {cameras:,} cameras, {crimes:,} counted crimes, "
        f"{args.writes} writes per side, alternated (rolled back)"
    )
    base = statistics.median(times["without the gap and area parts"])
    for side, values in times.items():
        ordered = sorted(values)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        print(
            f"  {side}: median {statistics.median(values) * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms "
            f"(median {statistics.median(values) / base:.2f}x the write without those parts)"
        )


if __name__ == "__main__":
    main()
