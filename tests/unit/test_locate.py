"""Incident location: postcodes, latitude/longitude and OS grid references, checked against
hand-worked squares, the reference postcode file's own coordinates, and an OS worked example;
every kind of bad input has its own message."""

from __future__ import annotations

import re

import numpy as np
import pytest
from pyproj import Geod

from dashboard.geo import locate
from dashboard.geo.locate import (
    IncidentPoint,
    LocationError,
    bng_to_wgs84,
    format_grid_reference,
    parse_grid_reference,
    parse_location,
    point_from_map,
    square_origin,
    wgs84_to_bng,
)

GEOD = Geod(ellps="WGS84")
NOT_EASTING_NORTHING = (
    "is not an easting and northing, which need 6 digits each (7 for a northing of 1,000,000 m or more)."
)
FILE_TOLERANCE_M = 5.0  # the postcode file's longitude/latitude are +-5 m (SOURCES.md)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def error(text, ref) -> LocationError:
    with pytest.raises(LocationError) as caught:
        parse_location(text, ref)
    assert caught.value.field == "location"
    return caught.value


@pytest.fixture(scope="module")
def sample(reference):
    """200 reference postcodes spread over the file, plus ST16 2DH."""
    postcodes = reference.postcodes
    rows = postcodes.iloc[np.linspace(0, len(postcodes) - 1, 200).astype(int)]
    return rows


# --------------------------------------------------------------------------- grid letters, by hand


@pytest.mark.parametrize(
    "letters, origin",
    [
        ("SJ", (300_000, 300_000)),
        ("SK", (400_000, 300_000)),
        ("SO", (300_000, 200_000)),
        ("TQ", (500_000, 100_000)),
        ("NT", (300_000, 600_000)),
        ("SV", (0, 0)),  # the grid's south-west corner (Scilly)
        ("TG", (600_000, 300_000)),  # Norfolk
        ("NN", (200_000, 700_000)),  # Ben Nevis
        ("HP", (400_000, 1_200_000)),  # Shetland
        ("sj", (300_000, 300_000)),
    ],
)
def test_square_origins_worked_by_hand(letters, origin):
    assert square_origin(letters) == origin
    assert parse_grid_reference(f"{letters} 00000 00000") == (float(origin[0]), float(origin[1]))


def test_every_square_of_the_grid_has_one_name():
    """The 700 km x 1300 km grid, less its six all-sea squares east of Shetland, which would
    need a J (JL, JM, JQ, JR, JV, JW) where Great Britain uses S, T, N, O and H."""
    origins = set(locate._SQUARE_ORIGINS.values())
    assert len(locate._SQUARE_ORIGINS) == len(origins) == 7 * 13 - 6
    sea = {(e * 100_000, n * 100_000) for e in (5, 6) for n in (10, 11, 12)}
    assert origins == {(e * 100_000, n * 100_000) for e in range(7) for n in range(13)} - sea
    assert all("I" not in letters and letters[0] in "STNOH" for letters in locate._SQUARE_ORIGINS)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SJ 8 4", (385_000.0, 345_000.0)),  # 10 km square SW corner (380000, 340000) + 5 km
        ("SJ84", (385_000.0, 345_000.0)),
        ("SJ 88 45", (388_500.0, 345_500.0)),  # 1 km square + 500 m
        ("sj8845", (388_500.0, 345_500.0)),
        ("SJ 884 457", (388_450.0, 345_750.0)),  # 100 m square + 50 m
        ("SJ 8845 4575", (388_455.0, 345_755.0)),  # 10 m square + 5 m
        ("SJ 88450 45750", (388_450.0, 345_750.0)),  # 1 m: the point itself
        ("SJ8845045750", (388_450.0, 345_750.0)),
        ("  sj  88450   45750 ", (388_450.0, 345_750.0)),
        ("TQ 30 80", (530_500.0, 180_500.0)),
        ("NT 25 73", (325_500.0, 673_500.0)),
        ("388450, 345750", (388_450.0, 345_750.0)),
        ("388450 345750", (388_450.0, 345_750.0)),
        ("446000, 1140000", (446_000.0, 1_140_000.0)),  # a 7-digit northing (Shetland)
    ],
)
def test_parse_grid_reference_gives_the_centre_of_the_square(text, expected):
    assert parse_grid_reference(text) == expected


