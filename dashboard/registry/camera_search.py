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
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from dashboard.core.vocab import MOST_LISTED
from dashboard.geo.search import CameraIndex, LiveCameraIndex, rank_near, rank_results, search_listed
from dashboard.registry import casework, public_ids
from dashboard.registry.audit import Actor
from dashboard.registry.camera_queries import (
    active_camera_frame,
    cameras_changed_since,
    current_candidates,
    postgis_candidate_columns,
    register_fingerprint,
)
from dashboard.registry.models import AuditEvent

# How often a search checks (four index lookups, well under 1 ms) whether the register changed
# since the in-memory index was built; only a change triggers a background rebuild (~4 s at 1M
# cameras). Each web worker process holds its own index, so this bounds how long a change made
# through one worker stays invisible to searches served by another.
CHANGE_CHECK_S = 3.0
# A change written with its wall-clock time before an in-memory snapshot was read, but committed after,
# is still caught by the search's check for changes if its transaction lasted less than this.
CHANGE_MARGIN = dt.timedelta(minutes=10)
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
    # Each result's public id, when the search read them with its candidates (PostgreSQL); else None
    public_ids: list[str] | None = None
    # The cameras within the radius: ``len(results)`` unless more than ``MOST_LISTED`` were found
    within_radius: int = 0

    @property
    def cut(self) -> bool:
        """More cameras are within the radius than are listed."""
        return self.within_radius > len(self.results)

    def shown(self, session: Session) -> pd.DataFrame:
        """The results as a user sees them: ``camera_id`` holds each camera's random public id
        (the integer ids are sequential: they date the registrations)."""
        shown = (
            self.public_ids
            if self.public_ids is not None
            else public_ids.shown_cameras(session, self.results["camera_id"])
        )
        return self.results.assign(camera_id=shown)


