"""Aggregate tables and layers as files for QGIS/ArcGIS and spreadsheets: CSV, GeoJSON, GeoPackage.

Callers pass frames that are already suppressed (promise 4): a hidden count is NA, and it is
written as an empty CSV cell / a JSON null / a GeoPackage NULL, never as a number. Every number is
rounded by its column's rule (``dashboard.analytics.rounding``: counts whole, rates per 1,000 to 1
decimal, shares as fractions to 3, km² to 3). Geometry is WGS84 (EPSG:4326), as GeoJSON requires,
with 6 decimals per coordinate in GeoJSON (about 0.1 m); the GeoPackage carries the same CRS.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from dashboard.analytics.rounding import COORDINATE_DECIMALS, rounded
from dashboard.core.crs import WGS84
from dashboard.registry.casework import csv_safe

FORMATS = {"csv": "text/csv", "geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3"}


def export_bytes(frame: pd.DataFrame, geometry: gpd.GeoSeries | None, fmt: str, layer: str) -> bytes:
    """One file of ``frame`` (plus ``geometry`` aligned to its rows, or None for a plain table).

    >>> frame = pd.DataFrame({"code": ["A"], "crimes": pd.array([None], dtype="Int64")})
    >>> export_bytes(frame, None, "csv", "t").decode()
    'code,crimes\\r\\nA,\\r\\n'
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    frame = rounded(frame)
    if fmt == "csv":
        out = io.StringIO()
        _formulas_as_text(frame).to_csv(out, index=False, lineterminator="\r\n")
        return out.getvalue().encode("utf-8")
    shapes = [None] * len(frame) if geometry is None else geometry.to_numpy()
    layer_frame = gpd.GeoDataFrame(_plain(frame), geometry=gpd.GeoSeries(shapes, crs=WGS84))
    with tempfile.TemporaryDirectory(prefix="ccr-export-") as folder:
        path = Path(folder) / f"{layer}.{fmt}"
        options = {} if fmt == "gpkg" else {"layer_options": {"COORDINATE_PRECISION": COORDINATE_DECIMALS}}
        pyogrio.write_dataframe(
            layer_frame, path, layer=layer, driver="GPKG" if fmt == "gpkg" else "GeoJSON", **options
        )
        return path.read_bytes()


def _formulas_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``+1``, ``@SUM``)
    made plain text; numbers and missing values are left as they are.

    >>> _formulas_as_text(pd.DataFrame({"name": ["=1+1", "Ann"], "n": [-1, 2]})).to_dict("list")
    {'name': ["'=1+1", 'Ann'], 'n': [-1, 2]}
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype) in ("string", "str", "category"):
            out[column] = out[column].map(lambda v: csv_safe(v) if isinstance(v, str) else v).astype(object)
    return out


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Text and categories as object, which every driver writes (nullable numbers stay nullable:
    pyogrio writes NA as NULL)."""
    out = frame.copy()
    for column in out.columns:
        if str(out[column].dtype) in ("string", "str", "category"):
            out[column] = out[column].astype(object)
    return out.reset_index(drop=True)