@pytest.mark.parametrize(
    "easting_m, northing_m, digits, expected",
    [
        (388_450, 345_750, 10, "SJ 88450 45750"),
        (388_450, 345_750, 8, "SJ 8845 4575"),
        (388_450, 345_750, 6, "SJ 884 457"),
        (388_450, 345_750, 4, "SJ 88 45"),
        (388_450, 345_750, 2, "SJ 8 4"),
        (388_450.99, 345_750.99, 10, "SJ 88450 45750"),  # truncated, not rounded
        (399_999.9, 399_999.9, 4, "SJ 99 99"),
        (400_000, 300_000, 10, "SK 00000 00000"),
        (0, 0, 10, "SV 00000 00000"),
        (465_000, 1_210_000, 4, "HP 65 10"),
        (699_999, 399_999, 10, "TG 99999 99999"),
        (530_123, 180_456, 6, "TQ 301 804"),
    ],
)
def test_format_grid_reference(easting_m, northing_m, digits, expected):
    assert format_grid_reference(easting_m, northing_m, digits) == expected


@pytest.mark.parametrize("text", ["SJ 8 4", "SJ 88 45", "SJ 884 457", "SJ 8845 4575", "SJ 88450 45750", "TQ 30 80"])
def test_a_square_centre_formats_back_to_the_square(text):
    digits = len(re.sub(r"\D", "", text))
    assert format_grid_reference(*parse_grid_reference(text), digits=digits) == text


@pytest.mark.parametrize(
    "args, match",
    [
        ((388_450, 345_750, 5), "digits must be one of"),
        ((388_450, 345_750, 12), "digits must be one of"),
        ((700_000, 345_750), "easting_m must be within the National Grid"),
        ((-1, 345_750), "easting_m must be within"),
        ((388_450, 1_300_000), "northing_m must be within"),
        ((float("nan"), 345_750), "easting_m"),
    ],
)
def test_format_grid_reference_refuses_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        format_grid_reference(*args)


# --------------------------------------------------------------------------- against independent values


def test_reference_postcodes_round_trip_through_a_10_figure_reference(sample):
    for east_m, north_m in zip(sample["easting_m"], sample["northing_m"]):
        text = format_grid_reference(east_m, north_m)
        assert re.fullmatch(r"S[JKOP] \d{5} \d{5}", text)
        assert parse_grid_reference(text) == (east_m, north_m)


def test_wgs84_from_the_grid_matches_the_postcode_file(sample):
    for row in sample.itertuples():
        lon, lat = bng_to_wgs84(row.easting_m, row.northing_m)
        assert distance_m(lon, lat, row.lon, row.lat) < FILE_TOLERANCE_M, row.postcode
        east_m, north_m = wgs84_to_bng(row.lon, row.lat)
        assert np.hypot(east_m - row.easting_m, north_m - row.northing_m) < FILE_TOLERANCE_M, row.postcode


def test_ordnance_survey_worked_example_caister_water_tower():
    """OS 'A guide to coordinate systems in Great Britain': ETRS89 (= WGS84 to within a metre
    here) 52 39 28.8282 N, 1 42 57.7896 E is grid 651409.903, 313177.270 (via OSTN15, which
    PROJ may not have; its Helmert fallback is good to a few metres)."""
    lat = 52 + 39 / 60 + 28.8282 / 3600
    lon = 1 + 42 / 60 + 57.7896 / 3600
    east_m, north_m = wgs84_to_bng(lon, lat)
    assert np.hypot(east_m - 651_409.903, north_m - 313_177.270) < 5
    assert format_grid_reference(651_409.903, 313_177.270) == "TG 51409 13177"


