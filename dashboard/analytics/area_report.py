"""Coverage per district or small area: registrations and cameras per 1,000 households, the share
of postcodes with a registered camera within a distance, and the ground inside the cameras'
fields of view (the union of their wedges, km² and % of the area).

Suppression (promise 4): registrations and cameras as on the overview (``area_table``); the
postcode share is drawn from the registrations with a camera near the area's postcodes, and the
area in view from the registrations whose cameras are counted there, each hidden below K with
secondary suppression (``shown_mask``).
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from dashboard.analytics.coverage import area_table, areas_for_level
from dashboard.analytics.gaps import coverage_by_area, registrations_per_area
from dashboard.analytics.suppression import shown_mask
from dashboard.geo.fov import fill_fov
from dashboard.geo.fov_area import counted, covered_area_m2
from dashboard.geo.near_points import point_coverage
from dashboard.geo.reference import ReferenceGeography
from dashboard.geo.search import CameraIndex
from dashboard.registry.camera_queries import site_areas
from dashboard.registry.queries import registrations_by_area

AREA_COLUMNS = ["code", "name", "households", "registrations", "cameras", "registrations_per_1000",
                "cameras_per_1000", "postcodes", "postcodes_near", "share_postcodes_near", "area_km2",
                "in_view_km2", "share_in_view"]


@functools.lru_cache(maxsize=4)
def area_km2(ref: ReferenceGeography, level: str) -> pd.Series:
    """Each area's size in km², measured in British National Grid, by area code."""
    areas = ref.districts if level == "district" else ref.small_areas
    return pd.Series(areas.geometry.to_crs(27700).area.to_numpy() / 1e6, index=areas["code"].to_numpy())


def postcode_coverage(ref: ReferenceGeography, index: CameraIndex, level: str, radius_m: int, k: int) -> pd.DataFrame:
    """Per area: postcodes, and those with a registered camera within ``radius_m`` (suppressed)."""
    areas = areas_for_level(ref, level)
    postcodes = ref.postcodes
    area = postcodes["small_area_code" if level == "lsoa" else "district_code"].to_numpy(object)
    coverage = point_coverage(index, postcodes["lat"], postcodes["lon"], radius_m, views=False)
    area_index = pd.Index(areas["code"]).get_indexer(area)
    basis = pd.DataFrame({"area_code": areas["code"].to_numpy(object), "registrations_near": registrations_per_area(
        area_index[coverage.pair_point], coverage.pair_site, len(areas))})
    points = pd.DataFrame({"area_code": area, "near": coverage.near, "in_view": coverage.in_view})
    return coverage_by_area(points, basis, areas, k)


def area_in_view(index: CameraIndex, sites: pd.DataFrame, codes: np.ndarray, level: str, k: int) -> pd.DataFrame:
    """Per area: km² inside the union of the fields of view of the cameras whose site lies in it
    (cameras with a known direction, or seeing all round), suppressed by the registrations counted.

    Parameters
    ----------
    sites : columns site_id, district_code, lsoa_code (``site_areas``)
    codes : the level's area codes, in the order wanted
    """
    cam = index.arrays()
    _, _, _, _, x, y = index.grid_parts()
    angle, reach, _ = fill_fov(cam["fov_angle_deg"], cam["fov_range_m"], *index.kind_defaults())
    site_area = sites.set_index("site_id")["lsoa_code" if level == "lsoa" else "district_code"]
    group = pd.Index(codes).get_indexer(site_area.reindex(cam["site_id"]).to_numpy(object))
    m2 = covered_area_m2(x, y, cam["direction_deg"], angle, reach, group, len(codes))
    used = counted(cam["direction_deg"], angle, reach) & (group >= 0)
    basis = registrations_per_area(group[used], cam["site_id"][used], len(codes))
    shown = pd.Series(shown_mask(basis.tolist(), k))
    return pd.DataFrame({"code": codes, "in_view_km2": pd.array(m2 / 1e6, dtype="Float64").round(4)}).assign(
        in_view_km2=lambda f: f["in_view_km2"].where(shown))


def area_coverage(session: Session, ref: ReferenceGeography, index: CameraIndex, level: str, radius_m: int,
                  k: int) -> pd.DataFrame:
    """Every area of the level with the columns ``AREA_COLUMNS`` (NA where suppressed)."""
    areas = areas_for_level(ref, level)
    table = area_table(registrations_by_area(session, level), areas, k)
    postcodes = postcode_coverage(ref, index, level, radius_m, k)
    in_view = area_in_view(index, site_areas(session), areas["code"].to_numpy(object), level, k)
    out = table.merge(postcodes[["code", "points", "near", "share_near"]].rename(columns={
        "points": "postcodes", "near": "postcodes_near", "share_near": "share_postcodes_near"}), on="code", how="left")
    out = out.merge(in_view, on="code", how="left")
    out["area_km2"] = out["code"].map(area_km2(ref, level)).round(4)
    out["share_in_view"] = (out["in_view_km2"] / out["area_km2"].astype("Float64")).round(6)
    return out[AREA_COLUMNS]
