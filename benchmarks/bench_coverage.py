"""Time the analyst's coverage heatmap and the crime gap analysis at a million cameras, beside
naive baselines measured in the same run.

Usage::

    python -m benchmarks.bench_coverage --db /tmp/demo1m.db            # a demo registry file
    python -m benchmarks.bench_coverage --db /tmp/demo1m.db --crimes 100000 --baseline-sample 5000

Build the registry once with ``python -m benchmarks.bench_demo 620000 --keep /tmp/demo1m.db``
(about 1,000,000 cameras over the real reference geography).

Heatmap: per H3 resolution, the time to count cameras and registrations per cell from the
in-memory snapshot (``CellCounts.by_cell``), suppress and build the page's GeoJSON layer
(median of 5 after one cold run, which also fills the cell-outline cache), the layer's size as
compact JSON (what Dash sends), and as the baseline the same counts by one SQL ``GROUP BY``
(``cameras_by_cell``). Targets: under 300 ms and under 2 MB for the whole force area.

Gap analysis: N synthetic crimes (postcode centroids of the force drawn at random, jittered up
to 150 m: crime happens where people live) against every active camera: which crimes have a
camera within 100 m or in view, and the counts per LSOA (``point_coverage`` + ``crime_areas`` +
``coverage_by_area``). Baseline: a GeoPandas ``sjoin`` of 100 m buffers around the crimes with
the cameras (EPSG:27700), timed on a sample and scaled to N. Target: under 5 s at 100,000 crimes.
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import geopandas as gpd  # noqa: E402

from dashboard.analytics.coverage import suppressed_cells  # noqa: E402
from dashboard.analytics.gap_report import crime_areas  # noqa: E402
from dashboard.analytics.gaps import coverage_by_area, registrations_per_area  # noqa: E402
from dashboard.config import load_settings  # noqa: E402
from dashboard.geo.near_points import point_coverage  # noqa: E402
from dashboard.geo.search import CameraIndex, wgs84_to_bng  # noqa: E402
from dashboard.registry.camera_queries import active_camera_frame, active_cell_frame, cameras_by_cell  # noqa: E402
from dashboard.registry.cell_counts import CellCounts  # noqa: E402
from dashboard.registry.database import make_engine, session_factory  # noqa: E402
from dashboard.runtime import load_reference_or_fail  # noqa: E402

K = 8


def _timed(fn, repeat: int = 1):
    times, result = [], None
    for _ in range(repeat):
        gc.disable()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        gc.enable()
    return result, times


def heatmap(sessions) -> None:
    from dashboard.pages.coverage import _features

    with sessions() as s:
        frame, (load_s,) = _timed(lambda: active_cell_frame(s))
    counts, (build_s,) = _timed(lambda: CellCounts.from_frame(frame))
    print(f"\nHeatmap: snapshot of {len(counts):,} cameras loaded in {load_s:.1f} s, built in {build_s:.2f} s "
          "(once per register change, in the background)")
    print(f"{'res':>4} {'cells':>7} {'cold ms':>8} {'median ms':>10} {'max ms':>7} {'MB':>6} {'SQL ms':>8} {'ratio':>6}")
    for res in (7, 8, 9):
        def layer():
            cells = suppressed_cells(counts.by_cell(res), K)
            return cells, _features(cells, K)[0]
        (cells, geojson), (cold,) = _timed(layer)
        _, warm = _timed(layer, 5)
        size = len(json.dumps(geojson, separators=(",", ":"))) / 1e6
        with sessions() as s:
            _, sql = _timed(lambda: cameras_by_cell(s, res), 3)
        median = statistics.median(warm)
        print(f"{res:>4} {len(cells):>7,} {cold * 1e3:>8.0f} {median * 1e3:>10.0f} {max(warm) * 1e3:>7.0f} {size:>6.2f} "
              f"{statistics.median(sql) * 1e3:>8.0f} {statistics.median(sql) / median:>6.1f}")


def synthetic_crimes(ref, n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    postcodes = ref.postcodes.iloc[rng.integers(0, len(ref.postcodes), n)]
    distance = rng.uniform(0, 150, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    lat = postcodes["lat"].to_numpy() + distance * np.cos(angle) / 111_200
    lon = postcodes["lon"].to_numpy() + distance * np.sin(angle) / (111_320 * np.cos(np.radians(lat)))
    return pd.DataFrame({"lat": lat, "lon": lon, "lsoa_code": postcodes["small_area_code"].to_numpy(object)})


def gaps(sessions, ref, n_crimes: int, sample: int) -> None:
    with sessions() as s:
        cameras, (load_s,) = _timed(lambda: active_camera_frame(s))
    index, (build_s,) = _timed(lambda: CameraIndex.from_frame(cameras))
    crimes = synthetic_crimes(ref, n_crimes)
    print(f"\nGap analysis: {n_crimes:,} crimes against {len(index):,} cameras (index loaded in {load_s:.1f} s, "
          f"built in {build_s:.1f} s, shared with the officer search)")
    areas = ref.small_areas[["code", "name"]]

    def domain():
        lsoa = crime_areas(ref, crimes)
        coverage = point_coverage(index, crimes["lat"], crimes["lon"], 100)
        points = pd.DataFrame({"area_code": lsoa, "near": coverage.near, "in_view": coverage.in_view})
        area_index = pd.Index(areas["code"]).get_indexer(lsoa)
        basis = pd.DataFrame({"area_code": areas["code"], "registrations_near": registrations_per_area(
            area_index[coverage.pair_point], coverage.pair_site, len(areas))})
        return coverage, coverage_by_area(points, basis, areas, K)

    _, (cold,) = _timed(domain)  # the first run also prepares the index's site and view grids (once per index)

    (coverage, table), times = _timed(domain, 3)
    median = statistics.median(times)
    print(f"  domain (warm): median {median:.2f} s of 3 (min {min(times):.2f}, max {max(times):.2f}); "
          f"{coverage.near.mean():.1%} of crimes have a camera within 100 m, {coverage.in_view.mean():.1%} in view; "
          f"{len(coverage.pair_site):,} crime-site pairs; the first run, which also prepares the grids, {cold:.2f} s")

    x, y = wgs84_to_bng().transform(cameras["lon"].to_numpy(), cameras["lat"].to_numpy())
    cams = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=27700)
    part = crimes.iloc[:sample]
    cx, cy = wgs84_to_bng().transform(part["lon"].to_numpy(), part["lat"].to_numpy())
    buffers = gpd.GeoDataFrame(geometry=gpd.points_from_xy(cx, cy).buffer(100), crs=27700)
    cams.sindex  # noqa: B018 - build the tree outside the timing, as a long-lived baseline would
    joined, (naive,) = _timed(lambda: gpd.sjoin(buffers, cams, predicate="intersects"))
    naive_near = np.zeros(len(part), dtype=bool)
    naive_near[joined.index.unique()] = True
    agree = (naive_near == coverage.near[:sample]).mean()
    scaled = naive * n_crimes / sample
    print(f"  naive GeoPandas sjoin of 100 m buffers: {naive:.2f} s for {sample:,} crimes -> {scaled:.1f} s scaled to "
          f"{n_crimes:,}; ratio {scaled / median:.1f}x; near flags agree on {agree:.3%} of the sample "
          "(the sjoin measures grid metres, the domain geodesic metres)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path, help="a demo registry SQLite file")
    parser.add_argument("--crimes", type=int, default=100_000)
    parser.add_argument("--baseline-sample", type=int, default=5_000)
    args = parser.parse_args(argv)
    if not args.db.exists():
        parser.error(f"{args.db} does not exist; build it with python -m benchmarks.bench_demo 620000 --keep {args.db}")
    ref = load_reference_or_fail(load_settings({"SECRET_KEY": "b" * 48}))
    sessions = session_factory(make_engine(f"sqlite:///{args.db}"))
    heatmap(sessions)
    gaps(sessions, ref, args.crimes, args.baseline_sample)


if __name__ == "__main__":
    main()