class RegisterSnapshot:
    """Something built in memory from the active register (``read`` a frame in a session, then
    ``build``), rebuilt in a background thread when the register has changed: a change is looked
    for (four index lookups) at most every ``CHANGE_CHECK_S`` when the snapshot is asked for.
    Readers never wait for a rebuild; the first build happens on first use."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        read: Callable[[Session], pd.DataFrame],
        build: Callable[[pd.DataFrame], object],
    ):
        self._sessions, self._read, self._build = sessions, read, build
        # What is swapped in is (the built snapshot, the fingerprint of the register it was read from).
        self.live = LiveCameraIndex(self._load, self._build_with_fingerprint)
        self._fingerprint: tuple | None = None
        self._checked_at = 0.0

    def _load(self) -> tuple[object, tuple]:
        with self._sessions() as s:  # one read transaction: the fingerprint is the frame's
            fingerprint = register_fingerprint(s)
            frame = self._read(s)
        self._fingerprint, self._checked_at = fingerprint, time.monotonic()
        return frame, fingerprint

    def _build_with_fingerprint(self, loaded: tuple[object, tuple]) -> tuple[object, tuple]:
        frame, fingerprint = loaded
        return self._build(frame), fingerprint

    def current(self) -> tuple[object, int]:
        """The snapshot in service and its version (which changes when a rebuild is swapped in)."""
        built, _ = self.current_with_fingerprint()
        return built, self.live.version()

    def current_with_fingerprint(self) -> tuple[object, tuple]:
        """The snapshot in service and the fingerprint of the register it was read from."""
        built, fingerprint = self.live.current()
        if time.monotonic() - self._checked_at > CHANGE_CHECK_S:
            self._checked_at = time.monotonic()
            with self._sessions() as s:
                if register_fingerprint(s) != self._fingerprint:
                    self.live.rebuild_async()
        return built, fingerprint

    def refresh(self) -> None:
        """Rebuild in the background now, if ever built (a write just changed the register)."""
        if self.live.version():
            self.live.rebuild_async()


class CameraFinder:
    """Finds cameras near a point for one database: PostGIS when there is one, else an in-memory
    index of every active camera (the officer search's alone: no analyst or lead figure reads it)."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions
        self.dialect = sessions.kw["bind"].dialect.name
        # Every active camera: the officer search's index on SQLite. PostgreSQL searches go to PostGIS,
        # and nothing there builds it.
        self._cameras = RegisterSnapshot(sessions, active_camera_frame, CameraIndex.from_frame)
        self.index = None if self.dialect == "postgresql" else self._cameras.live

    def whole_register(self) -> tuple[CameraIndex, int]:
        """An index of every active camera and its version (tests compare the search's answers with it)."""
        return self._cameras.current()

    def warm(self) -> None:
        """Build the in-memory index in the background at start-up, so the first search is quick."""
        if self.index is not None:
            threading.Thread(target=self.index.current, name="camera-index-warm", daemon=True).start()

    def refresh(self) -> None:
        """Rebuild the in-memory snapshots in the background (searches go on with the old index)."""
        if self.index is not None:
            self.index.rebuild_async()
        else:
            self._cameras.refresh()

    def find(self, req: SearchRequest, now: dt.datetime, session: Session | None = None) -> pd.DataFrame:
        """Cameras within the request's radius, ranked; ``session``: the caller's, if it has one open
        (the check for changes runs in it: one connection and transaction fewer per search)."""
        return self.find_listed(req, now, session, None)[0]

    def find_listed(
        self, req: SearchRequest, now: dt.datetime, session: Session | None, most: int | None
    ) -> tuple[pd.DataFrame, int]:
        """:meth:`find`'s best ``most`` cameras (all when None), and how many were within the radius."""
        if session is None:
            with self.sessions() as s:
                return self.find_listed(req, now, s, most)
        if self.index is None:
            return self._find_in_postgis(req, now, session, most)
        return self._find_in_memory(req, now, session, most)

    def _find_in_postgis(
        self, req: SearchRequest, now: dt.datetime, s: Session, most: int | None
    ) -> tuple[pd.DataFrame, int]:
        """PostGIS's candidates (one prepared statement in ``s``'s transaction: the live rows, so a
        withdrawn camera is never found once its withdrawal is committed), then the same exact
        geodesic filter and ranking as the in-memory path. The results carry ``public_id``."""
        rough = postgis_candidate_columns(
            s, req.easting_m, req.northing_m, req.radius_m * PREFILTER_FACTOR + PREFILTER_EXTRA_M
        )
        return rank_near(rough, req.lat, req.lon, req.radius_m, req.incident_at, now, ("public_id",), most)

    def _find_in_memory(
        self, req: SearchRequest, now: dt.datetime, s: Session, most: int | None
    ) -> tuple[pd.DataFrame, int]:
        index, fingerprint = self._cameras.current_with_fingerprint()
        results, within = search_listed(index, req.lat, req.lon, req.radius_m, req.incident_at, now, most)
        # The index may be seconds old (each process rebuilds its own in the background). Promise 6:
        # the very next search on any process or server no longer finds a withdrawn camera. So the
        # cameras changed since the index was read (two index range scans: usually none) are taken
        # out of its answer and, if still on the register, measured again from their rows as they are now.
        changed = cameras_changed_since(s, fingerprint, CHANGE_MARGIN)
        if len(changed) == 0:
            return results, within
        # A changed camera among those cut may rank differently now, or be gone: look at all within.
        found = results if within == len(results) else index.candidates(req.lat, req.lon, req.radius_m)
        stale = np.intersect1d(changed, found["camera_id"].to_numpy())
        if len(stale) == 0:
            return results, within
        current = current_candidates(s, stale)
        fresh = CameraIndex.from_frame(current).candidates(req.lat, req.lon, req.radius_m)
        kept = index.candidates(req.lat, req.lon, req.radius_m)
        kept = kept[~kept["camera_id"].isin(stale)]
        near = pd.concat([kept, fresh], ignore_index=True) if len(fresh) else kept.reset_index(drop=True)
        ranked = rank_results(near, req.incident_at, now)
        return (ranked if most is None else ranked.iloc[:most].copy()), len(ranked)


def find_cameras(
    finder: CameraFinder,
    session: Session,
    actor: Actor,
    req: SearchRequest,
    *,
    source: str,
    now: dt.datetime,
    quota: Callable[[int], str | None] | None,
) -> SearchOutcome:
    """Admit the search (its reason, the officer's search limit ``quota``: ``casework.admit_search``,
    which logs a refusal and raises ``casework.CaseworkRefused``), search, keep the best
    ``MOST_LISTED``, then log the search (who, when, centre, radius, case, reason, the cameras
    listed and how many were within the radius) in ``session``."""
    started = time.perf_counter()
    casework.admit_search(session, actor, case_ref=req.case_ref, reason=req.reason, quota=quota)
    results, within_radius = finder.find_listed(req, now, session, MOST_LISTED)
    shown = None
    if "public_id" in results.columns:  # the frame is this search's own: take the column out in place
        shown = results.pop("public_id").tolist()
    event = casework.log_search(
        session,
        actor,
        case_ref=req.case_ref,
        reason=req.reason,
        lat=req.lat,
        lon=req.lon,
        radius_m=req.radius_m,
        incident_at=req.incident_at,
        result_count=len(results),
        within_radius=within_radius,
        source=source,
        camera_ids=results["camera_id"].to_numpy(),
    )
    return SearchOutcome(results, event.id, time.perf_counter() - started, shown, within_radius)


class NotFromSearch(casework.CaseworkRefused):
    """Cameras asked for that the named search did not return (or a search that is not the user's);
    logged as a refusal like every other (``casework.refuse``)."""


def cameras_of_search(session: Session, actor: Actor, search_id: int) -> tuple[str, str, set[int], dict] | None:
    """Case reference, reason, camera ids and detail of the user's own logged search ``search_id``
    (None when there is no such search of theirs)."""
    event = (
        session.get(AuditEvent, search_id) if isinstance(search_id, int) and not isinstance(search_id, bool) else None
    )
    if event is None or event.action != "search" or event.user_id != actor.user_id:
        return None
    ids = {int(i) for i in json.loads(event.subject_ids or "[]")}
    return event.case_ref or "", event.reason or "", ids, json.loads(event.detail or "{}")


def check_from_search(
    session: Session, actor: Actor, search_id: int, camera_ids: list[int], doing: str = "reveal"
) -> tuple[str, str]:
    """Refuse (and log, as ``reveal_refused`` or ``request_refused`` by ``doing``) cameras that the
    user's search ``search_id`` did not find, or a search that is not theirs; return that search's
    case reference and reason."""
    action = {"reveal": "reveal_refused", "request": "request_refused"}[doing]
    own = cameras_of_search(session, actor, search_id)
    if own is None:
        _refuse(
            session,
            actor,
            action,
            "not_your_search",
            None,
            None,
            camera_ids,
            search_id,
            "That search is not one of yours; search again.",
        )
    case_ref, reason, found, _ = own
    missing = sorted(set(camera_ids) - found)
    if missing:
        _refuse(
            session,
            actor,
            action,
            "not_in_search",
            case_ref,
            reason,
            camera_ids,
            search_id,
            f"Camera(s) {public_ids.names_text(session, missing[:5])} were not in this search's results.",
        )
    return case_ref, reason


def _refuse(session, actor, action, why, case_ref, reason, camera_ids, search_id, message):
    try:
        casework.refuse(
            session,
            actor,
            action,
            field="camera_ids",
            message=message,
            why=why,
            case_ref=case_ref,
            reason=reason,
            subject_ids=[int(i) for i in camera_ids],
            detail={"search_id": search_id},
        )
    except casework.CaseworkRefused as exc:
        raise NotFromSearch(exc.field, exc.message, exc.why) from None
