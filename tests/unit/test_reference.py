"""Reference geography against the real reference-data folder and the project's manifest.

Answers worked out by hand from the CSV files:
- district households (staffordshire_lad_census2021_households_population.csv, county row
  E10000028 left out): 110,400 + 43,500 + 51,300 + 45,600 + 53,400 + 46,100 + 60,000 + 42,400
  + 32,900 = 485,600 (= county 375,200 + Stoke-on-Trent 110,400, a cross-check).
- ST16 2DH: -2.115337, 52.806259, E 392322 N 323196, Stafford (E07000197), LSOA E01029701.

Failure tests work on a copy: every data file symlinked into tmp_path and the manifest
copied, then one file or manifest line is broken.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from dashboard.geo import reference as reference_module
from dashboard.geo.reference import (
    ReferenceDataError,
    ReferenceGeography,
    cached_reference,
    districts_geojson,
    load_reference,
)

MANIFEST = Path(__file__).resolve().parents[2] / "data" / "reference_manifest.toml"

DISTRICTS = {  # code: (name, households, residents), Census 2021
    "E07000192": ("Cannock Chase", 43_500, 100_500),
    "E07000193": ("East Staffordshire", 51_300, 124_000),
    "E07000194": ("Lichfield", 45_600, 106_400),
    "E07000195": ("Newcastle-under-Lyme", 53_400, 123_300),
    "E07000196": ("South Staffordshire", 46_100, 110_500),
    "E07000197": ("Stafford", 60_000, 136_800),
    "E07000198": ("Staffordshire Moorlands", 42_400, 95_800),
    "E06000021": ("Stoke-on-Trent", 110_400, 258_400),
    "E07000199": ("Tamworth", 32_900, 78_600),
}


@pytest.fixture(scope="module")
def ref(reference_dir: Path) -> ReferenceGeography:
    """The real data, loaded once (shared with every other test through the cache)."""
    return cached_reference(reference_dir, MANIFEST)


# --------------------------------------------------------------------------- real data


def test_force_name_and_code_come_from_the_force_area_file(ref):
    assert (ref.force_name, ref.force_code) == ("Staffordshire", "E23000015")
    assert list(ref.force_area.columns) == ["code", "name", "geometry"]
    assert len(ref.force_area) == 1


def test_every_layer_is_wgs84(ref):
    for layer in (ref.force_area, ref.districts, ref.small_areas):
        assert layer.crs.to_epsg() == 4326
        assert layer.geometry.is_valid.all()


def test_nine_districts_sorted_by_name_with_census_households(ref):
    d = ref.districts
    assert list(d.columns) == ["code", "name", "households", "residents", "geometry"]
    assert list(d.index) == list(range(9))
    assert list(d["name"]) == sorted(name for name, _, _ in DISTRICTS.values())
    assert str(d["households"].dtype) == "Int64" and str(d["residents"].dtype) == "Int64"
    got = {row.code: (row.name, row.households, row.residents) for row in d.itertuples()}
    assert got == DISTRICTS


def test_district_households_add_up_and_the_county_row_is_ignored(ref):
    d = ref.districts.set_index("code")
    assert d.loc["E06000021", "households"] == 110_400
    assert d["households"].sum() == 485_600
    assert "E10000028" not in d.index


def test_district_name(ref):
    assert ref.district_name("E06000021") == "Stoke-on-Trent"
    with pytest.raises(KeyError, match="E99999999"):
        ref.district_name("E99999999")


def test_small_areas(ref):
    sa = ref.small_areas
    assert list(sa.columns) == [
        "code",
        "name",
        "district_code",
        "residents",
        "households_estimate",
        "imd_decile",
        "imd_rank",
        "geometry",
    ]
    assert len(sa) == 687 and sa["code"].is_unique
    assert list(sa.index) == list(range(687))
    assert set(sa["district_code"]) == set(DISTRICTS)
    # 674 of the 687 LSOA 2011 codes are unchanged in 2021; the other 13 have no residents.
    assert sa["residents"].dtype == "float64"
    assert sa["residents"].notna().sum() == 674
    assert sa.loc[sa["code"] == "E01014210", "residents"].item() == 1549
    assert str(sa["imd_decile"].dtype) == "Int64" and str(sa["imd_rank"].dtype) == "Int64"
    assert sa["imd_decile"].notna().all() and sa["imd_decile"].between(1, 10).all()
    assert sa.loc[sa["code"] == "E01014210", ["imd_decile", "imd_rank"]].iloc[0].tolist() == [1, 2167]


def test_households_estimate_sums_to_the_district_households(ref):
    """Per district, sum(households_estimate) = households x (known LSOA residents / district residents).

    Where every LSOA has a 2021 population (5 districts), known LSOA residents differ from
    the ONS district figure only by ONS rounding the district to the nearest 100 (worst
    here: Stafford's LSOAs sum to 136,889 vs 136,800, 0.07%), so the sum is within 0.5% of
    the district households. In the 4 districts holding the 13 LSOAs without a 2021 figure
    (NaN estimate), the sum falls short by exactly those LSOAs' share, checked to 1e-9.
    """
    sa = ref.small_areas
    for row in ref.districts.itertuples():
        mine = sa[sa["district_code"] == row.code]
        total = mine["households_estimate"].sum()
        known_residents = mine["residents"].sum()
        assert total == pytest.approx(row.households * known_residents / row.residents, rel=1e-9)
        if mine["residents"].notna().all():
            assert total == pytest.approx(row.households, rel=0.005), row.name
        else:
            assert total < row.households
    assert sa["households_estimate"].isna().sum() == 13
    complete = sa.groupby("district_code")["residents"].apply(lambda s: s.notna().all())
    assert complete.sum() == 5


def test_postcodes(ref):
    pc = ref.postcodes
    assert list(pc.columns) == [
        "postcode",
        "postcode_key",
        "lon",
        "lat",
        "easting_m",
        "northing_m",
        "district_code",
        "small_area_code",
    ]
    assert len(pc) == 29_543 and list(pc.index[[0, -1]]) == [0, 29_542]
    assert pc["postcode_key"].is_unique
    for column in ("lon", "lat", "easting_m", "northing_m"):
        assert pc[column].dtype == "float64"
    assert pc["small_area_code"].isna().sum() == 371  # created after May 2022: no LSOA yet
    assert set(pc["district_code"]) == set(DISTRICTS)
    assert (pc["postcode"].str.replace(" ", "") == pc["postcode_key"]).all()


@pytest.mark.parametrize("text", [" st16 2dh ", "ST16 2DH", "st162dh", "St16\t2Dh"])
def test_lookup_postcode_ignores_case_and_spaces(ref, text):
    row = ref.lookup_postcode(text)
    assert row["postcode"] == "ST16 2DH" and row["postcode_key"] == "ST162DH"
    assert (row["lon"], row["lat"]) == (-2.115337, 52.806259)
    assert (row["easting_m"], row["northing_m"]) == (392_322.0, 323_196.0)
    assert (row["district_code"], row["small_area_code"]) == ("E07000197", "E01029701")


def test_lookup_postcode_unknown_or_without_small_area(ref):
    assert ref.lookup_postcode("ZZ99 9ZZ") is None
    assert ref.lookup_postcode("  ") is None
    new = ref.lookup_postcode("b77 1dy")  # a post-2022 postcode: located, no LSOA
    assert new["district_code"] == "E07000199" and pd.isna(new["small_area_code"])
    with pytest.raises(TypeError, match="None"):
        ref.lookup_postcode(None)


def test_attribution_is_verbatim_from_sources(ref):
    assert ref.sources_path is not None and ref.sources_path.name == "SOURCES.md"
    sources = " ".join(ref.sources_path.read_text(encoding="utf-8").split())
    assert len(ref.attribution) == 3
    for statement in ref.attribution:
        assert statement in sources


def test_districts_geojson_is_small_rounded_and_faithful(ref):
    fc = districts_geojson(ref)
    text = json.dumps(fc)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 9
    assert len(text.encode()) < 150_000
    assert [f["properties"] for f in fc["features"]] == [
        {"code": c, "name": n} for c, n in zip(ref.districts["code"], ref.districts["name"])
    ]
    assert not re.search(r"\d\.\d{6,}", text)  # 5 decimal places at most
    for feature, original in zip(fc["features"], ref.districts.geometry):
        shape = shapely.geometry.shape(feature["geometry"])
        assert shape.is_valid
        assert shape.area == pytest.approx(original.area, rel=0.01)
    # Simplified together: neighbours still meet, no overlaps.
    shapes = np.array([shapely.geometry.shape(f["geometry"]) for f in fc["features"]])
    assert shapely.coverage_is_valid(shapes)


def test_districts_geojson_rejects_a_negative_tolerance(ref):
    with pytest.raises(ValueError, match="-1"):
        districts_geojson(ref, tolerance_deg=-1)


def test_cached_reference_loads_once(reference_dir, ref):
    assert cached_reference(reference_dir, MANIFEST) is ref


def test_module_names_no_force():
    source = Path(reference_module.__file__).read_text(encoding="utf-8").lower()
    assert "staffordshire" not in source and "e23000015" not in source


# --------------------------------------------------------------------------- copies to break


@pytest.fixture
def ref_copy(tmp_path: Path, reference_dir: Path) -> tuple[Path, Path]:
    """(data_dir, manifest): every reference file symlinked into tmp_path, manifest copied."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for source in reference_dir.iterdir():
        if source.is_file():
            (data_dir / source.name).symlink_to(source)
    manifest = tmp_path / "reference_manifest.toml"
    shutil.copyfile(MANIFEST, manifest)
    return data_dir, manifest


def _manifest_value(manifest: Path, part: str, key: str) -> str:
    import tomllib

    return tomllib.loads(manifest.read_text(encoding="utf-8"))[part][key]


def _replace_file(path: Path, content: str | bytes) -> None:
    """Put a real file where the symlink was (never write through to the shared data)."""
    path.unlink()
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def _edit_manifest(manifest: Path, old: str, new: str) -> None:
    text = manifest.read_text(encoding="utf-8")
    assert old in text, old
    manifest.write_text(text.replace(old, new, 1), encoding="utf-8")


def _load_error(data_dir: Path, manifest: Path, names: Path) -> str:
    """Load, expect ReferenceDataError; check its message is one line naming ``names``."""
    with pytest.raises(ReferenceDataError) as info:
        load_reference(data_dir, manifest)
    message = str(info.value)
    assert "\n" not in message
    assert str(names) in message
    return message


def test_missing_file(ref_copy):
    data_dir, manifest = ref_copy
    path = data_dir / _manifest_value(manifest, "districts", "file")
    path.unlink()
    message = _load_error(data_dir, manifest, path)
    assert "is missing" in message and "'districts.file'" in message and str(manifest) in message


def test_unreadable_boundary_file(ref_copy):
    data_dir, manifest = ref_copy
    path = data_dir / _manifest_value(manifest, "small_areas", "file")
    _replace_file(path, '{"type": "FeatureCollection", "features": [')
    assert "cannot be read" in _load_error(data_dir, manifest, path)


def test_missing_column_names_the_manifest_key_and_the_columns(ref_copy):
    data_dir, manifest = ref_copy
    path = data_dir / _manifest_value(manifest, "postcodes", "file")
    original = path.resolve().read_text(encoding="utf-8")
    _replace_file(path, original.replace("lad_code", "lad", 1))
    message = _load_error(data_dir, manifest, path)
    assert "no column 'lad_code' (manifest postcodes.district_field)" in message
    assert "columns are: postcode," in message


def test_empty_layer(ref_copy):
    data_dir, manifest = ref_copy
    path = data_dir / _manifest_value(manifest, "districts", "file")
    _replace_file(path, '{"type": "FeatureCollection", "features": []}')
    assert "no features" in _load_error(data_dir, manifest, path)


@pytest.mark.parametrize("content", ["", "area_code,area_name,households_census2021,usual_residents_census2021\n"])
def test_empty_csv(ref_copy, content):
    data_dir, manifest = ref_copy
    path = data_dir / _manifest_value(manifest, "households", "file")
    _replace_file(path, content)
    _load_error(data_dir, manifest, path)


def test_number_column_holding_text(ref_copy):
    data_dir, manifest = ref_copy
    path = data_dir / _manifest_value(manifest, "households", "file")
    original = path.resolve().read_text(encoding="utf-8")
    _replace_file(path, original.replace(",110400,", ",lots,", 1))
    message = _load_error(data_dir, manifest, path)
    assert "'lots'" in message and "households_census2021" in message


def test_layer_without_crs_is_refused(ref_copy):
    data_dir, manifest = ref_copy
    original = data_dir / _manifest_value(manifest, "districts", "file")
    path = data_dir / "districts_no_crs.gpkg"
    with pytest.warns(UserWarning, match="crs"):
        gpd.read_file(original).set_crs(None, allow_override=True).to_file(path)
    _edit_manifest(manifest, f'file = "{original.name}"', f'file = "{path.name}"')
    assert "no coordinate reference system" in _load_error(data_dir, manifest, path)


def test_layer_claiming_degrees_in_metres_is_refused(ref_copy):
    data_dir, manifest = ref_copy
    original = data_dir / _manifest_value(manifest, "districts", "file")
    path = data_dir / "districts_mislabelled.gpkg"
    gpd.read_file(original).to_crs("EPSG:27700").set_crs("EPSG:4326", allow_override=True).to_file(path)
    _edit_manifest(manifest, f'file = "{original.name}"', f'file = "{path.name}"')
    assert "not degrees" in _load_error(data_dir, manifest, path)


def test_layer_in_british_national_grid_is_reprojected(ref_copy, ref):
    data_dir, manifest = ref_copy
    path = data_dir / _manifest_value(manifest, "districts", "file")
    bng = gpd.read_file(path.resolve()).to_crs("EPSG:27700")
    path.unlink()
    bng.to_file(path, driver="GeoJSON")
    assert "EPSG::27700" in path.read_text(encoding="utf-8")
    districts = load_reference(data_dir, manifest).districts
    assert districts.crs.to_epsg() == 4326
    np.testing.assert_allclose(districts.total_bounds, ref.districts.total_bounds, atol=1e-6)


def test_invalid_polygon_is_repaired(ref_copy):
    data_dir, manifest = ref_copy
    path = data_dir / _manifest_value(manifest, "districts", "file")
    layer = gpd.read_file(path.resolve())
    minx, miny, maxx, maxy = layer.geometry.iloc[0].bounds
    bowtie = shapely.Polygon([(minx, miny), (maxx, maxy), (maxx, miny), (minx, maxy)])
    assert not bowtie.is_valid
    layer.loc[0, "geometry"] = bowtie
    path.unlink()
    layer.to_file(path, driver="GeoJSON")
    districts = load_reference(data_dir, manifest).districts
    assert districts.geometry.is_valid.all()
    assert set(districts.geom_type) <= {"Polygon", "MultiPolygon"}


def test_force_name_follows_the_manifest(ref_copy):
    data_dir, manifest = ref_copy
    _edit_manifest(manifest, 'name_field = "PFA_name"', 'name_field = "force_id_data_police_uk"')
    assert load_reference(data_dir, manifest).force_name == "staffordshire"


def test_force_area_of_several_rows_is_dissolved(ref_copy, ref):
    data_dir, manifest = ref_copy
    districts_file = _manifest_value(manifest, "districts", "file")
    _edit_manifest(
        manifest,
        f'file = "{_manifest_value(manifest, "force_area", "file")}"\nname_field = "PFA_name"\ncode_field = "PFA_code"',
        f'file = "{districts_file}"\nname_field = "LAD13NM"\ncode_field = "LAD13CD"',
    )
    force_area = load_reference(data_dir, manifest).force_area
    assert len(force_area) == 1 and force_area.geometry.iloc[0].is_valid
    assert force_area.geometry.iloc[0].area == pytest.approx(ref.force_area.geometry.iloc[0].area, rel=0.01)


def test_households_code_column_matching_no_district(ref_copy):
    data_dir, manifest = ref_copy
    path = data_dir / _manifest_value(manifest, "households", "file")
    _edit_manifest(manifest, 'code_field = "area_code"', 'code_field = "area_name"')
    assert "households.code_field" in _load_error(data_dir, manifest, path)


def test_missing_data_folder(ref_copy, tmp_path):
    _, manifest = ref_copy
    _load_error(tmp_path / "nowhere", manifest, tmp_path / "nowhere")


def test_missing_manifest(ref_copy, tmp_path):
    data_dir, _ = ref_copy
    _load_error(data_dir, tmp_path / "none.toml", tmp_path / "none.toml")


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ("[districts]", "[districts", "not valid TOML"),
        ("[deprivation]", "[not_deprivation]", "[deprivation]"),
        ('district_field = "lad_code"', "", "'postcodes.district_field'"),
        ('residents_field = "usual_residents_total"', "residents_field = 7", "'small_area_population.residents_field'"),
        ("statements = [", "statements = 1\nold = [", "'attribution.statements'"),
    ],
)
def test_bad_manifest(ref_copy, old, new, expect):
    data_dir, manifest = ref_copy
    _edit_manifest(manifest, old, new)
    assert expect in _load_error(data_dir, manifest, manifest)
