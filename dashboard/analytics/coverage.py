"""Coverage of the register on a fixed grid (H3 cells stored per site), as pure functions.

Every figure passes the disclosure-control layer (:class:`~dashboard.analytics.disclosure.Disclosure`,
promise 4): a cell's registrations and cameras are published perturbed by their cell keys, and not
at all when drawn from fewer than K registrations. The grid is fixed when a site is written, so no
choice of area can split a cell; the query space is small on purpose (no date filter; at most one
camera filter at a time: ``CAMERA_CHOICES``), so views cannot be chained to isolate a few owners.
"""

from __future__ import annotations

import functools

import h3
import numpy as np
import pandas as pd

from dashboard.analytics.disclosure import Disclosure
from dashboard.analytics.overview import district_table
from dashboard.analytics.rounding import rounded_coordinates
from dashboard.core.vocab import CAMERA_FILTERS, CAMERA_KINDS

# The one "Cameras" choice of the page: value -> (label, the by_cell filter it stands for).
_CHOICE_LABELS = {
    "all": "All cameras",
    **{f"kind:{code}": label for code, label in CAMERA_KINDS.items()},
    "placement:outdoor": "Outdoors",
    "placement:indoor": "Indoors",
    "direction:known": "Direction known",
    "direction:unknown": "Direction not known",
}
CAMERA_CHOICES: dict[str, tuple[str, dict]] = {
    value: (_CHOICE_LABELS[value], wanted) for value, wanted in CAMERA_FILTERS.items()
}
NO_DATE_FILTER = (
    "registered_by is no longer offered: a date filter on the coverage map would show where the "
    "first, few registrations were made (the staff pilot before the public launch), so coverage is "
    "only published for the register as it is today."
)
ONE_FILTER = (
    "Use one camera filter at a time (kind, placement or direction_known): combining filters could "
    "narrow a cell down to a handful of owners."
)
# At this grid a cell with fewer than K registrations is not drawn at all: a grey cell of ~0.1 km²
# would place a registrant more precisely than the medium grid (~0.7 km²) ever does.
FINEST_RESOLUTION = 9
LEVELS_NOTE = (
    "Each cell size, and districts and small areas, are adjusted separately, so the figures of one level "
    "need not add up exactly to those of another: adding up or subtracting adjusted figures gives only "
    "noise, never a hidden count."
)


def one_filter(kind: str | None = None, placement: str | None = None, direction_known: bool | None = None) -> dict:
    """The camera filter as ``by_cell`` keywords, refusing more than one at a time (ValueError).

    >>> one_filter(kind="dome")
    {'kind': 'dome', 'placement': None, 'direction_known': None}
    >>> one_filter(kind="dome", placement="indoor")
    Traceback (most recent call last):
    ValueError: Use one camera filter at a time (kind, placement or direction_known): combining filters could \
narrow a cell down to a handful of owners.
    """
    given = {"kind": kind, "placement": placement, "direction_known": direction_known}
    if sum(v is not None for v in given.values()) > 1:
        raise ValueError(ONE_FILTER)
    return given


def camera_choice(filters: dict) -> str:
    """The ``CAMERA_CHOICES`` value of a filter (``one_filter``'s keywords).

    >>> camera_choice({"direction_known": False}), camera_choice({})
    ('direction:unknown', 'all')
    """
    wanted = {k: v for k, v in filters.items() if v is not None}
    return next(value for value, (_, f) in CAMERA_CHOICES.items() if f == wanted)


