"""Aggregate figures that the pages, the JSON API and the file exports share, computed from the
running app's in-memory snapshots of the register and cached per snapshot version.

No Dash here; each function needs an app context (``runtime()``). Only aggregates, already
suppressed where a rule applies (promise 4), come out.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard.analytics.area_report import area_coverage
from dashboard.analytics.coverage import suppressed_cells
from dashboard.analytics.gap_report import GapQuery, GapReport, gap_report
from dashboard.cache import OVERVIEW_TTL_S, VERSIONED_TTL_S, cache
from dashboard.registry.crime_queries import latest_import
from dashboard.runtime_access import runtime


def cells_shown(res: int, kind: str | None = None, placement: str | None = None,
                registered_by: dt.date | None = None, direction_known: bool | None = None) -> pd.DataFrame:
    """Suppressed counts per fixed cell from the in-memory snapshot of the register."""
    rt = runtime()
    counts, _ = rt.finder.cell_counts()
    frame = counts.by_cell(res, kind=kind, placement=placement, registered_by=registered_by,
                           direction_known=direction_known)
    return suppressed_cells(frame, rt.settings.k_min)


@cache.memoize(timeout=VERSIONED_TTL_S)
def _report(query: GapQuery, version: int, crimes_version: int) -> GapReport:
    rt = runtime()
    index, _ = rt.finder.whole_register()
    with rt.sessions() as s:
        return gap_report(s, rt.reference, index, query, rt.settings.k_min)


def report_for(query: GapQuery) -> GapReport:
    """The report for ``query`` on the register and crimes as they are now (cached per version of both)."""
    rt = runtime()
    _, version = rt.finder.whole_register()
    with rt.sessions() as s:
        crimes_version = latest_import(s)
    return _report(query, version, crimes_version)


@cache.memoize(timeout=VERSIONED_TTL_S)
def _areas(level: str, radius_m: int, version: int) -> pd.DataFrame:
    rt = runtime()
    index, _ = rt.finder.whole_register()
    with rt.sessions() as s:
        return area_coverage(s, rt.reference, index, level, radius_m, rt.settings.k_min)


def areas_for(level: str, radius_m: int) -> pd.DataFrame:
    """``area_coverage`` of the register as it is now (cached per register version)."""
    _, version = runtime().finder.whole_register()
    return _areas(level, radius_m, version)


@cache.memoize(timeout=OVERVIEW_TTL_S)
def _activity_frames() -> dict[str, pd.DataFrame]:
    from dashboard.registry import uptake_queries as q

    with runtime().sessions() as s:
        return {"campaigns": q.campaign_days(s), "requests": q.requests(s)}


def uptake_frames() -> dict[str, pd.DataFrame]:
    """The frames the uptake page counts from: registrations and cameras from the in-memory
    snapshot of the register (read-only; rebuilt when the register changes), campaign counts and
    requests cached for half a minute."""
    frames, _ = runtime().finder.uptake_frames()
    return {**frames, **_activity_frames()}
