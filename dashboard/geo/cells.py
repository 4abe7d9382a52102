"""Aggregation cells of a site, computed once when the site is written.

The grid is fixed (H3, resolutions 7 to 9: about 5.2 km², 0.74 km² and 0.11 km² per cell), so
overlapping queries over the same cells can never recover a count that was suppressed.
"""

from __future__ import annotations

from collections.abc import Sequence

import h3
import numpy as np

H3_RESOLUTIONS = (7, 8, 9)


def h3_cells(lat: Sequence[float] | np.ndarray, lon: Sequence[float] | np.ndarray, resolution: int) -> list[str]:
    """H3 cell ids (h3 v4 string form) of WGS84 points at one resolution.

    >>> h3_cells(np.array([52.8]), np.array([-2.1]), 7)[0]
    '87195c1a3ffffff'
    """
    if resolution not in H3_RESOLUTIONS:
        raise ValueError(f"H3 resolution {resolution} is not one of the stored grids {H3_RESOLUTIONS}")
    lat_list = np.asarray(lat, dtype=float).tolist()
    lon_list = np.asarray(lon, dtype=float).tolist()
    return [h3.latlng_to_cell(y, x, resolution) for y, x in zip(lat_list, lon_list)]


def site_cells(lat: float, lon: float) -> dict[str, str]:
    """The cell columns of one site, by column name.

    >>> site_cells(52.8, -2.1)["h3_r7"]
    '87195c1a3ffffff'
    """
    return {f"h3_r{res}": h3.latlng_to_cell(lat, lon, res) for res in H3_RESOLUTIONS}
