"""Cells through the disclosure-control layer, with answers worked out by hand: cell keys summed
from known record keys, adjustments read from the perturbation table's rows, the finest grid's
rule, the left-out rule, the one-filter rule and the legend's classes."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics.coverage import (
    CAMERA_CHOICES,
    camera_choice,
    cell_centre,
    cell_polygon,
    one_filter,
    published_cells,
)
from dashboard.analytics.disclosure import Disclosure, PTable
from dashboard.components.colour import class_index, legend_breaks
from dashboard.registry import summaries
from tests.counted_cells import Counted

TABLE = PTable.build(8, 3, 2.0)  # the defaults: K 8, adjustments of at most 3, variance 2
LAYER = Disclosure(TABLE)


def adjustment(count: int, key: int) -> int:
    """The table's adjustment for one (true count, cell key), read from its rows."""
    return int(TABLE.perturbation(np.array([count]), np.array([key]))[0])


def _frame(rows):
    """Cameras as (site, registration key, camera key, r7, r8, r9, kind, placement, direction known)."""
    return pd.DataFrame(
        rows,
        columns=[
            "site_id",
            "registration_key",
            "camera_key",
            "h3_r7",
            "h3_r8",
            "h3_r9",
            "kind",
            "placement",
            "direction_known",
        ],
    )


def test_cell_counts_carry_the_keys_of_the_records_counted():
    # Cell P (res 8) has sites 1..3; site 1 has two cameras (a dome indoors, a doorbell), site 2 a
    # doorbell, site 3 a dome; cell Q has site 4 with one fixed camera. All four share one res-7 cell.
    frame = _frame(
        [
            (1, 200, 100, "A", "P", "p1", "dome", "indoor", False),
            (1, 200, 250, "A", "P", "p1", "doorbell", "outdoor", True),
            (2, 90, 7, "A", "P", "p2", "doorbell", "outdoor", True),
            (3, 31, 31, "A", "P", "p2", "dome", "outdoor", False),
            (4, 255, 1, "A", "Q", "q1", "fixed", "outdoor", True),
        ]
    )
    counts = Counted(frame)
    whole = counts.by_cell(7).iloc[0]
    # registrations 200 + 90 + 31 + 255 = 576 -> 576 - 512 = 64; cameras 100 + 250 + 7 + 31 + 1 = 389 -> 133
    assert (whole["registrations"], whole["registrations_key"], whole["cameras"], whole["cameras_key"]) == (
        4,
        64,
        5,
        133,
    )
    p = counts.by_cell(8).set_index("cell").loc["P"]
    # sites 1, 2, 3: 200 + 90 + 31 = 321 -> 65; cameras 100 + 250 + 7 + 31 = 388 -> 132
    assert (p["registrations"], p["registrations_key"], p["cameras"], p["cameras_key"]) == (3, 65, 4, 132)
    doorbells = counts.by_cell(8, kind="doorbell").set_index("cell")
    assert list(doorbells.index) == ["P"]  # Q has no doorbell: not listed
    # sites 1 and 2 (200 + 90 = 290 -> 34); cameras 250 + 7 = 257 -> 1; left out: site 1 (its dome) and site 3
    assert doorbells.loc["P"].tolist() == [2, 34, 2, 1, 2]
    unknown = counts.by_cell(9, direction_known=False).set_index("cell")
    # p1: site 1's dome (key 100); p2: site 3's dome (31); left out: site 1's doorbell in p1, site 2 in p2
    assert unknown.loc["p1"].tolist() == [1, 200, 1, 100, 1] and unknown.loc["p2"].tolist() == [1, 31, 1, 31, 1]
    with pytest.raises(ValueError, match="unknown camera choice"):  # a kind outside the vocabulary is no choice
        summaries.cells_from(counts.rows, 8, "kind:no-such-kind")


def _cells(rows):
    return pd.DataFrame(
        rows, columns=["cell", "registrations", "registrations_key", "cameras", "cameras_key", "registrations_left_out"]
    )


