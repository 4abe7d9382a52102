"""What a few registered sites add to the summaries that join the register with fixed public points
(the gap analysis's crimes, the area table's postcodes), and the one read of those sites' cameras
that every such summary counts from.

A point's answer for a site (near it within a distance, or seen by one of its cameras) depends on
that point and that site alone (``geo.near_points.point_pairs``: the decisions made for the whole
register), so per-point counts of sites and per-area counts of distinct registrations are sums over
sites, and stay exact by the retract/apply of ``registry.summaries.changing``. True counts and raw
key sums only: the disclosure-control layer publishes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.geo.near_points import point_pairs
from dashboard.geo.search import CameraIndex
from dashboard.registry.camera_queries import _candidate_frame, _rows, candidate_columns
from dashboard.registry.database import id_in
from dashboard.registry.models import Camera, Registrant, Site

FEW_SITES = 64  # up to this many touched sites, the points are read around each; beyond, all of them


@dataclass(frozen=True)
class SiteCameras:
    """The active cameras of some sites on the active register with a position (``CANDIDATE_COLUMNS``,
    in camera id order), each site's registration key and its small area and district."""

    cameras: pd.DataFrame
    keys: dict[int, int]
    lsoa: dict[int, str | None]
    district: dict[int, str | None]

    @property
    def empty(self) -> bool:
        return self.cameras.empty


def cameras_select(where: Sequence[sa.ColumnElement[bool]]) -> sa.Select:
    """The cameras of the sites ``where`` with ``CANDIDATE_COLUMNS``, whether they and their
    registration are active, the registration's key and the site's areas (:func:`site_cameras`
    keeps those on the active register). The sites drive the read and the rest is tested in Python:
    with "active" in SQL, SQLite walked every active camera in id order to find the few of a write's
    sites (0.6 s per write at a million)."""
    return (
        sa.select(
            *candidate_columns(),
            Camera.active,
            Registrant.status,
            sa.func.coalesce(Registrant.record_key, 0),
            Site.lsoa_code,
            Site.district_code,
        )
        .join(Site, Site.id == Camera.site_id)
        .join(Registrant, Registrant.id == Site.registrant_id)
        .where(*where)
    )


def site_cameras(rows: Sequence[tuple]) -> SiteCameras:
    """The rows of :func:`cameras_select` on the active register with a position."""
    kept = sorted(
        (r for r in rows if r[12] and r[13] == "active" and r[2] is not None and r[4] is not None),
        key=lambda r: r[0],
    )
    return SiteCameras(
        _candidate_frame([tuple(r[:12]) for r in kept]),
        {int(r[1]): int(r[14]) for r in kept},
        {int(r[1]): r[15] for r in kept},
        {int(r[1]): r[16] for r in kept},
    )


def read_sites(session: Session, site_ids: Sequence[int]) -> SiteCameras:
    """:class:`SiteCameras` of the given sites as they are now (in ``session``'s transaction)."""
    ids = [int(i) for i in site_ids]
    rows = session.execute(cameras_select([id_in(session, Camera.site_id, ids)])).all() if ids else []
    return site_cameras(rows)


def read_site_range(session: Session, low: int, high: int) -> SiteCameras:
    """:class:`SiteCameras` of the sites with ids ``low`` to ``high - 1`` (a chunk of a whole count)."""
    return site_cameras(_rows(session, cameras_select([Site.id >= low, Site.id < high])))


def top_site(session: Session) -> int:
    return int(session.execute(sa.select(sa.func.max(Site.id))).scalar_one() or 0)


def points_around(
    session: Session,
    cameras: pd.DataFrame,
    select: sa.Select,
    lat: sa.ColumnElement,
    lon: sa.ColumnElement,
    reach_m: float,
    frame: Callable[[Sequence[tuple]], pd.DataFrame],
) -> pd.DataFrame:
    """The points of ``select`` (as ``frame`` makes them of its rows) within ``reach_m`` of the
    cameras' sites (a box in degrees around each, a little larger than the distance), or all of
    them when the sites are many."""
    if cameras.empty:
        return frame([])
    sites = cameras.drop_duplicates("site_id")
    if len(sites) > FEW_SITES:
        return frame(_rows(session, select))
    dlat = reach_m / 110_000.0
    boxes = []
    for y, x in zip(sites["lat"].tolist(), sites["lon"].tolist()):
        dlon = reach_m / (110_000.0 * max(np.cos(np.radians(abs(y) + dlat)), 0.05))
        boxes.append(sa.and_(lat.between(y - dlat, y + dlat), lon.between(x - dlon, x + dlon)))
    return frame(session.execute(select.where(sa.or_(*boxes))).all())


