"""Figures for the landing page, as pure functions of data frames."""
from __future__ import annotations

import pandas as pd

from dashboard.analytics.suppression import suppress


def district_table(by_district: pd.DataFrame, districts: pd.DataFrame, k: int) -> pd.DataFrame:
    """One row per reference district with registrations, cameras and rates per 1,000 households.

    Counts from fewer than ``k`` registrations are suppressed (NA), and so are the rates drawn from them.

    Parameters
    ----------
    by_district : columns district_code, registrations, cameras (active register)
    districts : columns code, name, households (reference geography)

    Examples
    --------
    >>> reg = pd.DataFrame({"district_code": ["A", "B"], "registrations": [50, 3], "cameras": [80, 4]})
    >>> ref = pd.DataFrame({"code": ["A", "B"], "name": ["Ay", "Bee"], "households": [10_000, 2_000]})
    >>> district_table(reg, ref, 8)[["code", "registrations", "registrations_per_1000"]].to_dict("list")
    {'code': ['A', 'B'], 'registrations': [50, None], 'registrations_per_1000': [5.0, None]}
    """
    merged = districts[["code", "name", "households"]].merge(
        by_district.rename(columns={"district_code": "code"}), on="code", how="left"
    )
    merged[["registrations", "cameras"]] = merged[["registrations", "cameras"]].fillna(0).astype("int64")
    shown = merged["registrations"].map(lambda n: not suppress(int(n), k).suppressed)
    out = merged[["code", "name", "households"]].copy()
    out["registrations"] = merged["registrations"].where(shown).astype("Int64")
    out["cameras"] = merged["cameras"].where(shown).astype("Int64")
    households = merged["households"].astype("Float64")
    out["registrations_per_1000"] = (out["registrations"].astype("Float64") * 1000 / households).round(2)
    out["cameras_per_1000"] = (out["cameras"].astype("Float64") * 1000 / households).round(2)
    return out.reset_index(drop=True)


def districts_covered(table: pd.DataFrame) -> int:
    """Districts whose registrations are shown, i.e. with at least K active registrations."""
    return int(table["registrations"].notna().sum())
