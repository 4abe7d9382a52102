"""Overview figures and suppression, with answers worked out by hand."""
from __future__ import annotations

import pandas as pd
import pytest

from dashboard.analytics.overview import district_table, districts_covered
from dashboard.analytics.suppression import suppress
from dashboard.components.colour import BLUES, NO_DATA, class_breaks, colour_for


@pytest.mark.parametrize("count,k,basis,expected", [
    (0, 8, None, None), (7, 8, None, None), (8, 8, None, 8), (120, 8, None, 120),
    (3, 8, 20, 3),      # 3 cameras drawn from 20 registrations: shown
    (30, 8, 5, None),   # 30 cameras drawn from 5 registrations: hidden
    (9, 10, None, None),
])
def test_suppress(count, k, basis, expected):
    assert suppress(count, k, basis=basis).value == expected


def test_suppressed_text_names_k():
    assert suppress(2, 8).text() == "fewer than 8"
    assert suppress(12345, 8).text() == "12,345"


def test_district_table_rates_and_suppression():
    registry = pd.DataFrame({"district_code": ["A", "B", "C"], "registrations": [200, 7, 8], "cameras": [330, 9, 15]})
    districts = pd.DataFrame({"code": ["A", "B", "C", "D"], "name": ["Ay", "Bee", "Cee", "Dee"],
                              "households": [40_000, 10_000, 16_000, 5_000]})
    table = district_table(registry, districts, k=8).set_index("code")
    # A: 200 / 40,000 x 1,000 = 5.0 ; 330 / 40,000 x 1,000 = 8.25
    assert table.loc["A", "registrations"] == 200 and table.loc["A", "registrations_per_1000"] == 5.0
    assert table.loc["A", "cameras_per_1000"] == 8.25
    # B has 7 registrations (< 8): both its counts and its rates are hidden, even the 9 cameras.
    assert pd.isna(table.loc["B", "registrations"]) and pd.isna(table.loc["B", "cameras"])
    assert pd.isna(table.loc["B", "registrations_per_1000"])
    # C has exactly 8: shown. 8 / 16,000 x 1,000 = 0.5
    assert table.loc["C", "registrations_per_1000"] == 0.5
    # D has none at all: zero is fewer than K, so hidden too.
    assert pd.isna(table.loc["D", "registrations"])
    assert districts_covered(table.reset_index()) == 2


def test_class_breaks_and_colours():
    assert class_breaks([]) == []
    assert class_breaks([5.0, 5.0]) == [5.0]
    breaks = class_breaks([1.0, 2.0, 6.0])  # width (6-1)/5 = 1
    assert breaks == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert colour_for(1.0, breaks) == BLUES[0]
    assert colour_for(2.5, breaks) == BLUES[1]
    assert colour_for(6.0, breaks) == BLUES[4]
    assert colour_for(None, breaks) == NO_DATA