def _distinct_pairs(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (first, second) pairs of two arrays of whole numbers 0 or more, sorted."""
    first, second = np.asarray(first, dtype="int64"), np.asarray(second, dtype="int64")
    if not first.size:
        return first, second
    span = int(second.max()) + 1
    pair = np.unique(first * span + second)
    return pair // span, pair % span


def empty_frame(keys: list[str], sums: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c in ("level", "code") else "int64") for c in keys + sums})


def point_contribution(
    sites: SiteCameras,
    points: pd.DataFrame,
    areas: dict[str, np.ndarray],
    radii: Sequence[int],
    *,
    id_column: str,
    views: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What ``sites`` add, given the ``points`` (columns ``id_column``, lat, lon; ``areas``: per
    level, each point's area code or None), to:

    - the per-point table: columns ``id_column``, ``near_<r>`` for each distance (the sites within
      it) and, with ``views``, ``seeing`` (the sites with a camera that has the point in view);
    - the per-area table: columns radius, level, code, registrations, registrations_key (the
      distinct registrations near, or seeing, one of the area's points; raw key sums).
    """
    near_columns = [f"near_{r}" for r in radii] + (["seeing"] if views else [])
    reach_key, reach_sums = ["radius", "level", "code"], ["registrations", "registrations_key"]
    if sites.empty or points.empty:
        return empty_frame([id_column], near_columns), empty_frame(reach_key, reach_sums)
    index = CameraIndex.from_frame(sites.cameras)
    lat, lon = points["lat"].to_numpy("float64"), points["lon"].to_numpy("float64")
    counts: dict[str, np.ndarray] = {}
    empty = np.empty(0, "int64")
    seen = (empty, empty)
    first = None
    if views:  # a view does not depend on the distance
        first = point_pairs(index, lat, lon, radii[0])
        seen = _distinct_pairs(first.view_point, first.view_site)
        counts["seeing"] = np.bincount(seen[0], minlength=len(points))
    codes = {
        level: pd.factorize(pd.Series(of_point, dtype=object), use_na_sentinel=True)
        for level, of_point in areas.items()
    }
    reach = []
    for radius in radii:
        pairs = (
            first if (first is not None and radius == radii[0]) else point_pairs(index, lat, lon, radius, views=False)
        )
        near = _distinct_pairs(pairs.near_point, pairs.near_site)
        counts[f"near_{radius}"] = np.bincount(near[0], minlength=len(points))
        point = np.concatenate([near[0], seen[0]])
        site = np.concatenate([near[1], seen[1]])
        for level, (code_of_point, names) in codes.items():
            code = code_of_point[point]
            known = code >= 0
            area, area_site = _distinct_pairs(code[known], site[known])
            if not area.size:
                continue
            keys = np.array([sites.keys.get(int(i), 0) for i in area_site.tolist()], dtype="int64")
            registrations = np.bincount(area, minlength=len(names))
            key_sums = np.bincount(area, weights=keys, minlength=len(names)).astype("int64")
            used = np.flatnonzero(registrations)
            reach.append(
                pd.DataFrame(
                    {
                        "radius": radius,
                        "level": level,
                        "code": np.asarray(names, dtype=object)[used],
                        "registrations": registrations[used],
                        "registrations_key": key_sums[used],
                    }
                )
            )
    per_point = pd.DataFrame({id_column: points[id_column].to_numpy("int64"), **{c: counts[c] for c in near_columns}})
    per_point = per_point[(per_point[near_columns] != 0).any(axis=1)].reset_index(drop=True)
    reached = (
        pd.concat(reach, ignore_index=True)[reach_key + reach_sums] if reach else empty_frame(reach_key, reach_sums)
    )
    return per_point.astype({c: "int64" for c in [id_column, *near_columns]}), reached.astype(
        {"radius": "int64", **dict.fromkeys(reach_sums, "int64")}
    )
