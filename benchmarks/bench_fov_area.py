"""Time the union-of-wedges area per group (``dashboard.geo.fov_area``) against shapely.

Usage::

    python -m benchmarks.bench_fov_area                    # 1,000,000 wedges
    python -m benchmarks.bench_fov_area --n 100000 --sample 5000

Synthetic wedges (seeded) lie in a 60 km x 45 km box of the British National Grid (easting
380-440 km, northing 280-325 km, the Staffordshire area): 30,000 random "postcode" points, sites
scattered around them (normal, 60 m), 1-3 cameras per site a few metres apart. Kinds follow the
registry's defaults (``vocab.DEFAULT_FOV``): doorbell 160 deg / 10 m (45%), fixed 90 deg / 25 m
(25%), dome 100 deg / 15 m (20%), PTZ 360 deg / 40 m (10%); directions are uniform, 20% missing
(those cameras do not count unless they are PTZ full discs). Groups are 1.6 km squares of the
box: 38 x 29 = 1,102 codes, about the number of LSOAs in the force area.

Printed: the time of ``covered_area_m2`` at N (median of 3 runs, pixel 5 m), the total covered
area, and a baseline measured in the same run: ``shapely.union_all`` per group of the wedges as
polygons (64-segment arcs) on a sample of about 20,000 wedges made of random whole groups (so
with the full data's overlaps; polygon building included), extrapolated linearly per wedge to N,
with the ratio baseline / raster. The raster's area on the sample is compared with shapely's as a
check of accuracy. Target: under
about 3 s at a million wedges on a 2-core machine.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import shapely  # noqa: E402

from dashboard.geo.fov_area import PIXEL_M, counted, covered_area_m2  # noqa: E402

BOX_M = (380_000.0, 280_000.0, 440_000.0, 325_000.0)  # easting_min, northing_min, easting_max, northing_max
POSTCODES = 30_000
SITE_SPREAD_M = 60.0
CAMERA_SPREAD_M = 3.0
GROUP_SQUARE_M = 1_600.0
#                    doorbell fixed  dome   ptz
KIND_ANGLE_DEG = np.array([160.0, 90.0, 100.0, 360.0])
KIND_RANGE_M = np.array([10.0, 25.0, 15.0, 40.0])
KIND_SHARE = np.array([0.45, 0.25, 0.20, 0.10])
DIRECTION_MISSING = 0.20
ARC_SEGMENTS = 64
N = 1_000_000
SAMPLE = 20_000
RUNS = 3


def group_grid() -> tuple[int, int]:
    """Columns and rows of the group squares over the box."""
    x0, y0, x1, y1 = BOX_M
    return int(np.ceil((x1 - x0) / GROUP_SQUARE_M)), int(np.ceil((y1 - y0) / GROUP_SQUARE_M))


def synthetic_wedges(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` wedges: easting_m, northing_m, direction_deg, angle_deg, range_m and group codes.

    >>> w = synthetic_wedges(1000)
    >>> len(w["easting_m"]), bool((w["group"] >= 0).all() and (w["group"] < np.prod(group_grid())).all())
    (1000, True)
    """
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = BOX_M
    postcode_x, postcode_y = rng.uniform(x0, x1, POSTCODES), rng.uniform(y0, y1, POSTCODES)
    per_site = rng.integers(1, 4, n)  # 1-3 cameras a site, cut back to n cameras
    site_of_camera = np.repeat(np.arange(n), per_site)[:n]
    sites = site_of_camera[-1] + 1
    postcode = rng.integers(0, POSTCODES, sites)
    site_x = postcode_x[postcode] + rng.normal(0.0, SITE_SPREAD_M, sites)
    site_y = postcode_y[postcode] + rng.normal(0.0, SITE_SPREAD_M, sites)
    east = np.clip(site_x[site_of_camera] + rng.normal(0.0, CAMERA_SPREAD_M, n), x0, x1 - 1e-6)
    north = np.clip(site_y[site_of_camera] + rng.normal(0.0, CAMERA_SPREAD_M, n), y0, y1 - 1e-6)
    kind = rng.choice(len(KIND_SHARE), n, p=KIND_SHARE)
    direction = rng.uniform(0.0, 360.0, n)
    direction[rng.random(n) < DIRECTION_MISSING] = np.nan
    columns, _ = group_grid()
    group = ((north - y0) // GROUP_SQUARE_M).astype("int64") * columns + ((east - x0) // GROUP_SQUARE_M).astype("int64")
    return {
        "easting_m": east,
        "northing_m": north,
        "direction_deg": direction,
        "angle_deg": KIND_ANGLE_DEG[kind],
        "range_m": KIND_RANGE_M[kind],
        "group": group,
    }


def wedge_polygons(w: dict[str, np.ndarray], segments: int = ARC_SEGMENTS) -> np.ndarray:
    """Shapely polygons of the wedges (arcs of ``segments`` straight pieces); call on counted ones."""
    east, north, reach = w["easting_m"], w["northing_m"], w["range_m"]
    full = w["angle_deg"] >= 360.0
    out = np.empty(east.size, dtype=object)
    if full.any():
        turn = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
        ring = np.stack(
            [east[full, None] + reach[full, None] * np.sin(turn), north[full, None] + reach[full, None] * np.cos(turn)],
            axis=-1,
        )
        out[full] = shapely.polygons(ring)
    part = ~full
    if part.any():
        half = w["angle_deg"][part, None] / 2.0
        bearing = np.radians(w["direction_deg"][part, None] + np.linspace(-1.0, 1.0, segments + 1) * half)
        arc_x = east[part, None] + reach[part, None] * np.sin(bearing)
        arc_y = north[part, None] + reach[part, None] * np.cos(bearing)
        ring = np.stack(
            [np.concatenate([east[part, None], arc_x], axis=1), np.concatenate([north[part, None], arc_y], axis=1)],
            axis=-1,
        )
        out[part] = shapely.polygons(ring)
    return out


def shapely_areas(w: dict[str, np.ndarray], n_groups: int) -> np.ndarray:
    """The exact-vector baseline: union_all of each group's polygons, area per group."""
    keep = counted(w["direction_deg"], w["angle_deg"], w["range_m"])
    kept = {name: values[keep] for name, values in w.items()}
    polygons = wedge_polygons(kept)
    order = np.argsort(kept["group"], kind="stable")
    groups, starts = np.unique(kept["group"][order], return_index=True)
    areas = np.zeros(n_groups)
    for g, members in zip(groups, np.split(order, starts[1:])):
        areas[g] = shapely.union_all(polygons[members]).area
    return areas


def sample_whole_groups(group: np.ndarray, n_groups: int, size: int, seed: int = 0) -> np.ndarray:
    """Indices of the wedges of random whole groups, about ``size`` of them (at least one group):
    the sample keeps the full data's density and overlaps, which a random sample of wedges would
    thin out (making the vector union look cheaper than it is).

    >>> sample_whole_groups(np.array([0, 1, 1, 2, 2, 2]), 3, 3, seed=0).size >= 1
    True
    """
    order = np.random.default_rng([seed, 1]).permutation(n_groups)
    sizes = np.bincount(group, minlength=n_groups)[order]
    chosen = order[: int(np.searchsorted(np.cumsum(sizes), size)) + 1]
    return np.flatnonzero(np.isin(group, chosen))


def _raster(w: dict[str, np.ndarray], n_groups: int, pixel_m: float = PIXEL_M) -> np.ndarray:
    return covered_area_m2(
        w["easting_m"],
        w["northing_m"],
        w["direction_deg"],
        w["angle_deg"],
        w["range_m"],
        w["group"],
        n_groups,
        pixel_m=pixel_m,
    )


def _timed(func, *args) -> tuple[float, object]:
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        result = func(*args)
        return time.perf_counter() - started, result
    finally:
        gc.enable()


def run(n: int = N, sample: int = SAMPLE, runs: int = RUNS, seed: int = 0, memory: bool = True) -> dict[str, float]:
    """All the figures of one benchmark run, by name."""
    n_groups = int(np.prod(group_grid()))
    w = synthetic_wedges(n, seed)
    times, areas = [], None
    for _ in range(runs):
        seconds, areas = _timed(_raster, w, n_groups)
        times.append(seconds)
    peak_mb = float("nan")
    if memory:  # a separate, untimed run: tracemalloc slows NumPy's allocations down
        tracemalloc.start()
        _raster(w, n_groups)
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()

    pick = sample_whole_groups(w["group"], n_groups, sample, seed)
    part = {name: values[pick] for name, values in w.items()}
    vector_s, vector_areas = _timed(shapely_areas, part, n_groups)
    sample_raster_s, sample_areas = _timed(_raster, part, n_groups)
    raster_s = statistics.median(times)
    vector_at_n_s = vector_s / pick.size * n
    return {
        "n": n,
        "groups": n_groups,
        "counted": int(counted(w["direction_deg"], w["angle_deg"], w["range_m"]).sum()),
        "raster_median_s": raster_s,
        "raster_min_s": min(times),
        "raster_max_s": max(times),
        "peak_mb": peak_mb,
        "total_km2": float(areas.sum()) / 1e6,
        "groups_with_area": int((areas > 0).sum()),
        "sample": pick.size,
        "sample_groups": int(np.unique(w["group"][pick]).size),
        "vector_sample_s": vector_s,
        "vector_at_n_s": vector_at_n_s,
        "ratio": vector_at_n_s / raster_s,
        "sample_raster_s": sample_raster_s,
        "sample_vector_km2": float(vector_areas.sum()) / 1e6,
        "sample_raster_km2": float(sample_areas.sum()) / 1e6,
    }


def format_report(r: dict[str, float]) -> str:
    difference = r["sample_raster_km2"] / r["sample_vector_km2"] - 1.0
    return "\n".join(
        [
            f"covered_area_m2 (pixel {PIXEL_M:g} m): {r['n']:,} wedges ({r['counted']:,} counted), "
            f"{r['groups']:,} groups",
            f"  time: median {r['raster_median_s']:.2f} s (min {r['raster_min_s']:.2f}, max {r['raster_max_s']:.2f}) "
            f"over {RUNS} runs; traced peak memory {r['peak_mb']:.0f} MB",
            f"  covered: {r['total_km2']:.2f} km² in total, {r['groups_with_area']:,} groups with some",
            f"Baseline shapely.union_all per group ({ARC_SEGMENTS}-segment arcs) on {r['sample']:,} wedges "
            f"({r['sample_groups']} whole groups):",
            f"  {r['vector_sample_s']:.2f} s, i.e. {r['vector_at_n_s']:.0f} s extrapolated to {r['n']:,} wedges "
            f"-> ratio {r['ratio']:.0f}x the raster",
            f"  sample areas: shapely {r['sample_vector_km2']:.4f} km², raster {r['sample_raster_km2']:.4f} km² "
            f"({difference:+.2%}); raster time on the sample {r['sample_raster_s'] * 1000:.0f} ms",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=N, help="number of wedges")
    parser.add_argument("--sample", type=int, default=SAMPLE, help="wedges in the shapely baseline's sample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-memory", action="store_true", help="skip the traced-memory run")
    args = parser.parse_args(argv)
    print(format_report(run(args.n, args.sample, seed=args.seed, memory=not args.no_memory)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
