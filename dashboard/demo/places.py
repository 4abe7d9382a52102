"""Where demo sites are: real postcodes of the force area, a synthetic address, a point jittered
a few tens of metres from the postcode centroid, and the small area and H3 cells of that point.

Districts are drawn in proportion to their households (times the district's mean propensity
and a local campaign effect), then postcodes within the district
(weighted by a registration propensity that is higher in less deprived small areas, as in
real voluntary schemes, and varies by neighbourhood). Points are jittered in British National
Grid metres (EPSG:27700) and converted to WGS84 (EPSG:4326) with pyproj (``always_xy=True``);
every point is checked to lie inside its own district polygon and the force area.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from dashboard.core.crs import WGS84, bng_to_wgs84
from dashboard.geo.cells import H3_RESOLUTIONS, h3_cells
from dashboard.geo.small_areas import small_area_of

JITTER_RADIUS_M = 35.0
JITTER_RETRIES = 3  # each retry halves the radius; then the postcode centroid is used
LONLAT_DECIMALS = 6  # about 0.1 m
METRE_DECIMALS = 1

STREET_STEMS = (
    "Linden",
    "Oak",
    "Beech",
    "Elm",
    "Ash",
    "Willow",
    "Rowan",
    "Hawthorn",
    "Chestnut",
    "Sycamore",
    "Station",
    "Church",
    "Mill",
    "Park",
    "Victoria",
    "Albert",
    "Queen",
    "King",
    "Manor",
    "Meadow",
    "Brook",
    "Canal",
    "Wharf",
    "Forge",
    "Pottery",
    "Kiln",
    "Chase",
    "Trent",
    "Dove",
    "Sow",
    "Churnet",
    "Needwood",
    "Heath",
    "Priory",
    "Abbey",
    "Castle",
    "Market",
    "School",
    "Orchard",
    "Holly",
)
STREET_SUFFIXES = ("Road", "Street", "Lane", "Close", "Grove", "Avenue", "Drive", "Way", "Crescent", "Gardens")
OTHER_SITE_NAMES = ("Village Hall", "Community Centre", "Allotments", "Church Hall", "Sports Club", "Scout Hut")
BUSINESS_UNIT_SHARE = 0.4


@dataclass(frozen=True)
class SitePlaces:
    """Place columns for ``n`` sites, aligned by position."""

    postcode: list[str]
    address: list[str]
    lon: np.ndarray
    lat: np.ndarray
    easting_m: np.ndarray
    northing_m: np.ndarray
    district_code: list[str]
    lsoa_code: list[str | None]
    h3_r7: list[str]
    h3_r8: list[str]
    h3_r9: list[str]


def to_wgs84(easting_m: np.ndarray, northing_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """British National Grid metres to WGS84 lon/lat, rounded to 6 decimals.

    >>> lon, lat = to_wgs84(np.array([400000.0]), np.array([300000.0]))
    >>> round(float(lon[0]), 2), round(float(lat[0]), 2)
    (-2.0, 52.6)
    """
    lon, lat = bng_to_wgs84().transform(np.asarray(easting_m, float), np.asarray(northing_m, float))
    return np.round(lon, LONLAT_DECIMALS), np.round(lat, LONLAT_DECIMALS)


def _in_wgs84(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise ValueError(f"{what} has no CRS; expected {WGS84}")
    return frame if frame.crs.to_string() == WGS84 else frame.to_crs(WGS84)


def inside_own_district(
    districts: gpd.GeoDataFrame, district_code: np.ndarray, lon: np.ndarray, lat: np.ndarray
) -> np.ndarray:
    """Whether each point lies inside the polygon of its own district (vectorised per district).

    Points whose district code is not in ``districts`` are reported as outside.
    """
    districts = _in_wgs84(districts, "districts")
    inside = np.zeros(len(lon), dtype=bool)
    for code, geom in zip(districts["code"].tolist(), districts.geometry.tolist()):
        idx = np.flatnonzero(district_code == code)
        if len(idx):
            inside[idx] = shapely.contains_xy(geom, lon[idx], lat[idx])
    return inside


def inside_force(force_area: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether each point lies inside the force-area polygon."""
    geom = _in_wgs84(force_area, "force_area").geometry.union_all()
    return shapely.contains_xy(geom, lon, lat)


