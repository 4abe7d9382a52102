"""Coverage of the register on a fixed grid (H3 cells stored per site), as pure functions.

A cell's counts are shown only when they are drawn from at least ``k`` registrations; the grid
is fixed when a site is written, so no choice of area can split a suppressed cell.
"""
from __future__ import annotations

import functools

import h3
import pandas as pd

from dashboard.analytics.overview import district_table


def suppressed_cells(by_cell: pd.DataFrame, k: int) -> pd.DataFrame:
    """Cells with their counts, or NA where they are drawn from fewer than ``k`` registrations.

    A filtered view (one camera kind, say) could be subtracted from the unfiltered one to give
    the cameras the filter left out; so a cell is also hidden when those are drawn from 1 to
    ``k - 1`` registrations (``registrations_left_out``, when the frame has it).

    Parameters
    ----------
    by_cell : columns cell, registrations, cameras (one row per cell with any active camera),
        optionally registrations_left_out

    Returns
    -------
    Columns cell, registrations, cameras (nullable Int64) and suppressed (bool), in cell order.

    Examples
    --------
    >>> frame = pd.DataFrame({"cell": ["b", "a", "c"], "registrations": [8, 7, 9], "cameras": [12, 30, 9],
    ...                       "registrations_left_out": [0, 0, 2]})
    >>> suppressed_cells(frame, 8).to_dict("list")
    {'cell': ['a', 'b', 'c'], 'registrations': [None, 8, None], 'cameras': [None, 12, None], \
'suppressed': [True, False, True]}
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    out = by_cell.sort_values("cell").reset_index(drop=True)
    hidden = out["registrations"] < k
    if "registrations_left_out" in out:
        hidden |= out["registrations_left_out"].between(1, k - 1)
    out = out[["cell", "registrations", "cameras"]]
    for column in ("registrations", "cameras"):
        out[column] = out[column].astype("Int64").mask(hidden)
    out["suppressed"] = hidden.to_numpy()
    return out


@functools.lru_cache(maxsize=65_536)
def cell_geometry(cell: str) -> dict:
    """The cell as a GeoJSON Polygon, cached and shared: do not mutate it.

    Coordinates have 5 decimal places (about 1 m), or 4 (under 6 m) for the finest grid, whose
    ~9,000 cells over a force must stay a small download; a vertex shared by two cells rounds
    the same way in both, so the grid still tiles.
    """
    digits = 4 if h3.get_resolution(cell) >= 9 else 5
    ring = [[round(lng, digits), round(lat, digits)] for lat, lng in h3.cell_to_boundary(cell)]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def cell_polygon(cell: str) -> list[list[float]]:
    """The cell's outline as a closed GeoJSON ring of [lon, lat] (a copy; see :func:`cell_geometry`).

    >>> ring = cell_polygon("87195c1a3ffffff"); ring[0] == ring[-1] and len(ring) == 7
    True
    """
    return [list(point) for point in cell_geometry(cell)["coordinates"][0]]


def cell_centre(cell: str) -> list[float]:
    lat, lng = h3.cell_to_latlng(cell)
    return [round(lng, 6), round(lat, 6)]


def area_table(by_area: pd.DataFrame, areas: pd.DataFrame, k: int) -> pd.DataFrame:
    """Registrations, cameras and rates per 1,000 households for every area of one level, with
    primary and secondary suppression (the overview's district rules, for any level).

    Parameters
    ----------
    by_area : columns area_code, registrations, cameras
    areas : columns code, name, households (Census counts for districts; estimates for LSOAs)
    """
    return district_table(by_area.rename(columns={"area_code": "district_code"}), areas, k)


HOUSEHOLDS_SOURCE = {
    "district": "Census 2021 households",
    "lsoa": "estimated from Census 2021 residents and the district's households per resident",
}


def areas_for_level(ref, level: str) -> pd.DataFrame:
    """The areas of one level with columns code, name, households (district households are Census
    counts; LSOA households are estimates: see ``HOUSEHOLDS_SOURCE``)."""
    if level == "district":
        return pd.DataFrame(ref.districts[["code", "name", "households"]])
    if level == "lsoa":
        return pd.DataFrame(ref.small_areas[["code", "name", "households_estimate"]]).rename(
            columns={"households_estimate": "households"})
    raise ValueError(f"unknown area level {level!r}; use 'district' or 'lsoa'")
