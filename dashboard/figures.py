"""Aggregate figures that the pages, the JSON API and the file exports share, computed from the
register's summary tables or the running app's in-memory snapshots of the register, and cached per
version.

No Dash here; each function needs an app context (``runtime()``). Only aggregates, already
suppressed where a rule applies (promise 4), come out.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard.analytics.area_report import from_summaries as areas_from_summaries
from dashboard.analytics.coverage import (
    LEVELS_NOTE,
    camera_choice,
    cell_rows,
    one_filter,
    published_cells,
)
from dashboard.analytics.gap_report import (
    GapCrimes,
    GapQuery,
    GapRegister,
    GapReport,
    build_report,
    from_summaries,
    gap_crimes,
    gap_register,
)
from dashboard.analytics.rounding import rounded_json
from dashboard.cache import VERSIONED_TTL_S, cache
from dashboard.registry import gap_summaries, summaries
from dashboard.registry.crime_queries import latest_import, located_crimes, unlocated_crimes
from dashboard.runtime_access import runtime


def register_version() -> int:
    """The register's version now: what every figure cached per version is looked up under (read
    first, so a change committed through any server is in the very next answer)."""
    with runtime().sessions() as s:
        return summaries.version(s)


def cells_shown(
    res: int, kind: str | None = None, placement: str | None = None, direction_known: bool | None = None
) -> pd.DataFrame:
    """Published counts per fixed cell (``published_cells``) of the register as it is now, from its
    summary table (shared by every process and server); at most one camera filter (ValueError
    otherwise). Cached per register version: the version is read first, so a change committed
    through any server is in the very next answer."""
    choice = camera_choice(one_filter(kind, placement, direction_known))
    return _cells(res, choice, register_version())


def cells_document(
    res: int, kind: str | None = None, placement: str | None = None, direction_known: bool | None = None
) -> dict:
    """``/api/v1/coverage/cells``'s answer (published counts, each cell's centre and outline,
    numbers rounded by their rules) for the register as it is now, built once per register version
    and filter (7,472 outlines at the finest grid take over a second to round; treat it as read-only)."""
    choice = camera_choice(one_filter(kind, placement, direction_known))
    return _cells_document(res, choice, register_version())


@cache.memoize(timeout=VERSIONED_TTL_S)
def _cells_document(res: int, choice: str, version: int) -> dict:
    layer = runtime().disclosure
    cells = cell_rows(_cells(res, choice, version))
    return {**rounded_json({"res": res, "k": layer.k, "note": f"{layer.describe()} {LEVELS_NOTE}"}), "cells": cells}


@cache.memoize(timeout=VERSIONED_TTL_S)
def _cells(res: int, choice: str, version: int) -> pd.DataFrame:
    rt = runtime()
    with rt.sessions() as s:
        frame = summaries.cells(s, res, choice)
    return published_cells(frame, rt.disclosure, res)


@cache.memoize(timeout=VERSIONED_TTL_S)
def _gap_crimes(crimes_version: int) -> GapCrimes:
    """The imported crimes arranged for the gap analysis, once per import."""
    rt = runtime()
    with rt.sessions() as s:
        return gap_crimes(rt.reference, located_crimes(s), unlocated_crimes(s))


@cache.memoize(timeout=VERSIONED_TTL_S)
def _gap_register(version: int) -> GapRegister:
    """Registrations per area (from the summaries), once per version of the register."""
    with runtime().sessions() as s:
        return gap_register(s, site_keys=False)


@cache.memoize(timeout=VERSIONED_TTL_S)
def _report(query: GapQuery, version: int, crimes_version: int) -> GapReport:
    rt = runtime()
    with rt.sessions() as s:
        near = gap_summaries.area_counts(s, query.radius_m)
        reach = gap_summaries.reach(s, query.radius_m)
    return build_report(
        _gap_crimes(crimes_version),
        rt.reference,
        from_summaries(rt.reference, near, reach),
        _gap_register(version),
        query,
        rt.disclosure,
        rt.settings.gap_min_crimes,
    )


def _crimes_version() -> int:
    with runtime().sessions() as s:
        return latest_import(s)


def gap_months() -> tuple[dt.date, ...]:
    """The imported months (the periods the gap analysis offers, besides all of them)."""
    return _gap_crimes(_crimes_version()).months


def report_for(query: GapQuery) -> GapReport:
    """The report for ``query`` on the register and crimes as they are now, from the register's gap
    summaries (shared by every process and server; cached per version of both, read first)."""
    with runtime().sessions() as s:  # both versions in one read, the register's first
        version, crimes_version = summaries.version(s), latest_import(s)
    return _report(query, version, crimes_version)


def areas_for(level: str, radius_m: int) -> pd.DataFrame:
    """The coverage area table (``AREA_COLUMNS``, as published) of the register as it is now, from
    its area summaries (shared by every process and server: no process reads or keeps the register
    for it). Cached per register version, read first, so a change through any server is in the
    next table."""
    return _areas(level, radius_m, register_version())


@cache.memoize(timeout=VERSIONED_TTL_S)
def _areas(level: str, radius_m: int, version: int) -> pd.DataFrame:
    rt = runtime()
    with rt.sessions() as s:
        return areas_from_summaries(s, rt.reference, level, radius_m, rt.disclosure)


def _activity() -> dict[str, pd.DataFrame]:
    """The requests, files and campaign frames as they are now: their mark is read first (a few
    aggregates over small tables), so a change through any server is in the next figures here."""
    from dashboard.registry import uptake_queries as q

    with runtime().sessions() as s:
        mark = q.activity_mark(s)
    return _activity_frames(mark)


@cache.memoize(timeout=VERSIONED_TTL_S)
def _activity_frames(mark: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    from dashboard.registry import uptake_queries as q

    with runtime().sessions() as s:
        return {
            "campaigns": q.campaign_days(s),
            "campaign_list": q.campaign_list(s),
            "requests": q.requests(s),
            "files": q.evidence_files(s),
        }


@cache.memoize(timeout=VERSIONED_TTL_S)
def _register_uptake(version: int) -> dict[str, pd.DataFrame]:
    """The register's uptake frames (rows per day, district and aspect: small), once per version."""
    from dashboard.registry import uptake_queries as q

    with runtime().sessions() as s:
        return q.register_frames(s)


def uptake_frames() -> dict[str, pd.DataFrame]:
    """The frames the uptake page counts from, each with its record keys (only ever turned into
    cell keys by ``dashboard.analytics.uptake``): the register's uptake summaries and the retired
    key sums of erased registrations (read per register version, read first, so a change through
    any server is in the next figures here; an erasure moves a key into the sums in the same
    commit), the registrations due to confirm now (read every time: a reconfirmation changes it
    and the cutoff moves with the clock), campaign counts, the campaign list, requests and uploaded
    files (read again when their mark changes)."""
    from dashboard.registry import uptake_queries as q
    from dashboard.registry.models import utcnow
    from dashboard.registry.registration import confirmation_cutoff

    rt = runtime()
    with rt.sessions() as s:
        version = summaries.version(s)
        due = q.due_to_confirm(s, confirmation_cutoff(utcnow(), rt.settings.retention_months))
    return {**_register_uptake(version), "due": due, **_activity()}
