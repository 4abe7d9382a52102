"""Gap analysis as pure functions of data frames: how many crimes (or postcodes) have a registered
camera nearby or in view, per area; where to recruit next; coverage by deprivation decile.

Suppression (promise 4). A coverage figure for an area is drawn from the registrations whose
cameras are near (or see) the area's points: ``registrations_near``. Where that is fewer than
K, the area's covered counts and shares are not shown; and because the force-wide totals are
published, more areas are hidden until the hidden ones cannot be recovered by subtraction
(:func:`~dashboard.analytics.suppression.shown_mask` on ``registrations_near``). Crime counts
themselves are public police.uk figures and are always shown.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.analytics.suppression import shown_mask

GAP_COLUMNS = ["code", "name", "points", "near", "in_view", "share_near", "share_in_view", "registrations_near",
               "suppressed"]


def coverage_by_area(points: pd.DataFrame, basis: pd.DataFrame, areas: pd.DataFrame, k: int) -> pd.DataFrame:
    """Points (crimes or postcodes) with a registered camera near / in view, per area.

    Parameters
    ----------
    points : columns area_code, near (bool), in_view (bool); one row per point
    basis : columns area_code, registrations_near: how many registrations (one site each) have a
        camera that made a point of the area near or in view (:func:`registrations_per_area`)
    areas : columns code, name; every area of the level (areas with no points get 0 points)

    Returns
    -------
    ``GAP_COLUMNS``: ``points`` int; ``near``, ``in_view``, ``registrations_near`` Int64 and the
    shares (0..1, Float64), NA where suppressed (or, for shares, where there are no points).

    Examples
    --------
    >>> pts = pd.DataFrame({"area_code": ["A", "A", "B", "C", "C", "C", "C"],
    ...                     "near": [1, 0, 1, 1, 1, 1, 0], "in_view": [1, 0, 0, 1, 0, 0, 0]})
    >>> basis = pd.DataFrame({"area_code": ["A", "B", "C"], "registrations_near": [9, 1, 20]})
    >>> areas = pd.DataFrame({"code": ["A", "B", "C", "D"], "name": ["Ay", "Bee", "Cee", "Dee"]})
    >>> out = coverage_by_area(pts.astype({"near": bool, "in_view": bool}), basis, areas, 8)
    >>> out[["code", "points", "near", "share_near", "suppressed"]].to_dict("list")  # B < 8; A hidden too
    {'code': ['A', 'B', 'C', 'D'], 'points': [2, 1, 4, 0], 'near': [None, None, 3, None], \
'share_near': [None, None, 0.75, None], 'suppressed': [True, True, False, False]}
    """
    by_area = points.groupby("area_code").agg(points=("near", "size"), near=("near", "sum"),
                                              in_view=("in_view", "sum"))
    out = areas[["code", "name"]].merge(by_area, left_on="code", right_index=True, how="left")
    out = out.merge(basis.set_index("area_code")["registrations_near"], left_on="code", right_index=True, how="left")
    counts = ["points", "near", "in_view", "registrations_near"]
    out[counts] = out[counts].fillna(0).astype("int64")
    has_points = out["points"] > 0
    shown = np.zeros(len(out), dtype=bool)
    # Areas without points add nothing to any total, so they neither need nor give protection.
    shown[has_points.to_numpy()] = shown_mask(out.loc[has_points, "registrations_near"].tolist(), k)
    for column in ("near", "in_view", "registrations_near"):
        out[column] = out[column].astype("Int64").where(shown)
    for share, count in (("share_near", "near"), ("share_in_view", "in_view")):
        out[share] = (out[count].astype("Float64") / out["points"].where(has_points).astype("Float64")).round(4)
    out["suppressed"] = has_points & ~shown
    return out[GAP_COLUMNS].reset_index(drop=True)


def registrations_per_area(pair_area: np.ndarray, pair_site: np.ndarray, n_areas: int) -> np.ndarray:
    """How many distinct sites (registrations) each area has among (area, site) pairs; areas are
    codes 0..n_areas-1, -1 is ignored. Integer keys sorted once: a data frame's
    ``drop_duplicates`` took seconds on the 8 million pairs of a large gap analysis.

    >>> registrations_per_area(np.array([0, 0, 1, 0, -1]), np.array([5, 5, 5, 7, 9]), 3).tolist()
    [2, 1, 0]
    """
    keep = pair_area >= 0
    area, site = pair_area[keep].astype("int64"), pair_site[keep].astype("int64")
    if not len(area):
        return np.zeros(n_areas, dtype="int64")
    keys = np.sort(area * (int(site.max()) + 1) + site)
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return np.bincount(keys[first] // (int(site.max()) + 1), minlength=n_areas)


def force_totals(points: pd.DataFrame, registrations_near: int, k: int) -> dict:
    """Force-wide points, near and in view, with the same rule (hidden when fewer than k
    registrations are near any point).

    >>> force_totals(pd.DataFrame({"near": [True, False], "in_view": [False, False]}), 2, 2)
    {'points': 2, 'near': 1, 'in_view': 0, 'registrations_near': 2, 'suppressed': False}
    """
    hidden = registrations_near < k
    return {"points": int(len(points)), "near": None if hidden else int(points["near"].sum()),
            "in_view": None if hidden else int(points["in_view"].sum()),
            "registrations_near": None if hidden else int(registrations_near), "suppressed": hidden}


TARGET_COLUMNS = ["rank", "code", "name", "points", "near", "share_near", "without_camera", "priority",
                  "registrations_per_1000", "imd_decile"]


def recruitment_targets(gaps: pd.DataFrame, areas: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """Areas where recruiting would cover the most crimes: ranked by crimes without a registered
    camera nearby (``priority``).

    Where an area's coverage is suppressed its priority is its crime count, an upper bound that
    uses only public figures, so no ranking position reveals a hidden count.

    Parameters
    ----------
    gaps : :func:`coverage_by_area` of crimes
    areas : columns code, registrations_per_1000 (suppressed as on the area table: NA) and
        imd_decile (NA for districts)

    Examples
    --------
    >>> gaps = pd.DataFrame({"code": ["A", "B", "C"], "name": ["Ay", "Bee", "Cee"], "points": [100, 60, 0],
    ...                      "near": pd.array([80, pd.NA, 0], "Int64"), "share_near": [0.8, None, None],
    ...                      "suppressed": [False, True, False]})
    >>> areas = pd.DataFrame({"code": ["A", "B", "C"], "registrations_per_1000": [9.0, None, None],
    ...                       "imd_decile": [5, 1, 2]})
    >>> recruitment_targets(gaps, areas)[["rank", "code", "priority", "without_camera"]].to_dict("list")
    {'rank': [1, 2], 'code': ['B', 'A'], 'priority': [60, 20], 'without_camera': [None, 20]}
    """
    with_crimes = gaps[gaps["points"] > 0]
    without = (with_crimes["points"] - with_crimes["near"]).astype("Int64")
    out = with_crimes.assign(without_camera=without,
                             priority=without.fillna(with_crimes["points"]).astype("int64"))
    out = out.merge(areas[["code", "registrations_per_1000", "imd_decile"]], on="code", how="left")
    out = out.sort_values(["priority", "points", "code"], ascending=[False, False, True]).head(top)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out[TARGET_COLUMNS].reset_index(drop=True)


DECILE_COLUMNS = ["imd_decile", "areas", "households", "registrations", "cameras", "registrations_per_1000",
                  "cameras_per_1000"]


def by_deprivation_decile(by_lsoa: pd.DataFrame, small_areas: pd.DataFrame, k: int) -> pd.DataFrame:
    """Registrations and cameras per 1,000 (estimated) households by IMD decile (1 = most deprived).

    Parameters
    ----------
    by_lsoa : columns area_code, registrations, cameras (active register, per LSOA)
    small_areas : columns code, imd_decile, households (estimates)

    Deciles with fewer than ``k`` registrations are hidden, with secondary suppression since the
    total is published.

    Examples
    --------
    >>> regs = pd.DataFrame({"area_code": ["a", "b", "c"], "registrations": [40, 12, 3], "cameras": [60, 20, 3]})
    >>> lsoa = pd.DataFrame({"code": ["a", "b", "c"], "imd_decile": [1, 1, 10], "households": [800.0, 1200.0, 500.0]})
    >>> out = by_deprivation_decile(regs, lsoa, 8)
    >>> out.loc[out["imd_decile"] == 1, ["registrations", "registrations_per_1000"]].values.tolist()
    [[<NA>, <NA>]]
    """
    merged = small_areas[["code", "imd_decile", "households"]].merge(
        by_lsoa.rename(columns={"area_code": "code"}), on="code", how="left")
    merged[["registrations", "cameras"]] = merged[["registrations", "cameras"]].fillna(0)
    merged = merged.dropna(subset=["imd_decile"])
    grouped = merged.groupby("imd_decile").agg(areas=("code", "size"), households=("households", "sum"),
                                               registrations=("registrations", "sum"), cameras=("cameras", "sum"))
    grouped = grouped.reindex(range(1, 11), fill_value=0).reset_index()
    grouped["imd_decile"] = grouped["imd_decile"].astype("int64")
    shown = pd.Series(shown_mask(grouped["registrations"].astype("int64").tolist(), k))
    for column in ("registrations", "cameras"):
        grouped[column] = grouped[column].astype("int64").astype("Int64").where(shown)
    households = grouped["households"].astype("Float64").where(grouped["households"] > 0)
    grouped["households"] = grouped["households"].round().astype("int64")
    grouped["registrations_per_1000"] = (grouped["registrations"].astype("Float64") * 1000 / households).round(2)
    grouped["cameras_per_1000"] = (grouped["cameras"].astype("Float64") * 1000 / households).round(2)
    return grouped[DECILE_COLUMNS]