# --------------------------------------------------------------------------- parse_location: good input


@pytest.mark.parametrize("text", ["ST16 2DH", "st16 2dh", "ST162DH", "  st16   2dh ", "St16 2Dh"])
def test_postcode_gives_its_centroid(reference, text):
    point = parse_location(text, reference)
    row = reference.lookup_postcode("ST16 2DH")
    assert point == IncidentPoint(
        lat=row["lat"],
        lon=row["lon"],
        easting_m=row["easting_m"],
        northing_m=row["northing_m"],
        district_code="E07000197",
        source="postcode",
        label="ST16 2DH (postcode centroid)",
    )


def test_postcodes_get_the_district_that_contains_them(reference, sample):
    matches = [
        parse_location(row.postcode, reference).district_code == row.district_code for row in sample.itertuples()
    ]
    assert sum(matches) >= 0.98 * len(matches)  # the district file and the polygons agree almost everywhere


def test_a_listed_postcode_just_outside_the_generalised_outline_is_accepted(reference):
    point = parse_location("B77 5NQ", reference)  # its centroid is ~30 m beyond the force outline
    assert point.source == "postcode" and point.district_code == "E07000199"


@pytest.mark.parametrize(
    "text",
    [
        "52.8064, -2.1174",
        "52.8064 -2.1174",
        "52.8064,-2.1174",
        " 52.8064 ,  -2.1174 ",
        "52.8064; -2.1174",
        "+52.8064, -2.1174",
        "52.8064N 2.1174W",
        "52.8064n, 2.1174w",
        "52.8064 N 2.1174 W",
        "N52.8064 W2.1174",
        "N 52.8064, W 2.1174",
        "2.1174W 52.8064N",  # letters say which is which
        "52.8064° N, 2.1174° W",
    ],
)
def test_latitude_and_longitude(reference, text):
    point = parse_location(text, reference)
    assert (point.lat, point.lon) == (52.8064, -2.1174)
    assert point.source == "latlon" and point.label == "52.80640, -2.11740"
    assert point.district_code == "E07000197"  # Stafford
    lon, lat = bng_to_wgs84(point.easting_m, point.northing_m)
    assert distance_m(lon, lat, point.lon, point.lat) < 0.01


@pytest.mark.parametrize(
    "text, east_m, north_m, label",
    [
        ("SJ 88 45", 388_500.0, 345_500.0, "SJ 88 45 (centre of the 1 km square)"),
        ("sj8845", 388_500.0, 345_500.0, "SJ 88 45 (centre of the 1 km square)"),
        ("SJ 8 4", 385_000.0, 345_000.0, "SJ 8 4 (centre of the 10 km square)"),
        ("SJ 884 457", 388_450.0, 345_750.0, "SJ 884 457 (centre of the 100 m square)"),
        ("SJ 8845 4575", 388_455.0, 345_755.0, "SJ 8845 4575 (centre of the 10 m square)"),
        ("SJ8845045750", 388_450.0, 345_750.0, "SJ 88450 45750"),
        ("SJ 88450 45750", 388_450.0, 345_750.0, "SJ 88450 45750"),
        ("SJ 92300 23100", 392_300.0, 323_100.0, "SJ 92300 23100"),
        ("388450,345750", 388_450.0, 345_750.0, "SJ 88450 45750"),
        ("388450 345750", 388_450.0, 345_750.0, "SJ 88450 45750"),
        ("SK 09 09", 409_500.0, 309_500.0, "SK 09 09 (centre of the 1 km square)"),
    ],
)
def test_grid_references(reference, text, east_m, north_m, label):
    point = parse_location(text, reference)
    assert (point.easting_m, point.northing_m, point.source, point.label) == (east_m, north_m, "grid", label)
    assert point.district_code is not None
    assert wgs84_to_bng(point.lon, point.lat) == pytest.approx((east_m, north_m), abs=0.01)


