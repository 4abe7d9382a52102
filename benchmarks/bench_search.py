"""Time the officer radius search (``dashboard.geo.search``) against a naive GeoPandas scan.

Usage::

    python -m benchmarks.bench_search                          # 10k, 100k and 1M cameras
    python -m benchmarks.bench_search 1000000 --queries 200    # one size, fewer queries

Synthetic cameras lie in the Staffordshire bounding box (lon -2.47..-1.58, lat 52.42..53.23):
85% clustered around 300 town centres whose sizes follow a Pareto law and whose spread is set
so that, at a million cameras, a town centre holds about 6,000 cameras per km² (a camera for
every other household in dense terraced streets); 15% spread evenly. Incidents are drawn from
the same mixture (crime happens where people are), so most searches find something.

For each size the table gives the index build time, then per radius: the median and 95th
percentile of a full domain ``search()`` (candidates + field of view + retention + ranking,
returning a data frame), the same for the naive baseline ``gdf[gdf.distance(point) <= r]`` on a
GeoDataFrame in EPSG:27700 (incident converted with the same transformer; measured in the same
run, interleaved with the domain searches on queries spread evenly through it: all of them up to
100k cameras, 20 at a million), their ratio (naive median / domain median) and the mean hits.
Targets at 1M cameras and 200 m: domain p95 under 2 ms and at least 50x the naive baseline.
The cyclic garbage collector is paused while timing, as ``timeit`` does.

A second table times searches on the index in service while a rebuild of the largest index
runs in a background thread (``LiveCameraIndex.rebuild_async``): searches never wait for the
rebuild, though they share the interpreter (GIL) with it.

The API end-to-end part is added separately (see ``main``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import geopandas as gpd  # noqa: E402
import shapely  # noqa: E402

from dashboard.geo.search import CameraIndex, LiveCameraIndex, search, wgs84_to_bng  # noqa: E402

BBOX = (-2.47, 52.42, -1.58, 53.23)  # lon_min, lat_min, lon_max, lat_max (EPSG:4326)
TOWNS = 300
RURAL_SHARE = 0.15
PEAK_PER_KM2_AT_1M = 6_000.0
SIZES = (10_000, 100_000, 1_000_000)
RADII_M = (200.0, 1000.0)
QUERIES = 500
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
INCIDENT_AT = NOW - dt.timedelta(days=3)
KINDS = np.array(["doorbell", "fixed", "dome", "ptz", "other"], dtype=object)
CHANNELS = np.array(["email", "phone", "text", None], dtype=object)


def synthetic_positions(n: int, seed: int = 0, draw: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (lat, lon) points of the synthetic town layout; the layout depends on ``seed`` only,
    the points on ``seed``, ``n`` and ``draw``.

    >>> lat, lon = synthetic_positions(1000)
    >>> bool(((lat >= 52.42) & (lat <= 53.23) & (lon >= -2.47) & (lon <= -1.58)).all())
    True
    """
    layout = np.random.default_rng(seed)
    lon0, lat0, lon1, lat1 = BBOX
    share = layout.pareto(1.1, TOWNS) + 1.0
    share /= share.sum()
    spread_m = np.sqrt(share * 1_000_000 / (2 * np.pi * PEAK_PER_KM2_AT_1M / 1e6))
    centre_lat, centre_lon = layout.uniform(lat0, lat1, TOWNS), layout.uniform(lon0, lon1, TOWNS)

    rng = np.random.default_rng([seed, n, draw])
    town = rng.choice(TOWNS, n, p=share)
    north_m, east_m = rng.normal(size=(2, n)) * spread_m[town]
    lat = centre_lat[town] + north_m / 111_200.0
    lon = centre_lon[town] + east_m / (111_320.0 * np.cos(np.radians(lat)))
    rural = (rng.random(n) < RURAL_SHARE) | (lat < lat0) | (lat > lat1) | (lon < lon0) | (lon > lon1)
    lat[rural] = rng.uniform(lat0, lat1, rural.sum())
    lon[rural] = rng.uniform(lon0, lon1, rural.sum())
    return lat, lon


