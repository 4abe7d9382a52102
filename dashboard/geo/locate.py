"""Where an incident happened: an officer's typed text, or a map click, as a point in the force area.

:func:`parse_location` reads, ignoring case and extra spaces:

* a postcode in the force's reference list (``"st16 2dh"``, ``"ST162DH"``): its centroid;
* latitude and longitude in decimal degrees, latitude first (``"52.8064, -2.1174"``,
  ``"52.8064 -2.1174"``), or with hemisphere letters before or after each number
  (``"52.8064N 2.1174W"``, ``"N52.8064 W2.1174"``); with letters the order is free, since
  N/S marks the latitude and E/W the longitude;
* an Ordnance Survey grid reference: two letters and 2, 4, 6, 8 or 10 digits
  (``"SJ 88 45"``, ``"SJ8845045750"``, ``"SJ 88450 45750"``), for any 100 km square of Great
  Britain;
* an all-numeric easting and northing in metres (``"388450, 345750"``), 6 digits each, 7 for a
  northing of 1,000,000 m or more.

Decisions
---------
* A grid reference names a *square*, not a point: ``SJ 88 45`` is the 1 km square whose
  south-west corner is (388000, 345000). The incident point is the **centre** of that square,
  (388500, 345500), so it is never more than half a square's diagonal from anywhere the officer
  meant. A 10-digit reference is already at 1 m, the precision of the reference postcodes and
  of GPS, and is taken as the point itself (no half-metre shift), so
  ``parse_grid_reference(format_grid_reference(e, n))`` gives back whole-metre ``(e, n)``.
  :func:`format_grid_reference` truncates, as the OS does, so the centre of a square formats
  back to that square.
* "Inside the force area" means inside the force-area outline *or* inside one of the districts:
  the two reference layers are generalised separately and differ by up to tens of metres along the
  border. A postcode in the force's own reference list is always accepted (a handful of border
  centroids fall just outside the generalised outlines); its district is the one containing
  the centroid, or else the district the postcode file gives.
* Coordinates: British National Grid is EPSG:27700, latitude/longitude is WGS84 (EPSG:4326),
  converted with one pyproj transformer each way (``always_xy=True``). Without the OSTN15 grid
  file PROJ uses a Helmert transformation accurate to about 2 m, well inside the +-5 m of a
  postcode centroid; with the grid installed it is used automatically.
* Every example in an error message is taken from the loaded reference data (a postcode near the
  middle of the force area), so nothing here names a particular force.

Every bad input raises :class:`LocationError` (a ``ValueError``) whose ``field`` is
``"location"`` and whose message is one plain-English sentence saying what is wrong.

>>> parse_grid_reference("SJ 88 45")
(388500.0, 345500.0)
>>> format_grid_reference(392322, 323196)
'SJ 92322 23196'
"""

from __future__ import annotations

import math
import re
import weakref
from dataclasses import dataclass

import numpy as np
import shapely

from dashboard.core import crs
from dashboard.core.crs import WGS84
from dashboard.geo.reference import ReferenceGeography, postcode_key

FIELD = "location"

GRID_WIDTH_M = 700_000  # extent of the National Grid's lettered squares (SV..TW, HL..HP)
GRID_HEIGHT_M = 1_300_000
SQUARE_M = 100_000
GRID_DIGITS = (2, 4, 6, 8, 10)

# The OS letters: a 5 x 5 grid of A..Z without I, read row by row from the north-west.
_LETTERS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
_FIRST_LETTERS = "STNOH"  # the 500 km squares that hold land in Great Britain
_MAX_TEXT = 100  # longer text is no location anyone types

_POSTCODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}")  # on the key: upper case, no spaces
_OUTWARD = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?")
_POSTCODE_LIKE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]{2,6}")
_GRID = re.compile(r"([A-Z])([A-Z]) ?(\d+(?: \d+)*)")  # on normalised text: single spaces
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_TOKEN = re.compile(rf"(?P<number>{_NUMBER})|(?P<letter>[NSEW])|(?P<gap>[\s,;°]+)")