def test_published_counts_are_true_plus_the_tables_adjustment_and_nothing_below_k():
    frame = _cells(
        [
            ("c3", 40, 17, 61, 200, 0),
            ("c1", 8, 0, 30, 255, 0),
            ("c2", 7, 5, 90, 9, 0),
            ("c4", 1, 3, 1, 3, 0),
            ("c5", 12, 250, 15, 4, 3),
        ]
    )
    out = published_cells(frame, LAYER, 8).set_index("cell")
    assert list(out.index) == ["c1", "c2", "c3", "c4", "c5"]  # cell order; every cell with a camera is drawn
    assert out.loc["c3", "registrations"] == 40 + adjustment(40, 17)
    assert out.loc["c3", "cameras"] == 61 + adjustment(61, 200)
    assert out.loc["c1", "registrations"] == 8 + adjustment(8, 0) and out.loc["c1", "cameras"] == 30 + adjustment(
        30, 255
    )
    # 7 and 1 registrations: grey, no number at all (not even the 90 cameras drawn from 7 registrations)
    for cell in ("c2", "c4"):
        assert (
            out.loc[cell, "suppressed"]
            and pd.isna(out.loc[cell, "registrations"])
            and pd.isna(out.loc[cell, "cameras"])
        )
    # 12 registrations, but the filter left out cameras of 3 registrations: hidden as well
    assert out.loc["c5", "suppressed"] and pd.isna(out.loc["c5", "cameras"])
    assert not out.loc[["c1", "c3"], "suppressed"].any()


def test_adjustments_stay_within_the_bound_and_never_publish_below_k():
    rng = np.random.default_rng(3)
    true = rng.integers(1, 400, 5000)
    frame = _cells(
        [
            (f"c{i:05d}", int(n), int(k), int(n), int((k * 7) % 256), 0)
            for i, (n, k) in enumerate(zip(true, rng.integers(0, 256, 5000)))
        ]
    )
    out = published_cells(frame, LAYER, 7)
    shown = ~out["suppressed"].to_numpy()
    counts = frame.sort_values("cell")["registrations"].to_numpy()
    published = out["registrations"].to_numpy(dtype="float64", na_value=np.nan)
    assert (shown == (counts >= 8)).all()
    assert np.abs(published[shown] - counts[shown]).max() == 3  # the bound is reached, never passed
    assert published[shown].min() >= 8
    # about a quarter of the counts from K + 3 up are published unchanged (the table's 0 column)
    large = counts >= 11
    assert 0.22 < np.mean(published[large] == counts[large]) < 0.32


def test_the_same_records_always_get_the_same_answer_and_one_more_another():
    base = _cells([("c", 20, 100, 30, 5, 0)])
    first, again = published_cells(base, LAYER, 8), published_cells(base.copy(), LAYER, 8)
    assert first.equals(again)
    # one registration more (its key 77 added): an answer drawn afresh from the table's row for 21
    plus = published_cells(_cells([("c", 21, 177, 31, 82, 0)]), LAYER, 8)
    assert plus.loc[0, "registrations"] == 21 + adjustment(21, 177)


def test_the_finest_grid_lists_no_cell_under_k():
    frame = _cells([("a", 7, 1, 9, 1, 0), ("b", 8, 2, 8, 2, 0), ("c", 1, 3, 4, 3, 0), ("d", 30, 4, 31, 4, 2)])
    res9 = published_cells(frame, LAYER, 9)
    assert res9["cell"].tolist() == ["b", "d"]  # a and c are not drawn at all
    # d has 30 registrations; its number is hidden (the filter left out 2), the cell may be drawn
    assert res9.set_index("cell").loc["d", "suppressed"]
    res8 = published_cells(frame, LAYER, 8)
    assert res8["cell"].tolist() == ["a", "b", "c", "d"]
    assert res8["suppressed"].tolist() == [True, False, True, True]


def test_withhold_all_draws_nothing_whatever_the_register():
    quiet = Disclosure(TABLE, withhold_all=True)
    for frame in (_cells([("a", 70, 1, 90, 1, 0), ("b", 3, 2, 3, 2, 0)]), _cells([("z", 9, 9, 9, 9, 0)])):
        for res in (7, 8, 9):
            assert published_cells(frame, quiet, res).empty


