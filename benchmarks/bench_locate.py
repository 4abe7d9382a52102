"""Time incident location (``dashboard.geo.locate``): typed text and a map click to a checked point.

Usage::

    python -m benchmarks.bench_locate            # 2,000 calls per kind of input
    python -m benchmarks.bench_locate --runs 300

The reference data comes from the configuration (``REFERENCE_DATA_DIR``, as the app reads it).
Printed per kind of input (a postcode, latitude/longitude in two spellings, OS grid references in
three): the median time of one ``parse_location`` call over ``--runs`` calls (after a first call that
prepares the area's shapes), and for a map click ``point_from_map``. Baseline, measured in the same
run: one bare ``pyproj`` conversion of a point between WGS84 and the British National Grid, which
every parse does at least once, and the ratio of each figure to it. Target (the figure the test suite
held until issue 18 moved speed out of the tests): well under a millisecond per call, so an officer's
search never waits on parsing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from dashboard.config import load_settings  # noqa: E402
from dashboard.geo.locate import parse_location, point_from_map, wgs84_to_bng  # noqa: E402
from dashboard.runtime import load_reference_or_fail  # noqa: E402

TEXTS = ["ST16 2DH", "52.8064, -2.1174", "52.8064N 2.1174W", "SJ 88 45", "SJ8845045750", "388450 345750"]
MAP_POINT = (52.8064, -2.1174)
RUNS = 2_000
REPEATS = 5


def _per_call_ms(call, runs: int) -> float:
    """The median over ``REPEATS`` batches of the mean time of one call in a batch of ``runs``."""
    call()  # first use prepares shapes and transformers
    batches = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(runs):
            call()
        batches.append((time.perf_counter() - start) / runs * 1000)
    return statistics.median(batches)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help="calls per batch (default %(default)s)")
    args = parser.parse_args(argv)
    reference = load_reference_or_fail(load_settings(create_secret=False))

    baseline = _per_call_ms(lambda: wgs84_to_bng(MAP_POINT[1], MAP_POINT[0]), args.runs)
    print(
        f"baseline: one pyproj conversion WGS84 -> BNG {baseline * 1000:.1f} µs "
        f"(median of {REPEATS} batches of {args.runs:,})"
    )
    print(f"{'input':<22} {'µs per call':>12} {'x baseline':>11}")
    for text in TEXTS:
        ms = _per_call_ms(lambda text=text: parse_location(text, reference), args.runs)
        print(f"{text!r:<22} {ms * 1000:>12.1f} {ms / baseline:>11.1f}")
    ms = _per_call_ms(lambda: point_from_map(*MAP_POINT, reference), args.runs)
    print(f"{'map click':<22} {ms * 1000:>12.1f} {ms / baseline:>11.1f}")


if __name__ == "__main__":
    main()