def test_grid_reference_of_a_postcode_lands_on_its_centroid(reference):
    row = reference.lookup_postcode("ST16 2DH")
    point = parse_location(format_grid_reference(row["easting_m"], row["northing_m"]), reference)
    assert distance_m(point.lon, point.lat, row["lon"], row["lat"]) < FILE_TOLERANCE_M
    assert point.district_code == row["district_code"]


def test_map_point(reference):
    point = point_from_map(52.8064, -2.1174, reference)
    assert (point.source, point.label, point.district_code) == ("map", "52.80640, -2.11740", "E07000197")
    assert bng_to_wgs84(point.easting_m, point.northing_m) == pytest.approx((-2.1174, 52.8064), abs=1e-7)


def test_each_district_is_found_by_point_in_polygon(reference):
    for code, shape in zip(reference.districts["code"], reference.districts.geometry):
        inner = shape.representative_point()
        assert point_from_map(inner.y, inner.x, reference).district_code == code


def test_the_point_is_immutable(reference):
    point = parse_location("ST16 2DH", reference)
    with pytest.raises(AttributeError):
        point.lat = 0.0  # type: ignore[misc]


# --------------------------------------------------------------------------- parse_location: every error


def examples(reference) -> tuple[str, str]:
    area = locate._area(reference)
    return area.example_postcode, area.example_grid


@pytest.mark.parametrize("text", ["", "   ", "\t\n", None])
def test_empty(reference, text):
    assert str(error(text, reference)) == (
        "Enter where the incident happened: a postcode, a latitude and longitude, or a grid reference."
    )


@pytest.mark.parametrize("text, shown", [("ST99 9ZZ", "ST99 9ZZ"), ("st999zz", "ST99 9ZZ"), ("SW1A 1AA", "SW1A 1AA")])
def test_postcode_not_in_the_reference_list(reference, text, shown):
    assert str(error(text, reference)) == f"{shown} is not a postcode in {reference.force_name}'s reference list."


@pytest.mark.parametrize("text, key", [("ST16", "ST16"), ("ws11", "WS11"), ("ST 16", "ST16")])
def test_half_a_listed_postcode_gets_an_example_from_that_district(reference, text, key):
    first = min(p for p in reference.postcodes["postcode"] if p.startswith(key + " "))
    assert str(error(text, reference)) == (
        f"{key} is only the first half of a postcode; enter the whole postcode, such as {first}."
    )


def test_half_of_another_postcode(reference):
    postcode, _ = examples(reference)
    assert str(error("SW1A", reference)) == (
        f"SW1A is only the first half of a postcode; enter the whole postcode, such as {postcode}."
    )


@pytest.mark.parametrize("text, shown", [("ST16 2D", "ST16 2D"), ("st16 2dhx", "ST16 2DHX"), ("B7433", "B7433")])
def test_malformed_postcode(reference, text, shown):
    postcode, _ = examples(reference)
    assert str(error(text, reference)) == f"{shown} is not a complete postcode; a postcode looks like {postcode}."


@pytest.mark.parametrize(
    "text, message",
    [
        ("SI 88 45", "SI is not an Ordnance Survey grid square, because the letter I is not used in grid references."),
        ("IJ 88 45", "IJ is not an Ordnance Survey grid square, because the letter I is not used in grid references."),
        ("XJ 88 45", "XJ is not an Ordnance Survey grid square, because the first letter must be S, T, N, O or H."),
        ("AB 12 34", "AB is not an Ordnance Survey grid square, because the first letter must be S, T, N, O or H."),
        ("TZ 12 34", "TZ is not an Ordnance Survey grid square, because it lies beyond the edge of the National Grid."),
        ("HA 12 34", "HA is not an Ordnance Survey grid square, because it lies beyond the edge of the National Grid."),
    ],
)
def test_invalid_grid_letters(reference, text, message):
    assert str(error(text, reference)) == message
    with pytest.raises(LocationError, match=re.escape(message)):
        parse_grid_reference(text)


