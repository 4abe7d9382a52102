"""Area of the union of camera wedges per group (dashboard.geo.fov_area).

Expected values are worked out independently of the module: by hand (lattice points in a disc),
by a brute-force pure-Python version of the pixel-centre rule (math.atan2 bearings), and by an
exact vector union in shapely.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from dashboard.geo import fov_area
from dashboard.geo.fov_area import PIXEL_M, counted, covered_area_m2

NAN = np.nan
# An apex on a pixel centre of the 5 m lattice (and of the 0.5 m and 1 m ones), well inside the grid.
CX, CY = 400_002.5, 300_002.5


def area(east, north, direction, angle, reach, group=None, n_groups=1, pixel_m=PIXEL_M):
    east = np.atleast_1d(np.asarray(east, dtype=float))
    group = np.zeros(east.size, dtype=int) if group is None else group
    return covered_area_m2(
        east,
        np.atleast_1d(north),
        np.atleast_1d(direction),
        np.atleast_1d(angle),
        np.atleast_1d(reach),
        np.atleast_1d(group),
        n_groups,
        pixel_m=pixel_m,
    )


def one(direction, angle, reach, pixel_m=PIXEL_M, east=CX, north=CY):
    return float(area([east], [north], [direction], [angle], [reach], pixel_m=pixel_m)[0])


# --------------------------------------------------------------------------- independent references


def brute_force_pixels(east, north, direction, angle, reach, group, pixel_m):
    """The pixel-centre rule in plain Python: a set of (group, i, j) per covered pixel."""
    covered = set()
    for x, y, d, a, r, g in zip(east, north, direction, angle, reach, group):
        if g < 0 or not (r > 0) or not (a > 0) or (math.isnan(d) and a < 360):
            continue
        for i in range(math.floor((x - r) / pixel_m) - 1, math.ceil((x + r) / pixel_m) + 1):
            for j in range(math.floor((y - r) / pixel_m) - 1, math.ceil((y + r) / pixel_m) + 1):
                dx, dy = (i + 0.5) * pixel_m - x, (j + 0.5) * pixel_m - y
                if dx * dx + dy * dy > r * r:
                    continue
                if a < 360 and (dx, dy) != (0.0, 0.0):
                    bearing = math.degrees(math.atan2(dx, dy)) % 360.0
                    if abs((bearing - d + 180.0) % 360.0 - 180.0) > a / 2.0:
                        continue
                covered.add((int(g), i, j))
    return covered


def brute_force_areas(east, north, direction, angle, reach, group, n_groups, pixel_m):
    counts = np.zeros(n_groups)
    for g, _, _ in brute_force_pixels(east, north, direction, angle, reach, group, pixel_m):
        counts[g] += 1
    return counts * pixel_m**2


def wedge_polygon(x, y, direction, angle, reach, segments=64):
    """A wedge as a shapely polygon whose arc has ``segments`` straight pieces."""
    if angle >= 360:
        turn = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
        return shapely.Polygon(np.column_stack([x + reach * np.sin(turn), y + reach * np.cos(turn)]))
    bearing = np.radians(direction + np.linspace(-angle / 2.0, angle / 2.0, segments + 1))
    arc = np.column_stack([x + reach * np.sin(bearing), y + reach * np.cos(bearing)])
    return shapely.Polygon(np.vstack([[x, y], arc]))


def shapely_areas(east, north, direction, angle, reach, group, n_groups):
    keep = counted(direction, angle, reach) & (group >= 0)
    polygons = [[] for _ in range(n_groups)]
    for x, y, d, a, r, g in zip(east[keep], north[keep], direction[keep], angle[keep], reach[keep], group[keep]):
        polygons[g].append(wedge_polygon(x, y, d, a, r))
    return np.array([shapely.union_all(p).area if p else 0.0 for p in polygons])


def clustered_wedges(seed, per_group, n_groups=3, spread_m=25.0, ranges=(5.0, 40.0)):
    """Wedges around a few centres per group, close enough to overlap a lot."""
    rng = np.random.default_rng(seed)
    n = per_group * n_groups
    group = np.repeat(np.arange(n_groups), per_group)
    centres = rng.uniform([420_000.0, 300_000.0], [420_400.0, 300_400.0], size=(n_groups, 4, 2))
    pick = centres[group, rng.integers(0, 4, n)]
    east = pick[:, 0] + rng.normal(0.0, spread_m, n)
    north = pick[:, 1] + rng.normal(0.0, spread_m, n)
    direction = rng.uniform(0.0, 360.0, n)
    direction[rng.random(n) < 0.1] = NAN
    angle = rng.choice([30.0, 90.0, 100.0, 160.0, 200.0, 360.0], n)
    reach = rng.uniform(*ranges, n)
    return east, north, direction, angle, reach, group


# --------------------------------------------------------------------------- hand cases


def test_disc_on_a_pixel_centre_counts_the_lattice_points_in_it():
    # 20 m = 4 pixels: integer points (a, b) with a² + b² <= 16 number 49 (Gauss circle problem)
    assert sum(a * a + b * b <= 16 for a in range(-4, 5) for b in range(-4, 5)) == 49
    assert one(NAN, 360, 20) == 49 * 25.0 == 1225.0


def test_disc_area_is_close_to_pi_r_squared_within_what_the_lattice_allows():
    exact = math.pi * 20.0**2  # 1256.6 m²
    # every pixel whose centre is inside lies within r + p/sqrt(2) of the apex, and every pixel
    # within r - p/sqrt(2) has its centre inside
    half_diagonal = PIXEL_M / math.sqrt(2.0)
    rng = np.random.default_rng(7)
    offsets = rng.uniform(0.0, PIXEL_M, size=(200, 2))
    areas = area(
        CX + offsets[:, 0],
        CY + offsets[:, 1],
        np.full(200, NAN),
        np.full(200, 360.0),
        np.full(200, 20.0),
        np.arange(200),
        n_groups=200,
    )
    assert (areas >= math.pi * (20 - half_diagonal) ** 2).all()
    assert (areas <= math.pi * (20 + half_diagonal) ** 2).all()
    # the lattice is unbiased: over random placements the mean count is the area
    assert abs(areas.mean() / exact - 1.0) < 0.015
    # a 0.5 m lattice is within 1 % wherever the disc lies
    assert abs(one(NAN, 360, 20, pixel_m=0.5) / exact - 1.0) < 0.01
    assert abs(one(NAN, 360, 20, pixel_m=0.5, east=CX + 0.13, north=CY + 0.31) / exact - 1.0) < 0.01


@pytest.mark.parametrize("direction", [0.0, 45.0, 123.4, 270.0, 359.0])
def test_quarter_wedge_is_a_quarter_of_the_disc(direction):
    quarter = math.pi * 20.0**2 / 4.0  # 314.2 m²
    # apex off the lattice: with the apex on a pixel centre, rows of centres would lie exactly on
    # the edges of some directions (0, 90, ...) and count, adding about 2 % at 0.5 m
    assert abs(one(direction, 90, 20, pixel_m=0.5, east=CX + 0.13, north=CY + 0.31) / quarter - 1.0) < 0.02
    disc = one(NAN, 360, 40)
    assert abs(one(direction, 90, 40, east=CX + 1.7, north=CY - 0.9) / (disc / 4.0) - 1.0) < 0.15


def test_edges_are_inside():
    # apex on a pixel centre, pointing north, 90 degrees, 10 m (2 pixels): the centres (±1, 1) lie
    # on the edges (bearings 315 and 45) and (0, 2) exactly at the range: 5 pixels with the apex
    assert one(0, 90, 10) == 5 * 25.0
    assert one(0, 89.9, 10) == 3 * 25.0  # the edge centres drop out
    assert one(0, 90, 9.99) == 4 * 25.0  # (0, 2) drops out


def test_two_identical_wedges_in_a_group_count_once_and_groups_count_separately():
    single = one(30, 100, 25)
    assert area([CX, CX], [CY, CY], [30, 30], [100, 100], [25, 25], [0, 0]).tolist() == [single]
    assert area([CX, CX], [CY, CY], [30, 30], [100, 100], [25, 25], [0, 1], n_groups=2).tolist() == [single, single]


def test_overlapping_wedges_count_their_union():
    # two half discs facing each other make the full disc, apex row counted once
    disc = one(NAN, 360, 20)
    assert area([CX, CX], [CY, CY], [90, 270], [180, 180], [20, 20])[0] == disc
    # disjoint wedges add up
    far = one(0, 90, 20, east=CX + 1000)
    assert area([CX, CX + 1000], [CY, CY], [0, 0], [90, 90], [20, 20])[0] == one(0, 90, 20) + far


def test_wedge_across_north():
    # bearings 330 to 10: the mirror image of 350 to 30 about the apex's column
    across = one(350, 40, 30)
    assert across == one(10, 40, 30)
    assert across == one(-10, 40, 30) == one(710, 40, 30)
    # and the same area as the wedge turned 10 degrees, up to the lattice
    assert abs(one(350, 40, 30, pixel_m=0.5) / one(0, 40, 30, pixel_m=0.5) - 1.0) < 0.01
    pixels = brute_force_pixels([CX], [CY], [350.0], [40.0], [30.0], [0], PIXEL_M)
    assert (0, 80_000, 60_000 + 5) in pixels  # straight north of the apex, 25 m away
    assert across == len(pixels) * 25.0


def test_unknown_direction_is_not_counted_unless_full_disc():
    assert one(NAN, 90, 20) == 0.0
    assert one(NAN, 360, 20) == one(123, 360, 20) == one(NAN, 400, 20) > 0
    assert area([CX, CX], [CY, CY], [NAN, 0], [90, 90], [20, 20])[0] == one(0, 90, 20)


def test_missing_or_non_positive_range_and_no_group_are_skipped():
    assert area([CX] * 3, [CY] * 3, [0] * 3, [90] * 3, [NAN, 0.0, -5.0]).tolist() == [0.0]
    assert area([CX, CX], [CY, CY], [0, 0], [90, 360], [20, 20], [-1, 0]).tolist() == [one(0, 360, 20)]
    # a skipped camera's position is not checked
    assert area([-1.0, CX], [CY, CY], [0, 0], [90, 90], [20, 20], [-1, 0]).tolist() == [one(0, 90, 20)]


def test_counted():
    assert counted([0, NAN, NAN, 0, 0, 0, 0], [90, 90, 360, 90, NAN, 0, 90], [10, 10, 10, NAN, 10, 10, 0]).tolist() == [
        True,
        False,
        True,
        False,
        False,
        False,
        False,
    ]


def test_empty_input_gives_zeros():
    assert area([], [], [], [], [], [], n_groups=3).tolist() == [0.0, 0.0, 0.0]
    assert area([], [], [], [], [], [], n_groups=0).tolist() == []
    # no group with a counted camera
    assert area([CX], [CY], [NAN], [90], [20], [0], n_groups=2).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("pixel_m", [0, -5, NAN, float("inf")])
def test_bad_pixel_size(pixel_m):
    with pytest.raises(ValueError, match="pixel_m"):
        one(0, 90, 20, pixel_m=pixel_m)


@pytest.mark.parametrize(
    "east, north",
    [(-0.5, 300_000.0), (700_000.1, 300_000.0), (400_000.0, -1.0), (400_000.0, 1_300_001.0), (NAN, 300_000.0)],
)
def test_coordinates_off_the_grid(east, north):
    with pytest.raises(ValueError, match="off the British National Grid"):
        area([CX, east], [CY, north], [0, 0], [90, 90], [20, 20])


def test_grid_edges_are_on_the_grid():
    corners = area([0.0, 700_000.0], [0.0, 1_300_000.0], [45, 225], [90, 90], [20, 20], [0, 1], n_groups=2)
    assert (corners > 0).all()


def test_mismatched_lengths_and_bad_codes():
    with pytest.raises(ValueError, match="one length"):
        covered_area_m2([CX, CX], [CY], [0, 0], [90, 90], [20, 20], [0, 0], 1)
    with pytest.raises(ValueError, match="one length"):
        covered_area_m2([CX], [CY], [0], [90], [20], [0, 0], 1)
    with pytest.raises(ValueError, match="below n_groups"):
        covered_area_m2([CX], [CY], [0], [90], [20], [1], 1)
    with pytest.raises(ValueError, match="integer codes"):
        covered_area_m2([CX], [CY], [0], [90], [20], [0.5], 1)
    with pytest.raises(ValueError, match="one-dimensional"):
        covered_area_m2([[CX]], [[CY]], [[0]], [[90]], [[20]], [[0]], 1)
    with pytest.raises(ValueError, match="n_groups"):
        covered_area_m2([CX], [CY], [0], [90], [20], [0], -1)
    with pytest.raises(ValueError, match="too fine"):  # 7e11 columns by 1.3e12 rows do not fit the keys
        covered_area_m2([0.0, 700_000.0], [0.0, 1_300_000.0], [0, 0], [90, 90], [1, 1], [0, 0], 1, pixel_m=1e-6)


def test_large_ranges():
    reach = 500.0
    disc = one(NAN, 360, reach)
    assert abs(disc / (math.pi * reach**2) - 1.0) < 0.002
    half = one(90, 180, reach)
    assert abs(half / (disc / 2) - 1.0) < 0.01


# --------------------------------------------------------------------------- against the references


def test_matches_brute_force_pixel_rule_exactly():
    east, north, direction, angle, reach, group = clustered_wedges(3, per_group=60, ranges=(2.0, 30.0))
    group[::17] = -1
    for pixel_m in (5.0, 2.5):
        expected = brute_force_areas(east, north, direction, angle, reach, group, 3, pixel_m)
        got = covered_area_m2(east, north, direction, angle, reach, group, 3, pixel_m=pixel_m)
        assert got.tolist() == expected.tolist()


def test_chunks_threads_and_order_do_not_change_the_answer(monkeypatch):
    east, north, direction, angle, reach, group = clustered_wedges(5, per_group=400)
    reach[::50] = 300.0  # a few long ranges, split across many small chunks below
    args = (east, north, direction, angle, reach, group, 3)
    reference = covered_area_m2(*args)
    shuffle = np.random.default_rng(1).permutation(east.size)
    assert covered_area_m2(*(a[shuffle] for a in args[:-1]), 3).tolist() == reference.tolist()
    monkeypatch.setattr(fov_area, "_CHUNK_CENTRES", 97)  # many tasks, carries across them
    assert covered_area_m2(*args).tolist() == reference.tolist()
    monkeypatch.setattr(fov_area, "_MAX_THREADS", 1)
    assert covered_area_m2(*args).tolist() == reference.tolist()
    # one group holding everything (nothing to split between threads)
    one_group = covered_area_m2(east, north, direction, angle, reach, np.zeros_like(group), 1)
    monkeypatch.setattr(fov_area, "_CHUNK_CENTRES", 1 << 18)
    monkeypatch.setattr(fov_area, "_MAX_THREADS", 2)
    assert covered_area_m2(east, north, direction, angle, reach, np.zeros_like(group), 1).tolist() == one_group.tolist()
    assert one_group[0] <= reference.sum()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_metre_raster_matches_exact_union_within_2_percent(seed):
    east, north, direction, angle, reach, group = clustered_wedges(seed, per_group=100)
    exact = shapely_areas(east, north, direction, angle, reach, group, 3)
    raster = covered_area_m2(east, north, direction, angle, reach, group, 3, pixel_m=1.0)
    relative = np.abs(raster / exact - 1.0)
    assert (relative < 0.02).all(), relative  # measured over seeds 0-11 (36 groups): at most 0.12 %


def test_default_raster_on_large_groups_matches_exact_union():
    east, north, direction, angle, reach, group = clustered_wedges(11, per_group=2_000, spread_m=60.0)
    exact = shapely_areas(east, north, direction, angle, reach, group, 3)
    raster = covered_area_m2(east, north, direction, angle, reach, group, 3)
    relative = np.abs(raster / exact - 1.0)
    # measured over seeds 10-15 (18 groups): at most 0.3 %; 1 % leaves a margin over 3x that
    assert (relative < 0.01).all(), relative


# --------------------------------------------------------------------------- cut into tiles


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("tile_m", [50.0, 100.0, 250.0])
def test_tiles_hold_each_covered_pixel_once_as_a_brute_force_count_does(seed, tile_m):
    """Per (group, tile), the pixels of the group's union whose pixel lies in the tile, counted one
    by one in plain Python; summed over the tiles, the whole union (``covered_area_m2``)."""
    east, north, direction, angle, reach, group = clustered_wedges(seed, 60, n_groups=3, spread_m=60.0)
    g, c, r, n = fov_area.covered_pixels_by_tile(east, north, direction, angle, reach, group, tile_m)
    k = int(tile_m / PIXEL_M)
    expected: dict[tuple[int, int, int], int] = {}
    for gg, i, j in brute_force_pixels(east, north, direction, angle, reach, group, PIXEL_M):
        expected[(gg, i // k, j // k)] = expected.get((gg, i // k, j // k), 0) + 1
    got = dict(zip(zip(g.tolist(), c.tolist(), r.tolist()), n.tolist()))
    assert got == expected
    assert len({(cc, rr) for _, cc, rr in got}) > 1  # the wedges do cross tiles
    whole = covered_area_m2(east, north, direction, angle, reach, group, 3)
    assert (np.bincount(g, weights=n, minlength=3) * PIXEL_M**2).tolist() == whole.tolist()


def test_a_tile_must_be_whole_pixels():
    with pytest.raises(ValueError, match="whole number"):
        fov_area.covered_pixels_by_tile([400.0], [300.0], [0.0], [90.0], [10.0], [0], 12.0)


def test_no_counted_camera_gives_no_tile():
    g, c, r, n = fov_area.covered_pixels_by_tile([400.0], [300.0], [NAN], [90.0], [10.0], [0], 250.0)
    assert g.size == c.size == r.size == n.size == 0
