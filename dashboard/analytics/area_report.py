"""Coverage per district or small area: registrations and cameras per 1,000 households, the share
of postcodes with a registered camera within a distance, and the ground inside the cameras'
fields of view (the union of their wedges, km² and % of the area).

Disclosure control (promise 4), every figure through the layer:

- registrations and cameras: as on the overview (``area_table``), perturbed by the cell keys of
  the registrations and cameras counted;
- postcodes nearby: the number of the area's postcodes with a registered camera within the
  distance, perturbed with the cell key of the distinct registrations involved (those with a
  site within the distance of one of them), hidden when they are fewer than K; the share is that
  published count over the area's postcodes (public ONS figures: ``layer.exact``);
- ground in view: ``layer.magnitudes`` with the key and number of the registrations whose cameras
  are counted; its share is over the area's km² (``layer.exact``).

There is no secondary suppression: with perturbed figures a total minus its shown parts gives the
hidden part plus the noise of every figure involved. Every area of the level is listed whatever
the register holds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from dashboard.analytics.coverage import area_table, areas_for_level
from dashboard.analytics.disclosure import KEY_RANGE, Disclosure, distinct_counts_and_keys
from dashboard.geo.fov import fill_fov
from dashboard.geo.fov_area import counted, covered_area_m2
from dashboard.geo.near_points import point_coverage
from dashboard.geo.reference import ReferenceGeography
from dashboard.geo.search import CameraIndex
from dashboard.registry import area_summaries, summaries
from dashboard.registry.camera_queries import camera_sums_per_site, site_areas

AREA_COLUMNS = [
    "code",
    "name",
    "households",
    "registrations",
    "cameras",
    "registrations_per_1000",
    "cameras_per_1000",
    "postcodes",
    "postcodes_near",
    "share_postcodes_near",
    "area_km2",
    "in_view_km2",
    "share_in_view",
]


@functools.lru_cache(maxsize=4)
def area_km2(ref: ReferenceGeography, level: str) -> pd.Series:
    """Each area's size in km², measured in British National Grid, by area code."""
    areas = ref.districts if level == "district" else ref.small_areas
    return pd.Series(areas.geometry.to_crs(27700).area.to_numpy() / 1e6, index=areas["code"].to_numpy())


@dataclass(frozen=True)
class SiteTable:
    """The active register's sites as arrays indexed by site id (-1 / 0 where no such site):
    the registration's record key, the site's area per level and its active cameras with the sum
    of their keys. Built once per table from two plain reads."""

    key: np.ndarray
    on_register: np.ndarray
    cameras: np.ndarray
    camera_keys: np.ndarray
    area: dict  # level -> area index per site id (-1: none)

    @classmethod
    def build(cls, ref: ReferenceGeography, sites: pd.DataFrame, cameras: pd.DataFrame) -> SiteTable:
        """``sites``: ``site_areas``; ``cameras``: ``camera_sums_per_site``."""
        ids = sites["site_id"].to_numpy("int64")
        size = int(max(ids.max(initial=-1), cameras["site_id"].max() if len(cameras) else -1)) + 1
        key = np.zeros(size, dtype="int64")
        key[ids] = sites["registration_key"].to_numpy("int64")
        on_register = np.zeros(size, dtype=bool)
        on_register[ids] = True
        count, keys = np.zeros(size, dtype="int64"), np.zeros(size, dtype="int64")
        cam_site = cameras["site_id"].to_numpy("int64")
        count[cam_site] = cameras["cameras"].to_numpy("int64")
        keys[cam_site] = cameras["cameras_key"].to_numpy("int64")
        count[~on_register], keys[~on_register] = 0, 0  # cameras of sites no longer on the register
        area = {}
        for level, column in (("district", "district_code"), ("lsoa", "lsoa_code")):
            by_id = np.full(size, -1, dtype="int64")
            by_id[ids] = pd.Index(areas_for_level(ref, level)["code"]).get_indexer(sites[column].to_numpy(object))
            area[level] = by_id
        return cls(key, on_register, count, keys, area)

    def lookup(self, table: np.ndarray, site_ids: np.ndarray, missing: int) -> np.ndarray:
        """``table`` at each site id (``missing`` for an id beyond it: a site newer than the read)."""
        site_ids = np.asarray(site_ids, dtype="int64")
        inside = site_ids < len(table)
        return np.where(inside, table[np.where(inside, site_ids, 0)], missing)


