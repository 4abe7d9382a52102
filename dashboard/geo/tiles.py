"""Web Mercator map tiles (the scheme Leaflet, OpenStreetMap and the OS Maps API use): which
tile ``z/x/y`` covers which place, as pure arithmetic.

Coordinates here are *unit* Web Mercator (EPSG:3857 scaled to the unit square): ``u`` runs 0 to
1 from 180°W to 180°E, ``v`` 0 to 1 from the north edge (85.0511°N) to the south edge. Tile
``x, y`` of zoom ``z`` covers ``u`` in ``[x, x + 1] / 2**z`` and ``v`` in ``[y, y + 1] / 2**z``;
a pixel of a 256-pixel tile is ``(u * 2**z - x) * 256``.

>>> tile_bounds(0, 0, 0)  # the whole world
(-180.0, -85.0511287798066, 180.0, 85.0511287798066)
>>> tile_for(-2.1165, 52.8065, 10)  # Stafford
(505, 334)
"""

from __future__ import annotations

import math

import numpy as np

TILE_PX = 256
MAX_ZOOM = 19  # street level: Leaflet's, the OS Maps API's and this app's deepest zoom
MAX_LAT = math.degrees(math.atan(math.sinh(math.pi)))  # 85.0511...: where Web Mercator's square ends


def to_unit(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude/latitude (degrees) to unit Web Mercator ``(u, v)``; latitudes beyond
    ±85.0511° are clamped to the edge.

    >>> [round(float(c), 6) for c in to_unit(0.0, 0.0)]
    [0.5, 0.5]
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.clip(np.asarray(lat, dtype="float64"), -MAX_LAT, MAX_LAT)
    u = (lon + 180.0) / 360.0
    v = (1.0 - np.arcsinh(np.tan(np.radians(lat))) / math.pi) / 2.0
    return u, v


def from_unit(u: np.ndarray | float, v: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Unit Web Mercator back to longitude/latitude (degrees).

    >>> [round(float(c), 6) for c in from_unit(0.5, 0.5)]
    [0.0, 0.0]
    """
    u = np.asarray(u, dtype="float64")
    v = np.asarray(v, dtype="float64")
    return u * 360.0 - 180.0, np.degrees(np.arctan(np.sinh(math.pi * (1.0 - 2.0 * v))))


def check_tile(z: int, x: int, y: int) -> None:
    """Raise ``ValueError`` naming what is wrong unless ``z/x/y`` is a tile of zoom 0 to ``MAX_ZOOM``.

    >>> check_tile(1, 2, 0)
    Traceback (most recent call last):
    ValueError: tile x=2 is outside 0..1 at zoom 1
    """
    for name, value in (("z", z), ("x", x), ("y", y)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"tile {name} must be a whole number, got {value!r}")
    if not 0 <= z <= MAX_ZOOM:
        raise ValueError(f"zoom {z} is outside 0..{MAX_ZOOM}")
    last = 2**z - 1
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value <= last:
            raise ValueError(f"tile {name}={value} is outside 0..{last} at zoom {z}")


def tile_unit_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """``(u_min, v_min, u_max, v_max)`` of a tile in unit Web Mercator (``v_min`` is its north edge).

    >>> tile_unit_bounds(1, 1, 0)
    (0.5, 0.0, 1.0, 0.5)
    """
    check_tile(z, x, y)
    n = 2**z
    return x / n, y / n, (x + 1) / n, (y + 1) / n


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` of a tile in WGS84 degrees.

    >>> tile_bounds(1, 0, 0)
    (-180.0, 0.0, 0.0, 85.0511287798066)
    """
    u0, v0, u1, v1 = tile_unit_bounds(z, x, y)
    west, north = from_unit(u0, v0)
    east, south = from_unit(u1, v1)
    return float(west), float(south), float(east), float(north)


def tile_for(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The ``(x, y)`` of the zoom-``z`` tile holding a point (a point on an edge belongs to the
    tile east or south of it).

    >>> tile_for(0.0, 0.0, 1)
    (1, 1)
    """
    if not (isinstance(z, int) and 0 <= z <= MAX_ZOOM):
        raise ValueError(f"zoom {z!r} is outside 0..{MAX_ZOOM}")
    u, v = to_unit(lon, lat)
    n = 2**z
    return min(math.floor(float(u) * n), n - 1), min(math.floor(float(v) * n), n - 1)