def published_cells(by_cell: pd.DataFrame, layer: Disclosure, resolution: int) -> pd.DataFrame:
    """The cells as they may be drawn: published counts, or none.

    - registrations and cameras: ``layer.counts`` with the cell keys of the registrations and of
      the cameras counted; NA (``suppressed``) when drawn from fewer than K registrations;
    - in a filtered view, a cell is also hidden when the cameras the filter leaves out belong to
      1 to K-1 registrations (``registrations_left_out``): the filtered and unfiltered figures are
      perturbed independently, but a hidden number is not offered up for subtraction at all;
    - at the finest grid (``FINEST_RESOLUTION``) a cell with fewer than K registrations is not
      listed at all; at the coarser grids it is drawn grey (``layer.present``).

    Parameters
    ----------
    by_cell : ``summaries.cells``' columns (cell, registrations, registrations_key, cameras,
        cameras_key and optionally registrations_left_out)

    Returns
    -------
    Columns cell, registrations, cameras (nullable Int64) and suppressed (bool), in cell order.

    Examples
    --------
    >>> from dashboard.analytics.disclosure import PTable
    >>> layer = Disclosure(PTable.build(8, 0, 0.0))  # no adjustment: the rules alone
    >>> frame = pd.DataFrame({"cell": ["b", "a", "c"], "registrations": [8, 7, 9], "registrations_key": [1, 2, 3],
    ...                       "cameras": [12, 30, 9], "cameras_key": [4, 5, 6], "registrations_left_out": [0, 0, 2]})
    >>> published_cells(frame, layer, 8).to_dict("list")
    {'cell': ['a', 'b', 'c'], 'registrations': [None, 8, None], 'cameras': [None, 12, None], \
'suppressed': [True, False, True]}
    >>> published_cells(frame, layer, 9)["cell"].tolist()  # 'a' (7 registrations) is not listed at all
    ['b', 'c']
    """
    frame = by_cell if by_cell["cell"].is_monotonic_increasing else by_cell.sort_values("cell")
    true_registrations = frame["registrations"].to_numpy()
    registrations = layer.counts(true_registrations, frame["registrations_key"].to_numpy())
    cameras = layer.counts(frame["cameras"].to_numpy(), frame["cameras_key"].to_numpy())
    at_least_k = ~np.asarray(registrations.isna())
    hidden = ~at_least_k
    if "registrations_left_out" in frame:
        left_out = frame["registrations_left_out"].to_numpy()
        hidden |= (left_out >= 1) & (left_out < layer.k)
    drawn = at_least_k if resolution >= FINEST_RESOLUTION else layer.present(true_registrations)
    registrations[hidden] = pd.NA
    cameras[hidden] = pd.NA
    return pd.DataFrame(
        {
            "cell": frame["cell"].to_numpy(object)[drawn],
            "registrations": registrations[drawn],
            "cameras": cameras[drawn],
            "suppressed": hidden[drawn],
        }
    )


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


def cell_rows(shown: pd.DataFrame) -> list[dict]:
    """``published_cells``' rows as the API lists them: each cell with its centre and outline
    (coordinates rounded by the publication rule, all at once: one number at a time took over a
    second for the finest grid's 7,000-odd cells), and its published counts (None when hidden).

    >>> shown = pd.DataFrame({"cell": ["87195c1a3ffffff"], "registrations": [12], "cameras": [20],
    ...     "suppressed": [False]})
    >>> row = cell_rows(shown)[0]; row["cameras"], row["suppressed"], len(row["polygon"]), row["centre"] == cell_centre("87195c1a3ffffff")
    (20, False, 7, True)
    """
    codes = list(shown["cell"])
    rings = [cell_geometry(c)["coordinates"][0] for c in codes]
    sizes = np.array([len(r) for r in rings], dtype="int64")
    points = np.array([p for r in rings for p in r], dtype="float64").reshape(-1, 2)
    points = rounded_coordinates(points).tolist()
    centres = rounded_coordinates(np.array([cell_centre(c) for c in codes], dtype="float64").reshape(-1, 2)).tolist()
    starts = np.concatenate([[0], np.cumsum(sizes)])
    return [
        {
            "cell": c,
            "centre": centre,
            "polygon": points[starts[i] : starts[i + 1]],
            "cameras": None if hidden else int(cams),
            "registrations": None if hidden else int(regs),
            "suppressed": bool(hidden),
        }
        for i, (c, centre, regs, cams, hidden) in enumerate(
            zip(codes, centres, shown["registrations"], shown["cameras"], shown["suppressed"])
        )
    ]


def area_table(by_area: pd.DataFrame, areas: pd.DataFrame, layer: Disclosure) -> pd.DataFrame:
    """Registrations, cameras and rates per 1,000 households for every area of one level, through
    the layer (the overview's district rules, for any level).

    Parameters
    ----------
    by_area : columns area_code, registrations, registrations_key, cameras, cameras_key
        (``registrations_by_area``)
    areas : columns code, name, households (Census counts for districts; estimates for LSOAs)
    """
    return district_table(by_area.rename(columns={"area_code": "district_code"}), areas, layer)


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
            columns={"households_estimate": "households"}
        )
    raise ValueError(f"unknown area level {level!r}; use 'district' or 'lsoa'")