def registrations_per_area(sites: SiteTable, level: str, codes: np.ndarray) -> pd.DataFrame:
    """Active registrations and their active cameras per area with the cell keys of each (the
    columns of ``registrations_by_area``, every area listed), counted from the site table."""
    area = sites.area[level]
    on = area >= 0
    n = len(codes)
    return pd.DataFrame(
        {
            "area_code": codes,
            "registrations": np.bincount(area[on], minlength=n),
            "registrations_key": np.bincount(area[on], weights=sites.key[on], minlength=n).astype("int64") % KEY_RANGE,
            "cameras": np.bincount(area[on], weights=sites.cameras[on], minlength=n).astype("int64"),
            "cameras_key": np.bincount(area[on], weights=sites.camera_keys[on], minlength=n).astype("int64")
            % KEY_RANGE,
        }
    )


def postcode_coverage(
    ref: ReferenceGeography, index: CameraIndex, sites: SiteTable, level: str, radius_m: int, layer: Disclosure
) -> pd.DataFrame:
    """Per area of the level (in ``areas_for_level`` order): columns code, postcodes (exact),
    postcodes_near (published), share_postcodes_near (rate of the published figures)."""
    codes = areas_for_level(ref, level)["code"].to_numpy(object)
    postcodes = ref.postcodes
    area = _postcode_areas(ref, level, codes)
    coverage = point_coverage(index, postcodes["lat"], postcodes["lon"], radius_m, views=False)
    inside = area >= 0
    near = np.bincount(area[inside & coverage.near], minlength=len(codes))
    # the distinct registrations (sites) near each area's postcodes, and their cell keys
    on_register = sites.lookup(sites.on_register, coverage.pair_site, False).astype(bool)
    pair_area = np.where(on_register, area[coverage.pair_point], -1)
    involved, key = distinct_counts_and_keys(
        pair_area, np.where(on_register, coverage.pair_site, 0), sites.key, len(codes)
    )
    return _postcode_figures(codes, _postcodes_per_area(ref, level, codes), near, involved, key, layer)


def _postcode_areas(ref: ReferenceGeography, level: str, codes: np.ndarray) -> np.ndarray:
    """Each reference postcode's area of the level, as a position in ``codes`` (-1: none)."""
    column = "small_area_code" if level == "lsoa" else "district_code"
    return pd.Index(codes).get_indexer(ref.postcodes[column].to_numpy(object))


def _postcodes_per_area(ref: ReferenceGeography, level: str, codes: np.ndarray) -> np.ndarray:
    area = _postcode_areas(ref, level, codes)
    return np.bincount(area[area >= 0], minlength=len(codes))


def _postcode_figures(
    codes: np.ndarray, total: np.ndarray, near: np.ndarray, involved: np.ndarray, key: np.ndarray, layer: Disclosure
) -> pd.DataFrame:
    """The published postcode columns: the postcodes near, perturbed with the key of the distinct
    registrations ``involved`` and hidden when they are fewer than K; the share of the area's
    postcodes (exact public figures)."""
    published = layer.counts(near, key)
    published[np.asarray(layer.counts(involved, key).isna())] = pd.NA  # drawn from fewer than K registrations
    points = pd.array(layer.exact(total), dtype="Int64")
    return pd.DataFrame(
        {
            "code": codes,
            "postcodes": points,
            "postcodes_near": published,
            "share_postcodes_near": layer.share(published, points, 4),
        }
    )


