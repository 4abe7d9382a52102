"""The coverage area table's register side, kept exact by the register's writes and shared by every
app process and server, so that no process reads or holds the whole register to answer it.

The area table (``analytics.area_report``) needs, per district and small area (LSOA):

- **postcodes near a registered camera** at 50, 100 and 200 m, and the distinct registrations
  involved. As the gap analysis does with crimes (``registry.gap_summaries``), per point and per
  area, with the reference's postcodes as the points: ``postcode_near`` (per postcode, the sites
  within each distance) and ``postcode_reach`` (per distance, level and area, the registrations
  near one of its postcodes and the raw sum of their keys). ``postcode_point`` holds the postcodes
  (public ONS centroids), filled from the reference geography when the app starts
  (:func:`place_postcodes`).
- **ground in view**: the union of the fields of view of the area's counted cameras (a raster of 5 m
  pixels, ``geo.fov_area``). A union is not a sum over cameras, but it is a sum over square tiles
  of ``TILE_M``: ``view_tile`` holds, per tile and area, the pixels of the tile in view, and
  ``view_wedge`` which tiles each counted camera's wedge can reach. A write counts again only the
  tiles its sites' cameras reach (before and after the write), from every camera listed for those
  tiles, and adds the change to ``area_view`` (per area: the pixels, and the registrations whose
  cameras are counted with their key sum, a sum over sites kept by retract/apply).

True counts and raw key sums only; the disclosure-control layer publishes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.crs import wgs84_to_bng
from dashboard.core.vocab import POSTCODE_RADII_M
from dashboard.geo.fov import fill_effective_fov
from dashboard.geo.fov_area import PIXEL_M, counted, covered_pixels_by_tile, tiles_reached
from dashboard.geo.reference import ReferenceGeography
from dashboard.registry.bulk_copy import copies, copy_columns
from dashboard.registry.camera_queries import _rows
from dashboard.registry.database import hold_write_lock, id_in
from dashboard.registry.models import (
    AreaView,
    Camera,
    PostcodeNear,
    PostcodePoint,
    PostcodeReach,
    ViewTile,
    ViewWedge,
)
from dashboard.registry.point_summaries import (
    SiteCameras,
    cameras_select,
    empty_frame,
    point_contribution,
    points_around,
    read_site_range,
    site_cameras,
    top_site,
)

AREA_LEVELS = ("lsoa", "district")
NEAR_KEY = ["postcode_id"]
NEAR_SUMS = [f"near_{r}" for r in POSTCODE_RADII_M]
REACH_KEY = ["radius", "level", "code"]
REACH_SUMS = ["registrations", "registrations_key"]
VIEW_KEY = ["level", "code"]
VIEW_SUMS = ["registrations", "registrations_key"]
TILE_KEY = ["tile", "level", "code"]
POINT_COLUMNS = ["postcode_id", "lat", "lon", "lsoa", "district"]
REACH_M = max(POSTCODE_RADII_M) + 50.0  # the largest distance, with room for the grid's prefilter
TILE_M = 250.0  # side of the square tiles the ground in view is kept in (50 pixels)
TILE_ROWS = 10_000  # tile id = column * TILE_ROWS + row (the grid is 1,300 km tall: 5,200 rows)
WRITE_ROWS = 5_000
COPY_ROWS = 1_000  # more rows than this go by COPY on PostgreSQL


# --------------------------------------------------------------------------- the postcodes


def _points(rows: Sequence[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame([tuple(r) for r in rows], columns=POINT_COLUMNS)
    return frame.astype({"postcode_id": "int64", "lat": "float64", "lon": "float64"})


def _points_select() -> sa.Select:
    return sa.select(PostcodePoint.id, PostcodePoint.lat, PostcodePoint.lon, PostcodePoint.lsoa, PostcodePoint.district)


def stored_postcodes(session: Session) -> pd.DataFrame:
    """Every postcode point as stored: ``POINT_COLUMNS``, in id order."""
    return _points(_rows(session, _points_select().order_by(PostcodePoint.id)))


def reference_postcodes(ref: ReferenceGeography) -> pd.DataFrame:
    """The reference's postcodes as ``POINT_COLUMNS`` (ids 1, 2, ... in the reference's order)."""
    pc = ref.postcodes
    return _points(
        zip(
            range(1, len(pc) + 1),
            pc["lat"].astype("float64").tolist(),
            pc["lon"].astype("float64").tolist(),
            [None if pd.isna(c) else str(c) for c in pc["small_area_code"].tolist()],
            [None if pd.isna(c) else str(c) for c in pc["district_code"].tolist()],
        )
    )


def place_postcodes(session: Session, ref: ReferenceGeography) -> bool:
    """Make ``postcode_point`` the reference's postcodes; True when it changed them (the postcode
    tables must then be counted again: :func:`registry.summaries.rebuild_postcodes`)."""
    want = reference_postcodes(ref)
    if stored_postcodes(session).equals(want):
        return False
    # Servers and workers starting together: one replaces them while the others wait here, then
    # find them right (the audit chain's lock, taken first by every register write too).
    hold_write_lock(session, "audit_event")
    if stored_postcodes(session).equals(want):
        return False
    session.execute(sa.delete(PostcodePoint))
    records = [  # one by one: a frame's text column would turn a missing code into NaN, not NULL
        {"id": int(i), "lat": float(lat), "lon": float(lon), "lsoa": _text(lsoa), "district": _text(district)}
        for i, lat, lon, lsoa, district in want[POINT_COLUMNS].itertuples(index=False, name=None)
    ]
    for start in range(0, len(records), WRITE_ROWS):
        session.execute(sa.insert(PostcodePoint), records[start : start + WRITE_ROWS])
    return True


def _text(value) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _postcodes_around(session: Session, cameras: pd.DataFrame) -> pd.DataFrame:
    return points_around(
        session,
        cameras,
        _points_select().order_by(PostcodePoint.id),
        PostcodePoint.lat,
        PostcodePoint.lon,
        REACH_M,
        _points,
    )


def postcode_contribution(sites: SiteCameras, points: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What ``sites`` add to ``postcode_near`` and ``postcode_reach`` given the ``points``."""
    areas = {level: points[level].astype(object).to_numpy() for level in AREA_LEVELS}
    return point_contribution(sites, points, areas, POSTCODE_RADII_M, id_column="postcode_id", views=False)


