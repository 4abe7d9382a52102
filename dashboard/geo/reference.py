"""Reference geography: the force area, its districts, small areas (LSOAs) and postcodes.

Which file plays which part, and which column holds what, comes from a TOML manifest
(``data/reference_manifest.toml``), so another force points the app at its own open-data
files with no code changes. Nothing in this module names a particular force.

Conventions
-----------
* Every layer comes back in WGS84 longitude/latitude (EPSG:4326). A layer saved in another
  *known* CRS (e.g. British National Grid, EPSG:27700) is reprojected on load; a layer with
  no CRS at all is refused, because guessing would silently put boundaries in the wrong place.
  A layer that claims EPSG:4326 but whose coordinates are out of range (metres saved as
  degrees) is refused too.
* Invalid polygons are repaired with :func:`shapely.make_valid` (``method="structure"``, so a
  polygon stays a polygon).
* Every failure to find, read or make sense of a file raises :class:`ReferenceDataError`,
  whose message is one line naming the full path and how to fix it.
* Metre quantities end in ``_m``.

Example
-------
>>> from dashboard.config import DEFAULT_MANIFEST, DEFAULT_REFERENCE_DIR
>>> ref = load_reference(DEFAULT_REFERENCE_DIR, DEFAULT_MANIFEST)
>>> ref.force_name == ref.force_area["name"].iloc[0]
True
>>> ref.lookup_postcode(" st16 2dh ")["postcode"]
'ST16 2DH'
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio.errors
import pyproj.exceptions
import shapely

from dashboard.core.crs import WGS84

# The parts the manifest must describe, and the keys each must have (all strings).
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "force_area": ("file", "code_field", "name_field"),
    "districts": ("file", "code_field", "name_field"),
    "households": ("file", "code_field", "households_field", "residents_field"),
    "small_areas": ("file", "code_field", "name_field", "district_field"),
    "small_area_population": ("file", "code_field", "residents_field"),
    "deprivation": ("file", "code_field", "decile_field", "rank_field"),
    "postcodes": (
        "file",
        "postcode_field",
        "longitude_field",
        "latitude_field",
        "easting_field",
        "northing_field",
        "district_field",
        "small_area_field",
    ),
}
# Parts a manifest may leave out: the app works without them (the map's orientation layer then
# goes without ward names and outlines).
OPTIONAL_KEYS: dict[str, tuple[str, ...]] = {
    "wards": ("file", "code_field", "name_field"),
}
ATTRIBUTION_PART = "attribution"
# The short line a map built from these layers carries, when the manifest names none
# (``attribution.map_attribution``).
DEFAULT_MAP_ATTRIBUTION = "Contains OS data © Crown copyright and database right; ONS, Royal Mail (OGL v3.0)"

_POLYGONAL = frozenset({"Polygon", "MultiPolygon"})
_GEO_READ_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    OSError,
    ValueError,
    UnicodeDecodeError,
)
_CSV_READ_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, UnicodeDecodeError)


class ReferenceDataError(Exception):
    """A reference file or the manifest is wrong; the message is one line naming the file
    (full path) and how to fix it."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True, eq=False)
