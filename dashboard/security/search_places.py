"""Where each logged search was: its centre placed in a district and an LSOA of the reference
geography, once per row (the log is append-only), for the auditor's area filter and map.
Only searches carry a place; other actions have none. No Dash here."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.geo.reference import ReferenceGeography
from dashboard.registry.models import AuditEvent


class SearchPlaces:
    """The district and small area (LSOA) of each logged search's centre, worked out once per row.

    Rows already placed are never read again (the log is append-only); ``update`` places the
    rows written since. If the newest placed row is gone or has another hash (a rebuilt
    database), everything is placed again. Thread-safe; one per database and reference.
    A point on a boundary or outside every area is in none (-1).
    """

    def __init__(self, ref: ReferenceGeography):
        self.ref = ref
        self._lock = threading.Lock()
        self._state = _Placed.empty()  # replaced whole, so readers never see a half-updated one
        self._shapes: dict[str, tuple] = {}

    def _frame(self, level: str):
        """The reference layer of ``level``: districts, or small areas (LSOAs)."""
        return self.ref.districts if level == "district" else self.ref.small_areas

    def _layer(self, level: str) -> tuple:
        if level not in self._shapes:
            layer = self._frame(level)
            geoms = shapely.from_wkb(shapely.to_wkb(layer.geometry.to_numpy()))  # own copies to prepare
            shapely.prepare(geoms)
            self._shapes[level] = (geoms, shapely.bounds(geoms))
        return self._shapes[level]

    def locate(self, lon: np.ndarray, lat: np.ndarray, level: str) -> np.ndarray:
        """Row in the level's reference layer whose polygon contains each point, -1 where none.

        >>> SearchPlaces(ref).locate(np.array([-2.1174]), np.array([52.8064]), "district")
        array([5], dtype=int32)
        """
        geoms, bounds = self._layer(level)
        out = np.full(len(lon), -1, dtype=np.int32)
        for i, (geom, (minx, miny, maxx, maxy)) in enumerate(zip(geoms, bounds)):
            near = np.flatnonzero((out < 0) & (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy))
            if len(near):
                out[near[shapely.contains_xy(geom, lon[near], lat[near])]] = i
        return out

    def update(self, session: Session) -> None:
        """Place the searches logged since the last call."""
        with self._lock:
            state = self._state
            if state.last is not None:
                still = session.scalar(sa.select(AuditEvent.row_hash).where(AuditEvent.id == state.last[0]))
                if still != state.last[1]:
                    state = _Placed.empty()
            after = state.last[0] if state.last else 0
            rows = session.execute(
                sa.select(AuditEvent.id, AuditEvent.detail, AuditEvent.row_hash)
                .where(AuditEvent.action == "search", AuditEvent.id > after)
                .order_by(AuditEvent.id)
            ).all()
            if rows:
                parsed = np.array([search_facts(r.detail) for r in rows], dtype=float).reshape(-1, 3)
                lat, lon = parsed[:, 0], parsed[:, 1]
                state = _Placed(
                    np.concatenate([state.ids, np.fromiter((r.id for r in rows), dtype=np.int64, count=len(rows))]),
                    np.concatenate([state.district, self.locate(lon, lat, "district")]),
                    np.concatenate([state.lsoa, self.locate(lon, lat, "lsoa")]),
                    np.concatenate([state.facts, parsed]),
                    (int(rows[-1].id), rows[-1].row_hash),
                )
            self._state = state

    def rows_of(self, ids, level: str) -> np.ndarray:
        """Reference-layer row of each id's search centre (-1: outside, no centre, or not a search)."""
        state = self._state
        pos, hit = state.positions(ids)
        places = state.district if level == "district" else state.lsoa
        return np.where(hit, places[pos] if len(places) else -1, -1).astype(np.int32)

    def has_centre(self, ids) -> np.ndarray:
        """True for each id that is a placed search with a centre (inside the areas or not)."""
        return ~np.isnan(self.facts(ids)[:, 0])

    def facts(self, ids) -> np.ndarray:
        """(lat, lon, results) of each id's search as logged, one row per id; NaN where not known."""
        state = self._state
        pos, hit = state.positions(ids)
        out = np.full((len(pos), 3), np.nan)
        if len(state.facts):
            out[hit] = state.facts[pos[hit]]
        return out

    def codes_of(self, ids, level: str) -> list[str | None]:
        codes = self._frame(level)["code"].to_numpy(object)
        return [codes[r] if r >= 0 else None for r in self.rows_of(ids, level)]

    def in_area(self, ids, level: str, code: str) -> np.ndarray:
        """Boolean mask: the search centre of each id lies in area ``code``."""
        matches = np.flatnonzero(self._frame(level)["code"].to_numpy(object) == code)
        if not len(matches):
            return np.zeros(len(ids), dtype=bool)
        return self.rows_of(ids, level) == int(matches[0])


@dataclass(frozen=True)
class _Placed:
    ids: np.ndarray  # ascending
    district: np.ndarray
    lsoa: np.ndarray
    facts: np.ndarray  # (lat, lon, results) per row, NaN where the detail lacks them
    last: tuple[int, str] | None  # id and hash of the newest placed row

    @staticmethod
    def empty() -> _Placed:
        return _Placed(
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=np.int32),
            np.empty(0, dtype=np.int32),
            np.empty((0, 3)),
            None,
        )

    def positions(self, ids) -> tuple[np.ndarray, np.ndarray]:
        """Position of each id among the placed rows, and whether it is there at all."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(self.ids):
            return np.zeros(len(ids), dtype=np.int64), np.zeros(len(ids), dtype=bool)
        pos = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return pos, self.ids[pos] == ids


def search_facts(detail: str | None) -> tuple[float, float, float]:
    """(lat, lon, results) of a search's logged detail; NaN for what it lacks or gets wrong.

    >>> search_facts('{"centre":{"lat":52.8,"lon":-2.1},"radius_m":200,"results":4}')
    (52.8, -2.1, 4.0)
    >>> search_facts('{"centre":{"lat":"x"}}'), search_facts(None)
    ((nan, nan, nan), (nan, nan, nan))
    """
    try:
        data = json.loads(detail) if detail else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return np.nan, np.nan, np.nan
    centre = data.get("centre")
    try:
        lat, lon = (float(centre["lat"]), float(centre["lon"])) if isinstance(centre, dict) else (np.nan, np.nan)
    except (ValueError, TypeError, KeyError):
        lat = lon = np.nan
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat = lon = np.nan
    results = data.get("results")
    count = float(results) if isinstance(results, (int, float)) and not isinstance(results, bool) else np.nan
    return lat, lon, count
