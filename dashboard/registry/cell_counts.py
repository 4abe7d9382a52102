"""Active cameras and registrations per fixed H3 cell, counted in memory, with their cell keys.

The same counts as :func:`dashboard.registry.camera_queries.cameras_by_cell` (one SQL
``GROUP BY``, about 1.5 s at 1,000,000 cameras), from columnar arrays loaded once per register
version: a filter mask and a few ``np.bincount`` calls, tens of milliseconds at 1,000,000
cameras. Next to every count comes its **cell key** (the sum of the counted records' keys modulo
256, :mod:`dashboard.analytics.disclosure`), one weighted ``bincount`` more per count. Only
counts and keys per cell come out; what may be published is the caller's
(:func:`dashboard.analytics.coverage.published_cells`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.core.cell_keys import KEY_RANGE
from dashboard.geo.cells import H3_RESOLUTIONS

BY_CELL_COLUMNS = ["cell", "registrations", "registrations_key", "cameras", "cameras_key", "registrations_left_out"]


class CellCounts:
    """Read-only arrays of the active register's cameras: cell codes per resolution, site code,
    record keys, kind, placement and direction known. Build with :meth:`from_frame`.

    A site is one registration (one site per registrant), and it lies in one cell per grid, so the
    registrations in a cell are its distinct sites and their key is the sum of those sites'
    registration keys.

    >>> frame = pd.DataFrame({"site_id": [1, 1, 2], "registration_key": [200, 200, 100],
    ...     "camera_key": [10, 20, 250], "h3_r7": ["a", "a", "a"], "h3_r8": ["c", "c", "d"],
    ...     "h3_r9": ["e", "e", "f"], "kind": ["dome", "ptz", "dome"], "placement": ["outdoor"] * 3,
    ...     "direction_known": [True, False, True]})
    >>> CellCounts.from_frame(frame).by_cell(7).to_dict("list")
    {'cell': ['a'], 'registrations': [2], 'registrations_key': [44], 'cameras': [3], 'cameras_key': [24], \
'registrations_left_out': [0]}
    >>> CellCounts.from_frame(frame).by_cell(8, kind="dome").to_dict("list")
    {'cell': ['c', 'd'], 'registrations': [1, 1], 'registrations_key': [200, 100], 'cameras': [1, 1], \
'cameras_key': [10, 250], 'registrations_left_out': [1, 0]}
    """

    def __init__(
        self,
        cells: dict[int, tuple[np.ndarray, np.ndarray]],
        site: np.ndarray,
        site_key: np.ndarray,
        camera_key: np.ndarray,
        kind: tuple[np.ndarray, list],
        placement: tuple[np.ndarray, list],
        direction_known: np.ndarray,
    ) -> None:
        self._cells, self._site, self._site_key, self._camera_key = cells, site, site_key, camera_key
        self._kind, self._placement, self._direction_known = kind, placement, direction_known
        # The cell of every site per grid (a site lies in one cell): registrations are counted per
        # site, with no pass over the cameras.
        self._site_cells = {}
        for res, (codes, _) in cells.items():
            site_cell = np.zeros(len(site_key), dtype="int64")
            site_cell[site] = codes
            self._site_cells[res] = site_cell

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> CellCounts:
        """From :func:`~dashboard.registry.camera_queries.active_cell_frame`'s columns."""
        cells = {}
        for res in H3_RESOLUTIONS:
            codes, labels = pd.factorize(frame[f"h3_r{res}"], sort=True)
            cells[res] = (codes.astype("int64"), np.asarray(labels, dtype=object))
        site, site_labels = pd.factorize(frame["site_id"])
        site_key = np.zeros(len(site_labels), dtype="float64")
        site_key[site] = frame["registration_key"].to_numpy(dtype="float64")  # the same on every camera of a site
        kind, kinds = pd.factorize(frame["kind"])
        placement, placements = pd.factorize(frame["placement"])
        return cls(
            cells,
            site.astype("int64"),
            site_key,
            frame["camera_key"].to_numpy(dtype="float64"),
            (kind.astype("int8"), list(kinds)),
            (placement.astype("int8"), list(placements)),
            frame["direction_known"].to_numpy(bool),
        )

    def __len__(self) -> int:
        return len(self._site)

    def by_cell(
        self,
        resolution: int,
        *,
        kind: str | None = None,
        placement: str | None = None,
        direction_known: bool | None = None,
    ) -> pd.DataFrame:
        """Columns ``BY_CELL_COLUMNS`` for every cell with a camera that passes the filters (cells
        in code order; the filters mean what ``cameras_by_cell``'s do): registrations (distinct
        sites) and cameras with their cell keys, and registrations_left_out, the registrations in
        the cell with a camera the filters leave out.

        Which filters may be combined is the caller's rule (the pages and the API allow one at a
        time); this counts whatever it is given."""
        if resolution not in self._cells:
            raise ValueError(f"H3 resolution {resolution} is not one of the stored grids {H3_RESOLUTIONS}")
        codes, labels = self._cells[resolution]
        site_cell = self._site_cells[resolution]
        n = len(labels)
        mask = None
        for value, (column, vocabulary) in ((kind, self._kind), (placement, self._placement)):
            if value is not None:
                wanted = column == (vocabulary.index(value) if value in vocabulary else -2)
                mask = wanted if mask is None else mask & wanted
        if direction_known is not None:
            wanted = self._direction_known == direction_known
            mask = wanted if mask is None else mask & wanted
        if mask is None:
            cell, camera_key = codes, self._camera_key
            sites = None
            left_out = np.zeros(n, dtype="int64")
        else:
            kept = np.flatnonzero(mask)
            cell, camera_key = codes[kept], self._camera_key[kept]
            sites = self._sites_of(self._site[kept])
            # The cameras a filter leaves out, and the registrations they belong to: the difference
            # between this view and the unfiltered one is drawn from those (see published_cells).
            left_out = np.bincount(site_cell[self._sites_of(self._site[~mask])], minlength=n)
        cameras = np.bincount(cell, minlength=n)
        camera_keys = np.bincount(cell, weights=camera_key, minlength=n)
        site_cells = site_cell if sites is None else site_cell[sites]
        registrations = np.bincount(site_cells, minlength=n)
        registration_keys = np.bincount(
            site_cells, weights=self._site_key if sites is None else self._site_key[sites], minlength=n
        )
        present = np.flatnonzero(cameras)
        return pd.DataFrame(
            {
                "cell": labels[present],
                "registrations": registrations[present].astype("int64"),
                "registrations_key": _mod(registration_keys[present]),
                "cameras": cameras[present].astype("int64"),
                "cameras_key": _mod(camera_keys[present]),
                "registrations_left_out": left_out[present].astype("int64"),
            },
            columns=BY_CELL_COLUMNS,
        )

    def _sites_of(self, camera_sites: np.ndarray) -> np.ndarray:
        """The distinct sites among the given cameras' sites (a mark per site, read back in order)."""
        marked = np.zeros(len(self._site_key), dtype=bool)
        marked[camera_sites] = True
        return np.flatnonzero(marked)


def _mod(sums: np.ndarray) -> np.ndarray:
    """Key sums (exact in float64 up to 2**53) modulo 256, as int64."""
    return (sums.astype("int64") % KEY_RANGE).astype("int64")
