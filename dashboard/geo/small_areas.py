"""Which small area (LSOA) each point lies in."""

from __future__ import annotations

import numpy as np
import shapely

from dashboard.geo.reference import ReferenceGeography


def small_area_of(
    ref: ReferenceGeography, lon: np.ndarray, lat: np.ndarray, district_code: np.ndarray, fallback: np.ndarray
) -> list[str | None]:
    """Small-area (LSOA) code of each point (WGS84 degrees) by point-in-polygon.

    Where no polygon contains the point, or the containing one belongs to another district
    (boundary generalisation differs between layers), ``fallback`` (the postcode's own small
    area) is used.

    >>> small_area_of(ref, np.array([-2.1174]), np.array([52.8064]), np.array(["E07000197"], dtype=object),
    ...               np.array(["E01029700"], dtype=object))
    ['E01029701']
    """
    areas = ref.small_areas
    found = _containing(ref, lon, lat)
    area_code = areas["code"].to_numpy(object)
    area_district = areas["district_code"].to_numpy(object)
    fb = np.array([v if isinstance(v, str) and v else None for v in fallback.tolist()], dtype=object)
    has_fb = np.array([v is not None for v in fb.tolist()], dtype=bool)
    hit = found >= 0
    code = np.where(hit, area_code[np.maximum(found, 0)], None)
    same = hit & (area_district[np.maximum(found, 0)] == district_code)
    use_fallback = ~hit | (~same & has_fb)
    return np.where(use_fallback, fb, code).tolist()


def _containing(ref: ReferenceGeography, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Row of ``ref.small_areas`` containing each point (the first, by row, where polygons
    overlap), -1 where none does."""
    pt_idx, area_idx = ref.small_areas.sindex.query(shapely.points(lon, lat), predicate="within")
    order = np.lexsort((area_idx, pt_idx))
    pt_idx, area_idx = pt_idx[order], area_idx[order]
    first = np.unique(pt_idx, return_index=True)[1]
    found = np.full(len(lon), -1, dtype=np.int64)
    found[pt_idx[first]] = area_idx[first]
    return found


def small_area_at(ref: ReferenceGeography, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Small-area code of each point by point-in-polygon alone; None outside every small area.

    >>> small_area_at(ref, np.array([-2.1174, 0.0]), np.array([52.8064, 51.5])).tolist()
    ['E01029701', None]
    """
    found = _containing(ref, np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64"))
    codes = ref.small_areas["code"].to_numpy(object)
    return np.where(found >= 0, codes[np.maximum(found, 0)], None)


def force_small_areas(ref: ReferenceGeography, given: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The force small area of each point with a code given by its source (police.uk's LSOA of a
    crime): that code when it is one of the force's, else the small area containing the point,
    else None (outside the force area).

    >>> force_small_areas(ref, np.array(["E01029701", "W01000001"], dtype=object),
    ...                   np.array([-2.0, -2.1174]), np.array([52.0, 52.8064])).tolist()
    ['E01029701', 'E01029701']
    """
    known = set(ref.small_areas["code"])
    given = np.asarray(given, dtype=object)
    ours = np.array([code in known for code in given.tolist()], dtype=bool)
    codes = given.copy()
    if (~ours).any():
        codes[~ours] = small_area_at(ref, np.asarray(lon)[~ours], np.asarray(lat)[~ours])
    return codes