class ReferenceGeography:
    """The reference layers of one force, all in EPSG:4326.

    Equality and hashing are by identity (``eq=False``): comparing data frames field by field
    is ambiguous, and identity is what a per-process cache needs. Treat the frames as
    read-only; ``cached_reference`` hands the same object to every caller.

    Attributes
    ----------
    force_name, force_code
        From the force-area file's name and code columns (a police force area name and its
        ONS code, ``E23...``).
    force_area
        One row: ``code``, ``name``, ``geometry``.
    districts
        ``code``, ``name``, ``households`` (Int64, Census 2021), ``residents`` (Int64),
        ``geometry``; sorted by name, index ``0..n-1``.
    small_areas
        ``code``, ``name``, ``district_code``, ``residents`` (float, NaN if unknown),
        ``households_estimate`` (float, an ESTIMATE: residents x district households /
        district residents), ``imd_decile`` (Int64), ``imd_rank`` (Int64), ``geometry``;
        sorted by code, index ``0..n-1``.
    postcodes
        ``postcode`` (as printed, ``"SW1A 1AA"``), ``postcode_key`` (upper case, no spaces),
        ``lon``, ``lat``, ``easting_m``, ``northing_m`` (float), ``district_code``,
        ``small_area_code`` (may be missing); index ``0..n-1``.
    attribution
        Statements an app showing this data must carry.
    sources_path
        The data folder's sources file (e.g. ``SOURCES.md``) if present.
    wards
        ``code``, ``name``, ``geometry``, sorted by name; ``None`` when the manifest names no
        ``[wards]`` file (they are optional: used only to draw the maps' orientation layer).
    map_attribution
        The short attribution line a map drawn from these layers carries.
    """

    force_name: str
    force_code: str
    force_area: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    small_areas: gpd.GeoDataFrame
    postcodes: pd.DataFrame
    attribution: tuple[str, ...]
    sources_path: Path | None
    wards: gpd.GeoDataFrame | None = None
    map_attribution: str = DEFAULT_MAP_ATTRIBUTION

    def district_name(self, code: str) -> str:
        """Name of the district with ``code``.

        Raises ``KeyError`` naming the code received and the known codes.

        >>> ref.district_name(ref.districts["code"].iloc[0]) == ref.districts["name"].iloc[0]
        True
        """
        names = self._district_names
        if code not in names:
            raise KeyError(f"unknown district code {code!r}; known codes: {', '.join(sorted(names))}")
        return names[code]

    def lookup_postcode(self, text: str) -> pd.Series | None:
        """The ``postcodes`` row for ``text``, ignoring case and spaces; ``None`` if unknown.

        >>> ref.lookup_postcode(" st16 2dh ")["postcode_key"]
        'ST162DH'
        """
        if not isinstance(text, str):
            raise TypeError(f"postcode must be a string, got {type(text).__name__}: {text!r}")
        position = self._postcode_positions.get(postcode_key(text))
        return None if position is None else self.postcodes.iloc[position]

    # Built on first use; functools.cached_property writes to __dict__, so it works on a
    # frozen dataclass.
    @functools.cached_property
    def _district_names(self) -> dict[str, str]:
        return dict(zip(self.districts["code"], self.districts["name"], strict=True))

    @functools.cached_property
    def _postcode_positions(self) -> dict[str, int]:
        return {key: i for i, key in enumerate(self.postcodes["postcode_key"])}


def postcode_key(text: str) -> str:
    """Upper case, all whitespace removed: the form postcodes are matched on.

    >>> postcode_key(" sw1a  1aa ")
    'SW1A1AA'
    """
    return "".join(text.split()).upper()


# --------------------------------------------------------------------------- the manifest


@dataclass(frozen=True)
class _Part:
    """One ``[table]`` of the manifest, with the folder its file lives in."""

    name: str
    keys: Mapping[str, str]
    data_dir: Path
    manifest_path: Path

    @property
    def path(self) -> Path:
        return self.data_dir / self.keys["file"]

    def fix(self, key: str = "file") -> str:
        return f"fix '{self.name}.{key}' in {self.manifest_path}"