# --------------------------------------------------------------------------- ground in view


def _wedges(sites: SiteCameras) -> pd.DataFrame:
    """The counted cameras of ``sites`` with their wedge in the British National Grid: columns
    camera_id, site_id, x, y, direction, angle, reach, lsoa, district (the camera index's grid
    position, from lat/lon; the kind's default angle and range where the owner gave none)."""
    cams = sites.cameras
    angle, reach, _ = fill_effective_fov(
        cams["kind"].to_numpy(object),
        cams["fov_angle_deg"].to_numpy("float64"),
        cams["fov_range_m"].to_numpy("float64"),
    )
    direction = cams["direction_deg"].to_numpy("float64")
    use = counted(direction, angle, reach)
    x, y = wgs84_to_bng().transform(cams["lon"].to_numpy("float64")[use], cams["lat"].to_numpy("float64")[use])
    site = cams["site_id"].to_numpy("int64")[use]
    return pd.DataFrame(
        {
            "camera_id": cams["camera_id"].to_numpy("int64")[use],
            "site_id": site,
            "x": np.asarray(x, dtype="float64"),
            "y": np.asarray(y, dtype="float64"),
            "direction": direction[use],
            "angle": angle[use],
            "reach": reach[use],
            "lsoa": np.array([sites.lsoa.get(int(s)) for s in site.tolist()], dtype=object),
            "district": np.array([sites.district.get(int(s)) for s in site.tolist()], dtype=object),
        }
    )


