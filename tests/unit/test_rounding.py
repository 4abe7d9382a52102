"""The rounding and number-text rules of every export, the JSON API and the pages, on hand-worked values."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.analytics.exports import export_bytes
from dashboard.analytics.rounding import decimals, percent, round_value, rounded, rounded_json, thousands


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (1234567, 0, "1,234,567"),
        (1234, 0, "1,234"),
        (999, 0, "999"),
        (661.8018575851393, 0, "662"),
        (661.8018575851393, 1, "661.8"),
        (0.05, 1, "0.1"),
        (12.25, 1, "12.3"),
        (-1234.5, 0, "-1,235"),
        (0, 0, "0"),
    ],
)
def test_thousands(value, digits, text):
    assert thousands(value, digits) == text


def test_hidden_figures_are_words_never_zero():
    assert thousands(None, hidden="fewer than 8") == "fewer than 8"
    assert thousands(pd.NA) == "hidden" and percent(float("nan")) == "hidden"
    assert percent(0.1234) == "12.3%" and percent(0.0005) == "0.1%"


@pytest.mark.parametrize(
    ("column", "digits"),
    [
        ("households", 0),
        ("registrations", 0),
        ("postcodes_near", 0),
        ("radius_m", 0),
        ("registrations_per_1000", 1),
        ("cameras_per_1000", 1),
        ("share_postcodes_near", 3),
        ("share_in_view", 4),
        ("completion_rate", 3),
        ("accepted_share", 3),
        ("share", 3),
        ("area_km2", 3),
        ("in_view_km2", 3),
        ("lat", 6),
        ("lon", 6),
        ("median_days_to_footage", 1),
    ],
)
def test_decimals_per_column(column, digits):
    assert decimals(column) == digits


def test_lsoa_households_come_out_whole_and_hidden_stays_hidden():
    frame = pd.DataFrame(
        {
            "code": ["E01014210", "E01014211"],
            "households": [661.8018575851393, 683.5913312693498],
            "registrations": pd.array([None, 12], dtype="Int64"),
            "registrations_per_1000": [None, 17.554],
            "share_in_view": [0.00123456, None],
            "area_km2": [0.52149, 0.4284],
        }
    )
    csv = export_bytes(frame, None, "csv", "t").decode()
    assert csv.splitlines() == [
        "code,households,registrations,registrations_per_1000,share_in_view,area_km2",
        "E01014210,662,,,0.0012,0.521",
        "E01014211,684,12,17.6,,0.428",
    ]


def test_rounded_leaves_text_and_flags_alone():
    out = rounded(pd.DataFrame({"name": ["a"], "suppressed": [True], "cameras": [3.0]}))
    assert out.to_dict("list") == {"name": ["a"], "suppressed": [True], "cameras": [3]}


def test_json_numbers_rounded_by_their_key():
    doc = {
        "households": 661.8018575851393,
        "by_district": [{"registrations_per_1000": 0.2449, "cameras": 4}],
        "response_rate": 0.66666,
        "centre": [52.123456789, -2.1],
        "suppressed": False,
        "note": "x",
    }
    assert rounded_json(doc) == {
        "households": 662,
        "by_district": [{"registrations_per_1000": 0.2, "cameras": 4}],
        "response_rate": 0.667,
        "centre": [52.123457, -2.1],
        "suppressed": False,
        "note": "x",
    }
    assert round_value(float("nan"), "cameras") is None


def test_geojson_coordinates_have_six_decimals():
    import geopandas as gpd
    import shapely.geometry

    shape = shapely.geometry.Point(-2.123456789, 52.987654321)
    body = export_bytes(pd.DataFrame({"cameras": [9.4]}), gpd.GeoSeries([shape]), "geojson", "t").decode()
    assert "-2.123457" in body and "52.987654" in body
    assert "2.1234567" not in body and '"cameras": 9' in body


def test_weekly_chart_has_axes_with_round_ticks_titles_and_a_hidden_week():
    """Bars 3, hidden, 57 and totals 10, 40, 97. By hand: 57 / 5 ticks = 11.4, the first of 1, 2, 5 x 10 at least
    that is 20, so the left axis reads 0-60 in 20s; 97 / 5 = 19.4 -> 20, the right axis 0-100 in 20s."""
    import re

    from dashboard.components.svg_chart import bar_line_svg

    svg = bar_line_svg(
        ["07 Sep", "14 Sep", "21 Sep"],
        [3, None, 57],
        [10, 40, 97],
        title="T",
        bar_name="per week",
        line_name="so far",
        x_title="Week starting (Monday)",
        bar_axis="Registrations per week",
        line_axis="Registrations so far",
        hidden_name="hidden: fewer than 8 or not shown",
    )
    left = re.findall(r"class='tick y-left'[^>]*>([^<]+)<", svg)
    right = re.findall(r"class='tick y-right'[^>]*>([^<]+)<", svg)
    assert left == ["0", "20", "40", "60"] and right == ["0", "20", "40", "60", "80", "100"]
    assert re.findall(r"class='tick x'[^>]*>([^<]+)<", svg) == ["07 Sep", "14 Sep", "21 Sep"]
    titles = re.findall(r"class='axis-title [^']+'[^>]*>([^<]+)<", svg)
    assert titles == ["Week starting (Monday)", "Registrations per week", "Registrations so far"]
    assert svg.count("<rect class='hidden'") == 1 and "hidden: fewer than 8 or not shown</text>" in svg
    assert svg.count("<rect class='bar'") == 2  # the hidden week is not a bar of 0
