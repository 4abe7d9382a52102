"""Overview figures through the disclosure-control layer, with answers worked out by hand: cell
keys summed from known record keys, adjustments read from the perturbation table's rows, rates
from the published counts."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics.disclosure import Disclosure, PTable
from dashboard.analytics.overview import district_table, districts_covered, headline
from dashboard.components.colour import BLUES, NO_DATA, class_breaks, colour_for

TABLE = PTable.build(8, 3, 2.0)
LAYER = Disclosure(TABLE)


def adjustment(count: int, key: int) -> int:
    return int(TABLE.perturbation(np.array([count]), np.array([key]))[0])


def _registry():
    # Registration keys per district, by hand: A: 200 registrations whose keys sum to 51,000
    # (51,000 mod 256 = 56); B: 7; C: 8 with keys summing to 1,000 (232); E: 50 (key 3).
    return pd.DataFrame(
        {
            "district_code": ["A", "B", "C", "E"],
            "registrations": [200, 7, 8, 50],
            "registrations_key": [51_000 % 256, 11, 1_000 % 256, 3],
            "cameras": [330, 9, 15, 60],
            "cameras_key": [250, 12, 17, 255],
        }
    )


DISTRICTS = pd.DataFrame(
    {
        "code": ["A", "B", "C", "D", "E"],
        "name": ["Ay", "Bee", "Cee", "Dee", "Ee"],
        "households": [40_000, 10_000, 16_000, 5_000, 20_000],
    }
)


def test_district_table_publishes_through_the_layer():
    table = district_table(_registry(), DISTRICTS, LAYER).set_index("code")
    assert list(table.index) == ["A", "B", "C", "D", "E"]  # every reference district, D with no registration
    a_regs, a_cams = 200 + adjustment(200, 56), 330 + adjustment(330, 250)
    assert (table.loc["A", "registrations"], table.loc["A", "cameras"]) == (a_regs, a_cams)
    assert table.loc["A", "registrations_per_1000"] == round(a_regs * 1000 / 40_000, 2)
    assert table.loc["A", "cameras_per_1000"] == round(a_cams * 1000 / 40_000, 2)
    # C has exactly 8: shown (no secondary suppression any more), perturbed, never below 8
    c_regs = 8 + adjustment(8, 232)
    assert table.loc["C", "registrations"] == c_regs >= 8
    assert table.loc["C", "cameras"] == 15 + adjustment(15, 17)
    assert table.loc["E", "registrations_per_1000"] == round((50 + adjustment(50, 3)) * 1000 / 20_000, 2)
    # B (7) and D (0): hidden, with their cameras and rates; households are public Census figures
    for code in "BD":
        row = table.loc[code]
        assert pd.isna(row["registrations"]) and pd.isna(row["cameras"]) and pd.isna(row["registrations_per_1000"])
    assert table["households"].tolist() == [40_000, 10_000, 16_000, 5_000, 20_000]
    assert districts_covered(table.reset_index()) == 3


def test_cameras_are_hidden_with_the_registrations_they_are_drawn_from():
    by = pd.DataFrame(
        {"district_code": ["A"], "registrations": [5], "registrations_key": [0], "cameras": [300], "cameras_key": [0]}
    )
    row = district_table(by, DISTRICTS, LAYER).set_index("code").loc["A"]
    assert pd.isna(row["registrations"]) and pd.isna(row["cameras"]) and pd.isna(row["cameras_per_1000"])


def test_district_table_refuses_k_and_frames_without_keys():
    with pytest.raises(TypeError, match="disclosure-control layer"):
        district_table(_registry(), DISTRICTS, 8)
    with pytest.raises(ValueError, match="registrations_key"):
        district_table(_registry().drop(columns=["registrations_key"]), DISTRICTS, LAYER)


def test_withhold_all_shows_nothing_about_the_register():
    quiet = Disclosure(TABLE, withhold_all=True)
    table = district_table(_registry(), DISTRICTS, quiet)
    other = district_table(_registry().assign(registrations=[900, 80, 70, 9]), DISTRICTS, quiet)
    assert table.equals(other) and table[["registrations", "cameras", "households"]].isna().all().all()
    assert districts_covered(table) == 0


def _summary(**kw):
    values = dict(
        active_registrations=1200,
        registrations_key=40,
        active_cameras=1900,
        cameras_key=200,
        registered_before_recent=1150,
        before_recent_key=99,
        today=dt.date(2026, 11, 29),
    )
    return SimpleNamespace(**(values | kw))


def test_headline_figures_and_the_recent_difference():
    figures = headline(_summary(), LAYER)
    total, before = 1200 + adjustment(1200, 40), 1150 + adjustment(1150, 99)
    assert figures.active_registrations == total
    assert figures.active_cameras == 1900 + adjustment(1900, 200)
    # the last 7 UK days (23 to 29 November): the published total now minus the published total
    # up to 22 November, both of the cumulative series of active registrations by day registered
    assert figures.registrations_last_7_days == total - before
    assert figures.first_recent_day == dt.date(2026, 11, 23)
    assert 50 - 6 <= figures.registrations_last_7_days <= 50 + 6


def test_headline_hides_what_it_must():
    # fewer than K registrations at all: nothing shown, not even the cameras
    small = headline(_summary(active_registrations=5, registered_before_recent=2), LAYER)
    assert (small.active_registrations, small.active_cameras, small.registrations_last_7_days) == (None, None, None)
    # a small earlier total (1..7) cannot be subtracted: the recent figure is hidden
    assert (
        headline(_summary(active_registrations=40, registered_before_recent=3), LAYER).registrations_last_7_days is None
    )
    # nothing before the window: the recent figure is the published total itself
    launch = headline(_summary(active_registrations=40, registered_before_recent=0, before_recent_key=0), LAYER)
    assert launch.registrations_last_7_days == launch.active_registrations == 40 + adjustment(40, 40)
    # a published difference under K is not worth reading: hidden
    assert headline(_summary(registered_before_recent=1199), LAYER).registrations_last_7_days is None
    quiet = headline(_summary(), Disclosure(TABLE, withhold_all=True))
    assert (quiet.active_registrations, quiet.active_cameras, quiet.registrations_last_7_days) == (None, None, None)


def test_utility_district_and_force_figures_move_little():
    rng = np.random.default_rng(8)
    true = rng.integers(8, 5000, 2000)
    keys = rng.integers(0, 256, 2000)
    by = pd.DataFrame(
        {
            "district_code": [f"D{i}" for i in range(2000)],
            "registrations": true,
            "registrations_key": keys,
            "cameras": true * 2,
            "cameras_key": (keys * 3) % 256,
        }
    )
    districts = pd.DataFrame({"code": by["district_code"], "name": by["district_code"], "households": 10_000})
    table = district_table(by, districts, LAYER)
    for column, truth in (("registrations", true), ("cameras", true * 2)):
        moved = np.abs(table[column].to_numpy(dtype="float64") - truth)
        assert (moved <= np.maximum(0.01 * truth, TABLE.max_perturbation)).all()
        assert abs(float(np.mean(table[column].to_numpy(dtype="float64") - truth))) < 0.2  # no lean at these sizes


def test_class_breaks_and_colours():
    assert class_breaks([]) == []
    assert class_breaks([5.0, 5.0]) == [5.0]
    breaks = class_breaks([1.0, 2.0, 6.0])  # width (6-1)/5 = 1
    assert breaks == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert colour_for(1.0, breaks) == BLUES[0]
    assert colour_for(2.5, breaks) == BLUES[1]
    assert colour_for(6.0, breaks) == BLUES[4]
    assert colour_for(None, breaks) == NO_DATA
