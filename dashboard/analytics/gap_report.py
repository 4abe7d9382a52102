"""Gap analysis of imported crimes against the register, for the coverage page, the API and the
exports: one function gathers the data (crimes, cameras, reference areas) and hands it to the pure
functions of :mod:`dashboard.analytics.gaps`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from dashboard.analytics.coverage import area_table, areas_for_level
from dashboard.analytics.gaps import (by_deprivation_decile, coverage_by_area, force_totals, recruitment_targets,
                                     registrations_per_area)
from dashboard.geo.near_points import point_coverage
from dashboard.geo.reference import ReferenceGeography
from dashboard.geo.search import CameraIndex
from dashboard.geo.small_areas import small_area_at
from dashboard.registry.crime_queries import crimes_in
from dashboard.registry.queries import registrations_by_area

DEFAULT_RADIUS_M = 100
RADII_M = (25, 50, 100, 200, 500)


@dataclass(frozen=True)
class GapQuery:
    first_month: dt.date | None = None
    last_month: dt.date | None = None
    crime_types: tuple[str, ...] | None = None  # None: every type
    radius_m: int = DEFAULT_RADIUS_M
    level: str = "lsoa"


@dataclass(frozen=True)
class GapReport:
    query: GapQuery
    totals: dict  # force_totals of the crimes placed in the force area
    unplaced: int  # matching crimes police.uk gave no coordinates
    outside: int  # crimes whose point lies outside every small area of the force
    by_area: pd.DataFrame  # coverage_by_area for the query's level, plus district name for LSOAs
    targets: pd.DataFrame  # recruitment_targets
    by_decile: pd.DataFrame  # by_deprivation_decile of the register, with the crimes' coverage per decile


def crime_areas(ref: ReferenceGeography, crimes: pd.DataFrame) -> np.ndarray:
    """The force small area of each crime: police.uk's own LSOA code when it is one of ours, else
    the small area containing the point, else None (outside the force area)."""
    known = set(ref.small_areas["code"])
    given = crimes["lsoa_code"].to_numpy(object)
    ours = np.array([code in known for code in given.tolist()], dtype=bool)
    codes = given.copy()
    if (~ours).any():
        codes[~ours] = small_area_at(ref, crimes["lon"].to_numpy()[~ours], crimes["lat"].to_numpy()[~ours])
    return codes


def gap_report(session: Session, ref: ReferenceGeography, index: CameraIndex, query: GapQuery, k: int) -> GapReport:
    crimes, unplaced = crimes_in(session, query.first_month, query.last_month, query.crime_types)
    lsoa = crime_areas(ref, crimes)
    inside = np.array([c is not None for c in lsoa.tolist()], dtype=bool)
    crimes, lsoa = crimes[inside].reset_index(drop=True), lsoa[inside]
    coverage = point_coverage(index, crimes["lat"], crimes["lon"], query.radius_m)

    small = ref.small_areas.set_index("code")
    district = small["district_code"].reindex(lsoa).to_numpy(object)
    decile = small["imd_decile"].reindex(lsoa).to_numpy(dtype="float64", na_value=np.nan)
    areas = areas_for_level(ref, query.level)
    area = lsoa if query.level == "lsoa" else district
    area_index = pd.Index(areas["code"]).get_indexer(area)
    decile_index = np.where(np.isnan(decile), -1, np.nan_to_num(decile) - 1).astype("int64")
    points = pd.DataFrame({"area_code": area, "decile": pd.array(decile_index + 1, dtype="Int64"),
                           "near": coverage.near, "in_view": coverage.in_view})

    def basis(codes: np.ndarray, per_point: np.ndarray) -> pd.DataFrame:
        counts = registrations_per_area(per_point[coverage.pair_point], coverage.pair_site, len(codes))
        return pd.DataFrame({"area_code": codes, "registrations_near": counts})

    by_area = coverage_by_area(points, basis(areas["code"].to_numpy(object), area_index), areas, k)
    registered = area_table(registrations_by_area(session, query.level), areas, k)
    attributes = registered[["code", "registrations_per_1000"]].assign(
        imd_decile=small["imd_decile"].reindex(registered["code"]).to_numpy() if query.level == "lsoa" else pd.NA)
    if query.level == "lsoa":
        by_area = by_area.assign(district=small["district_code"].reindex(by_area["code"]).map(ref.district_name)
                                 .to_numpy())
    targets = recruitment_targets(by_area, attributes)

    deciles = pd.DataFrame({"code": list(range(1, 11)), "name": [str(d) for d in range(1, 11)]})
    crime_deciles = coverage_by_area(points.assign(area_code=points["decile"]),
                                     basis(np.arange(1, 11), decile_index), deciles, k)
    by_decile = by_deprivation_decile(
        registrations_by_area(session, "lsoa"),
        ref.small_areas[["code", "imd_decile", "households_estimate"]].rename(
            columns={"households_estimate": "households"}), k)
    by_decile = by_decile.assign(crimes=crime_deciles["points"].to_numpy(),
                                 crimes_near=crime_deciles["near"].to_numpy(),
                                 share_near=crime_deciles["share_near"].to_numpy())
    everyone = int(registrations_per_area(np.zeros(len(coverage.pair_site), "int64"), coverage.pair_site, 1)[0])
    return GapReport(query, force_totals(points, everyone, k), unplaced, int((~inside).sum()), by_area, targets,
                     by_decile)