class LocationError(ValueError):
    """A location that cannot be used; ``str(exc)`` is one plain-English sentence.

    Attributes
    ----------
    field
        The input that is wrong (``"location"``).

    >>> str(LocationError("Enter where the incident happened."))
    'Enter where the incident happened.'
    >>> LocationError("x").field
    'location'
    """

    def __init__(self, message: str, field: str = FIELD) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class IncidentPoint:
    """An incident location, in WGS84 and British National Grid.

    Attributes
    ----------
    lat, lon
        WGS84 (EPSG:4326) degrees.
    easting_m, northing_m
        British National Grid (EPSG:27700) metres.
    district_code
        The reference district containing the point, ``None`` if none does.
    source
        ``"postcode"``, ``"latlon"``, ``"grid"`` or ``"map"``.
    label
        How to show the point back, e.g. ``"ST16 2DH (postcode centroid)"``,
        ``"52.80640, -2.11740"``, ``"SJ 92300 23100"``.
    """

    lat: float
    lon: float
    easting_m: float
    northing_m: float
    district_code: str | None
    source: str
    label: str


# --------------------------------------------------------------------------- grid letters


def _square_origins() -> dict[str, tuple[int, int]]:
    """South-west corner (metres) of every lettered 100 km square of the National Grid."""
    origins: dict[str, tuple[int, int]] = {}
    for first in _FIRST_LETTERS:
        i = _LETTERS.index(first)
        for second in _LETTERS:
            j = _LETTERS.index(second)
            east = ((i % 5) - 2) * 5 + j % 5  # the 500 km grid's false origin puts S at (0, 0)
            north = (19 - (i // 5) * 5) - j // 5
            if 0 <= east * SQUARE_M < GRID_WIDTH_M and 0 <= north * SQUARE_M < GRID_HEIGHT_M:
                origins[first + second] = (east * SQUARE_M, north * SQUARE_M)
    return origins


_SQUARE_ORIGINS = _square_origins()
_SQUARE_LETTERS = {origin: letters for letters, origin in _SQUARE_ORIGINS.items()}


def square_origin(letters: str) -> tuple[int, int]:
    """South-west corner ``(easting_m, northing_m)`` of a 100 km square, EPSG:27700.

    Raises :class:`LocationError` saying why the letters are not a square.

    >>> square_origin("SJ"), square_origin("tq"), square_origin("HP")
    ((300000, 300000), (500000, 100000), (400000, 1200000))
    """
    letters = letters.upper()
    if letters in _SQUARE_ORIGINS:
        return _SQUARE_ORIGINS[letters]
    if len(letters) != 2 or not letters.isalpha():
        raise LocationError(
            f"{letters} is not an Ordnance Survey grid square; a square is named by two letters, such as SJ."
        )
    if "I" in letters:
        raise LocationError(
            f"{letters} is not an Ordnance Survey grid square, because the letter I is not used in grid references."
        )
    if letters[0] not in _FIRST_LETTERS:
        raise LocationError(
            f"{letters} is not an Ordnance Survey grid square, because the first letter must be S, T, N, O or H."
        )
    raise LocationError(
        f"{letters} is not an Ordnance Survey grid square, because it lies beyond the edge of the National Grid."
    )


def parse_grid_reference(text: str) -> tuple[float, float]:
    """``(easting_m, northing_m)`` in EPSG:27700 from an OS grid reference.

    Accepts two letters and 2, 4, 6, 8 or 10 digits, with or without spaces, or an all-numeric
    easting and northing (6 digits each, 7 for a northing of 1,000,000 m or more). A reference
    coarser than 1 m gives the *centre* of the square it names; a 10-digit one gives the point.

    Raises :class:`LocationError` for bad letters, an odd or unequal number of digits, too many
    digits, or text that is not a grid reference.

    >>> parse_grid_reference("SJ 88 45")  # the 1 km square SJ 88 45, centre
    (388500.0, 345500.0)
    >>> parse_grid_reference("sj8845045750")
    (388450.0, 345750.0)
    >>> parse_grid_reference("388450, 345750")
    (388450.0, 345750.0)
    """
    if not isinstance(text, str):
        raise TypeError(f"grid reference must be a string, got {type(text).__name__}: {text!r}")
    normal = _normalise(text)
    lettered = _lettered_grid(normal)
    if lettered is not None:
        return lettered[0], lettered[1]
    numbers = _numbers(normal)
    if numbers is not None and _looks_like_easting_northing(numbers):
        return _numeric_grid(numbers, normal)
    if not normal:
        raise LocationError("Enter an Ordnance Survey grid reference, such as SJ 88 45.")
    raise LocationError(f"{normal} is not an Ordnance Survey grid reference such as SJ 88 45.")


def format_grid_reference(easting_m: float, northing_m: float, digits: int = 10) -> str:
    """OS grid reference of a point: the square (of ``digits`` precision) that contains it.

    Digits are truncated, not rounded, as the Ordnance Survey does.

    Parameters
    ----------
    easting_m, northing_m
        EPSG:27700 metres, inside the National Grid (0 to 700,000 and 0 to 1,300,000).
    digits
        2, 4, 6, 8 or 10 (10 km down to 1 m).

    >>> format_grid_reference(388450, 345750)
    'SJ 88450 45750'
    >>> format_grid_reference(388450, 345750, digits=4)
    'SJ 88 45'
    >>> format_grid_reference(651234.9, 310000, digits=6)
    'TG 512 100'
    """
    if digits not in GRID_DIGITS:
        raise ValueError(f"digits must be one of {GRID_DIGITS}, got {digits!r}")
    for name, value, limit in (("easting_m", easting_m, GRID_WIDTH_M), ("northing_m", northing_m, GRID_HEIGHT_M)):
        if not (isinstance(value, (int, float, np.number)) and math.isfinite(value) and 0 <= value < limit):
            raise ValueError(f"{name} must be within the National Grid (0 to {limit:,} m), got {value!r}")
    east, north = math.floor(easting_m), math.floor(northing_m)
    letters = _SQUARE_LETTERS[(east - east % SQUARE_M, north - north % SQUARE_M)]
    half = digits // 2
    step = 10 ** (5 - half)
    return f"{letters} {(east % SQUARE_M) // step:0{half}d} {(north % SQUARE_M) // step:0{half}d}"


def _lettered_grid(normal: str) -> tuple[float, float, int] | None:
    """``(easting_m, northing_m, digits)`` for lettered grid-reference text, ``None`` if the
    text is not shaped like one; :class:`LocationError` if it is, but is wrong."""
    match = _GRID.fullmatch(normal)
    if match is None:
        return None
    letters = match[1] + match[2]
    groups = match[3].split()
    count = sum(len(g) for g in groups)
    if count % 2:
        raise LocationError(
            f"{normal} has {count} digits after the letters, but a grid reference needs an even number "
            "(2, 4, 6, 8 or 10): half for the easting and half for the northing."
        )
    if count > 10:
        raise LocationError(
            f"{normal} has {count} digits after the letters, but a grid reference has at most 10 (1 m precision)."
        )
    if len(groups) > 2:
        raise LocationError(
            f"{normal} has its digits in {len(groups)} groups; write the letters, then the easting digits "
            "and the northing digits."
        )
    if len(groups) == 2 and len(groups[0]) != len(groups[1]):
        raise LocationError(
            f"{normal} gives {len(groups[0])} easting digits and {len(groups[1])} northing digits; "
            "a grid reference needs the same number of each."
        )
    east0, north0 = square_origin(letters)
    digits = "".join(groups)
    half = count // 2
    size_m = 10 ** (5 - half)
    centre_m = size_m / 2 if half < 5 else 0.0
    return (
        float(east0 + int(digits[:half]) * size_m + centre_m),
        float(north0 + int(digits[half:]) * size_m + centre_m),
        count,
    )


def _numeric_grid(numbers: _Numbers, normal: str) -> tuple[float, float]:
    """Easting and northing from two all-numeric values, checked against the National Grid."""
    east, north = numbers.values
    if east.whole_digits != 6 or north.whole_digits not in (6, 7):
        raise LocationError(
            f"{normal} is not an easting and northing, which need 6 digits each "
            "(7 for a northing of 1,000,000 m or more)."
        )
    for name, number, limit in (("Easting", east, GRID_WIDTH_M), ("Northing", north, GRID_HEIGHT_M)):
        if number.value >= limit:
            raise LocationError(f"{name} {number.text} is outside the National Grid, which runs from 0 to {limit:,} m.")
    return east.value, north.value


# --------------------------------------------------------------------------- numbers in text


@dataclass(frozen=True)
class _Number:
    text: str  # as typed, with its hemisphere letter if any
    value: float  # signed: S and W are negative
    axis: str | None  # "lat" or "lon" from a hemisphere letter, else None
    whole_digits: int  # digits before the decimal point
    signed: bool  # typed with + or -


@dataclass(frozen=True)
class _Numbers:
    values: tuple[_Number, _Number]
    letters: bool


def _numbers(normal: str) -> _Numbers | None:
    """Two numbers, each with an optional hemisphere letter before or after it; ``None`` if
    the text is not made only of those (and separators).

    >>> [n.value for n in _numbers("52.8064N 2.1174W").values]
    [52.8064, -2.1174]
    """
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(normal):
        match = _TOKEN.match(normal, position)
        if match is None:
            return None
        if match.lastgroup != "gap":
            tokens.append((match.lastgroup, match[0]))
        position = match.end()
    kinds = "".join("n" if kind == "number" else "L" for kind, _ in tokens)
    if kinds == "nn":
        pairs = [(tokens[0][1], None), (tokens[1][1], None)]
    elif kinds == "LnLn":
        pairs = [(tokens[1][1], tokens[0][1]), (tokens[3][1], tokens[2][1])]
    elif kinds == "nLnL":
        pairs = [(tokens[0][1], tokens[1][1]), (tokens[2][1], tokens[3][1])]
    elif kinds.count("n") == 2 and kinds.count("L") == 1:
        raise LocationError(
            f"{normal} has a hemisphere letter on only one number; "
            "give both numbers a letter (N or S, E or W) or neither."
        )
    else:
        return None
    return _Numbers(values=(_number(*pairs[0]), _number(*pairs[1])), letters=kinds != "nn")


def _number(text: str, letter: str | None) -> _Number:
    signed = text[0] in "+-"
    if signed and letter is not None:
        raise LocationError(
            f"{text}{letter} has both a sign and a hemisphere letter; "
            f"use one or the other, such as {text.lstrip('+-')}{letter}."
        )
    value = float(text)
    if letter in ("S", "W"):
        value = -value
    axis = None if letter is None else ("lat" if letter in "NS" else "lon")
    whole = text.lstrip("+-").split(".")[0]
    return _Number(text=text + (letter or ""), value=value, axis=axis, whole_digits=len(whole), signed=signed)


def _looks_like_easting_northing(numbers: _Numbers) -> bool:
    """No hemisphere letters or signs, and at least 4 digits before each decimal point
    (a latitude or longitude has at most 3)."""
    return not numbers.letters and all(n.whole_digits >= 4 and not n.signed for n in numbers.values)


def _lat_lon(numbers: _Numbers, normal: str) -> tuple[_Number, _Number]:
    """The latitude and longitude among two numbers, checked for range."""
    first, second = numbers.values
    if first.axis is not None and first.axis == second.axis:
        which = "latitudes" if first.axis == "lat" else "longitudes"
        raise LocationError(f"{normal} gives two {which}; give one latitude (N or S) and one longitude (E or W).")
    lat, lon = (second, first) if first.axis == "lon" else (first, second)
    _check_range(lat.text, lat.value, lon.text, lon.value)
    return lat, lon


def _check_range(lat_text: str, lat: float, lon_text: str, lon: float) -> None:
    for name, text, value in (("Latitude", lat_text, lat), ("Longitude", lon_text, lon)):
        if not math.isfinite(value):
            raise LocationError(f"{name} {text} is not a number.")
    if not -90 <= lat <= 90:
        raise LocationError(f"Latitude {lat_text} is out of range: a latitude is between -90 and 90 degrees.")
    if not -180 <= lon <= 180:
        raise LocationError(f"Longitude {lon_text} is out of range: a longitude is between -180 and 180 degrees.")


# --------------------------------------------------------------------------- coordinates


def bng_to_wgs84(easting_m: float, northing_m: float) -> tuple[float, float]:
    """``(lon, lat)`` in EPSG:4326 of an EPSG:27700 point.

    >>> lon, lat = bng_to_wgs84(392322, 323196)  # ST16 2DH; the postcode file says -2.115337, 52.806259
    >>> round(lon, 5), round(lat, 5)
    (-2.11534, 52.80626)
    """
    lon, lat = crs.bng_to_wgs84().transform(easting_m, northing_m)
    return float(lon), float(lat)


def wgs84_to_bng(lon: float, lat: float) -> tuple[float, float]:
    """``(easting_m, northing_m)`` in EPSG:27700 of an EPSG:4326 point.

    >>> [round(v) for v in wgs84_to_bng(-2.115337, 52.806259)]
    [392322, 323196]
    """
    east, north = crs.wgs84_to_bng().transform(lon, lat)
    return float(east), float(north)


def format_lat_lon(lat: float, lon: float) -> str:
    """Latitude, longitude to 5 decimal places (about 1 m).

    >>> format_lat_lon(52.8064, -2.1174)
    '52.80640, -2.11740'
    """
    return f"{lat:.5f}, {lon:.5f}"


# --------------------------------------------------------------------------- the force area


@dataclass(frozen=True)
class _Area:
    """The force's shapes, prepared for fast point-in-polygon, and examples for messages."""

    force_name: str
    outline: shapely.Geometry
    district_codes: tuple[str, ...]
    district_shapes: np.ndarray
    outward_examples: dict[str, str]  # outward code -> its first postcode in the list
    example_postcode: str
    example_grid: str


_AREAS: weakref.WeakKeyDictionary[ReferenceGeography, _Area] = weakref.WeakKeyDictionary()


def _area(ref: ReferenceGeography) -> _Area:
    """The prepared shapes of ``ref``, built on first use (copies: ``ref`` is left untouched)."""
    area = _AREAS.get(ref)
    if area is None:
        area = _AREAS[ref] = _build_area(ref)
    return area


def _build_area(ref: ReferenceGeography) -> _Area:
    outline = shapely.from_wkb(shapely.to_wkb(ref.force_area.to_crs(WGS84).geometry.iloc[0]))
    districts = ref.districts.to_crs(WGS84)
    shapes = shapely.from_wkb(shapely.to_wkb(districts.geometry.to_numpy()))
    shapely.prepare(outline)
    shapely.prepare(shapes)
    keys = ref.postcodes["postcode_key"]
    middle = outline.point_on_surface()
    nearest = int(np.argmin((ref.postcodes["lon"] - middle.x) ** 2 + (ref.postcodes["lat"] - middle.y) ** 2))
    example = ref.postcodes.iloc[nearest]
    return _Area(
        force_name=ref.force_name,
        outline=outline,
        district_codes=tuple(str(code) for code in districts["code"]),
        district_shapes=shapes,
        outward_examples=ref.postcodes["postcode"].groupby(keys.str[:-3].to_numpy()).min().to_dict(),
        example_postcode=str(example["postcode"]),
        example_grid=format_grid_reference(example["easting_m"], example["northing_m"], digits=4),
    )


def _district_at(area: _Area, lon: float, lat: float) -> str | None:
    hits = np.flatnonzero(shapely.intersects_xy(area.district_shapes, lon, lat))
    return area.district_codes[hits[0]] if hits.size else None


def _inside(area: _Area, lon: float, lat: float, district_code: str | None) -> bool:
    return district_code is not None or bool(shapely.intersects_xy(area.outline, lon, lat))


def _outside(area: _Area, shown: str) -> LocationError:
    return LocationError(f"{shown} lies outside the {area.force_name} force area.")


# --------------------------------------------------------------------------- public functions


def parse_location(text: str | None, ref: ReferenceGeography) -> IncidentPoint:
    """The incident point an officer typed: postcode, latitude/longitude or grid reference.

    Parameters
    ----------
    text
        As typed; case and extra spaces are ignored. ``None`` counts as empty.
    ref
        The force's reference geography (force area, districts, postcodes).

    Returns
    -------
    IncidentPoint
        In WGS84 and EPSG:27700, with its district and a label to show back.

    Raises
    ------
    LocationError
        ``field == "location"``; the message says what is wrong: nothing entered, a postcode
        not in the force's list or not complete, bad grid letters or digits, a latitude or
        longitude out of range, a point outside the force area, or text that is none of these.

    Examples
    --------
    >>> parse_location("st16 2dh", ref).label
    'ST16 2DH (postcode centroid)'
    >>> parse_location("52.8064, -2.1174", ref).source
    'latlon'
    >>> parse_location("SJ 88 45", ref).easting_m
    388500.0
    """
    if text is not None and not isinstance(text, str):
        raise TypeError(f"location must be a string, got {type(text).__name__}: {text!r}")
    normal = _normalise(text or "")
    if not normal:
        raise LocationError(
            "Enter where the incident happened: a postcode, a latitude and longitude, or a grid reference."
        )
    area = _area(ref)
    if len(normal) > _MAX_TEXT:
        raise _unrecognised(area)
    key = postcode_key(normal)
    if _POSTCODE.fullmatch(key):
        return _from_postcode(key, ref, area)
    if _OUTWARD.fullmatch(key) and (key in area.outward_examples or not _GRID.fullmatch(normal)):
        example = area.outward_examples.get(key, area.example_postcode)
        raise LocationError(f"{key} is only the first half of a postcode; enter the whole postcode, such as {example}.")
    lettered = _lettered_grid(normal)
    if lettered is not None:
        return _from_grid(*lettered, area)
    numbers = _numbers(normal)
    if numbers is not None:
        if _looks_like_easting_northing(numbers):
            east_m, north_m = _numeric_grid(numbers, normal)
            return _from_grid(east_m, north_m, 10, area)
        return _from_lat_lon(numbers, normal, area)
    if _POSTCODE_LIKE.fullmatch(key):
        raise LocationError(f"{normal} is not a complete postcode; a postcode looks like {area.example_postcode}.")
    raise _unrecognised(area)


def point_from_map(lat: float, lon: float, ref: ReferenceGeography) -> IncidentPoint:
    """The incident point where the officer clicked the map (WGS84 degrees).

    Raises :class:`LocationError` if a coordinate is not a number or out of range, or the point
    lies outside the force area.

    >>> point_from_map(52.8064, -2.1174, ref).district_code
    'E07000197'
    """
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        raise LocationError(
            f"The map gave {lat!r}, {lon!r}, which is not a latitude and longitude; click the map again."
        ) from None
    _check_range(repr(lat), lat, repr(lon), lon)
    area = _area(ref)
    district = _district_at(area, lon, lat)
    label = format_lat_lon(lat, lon)
    if not _inside(area, lon, lat, district):
        raise _outside(area, f"The point {label}")
    east_m, north_m = wgs84_to_bng(lon, lat)
    return IncidentPoint(lat, lon, east_m, north_m, district, "map", label)


# --------------------------------------------------------------------------- the four kinds


def _normalise(text: str) -> str:
    """Upper case, single spaces, trimmed.

    >>> _normalise("  sj  88\\t45 ")
    'SJ 88 45'
    """
    return " ".join(text.split()).upper()


def _unrecognised(area: _Area) -> LocationError:
    return LocationError(
        f"Enter a postcode, latitude and longitude, or an OS grid reference such as {area.example_grid}."
    )


def _from_postcode(key: str, ref: ReferenceGeography, area: _Area) -> IncidentPoint:
    row = ref.lookup_postcode(key)
    if row is None:
        raise LocationError(f"{key[:-3]} {key[-3:]} is not a postcode in {area.force_name}'s reference list.")
    lon, lat = float(row["lon"]), float(row["lat"])
    listed = row["district_code"]
    district = _district_at(area, lon, lat) or (str(listed) if isinstance(listed, str) else None)
    return IncidentPoint(
        lat,
        lon,
        float(row["easting_m"]),
        float(row["northing_m"]),
        district,
        "postcode",
        f"{row['postcode']} (postcode centroid)",
    )


_SQUARE_NAMES = {2: "10 km", 4: "1 km", 6: "100 m", 8: "10 m"}


def _from_grid(east_m: float, north_m: float, digits: int, area: _Area) -> IncidentPoint:
    lon, lat = bng_to_wgs84(east_m, north_m)
    shown = format_grid_reference(east_m, north_m, digits)
    district = _district_at(area, lon, lat)
    if not _inside(area, lon, lat, district):
        raise _outside(area, shown)
    label = shown if digits == 10 else f"{shown} (centre of the {_SQUARE_NAMES[digits]} square)"
    return IncidentPoint(lat, lon, east_m, north_m, district, "grid", label)


def _from_lat_lon(numbers: _Numbers, normal: str, area: _Area) -> IncidentPoint:
    lat_n, lon_n = _lat_lon(numbers, normal)
    lat, lon = lat_n.value, lon_n.value
    district = _district_at(area, lon, lat)
    label = format_lat_lon(lat, lon)
    if not _inside(area, lon, lat, district):
        hint = "" if numbers.letters else _lat_lon_hint(area, lat, lon, lon_n.signed)
        raise LocationError(f"{label} lies outside the {area.force_name} force area{hint or '.'}")
    east_m, north_m = wgs84_to_bng(lon, lat)
    return IncidentPoint(lat, lon, east_m, north_m, district, "latlon", label)


def _lat_lon_hint(area: _Area, lat: float, lon: float, lon_signed: bool) -> str:
    """A likely slip (numbers swapped, or a west longitude without its minus sign) that
    would put the point inside the force area, as a clause for the message; else ``""``."""
    candidates = [("latitude comes first", lon, lat)]
    if not lon_signed:
        candidates.append(("longitudes west of Greenwich are negative", lat, -lon))
    for reason, lat2, lon2 in candidates:
        if -90 <= lat2 <= 90 and _inside(area, lon2, lat2, _district_at(area, lon2, lat2)):
            return f"; {reason}, so did you mean {format_lat_lon(lat2, lon2)}?"
    return ""