@pytest.mark.parametrize(
    "text, shown, count", [("sj 884 45", "SJ 884 45", 5), ("SJ884", "SJ884", 3), ("SJ 88450 4575", "SJ 88450 4575", 9)]
)
def test_odd_number_of_grid_digits(reference, text, shown, count):
    assert str(error(text, reference)) == (
        f"{shown} has {count} digits after the letters, but a grid reference needs an even number "
        "(2, 4, 6, 8 or 10): half for the easting and half for the northing."
    )


def test_too_many_grid_digits(reference):
    assert str(error("SJ 884500 457500", reference)) == (
        "SJ 884500 457500 has 12 digits after the letters, but a grid reference has at most 10 (1 m precision)."
    )


def test_unequal_easting_and_northing_digits(reference):
    assert str(error("SJ 8845 45", reference)) == (
        "SJ 8845 45 gives 4 easting digits and 2 northing digits; a grid reference needs the same number of each."
    )


def test_grid_digits_in_more_than_two_groups(reference):
    assert str(error("SJ 88 45 12", reference)) == (
        "SJ 88 45 12 has its digits in 3 groups; write the letters, then the easting digits and the northing digits."
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("95, -2", "Latitude 95 is out of range: a latitude is between -90 and 90 degrees."),
        ("-90.5 -2", "Latitude -90.5 is out of range: a latitude is between -90 and 90 degrees."),
        ("95.5S 2W", "Latitude 95.5S is out of range: a latitude is between -90 and 90 degrees."),
        ("52.8, 200", "Longitude 200 is out of range: a longitude is between -180 and 180 degrees."),
        ("52.8, -180.25", "Longitude -180.25 is out of range: a longitude is between -180 and 180 degrees."),
        ("52.8064, 21174", "Longitude 21174 is out of range: a longitude is between -180 and 180 degrees."),
    ],
)
def test_latitude_or_longitude_out_of_range(reference, text, message):
    assert str(error(text, reference)) == message


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "52.8064N -2.1174W",
            "-2.1174W has both a sign and a hemisphere letter; use one or the other, such as 2.1174W.",
        ),
        ("52.8N 2.1N", "52.8N 2.1N gives two latitudes; give one latitude (N or S) and one longitude (E or W)."),
        ("2.1W 52.8E", "2.1W 52.8E gives two longitudes; give one latitude (N or S) and one longitude (E or W)."),
        (
            "52.8N 2.1",
            "52.8N 2.1 has a hemisphere letter on only one number; "
            "give both numbers a letter (N or S, E or W) or neither.",
        ),
    ],
)
def test_hemisphere_letter_mistakes(reference, text, message):
    assert str(error(text, reference)) == message


@pytest.mark.parametrize(
    "text, shown",
    [
        ("51.5014, -0.1419", "51.50140, -0.14190"),
        ("0, 0", "0.00000, 0.00000"),
        ("TQ 30 80", "TQ 30 80"),
        ("SJ 92300 93100", "SJ 92300 93100"),
        ("HP 61 09", "HP 61 09"),
        ("530000, 180000", "TQ 30000 80000"),
    ],
)
def test_outside_the_force_area(reference, text, shown):
    assert str(error(text, reference)) == f"{shown} lies outside the {reference.force_name} force area."


def test_outside_with_latitude_and_longitude_swapped(reference):
    assert str(error("-2.1174, 52.8064", reference)) == (
        f"-2.11740, 52.80640 lies outside the {reference.force_name} force area; latitude comes first, "
        "so did you mean 52.80640, -2.11740?"
    )


def test_outside_with_the_minus_sign_missing(reference):
    assert str(error("52.8064, 2.1174", reference)) == (
        f"52.80640, 2.11740 lies outside the {reference.force_name} force area; longitudes west of Greenwich "
        "are negative, so did you mean 52.80640, -2.11740?"
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("38845 34575", f"38845 34575 {NOT_EASTING_NORTHING}"),
        ("3884500 345750", f"3884500 345750 {NOT_EASTING_NORTHING}"),
        ("800000, 345750", "Easting 800000 is outside the National Grid, which runs from 0 to 700,000 m."),
        ("388450, 1400000", "Northing 1400000 is outside the National Grid, which runs from 0 to 1,300,000 m."),
    ],
)
def test_bad_easting_and_northing(reference, text, message):
    assert str(error(text, reference)) == message


