"""Time the analyst's coverage heatmap and the crime gap analysis at a million cameras, beside
naive baselines measured in the same run.

Usage::

    python -m benchmarks.bench_coverage --db /tmp/demo1m.db            # a demo registry file
    python -m benchmarks.bench_coverage --db /tmp/demo1m.db --crimes 100000 --baseline-sample 5000

Build the registry once with ``python -m benchmarks.bench_demo 620000 --keep /tmp/demo1m.db``
(about 1,000,000 cameras over the real reference geography).

Heatmap: per H3 resolution, the time to read cameras and registrations per cell with their cell
keys from the register's summary table (``summaries.cells``, what every server reads), publish them through the
disclosure-control layer (``published_cells``: perturbation, suppression below K, the finest
grid's rule) and build the page's GeoJSON layer (median of 5 after one cold run, which also fills
the cell-outline cache; "cold" is a process's first request), the layer's size as compact JSON (what Dash sends), and as the baseline
the same counts by one SQL ``GROUP BY`` (``cameras_by_cell``). Targets: under 300 ms and under
2 MB for the whole force area; and within 10% of the figures before the layer (issue 14). The
same timing with one camera filter (``--filter``, e.g. ``kind=doorbell``) adds the count of the
registrations the filter leaves out.

Gap analysis: N synthetic crimes (postcode centroids of the force drawn at random, jittered up
to 150 m: crime happens where people live) against every active camera: which crimes have a
camera within 100 m or in view, and every published figure per LSOA, IMD decile and the force
(``crime_areas`` + ``point_coverage`` + ``true_figures`` with the registrations' and crimes' cell
keys + the complement rule + ``published_figures``); then the whole report as the page's callback
caches it (``build_report``). Baseline: a GeoPandas ``sjoin`` of 100 m buffers around the crimes
with the cameras (EPSG:27700), timed on a sample and scaled to N. Target: under 5 s at 100,000
crimes, and within 10% of the figures before the disclosure-control layer (issue 14).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import geopandas as gpd  # noqa: E402

from dashboard.analytics.coverage import published_cells  # noqa: E402
from dashboard.analytics.disclosure import Disclosure  # noqa: E402
from dashboard.config import load_settings  # noqa: E402
from dashboard.geo.near_points import point_coverage  # noqa: E402
from dashboard.geo.search import CameraIndex, wgs84_to_bng  # noqa: E402
from dashboard.registry import summaries  # noqa: E402
from dashboard.registry.camera_queries import active_camera_frame, cameras_by_cell  # noqa: E402
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


def heatmap(sessions, filters: dict | None = None) -> None:
    from dashboard.analytics.coverage import camera_choice, one_filter
    from dashboard.pages.coverage import _features

    layer = Disclosure.from_settings(load_settings({"SECRET_KEY": "b" * 48}))
    filters = filters or {}
    choice = camera_choice(one_filter(**filters))
    with sessions() as s:  # counting the whole register again, as after a bulk load (rolled back)
        rows, (rebuild_s,) = _timed(lambda: summaries.rebuild(s))
        s.rollback()
        cameras = s.scalar(sa.text("SELECT count(*) FROM camera WHERE active"))
    print(
        f"\nHeatmap: {cameras:,} active cameras; the summary table ({rows:,} cell rows) counted from the whole "
        f"register in {rebuild_s:.1f} s (after a bulk load only; writes keep it exact); filter: {choice}"
    )
    print(
        f"{'res':>4} {'cells':>7} {'cold ms':>8} {'median ms':>10} {'max ms':>7} {'MB':>6} {'SQL ms':>8} {'ratio':>6}"
    )
    for res in (7, 8, 9):

        def layer_json():
            with sessions() as s:
                counted = summaries.cells(s, res, choice)
            cells = published_cells(counted, layer, res)
            return cells, _features(cells, layer)[0]

        (cells, geojson), (cold,) = _timed(layer_json)
        _, warm = _timed(layer_json, 5)
        size = len(json.dumps(geojson, separators=(",", ":"))) / 1e6
        with sessions() as s:
            _, sql = _timed(lambda: cameras_by_cell(s, res, **filters), 3)
        median = statistics.median(warm)
        print(
            f"{res:>4} {len(cells):>7,} {cold * 1e3:>8.0f} {median * 1e3:>10.0f} {max(warm) * 1e3:>7.0f} {size:>6.2f} "
            f"{statistics.median(sql) * 1e3:>8.0f} {statistics.median(sql) / median:>6.1f}"
        )


def synthetic_crimes(ref, n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    postcodes = ref.postcodes.iloc[rng.integers(0, len(ref.postcodes), n)]
    distance = rng.uniform(0, 150, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    lat = postcodes["lat"].to_numpy() + distance * np.cos(angle) / 111_200
    lon = postcodes["lon"].to_numpy() + distance * np.sin(angle) / (111_320 * np.cos(np.radians(lat)))
    return pd.DataFrame({"lat": lat, "lon": lon, "lsoa_code": postcodes["small_area_code"].to_numpy(object)})


def gaps(sessions, ref, n_crimes: int, sample: int) -> None:
    from dashboard.analytics.gap_report import (
        GapQuery,
        build_report,
        crime_areas,
        from_index,
        gap_crimes,
        gap_register,
        hierarchy_for,
    )
    from dashboard.analytics.gaps import complement_hidden, crime_cube, published_figures, true_figures
    from dashboard.registry.crime_import import CRIME_CATEGORIES

    layer = Disclosure.from_settings(load_settings({"SECRET_KEY": "b" * 48}))
    with sessions() as s:
        cameras, (load_s,) = _timed(lambda: active_camera_frame(s))
    index, (build_s,) = _timed(lambda: CameraIndex.from_frame(cameras))
    crimes = synthetic_crimes(ref, n_crimes)
    rng = np.random.default_rng(2)
    months = [dt.date(2025, m, 1) for m in range(1, 13)]
    crimes = crimes.assign(
        month=[months[i] for i in rng.integers(0, 12, len(crimes))],
        crime_type=np.array(CRIME_CATEGORIES, dtype=object)[rng.integers(0, 14, len(crimes))],
        record_key=rng.integers(0, 256, len(crimes)),
    )
    with sessions() as s:
        register, (register_s,) = _timed(lambda: gap_register(s))
    print(
        f"\nGap analysis: {n_crimes:,} crimes against {len(index):,} cameras (index loaded in {load_s:.1f} s, "
        f"built in {build_s:.1f} s, shared with the officer search; registration keys and registrations per area "
        f"read in {register_s:.1f} s, once per register change)"
    )
    hierarchy = hierarchy_for(ref)
    codes = pd.Index(ref.small_areas["code"])
    month_of = {m: i for i, m in enumerate(months)}
    category = crimes["crime_type"].map({c: i for i, c in enumerate(CRIME_CATEGORIES)}).to_numpy()

    def domain():
        """Which crimes have a camera within 100 m or in view, and every published figure per small
        area, decile and the force (true figures with their cell keys, the complement rule, the layer)."""
        lsoa = codes.get_indexer(pd.Index(crime_areas(ref, crimes).tolist(), dtype=object))
        inside = lsoa >= 0  # the few points outside the force area are not counted
        coverage = point_coverage(index, crimes["lat"][inside], crimes["lon"][inside], 100)
        true = true_figures(
            hierarchy,
            lsoa[inside],
            coverage.near,
            coverage.in_view,
            crimes["record_key"].to_numpy()[inside],
            coverage.pair_point,
            coverage.pair_site,
            register.site_keys,
        )
        cube = crime_cube(crimes["month"].map(month_of).to_numpy(), category, lsoa, (12, 14, len(codes)))
        close = complement_hidden(cube, hierarchy, None, None, layer.k)
        return coverage, {
            level: published_figures(true[level], close[level], layer) for level in ("lsoa", "decile", "force")
        }

    _, (cold,) = _timed(domain)  # the first run also prepares the index's site and view grids (once per index)

    (coverage, _table), times = _timed(domain, 3)
    median = statistics.median(times)
    print(
        f"  domain (warm): median {median:.2f} s of 3 (min {min(times):.2f}, max {max(times):.2f}); "
        f"{coverage.near.mean():.1%} of crimes have a camera within 100 m, {coverage.in_view.mean():.1%} in view; "
        f"{len(coverage.pair_site):,} crime-site pairs; the first run, which also prepares the grids, {cold:.2f} s"
    )

    arranged, (arrange_s,) = _timed(
        lambda: gap_crimes(
            ref, crimes, pd.DataFrame({"month": [], "crime_type": [], "crimes": []}).astype({"crimes": "int64"})
        )
    )
    for level in ("lsoa", "district"):
        query = GapQuery(radius_m=100, level=level)
        true_of = from_index(ref, index, register.site_keys)
        _, report_times = _timed(lambda: build_report(arranged, ref, true_of, register, query, layer, 50), 3)
        print(
            f"  the whole report ({level}, all months, all types, 100 m; what the callback caches): median "
            f"{statistics.median(report_times):.2f} s of 3; crimes arranged once per import in {arrange_s:.2f} s"
        )

    x, y = wgs84_to_bng().transform(cameras["lon"].to_numpy(), cameras["lat"].to_numpy())
    cams = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=27700)
    part = crimes.iloc[:sample]
    cx, cy = wgs84_to_bng().transform(part["lon"].to_numpy(), part["lat"].to_numpy())
    buffers = gpd.GeoDataFrame(geometry=gpd.points_from_xy(cx, cy).buffer(100), crs=27700)
    cams.sindex  # noqa: B018 - build the tree outside the timing, as a long-lived baseline would
    joined, (naive,) = _timed(lambda: gpd.sjoin(buffers, cams, predicate="intersects"))
    naive_near = np.zeros(len(part), dtype=bool)
    naive_near[joined.index.unique()] = True
    agree = (naive_near == coverage.near[:sample]).mean()  # the first points are all inside the force
    scaled = naive * n_crimes / sample
    print(
        f"  naive GeoPandas sjoin of 100 m buffers: {naive:.2f} s for {sample:,} crimes -> {scaled:.1f} s scaled to "
        f"{n_crimes:,}; ratio {scaled / median:.1f}x; near flags agree on {agree:.3%} of the sample "
        "(the sjoin measures grid metres, the domain geodesic metres)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path, help="a demo registry SQLite file")
    parser.add_argument("--crimes", type=int, default=100_000)
    parser.add_argument("--baseline-sample", type=int, default=5_000)
    parser.add_argument("--heatmap-only", action="store_true", help="time the heatmap only (no gap analysis)")
    parser.add_argument(
        "--filter",
        default=None,
        help="one camera filter for the heatmap, e.g. kind=doorbell, placement=indoor or direction_known=true",
    )
    args = parser.parse_args(argv)
    if not args.db.exists():
        parser.error(f"{args.db} does not exist; build it with python -m benchmarks.bench_demo 620000 --keep {args.db}")
    ref = load_reference_or_fail(load_settings({"SECRET_KEY": "b" * 48}))
    sessions = session_factory(make_engine(f"sqlite:///{args.db}"))
    filters = {}
    if args.filter:
        name, _, value = args.filter.partition("=")
        filters = {name: value.lower() == "true"} if name == "direction_known" else {name: value}
    heatmap(sessions, filters)
    if not args.heatmap_only:
        gaps(sessions, ref, args.crimes, args.baseline_sample)


if __name__ == "__main__":
    main()
