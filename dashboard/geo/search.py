"""Officer search: the registered cameras that may have recorded an incident, best chances first.

An immutable in-memory index of the active cameras (:class:`CameraIndex`, columnar numpy
arrays) answers "which cameras lie within ``radius_m`` of this point" in well under a
millisecond at a million cameras; :class:`LiveCameraIndex` rebuilds it in the background when
the register changes and swaps the new one in atomically, so a search never waits for a
rebuild. :func:`search` adds field of view (:mod:`dashboard.geo.fov`) and footage retention,
and ranks the result.

How a radius search works
-------------------------
1. **Prefilter in British National Grid metres.** Every camera's WGS84 position is converted
   once, at build time, to EPSG:27700 with the same transformer used for the incident point
   (``pyproj.Transformer`` EPSG:4326 -> EPSG:27700, ``always_xy=True``, ``allow_ballpark=False``
   so that every point goes through the same Helmert/OSTN datum shift, never a "ballpark"
   shift that jumps by ~100 m at the edge of its area of use). Cameras are bucketed in square
   grid cells (:data:`CELL_M`) by sorting on the cell key; a query reads one contiguous slice of
   the sorted arrays per row of cells, trimmed to the circle, and keeps the points within
   :func:`grid_search_radius_m` in grid metres.
2. **Geodesic distance on WGS84.** Survivors get distance and forward azimuth from a
   mid-latitude ellipsoidal formula (:func:`local_inverse`; error < 1 mm up to 5 km, checked
   against ``pyproj.Geod`` in the tests), and every camera whose distance lies within
   :data:`EXACT_BAND_M` of the radius is re-measured with ``pyproj.Geod(ellps="WGS84").inv``,
   which then decides inclusion: so inclusion is exactly Geod's ``distance <= radius_m``.

The prefilter margin (why no camera within the radius can be missed)
--------------------------------------------------------------------
BNG is a transverse Mercator projection with scale ``F0 = 0.9996012717`` on the central
meridian (easting 400 km). On a sphere of radius ``R`` the point scale factor of a transverse
Mercator is exactly ``k = F0 cosh(u / (F0 R))``, ``u`` the distance from the central meridian in
grid metres; it grows with ``u`` and shrinks with ``R``. Using ``R = 6,335 km`` (below the
smallest radius of curvature of the Airy 1830 ellipsoid, ``b**2 / a = 6,335,022 m``) and ``u`` the
incident's offset plus the search radius, ``k`` bounds the scale anywhere along a line from the
incident to a camera within the radius, and a straight grid line is no longer than the image of
the geodesic, so ``grid distance <= k * geodesic distance``. On top of that the bound carries a
relative ``3e-4`` (the datum shift: Helmert scale 20.5 ppm and ellipsoid heights of ~100 m
are 4e-5 together; ellipsoidal terms of the scale are smaller still) and an absolute 5 m
(seams between datum-shift methods should an OSTN15 grid be installed, and rounding):

    grid radius = r * F0 * cosh((|E - 400 km| + 1.01 r) / (F0 * 6,335 km)) * (1 + 3e-4) + 5 m

In Staffordshire (easting ~400 km) that is ``r * 0.9999 + 5 m``; at easting 0 (west Cornwall)
``r * 1.0019 + 5 m``. The tests measure the grid/geodesic ratio over random lines up to 5 km
across Great Britain (0.9996 to 1.0026 for eastings -90..680 km, always under the bound) and
compare whole searches with brute force.

Decisions (issue 3)
-------------------
* In view: see :mod:`dashboard.geo.fov` (beyond range -> ``"no"`` even with no direction;
  direction unknown within range -> ``"unknown"``; edges inclusive).
* Retention: ``retained_until = incident_at + retention_days``; ``"overwritten"`` when
  ``retained_until <= now`` (at equality the footage is being overwritten at that instant, so it is
  treated as gone); ``"at_risk"`` when ``now < retained_until <= now + 48 h`` (exactly 48 h ahead is
  at risk); ``"available"`` beyond that; ``"unknown"`` (and ``NaT``) when retention is unknown.
* Ranking: in view ``yes``, ``unknown``, ``no``; then ``available``, ``at_risk``, ``unknown``,
  ``overwritten``; then distance ascending; then ``camera_id``. ``rank`` is 1-based.

Result columns
--------------
:data:`CANDIDATE_COLUMNS` as stored, then ``distance_m``, ``bearing_to_incident_deg`` (camera
to incident, 0 <= b < 360), ``fov_from_kind_default`` (bool), ``in_view``, ``retained_until``
(``datetime64[us, UTC]``, NaT if unknown), ``retention_status`` and ``rank`` (1-based). The text
columns ``kind``, ``preferred_channel``, ``in_view`` and ``retention_status`` are pandas
Categoricals: they compare equal to plain strings and come out of ``to_dict``/``to_json`` as
strings, they cost nothing per row to build (plain text columns made the data frame the slowest
step of a search), and ``in_view``/``retention_status`` are *ordered* in ranking order, so sorting
by them ranks. To put a value that is not a category into one (``fillna("-")``), convert it
first with ``.astype(str)``. Missing values (``preferred_channel``, NaN fields) stay missing.

All datetimes are timezone-aware (returned in UTC); metre quantities end in ``_m``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from dashboard.core.crs import wgs84_to_bng
from dashboard.core.vocab import CAMERA_KINDS, CONTACT_CHANNELS
from dashboard.geo.fov import (
    GEOD,
    IN_VIEW_VALUES,
    check_position,
    fill_fov,
    fov_wedge,
    in_view,
    in_view_codes,
    is_real,
    kind_defaults,
)

__all__ = [
    "CANDIDATE_COLUMNS",
    "RESULT_COLUMNS",
    "CameraIndex",
    "LiveCameraIndex",
    "fov_wedge",
    "grid_search_radius_m",
    "in_view",
    "local_inverse",
    "rank_results",
    "retention_status",
    "search",
]

log = logging.getLogger(__name__)

CANDIDATE_COLUMNS = [
    "camera_id",
    "site_id",
    "lat",
    "lon",
    "easting_m",
    "northing_m",
    "kind",
    "direction_deg",
    "fov_angle_deg",
    "fov_range_m",
    "retention_days",
    "preferred_channel",
]
MEASURED_COLUMNS = ["distance_m", "bearing_to_incident_deg"]
RESULT_COLUMNS = [
    *CANDIDATE_COLUMNS,
    *MEASURED_COLUMNS,
    "fov_from_kind_default",
    "in_view",
    "retained_until",
    "retention_status",
    "rank",
]
RETENTION_STATUSES = ("available", "at_risk", "unknown", "overwritten")  # in ranking order
AT_RISK_HOURS = 48
_STATUS_LABELS = np.array(RETENTION_STATUSES, dtype=object)
IN_VIEW_DTYPE = pd.CategoricalDtype(IN_VIEW_VALUES, ordered=True)
RETENTION_DTYPE = pd.CategoricalDtype(RETENTION_STATUSES, ordered=True)

MIN_RADIUS_M = 1.0
MAX_RADIUS_M = 5000.0
CELL_M = 100.0
EXACT_BAND_M = 0.5
FACTORIZE_SLICE_ROWS = 50_000

# British National Grid (EPSG:27700) and the prefilter margin; see the module docstring.
BNG_CENTRAL_SCALE = 0.9996012717
BNG_CENTRAL_EASTING_M = 400_000.0
AIRY_MIN_RADIUS_M = 6_335_000.0
MARGIN_RELATIVE = 3e-4
MARGIN_ABSOLUTE_M = 5.0

# WGS84 ellipsoid, for the mid-latitude formula.
WGS84_A_M = 6_378_137.0
WGS84_E2 = (1 / 298.257223563) * (2 - 1 / 298.257223563)

_FLOAT_COLUMNS = (
    "lat",
    "lon",
    "easting_m",
    "northing_m",
    "direction_deg",
    "fov_angle_deg",
    "fov_range_m",
    "retention_days",
)
_ID_COLUMNS = ("camera_id", "site_id")
_CODED_COLUMNS = {"kind": tuple(CAMERA_KINDS), "preferred_channel": tuple(CONTACT_CHANNELS)}  # column: first labels
_US_PER_DAY = 86_400_000_000
_US_PER_HOUR = 3_600_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NAT = np.iinfo("int64").min  # the integer behind NaT
_RANKING_INPUTS = ("camera_id", "direction_deg", "fov_angle_deg", "fov_range_m", "retention_days")
_MEASURED_FLOATS = (*MEASURED_COLUMNS, *_RANKING_INPUTS[1:])


def grid_search_radius_m(radius_m: float, easting_m: float) -> float:
    """Radius in BNG grid metres that contains every point within ``radius_m`` geodesic metres.

    The bound and why it holds are in the module docstring.

    >>> round(grid_search_radius_m(1000.0, 393_000.0), 1)
    1004.9
    """
    offset_m = abs(easting_m - BNG_CENTRAL_EASTING_M) + 1.01 * radius_m
    scale = BNG_CENTRAL_SCALE * math.cosh(offset_m / (BNG_CENTRAL_SCALE * AIRY_MIN_RADIUS_M))
    return radius_m * scale * (1.0 + MARGIN_RELATIVE) + MARGIN_ABSOLUTE_M


def local_inverse(
    lat_deg: ArrayLike, lon_deg: ArrayLike, to_lat_deg: ArrayLike, to_lon_deg: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Distance (m) and forward azimuth (degrees, 0-360) on WGS84 from each point to one point
    (or to the matching point of arrays of the same length).

    Gauss's mid-latitude formula with the meridian-convergence correction of the azimuth: within
    1 mm and 1e-5 degrees of ``pyproj.Geod(ellps="WGS84").inv`` up to 5 km (the error grows as the
    cube of the distance), and tens of times faster for arrays of a few hundred points.

    >>> distance_m, azimuth_deg = local_inverse([52.8], [-2.1], 52.8 + 1 / 60, -2.1)
    >>> round(float(distance_m[0]), 1), float(azimuth_deg[0])
    (1854.7, 0.0)
    """
    phi1 = np.radians(np.asarray(lat_deg, dtype="float64"))
    phi2 = np.radians(to_lat_deg)
    dlambda = np.radians(
        (np.asarray(to_lon_deg, dtype="float64") - np.asarray(lon_deg, dtype="float64") + 180.0) % 360.0 - 180.0
    )
    phi_m = (phi1 + phi2) / 2.0
    sin_m = np.sin(phi_m)
    w = 1.0 - WGS84_E2 * sin_m * sin_m
    prime_vertical_m = WGS84_A_M / np.sqrt(w)
    meridional_m = WGS84_A_M * (1.0 - WGS84_E2) / (w * np.sqrt(w))
    east_m = prime_vertical_m * np.cos(phi_m) * dlambda
    north_m = meridional_m * (phi2 - phi1)
    distance_m = np.hypot(east_m, north_m)
    return distance_m, wrap_deg(np.degrees(np.arctan2(east_m, north_m) - dlambda / 2.0 * sin_m))


