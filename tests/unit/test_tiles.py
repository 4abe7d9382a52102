"""Web Mercator tile arithmetic (dashboard.geo.tiles) against values worked out by hand."""

from __future__ import annotations

import math

import pyproj
import pytest

from dashboard.geo.tiles import MAX_LAT, MAX_ZOOM, check_tile, from_unit, tile_bounds, tile_for, to_unit


def test_zoom_0_is_the_whole_world():
    # Web Mercator's square ends where y = pi: latitude atan(sinh(pi)) = 85.05112878 degrees.
    west, south, east, north = tile_bounds(0, 0, 0)
    assert (west, east) == (-180.0, 180.0)
    assert north == pytest.approx(85.05112878, abs=1e-8) and south == pytest.approx(-85.05112878, abs=1e-8)
    assert pytest.approx(85.05112878, abs=1e-8) == MAX_LAT


def test_zoom_1_quarters_meet_at_the_equator_and_greenwich():
    assert tile_bounds(1, 0, 0) == pytest.approx((-180.0, 0.0, 0.0, 85.05112878))
    assert tile_bounds(1, 1, 1) == pytest.approx((0.0, -85.05112878, 180.0, 0.0))


def test_a_stafford_point_lands_in_the_tile_worked_by_hand():
    # Stafford town centre, lon -2.1165, lat 52.8065, zoom 10 (1024 tiles a side):
    #   x = floor((-2.1165 + 180) / 360 * 1024) = floor(505.98) = 505
    #   y = floor((1 - ln(tan 52.8065° + sec 52.8065°) / pi) / 2 * 1024)
    #     = floor((1 - ln(1.31776 + 1.65424) / pi) / 2 * 1024) = floor((1 - 1.08923 / pi) / 2 * 1024)
    #     = floor(334.48) = 334
    assert tile_for(-2.1165, 52.8065, 10) == (505, 334)
    # Tile 505's west and east edges: 505/1024*360 - 180 and 506/1024*360 - 180.
    west, south, east, north = tile_bounds(10, 505, 334)
    assert (west, east) == (-2.4609375, -2.109375)
    assert south < 52.8065 < north
    # Row 334's edges from the inverse: lat = atan(sinh(pi * (1 - 2 * 334/1024))).
    assert north == pytest.approx(math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * 334 / 1024)))))
    assert south == pytest.approx(math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * 335 / 1024)))))


def test_unit_coordinates_agree_with_pyproj_web_mercator():
    # EPSG:3857 metres scaled to the unit square: u = (X + R*pi) / (2*R*pi), v = (R*pi - Y) / (2*R*pi).
    to_3857 = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    half = 20037508.342789244
    for lon, lat in [(-2.1165, 52.8065), (-1.1, 53.2), (151.2, -33.9), (0.0, 0.0)]:
        mx, my = to_3857.transform(lon, lat)
        u, v = to_unit(lon, lat)
        assert float(u) == pytest.approx((mx + half) / (2 * half), abs=1e-12)
        assert float(v) == pytest.approx((half - my) / (2 * half), abs=1e-12)
        back = from_unit(u, v)
        assert (float(back[0]), float(back[1])) == pytest.approx((lon, lat), abs=1e-9)


@pytest.mark.parametrize(
    "z, x, y",
    [
        (-1, 0, 0),
        (MAX_ZOOM + 1, 0, 0),
        (0, 1, 0),
        (0, 0, -1),
        (3, 8, 0),
        (3, 0, 8),
        (1.0, 0, 0),
        ("2", 0, 0),
        (True, 0, 0),
    ],
)
def test_tiles_outside_the_grid_are_refused_with_what_was_received(z, x, y):
    with pytest.raises(ValueError, match=r"tile|zoom"):
        check_tile(z, x, y)


def test_the_last_tile_of_the_deepest_zoom_is_a_tile():
    check_tile(MAX_ZOOM, 2**MAX_ZOOM - 1, 2**MAX_ZOOM - 1)
    assert tile_for(180.0, -90.0, 3) == (7, 7)  # the far edges belong to the last tile, not one beyond
