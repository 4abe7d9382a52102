"""The officer's camera search end to end: find, rank, log; and reveal only what a logged search found.

Shared by the search page and the API so both give the same ranked results. On SQLite the
search runs on an in-memory index rebuilt in the background (``LiveCameraIndex``); on
PostgreSQL the candidates come from PostGIS (ST_DWithin over the GiST index). Either way the
final geodesic filter and the ranking are the same domain functions.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from dashboard.geo.search import CameraIndex, LiveCameraIndex, rank_results, search
from dashboard.registry import casework
from dashboard.registry.camera_queries import (active_camera_frame, active_cell_frame, postgis_candidates,
                                              register_fingerprint)
from dashboard.registry.cell_counts import CellCounts
from dashboard.registry.models import AuditEvent
from dashboard.security.audit import Actor

# How often a search checks (four index lookups, well under 1 ms) whether the register changed
# since the in-memory index was built; only a change triggers a background rebuild (~4 s at 1M
# cameras). Each web worker process holds its own index, so this bounds how long a change made
# through one worker stays invisible to searches served by another.
CHANGE_CHECK_S = 3.0
# PostGIS prefilter margin: BNG scale error is well under 0.1 % in the force area.
PREFILTER_FACTOR = 1.001
PREFILTER_EXTRA_M = 1.0


@dataclass(frozen=True)
class SearchRequest:
    lat: float
    lon: float
    easting_m: float
    northing_m: float
    radius_m: int
    incident_at: dt.datetime
    case_ref: str
    reason: str


@dataclass(frozen=True)
class SearchOutcome:
    results: pd.DataFrame
    search_id: int  # the audit event of this search; reveals and requests refer to it
    seconds: float


class CameraFinder:
    """Finds cameras near a point for one database: PostGIS when there is one, else an index."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions
        self.dialect = sessions.kw["bind"].dialect.name
        self.index = None if self.dialect == "postgresql" else LiveCameraIndex(self._load)
        # Aggregates over the whole register (gap analysis) need every camera in memory on
        # PostgreSQL too; built only when first asked for.
        self._whole = self.index or LiveCameraIndex(self._load)
        # Counts per fixed H3 cell for the coverage heatmap, in memory (built when first asked for).
        self._cells = LiveCameraIndex(self._load_cells, CellCounts.from_frame)
        self._cells_fingerprint: tuple | None = None
        self._cells_checked_at = 0.0
        self._fingerprint: tuple | None = None
        self._checked_at = 0.0

    def _load(self) -> pd.DataFrame:
        with self.sessions() as s:
            fingerprint = register_fingerprint(s)
            frame = active_camera_frame(s)
        self._fingerprint = fingerprint
        self._checked_at = time.monotonic()
        return frame

    def _load_cells(self) -> pd.DataFrame:
        with self.sessions() as s:
            fingerprint = register_fingerprint(s)
            frame = active_cell_frame(s)
        self._cells_fingerprint = fingerprint
        self._cells_checked_at = time.monotonic()
        return frame

    def cell_counts(self) -> tuple[CellCounts, int]:
        """Cameras and registrations per fixed H3 cell, in memory, and the snapshot's version;
        rebuilt in the background when the register has changed."""
        counts = self._cells.current()
        if time.monotonic() - self._cells_checked_at > CHANGE_CHECK_S:
            self._cells_checked_at = time.monotonic()
            with self.sessions() as s:
                if register_fingerprint(s) != self._cells_fingerprint:
                    self._cells.rebuild_async()
        return counts, self._cells.version()

    def _changed(self) -> bool:
        self._checked_at = time.monotonic()
        with self.sessions() as s:
            return register_fingerprint(s) != self._fingerprint

    def warm(self) -> None:
        """Build the in-memory index in the background at start-up, so the first search is quick."""
        if self.index is not None:
            threading.Thread(target=self.index.current, name="camera-index-warm", daemon=True).start()

    def refresh(self) -> None:
        """Rebuild the in-memory index in the background (searches go on with the old one)."""
        if self.index is not None:
            self.index.rebuild_async()
        elif self._whole.version():
            self._whole.rebuild_async()
        if self._cells.version():
            self._cells.rebuild_async()

    def whole_register(self) -> tuple[CameraIndex, int]:
        """An index of every active camera, for aggregates, and its version (which changes when
        a rebuild after a register change is swapped in)."""
        index = self._whole.current()
        if time.monotonic() - self._checked_at > CHANGE_CHECK_S and self._changed():
            self._whole.rebuild_async()
        return index, self._whole.version()

    def find(self, req: SearchRequest, now: dt.datetime) -> pd.DataFrame:
        if self.index is None:
            with self.sessions() as s:
                rough = postgis_candidates(s, req.easting_m, req.northing_m,
                                           req.radius_m * PREFILTER_FACTOR + PREFILTER_EXTRA_M)
            # The same exact geodesic filter as the in-memory path, over PostGIS's few candidates.
            near = CameraIndex.from_frame(rough).candidates(req.lat, req.lon, req.radius_m)
            return rank_results(near, req.incident_at, now)
        results = search(self.index.current(), req.lat, req.lon, req.radius_m, req.incident_at, now)
        if time.monotonic() - self._checked_at > CHANGE_CHECK_S and self._changed():
            self.refresh()
        return results


def find_cameras(finder: CameraFinder, session: Session, actor: Actor, req: SearchRequest, *, source: str,
                 now: dt.datetime) -> SearchOutcome:
    """Search, then log the search (who, when, centre, radius, case, reason, results) in ``session``."""
    started = time.perf_counter()
    results = finder.find(req, now)
    event = casework.log_search(
        session, actor, case_ref=req.case_ref, reason=req.reason, lat=req.lat, lon=req.lon,
        radius_m=req.radius_m, incident_at=req.incident_at, result_count=len(results), source=source,
        camera_ids=results["camera_id"].to_numpy(),
    )
    return SearchOutcome(results, event.id, time.perf_counter() - started)


class NotFromSearch(ValueError):
    """Cameras asked for that the named search did not return (or a search that is not the user's)."""


def cameras_of_search(session: Session, actor: Actor, search_id: int) -> tuple[str, str, set[int], dict]:
    """Case reference, reason, camera ids and detail of the user's own logged search ``search_id``."""
    event = session.get(AuditEvent, search_id)
    if event is None or event.action != "search" or event.user_id != actor.user_id:
        raise NotFromSearch("That search is not one of yours; search again.")
    ids = {int(i) for i in json.loads(event.subject_ids or "[]")}
    return event.case_ref or "", event.reason or "", ids, json.loads(event.detail or "{}")


def check_from_search(session: Session, actor: Actor, search_id: int, camera_ids: list[int]) -> tuple[str, str]:
    """Refuse cameras the user's search did not find; return that search's case reference and reason."""
    case_ref, reason, found, _ = cameras_of_search(session, actor, search_id)
    missing = sorted(set(camera_ids) - found)
    if missing:
        raise NotFromSearch(f"Camera(s) {', '.join(map(str, missing[:5]))} were not in this search's results.")
    return case_ref, reason
