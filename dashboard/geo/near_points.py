"""Many points against the camera index at once: which registered cameras lie within a radius
of each point, and which of them have the point in view.

Gap analysis asks this for 100,000 crimes (or every postcode) at a time, so instead of one
:meth:`CameraIndex.candidates` call per point this joins whole arrays, with the same two
steps and the same guarantees as the officer search (:mod:`dashboard.geo.search`):

1. **Prefilter in British National Grid metres.** Each point's search radius is widened to
   :func:`~dashboard.geo.search.grid_search_radius_m` (which no camera within the radius can
   lie outside); for every point the rows of grid cells it touches are read as contiguous
   slices of the index's sorted arrays, all points of a chunk at once (``np.repeat`` and
   ``np.searchsorted``, no Python loop per point).
2. **Geodesic distance on WGS84**, by the mid-latitude formula for every surviving pair, and
   by ``pyproj.Geod`` for pairs within :data:`~dashboard.geo.search.EXACT_BAND_M` of the
   radius; inclusion is Geod's ``distance <= radius_m``, as in the officer search.

"Near" joins the points with the *sites* (a registration's cameras share its position), and
only pairs near the edge of the circle are measured: a grid distance under
:func:`surely_inside_m` is inside whatever the projection's scale. "In view" joins the points
with the cameras within their own range of view, every pair measured, and uses
:func:`dashboard.geo.fov.in_view_codes` with the kind's default angle and range where the owner
gave none, exactly as the officer search ranks ``in_view == "yes"``. Cameras that see further
than :data:`VIEW_REACH_M` (an owner may give up to 500 m) are joined on their own, so the
common short views never pay for the rare long one. The grids are built once per index.

Nothing here leaves the server: callers aggregate to areas and suppress small counts
(promise 4) before anything is shown.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from dashboard.geo.fov import GEOD, YES, fill_fov, in_view_codes
from dashboard.geo.search import (
    AIRY_MIN_RADIUS_M,
    BNG_CENTRAL_EASTING_M,
    BNG_CENTRAL_SCALE,
    EXACT_BAND_M,
    MARGIN_ABSOLUTE_M,
    MARGIN_RELATIVE,
    MIN_RADIUS_M,
    CameraIndex,
    check_radius,
    local_inverse,
    wgs84_to_bng,
    wrap_deg,
)

CHUNK_POINTS = 20_000
SITE_CELL_M = 50.0  # grid cells for joining points with sites (radius 25 to 500 m)
VIEW_CELL_M = 25.0  # and with cameras within their range of view
VIEW_REACH_M = 40.0  # the longest default range (ptz); cameras an owner says see further are joined on their own
SURE_SCALE = 0.999


@dataclass(frozen=True)
class Grid:
    """Points bucketed in square cells of ``cell_m`` grid metres, sorted by cell key
    (``row * ncols + col``); ``x``/``y`` in that order."""

    cell_m: float
    x0: float
    y0: float
    nrows: int
    ncols: int
    keys: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def build(cls, x: np.ndarray, y: np.ndarray, cell_m: float) -> tuple[Grid, np.ndarray]:
        """The grid of points ``(x, y)`` and the order (positions into ``x``) it sorted them in."""
        x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
        if len(x) == 0:
            return cls(cell_m, 0.0, 0.0, 0, 0, np.empty(0, "int64"), x, y), np.empty(0, "int64")
        x0, y0 = math.floor(x.min() / cell_m) * cell_m, math.floor(y.min() / cell_m) * cell_m
        col = ((x - x0) // cell_m).astype("int64")
        row = ((y - y0) // cell_m).astype("int64")
        ncols = int(col.max()) + 1
        keys = row * ncols + col
        order = np.argsort(keys, kind="stable")
        return cls(cell_m, x0, y0, int(row.max()) + 1, ncols, keys[order], x[order], y[order]), order


@dataclass(frozen=True)
class Pairs:
    """Point/camera pairs within the radius: ``point`` indexes the query points, ``position``
    the grid's (index's) sorted arrays; ``distance_m`` geodesic, ``bearing_deg`` from the camera
    to the point."""

    point: np.ndarray
    position: np.ndarray
    distance_m: np.ndarray
    bearing_deg: np.ndarray

    @classmethod
    def empty(cls) -> Pairs:
        return cls(np.empty(0, "int64"), np.empty(0, "int64"), np.empty(0), np.empty(0))

    @classmethod
    def concat(cls, parts: list[Pairs]) -> Pairs:
        if not parts:
            return cls.empty()
        return cls(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("point", "position", "distance_m", "bearing_deg")
            )
        )


@dataclass(frozen=True)
class PointCoverage:
    """Per query point: ``near`` (a camera within the radius) and ``in_view`` (a camera whose
    field of view holds the point); and per contributing pair, the point and the camera's
    ``site_id`` (one site per registration), so callers can count the registrations a figure is
    drawn from."""

    near: np.ndarray
    in_view: np.ndarray
    pair_point: np.ndarray
    pair_site: np.ndarray


def grid_radii_m(radius_m: float, x: np.ndarray) -> np.ndarray:
    """:func:`~dashboard.geo.search.grid_search_radius_m` for an array of eastings.

    >>> from dashboard.geo.search import grid_search_radius_m
    >>> float(grid_radii_m(1000.0, np.array([393_000.0]))[0]) == grid_search_radius_m(1000.0, 393_000.0)
    True
    """
    offset_m = np.abs(x - BNG_CENTRAL_EASTING_M) + 1.01 * radius_m
    scale = BNG_CENTRAL_SCALE * np.cosh(offset_m / (BNG_CENTRAL_SCALE * AIRY_MIN_RADIUS_M))
    return radius_m * scale * (1.0 + MARGIN_RELATIVE) + MARGIN_ABSOLUTE_M


def _grid_candidates(
    grid: Grid, x: np.ndarray, y: np.ndarray, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, position, squared grid distance) of every grid point within grid radius ``g[point]``
    of ``(x, y)[point]``."""
    none = np.empty(0, "int64"), np.empty(0, "int64"), np.empty(0)
    if grid.nrows == 0 or len(x) == 0:
        return none
    cell = grid.cell_m
    row_first = np.maximum(np.floor((y - g - grid.y0) / cell), 0).astype("int64")
    row_last = np.minimum(np.floor((y + g - grid.y0) / cell), grid.nrows - 1).astype("int64")
    nrows = np.maximum(row_last - row_first + 1, 0)
    point = np.repeat(np.arange(len(x)), nrows)
    if len(point) == 0:
        return none
    row = row_first[point] + (np.arange(len(point)) - np.repeat(np.cumsum(nrows) - nrows, nrows))
    col_first = np.clip(np.floor((x - g - grid.x0) / cell), 0, grid.ncols - 1).astype("int64")[point]
    col_last = np.clip(np.floor((x + g - grid.x0) / cell), -1, grid.ncols - 1).astype("int64")[point]
    starts = np.searchsorted(grid.keys, row * grid.ncols + col_first, side="left")
    ends = np.searchsorted(grid.keys, row * grid.ncols + col_last, side="right")
    lengths = np.maximum(ends - starts, 0)
    total = int(lengths.sum())
    if total == 0:
        return none
    pair_point = np.repeat(point, lengths)
    position = np.arange(total, dtype="int64") + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    dx, dy = grid.x[position] - x[pair_point], grid.y[position] - y[pair_point]
    d2 = dx * dx + dy * dy
    keep = d2 <= g[pair_point] ** 2
    return pair_point[keep], position[keep], d2[keep]


