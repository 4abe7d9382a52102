"""Coordinate reference systems and the transformers between them (the one definition of each).

Locations are stored in WGS84 longitude/latitude (EPSG:4326) and British National Grid
easting/northing (EPSG:27700, metres); distances reported to people are geodesic on the WGS84
ellipsoid (:data:`GEOD`). Transformers take and give x/y order (longitude, latitude; easting,
northing), are made once on first use and shared (pyproj transformers are thread-safe from 3.1).
"""

from __future__ import annotations

import functools
import warnings

from pyproj import Geod, Transformer

WGS84 = "EPSG:4326"
BNG = "EPSG:27700"
GEOD = Geod(ellps="WGS84")


def _transformer(source: str, target: str) -> Transformer:
    # PROJ warns when its best operation (the OSTN15 grid) is not installed; the fallback (a Helmert
    # transformation, within a few metres) is what is used, so that warning is not repeated to every caller.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Best transformation is not available", category=UserWarning)
        return Transformer.from_crs(source, target, always_xy=True, allow_ballpark=False)


@functools.cache
def wgs84_to_bng() -> Transformer:
    """The one WGS84 -> British National Grid transformer (lon/lat in, easting/northing out).

    >>> easting_m, northing_m = wgs84_to_bng().transform(-2.1, 52.8)
    >>> round(easting_m, -3), round(northing_m, -3)
    (393000.0, 322000.0)
    """
    return _transformer(WGS84, BNG)


@functools.cache
def bng_to_wgs84() -> Transformer:
    """The one British National Grid -> WGS84 transformer (easting/northing in, lon/lat out).

    >>> lon, lat = bng_to_wgs84().transform(392322, 323196)
    >>> round(lon, 5), round(lat, 5)
    (-2.11534, 52.80626)
    """
    return _transformer(BNG, WGS84)
