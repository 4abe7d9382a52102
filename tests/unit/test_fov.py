"""Field of view: which cameras can see the incident, and the wedge drawn on the map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from dashboard.geo.fov import fill_effective_fov, fov_wedge, in_view, in_view_codes, kind_defaults

GEOD = Geod(ellps="WGS84")
NAN = np.nan


def view(direction, angle, reach, bearing, distance):
    return in_view([direction], [angle], [reach], [bearing], [distance])[0]


# --------------------------------------------------------------------------- in_view


@pytest.mark.parametrize(
    "bearing, expected", [(355, "yes"), (5, "yes"), (8, "yes"), (0, "yes"), (12, "no"), (325, "no"), (180, "no")]
)
def test_wedge_across_north(bearing, expected):
    # direction 350, angle 40: sees bearings 330 through north to 10
    assert view(350, 40, 25, bearing, 10) == expected


@pytest.mark.parametrize(
    "bearing, expected", [(330, "yes"), (10, "yes"), (329.99, "no"), (10.01, "no"), (370, "yes"), (-25, "yes")]
)
def test_wedge_edges_are_inside_and_bearings_wrap(bearing, expected):
    assert view(350, 40, 25, bearing, 10) == expected


def test_missing_direction_within_range_is_unknown():
    assert view(NAN, 90, 25, 123, 10) == "unknown"
    assert in_view([None], [90], [25], [123], [10])[0] == "unknown"


@pytest.mark.parametrize("direction", [NAN, 0.0, 350.0])
def test_beyond_range_is_no_whatever_the_direction(direction):
    assert view(direction, 90, 25, 0, 25.01) == "no"
    assert view(direction, 360, 40, 0, 40.5) == "no"


def test_exactly_at_range_is_in_view():
    assert view(0, 90, 25, 0, 25.0) == "yes"


def test_ptz_sees_all_round_within_range_even_without_direction():
    for bearing in (0, 90, 180, 270, 359.9):
        assert view(NAN, 360, 40, bearing, 39) == "yes"
        assert view(10, 360, 40, bearing, 39) == "yes"


def test_incident_at_the_camera_is_in_view():
    # the apex belongs to every wedge; the bearing between coincident points means nothing
    assert view(0, 40, 25, 180, 0.0) == "yes"
    assert view(NAN, 40, 25, 180, 0.2) == "yes"


def test_unknown_range_or_angle_gives_unknown():
    assert view(0, 90, NAN, 0, 5) == "unknown"
    assert view(0, NAN, 25, 0, 5) == "unknown"
    assert view(0, NAN, 25, 0, 30) == "no"  # beyond a known range


def test_in_view_is_vectorised_and_codes_follow_ranking_order():
    result = in_view([350, NAN, 350, 0], [40, 90, 40, 360], [25, 25, 25, 40], [5, 5, 12, 200], [10, 10, 10, 39])
    assert result.dtype == object
    assert result.tolist() == ["yes", "unknown", "no", "yes"]
    codes = in_view_codes([350, NAN, 350], [40, 90, 40], [25, 25, 25], [5, 5, 12], [10, 10, 10])
    assert codes.tolist() == [0, 1, 2]


# --------------------------------------------------------------------------- defaults


def test_kind_defaults_follow_vocab_and_unknown_kinds_take_other():
    angle_deg, range_m = kind_defaults(["doorbell", "fixed", "dome", "ptz", "other", "drone", None])
    assert angle_deg.tolist() == [160, 90, 100, 360, 90, 90, 90]
    assert range_m.tolist() == [10, 25, 15, 40, 10, 10, 10]


def test_fill_effective_fov_keeps_owner_values_and_flags_defaults():
    angle_deg, range_m, defaulted = fill_effective_fov(["doorbell", "ptz", "fixed"], [NAN, 360, 60], [6, NAN, 30])
    assert angle_deg.tolist() == [160, 360, 60]
    assert range_m.tolist() == [6, 40, 30]
    assert defaulted.tolist() == [True, True, False]


# --------------------------------------------------------------------------- fov_wedge


def _inverse(ring_point, lat, lon):
    azimuth_deg, _, distance_m = GEOD.inv(lon, lat, *ring_point)
    return azimuth_deg % 360, distance_m


def test_wedge_is_a_closed_ring_from_the_apex_with_its_arc_at_the_range():
    lat, lon = 52.8064, -2.1174
    ring = fov_wedge(lat, lon, 90, 60, 25, steps=6)
    assert ring[0] == ring[-1] == (lon, lat)
    arc = ring[1:-1]
    assert len(arc) == 7
    measured = [_inverse(point, lat, lon) for point in arc]
    assert [round(az, 6) for az, _ in measured] == [60, 70, 80, 90, 100, 110, 120]
    assert all(abs(d - 25) < 1e-6 for _, d in measured)


def test_wedge_across_north_runs_from_330_to_10():
    lat, lon = 52.8, -2.1
    ring = fov_wedge(lat, lon, 350, 40, 25, steps=4)
    azimuths = [round(_inverse(point, lat, lon)[0], 6) % 360 for point in ring[1:-1]]
    assert azimuths == [330, 340, 350, 0, 10]


@pytest.mark.parametrize("direction", [None, NAN, pd.NA])
def test_wedge_with_unknown_direction_is_none(direction):
    assert fov_wedge(52.8, -2.1, direction, 90, 25) is None


@pytest.mark.parametrize("direction", [None, 45.0])
def test_full_circle_at_360_degrees(direction):
    lat, lon = 52.8, -2.1
    ring = fov_wedge(lat, lon, direction, 360, 40, steps=16)
    assert len(ring) == 17 and ring[0] == ring[-1]
    assert (lon, lat) not in ring
    assert all(abs(_inverse(point, lat, lon)[1] - 40) < 1e-6 for point in ring)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lat": 95.0}, "lat must be"),
        ({"lon": float("nan")}, "lon must be"),
        ({"fov_range_m": 0}, "fov_range_m must be a positive number of metres, got 0"),
        ({"fov_range_m": None}, "fov_range_m must be .* got None"),
        ({"fov_angle_deg": -5}, "fov_angle_deg must be .* got -5"),
        ({"steps": 1}, "steps must be a whole number >= 2, got 1"),
        ({"direction_deg": "north"}, "direction_deg must be .* got 'north'"),
    ],
)
def test_wedge_refuses_bad_input_naming_it(kwargs, message):
    args = {"lat": 52.8, "lon": -2.1, "direction_deg": 0.0, "fov_angle_deg": 90.0, "fov_range_m": 25.0} | kwargs
    with pytest.raises(ValueError, match=message):
        fov_wedge(**args)


def test_fov_rings_match_fov_wedge_one_by_one():
    import numpy as np

    from dashboard.geo.fov import fov_rings

    rng = np.random.default_rng(7)
    n = 150
    lat, lon = 52.5 + rng.random(n), -2.3 + rng.random(n)
    direction = np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 360, n).astype(float))
    angle, range_m = rng.choice([40.0, 90.0, 160.0, 360.0], n), rng.choice([10.0, 25.0, 40.0], n)
    rings = fov_rings(lat, lon, direction, angle, range_m)
    for i in range(n):
        d = None if np.isnan(direction[i]) else float(direction[i])
        one = fov_wedge(lat[i], lon[i], d, angle[i], range_m[i]) or fov_wedge(lat[i], lon[i], 0.0, 360.0, range_m[i])
        assert np.allclose(np.array(rings[i]), np.array(one), rtol=0, atol=1e-12)
