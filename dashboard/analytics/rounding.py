"""How many decimals each published figure carries in files and JSON, by its column's name, and
the same figures as text for people (thousands separators, units).

One rule for every export (CSV, GeoJSON, GeoPackage) and the JSON API, so that a spreadsheet never
shows 661.8018575851393 households:

- a rate per 1,000 households (``*_per_1000``): 1 decimal;
- a share or rate kept as a fraction (``share*``, ``*_share``, ``*_rate``): 3 decimals, which is
  0.1 of a percentage point (the pages show it as a percentage with 1 decimal);
- the share of an area inside cameras' fields of view (``share_in_view``): 4 decimals, 0.01 of a
  percentage point, since it is a fraction of a per cent in most areas;
- an area in km² (``*_km2``): 3 decimals (1,000 m²);
- a latitude or longitude (``lat``, ``lon``, a cell's ``centre`` or ``polygon`` ...): 6 decimals
  (about 0.1 m);
- days (``*days*``): 1 decimal;
- anything else that is a number is a count or a distance in whole metres: a whole number
  (households estimated for a small area included).

Rounding never reveals anything: a hidden figure (NA / None) stays hidden.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

COORDINATE_DECIMALS = 6
_RULES: tuple[tuple[re.Pattern, int], ...] = (
    (re.compile(r"_per_1000$"), 1),
    (re.compile(r"^share_in_view$|^in_view_share$"), 4),
    (re.compile(r"(^share|_share$|_rate$|^share$)"), 3),
    (re.compile(r"_km2$"), 3),
    (re.compile(r"^(lat|lon|latitude|longitude|centre|polygon|coordinates)$|_(lat|lon)$"), COORDINATE_DECIMALS),
    (re.compile(r"days"), 1),
)


def decimals(column: str) -> int:
    """The decimals a number in ``column`` is published with.

    >>> [decimals(c) for c in ("households", "registrations_per_1000", "share_in_view", "response_rate",
    ...                        "in_view_km2", "lat", "median_days_to_footage", "radius_m")]
    [0, 1, 4, 3, 3, 6, 1, 0]
    """
    for pattern, digits in _RULES:
        if pattern.search(column):
            return digits
    return 0


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every number column rounded to ``decimals(column)``; whole-number columns
    become nullable integers (NA stays NA: a hidden figure is never filled in). Text and boolean
    columns are left as they are.

    >>> f = pd.DataFrame({"households": [661.8018575851393, None], "registrations_per_1000": [12.345, 0.05],
    ...                   "flag": [True, False]})
    >>> out = rounded(f)
    >>> out["households"].tolist(), out["registrations_per_1000"].tolist(), str(out["households"].dtype)
    ([662, <NA>], [12.3, 0.1], 'Int64')
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
            continue
        digits = decimals(str(column))
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        values = _half_up(values, digits)
        if digits == 0:
            out[column] = pd.array([pd.NA if np.isnan(v) else int(v) for v in values], dtype="Int64")
        else:
            out[column] = pd.array([pd.NA if np.isnan(v) else float(v) for v in values], dtype="Float64")
    return out


def _half_up(values: np.ndarray, digits: int) -> np.ndarray:
    """Round halves away from zero (as people do: 0.05 -> 0.1), not to even; a float just under a
    half (0.1449999 from 0.145) is nudged by a tiny epsilon first."""
    scale = 10.0**digits
    scaled = values * scale
    return np.sign(scaled) * np.floor(np.abs(scaled) + 0.5 + 1e-9) / scale


def rounded_coordinates(values: np.ndarray) -> np.ndarray:
    """Latitudes and longitudes rounded by the publication rule (``COORDINATE_DECIMALS``), as
    ``round_value`` rounds each, for a whole array at once."""
    return _half_up(np.asarray(values, dtype="float64"), COORDINATE_DECIMALS)


def round_value(value, column: str):
    """One JSON value of ``column`` rounded by the rule (None, text and booleans as they are).

    >>> round_value(661.8018575851393, "households"), round_value(0.123456, "useful_share"), round_value(None, "x")
    (662, 0.123, None)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return value
    if isinstance(value, float) and math.isnan(value):
        return None
    digits = decimals(column)
    result = float(_half_up(np.array([float(value)]), digits)[0])
    return int(result) if digits == 0 else result


def rounded_json(doc, key: str = ""):
    """A JSON document (dicts, lists, numbers) with every number rounded by its key's rule; the
    items of a list take the list's key.

    >>> rounded_json({"households": 661.8, "rows": [{"registrations_per_1000": 2.25}], "k": 8})
    {'households': 662, 'rows': [{'registrations_per_1000': 2.3}], 'k': 8}
    """
    if isinstance(doc, dict):
        return {k: rounded_json(v, str(k)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [rounded_json(v, key) for v in doc]
    return round_value(doc, key)


def thousands(value, digits: int = 0, hidden: str = "hidden") -> str:
    """A figure for people: thousands separators and ``digits`` decimals; ``hidden`` for a figure
    not shown (None / NA).

    >>> thousands(1234567), thousands(661.8018575851393), thousands(1234.56, 1), thousands(None, hidden="fewer than 8")
    ('1,234,567', '662', '1,234.6', 'fewer than 8')
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return hidden
    number = float(_half_up(np.array([float(value)]), digits)[0])
    return f"{number:,.{digits}f}"


def percent(share, digits: int = 1, hidden: str = "hidden") -> str:
    """A fraction as a percentage with ``digits`` decimals.

    >>> percent(0.12345), percent(None), percent(1)
    ('12.3%', 'hidden', '100.0%')
    """
    if share is None or pd.isna(share):
        return hidden
    return f"{thousands(float(share) * 100, digits)}%"