def synthetic_cameras(n: int, seed: int = 0) -> pd.DataFrame:
    """A camera frame with the columns ``CameraIndex.from_frame`` needs (ids 1..n)."""
    lat, lon = synthetic_positions(n, seed)
    rng = np.random.default_rng([seed, n, 1_000])
    easting_m, northing_m = wgs84_to_bng().transform(lon, lat)
    return pd.DataFrame(
        {
            "camera_id": np.arange(1, n + 1),
            "site_id": (np.arange(n) // 2) + 1,
            "lat": lat,
            "lon": lon,
            "easting_m": easting_m,
            "northing_m": northing_m,
            "kind": KINDS[rng.integers(0, len(KINDS), n)],
            "direction_deg": np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 360, n)),
            "fov_angle_deg": np.where(rng.random(n) < 0.7, np.nan, rng.integers(40, 181, n)),
            "fov_range_m": np.where(rng.random(n) < 0.7, np.nan, rng.integers(5, 51, n)),
            "retention_days": np.where(rng.random(n) < 0.2, np.nan, rng.integers(1, 31, n)),
            "preferred_channel": CHANNELS[rng.integers(0, len(CHANNELS), n)],
        }
    )


def incidents(count: int, seed: int = 0) -> list[tuple[float, float]]:
    """``count`` incident points drawn from the same town layout as the cameras."""
    lat, lon = synthetic_positions(count, seed, draw=1)
    return list(zip(lat.tolist(), lon.tolist()))


def _percentiles_ms(seconds: Sequence[float]) -> tuple[float, float]:
    values = np.asarray(seconds) * 1e3
    return float(np.median(values)), float(np.percentile(values, 95))


def _time_domain(index: CameraIndex, lat: float, lon: float, radius_m: float) -> tuple[float, int]:
    started = time.perf_counter()
    result = search(index, lat, lon, radius_m, INCIDENT_AT, NOW)
    return time.perf_counter() - started, len(result)


def _time_naive(gdf: gpd.GeoDataFrame, lat: float, lon: float, radius_m: float) -> float:
    started = time.perf_counter()
    point = shapely.Point(*wgs84_to_bng().transform(lon, lat))
    gdf[gdf.distance(point) <= radius_m]
    return time.perf_counter() - started