@pytest.mark.parametrize(
    "text",
    ["near the church", "SJ", "52.8064", "52.8 -2.1 7", "52.8064, -2.1174, 10", "ST16 2DH please", "x" * 500, "12:30"],
)
def test_unrecognised(reference, text):
    _, grid = examples(reference)
    assert str(error(text, reference)) == (
        f"Enter a postcode, latitude and longitude, or an OS grid reference such as {grid}."
    )


def test_message_examples_come_from_the_reference_data(reference):
    postcode, grid = examples(reference)
    row = reference.lookup_postcode(postcode)
    assert row is not None
    assert grid == format_grid_reference(row["easting_m"], row["northing_m"], digits=4)
    assert parse_location(grid, reference).source == "grid"  # the example itself works


def test_location_error_is_a_value_error(reference):
    assert isinstance(error("", reference), ValueError)


def test_non_text_is_a_programming_error(reference):
    with pytest.raises(TypeError, match="location must be a string, got int: 5"):
        parse_location(5, reference)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="grid reference must be a string"):
        parse_grid_reference(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "Enter an Ordnance Survey grid reference, such as SJ 88 45."),
        ("ST16 2DH", "ST16 2DH is not an Ordnance Survey grid reference such as SJ 88 45."),
        ("52.8064, -2.1174", "52.8064, -2.1174 is not an Ordnance Survey grid reference such as SJ 88 45."),
    ],
)
def test_parse_grid_reference_refuses_other_text(text, message):
    with pytest.raises(LocationError, match=f"^{re.escape(message)}$"):
        parse_grid_reference(text)


# --------------------------------------------------------------------------- point_from_map: errors


@pytest.mark.parametrize(
    "lat, lon, message",
    [
        (91.0, -2.0, "Latitude 91.0 is out of range: a latitude is between -90 and 90 degrees."),
        (52.8, -181.5, "Longitude -181.5 is out of range: a longitude is between -180 and 180 degrees."),
        (float("nan"), -2.0, "Latitude nan is not a number."),
        (52.8, float("inf"), "Longitude inf is not a number."),
        ("x", -2.0, "The map gave 'x', -2.0, which is not a latitude and longitude; click the map again."),
    ],
)
def test_map_point_errors(reference, lat, lon, message):
    with pytest.raises(LocationError) as caught:
        point_from_map(lat, lon, reference)
    assert (str(caught.value), caught.value.field) == (message, "location")


def test_map_point_outside_the_force_area(reference):
    with pytest.raises(LocationError) as caught:
        point_from_map(51.5014, -0.1419, reference)
    assert str(caught.value) == f"The point 51.50140, -0.14190 lies outside the {reference.force_name} force area."


# --------------------------------------------------------------------------- every message is one sentence


def test_every_message_is_one_plain_sentence(reference):
    bad = [
        "",
        "ST99 9ZZ",
        "ST16",
        "ST16 2D",
        "SI 88 45",
        "SJ 884 45",
        "SJ 8845 45",
        "95, -2",
        "52.8, 200",
        "52.8N 2.1N",
        "TQ 30 80",
        "-2.1174, 52.8064",
        "38845 34575",
        "near the church",
    ]
    for text in bad:
        message = str(error(text, reference))
        assert "\n" not in message, message
        assert message[0].isupper() or message[0].isdigit() or message[0] == "-", message
        assert message.endswith((".", "?")), message
        assert not re.search(r"[.?!] [A-Z]", message), message  # no second sentence


# Speed: benchmarks/bench_locate.py (parsing and a map click, against a pyproj conversion in the same run).
