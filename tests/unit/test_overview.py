"""Overview figures and suppression, with answers worked out by hand."""
from __future__ import annotations

import random

import pandas as pd
import pytest

from dashboard.analytics.overview import district_table, districts_covered
from dashboard.analytics.suppression import shown_mask, suppress
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
    registry = pd.DataFrame({"district_code": ["A", "B", "C", "E"], "registrations": [200, 7, 8, 50],
                             "cameras": [330, 9, 15, 60]})
    districts = pd.DataFrame({"code": ["A", "B", "C", "D", "E"], "name": ["Ay", "Bee", "Cee", "Dee", "Ee"],
                              "households": [40_000, 10_000, 16_000, 5_000, 20_000]})
    table = district_table(registry, districts, k=8).set_index("code")
    # A: 200 / 40,000 x 1,000 = 5.0 ; 330 / 40,000 x 1,000 = 8.25 ; E: 50 / 20,000 x 1,000 = 2.5
    assert table.loc["A", "registrations"] == 200 and table.loc["A", "registrations_per_1000"] == 5.0
    assert table.loc["A", "cameras_per_1000"] == 8.25
    assert table.loc["E", "registrations_per_1000"] == 2.5
    # B (7) and D (0) are below 8: hidden. Together they are 7, which the published total would
    # give away, so the smallest shown district, C (8), is hidden as well: 15 hidden in 3 districts.
    for code in "BCD":
        assert pd.isna(table.loc[code, "registrations"]) and pd.isna(table.loc[code, "cameras"])
        assert pd.isna(table.loc[code, "registrations_per_1000"])
    # Covered means at least 8 registrations: A, C and E, although C is hidden in the table.
    assert districts_covered(registry, 8) == 3


@pytest.mark.parametrize("counts,k,expected", [
    ([200, 7, 50], 8, [True, False, False]),
    ([200, 3, 4, 90], 8, [True, False, False, False]),
    ([200, 0, 300], 8, [False, False, True]),
    ([5, 6], 8, [False, False]),
    ([100, 90], 8, [True, True]),
    ([9, 3, 5, 40], 8, [True, False, False, True]),  # 3 + 5 = 8: two hidden, enough
])
def test_shown_mask_by_hand(counts, k, expected):
    assert shown_mask(counts, k) == expected


def test_shown_mask_never_lets_subtraction_reveal_a_small_count():
    rng = random.Random(5)
    for _ in range(2000):
        counts = [rng.choice([0, 1, 3, 7, 8, 9, 15, 40, 300]) for _ in range(rng.randint(1, 9))]
        k = rng.choice([2, 8, 10])
        shown = shown_mask(counts, k)
        hidden = [c for c, s in zip(counts, shown) if not s]
        assert all(s is False for c, s in zip(counts, shown) if c < k)  # primary suppression holds
        # Either nothing is hidden, or the hidden cells are several and together at least k,
        # unless every cell is hidden (then the total itself is the only figure left).
        assert not hidden or (len(hidden) >= 2 and sum(hidden) >= k) or all(not s for s in shown)


def test_class_breaks_and_colours():
    assert class_breaks([]) == []
    assert class_breaks([5.0, 5.0]) == [5.0]
    breaks = class_breaks([1.0, 2.0, 6.0])  # width (6-1)/5 = 1
    assert breaks == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert colour_for(1.0, breaks) == BLUES[0]
    assert colour_for(2.5, breaks) == BLUES[1]
    assert colour_for(6.0, breaks) == BLUES[4]
    assert colour_for(None, breaks) == NO_DATA