def pairs_within(
    grid: Grid,
    cam_lat: np.ndarray,
    cam_lon: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    radius_m: float,
    *,
    measure_all: bool = True,
    chunk: int = CHUNK_POINTS,
) -> Pairs:
    """Every (point, camera) pair with geodesic distance ``<= radius_m``.

    ``cam_lat``/``cam_lon`` are in the grid's sorted order; ``x``/``y`` are the points' grid
    coordinates (from the same transformer as the grid's). With ``measure_all=False``, pairs
    whose grid distance puts them certainly inside (:func:`surely_inside_m`) are kept without
    measuring them (their ``distance_m`` and ``bearing_deg`` are NaN): only the pairs near the
    edge of the circle need the geodesic, which is most of the cost.
    """
    parts = []
    sure_m = surely_inside_m(radius_m) if not measure_all else -1.0
    for start in range(0, len(lat), chunk):
        sl = slice(start, start + chunk)
        px, py = x[sl], y[sl]
        point, position, d2 = _grid_candidates(grid, px, py, grid_radii_m(radius_m, px))
        if not len(point):
            continue
        sure = d2 <= sure_m * sure_m if sure_m > 0 else np.zeros(len(point), dtype=bool)
        if sure.any():
            parts.append(
                Pairs(
                    point[sure] + start,
                    position[sure],
                    np.full(int(sure.sum()), np.nan),
                    np.full(int(sure.sum()), np.nan),
                )
            )
            point, position = point[~sure], position[~sure]
        plat, plon = lat[sl][point], lon[sl][point]
        distance_m, bearing_deg = local_inverse(cam_lat[position], cam_lon[position], plat, plon)
        near = distance_m <= radius_m + EXACT_BAND_M
        point, position, distance_m, bearing_deg = point[near], position[near], distance_m[near], bearing_deg[near]
        band = distance_m >= radius_m - EXACT_BAND_M
        if band.any():
            azimuth_deg, _, exact_m = GEOD.inv(
                cam_lon[position[band]], cam_lat[position[band]], plon[near][band], plat[near][band]
            )
            distance_m[band], bearing_deg[band] = exact_m, wrap_deg(azimuth_deg)
            inside = distance_m <= radius_m
            point, position, distance_m, bearing_deg = (
                point[inside],
                position[inside],
                distance_m[inside],
                bearing_deg[inside],
            )
        parts.append(Pairs(point + start, position, distance_m, bearing_deg))
    return Pairs.concat(parts)


