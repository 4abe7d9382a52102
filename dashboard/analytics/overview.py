"""Figures for the landing page, as pure functions of data frames."""
from __future__ import annotations

import pandas as pd

from dashboard.analytics.suppression import shown_mask


def district_table(by_district: pd.DataFrame, districts: pd.DataFrame, k: int) -> pd.DataFrame:
    """One row per reference district with registrations, cameras and rates per 1,000 households.

    Counts from fewer than ``k`` registrations are suppressed (NA), and so are the rates drawn from
    them; because the register's total is published, secondary suppression hides more districts
    where the hidden ones could otherwise be recovered by subtraction (``shown_mask``).

    Parameters
    ----------
    by_district : columns district_code, registrations, cameras (active register)
    districts : columns code, name, households (reference geography)

    Examples
    --------
    >>> reg = pd.DataFrame({"district_code": ["A", "B", "C"], "registrations": [50, 3, 9], "cameras": [80, 4, 9]})
    >>> ref = pd.DataFrame({"code": ["A", "B", "C"], "name": ["Ay", "Bee", "Cee"], "households": [10_000, 2_000, 900]})
    >>> district_table(reg, ref, 8)[["code", "registrations", "registrations_per_1000"]].to_dict("list")
    {'code': ['A', 'B', 'C'], 'registrations': [50, None, None], 'registrations_per_1000': [5.0, None, None]}
    """
    merged = districts[["code", "name", "households"]].merge(
        by_district.rename(columns={"district_code": "code"}), on="code", how="left"
    )
    merged[["registrations", "cameras"]] = merged[["registrations", "cameras"]].fillna(0).astype("int64")
    shown = pd.Series(shown_mask(merged["registrations"].tolist(), k), index=merged.index)
    out = merged[["code", "name", "households"]].copy()
    out["registrations"] = merged["registrations"].where(shown).astype("Int64")
    out["cameras"] = merged["cameras"].where(shown).astype("Int64")
    households = merged["households"].astype("Float64")
    out["registrations_per_1000"] = (out["registrations"].astype("Float64") * 1000 / households).round(2)
    out["cameras_per_1000"] = (out["cameras"].astype("Float64") * 1000 / households).round(2)
    return out.reset_index(drop=True)


def districts_covered(by_district: pd.DataFrame, k: int) -> int:
    """Districts with at least ``k`` active registrations (some may still be hidden in the table
    by secondary suppression; how many there are reveals no district's count).

    >>> districts_covered(pd.DataFrame({"district_code": ["A", "B", "C"], "registrations": [8, 7, 90]}), 8)
    2
    """
    return int((by_district["registrations"] >= k).sum())
