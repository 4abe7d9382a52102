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
from dashboard.geo.near_points import point_pairs
from dashboard.geo.reference import ReferenceGeography
from dashboard.geo.search import CameraIndex
from dashboard.geo.small_areas import force_small_areas
from dashboard.registry.camera_queries import _candidate_frame, _rows, candidate_columns
from dashboard.registry.crime_import import CRIME_CATEGORIES
from dashboard.registry.database import id_in
from dashboard.registry.models import Camera, Crime, GapCrime, GapReach, Registrant, Site

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
FEW_SITES = 64  # up to this many touched sites, the crimes are read around each; beyond, all of them


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
    """The counted crimes within ``REACH_M`` of the given cameras' sites (a box in degrees around
    each, a little larger than the distance), or all of them when the sites are many."""
    if cameras.empty:
        return _placed([])
    sites = cameras.drop_duplicates("site_id")
    if len(sites) > FEW_SITES:
        return placed_crimes(session)
    dlat = REACH_M / 110_000.0
    boxes = []
    for lat, lon in zip(sites["lat"].tolist(), sites["lon"].tolist()):
        dlon = REACH_M / (110_000.0 * max(np.cos(np.radians(abs(lat) + dlat)), 0.05))
        boxes.append(sa.and_(Crime.lat.between(lat - dlat, lat + dlat), Crime.lon.between(lon - dlon, lon + dlon)))
    return _placed(session.execute(_placed_select().where(sa.or_(*boxes)).order_by(Crime.id)).all())


# --------------------------------------------------------------------------- what sites add


def _empty(keys: list[str], sums: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c in ("level", "code") else "int64") for c in keys + sums})


def contribution(cameras: pd.DataFrame, crimes: pd.DataFrame, site_keys: dict[int, int]) -> tuple[pd.DataFrame, ...]:
    """What the sites of ``cameras`` (``CANDIDATE_COLUMNS``: the active cameras of whole sites on
    the active register) add to ``gap_crime`` and ``gap_reach`` given the counted ``crimes``
    (``PLACED_COLUMNS``); ``site_keys``: each site's registration key. Raw key sums."""
    if cameras.empty or crimes.empty:
        return _empty(CRIME_KEY, CRIME_SUMS), _empty(REACH_KEY, REACH_SUMS)
    index = CameraIndex.from_frame(cameras)
    lat, lon = crimes["lat"].to_numpy(), crimes["lon"].to_numpy()
    crime_ids = crimes["crime_id"].to_numpy("int64")
    views = point_pairs(index, lat, lon, GAP_RADII_M[0])  # a view does not depend on the distance
    seen = pd.DataFrame({"point": views.view_point, "site": views.view_site}).drop_duplicates()
    counts = {"seeing": np.bincount(seen["point"].to_numpy(), minlength=len(crimes))}
    areas = {level: crimes[level].astype(object).to_numpy() for level in ("lsoa", "district")}
    decile = crimes["decile"].astype("Float64")
    areas["decile"] = np.array([None if pd.isna(d) else str(int(d)) for d in decile], dtype=object)
    areas["force"] = np.full(len(crimes), "", dtype=object)
    reach = []
    for radius in GAP_RADII_M:
        pairs = views if radius == GAP_RADII_M[0] else point_pairs(index, lat, lon, radius, views=False)
        near = pd.DataFrame({"point": pairs.near_point, "site": pairs.near_site}).drop_duplicates()
        counts[f"near_{radius}"] = np.bincount(near["point"].to_numpy(), minlength=len(crimes))
        both = pd.concat([near, seen], ignore_index=True)
        for level in GAP_LEVELS:
            codes = areas[level][both["point"].to_numpy()]
            known = np.array([c is not None for c in codes.tolist()], dtype=bool)
            distinct = pd.DataFrame({"code": codes[known], "site": both["site"].to_numpy()[known]}).drop_duplicates()
            if distinct.empty:
                continue
            distinct["key"] = distinct["site"].map(site_keys).fillna(0).astype("int64")
            summed = distinct.groupby("code", sort=True).agg(
                registrations=("site", "size"), registrations_key=("key", "sum")
            )
            reach.append(summed.reset_index().assign(radius=radius, level=level))
    per_crime = pd.DataFrame({"crime_id": crime_ids, **{c: counts[c] for c in CRIME_SUMS}})
    per_crime = per_crime[(per_crime[CRIME_SUMS] != 0).any(axis=1)].reset_index(drop=True)
    reached = pd.concat(reach, ignore_index=True)[REACH_KEY + REACH_SUMS] if reach else _empty(REACH_KEY, REACH_SUMS)
    return per_crime.astype({c: "int64" for c in CRIME_KEY + CRIME_SUMS}), reached.astype(
        {"radius": "int64", **dict.fromkeys(REACH_SUMS, "int64")}
    )


def _cameras_select(where: Sequence[sa.ColumnElement[bool]]) -> sa.Select:
    """The cameras of the sites ``where`` with ``CANDIDATE_COLUMNS``, whether they and their
    registration are active, and the registration's key (:func:`_cameras_and_keys` keeps those on
    the active register). The sites drive the read and the rest is tested in Python: with "active"
    in SQL, SQLite walked every active camera in id order to find the few of a write's sites (0.6 s
    per write at a million)."""
    return (
        sa.select(*candidate_columns(), Camera.active, Registrant.status, sa.func.coalesce(Registrant.record_key, 0))
        .join(Site, Site.id == Camera.site_id)
        .join(Registrant, Registrant.id == Site.registrant_id)
        .where(*where)
    )


def _cameras_and_keys(rows: Sequence[tuple]) -> tuple[pd.DataFrame, dict[int, int]]:
    """The rows of :func:`_cameras_select` on the active register with a position, as a candidate
    frame in camera id order, and each of their sites' registration key."""
    kept = sorted(
        (r for r in rows if r[12] and r[13] == "active" and r[2] is not None and r[4] is not None),
        key=lambda r: r[0],
    )
    return _candidate_frame([tuple(r[:12]) for r in kept]), {int(r[1]): int(r[14]) for r in kept}


def contributions(session: Session, site_ids: Sequence[int]) -> tuple[pd.DataFrame, ...]:
    """Both gap tables' contributions of the given sites as they are now."""
    ids = [int(i) for i in site_ids]
    if not ids:
        return _empty(CRIME_KEY, CRIME_SUMS), _empty(REACH_KEY, REACH_SUMS)
    cameras, keys = _cameras_and_keys(session.execute(_cameras_select([id_in(session, Camera.site_id, ids)])).all())
    return contribution(cameras, _crimes_around(session, cameras), keys)


def whole_chunks(session: Session, chunk_sites: int) -> list[tuple[pd.DataFrame, ...]]:
    """The whole register's contributions, one per chunk of ``chunk_sites`` site ids (bounded
    memory: one chunk's cameras indexed at a time), against every counted crime once."""
    crimes = placed_crimes(session)
    if crimes.empty:
        return []
    top = int(session.execute(sa.select(sa.func.max(Site.id))).scalar_one() or 0)
    parts = []
    for low in range(0, top + 1, chunk_sites):
        cameras, keys = _cameras_and_keys(
            _rows(session, _cameras_select([Site.id >= low, Site.id < low + chunk_sites]))
        )
        parts.append(contribution(cameras, crimes, keys))
    return parts


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