def eligible_postcodes(ref) -> pd.DataFrame:
    """Reference postcodes usable as demo sites: centroid known and inside both its own
    district polygon and the force area (checked for the published lon/lat and for the
    centroid converted here, which is where a site falls back to).

    Returns
    -------
    pandas.DataFrame
        The kept rows of ``ref.postcodes`` with a fresh index, plus ``c_lon``/``c_lat`` (the
        converted centroid) and ``imd_decile`` of the postcode's small area (5 if unknown).
    """
    pc = ref.postcodes
    pc = pc[pc["easting_m"].notna() & pc["northing_m"].notna() & pc["lon"].notna() & pc["lat"].notna()]
    pc = pc[pc["district_code"].isin(ref.districts["code"])].reset_index(drop=True)
    c_lon, c_lat = to_wgs84(pc["easting_m"].to_numpy(float), pc["northing_m"].to_numpy(float))
    codes = pc["district_code"].to_numpy(object)
    ok = np.ones(len(pc), dtype=bool)
    for lon, lat in ((pc["lon"].to_numpy(float), pc["lat"].to_numpy(float)), (c_lon, c_lat)):
        ok &= inside_own_district(ref.districts, codes, lon, lat) & inside_force(ref.force_area, lon, lat)
    out = pc.loc[ok].copy()
    out["c_lon"] = c_lon[ok]
    out["c_lat"] = c_lat[ok]
    deciles = ref.small_areas.set_index("code")["imd_decile"]
    decile = out["small_area_code"].map(deciles)
    out["imd_decile"] = pd.to_numeric(decile, errors="coerce").fillna(5).to_numpy(float)
    return out.reset_index(drop=True)


def choose_postcodes(rng: np.random.Generator, ref, eligible: pd.DataFrame, n: int) -> np.ndarray:
    """Row positions in ``eligible`` for ``n`` sites: district by households times the district's
    mean propensity and a local campaign effect, then postcode by propensity (less deprived and
    some neighbourhoods more keen; see module notes)."""
    areas = sorted(eligible["small_area_code"].dropna().unique().tolist())
    keen = pd.Series(rng.lognormal(0.0, 0.35, len(areas)), index=areas)
    area_keen = eligible["small_area_code"].map(keen).astype(float).fillna(1.0).to_numpy()
    propensity = (0.55 + 0.09 * eligible["imd_decile"].to_numpy(float)) * area_keen
    pc_district = eligible["district_code"].to_numpy(object)

    districts = ref.districts[ref.districts["code"].isin(eligible["district_code"].unique())]
    codes = districts["code"].to_numpy(object)
    households = pd.to_numeric(districts["households"], errors="coerce").fillna(0).to_numpy(float)
    if households.sum() <= 0:
        households = np.ones(len(codes))
    # Uptake per household differs between districts: more where areas are less deprived, and a
    # local effect (how hard the neighbourhood teams and councils pushed the scheme).
    mean_propensity = np.array([propensity[pc_district == code].mean() for code in codes])
    local_effect = rng.lognormal(0.0, 0.18, len(codes))
    weights = households * mean_propensity * local_effect
    district_pick = rng.choice(len(codes), size=n, p=weights / weights.sum())

    rows = np.empty(n, dtype=np.int64)
    for k, code in enumerate(codes):
        want = np.flatnonzero(district_pick == k)
        pool = np.flatnonzero(pc_district == code)
        if len(want) == 0:
            continue
        w = propensity[pool]
        rows[want] = pool[rng.choice(len(pool), size=len(want), p=w / w.sum())]
    return rows