def view_contribution(sites: SiteCameras) -> pd.DataFrame:
    """What ``sites`` add to ``area_view``'s registrations: per level and area, the sites with a
    counted camera and the raw sum of their keys (``VIEW_KEY + VIEW_SUMS``)."""
    wedges = _wedges(sites) if not sites.empty else None
    if wedges is None or wedges.empty:
        return empty_frame(VIEW_KEY, VIEW_SUMS)
    used = wedges.drop_duplicates("site_id")
    parts = []
    for level in AREA_LEVELS:
        known = used[used[level].notna().to_numpy()]
        summed = (
            known.assign(key=known["site_id"].map(sites.keys).astype("int64"))
            .groupby(level, sort=True)
            .agg(registrations=("site_id", "size"), registrations_key=("key", "sum"))
        )
        parts.append(summed.rename_axis("code").reset_index().assign(level=level))
    return pd.concat(parts, ignore_index=True)[VIEW_KEY + VIEW_SUMS].astype(dict.fromkeys(VIEW_SUMS, "int64"))


def wedge_tiles(sites: SiteCameras) -> pd.DataFrame:
    """``view_wedge``'s rows for ``sites``: (tile, camera_id, site_id) for every tile each counted
    camera's wedge can reach."""
    wedges = _wedges(sites) if not sites.empty else None
    if wedges is None or wedges.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in ("tile", "camera_id", "site_id")})
    camera, col, row = tiles_reached(wedges["x"], wedges["y"], wedges["reach"], TILE_M)
    return pd.DataFrame(
        {
            "tile": col * TILE_ROWS + row,
            "camera_id": wedges["camera_id"].to_numpy()[camera],
            "site_id": wedges["site_id"].to_numpy()[camera],
        }
    )


def tile_pixels(sites: SiteCameras, tiles: np.ndarray | None = None) -> pd.DataFrame:
    """``view_tile``'s rows (``TILE_KEY`` + pixels) counted from the cameras of ``sites``, for the
    given tiles only (all the tiles they reach when None). A tile's count is right when ``sites``
    hold every camera that can reach it."""
    wedges = _wedges(sites) if not sites.empty else None
    if wedges is None or wedges.empty:
        return empty_frame(TILE_KEY, ["pixels"])
    parts = []
    for level in AREA_LEVELS:
        codes, names = pd.factorize(wedges[level], use_na_sentinel=True)
        group, col, row, pixels = covered_pixels_by_tile(
            wedges["x"], wedges["y"], wedges["direction"], wedges["angle"], wedges["reach"], codes, TILE_M, PIXEL_M
        )
        parts.append(
            pd.DataFrame(
                {
                    "tile": col * TILE_ROWS + row,
                    "level": level,
                    "code": np.asarray(names, dtype=object)[group],
                    "pixels": pixels,
                }
            )
        )
    rows = pd.concat(parts, ignore_index=True)
    if tiles is not None:
        rows = rows[np.isin(rows["tile"].to_numpy(), tiles)]
    return rows.sort_values(TILE_KEY).reset_index(drop=True).astype({"tile": "int64", "pixels": "int64"})


def _listed_cameras(session: Session, where: sa.ColumnElement[bool], *, many: bool = False) -> SiteCameras:
    """Every camera ``view_wedge`` lists for the tiles ``where`` (a condition on its ``tile``), read
    as :func:`cameras_select` reads cameras (``point_summaries``). ``many``: a band of a whole count,
    read past SQLAlchemy's rows (``_rows``: ``where`` must then hold only numbers)."""
    statement = cameras_select([Camera.id.in_(sa.select(ViewWedge.camera_id).where(where).distinct())])
    return site_cameras(_rows(session, statement) if many else session.execute(statement).all())


def tiles_of_sites(session: Session, site_ids: Sequence[int]) -> set[int]:
    """The tiles ``view_wedge`` lists for the cameras of the given sites."""
    if not site_ids:
        return set()
    rows = session.execute(
        sa.select(ViewWedge.tile).where(id_in(session, ViewWedge.site_id, list(site_ids))).distinct()
    ).all()
    return {int(r[0]) for r in rows}


def replace_wedges(session: Session, site_ids: Sequence[int], sites: SiteCameras) -> set[int]:
    """Write ``view_wedge`` of the given sites as they are now (``sites``: their cameras); returns
    the tiles listed for them now."""
    if site_ids:
        session.execute(sa.delete(ViewWedge).where(id_in(session, ViewWedge.site_id, list(site_ids))))
    rows = wedge_tiles(sites)
    _insert(session, ViewWedge, rows)
    return {int(t) for t in rows["tile"].tolist()}


