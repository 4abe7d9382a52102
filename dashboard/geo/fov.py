"""Field-of-view geometry of a registered camera: can it see a point, and the wedge it covers.

A camera's view is a geodesic sector on the WGS84 ellipsoid: apex at the camera, centred on
``direction_deg`` (clockwise from true north), ``fov_angle_deg`` wide and ``fov_range_m`` deep.
Edges are inside (a bearing exactly on an edge, a distance exactly equal to the range, is
in view), and so is the apex itself.

Decisions (issue 3)
-------------------
* Beyond the range -> ``"no"``, whatever the direction (known or not): a camera cannot record
  what is further away than it can see, whichever way it points.
* Within the range: angle >= 360 -> ``"yes"`` (e.g. pan-tilt-zoom); direction unknown ->
  ``"unknown"``; otherwise ``"yes"`` when the bearing from the camera is within half the angle of
  the direction (across north too: direction 350, angle 40 sees bearings 330 to 10), else ``"no"``.
* An incident within :data:`APEX_TOLERANCE_M` of the camera is at the apex, which every wedge
  contains, so it is ``"yes"`` (the bearing between two coincident points means nothing).
* An unknown (NaN) range, or an unknown angle when the direction is known and the point within
  range, gives ``"unknown"``; callers normally fill both from the kind's defaults first
  (:func:`fill_effective_fov`).

Metre quantities end in ``_m``; angles in degrees end in ``_deg``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from dashboard.core.crs import GEOD
from dashboard.core.vocab import DEFAULT_FOV, effective_fov

APEX_TOLERANCE_M = 0.5
IN_VIEW_VALUES = ("yes", "unknown", "no")  # in ranking order; in_view_codes gives 0, 1, 2
_IN_VIEW_LABELS = np.array(IN_VIEW_VALUES, dtype=object)
YES, UNKNOWN, NO = 0, 1, 2


def _floats(values: ArrayLike) -> np.ndarray:
    """A float64 array from numbers, None, NaN or pandas NA (all three become NaN)."""
    return np.asarray(values, dtype="float64")


def in_view(
    direction_deg: ArrayLike,
    fov_angle_deg: ArrayLike,
    fov_range_m: ArrayLike,
    bearing_deg: ArrayLike,
    distance_m: ArrayLike,
) -> np.ndarray:
    """Whether each camera may see the incident: ``"yes"``, ``"no"`` or ``"unknown"``.

    Parameters
    ----------
    direction_deg
        Where each camera points, degrees clockwise from true north; NaN if unknown.
    fov_angle_deg, fov_range_m
        The camera's horizontal angle of view (degrees) and useful range (metres).
    bearing_deg
        Forward azimuth from the camera to the incident, degrees (any turn; taken mod 360).
    distance_m
        Geodesic distance from the camera to the incident, metres.

    Returns
    -------
    numpy.ndarray of object
        One of ``"yes"``, ``"no"``, ``"unknown"`` per camera (broadcast shape of the inputs);
        the rules are in the module docstring.

    Examples
    --------
    >>> in_view([350, np.nan, 350, 0], [40, 90, 40, 360], [25, 25, 25, 40], [5, 5, 12, 200], [10, 10, 10, 39])
    array(['yes', 'unknown', 'no', 'yes'], dtype=object)
    """
    return _IN_VIEW_LABELS[in_view_codes(direction_deg, fov_angle_deg, fov_range_m, bearing_deg, distance_m)]


def in_view_codes(
    direction_deg: ArrayLike,
    fov_angle_deg: ArrayLike,
    fov_range_m: ArrayLike,
    bearing_deg: ArrayLike,
    distance_m: ArrayLike,
) -> np.ndarray:
    """:func:`in_view` as int8 codes in ranking order: 0 yes, 1 unknown, 2 no.

    >>> in_view_codes([350], [40], [25], [30], [10]).tolist()
    [2]
    """
    arrays = [_floats(a) for a in (direction_deg, fov_angle_deg, fov_range_m, bearing_deg, distance_m)]
    if any(a.shape != arrays[0].shape for a in arrays):
        arrays = np.broadcast_arrays(*arrays)
    direction, angle, reach, bearing, distance = arrays
    # NaN compares False and propagates through arithmetic without warnings, which the rules use:
    inside_angle = np.abs((bearing - direction + 180.0) % 360.0 - 180.0) <= angle / 2.0  # False if NaN
    decided = ~(np.isnan(direction) | np.isnan(angle))
    within_range = distance <= reach  # False when the range is NaN
    beyond_range = distance > reach
    codes = np.where(decided, np.where(inside_angle, YES, NO), UNKNOWN).astype("int8")
    codes[within_range & ((distance <= APEX_TOLERANCE_M) | (angle >= 360.0))] = YES
    codes[beyond_range] = NO
    codes[~(within_range | beyond_range)] = UNKNOWN  # range or distance unknown
    return codes


def kind_defaults(kinds: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Default angle (degrees) and range (metres) of view for each camera kind, from
    ``vocab.effective_fov``; an unknown or missing kind takes the ``"other"`` defaults.

    >>> angle_deg, range_m = kind_defaults(["doorbell", "ptz", None])
    >>> angle_deg.tolist(), range_m.tolist()
    ([160.0, 360.0, 90.0], [10.0, 40.0, 10.0])
    """
    codes, uniques = pd.factorize(pd.Series(np.asarray(kinds, dtype=object)), use_na_sentinel=True)
    known = list(uniques)
    fovs = [effective_fov(kind if kind in DEFAULT_FOV else "other", None, None) for kind in known]
    fovs.append(effective_fov("other", None, None))  # code -1: missing
    angle_deg = np.array([fov.angle_deg for fov in fovs], dtype="float64")
    range_m = np.array([fov.range_m for fov in fovs], dtype="float64")
    return angle_deg[codes], range_m[codes]