def wrap_deg(angle_deg: np.ndarray) -> np.ndarray:
    """Angles brought into ``0 <= a < 360`` (``% 360`` alone turns -1e-17 into 360.0).

    >>> wrap_deg(np.array([-1e-17, -90.0, 360.0, 725.0])).tolist()
    [0.0, 270.0, 0.0, 5.0]
    """
    wrapped = np.asarray(angle_deg, dtype="float64") % 360.0
    wrapped[wrapped >= 360.0] = 0.0
    return wrapped


def check_radius(radius_m: float) -> None:
    """Refuse a search radius outside 1..5000 m, naming the value received.

    >>> check_radius(6000)
    Traceback (most recent call last):
    ...
    ValueError: radius_m must be a number of metres from 1 to 5000, got 6000
    """
    if not (is_real(radius_m) and MIN_RADIUS_M <= radius_m <= MAX_RADIUS_M):
        raise ValueError(f"radius_m must be a number of metres from 1 to 5000, got {radius_m!r}")


# --------------------------------------------------------------------------- the index


class CameraIndex:
    """Immutable in-memory spatial index of active cameras (columnar numpy arrays).

    Build it with :meth:`from_frame`; query it with :meth:`candidates` or :func:`search`. Its
    arrays are read-only, so one index is shared by every thread with no locking.

    Examples
    --------
    >>> frame = pd.DataFrame({"camera_id": [1], "site_id": [10], "lat": [52.8], "lon": [-2.1],
    ...     "easting_m": [393_355.0], "northing_m": [322_498.0], "kind": ["doorbell"],
    ...     "direction_deg": [np.nan], "fov_angle_deg": [np.nan], "fov_range_m": [np.nan],
    ...     "retention_days": [30.0], "preferred_channel": ["email"]})
    >>> index = CameraIndex.from_frame(frame)
    >>> len(index), index.candidates(52.8, -2.1005, 50)["camera_id"].tolist()
    (1, [1])
    """

    __slots__ = (
        "_cell_m",
        "_x0",
        "_y0",
        "_ncols",
        "_nrows",
        "_keys",
        "_x",
        "_y",
        "_columns",
        "_categories",
        "_dtypes",
        "_kind_default_angle_deg",
        "_kind_default_range_m",
    )

    def __init__(
        self,
        *,
        cell_m: float,
        origin: tuple[float, float],
        shape: tuple[int, int],
        keys: np.ndarray,
        grid_xy: tuple[np.ndarray, np.ndarray],
        columns: Mapping[str, np.ndarray],
        categories: Mapping[str, np.ndarray],
    ) -> None:
        """Low-level constructor; use :meth:`from_frame`."""
        self._cell_m = float(cell_m)
        self._x0, self._y0 = origin
        self._nrows, self._ncols = shape
        self._keys = _read_only(keys)
        self._x, self._y = (_read_only(a) for a in grid_xy)
        self._columns = {name: _read_only(a) for name, a in columns.items()}
        self._categories = {name: _read_only(a) for name, a in categories.items()}
        self._dtypes = {name: pd.CategoricalDtype(labels[:-1]) for name, labels in self._categories.items()}
        # per kind code (the last entry serves code -1, a missing kind)
        default_angle_deg, default_range_m = kind_defaults(self._categories["kind"])
        self._kind_default_angle_deg = _read_only(default_angle_deg)
        self._kind_default_range_m = _read_only(default_range_m)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, cell_m: float = CELL_M) -> CameraIndex:
        """Index the cameras in ``frame`` (one row per camera, :data:`CANDIDATE_COLUMNS`).

        ``camera_id`` and ``site_id`` must be whole numbers, ``camera_id`` unique; ``lat``/``lon``
        (EPSG:4326) must be present for every row: the loader selects active cameras of active
        registrations, whose positions are never erased. The grid position used by the
        prefilter is computed here from ``lat``/``lon`` (so it always agrees with the incident's);
        the ``easting_m``/``northing_m`` columns are carried through to results unchanged.

        Raises ``ValueError`` naming what was wrong (missing columns, missing or impossible
        positions with the first camera ids, repeated camera ids, a bad ``cell_m``).
        """
        missing = [c for c in CANDIDATE_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"camera frame lacks column(s) {missing}; it has {list(frame.columns)}")
        if not (is_real(cell_m) and cell_m > 0):
            raise ValueError(f"cell_m must be a positive number of metres, got {cell_m!r}")

        columns: dict[str, np.ndarray] = {}
        for name in _ID_COLUMNS:
            try:
                columns[name] = frame[name].to_numpy(dtype="int64")
            except (TypeError, ValueError) as exc:
                raise ValueError(f"camera frame column {name!r} must hold whole numbers with no gaps ({exc})") from exc
        for name in _FLOAT_COLUMNS:
            columns[name] = frame[name].to_numpy(dtype="float64", na_value=np.nan)
        categories: dict[str, np.ndarray] = {}
        for name, vocabulary in _CODED_COLUMNS.items():
            columns[name], categories[name] = _factorize_in_slices(frame[name].to_numpy(dtype=object), vocabulary)

        camera_id = columns["camera_id"]
        sorted_ids = np.sort(camera_id)
        repeated = sorted_ids[1:][sorted_ids[1:] == sorted_ids[:-1]]
        if len(repeated):
            raise ValueError(
                f"camera frame repeats camera_id(s) {np.unique(repeated)[:5].tolist()}; each must appear once"
            )
        lat, lon = columns["lat"], columns["lon"]
        bad = ~(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
        if bad.any():
            raise ValueError(
                f"camera frame has {int(bad.sum())} camera(s) with no valid lat/lon, e.g. camera_id "
                f"{camera_id[bad][:5].tolist()}; the loader must give only cameras with a position"
            )
        x, y = wgs84_to_bng().transform(lon, lat)
        x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            outside = ~(np.isfinite(x) & np.isfinite(y))
            raise ValueError(
                f"{int(outside.sum())} camera(s) lie outside the British National Grid, e.g. camera_id "
                f"{camera_id[outside][:5].tolist()}"
            )

        if len(x) == 0:
            origin, shape, keys = (0.0, 0.0), (0, 0), np.empty(0, dtype="int64")
        else:
            origin = (math.floor(x.min() / cell_m) * cell_m, math.floor(y.min() / cell_m) * cell_m)
            col = ((x - origin[0]) // cell_m).astype("int64")
            row = ((y - origin[1]) // cell_m).astype("int64")
            shape = (int(row.max()) + 1, int(col.max()) + 1)
            keys = row * shape[1] + col
        order = np.argsort(keys, kind="stable")
        return cls(
            cell_m=cell_m,
            origin=origin,
            shape=shape,
            keys=keys[order],
            grid_xy=(x[order], y[order]),
            columns={name: values[order] for name, values in columns.items()},
            categories=categories,
        )

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"CameraIndex({len(self)} cameras, {self._cell_m:g} m cells)"

    def candidates(self, lat: float, lon: float, radius_m: float) -> pd.DataFrame:
        """Cameras whose geodesic (WGS84) distance to the point is ``<= radius_m``.

        Parameters
        ----------
        lat, lon
            The incident, degrees (EPSG:4326).
        radius_m
            Search radius in metres, 1 to 5000 (the page and API allow 50 to 1000).

        Returns
        -------
        pandas.DataFrame
            :data:`CANDIDATE_COLUMNS` plus ``distance_m`` (geodesic, camera to incident) and
            ``bearing_to_incident_deg`` (forward azimuth from the camera to the incident,
            0 <= b < 360), nearest first (ties by ``camera_id``), index ``0..n-1``.

        Examples
        --------
        >>> index.candidates(52.8, -2.1, 5000)["distance_m"].round(1).tolist()  # doctest: +SKIP
        [0.0]
        """
        positions, distance_m, bearing_deg = self._hits(lat, lon, radius_m)
        order = np.lexsort((self._columns["camera_id"][positions], distance_m))
        columns = self._rows(positions[order])
        columns["distance_m"] = distance_m[order]
        columns["bearing_to_incident_deg"] = bearing_deg[order]
        return pd.DataFrame(columns, index=pd.RangeIndex(len(order)), copy=False)

    def _hits(self, lat: float, lon: float, radius_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions (into the sorted arrays) of the cameras within ``radius_m``, their distances
        and the bearings from each camera to the point."""
        check_position(lat, lon)
        check_radius(radius_m)
        lat, lon, radius_m = float(lat), float(lon), float(radius_m)
        none = (np.empty(0, dtype="int64"), np.empty(0), np.empty(0))
        if not len(self):
            return none
        x, y = wgs84_to_bng().transform(lon, lat)
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"point lat={lat!r}, lon={lon!r} lies outside the British National Grid")
        positions = self._within_grid_radius(x, y, grid_search_radius_m(radius_m, x))
        if not len(positions):
            return none

        near, distance_m, bearing_deg = _geodesic_within(
            self._columns["lat"][positions], self._columns["lon"][positions], lat, lon, radius_m
        )
        return positions[near], distance_m, bearing_deg

    def _within_grid_radius(self, x: float, y: float, grid_radius_m: float) -> np.ndarray:
        """Positions of the points within ``grid_radius_m`` of ``(x, y)`` in grid metres: one
        slice of the sorted arrays per row of cells, each trimmed to the circle's chord."""
        cell = self._cell_m
        row_first = max(math.floor((y - grid_radius_m - self._y0) / cell), 0)
        row_last = min(math.floor((y + grid_radius_m - self._y0) / cell), self._nrows - 1)
        if row_first > row_last:
            return np.empty(0, dtype="int64")
        rows = np.arange(row_first, row_last + 1, dtype="int64")
        row_south = self._y0 + rows * cell
        nearest_dy = np.maximum(np.maximum(row_south - y, y - (row_south + cell)), 0.0)
        half_chord = np.sqrt(np.maximum(grid_radius_m * grid_radius_m - nearest_dy * nearest_dy, 0.0))
        last_col = self._ncols - 1
        col_first = np.minimum(np.maximum((x - half_chord - self._x0) // cell, 0), last_col).astype("int64")
        col_last = np.minimum(np.maximum((x + half_chord - self._x0) // cell, 0), last_col).astype("int64")
        starts = np.searchsorted(self._keys, rows * self._ncols + col_first, side="left")
        ends = np.searchsorted(self._keys, rows * self._ncols + col_last, side="right")
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, dtype="int64")
        positions = np.arange(total, dtype="int64") + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        dx = self._x[positions] - x
        dy = self._y[positions] - y
        return positions[dx * dx + dy * dy <= grid_radius_m * grid_radius_m]

    def grid_parts(self) -> tuple[float, tuple[float, float], tuple[int, int], np.ndarray, np.ndarray, np.ndarray]:
        """The prefilter grid, read-only: ``cell_m, (x0, y0), (nrows, ncols), keys, x, y`` (the
        arrays in the index's sorted order; :mod:`dashboard.geo.near_points` joins many points)."""
        return self._cell_m, (self._x0, self._y0), (self._nrows, self._ncols), self._keys, self._x, self._y

    def arrays(self) -> dict[str, np.ndarray]:
        """The id and number columns, read-only, in the index's sorted order (no text columns)."""
        return {name: self._columns[name] for name in (*_ID_COLUMNS, *_FLOAT_COLUMNS)}

    def kind_defaults(self) -> tuple[np.ndarray, np.ndarray]:
        """Default angle and range of view of every camera's kind, in the index's sorted order."""
        return self._kind_defaults(slice(None))

    def _rows(self, positions: np.ndarray) -> dict[str, object]:
        """The :data:`CANDIDATE_COLUMNS` of the cameras at ``positions``: arrays, and
        Categoricals for the coded text columns."""
        rows: dict[str, object] = dict(self._values(positions, CANDIDATE_COLUMNS))
        for name, dtype in self._dtypes.items():
            rows[name] = pd.Categorical.from_codes(rows[name], dtype=dtype, validate=False)
        return rows

    def _values(self, positions: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored arrays (coded columns as codes) of the cameras at ``positions``."""
        return {name: self._columns[name][positions] for name in names}

    def _kind_defaults(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Default angle and range of view of the kinds of the cameras at ``positions``."""
        codes = self._columns["kind"][positions]
        return self._kind_default_angle_deg[codes], self._kind_default_range_m[codes]


def _geodesic_within(
    lats: np.ndarray, lons: np.ndarray, lat: float, lon: float, radius_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which of the points (``lats``, ``lons``: a prefilter's few) lie within ``radius_m`` of
    (``lat``, ``lon``) on the WGS84 ellipsoid: their positions in the arrays, distances and the
    bearings from each point to (``lat``, ``lon``). The fast local formula decides, except within
    ``EXACT_BAND_M`` of the radius, where pyproj's Geod does."""
    distance_m, bearing_deg = local_inverse(lats, lons, lat, lon)
    near = np.flatnonzero(distance_m <= radius_m + EXACT_BAND_M)
    distance_m, bearing_deg = distance_m[near], bearing_deg[near]
    band = distance_m >= radius_m - EXACT_BAND_M
    if band.any():
        count = int(band.sum())
        azimuth_deg, _, exact_m = GEOD.inv(lons[near[band]], lats[near[band]], np.full(count, lon), np.full(count, lat))
        distance_m[band] = exact_m
        bearing_deg[band] = wrap_deg(azimuth_deg)
        inside = distance_m <= radius_m
        near, distance_m, bearing_deg = near[inside], distance_m[inside], bearing_deg[inside]
    return near, distance_m, bearing_deg


def _check_most(most: int | None) -> None:
    if most is not None and (isinstance(most, bool) or not isinstance(most, int) or most < 0):
        raise ValueError(f"most must be a whole number >= 0 or None, got {most!r}")


def rank_near(
    columns: Mapping[str, np.ndarray],
    lat: float,
    lon: float,
    radius_m: float,
    incident_at: dt.datetime,
    now: dt.datetime,
    carry: Sequence[str] = (),
    most: int | None = None,
) -> tuple[pd.DataFrame, int]:
    """:func:`candidates_within` then :func:`rank_results` in one pass over a prefilter's arrays, with
    one frame built at the end and only of the best ``most`` rows (all when None): what a search
    lists. Returns that frame and how many cameras were within the radius.

    The frame's rows and values are ``rank_results(candidates_within(columns, ...), ...)``'s first
    ``most`` rows (the tests hold it to that), followed by the ``carry`` columns; the coded text
    columns' categories are the vocabulary then any other value among the rows listed.
    """
    check_position(lat, lon)
    check_radius(radius_m)
    _check_most(most)
    lat, lon, radius_m = float(lat), float(lon), float(radius_m)
    near, distance_m, bearing_deg = _geodesic_within(
        np.asarray(columns["lat"], dtype="float64"), np.asarray(columns["lon"], dtype="float64"), lat, lon, radius_m
    )
    inputs = {name: np.asarray(columns[name], dtype="float64")[near] for name in _RANKING_INPUTS[1:]}
    inputs["camera_id"] = np.asarray(columns["camera_id"], dtype="int64")[near]
    inputs["distance_m"], inputs["bearing_to_incident_deg"] = distance_m, bearing_deg
    kinds = np.asarray(columns["kind"], dtype=object)[near]
    derived, order = _ranking(inputs, *kind_defaults(kinds), incident_at, now)
    if most is not None:
        order = order[:most]
    take = near[order]
    rows: dict[str, object] = {}
    for name in CANDIDATE_COLUMNS:
        values = np.asarray(columns[name], dtype=object if name in _CODED_COLUMNS else None)[take]
        if name in _CODED_COLUMNS:
            codes, labels = _factorize_in_slices(values, _CODED_COLUMNS[name])
            rows[name] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(labels[:-1]), validate=False)
        else:
            rows[name] = values.astype("int64" if name in _ID_COLUMNS else "float64", copy=False)
    carried = {name: np.asarray(columns[name])[take] for name in carry}
    return _result_frame(rows, distance_m, bearing_deg, derived, order, carried), len(near)


def _result_frame(
    rows: dict[str, object],
    distance_m: np.ndarray,
    bearing_deg: np.ndarray,
    derived: Mapping[str, np.ndarray],
    order: np.ndarray,
    carried: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The ranked frame of the rows listed in ``order``: ``rows`` holds their :data:`CANDIDATE_COLUMNS`
    (already in that order); the measures and ``_ranking``'s derived columns are taken by ``order``,
    ``rank`` added, and :data:`RESULT_COLUMNS` then any ``carried`` columns kept."""
    rows["distance_m"] = distance_m[order]
    rows["bearing_to_incident_deg"] = bearing_deg[order]
    rows.update(_typed(derived, order))
    rows["rank"] = np.arange(1, len(order) + 1)
    frame = {name: rows[name] for name in RESULT_COLUMNS} | dict(carried or {})
    return pd.DataFrame(frame, index=pd.RangeIndex(len(order)), copy=False)


def _factorize_in_slices(
    values: np.ndarray, first_labels: Sequence[str] = (), slice_rows: int = FACTORIZE_SLICE_ROWS
) -> tuple[np.ndarray, np.ndarray]:
    """Codes (int32) and labels of a column of text, missing values coded -1.

    The labels start with ``first_labels`` (the vocabulary, so categories stay the same from one
    index to the next), then any other values in order of appearance, and end with ``None``, so
    ``labels[codes]`` gives the values back (missing as None). Done a slice at a time: hashing
    Python strings holds the GIL, and a background rebuild must not stall the searches running
    meanwhile for more than a few milliseconds.

    >>> values = np.array(["ptz", None, "drone", "ptz"], dtype=object)
    >>> codes, labels = _factorize_in_slices(values, ["dome", "ptz"], 2)
    >>> codes.tolist(), labels.tolist()
    ([1, -1, 2, 1], ['dome', 'ptz', 'drone', None])
    """
    codes = np.empty(len(values), dtype="int32")
    known: dict[object, int] = {label: i for i, label in enumerate(first_labels)}
    for start in range(0, len(values), slice_rows):
        part_codes, part_labels = pd.factorize(values[start : start + slice_rows], use_na_sentinel=True)
        to_global = np.array([*(known.setdefault(label, len(known)) for label in part_labels), -1], dtype="int32")
        codes[start : start + slice_rows] = to_global[part_codes]
    return codes, np.array([*known, None], dtype=object)


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


# --------------------------------------------------------------------------- live index


class LiveCameraIndex:
    """Holds the current :class:`CameraIndex`; :meth:`rebuild_async` builds a new one in a
    background thread and swaps it in atomically, so searches never wait for a rebuild (they
    use the old index until the swap).

    ``loader`` returns the active cameras as a frame with :data:`CANDIDATE_COLUMNS`. If a
    rebuild fails the old index stays in service; the error is logged and kept in
    :attr:`last_error`.

    Examples
    --------
    >>> live = LiveCameraIndex(load_active_cameras)  # doctest: +SKIP
    >>> search(live.current(), 52.8, -2.1, 200, incident_at, now)  # doctest: +SKIP
    >>> live.rebuild_async()  # after a registration is saved  # doctest: +SKIP
    """

    def __init__(
        self,
        loader: Callable[[], pd.DataFrame],
        builder: Callable[[pd.DataFrame], CameraIndex] = CameraIndex.from_frame,
    ) -> None:
        self._loader = loader
        self._builder = builder
        self._index: CameraIndex | None = None
        self._version = 0
        self._installed_ticket = -1
        self._next_ticket = 0
        self._state_lock = threading.Lock()  # held only for a few assignments, never while building
        self._first_build_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._pending = False
        self.last_error: BaseException | None = None

    def current(self) -> CameraIndex:
        """The index in service: no waiting once one exists; built synchronously on first use
        (by the calling thread, even if a background rebuild has been started meanwhile)."""
        index = self._index
        if index is not None:
            return index
        with self._first_build_lock:
            if self._index is None:
                self._build_and_install(self._take_ticket())
            assert self._index is not None
            return self._index

    def rebuild_async(self) -> threading.Thread:
        """Start building a fresh index in a background thread and return that thread.

        Requests made while a rebuild runs are coalesced: they return the running thread, which
        then makes exactly one more pass (its loader call started after theirs), so once the
        returned thread has been joined the index reflects every change made before the call.
        """
        with self._state_lock:
            if self._worker is not None:
                self._pending = True
                return self._worker
            self._worker = threading.Thread(target=self._rebuild_loop, name="camera-index-rebuild", daemon=True)
            worker = self._worker
        worker.start()
        return worker

    def version(self) -> int:
        """How many indexes have been swapped in (0 before the first build)."""
        return self._version

    def _rebuild_loop(self) -> None:
        while True:
            with self._state_lock:
                self._pending = False
            try:
                self._build_and_install(self._take_ticket())
            except Exception as exc:  # keep serving the old index
                self.last_error = exc
                log.exception("camera index rebuild failed; the previous index stays in service")
            except BaseException:  # interpreter shutting down: let a later request start afresh
                with self._state_lock:
                    self._worker = None
                raise
            with self._state_lock:
                if not self._pending:
                    self._worker = None
                    return

    def _take_ticket(self) -> int:
        with self._state_lock:
            ticket = self._next_ticket
            self._next_ticket += 1
            return ticket

    def _build_and_install(self, ticket: int) -> None:
        """Build from a fresh load; install unless a build that started later got there first."""
        index = self._builder(self._loader())
        with self._state_lock:
            if ticket > self._installed_ticket:
                self._index = index
                self._installed_ticket = ticket
                self._version += 1
                self.last_error = None


# --------------------------------------------------------------------------- retention and ranking


def _as_utc(value: dt.datetime, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(dt.UTC)


def _epoch_microseconds(value: dt.datetime) -> int:
    """Whole microseconds from 1970-01-01 UTC to an aware datetime, exactly (no float rounding)."""
    return (value - _EPOCH) // dt.timedelta(microseconds=1)


def _retention_codes(
    incident_at: dt.datetime, retention_days: ArrayLike, now: dt.datetime, at_risk_hours: float
) -> tuple[np.ndarray, np.ndarray]:
    """``retained_until`` as naive-UTC ``datetime64[us]`` (NaT if unknown) and int8 status codes
    in ranking order (0 available, 1 at risk, 2 unknown, 3 overwritten)."""
    incident_at, now = _as_utc(incident_at, "incident_at"), _as_utc(now, "now")
    if not (is_real(at_risk_hours) and at_risk_hours >= 0):
        raise ValueError(f"at_risk_hours must be a number of hours >= 0, got {at_risk_hours!r}")
    days = np.asarray(retention_days, dtype="float64")
    known = np.isfinite(days)
    # whole microseconds since the epoch; unknown rows hold NaT's integer, so they view as NaT
    until_us = np.rint(np.where(known, days, 0.0) * _US_PER_DAY).astype("int64")
    until_us += _epoch_microseconds(incident_at)
    until_us[~known] = _NAT
    now_us = _epoch_microseconds(now)
    risk_until_us = now_us + round(at_risk_hours * _US_PER_HOUR)
    codes = np.where(until_us > risk_until_us, 0, np.where(until_us > now_us, 1, 3)).astype("int8")
    codes[~known] = 2
    return until_us.view("datetime64[us]"), codes


def _utc_array(values: np.ndarray) -> pd.arrays.DatetimeArray:
    return pd.array(values, dtype=pd.DatetimeTZDtype(unit="us", tz="UTC"))


def retention_status(
    incident_at: dt.datetime,
    retention_days: ArrayLike,
    now: dt.datetime,
    at_risk_hours: float = AT_RISK_HOURS,
) -> tuple[pd.arrays.DatetimeArray, np.ndarray]:
    """Until when each camera keeps footage of the incident, and whether it is still there.

    Parameters
    ----------
    incident_at, now
        Timezone-aware datetimes.
    retention_days
        Days each camera keeps footage; NaN (or None) if unknown.
    at_risk_hours
        Footage that will be overwritten within this many hours of ``now`` is ``"at_risk"``.

    Returns
    -------
    retained_until
        ``incident_at + retention_days`` as aware UTC timestamps (``NaT`` if unknown).
    status
        Object array of ``"overwritten"`` (``retained_until <= now``), ``"at_risk"``
        (``now < retained_until <= now + at_risk_hours``), ``"available"`` (later) or
        ``"unknown"``.

    Examples
    --------
    >>> utc = dt.timezone.utc
    >>> until, status = retention_status(dt.datetime(2026, 5, 1, 12, tzinfo=utc), [30, 2, 1, np.nan],
    ...                                  dt.datetime(2026, 5, 2, 12, tzinfo=utc))
    >>> status.tolist()
    ['available', 'at_risk', 'overwritten', 'unknown']
    >>> str(until[2])
    '2026-05-02 12:00:00+00:00'
    """
    retained_until, codes = _retention_codes(incident_at, retention_days, now, at_risk_hours)
    return _utc_array(retained_until), _STATUS_LABELS[codes]


def _ranking(
    columns: Mapping[str, np.ndarray],
    default_angle_deg: np.ndarray,
    default_range_m: np.ndarray,
    incident_at: dt.datetime,
    now: dt.datetime,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The filled and new columns of a ranked result (in input row order), and the order that
    ranks the rows. ``columns`` holds float arrays for the measured and field-of-view columns."""
    fov_angle_deg, fov_range_m, defaulted = fill_fov(
        columns["fov_angle_deg"], columns["fov_range_m"], default_angle_deg, default_range_m
    )
    view = in_view_codes(
        columns["direction_deg"],
        fov_angle_deg,
        fov_range_m,
        columns["bearing_to_incident_deg"],
        columns["distance_m"],
    )
    retained_until, status = _retention_codes(incident_at, columns["retention_days"], now, AT_RISK_HOURS)
    order = np.lexsort((np.asarray(columns["camera_id"]), columns["distance_m"], status, view))
    derived = {
        "fov_angle_deg": fov_angle_deg,
        "fov_range_m": fov_range_m,
        "fov_from_kind_default": defaulted,
        "in_view": view,
        "retained_until": retained_until,
        "retention_status": status,
    }
    return derived, order


def _typed(derived: Mapping[str, np.ndarray], order: np.ndarray) -> dict[str, object]:
    """The derived columns in ranked order, with their result types: ``in_view`` and
    ``retention_status`` ordered Categoricals, ``retained_until`` aware UTC timestamps."""
    ordered = {name: values[order] for name, values in derived.items()}
    ordered["in_view"] = pd.Categorical.from_codes(ordered["in_view"], dtype=IN_VIEW_DTYPE, validate=False)
    ordered["retention_status"] = pd.Categorical.from_codes(
        ordered["retention_status"], dtype=RETENTION_DTYPE, validate=False
    )
    ordered["retained_until"] = _utc_array(ordered["retained_until"])
    return ordered


def rank_results(candidates: pd.DataFrame, incident_at: dt.datetime, now: dt.datetime) -> pd.DataFrame:
    """Rank candidate cameras so the best chances of footage come first.

    Fills ``fov_angle_deg``/``fov_range_m`` from the kind's defaults where NaN (flagged in
    ``fov_from_kind_default``), adds ``in_view``, ``retained_until`` (aware UTC) and
    ``retention_status``, sorts by in view (``yes``, ``unknown``, ``no``), retention
    (``available``, ``at_risk``, ``unknown``, ``overwritten``), distance, ``camera_id``, and adds
    a 1-based ``rank``. Columns are :data:`RESULT_COLUMNS` followed by any others ``candidates``
    had; the index is ``0..n-1``.

    Parameters
    ----------
    candidates
        Output of :meth:`CameraIndex.candidates` (any extra columns are kept).
    incident_at, now
        Timezone-aware datetimes.

    Examples
    --------
    >>> ranked = rank_results(index.candidates(52.8, -2.1, 200), incident_at, now)  # doctest: +SKIP
    >>> ranked[["rank", "camera_id", "in_view", "retention_status"]]  # doctest: +SKIP
    """
    needed = [*CANDIDATE_COLUMNS, *MEASURED_COLUMNS]
    missing = [c for c in needed if c not in candidates.columns]
    if missing:
        raise ValueError(f"candidates lack column(s) {missing}; pass the output of CameraIndex.candidates")
    columns = {name: candidates[name].to_numpy(dtype="float64", na_value=np.nan) for name in _MEASURED_FLOATS}
    columns["camera_id"] = candidates["camera_id"].to_numpy()
    default_angle_deg, default_range_m = kind_defaults(candidates["kind"].to_numpy(dtype=object))
    derived, order = _ranking(columns, default_angle_deg, default_range_m, incident_at, now)
    ranked = candidates.iloc[order].reset_index(drop=True).assign(**_typed(derived, order))
    ranked["rank"] = np.arange(1, len(ranked) + 1)
    extra = [c for c in ranked.columns if c not in RESULT_COLUMNS]
    return ranked[[*RESULT_COLUMNS, *extra]]


def search(
    index: CameraIndex,
    lat: float,
    lon: float,
    radius_m: float,
    incident_at: dt.datetime,
    now: dt.datetime,
) -> pd.DataFrame:
    """Cameras within ``radius_m`` of the incident, ranked: :meth:`CameraIndex.candidates`
    then :func:`rank_results` in one pass, with one data frame built at the end.

    Returns :data:`RESULT_COLUMNS`, best chance first, index ``0..n-1``.

    Examples
    --------
    >>> utc = dt.timezone.utc
    >>> result = search(index, 52.8, -2.1005, 100, dt.datetime(2026, 5, 1, tzinfo=utc),
    ...                 dt.datetime(2026, 5, 2, tzinfo=utc))  # doctest: +SKIP
    >>> result[["rank", "camera_id", "in_view", "retention_status"]].to_dict("records")  # doctest: +SKIP
    [{'rank': 1, 'camera_id': 1, 'in_view': 'unknown', 'retention_status': 'available'}]
    """
    return search_listed(index, lat, lon, radius_m, incident_at, now, None)[0]


def search_listed(
    index: CameraIndex,
    lat: float,
    lon: float,
    radius_m: float,
    incident_at: dt.datetime,
    now: dt.datetime,
    most: int | None,
) -> tuple[pd.DataFrame, int]:
    """:func:`search`'s first ``most`` rows (all when None), building only those into the frame, and
    how many cameras were within the radius."""
    _check_most(most)
    incident_at, now = _as_utc(incident_at, "incident_at"), _as_utc(now, "now")
    positions, distance_m, bearing_deg = index._hits(lat, lon, radius_m)
    measured = {"distance_m": distance_m, "bearing_to_incident_deg": bearing_deg}
    columns = index._values(positions, _RANKING_INPUTS) | measured
    derived, order = _ranking(columns, *index._kind_defaults(positions), incident_at, now)
    if most is not None:
        order = order[:most]
    return _result_frame(index._rows(positions[order]), distance_m, bearing_deg, derived, order), len(positions)