def jitter_points(
    rng: np.random.Generator, ref, eligible: pd.DataFrame, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points within ~35 m of each chosen postcode centroid, inside its district and the force.

    A point that falls outside is jittered again with half the radius, up to three times,
    then placed at the (pre-checked) centroid.

    Returns
    -------
    tuple of numpy.ndarray
        ``easting_m``, ``northing_m`` (EPSG:27700), ``lon``, ``lat`` (EPSG:4326).
    """
    e0 = eligible["easting_m"].to_numpy(float)[rows]
    n0 = eligible["northing_m"].to_numpy(float)[rows]
    codes = eligible["district_code"].to_numpy(object)[rows]
    e, n = e0.copy(), n0.copy()
    lon = eligible["c_lon"].to_numpy(float)[rows].copy()
    lat = eligible["c_lat"].to_numpy(float)[rows].copy()
    todo = np.arange(len(rows))
    radius = JITTER_RADIUS_M
    for _ in range(1 + JITTER_RETRIES):
        if len(todo) == 0:
            break
        r = radius * np.sqrt(rng.random(len(todo)))
        theta = rng.random(len(todo)) * 2 * np.pi
        te = np.round(e0[todo] + r * np.cos(theta), METRE_DECIMALS)
        tn = np.round(n0[todo] + r * np.sin(theta), METRE_DECIMALS)
        tlon, tlat = to_wgs84(te, tn)
        ok = inside_own_district(ref.districts, codes[todo], tlon, tlat) & inside_force(ref.force_area, tlon, tlat)
        done = todo[ok]
        e[done], n[done], lon[done], lat[done] = te[ok], tn[ok], tlon[ok], tlat[ok]
        todo = todo[~ok]
        radius /= 2
    # Whatever is left stays at the centroid (e0, n0 and its converted lon/lat).
    return e, n, lon, lat


def synthetic_addresses(
    rng: np.random.Generator, eligible: pd.DataFrame, rows: np.ndarray, site_kind: np.ndarray
) -> list[str]:
    """Synthetic first lines of address, such as "14 Linden Grove" or "Unit 3, Mill Lane".

    Each postcode gets one street (so neighbours share it); house numbers are small.
    """
    n_streets = len(STREET_STEMS) * len(STREET_SUFFIXES)
    street_of_postcode = rng.integers(0, n_streets, len(eligible))
    streets = np.array([f"{stem} {suffix}" for stem in STREET_STEMS for suffix in STREET_SUFFIXES], dtype=object)[
        street_of_postcode[rows]
    ]
    number = np.minimum(1 + rng.geometric(0.035, len(rows)), 250)
    unit = rng.random(len(rows)) < BUSINESS_UNIT_SHARE
    other_name = np.asarray(OTHER_SITE_NAMES, dtype=object)[rng.integers(0, len(OTHER_SITE_NAMES), len(rows))]
    out = []
    for street, num, kind, is_unit, oname in zip(
        streets.tolist(), number.tolist(), site_kind.tolist(), unit.tolist(), other_name.tolist()
    ):
        if kind == "business" and is_unit:
            out.append(f"Unit {1 + num % 20}, {street}")
        elif kind == "other":
            out.append(f"{oname}, {street}")
        else:
            out.append(f"{num} {street}")
    return out


def place_sites(rng: np.random.Generator, ref, site_kind: np.ndarray) -> SitePlaces:
    """Postcode, address, position, district, small area and H3 cells for each site.

    Parameters
    ----------
    rng : numpy.random.Generator
    ref : ReferenceGeography
        Reference layers (``force_area``, ``districts``, ``small_areas``, ``postcodes``).
    site_kind : numpy.ndarray
        ``"home"``/``"business"``/``"other"`` per site; sets the address style.
    """
    eligible = eligible_postcodes(ref)
    if eligible.empty:
        raise ValueError("no reference postcode lies inside its own district and the force area")
    n = len(site_kind)
    rows = choose_postcodes(rng, ref, eligible, n)
    e, nn, lon, lat = jitter_points(rng, ref, eligible, rows)
    district = eligible["district_code"].to_numpy(object)[rows]
    lsoa = small_area_of(ref, lon, lat, district, eligible["small_area_code"].to_numpy(object)[rows])
    address = synthetic_addresses(rng, eligible, rows, site_kind)
    cells = {res: h3_cells(lat, lon, res) for res in H3_RESOLUTIONS}
    return SitePlaces(
        postcode=eligible["postcode"].to_numpy(object)[rows].tolist(),
        address=address,
        lon=lon,
        lat=lat,
        easting_m=e,
        northing_m=nn,
        district_code=district.tolist(),
        lsoa_code=lsoa,
        h3_r7=cells[7],
        h3_r8=cells[8],
        h3_r9=cells[9],
    )