def surely_inside_m(radius_m: float) -> float:
    """A grid distance under which two points are certainly within ``radius_m`` geodesic metres.

    Grid distance is at least 0.9993 of the geodesic anywhere in Great Britain (BNG's scale is
    never below 0.9996 and the search module's margin allows 3e-4 for the datum shift), less
    5 m for seams between datum-shift methods; so geodesic <= (grid + 5) / 0.999 and a grid
    distance up to ``0.999 r - 5`` is inside.

    >>> surely_inside_m(100.0)
    94.9
    """
    return round(SURE_SCALE * radius_m - MARGIN_ABSOLUTE_M, 9)


def to_grid(lat: ArrayLike, lon: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Checked float arrays ``lat, lon`` and their grid coordinates ``x, y``.

    Raises ValueError for lengths that differ or a position that is not a real lat/lon.
    """
    lat, lon = np.asarray(lat, dtype="float64"), np.asarray(lon, dtype="float64")
    if lat.shape != lon.shape or lat.ndim != 1:
        raise ValueError(f"lat and lon must be 1-D arrays of one length, got shapes {lat.shape} and {lon.shape}")
    bad = ~(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} point(s) have no valid lat/lon, e.g. at position(s) {np.flatnonzero(bad)[:5].tolist()}"
        )
    x, y = wgs84_to_bng().transform(lon, lat)
    x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("some points lie outside the British National Grid")
    return lat, lon, x, y


@dataclass(frozen=True)
class _Prepared:
    """Grids over one index, built once per index (it is immutable)."""

    sites: Grid  # one point per site (all of a site's cameras share its position)
    site_lat: np.ndarray
    site_lon: np.ndarray
    site_id: np.ndarray
    views: Grid  # cameras that see at most VIEW_REACH_M
    view_reach_m: float
    view_positions: np.ndarray  # into the index's arrays, in the views grid's order
    far: Grid  # cameras that see further
    far_reach_m: float
    far_positions: np.ndarray
    angle_deg: np.ndarray  # effective angle and range of every camera (the kind's where not given)
    range_m: np.ndarray


def release_prepared() -> None:
    """Forget the grids prepared for the last index (they hold it): for an index read for one
    computation and dropped after it, so that it is not kept alive by this cache."""
    _prepared.cache_clear()


@functools.lru_cache(maxsize=1)
def _prepared(index: CameraIndex) -> _Prepared:
    *_, x, y = index.grid_parts()
    cam = index.arrays()
    angle_deg, range_m, _ = fill_fov(cam["fov_angle_deg"], cam["fov_range_m"], *index.kind_defaults())
    _, first = np.unique(cam["site_id"], return_index=True)
    sites, site_order = Grid.build(x[first], y[first], SITE_CELL_M)
    first = first[site_order]
    short = np.flatnonzero(range_m <= VIEW_REACH_M)
    far = np.flatnonzero(~(range_m <= VIEW_REACH_M) & np.isfinite(range_m))
    views, view_order = Grid.build(x[short], y[short], VIEW_CELL_M)
    far_reach = float(range_m[far].max()) if len(far) else 0.0
    far_grid, far_order = Grid.build(x[far], y[far], max(far_reach, VIEW_CELL_M))
    return _Prepared(
        sites,
        cam["lat"][first],
        cam["lon"][first],
        cam["site_id"][first],
        views,
        float(range_m[short].max()) if len(short) else 0.0,
        short[view_order],
        far_grid,
        far_reach,
        far[far_order],
        angle_deg,
        range_m,
    )


@dataclass(frozen=True)
class PointPairs:
    """The (point, site) pairs of :func:`point_pairs`: ``near_point``/``near_site`` a site within the
    radius (each pair once), ``view_point``/``view_site`` a camera of the site with the point in
    view (a pair repeats once per such camera)."""

    near_point: np.ndarray
    near_site: np.ndarray
    view_point: np.ndarray
    view_site: np.ndarray


def point_pairs(
    index: CameraIndex, lat: ArrayLike, lon: ArrayLike, radius_m: float, *, views: bool = True
) -> PointPairs:
    """Which sites lie within ``radius_m`` (geodesic) of each point, and which sites' cameras have
    the point in field of view (any distance: a view reaches as far as its range): the pairs
    :func:`point_coverage` is made of. A pair's answer depends on that point and that site alone,
    so the pairs of a few sites (a register write) are the same as in the whole register's.

    Parameters
    ----------
    index : the active cameras (the officer search's index, or a few sites' cameras)
    lat, lon : the points, WGS84 degrees (e.g. crimes or postcode centroids)
    radius_m : 1 to 5000 m
    views : False skips "in view" (no view pairs then)
    """
    check_radius(radius_m)
    lat, lon, x, y = to_grid(lat, lon)
    empty = np.empty(0, "int64")
    if len(index) == 0 or len(lat) == 0:
        return PointPairs(empty, empty, empty, empty)
    prep = _prepared(index)
    direction_deg = index.arrays()["direction_deg"]
    site_of_camera = index.arrays()["site_id"]

    close = pairs_within(prep.sites, prep.site_lat, prep.site_lon, lat, lon, x, y, float(radius_m), measure_all=False)
    view_points, view_sites = [empty], [empty]
    joins = ((prep.views, prep.view_reach_m, prep.view_positions), (prep.far, prep.far_reach_m, prep.far_positions))
    for grid, reach_m, positions in joins if views else ():
        if not len(positions) or reach_m < MIN_RADIUS_M:
            continue
        cam_lat, cam_lon = index.arrays()["lat"][positions], index.arrays()["lon"][positions]
        pairs = pairs_within(grid, cam_lat, cam_lon, lat, lon, x, y, reach_m)
        camera = positions[pairs.position]
        seen = (
            in_view_codes(
                direction_deg[camera], prep.angle_deg[camera], prep.range_m[camera], pairs.bearing_deg, pairs.distance_m
            )
            == YES
        )
        view_points.append(pairs.point[seen])
        view_sites.append(site_of_camera[camera[seen]])
    return PointPairs(
        close.point.astype("int64"),
        prep.site_id[close.position].astype("int64"),
        np.concatenate(view_points).astype("int64"),
        np.concatenate(view_sites).astype("int64"),
    )


def point_coverage(
    index: CameraIndex, lat: ArrayLike, lon: ArrayLike, radius_m: float, *, views: bool = True
) -> PointCoverage:
    """Which points have a registered camera within ``radius_m`` (geodesic), and which are in the
    field of view of one (any distance: a view reaches as far as its range).

    "Near" joins the points with the sites (one per registration; its cameras share its position)
    and measures only the pairs near the edge of the circle (:func:`surely_inside_m`). "In view"
    joins the points with the cameras within their own range, measured exactly.

    Parameters
    ----------
    index : the active cameras (the officer search's index)
    lat, lon : the points, WGS84 degrees (e.g. crimes or postcode centroids)
    radius_m : 1 to 5000 m
    views : False skips "in view" (all False then), when only "near" is wanted

    Returns
    -------
    PointCoverage; ``pair_point``/``pair_site`` list each (point, site) pair that made a point
    ``near`` or ``in_view`` (a pair may repeat).

    Examples
    --------
    >>> cov = point_coverage(index, [52.8], [-2.1001], 100)  # doctest: +SKIP
    >>> cov.near.tolist(), cov.in_view.tolist()  # doctest: +SKIP
    ([True], [False])
    """
    n = len(np.atleast_1d(np.asarray(lat)))
    pairs = point_pairs(index, lat, lon, radius_m, views=views)
    near = np.zeros(n, dtype=bool)
    seen = np.zeros(n, dtype=bool)
    near[pairs.near_point] = True
    seen[pairs.view_point] = True
    return PointCoverage(
        near,
        seen,
        np.concatenate([pairs.near_point, pairs.view_point]),
        np.concatenate([pairs.near_site, pairs.view_site]),
    )