def area_in_view(
    index: CameraIndex, sites: SiteTable, codes: np.ndarray, level: str, layer: Disclosure
) -> pd.DataFrame:
    """Per area: km² inside the union of the fields of view of the cameras whose site lies in it
    (cameras with a known direction, or seeing all round), through ``layer.magnitudes`` with the
    number and cell key of the registrations whose cameras are counted."""
    cam = index.arrays()
    _, _, _, _, x, y = index.grid_parts()
    angle, reach, _ = fill_fov(cam["fov_angle_deg"], cam["fov_range_m"], *index.kind_defaults())
    site_id = np.asarray(cam["site_id"], dtype="int64")
    group = sites.lookup(sites.area[level], site_id, -1)  # -1 too for a site not on the register
    m2 = covered_area_m2(x, y, cam["direction_deg"], angle, reach, group, len(codes))
    used = counted(cam["direction_deg"], angle, reach) & (group >= 0)
    basis, key = distinct_counts_and_keys(group[used], site_id[used], sites.key, len(codes))
    return pd.DataFrame({"code": codes, "in_view_km2": layer.magnitudes(m2 / 1e6, key, basis, digits=4)})


def area_coverage(
    session: Session, ref: ReferenceGeography, index: CameraIndex, level: str, radius_m: int, layer: Disclosure
) -> pd.DataFrame:
    """Every area of the level with the columns ``AREA_COLUMNS``, as published (NA: not shown),
    counted from the whole register's camera index (the second way of counting the summaries'
    table, :func:`from_summaries`: the tests compare them)."""
    areas = areas_for_level(ref, level)
    codes = areas["code"].to_numpy(object)
    sites = SiteTable.build(ref, site_areas(session), camera_sums_per_site(session))
    table = area_table(registrations_per_area(sites, level, codes), areas, layer)
    postcodes = postcode_coverage(ref, index, sites, level, radius_m, layer)
    in_view = area_in_view(index, sites, codes, level, layer)
    return _published(ref, level, table, postcodes, in_view, layer)


def from_summaries(
    session: Session, ref: ReferenceGeography, level: str, radius_m: int, layer: Disclosure
) -> pd.DataFrame:
    """:func:`area_coverage` from the register's area summaries (``registry.summaries`` and
    ``registry.area_summaries``: small reads, shared by every process and server), through the same
    layer with the same counts and keys."""
    areas = areas_for_level(ref, level)
    codes = areas["code"].to_numpy(object)
    counts = summaries.area_counts(session, level).set_index("area_code").reindex(codes, fill_value=0)
    table = area_table(counts.rename_axis("area_code").reset_index(), areas, layer)
    near = area_summaries.postcodes_near(session, level, radius_m).set_index("code")["near"]
    reach = area_summaries.postcode_reach(session, level, radius_m).set_index("code").reindex(codes, fill_value=0)
    total = _postcodes_per_area(ref, level, codes)
    postcodes = _postcode_figures(
        codes,
        total,
        near.reindex(codes, fill_value=0).to_numpy("int64"),
        reach["registrations"].to_numpy("int64"),
        reach["registrations_key"].to_numpy("int64") % KEY_RANGE,
        layer,
    )
    view = area_summaries.area_view(session, level).set_index("code").reindex(codes, fill_value=0)
    in_view = pd.DataFrame(
        {
            "code": codes,
            "in_view_km2": layer.magnitudes(
                view["in_view_m2"].to_numpy("float64") / 1e6,
                view["registrations_key"].to_numpy("int64") % KEY_RANGE,
                view["registrations"].to_numpy("int64"),
                digits=4,
            ),
        }
    )
    return _published(ref, level, table, postcodes, in_view, layer)


def _published(
    ref: ReferenceGeography,
    level: str,
    table: pd.DataFrame,
    postcodes: pd.DataFrame,
    in_view: pd.DataFrame,
    layer: Disclosure,
) -> pd.DataFrame:
    out = table.merge(postcodes, on="code", how="left").merge(in_view, on="code", how="left")
    km2 = pd.array(
        layer.exact(out["code"].map(area_km2(ref, level)).round(4).to_numpy(dtype="float64")), dtype="Float64"
    )
    out["area_km2"] = km2
    out["share_in_view"] = layer.rate(out["in_view_km2"].array, km2, 1, 6)
    return out[AREA_COLUMNS]