def _read_manifest(manifest_path: Path) -> dict[str, Any]:
    if not manifest_path.is_file():
        raise ReferenceDataError(
            f"reference manifest {manifest_path} is missing; create it (the project ships "
            "data/reference_manifest.toml) or point REFERENCE_MANIFEST at one"
        )
    try:
        with manifest_path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceDataError(
            f"reference manifest {manifest_path} is not valid TOML ({exc}); fix its syntax"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ReferenceDataError(f"reference manifest {manifest_path} cannot be read ({exc}); check the file") from exc


def _parts(
    manifest: Mapping[str, Any],
    data_dir: Path,
    manifest_path: Path,
    wanted: Mapping[str, tuple[str, ...]] = REQUIRED_KEYS,
) -> dict[str, _Part]:
    """Check every ``wanted`` part and key is present and a non-empty string."""
    parts: dict[str, _Part] = {}
    for name, required in wanted.items():
        table = manifest.get(name)
        if not isinstance(table, dict):
            received = "nothing" if table is None else f"a {type(table).__name__}"
            raise ReferenceDataError(
                f"reference manifest {manifest_path} has {received} for [{name}]; add a [{name}] table "
                f"with keys {', '.join(required)}"
            )
        for key in required:
            value = table.get(key)
            if not isinstance(value, str) or not value.strip():
                received = "no value" if value is None else repr(value)
                raise ReferenceDataError(
                    f"reference manifest {manifest_path} has {received} for '{name}.{key}'; "
                    "set it to a non-empty string"
                )
        parts[name] = _Part(name, {k: table[k].strip() for k in required}, data_dir, manifest_path)
    return parts


def _optional_parts(manifest: Mapping[str, Any], data_dir: Path, manifest_path: Path) -> dict[str, _Part]:
    """The optional parts the manifest describes; one that is there must be complete."""
    present = {name: keys for name, keys in OPTIONAL_KEYS.items() if manifest.get(name) is not None}
    return _parts({name: manifest[name] for name in present}, data_dir, manifest_path, present)


def _map_attribution(manifest: Mapping[str, Any], manifest_path: Path) -> str:
    value = (manifest.get(ATTRIBUTION_PART) or {}).get("map_attribution")
    if value is None:
        return DEFAULT_MAP_ATTRIBUTION
    if not isinstance(value, str) or not value.strip():
        raise ReferenceDataError(
            f"reference manifest {manifest_path} has {value!r} for 'attribution.map_attribution'; "
            "set it to the short line a map must carry, or remove it"
        )
    return " ".join(value.split())


def _attribution(
    manifest: Mapping[str, Any], data_dir: Path, manifest_path: Path
) -> tuple[tuple[str, ...], Path | None]:
    table = manifest.get(ATTRIBUTION_PART)
    if not isinstance(table, dict):
        raise ReferenceDataError(
            f"reference manifest {manifest_path} has no [{ATTRIBUTION_PART}] table; add one with "
            "statements = [...] copied from the data's licence notes, and sources_file"
        )
    statements = table.get("statements")
    if (
        not isinstance(statements, list)
        or not statements
        or not all(isinstance(s, str) and s.strip() for s in statements)
    ):
        raise ReferenceDataError(
            f"reference manifest {manifest_path} has {statements!r} for 'attribution.statements'; "
            "set it to a list of the attribution statements (non-empty strings)"
        )
    sources_file = table.get("sources_file")
    if sources_file is not None and not isinstance(sources_file, str):
        raise ReferenceDataError(
            f"reference manifest {manifest_path} has {sources_file!r} for 'attribution.sources_file'; "
            'set it to a file name such as "SOURCES.md" or remove it'
        )
    sources_path = data_dir / sources_file if sources_file else None
    if sources_path is not None and not sources_path.is_file():
        sources_path = None
    return tuple(" ".join(s.split()) for s in statements), sources_path


# --------------------------------------------------------------------------- reading files


def _existing_file(part: _Part) -> Path:
    path = part.path
    if not path.is_file():
        raise ReferenceDataError(
            f"reference file {path} is missing; put it in {part.data_dir} (REFERENCE_DATA_DIR) or {part.fix()}"
        )
    return path


def _require_columns(part: _Part, available: list[str], keys: list[str]) -> None:
    for key in keys:
        column = part.keys[key]
        if column not in available:
            raise ReferenceDataError(
                f"reference file {part.path} has no column {column!r} (manifest {part.name}.{key}); "
                f"columns are: {', '.join(map(str, available))}; {part.fix(key)}"
            )


def _text(part: _Part, values: pd.Series, key: str, *, required: bool) -> pd.Series:
    """Column as stripped text; missing/blank cells become NaN, or an error if ``required``."""
    text = values.astype("str").str.strip().where(values.notna())
    text = text.mask(text == "")
    if required and text.isna().any():
        row = int(np.flatnonzero(text.isna().to_numpy())[0])
        raise ReferenceDataError(
            f"reference file {part.path} has a blank {part.keys[key]!r} (manifest {part.name}.{key}) "
            f"in data row {row + 1}; fill it in"
        )
    return text


def _unique(part: _Part, codes: pd.Series, key: str) -> None:
    duplicated = codes[codes.duplicated()]
    if len(duplicated):
        raise ReferenceDataError(
            f"reference file {part.path} has {len(duplicated)} repeated value(s) in {part.keys[key]!r} "
            f"(manifest {part.name}.{key}), first {duplicated.iloc[0]!r}; each must appear once"
        )


def _read_layer(part: _Part, columns: Mapping[str, str]) -> gpd.GeoDataFrame:
    """Read ``part``'s polygon file into EPSG:4326 with valid geometry.

    ``columns`` maps each output column to the manifest key naming its source column, e.g.
    ``{"code": "code_field"}``; every one must be non-blank. The first output column is the
    code used to name rows in errors.
    """
    path = _existing_file(part)
    try:
        raw = gpd.read_file(path, engine="pyogrio")
    except _GEO_READ_ERRORS as exc:
        raise ReferenceDataError(
            f"reference file {path} cannot be read as a boundary file ({exc}); replace it with a good copy or {part.fix()}"
        ) from exc
    if not isinstance(raw, gpd.GeoDataFrame) or raw.geometry.name not in raw.columns:
        raise ReferenceDataError(f"reference file {path} has no geometry; {part.fix()} to point at a boundary file")
    if len(raw) == 0:
        raise ReferenceDataError(f"reference file {path} has no features; replace it with a good copy or {part.fix()}")
    _require_columns(part, [c for c in raw.columns if c != raw.geometry.name], list(columns.values()))
    data = {out: _text(part, raw[part.keys[key]], key, required=True) for out, key in columns.items()}
    code = next(iter(data.values()))
    geometry = _valid_polygons(part, raw.geometry, code)
    layer = gpd.GeoDataFrame(data, geometry=geometry, crs=raw.crs)
    layer = layer.rename_geometry("geometry") if layer.geometry.name != "geometry" else layer
    return _to_wgs84(part, layer)


def _valid_polygons(part: _Part, geometry: gpd.GeoSeries, codes: pd.Series) -> gpd.GeoSeries:
    """Refuse missing or non-polygon shapes; repair invalid polygons with ``make_valid``."""
    missing = (geometry.isna() | geometry.is_empty).to_numpy()
    if missing.any():
        raise ReferenceDataError(
            f"reference file {part.path} has {int(missing.sum())} feature(s) with no geometry "
            f"(first {codes.iloc[int(np.flatnonzero(missing)[0])]!r}); replace it with a complete copy"
        )
    kinds = set(geometry.geom_type.unique()) - _POLYGONAL
    if kinds:
        raise ReferenceDataError(
            f"reference file {part.path} holds {', '.join(sorted(kinds))} shapes, not polygons; {part.fix()} "
            "to point at a boundary (polygon) file"
        )
    invalid = ~geometry.is_valid.to_numpy()
    if not invalid.any():
        return geometry
    repaired = geometry.to_numpy().copy()
    repaired[invalid] = shapely.make_valid(repaired[invalid], method="structure", keep_collapsed=False)
    return gpd.GeoSeries(repaired, index=geometry.index, crs=geometry.crs)


def _to_wgs84(part: _Part, layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject a layer with a known CRS to EPSG:4326; refuse one with no CRS or bad degrees."""
    if layer.crs is None:
        raise ReferenceDataError(
            f"reference file {part.path} has no coordinate reference system; save it with one "
            "(EPSG:4326 preferred, or e.g. EPSG:27700 and it is reprojected)"
        )
    if layer.crs.to_epsg() != 4326:
        try:
            layer = layer.to_crs(WGS84)
        except (pyproj.exceptions.CRSError, pyproj.exceptions.ProjError, ValueError) as exc:
            raise ReferenceDataError(
                f"reference file {part.path} is in {layer.crs.to_string()}, which cannot be converted to "
                f"{WGS84} ({exc}); save it in {WGS84}"
            ) from exc
    minx, miny, maxx, maxy = layer.total_bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ReferenceDataError(
            f"reference file {part.path} says it is in {layer.crs.to_string()} but its coordinates reach "
            f"({minx:.0f}, {miny:.0f})-({maxx:.0f}, {maxy:.0f}), which are not degrees; save it with its true CRS"
        )
    return layer.set_crs(WGS84, allow_override=True)


def _csv_columns(part: _Part, path: Path) -> list[str]:
    try:
        return [str(c) for c in pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns]
    except _CSV_READ_ERRORS as exc:
        raise ReferenceDataError(
            f"reference file {path} cannot be read as CSV ({exc}); replace it with a good copy or {part.fix()}"
        ) from exc


def _read_csv(part: _Part, text: Mapping[str, str], numbers: Mapping[str, str]) -> pd.DataFrame:
    """Read only the columns ``part`` needs, with explicit dtypes.

    ``text`` and ``numbers`` map each output column to the manifest key naming its source
    column. Text is stripped (blank -> NaN); numbers are float64 (thousands commas allowed).
    """
    path = _existing_file(part)
    available = _csv_columns(part, path)
    _require_columns(part, available, [*text.values(), *numbers.values()])
    sources = {out: part.keys[key] for out, key in {**text, **numbers}.items()}
    dtype = {part.keys[key]: "str" for key in text.values()} | {part.keys[key]: "float64" for key in numbers.values()}
    try:
        raw = pd.read_csv(path, usecols=list(set(sources.values())), dtype=dtype, thousands=",", encoding="utf-8-sig")
    except _CSV_READ_ERRORS as exc:
        raise ReferenceDataError(
            f"reference file {path} cannot be read as CSV ({exc}); replace it with a good copy or {part.fix()}"
        ) from exc
    except ValueError as exc:  # a cell in a number column is not a number
        raise _bad_number(part, numbers, exc) from exc
    if raw.empty:
        raise ReferenceDataError(f"reference file {path} has no data rows; replace it with a good copy or {part.fix()}")
    frame = pd.DataFrame({out: raw[src] for out, src in sources.items()})
    for out, key in text.items():
        frame[out] = _text(part, frame[out], key, required=False)
    return frame


def _bad_number(part: _Part, numbers: Mapping[str, str], exc: ValueError) -> ReferenceDataError:
    """Re-read the number columns as text to name the first cell that is not a number."""
    columns = list({part.keys[key]: key for key in numbers.values()}.items())
    try:
        raw = pd.read_csv(part.path, usecols=[c for c, _ in columns], dtype="str", encoding="utf-8-sig")
    except (*_CSV_READ_ERRORS, ValueError):
        raw = pd.DataFrame()
    for column, key in columns:
        if column not in raw:
            continue
        values = raw[column]
        parsed = pd.to_numeric(values.str.replace(",", "", regex=False), errors="coerce")
        bad = np.flatnonzero((parsed.isna() & values.notna()).to_numpy())
        if len(bad):
            return ReferenceDataError(
                f"reference file {part.path} has {values.iloc[bad[0]]!r} in column {column!r} "
                f"(manifest {part.name}.{key}) on line {bad[0] + 2}, which is not a number; "
                f"correct the file or {part.fix(key)}"
            )
    return ReferenceDataError(f"reference file {part.path} cannot be read as CSV ({exc}); replace it with a good copy")


def _whole_numbers(part: _Part, values: pd.Series, key: str) -> pd.Series:
    """Float column -> Int64, refusing fractions (missing stays <NA>)."""
    fractional = values.notna() & (values % 1 != 0)
    if fractional.any():
        raise ReferenceDataError(
            f"reference file {part.path} has {values[fractional].iloc[0]!r} in column {part.keys[key]!r} "
            f"(manifest {part.name}.{key}), which is not a whole number; correct the file or {part.fix(key)}"
        )
    return values.astype("Int64")


def _matched(part: _Part, codes: pd.Series, against: pd.Series, against_part: _Part, key: str) -> None:
    """Refuse a join in which no code matches: the manifest surely names the wrong column."""
    if not codes.isin(against).any():
        example = codes.dropna().iloc[0] if codes.notna().any() else None
        raise ReferenceDataError(
            f"reference file {part.path} has no {part.keys[key]!r} (manifest {part.name}.{key}) matching a "
            f"code in {against_part.path} (received e.g. {example!r}, expected e.g. {against.iloc[0]!r}); "
            f"{part.fix(key)}"
        )


# --------------------------------------------------------------------------- the layers


def _force_area(part: _Part) -> gpd.GeoDataFrame:
    """One row (code, name, geometry); several rows are dissolved, keeping the first's code and name."""
    layer = _read_layer(part, {"code": "code_field", "name": "name_field"})
    if len(layer) > 1:
        outline = shapely.make_valid(shapely.union_all(layer.geometry.to_numpy()), method="structure")
        layer = gpd.GeoDataFrame(
            {"code": [layer["code"].iloc[0]], "name": [layer["name"].iloc[0]]}, geometry=[outline], crs=WGS84
        )
    return layer.reset_index(drop=True)


def _districts(part: _Part, households_part: _Part) -> gpd.GeoDataFrame:
    """Districts with Census households and residents; household rows for other codes are ignored."""
    layer = _read_layer(part, {"code": "code_field", "name": "name_field"})
    _unique(part, layer["code"], "code_field")
    counts = _read_csv(
        households_part,
        text={"code": "code_field"},
        numbers={"households": "households_field", "residents": "residents_field"},
    )
    _matched(households_part, counts["code"], layer["code"], part, "code_field")
    counts = counts[counts["code"].isin(layer["code"])]
    _unique(households_part, counts["code"], "code_field")
    for column, key in (("households", "households_field"), ("residents", "residents_field")):
        counts[column] = _whole_numbers(households_part, counts[column], key)
    by_code = counts.set_index("code")
    districts = layer.assign(
        households=layer["code"].map(by_code["households"]).astype("Int64"),
        residents=layer["code"].map(by_code["residents"]).astype("Int64"),
    )
    districts = districts[["code", "name", "households", "residents", "geometry"]]
    return districts.sort_values(["name", "code"], kind="stable").reset_index(drop=True)


def _small_areas(parts: Mapping[str, _Part], districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Small areas with residents, an ESTIMATE of households, and deprivation."""
    part = parts["small_areas"]
    layer = _read_layer(part, {"code": "code_field", "name": "name_field", "district_code": "district_field"})
    _unique(part, layer["code"], "code_field")
    _matched(part, layer["district_code"], districts["code"], parts["districts"], "district_field")

    population_part = parts["small_area_population"]
    population = _read_csv(population_part, text={"code": "code_field"}, numbers={"residents": "residents_field"})
    population = population.dropna(subset=["code"])
    _unique(population_part, population["code"], "code_field")
    _matched(population_part, population["code"], layer["code"], part, "code_field")

    deprivation_part = parts["deprivation"]
    deprivation = _read_csv(
        deprivation_part, text={"code": "code_field"}, numbers={"imd_decile": "decile_field", "imd_rank": "rank_field"}
    )
    deprivation = deprivation.dropna(subset=["code"])
    _unique(deprivation_part, deprivation["code"], "code_field")
    _matched(deprivation_part, deprivation["code"], layer["code"], part, "code_field")
    imd = deprivation.set_index("code")

    residents = layer["code"].map(population.set_index("code")["residents"]).astype("float64")
    per_resident = pd.Series(
        districts["households"].to_numpy(dtype="float64", na_value=np.nan)
        / districts["residents"].to_numpy(dtype="float64", na_value=np.nan),
        index=districts["code"].to_numpy(),
    )
    small_areas = layer.assign(
        residents=residents,
        households_estimate=residents * layer["district_code"].map(per_resident).astype("float64"),
        imd_decile=_whole_numbers(
            deprivation_part, layer["code"].map(imd["imd_decile"]).astype("float64"), "decile_field"
        ),
        imd_rank=_whole_numbers(deprivation_part, layer["code"].map(imd["imd_rank"]).astype("float64"), "rank_field"),
    )
    columns = [
        "code",
        "name",
        "district_code",
        "residents",
        "households_estimate",
        "imd_decile",
        "imd_rank",
        "geometry",
    ]
    return small_areas[columns].sort_values("code", kind="stable").reset_index(drop=True)


def _wards(part: _Part) -> gpd.GeoDataFrame:
    """Wards (code, name, geometry) sorted by name: names and outlines for the maps only."""
    layer = _read_layer(part, {"code": "code_field", "name": "name_field"})
    return layer.sort_values(["name", "code"], kind="stable").reset_index(drop=True)


def _postcodes(part: _Part) -> pd.DataFrame:
    """Postcode centroids. Rows with no postcode or no coordinates (Code-Point Open marks
    those with easting = northing = 0) are dropped, as are repeats of a postcode (first kept)."""
    frame = _read_csv(
        part,
        text={"postcode": "postcode_field", "district_code": "district_field", "small_area_code": "small_area_field"},
        numbers={
            "lon": "longitude_field",
            "lat": "latitude_field",
            "easting_m": "easting_field",
            "northing_m": "northing_field",
        },
    )
    located = frame[["lon", "lat", "easting_m", "northing_m"]].notna().all(axis=1)
    located &= ~((frame["easting_m"] == 0) & (frame["northing_m"] == 0))
    frame = frame[located & frame["postcode"].notna()]
    key = frame["postcode"].str.replace(r"\s+", "", regex=True).str.upper()
    frame = frame.assign(postcode=key.str[:-3] + " " + key.str[-3:], postcode_key=key)
    frame = frame[~frame["postcode_key"].duplicated()]
    if frame.empty:
        raise ReferenceDataError(
            f"reference file {part.path} has no postcode with coordinates; replace it with a good copy"
        )
    columns = ["postcode", "postcode_key", "lon", "lat", "easting_m", "northing_m", "district_code", "small_area_code"]
    return frame[columns].reset_index(drop=True)


# --------------------------------------------------------------------------- public functions


def load_reference(data_dir: Path, manifest_path: Path) -> ReferenceGeography:
    """Read every reference layer named by the manifest, checked and in EPSG:4326.

    Parameters
    ----------
    data_dir
        The reference-data folder; manifest ``file`` entries are relative to it.
    manifest_path
        The TOML manifest (see ``data/reference_manifest.toml``).

    Raises
    ------
    ReferenceDataError
        One line naming the file and how to fix it: a file missing or unreadable, a column
        missing, a layer empty, a layer with no CRS, or a bad manifest.

    Examples
    --------
    >>> from dashboard.config import DEFAULT_MANIFEST, DEFAULT_REFERENCE_DIR
    >>> list(load_reference(DEFAULT_REFERENCE_DIR, DEFAULT_MANIFEST).districts.columns)
    ['code', 'name', 'households', 'residents', 'geometry']
    """
    data_dir, manifest_path = Path(data_dir), Path(manifest_path)
    manifest = _read_manifest(manifest_path)
    parts = _parts(manifest, data_dir, manifest_path)
    optional = _optional_parts(manifest, data_dir, manifest_path)
    attribution, sources_path = _attribution(manifest, data_dir, manifest_path)
    map_attribution = _map_attribution(manifest, manifest_path)
    if not data_dir.is_dir():
        raise ReferenceDataError(
            f"reference-data folder {data_dir} does not exist; set REFERENCE_DATA_DIR to the folder holding "
            f"the files named in {manifest_path}"
        )
    force_area = _force_area(parts["force_area"])
    districts = _districts(parts["districts"], parts["households"])
    return ReferenceGeography(
        force_name=str(force_area["name"].iloc[0]),
        force_code=str(force_area["code"].iloc[0]),
        force_area=force_area,
        districts=districts,
        small_areas=_small_areas(parts, districts),
        postcodes=_postcodes(parts["postcodes"]),
        attribution=attribution,
        sources_path=sources_path,
        wards=_wards(optional["wards"]) if "wards" in optional else None,
        map_attribution=map_attribution,
    )


@functools.lru_cache(maxsize=4)
def cached_reference(data_dir: Path, manifest_path: Path) -> ReferenceGeography:
    """``load_reference`` once per process for each (folder, manifest) pair.

    The files are not re-read when they change; call ``cached_reference.cache_clear()``
    to force it. A failed load is not cached.
    """
    return load_reference(data_dir, manifest_path)


@functools.lru_cache(maxsize=8)
def districts_geojson(ref: ReferenceGeography, tolerance_deg: float = 0.0005) -> dict:
    """Simplified district polygons as a GeoJSON FeatureCollection for the map base layer.

    Computed once per loaded reference (cached): callers must not mutate the result.

    The districts tile the force area, so they are simplified together
    (:func:`shapely.coverage_simplify`): shared borders stay shared, with no slivers or gaps.
    If the layer is not a clean coverage each polygon is simplified on its own
    (Douglas-Peucker, topology kept). Coordinates are snapped to 5 decimal places (about
    1 m). Each feature has ``id`` and ``properties`` ``code`` and ``name``.

    Parameters
    ----------
    ref
        Loaded reference geography.
    tolerance_deg
        Simplification tolerance in degrees (0.0005 deg is about 35-55 m here); 0 keeps
        every vertex.

    Examples
    --------
    >>> fc = districts_geojson(ref)
    >>> len(fc["features"]) == len(ref.districts), sorted(fc["features"][0]["properties"])
    (True, ['code', 'name'])
    """
    return _areas_geojson(ref.districts, tolerance_deg)


@functools.lru_cache(maxsize=8)
def small_areas_geojson(ref: ReferenceGeography, tolerance_deg: float = 0.0004) -> dict:
    """Simplified small-area (LSOA) polygons, as :func:`districts_geojson` (cached; do not mutate)."""
    return _areas_geojson(ref.small_areas, tolerance_deg)


def _areas_geojson(areas: gpd.GeoDataFrame, tolerance_deg: float) -> dict:
    if not (isinstance(tolerance_deg, (int, float)) and math.isfinite(tolerance_deg) and tolerance_deg >= 0):
        raise ValueError(f"tolerance_deg must be a finite number of degrees >= 0, got {tolerance_deg!r}")
    shapes = areas.geometry.to_numpy()
    if tolerance_deg > 0:
        if shapely.coverage_is_valid(shapes):
            shapes = shapely.coverage_simplify(shapes, tolerance_deg)
        else:
            shapes = shapely.simplify(shapes, tolerance_deg, preserve_topology=True)
    shapes = shapely.set_precision(shapes, 1e-5)
    features = [
        {
            "type": "Feature",
            "id": code,
            "properties": {"code": code, "name": name},
            "geometry": _rounded(shapely.geometry.mapping(shape), 5),
        }
        for code, name, shape in zip(areas["code"], areas["name"], shapes, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def _rounded(value: Any, ndigits: int) -> Any:
    """GeoJSON mapping with tuples turned into lists and floats rounded."""
    if isinstance(value, float):
        return round(value, ndigits)
    if isinstance(value, dict):
        return {k: _rounded(v, ndigits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v, ndigits) for v in value]
    return value