def _insert(session: Session, model, rows: pd.DataFrame) -> None:
    """Insert the frame's rows (COPY on PostgreSQL when they are many: a whole count's wedges)."""
    connection = session.connection()
    if len(rows) > COPY_ROWS and copies(connection):
        copy_columns(connection, model.__table__, {c: rows[c].to_numpy() for c in rows.columns})
        return
    records = [
        {c: (int(v) if isinstance(v, (int, np.integer)) else v) for c, v in zip(rows.columns, r)}
        for r in rows.itertuples(index=False, name=None)
    ]
    for start in range(0, len(records), WRITE_ROWS):
        session.execute(sa.insert(model), records[start : start + WRITE_ROWS])


def _stored_tiles(session: Session, where: Sequence[sa.ColumnElement[bool]] = ()) -> pd.DataFrame:
    """``view_tile``'s rows ``where``, in key order."""
    rows = session.execute(
        sa.select(ViewTile.tile, ViewTile.level, ViewTile.code, ViewTile.pixels)
        .where(*where)
        .order_by(ViewTile.tile, ViewTile.level, ViewTile.code)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=[*TILE_KEY, "pixels"]).astype(
        {"tile": "int64", "pixels": "int64"}
    )


def recount_tiles(session: Session, tiles: set[int]) -> pd.DataFrame:
    """Count the given tiles' ``view_tile`` rows again from the cameras ``view_wedge`` lists for
    them, write them, and return the change of pixels per area (``VIEW_KEY`` + pixels) for
    ``area_view``."""
    if not tiles:
        return empty_frame(VIEW_KEY, ["pixels"])
    ordered = sorted(tiles)
    before = _stored_tiles(session, [id_in(session, ViewTile.tile, ordered)])
    after = tile_pixels(
        _listed_cameras(session, id_in(session, ViewWedge.tile, ordered)), np.asarray(ordered, dtype="int64")
    )
    session.execute(sa.delete(ViewTile).where(id_in(session, ViewTile.tile, ordered)))
    _insert(session, ViewTile, after)
    both = pd.concat([after, before.assign(pixels=-before["pixels"])], ignore_index=True)
    return both.groupby(VIEW_KEY, as_index=False, sort=True)["pixels"].sum()


# --------------------------------------------------------------------------- what sites add


def contributions(session: Session, sites: SiteCameras) -> tuple[pd.DataFrame, ...]:
    """The additive area tables' contributions of ``sites``: ``postcode_near``, ``postcode_reach``
    and ``area_view``'s registrations."""
    if sites.empty:
        return (
            empty_frame(NEAR_KEY, NEAR_SUMS),
            empty_frame(REACH_KEY, REACH_SUMS),
            empty_frame(VIEW_KEY, VIEW_SUMS),
        )
    return (*postcode_contribution(sites, _postcodes_around(session, sites.cameras)), view_contribution(sites))


def whole_chunks(session: Session, chunk_sites: int) -> list[tuple[pd.DataFrame, ...]]:
    """The whole register's additive contributions, one per chunk of ``chunk_sites`` site ids."""
    points = stored_postcodes(session)
    parts = []
    for low in range(0, top_site(session) + 1, chunk_sites):
        sites = read_site_range(session, low, low + chunk_sites)
        parts.append((*postcode_contribution(sites, points), view_contribution(sites)))
    return parts