def fill_effective_fov(
    kind: ArrayLike, fov_angle_deg: ArrayLike, fov_range_m: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Angle and range of view with the kind's defaults (``vocab.effective_fov``) where NaN.

    Returns ``(angle_deg, range_m, defaulted)``; ``defaulted`` is True where either value came
    from the kind's default. An unrecognised kind takes the ``"other"`` defaults.

    Examples
    --------
    >>> angle, reach, defaulted = fill_effective_fov(["doorbell", "ptz"], [np.nan, 360], [6, np.nan])
    >>> angle.tolist(), reach.tolist(), defaulted.tolist()
    ([160.0, 360.0], [6.0, 40.0], [True, True])
    """
    default_angle_deg, default_range_m = kind_defaults(kind)
    return fill_fov(fov_angle_deg, fov_range_m, default_angle_deg, default_range_m)


def fill_fov(
    fov_angle_deg: ArrayLike, fov_range_m: ArrayLike, default_angle_deg: ArrayLike, default_range_m: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The owner's angle and range where given, the defaults where NaN, and where a default was used.

    >>> [a.tolist() for a in fill_fov([np.nan, 40], [6, 25], [160, 90], [10, 25])]
    [[160.0, 40.0], [6.0, 25.0], [True, False]]
    """
    angle_deg, range_m = _floats(fov_angle_deg), _floats(fov_range_m)
    missing_angle, missing_range = np.isnan(angle_deg), np.isnan(range_m)
    angle_deg = np.where(missing_angle, default_angle_deg, angle_deg)
    range_m = np.where(missing_range, default_range_m, range_m)
    return angle_deg, range_m, missing_angle | missing_range


def fov_wedge(
    lat: float,
    lon: float,
    direction_deg: float | None,
    fov_angle_deg: float,
    fov_range_m: float,
    steps: int = 16,
) -> list[tuple[float, float]] | None:
    """Closed ring of ``(lon, lat)`` (EPSG:4326) outlining what a camera sees.

    The arc is ``steps`` geodesic segments long (points from ``pyproj.Geod.fwd`` on WGS84); the
    ring runs apex, arc from left edge to right edge (clockwise), apex. An angle of 360 or more
    gives a full circle of ``steps`` segments (first point repeated last, no apex), whatever the
    direction. An unknown direction (None or NaN) with a narrower angle gives ``None``: the map
    then draws a circle of the range instead.

    Raises ``ValueError`` naming the value for a position off the globe, a direction that is not
    a number (None or NaN excepted), a range that is not a positive number of metres, an angle
    that is not a positive number of degrees, or fewer than 2 steps.

    Examples
    --------
    >>> ring = fov_wedge(52.8, -2.1, 0, 90, 25)
    >>> len(ring), ring[0] == ring[-1] == (-2.1, 52.8)
    (19, True)
    >>> fov_wedge(52.8, -2.1, None, 90, 25) is None
    True
    """
    check_position(lat, lon)
    if not (isinstance(steps, int) and steps >= 2):
        raise ValueError(f"steps must be a whole number >= 2, got {steps!r}")
    if not (is_real(fov_range_m) and fov_range_m > 0):
        raise ValueError(f"fov_range_m must be a positive number of metres, got {fov_range_m!r}")
    if not (is_real(fov_angle_deg) and fov_angle_deg > 0):
        raise ValueError(f"fov_angle_deg must be a positive number of degrees, got {fov_angle_deg!r}")

    if fov_angle_deg >= 360.0:
        azimuths_deg = np.linspace(0.0, 360.0, steps + 1)[:-1]
    elif _missing(direction_deg):
        return None
    elif not is_real(direction_deg):
        raise ValueError(f"direction_deg must be degrees clockwise from north, None or NaN, got {direction_deg!r}")
    else:
        half = fov_angle_deg / 2.0
        azimuths_deg = np.linspace(direction_deg - half, direction_deg + half, steps + 1)
    count = len(azimuths_deg)
    lons, lats, _ = GEOD.fwd(
        np.full(count, float(lon)), np.full(count, float(lat)), azimuths_deg, np.full(count, float(fov_range_m))
    )
    arc = [(float(x), float(y)) for x, y in zip(lons, lats)]
    if fov_angle_deg >= 360.0:
        return [*arc, arc[0]]
    apex = (float(lon), float(lat))
    return [apex, *arc, apex]


def _missing(value: object) -> bool:
    """True for None, NaN, pandas NA or NaT (a missing scalar)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # not a scalar
        return False


def is_real(value: object) -> bool:
    """True for a finite real number (int, float or numpy scalar), False for bool, None, NaN, text."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def check_position(lat: float, lon: float) -> None:
    """Refuse a latitude/longitude (degrees, EPSG:4326) that is not a finite point on the globe.

    >>> check_position(95.0, -2.1)
    Traceback (most recent call last):
    ...
    ValueError: lat must be a latitude in degrees between -90 and 90, got 95.0
    """
    if not (is_real(lat) and -90.0 <= lat <= 90.0):
        raise ValueError(f"lat must be a latitude in degrees between -90 and 90, got {lat!r}")
    if not (is_real(lon) and -180.0 <= lon <= 180.0):
        raise ValueError(f"lon must be a longitude in degrees between -180 and 180, got {lon!r}")


def fov_rings(
    lat: np.ndarray,
    lon: np.ndarray,
    direction_deg: np.ndarray,
    fov_angle_deg: np.ndarray,
    fov_range_m: np.ndarray,
    steps: int = 16,
    decimals: int | None = None,
) -> list[list[tuple[float, float]]]:
    """:func:`fov_wedge` for many cameras in one geodesic call: a closed (lon, lat) ring each,
    coordinates rounded to ``decimals`` places when given (6 places is about 0.1 m).

    A camera whose direction is unknown (NaN) gets the circle of its range, as does one whose
    angle is 360 or more. Same geometry as :func:`fov_wedge`, vectorised for the map of a search.

    >>> rings = fov_rings(np.array([52.8]), np.array([-2.1]), np.array([0.0]), np.array([90.0]), np.array([25.0]))
    >>> rings[0] == fov_wedge(52.8, -2.1, 0, 90, 25)
    True
    """
    n = len(lat)
    if n == 0:
        return []
    direction = np.asarray(direction_deg, dtype="float64")
    angle = np.asarray(fov_angle_deg, dtype="float64")
    circle = np.isnan(direction) | (angle >= 360.0)
    fraction = np.linspace(0.0, 1.0, steps + 1)
    start = np.where(circle, 0.0, direction - angle / 2.0)
    span = np.where(circle, 360.0, angle)
    azimuths = start[:, None] + span[:, None] * fraction[None, :]
    lons, lats, _ = GEOD.fwd(
        np.repeat(np.asarray(lon, dtype="float64"), steps + 1),
        np.repeat(np.asarray(lat, dtype="float64"), steps + 1),
        azimuths.ravel(),
        np.repeat(np.asarray(fov_range_m, dtype="float64"), steps + 1),
    )
    lons, lats = lons.reshape(n, steps + 1), lats.reshape(n, steps + 1)
    if decimals is not None:
        lons, lats = np.round(lons, decimals), np.round(lats, decimals)
        lon, lat = (
            np.round(np.asarray(lon, dtype="float64"), decimals),
            np.round(np.asarray(lat, dtype="float64"), decimals),
        )
    rings = []
    for i in range(n):
        if circle[i]:
            arc = list(zip(lons[i, :steps].tolist(), lats[i, :steps].tolist()))
            rings.append([*arc, arc[0]])
        else:
            apex = (float(lon[i]), float(lat[i]))
            rings.append([apex, *zip(lons[i].tolist(), lats[i].tolist()), apex])
    return rings
