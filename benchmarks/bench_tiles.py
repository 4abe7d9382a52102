"""Time the maps' orientation tiles (``dashboard.geo.orientation``, served by ``dashboard/public/tiles.py``).

Usage::

    python -m benchmarks.bench_tiles                 # 150 tiles a zoom
    python -m benchmarks.bench_tiles --tiles 40      # quicker

Tiles: at each of zooms 10, 13, 16 and 18, a seeded random sample of the tiles that meet the force
area (at street zoom most hold fields: the slowest, in towns, show in the p95 and max) (REFERENCE_DATA_DIR, default the shipped data/reference/staffordshire; the project's manifest).

Printed:
- one-time costs: building the renderer (projecting every layer) and placing each street zoom's
  labels (every postcode is tried once a zoom);
- per zoom, the median, 95th percentile and largest ms to draw a ground tile and a label tile, and their
  sizes, with the renderer warm (each tile drawn once: no tile cache);
- end to end through the app (Flask test client, a fresh SQLite registry): ms per request of an
  undrawn tile, of a tile from the app's tile cache, and the baseline measured in the same run: a
  route on the same app answering a fixed empty SVG with the same headers (the cost of the
  request itself: routing, the access guard, the session and security headers).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import shapely  # noqa: E402

from dashboard.config import DEFAULT_MANIFEST, DEFAULT_REFERENCE_DIR, load_settings  # noqa: E402
from dashboard.geo.orientation import POSTCODE_NAMES_FROM, OrientationTiles  # noqa: E402
from dashboard.geo.reference import load_reference  # noqa: E402
from dashboard.geo.tiles import MAX_ZOOM, tile_bounds, tile_for  # noqa: E402

ZOOMS = (10, 13, 16, 18)


def _tiles_in_area(ref, z: int, n: int, rng: random.Random) -> list[tuple[int, int, int]]:
    area = ref.force_area.geometry.iloc[0]
    minx, miny, maxx, maxy = area.bounds
    x0, y0 = tile_for(minx, maxy, z)
    x1, y1 = tile_for(maxx, miny, z)
    found: set[tuple[int, int]] = set()
    tries = 0
    while len(found) < n and tries < 200 * n:
        tries += 1
        x, y = rng.randint(x0, x1), rng.randint(y0, y1)
        w, s, e, nn = tile_bounds(z, x, y)
        if area.intersects(shapely.box(w, s, e, nn)):
            found.add((x, y))
    return [(z, x, y) for x, y in sorted(found)]


def _ms(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    return f"median {1000 * statistics.median(times):6.2f} ms, p95 {1000 * p95:6.2f} ms, max {1000 * times[-1]:6.2f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=150, help="tiles a zoom (default 150)")
    args = parser.parse_args(argv)
    data_dir = Path(os.environ.get("REFERENCE_DATA_DIR") or DEFAULT_REFERENCE_DIR)
    ref = load_reference(data_dir, DEFAULT_MANIFEST)
    rng = random.Random(18)

    t = time.perf_counter()
    tiles = OrientationTiles(ref)
    print(
        f"renderer built in {1000 * (time.perf_counter() - t):.0f} ms "
        f"({len(ref.postcodes):,} postcodes, {len(ref.small_areas)} small areas)"
    )
    for z in range(POSTCODE_NAMES_FROM, MAX_ZOOM + 1):
        t = time.perf_counter()
        placed = tiles._labels_at(z)
        print(f"  zoom {z}: {len(placed.kinds):,} labels placed in {1000 * (time.perf_counter() - t):.0f} ms (once)")

    samples = {z: _tiles_in_area(ref, z, args.tiles, rng) for z in ZOOMS}
    counts = ", ".join(f"z{z}: {len(samples[z])}" for z in ZOOMS)
    print(f"\nper tile, renderer warm, tiles meeting the force area ({counts}):")
    for z in ZOOMS:
        for name, draw in (("ground", tiles.base), ("labels", tiles.labels)):
            draw(*samples[z][0])  # this zoom's simplified outlines, made once
            times, sizes = [], []
            for tile in samples[z]:
                t = time.perf_counter()
                svg = draw(*tile)
                times.append(time.perf_counter() - t)
                sizes.append(len(svg))
            print(f"  z{z:<2} {name:6}  {_ms(times)}   median {statistics.median(sizes) / 1024:5.1f} KiB")

    _through_the_app(data_dir, samples)


def _through_the_app(data_dir: Path, samples: dict) -> None:
    from flask import Response

    from dashboard.application import create_app
    from dashboard.public import tiles as tile_routes
    from dashboard.runtime import prepare

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            {
                "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                "REFERENCE_DATA_DIR": str(data_dir),
                "SECRET_KEY": "b" * 48,
                "OUTBOX_WORKER": "0",
            }
        )
        rt = prepare(settings)
        app = create_app(rt)
        empty = b'<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"/>'

        def baseline(z, x, y):
            response = Response(empty, mimetype="image/svg+xml")
            response.headers["Cache-Control"] = "public, max-age=86400"
            response.add_etag()
            return response

        app.server.add_url_rule("/tiles/bench-empty/<z>/<x>/<y>.svg", "bench_empty", baseline)
        client = app.server.test_client()
        paths = [f"/tiles/orientation/{z}/{x}/{y}.svg" for zoom in ZOOMS for z, x, y in samples[zoom]]
        paths += [p.replace("/orientation/", "/orientation-labels/") for p in paths]
        client.get(paths[0])  # the renderer and its background placement
        time.sleep(3)
        tile_routes._tile.cache_clear()

        def timed(urls):
            out = []
            for url in urls:
                t = time.perf_counter()
                response = client.get(url)
                out.append(time.perf_counter() - t)
                assert response.status_code == 200, url
            return out

        base = timed(
            [
                p.replace("/orientation/", "/bench-empty/").replace("/orientation-labels/", "/bench-empty/")
                for p in paths
            ]
        )
        cold = timed(paths)
        warm = timed(paths)
        print(f"\nthrough the app ({len(paths)} requests, ground and label tiles of all four zooms):")
        print(f"  baseline: empty SVG     {_ms(base)}")
        print(
            f"  tile, drawn             {_ms(cold)}   ({statistics.median(cold) / statistics.median(base):.1f}x baseline)"
        )
        print(
            f"  tile, from tile cache   {_ms(warm)}   ({statistics.median(warm) / statistics.median(base):.1f}x baseline)"
        )
        rt.engine.dispose()


if __name__ == "__main__":
    main()