def test_one_filter_at_a_time():
    assert one_filter() == {"kind": None, "placement": None, "direction_known": None}
    assert one_filter(direction_known=False)["direction_known"] is False
    for two in (
        {"kind": "dome", "placement": "indoor"},
        {"placement": "outdoor", "direction_known": True},
        {"kind": "ptz", "direction_known": False},
    ):
        with pytest.raises(ValueError, match="one camera filter at a time"):
            one_filter(**two)
    # The page's single choice: all, each kind, outdoors, indoors, direction known / not known.
    assert [label for label, _ in CAMERA_CHOICES.values()] == [
        "All cameras",
        "Doorbell camera",
        "Fixed CCTV",
        "Dome camera",
        "Pan-tilt-zoom",
        "Other",
        "Outdoors",
        "Indoors",
        "Direction known",
        "Direction not known",
    ]
    for value, (_, filters) in CAMERA_CHOICES.items():
        assert len(filters) <= 1 and camera_choice(one_filter(**filters)) == value


def test_legend_classes_are_wide_enough_for_one_step_at_most():
    assert legend_breaks([8, 9, 10, 11, 12, 13, 20, 30, 40, 300], 3) == [9.0, 13.0, 30.0, 300.0]
    rng = random.Random(11)
    for _ in range(300):
        values = [
            rng.choice([8, 9, 10, 11, 12, 14, 17, 25, 60, 400]) + rng.randint(0, 4) for _ in range(rng.randint(1, 60))
        ]
        breaks = legend_breaks(values, 3)
        assert breaks[-1] == max(values) and all(b - a >= 3 for a, b in zip(breaks, breaks[1:]))
        for v in values:
            for d in range(-3, 4):
                assert abs(class_index(v + d, breaks) - class_index(v, breaks)) <= 1, (values, v, d)


def test_polygon_is_a_closed_ring_around_the_centre():
    cell = "88195c1a3bfffff"
    ring, (lon, lat) = cell_polygon(cell), cell_centre(cell)
    assert ring[0] == ring[-1] and len(ring) == 7
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert min(lons) < lon < max(lons) and min(lats) < lat < max(lats)


def test_the_map_layer_colours_cells_by_the_legend_and_carries_published_numbers_only():
    import h3

    from dashboard.components.colour import BLUES, colour_for
    from dashboard.pages.coverage import _features

    rng = np.random.default_rng(4)
    grid = sorted(h3.grid_disk("88195c1a3bfffff", 12))
    for size in (1, 2, 7, 300):
        true = rng.integers(1, 200, size)
        frame = _cells([(cell, int(n), int(n) % 256, int(n) * 2, 7, 0) for cell, n in zip(grid, true)])
        cells = published_cells(frame, LAYER, 8)
        layer_json, breaks, _ = _features(cells, LAYER)
        for feature, (_, row) in zip(layer_json["features"], cells.iterrows()):
            if row["suppressed"]:
                assert feature["properties"] == {}
            else:
                assert feature["properties"] == {
                    "c": BLUES.index(colour_for(float(row["cameras"]), breaks)),
                    "n": int(row["cameras"]),
                    "r": int(row["registrations"]),
                }


def test_cell_rows_round_every_coordinate_as_the_json_rule_does_one_by_one():
    """The vectorised rows equal rounding each number of the plain construction (the API's answer
    before): ~1,000 real cells at every grid, some hidden."""
    import h3

    from dashboard.analytics.coverage import cell_centre, cell_polygon, cell_rows
    from dashboard.analytics.rounding import rounded_json

    rng = np.random.default_rng(5)
    for res in (7, 8, 9):
        cells = sorted(h3.grid_disk(h3.latlng_to_cell(52.8066, -2.1164, res), 9))
        hidden = rng.random(len(cells)) < 0.3
        shown = pd.DataFrame(
            {
                "cell": cells,
                "registrations": pd.array(
                    [None if h else int(v) for h, v in zip(hidden, rng.integers(8, 90, len(cells)))], dtype="Int64"
                ),
                "cameras": pd.array(
                    [None if h else int(v) for h, v in zip(hidden, rng.integers(8, 150, len(cells)))], dtype="Int64"
                ),
                "suppressed": hidden,
            }
        )
        plain = [
            {
                "cell": c,
                "centre": cell_centre(c),
                "polygon": cell_polygon(c),
                "cameras": None if h else int(cams),
                "registrations": None if h else int(regs),
                "suppressed": bool(h),
            }
            for c, regs, cams, h in zip(shown["cell"], shown["registrations"], shown["cameras"], shown["suppressed"])
        ]
        assert cell_rows(shown) == rounded_json({"cells": plain})["cells"]
        assert len(cells) == 271