def rebuild_view(session: Session, chunk_sites: int) -> pd.DataFrame:
    """``view_wedge`` and ``view_tile`` from the whole register: the wedges chunk by chunk of sites,
    then the tiles a band of tile columns at a time (every camera that can reach a band's tiles is
    listed for them). Sets ``area_view``'s pixels to 0 and returns the pixels per area to add
    (``VIEW_KEY`` + pixels)."""
    session.execute(sa.delete(ViewWedge))
    session.execute(sa.delete(ViewTile))
    session.execute(sa.update(AreaView).values(pixels=0))
    for low in range(0, top_site(session) + 1, chunk_sites):
        _insert(session, ViewWedge, wedge_tiles(read_site_range(session, low, low + chunk_sites)))
    session.flush()
    lo, hi = session.execute(sa.select(sa.func.min(ViewWedge.tile), sa.func.max(ViewWedge.tile))).one()
    if lo is None:
        return empty_frame(VIEW_KEY, ["pixels"])
    band = 40 * TILE_ROWS  # 40 tile columns: 10 km
    totals = []
    for start in range(int(lo) // band * band, int(hi) + 1, band):
        tiles = [
            int(r[0])
            for r in session.execute(
                sa.select(ViewWedge.tile).where(ViewWedge.tile >= start, ViewWedge.tile < start + band).distinct()
            ).all()
        ]
        if tiles:
            in_band = sa.and_(ViewWedge.tile >= start, ViewWedge.tile < start + band)
            rows = tile_pixels(_listed_cameras(session, in_band, many=True), np.asarray(tiles, dtype="int64"))
            _insert(session, ViewTile, rows)
            totals.append(rows.groupby(VIEW_KEY, as_index=False)["pixels"].sum())
    if not totals:
        return empty_frame(VIEW_KEY, ["pixels"])
    return pd.concat(totals, ignore_index=True).groupby(VIEW_KEY, as_index=False, sort=True)["pixels"].sum()


# --------------------------------------------------------------------------- reading


def postcodes_near(session: Session, level: str, radius: int) -> pd.DataFrame:
    """Per area of the level: its postcode points with a registered site within ``radius``
    (columns code, near; areas with none are absent)."""
    _check(level, radius)
    near = getattr(PostcodeNear, f"near_{radius}")
    area = PostcodePoint.lsoa if level == "lsoa" else PostcodePoint.district
    rows = session.execute(
        sa.select(area, sa.func.count())
        .join(PostcodeNear, PostcodeNear.postcode_id == PostcodePoint.id)
        .where(near > 0, area.is_not(None))
        .group_by(area)
        .order_by(area)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["code", "near"]).astype({"near": "int64"})


def postcode_reach(session: Session, level: str, radius: int) -> pd.DataFrame:
    """Per area of the level: the registrations near one of its postcodes at ``radius`` and the
    raw sum of their keys (columns code, registrations, registrations_key)."""
    _check(level, radius)
    rows = session.execute(
        sa.select(PostcodeReach.code, PostcodeReach.registrations, PostcodeReach.registrations_key)
        .where(PostcodeReach.radius == radius, PostcodeReach.level == level, PostcodeReach.registrations > 0)
        .order_by(PostcodeReach.code)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["code", *REACH_SUMS]).astype(
        dict.fromkeys(REACH_SUMS, "int64")
    )


def area_view(session: Session, level: str) -> pd.DataFrame:
    """Per area of the level: the m² in view (pixels x 25 m²), the registrations counted in it and
    the raw sum of their keys (columns code, in_view_m2, registrations, registrations_key)."""
    _check(level, POSTCODE_RADII_M[0])
    rows = session.execute(
        sa.select(AreaView.code, AreaView.pixels, AreaView.registrations, AreaView.registrations_key)
        .where(AreaView.level == level, sa.or_(AreaView.registrations > 0, AreaView.pixels > 0))
        .order_by(AreaView.code)
    ).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["code", "pixels", *VIEW_SUMS]).astype(
        {"pixels": "int64", **dict.fromkeys(VIEW_SUMS, "int64")}
    )
    frame["in_view_m2"] = frame.pop("pixels").astype("float64") * PIXEL_M * PIXEL_M
    return frame[["code", "in_view_m2", *VIEW_SUMS]]


def _check(level: str, radius: int) -> None:
    if level not in AREA_LEVELS:
        raise ValueError(f"unknown area level {level!r}; use 'district' or 'lsoa'")
    if radius not in POSTCODE_RADII_M:
        raise ValueError(f"the distance must be one of {POSTCODE_RADII_M}, not {radius!r}")


def stored_view(session: Session) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``view_wedge`` and ``view_tile`` as stored, in key order (for :func:`summaries.verify`)."""
    wedges = session.execute(
        sa.select(ViewWedge.tile, ViewWedge.camera_id, ViewWedge.site_id).order_by(ViewWedge.tile, ViewWedge.camera_id)
    ).all()
    frame = pd.DataFrame([tuple(r) for r in wedges], columns=["tile", "camera_id", "site_id"]).astype("int64")
    return frame, _stored_tiles(session)
