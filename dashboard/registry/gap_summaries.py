"""The gap analysis's register side, kept exact by the register's writes and shared by every app
process and server, so that no process holds an index of the whole register to answer it.

What the gap analysis needs from the register, per imported crime point and offered distance
(``GAP_RADII_M``), is which registered sites lie within the distance and which sites' cameras have
the point in view, and, per area at every level (small area, district, IMD decile, the force), how
many distinct registrations are near or see one of its crimes. A pair's answer depends on that
crime and that site alone (``geo.near_points.point_pairs``: the same decisions as for the whole
register), so the figures are sums over sites and stay exact by the same retract/apply as the other
summaries (``registry.summaries.changing``):

- ``gap_crime``: per crime, the sites within each distance (``near_50`` ... ``near_500``) and the
  sites with a camera that sees it (``seeing``). Near / in view = more than 0.
- ``gap_reach``: per distance, level and area, the registrations near or seeing one of the area's
  crimes and the raw sum of their record keys.

Crimes count when the gap analysis counts them: a located crime of an official police.uk category
inside the force's small areas. Where it lies (``crime.area_lsoa``, ``area_district``,
``area_decile``) is decided from the reference geography when crimes are imported
(:func:`place_crimes`), as ``analytics.gap_report`` places them. True counts and raw key sums only:
the disclosure-control layer publishes them (``analytics.gaps.published_figures``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.vocab import GAP_RADII_M
from dashboard.geo.reference import ReferenceGeography
from dashboard.geo.small_areas import force_small_areas
from dashboard.registry.camera_queries import _rows
from dashboard.registry.crime_import import CRIME_CATEGORIES
from dashboard.registry.database import id_in
from dashboard.registry.models import Crime, GapCrime, GapReach
from dashboard.registry.point_summaries import (
    SiteCameras,
    empty_frame,
    point_contribution,
    points_around,
    read_site_range,
    top_site,
)

NEAR_COLUMNS = [f"near_{r}" for r in GAP_RADII_M]
CRIME_KEY = ["crime_id"]
CRIME_SUMS = [*NEAR_COLUMNS, "seeing"]
REACH_KEY = ["radius", "level", "code"]
REACH_SUMS = ["registrations", "registrations_key"]
GAP_LEVELS = ("lsoa", "district", "decile", "force")
PLACED_COLUMNS = ["crime_id", "lat", "lon", "lsoa", "district", "decile"]
# How far a crime can be from a site and still count: the largest distance offered, or the longest
# view an owner may give (500 m), with room for the grid's prefilter.
REACH_M = 600.0


# --------------------------------------------------------------------------- placing the crimes


def place_crimes(session: Session, ref: ReferenceGeography) -> int:
    """Decide, for every imported crime, where the gap analysis counts it: its force small area
    (police.uk's own LSOA code when it is one of the force's, else the small area containing the
    point), that area's district and IMD decile; none for a crime without coordinates, of a type
    that is not an official category, or outside the force. Returns the number placed."""
    rows = session.execute(
        sa.select(Crime.id, Crime.lat, Crime.lon, Crime.lsoa_code, Crime.crime_type).order_by(Crime.id)
    ).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["id", "lat", "lon", "lsoa_code", "crime_type"])
    official = frame["crime_type"].isin(CRIME_CATEGORIES) & frame["lat"].notna() & frame["lon"].notna()
    frame = frame[official.to_numpy()]
    codes = (
        force_small_areas(
            ref,
            frame["lsoa_code"].to_numpy(object),
            frame["lon"].to_numpy("float64"),
            frame["lat"].to_numpy("float64"),
        )
        if len(frame)
        else np.empty(0, dtype=object)
    )
    areas = ref.small_areas.set_index("code")
    district = areas["district_code"].to_dict()
    decile = areas["imd_decile"].astype("Float64").to_dict()
    session.execute(sa.update(Crime).values(area_lsoa=None, area_district=None, area_decile=None))
    frame = frame.assign(area=codes)
    frame = frame[frame["area"].notna().to_numpy()]
    for code, ids in frame.groupby("area", sort=True)["id"]:  # one statement per small area
        session.execute(
            sa.update(Crime)
            .where(id_in(session, Crime.id, ids.tolist()))
            .values(
                area_lsoa=code,
                area_district=district[code],
                area_decile=None if pd.isna(decile[code]) else int(decile[code]),
            )
        )
    return len(frame)


def _placed_select() -> sa.Select:
    return sa.select(Crime.id, Crime.lat, Crime.lon, Crime.area_lsoa, Crime.area_district, Crime.area_decile).where(
        Crime.area_lsoa.is_not(None)
    )


def _placed(rows: Sequence[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame([tuple(r) for r in rows], columns=PLACED_COLUMNS)
    return frame.astype({"crime_id": "int64", "lat": "float64", "lon": "float64"})


def placed_crimes(session: Session) -> pd.DataFrame:
    """Every crime the gap analysis counts, with where: ``PLACED_COLUMNS``, in id order."""
    return _placed(_rows(session, _placed_select().order_by(Crime.id)))


def _crimes_around(session: Session, cameras: pd.DataFrame) -> pd.DataFrame:
    """The counted crimes within ``REACH_M`` of the given cameras' sites, or all of them when the
    sites are many."""
    return points_around(
        session,
        cameras,
        _placed_select().order_by(Crime.id),
        Crime.lat,
        Crime.lon,
        REACH_M,
        _placed,
    )


# --------------------------------------------------------------------------- what sites add


def _crime_areas(crimes: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each crime's area code per level of ``GAP_LEVELS`` (None where it has none)."""
    areas = {level: crimes[level].astype(object).to_numpy() for level in ("lsoa", "district")}
    decile = crimes["decile"].astype("Float64")
    areas["decile"] = np.array([None if pd.isna(d) else str(int(d)) for d in decile], dtype=object)
    areas["force"] = np.full(len(crimes), "", dtype=object)
    return areas