def _time_both(
    index: CameraIndex,
    gdf: gpd.GeoDataFrame,
    points: Sequence[tuple[float, float]],
    naive_count: int,
    radius_m: float,
) -> tuple[list[float], list[int], list[float]]:
    """Domain search on every point, the naive scan on ``naive_count`` of them spread evenly
    through the run (interleaved, so a busy machine slows both alike)."""
    for lat, lon in points[:10]:  # warm-up
        search(index, lat, lon, radius_m, INCIDENT_AT, NOW)
    naive_at = set(np.linspace(0, len(points) - 1, naive_count).round().astype(int).tolist())
    domain_s, hits, naive_s = [], [], []
    with _gc_paused():
        for i, (lat, lon) in enumerate(points):
            seconds, count = _time_domain(index, lat, lon, radius_m)
            domain_s.append(seconds)
            hits.append(count)
            if i in naive_at:
                naive_s.append(_time_naive(gdf, lat, lon, radius_m))
    return domain_s, hits, naive_s


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Collect, then pause the cyclic garbage collector while timing (as ``timeit`` does): a
    full collection walks every object of the process, the million-row test data included,
    and would land on whichever query happened to trigger it."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def naive_query_count(size: int, queries: int) -> int:
    """How many queries the naive scan gets: all up to 100k cameras, 20 at a million."""
    return min(queries, max(20, int(2e7 // size)))


def domain_benchmark(
    sizes: Sequence[int] = SIZES,
    radii_m: Sequence[float] = RADII_M,
    queries: int = QUERIES,
    seed: int = 0,
) -> list[dict[str, float]]:
    """Build an index per size and time ``search()`` and the naive scan; one row per size and radius."""
    points = incidents(queries, seed)
    rows = []
    for size in sizes:
        frame = synthetic_cameras(size, seed)
        started = time.perf_counter()
        index = CameraIndex.from_frame(frame)
        build_s = time.perf_counter() - started
        gdf = gpd.GeoDataFrame(
            {"camera_id": frame["camera_id"]},
            geometry=gpd.points_from_xy(frame["easting_m"], frame["northing_m"]),
            crs="EPSG:27700",
        )
        naive_count = naive_query_count(size, queries)
        for radius_m in radii_m:
            domain_s, hits, naive_s = _time_both(index, gdf, points, naive_count, radius_m)
            domain_median, domain_p95 = _percentiles_ms(domain_s)
            naive_median, naive_p95 = _percentiles_ms(naive_s)
            rows.append(
                {
                    "cameras": size,
                    "radius_m": radius_m,
                    "build_s": build_s,
                    "domain_median_ms": domain_median,
                    "domain_p95_ms": domain_p95,
                    "naive_median_ms": naive_median,
                    "naive_p95_ms": naive_p95,
                    "naive_queries": len(naive_s),
                    "ratio": naive_median / domain_median,
                    "hits_mean": float(np.mean(hits)),
                    "hits_p95": float(np.percentile(hits, 95)),
                }
            )
    return rows


def rebuild_benchmark(size: int = SIZES[-1], radius_m: float = 200.0, seed: int = 0) -> dict[str, float]:
    """Search latency while ``LiveCameraIndex`` rebuilds a ``size``-camera index in the background."""
    frame = synthetic_cameras(size, seed)
    live = LiveCameraIndex(lambda: frame)
    live.current()
    points = incidents(QUERIES, seed)
    with _gc_paused():
        quiet_s = [_time_domain(live.current(), lat, lon, radius_m)[0] for lat, lon in points]
        worker = live.rebuild_async()
        during_s = []
        started = time.perf_counter()
        while worker.is_alive():
            lat, lon = points[len(during_s) % len(points)]
            during_s.append(_time_domain(live.current(), lat, lon, radius_m)[0])
        rebuild_s = time.perf_counter() - started
    quiet = _percentiles_ms(quiet_s)
    during = _percentiles_ms(during_s)
    return {
        "cameras": size,
        "radius_m": radius_m,
        "rebuild_s": rebuild_s,
        "searches_during": len(during_s),
        "quiet_median_ms": quiet[0],
        "quiet_p95_ms": quiet[1],
        "during_median_ms": during[0],
        "during_p95_ms": during[1],
        "during_max_ms": float(np.max(during_s) * 1e3) if during_s else float("nan"),
        "version_after": live.version(),
    }


def format_domain_table(rows: Sequence[dict[str, float]]) -> str:
    header = (
        f"{'cameras':>9} {'radius':>6} {'build s':>7} {'search med':>10} {'search p95':>10} "
        f"{'naive med':>9} {'naive p95':>9} {'(n)':>5} {'ratio':>6} {'hits mean':>9} {'hits p95':>8}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['cameras']:>9,} {r['radius_m']:>6.0f} {r['build_s']:>7.2f} {r['domain_median_ms']:>7.3f} ms "
            f"{r['domain_p95_ms']:>7.3f} ms {r['naive_median_ms']:>6.1f} ms {r['naive_p95_ms']:>6.1f} ms "
            f"{r['naive_queries']:>5} {r['ratio']:>5.0f}x {r['hits_mean']:>9.0f} {r['hits_p95']:>8.0f}"
        )
    return "\n".join(lines)


def format_rebuild_table(row: dict[str, float]) -> str:
    return (
        f"search at {row['radius_m']:.0f} m on {row['cameras']:,} cameras: "
        f"quiet median {row['quiet_median_ms']:.3f} ms, p95 {row['quiet_p95_ms']:.3f} ms; "
        f"during a {row['rebuild_s']:.2f} s background rebuild ({row['searches_during']} searches) "
        f"median {row['during_median_ms']:.3f} ms, p95 {row['during_p95_ms']:.3f} ms, "
        f"max {row['during_max_ms']:.1f} ms; index version after: {row['version_after']}"
    )


def target_verdict(rows: Sequence[dict[str, float]]) -> str | None:
    """PASS/MISS for the targets at 1M cameras and 200 m, if that row was measured."""
    for r in rows:
        if r["cameras"] == 1_000_000 and r["radius_m"] == 200.0:
            ok = r["domain_p95_ms"] < 2.0 and r["ratio"] >= 50
            return (
                f"targets at 1M cameras, 200 m: p95 {r['domain_p95_ms']:.3f} ms (< 2 ms), "
                f"ratio {r['ratio']:.0f}x (>= 50x): {'PASS' if ok else 'MISS'}"
            )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=list(SIZES), help="numbers of cameras")
    parser.add_argument(
        "--radius", type=float, action="append", help="radius in metres (repeatable; default 200 and 1000)"
    )
    parser.add_argument("--queries", type=int, default=QUERIES, help="incident points per size and radius")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-rebuild", action="store_true", help="skip the search-during-rebuild measurement")
    args = parser.parse_args(argv)

    rows = domain_benchmark(args.sizes, args.radius or RADII_M, args.queries, args.seed)
    print("Domain search (dashboard.geo.search.search) vs naive gdf[gdf.distance(point) <= r], EPSG:27700")
    print(format_domain_table(rows))
    verdict = target_verdict(rows)
    if verdict:
        print(verdict)
    if not args.no_rebuild:
        print()
        print(format_rebuild_table(rebuild_benchmark(max(args.sizes), seed=args.seed)))
    # The API end-to-end part is added here by its owner.
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