def contribution(sites: SiteCameras, crimes: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    """What ``sites`` (the active cameras of whole sites on the active register) add to
    ``gap_crime`` and ``gap_reach`` given the counted ``crimes`` (``PLACED_COLUMNS``). Raw key sums."""
    return point_contribution(sites, crimes, _crime_areas(crimes), GAP_RADII_M, id_column="crime_id", views=True)


def contributions(session: Session, sites: SiteCameras) -> tuple[pd.DataFrame, ...]:
    """Both gap tables' contributions of ``sites`` (read in ``session``'s transaction)."""
    if sites.empty:
        return empty_frame(CRIME_KEY, CRIME_SUMS), empty_frame(REACH_KEY, REACH_SUMS)
    return contribution(sites, _crimes_around(session, sites.cameras))


def whole_chunks(session: Session, chunk_sites: int) -> list[tuple[pd.DataFrame, ...]]:
    """The whole register's contributions, one per chunk of ``chunk_sites`` site ids (bounded
    memory: one chunk's cameras indexed at a time), against every counted crime once."""
    crimes = placed_crimes(session)
    if crimes.empty:
        return []
    return [
        contribution(read_site_range(session, low, low + chunk_sites), crimes)
        for low in range(0, top_site(session) + 1, chunk_sites)
    ]


# --------------------------------------------------------------------------- reading


def area_counts(session: Session, radius: int) -> pd.DataFrame:
    """Per counted small area: its crimes with a site within ``radius`` (near) and its crimes a
    camera sees (in view): columns lsoa, near, in_view (areas with neither are absent)."""
    if radius not in GAP_RADII_M:
        raise ValueError(f"the distance must be one of {GAP_RADII_M}, not {radius!r}")
    near = getattr(GapCrime, f"near_{radius}")
    rows = session.execute(
        sa.select(
            Crime.area_lsoa,
            sa.func.sum(sa.case((near > 0, 1), else_=0)),
            sa.func.sum(sa.case((GapCrime.seeing > 0, 1), else_=0)),
        )
        .join(GapCrime, GapCrime.crime_id == Crime.id)
        .where(Crime.area_lsoa.is_not(None))
        .group_by(Crime.area_lsoa)
        .order_by(Crime.area_lsoa)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["lsoa", "near", "in_view"]).astype(
        {"near": "int64", "in_view": "int64"}
    )


def reach(session: Session, radius: int) -> pd.DataFrame:
    """Per level and area: the registrations near or seeing one of its crimes at ``radius`` and the
    raw sum of their keys: columns level, code, registrations, registrations_key."""
    rows = session.execute(
        sa.select(GapReach.level, GapReach.code, GapReach.registrations, GapReach.registrations_key)
        .where(GapReach.radius == radius, GapReach.registrations > 0)
        .order_by(GapReach.level, GapReach.code)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["level", "code", *REACH_SUMS]).astype(
        dict.fromkeys(REACH_SUMS, "int64")
    )
