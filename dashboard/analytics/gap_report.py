"""Gap analysis of imported crimes against the register, for the gap analysis page and its exports:
the query space (:class:`GapQuery`, :func:`parse_query`), the data it reads (:class:`GapCrimes`,
once per crime import; :class:`GapRegister`, once per version of the register) and the report
(:func:`build_report`), whose figures come from the pure functions of
:mod:`dashboard.analytics.gaps` and all pass the disclosure-control layer.

The query space is no wider than the analysts' job needs and no crime location counts in many
figures (issue 14): all imported months and all crime types together (``check_offered`` says why,
with the measurements); the distance is 50, 100, 200 or 500 m; the level is small areas (LSOA) or
districts. Anything else is refused with a message that says what is offered (:class:`QueryError`).
The report still computes figures for one month or one type (``GapQuery``), for tests that check its
arithmetic; no page or file offers them.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from dashboard.analytics import gaps
from dashboard.analytics.coverage import area_table, areas_for_level
from dashboard.analytics.disclosure import KEY_RANGE, Disclosure
from dashboard.analytics.gaps import (
    FIGURE_COLUMNS,
    TARGET_COLUMNS,
    Hierarchy,
    TrueFigures,
    complement_hidden,
    crime_cube,
    dominated,
    hidden_reasons,
    published_figures,
    recruitment_targets,
    true_figures,
)
from dashboard.core.vocab import GAP_RADII_M
from dashboard.geo.near_points import point_coverage
from dashboard.geo.reference import ReferenceGeography
from dashboard.geo.search import CameraIndex
from dashboard.geo.small_areas import force_small_areas
from dashboard.registry.camera_queries import site_areas
from dashboard.registry.crime_import import CRIME_CATEGORIES
from dashboard.registry.queries import registrations_by_area

DEFAULT_RADIUS_M = 100
RADII_M = GAP_RADII_M
LEVELS = {"lsoa": "Small areas (LSOA)", "district": "Districts"}
ALL = "all"
QUERY_ARGS = ("period", "type", "radius", "level")


# --------------------------------------------------------------------------- the query


@dataclass(frozen=True)
class GapQuery:
    month: dt.date | None = None  # one imported month; None: all imported months
    category: str | None = None  # one police.uk category; None: all types
    radius_m: int = DEFAULT_RADIUS_M
    level: str = "lsoa"

    def args(self) -> list[tuple[str, str]]:
        """The query as URL arguments (what :func:`parse_query` reads back)."""
        return [
            ("period", f"{self.month:%Y-%m}" if self.month else ALL),
            ("type", self.category or ALL),
            ("radius", str(self.radius_m)),
            ("level", self.level),
        ]


class QueryError(ValueError):
    """A choice outside the query space; the message says what is offered."""


def _one(args: Mapping[str, object], name: str, what: str) -> str | None:
    value = args.get(name)
    if isinstance(value, (list, tuple)):
        values = [v for v in value if v not in (None, "")]
        if len(values) > 1:
            raise QueryError(f"choose one {what}, not {len(values)}")
        value = values[0] if values else None
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise QueryError(f"the {what} must be given as text")
    return str(value).strip()


def parse_query(args: Mapping[str, object], months: Sequence[dt.date]) -> GapQuery:
    """A checked query from page controls or URL arguments (``period``, ``type``, ``radius``,
    ``level``; a list value counts as several choices). ``months`` are the imported months.

    >>> months = [dt.date(2025, 1, 1), dt.date(2025, 2, 1)]
    >>> parse_query({"period": "all", "radius": "50", "level": "district"}, months)
    GapQuery(month=None, category=None, radius_m=50, level='district')
    >>> parse_query({"radius": "25"}, months)
    Traceback (most recent call last):
    ...
    dashboard.analytics.gap_report.QueryError: the distance must be 50, 100, 200 or 500 m, not 25
    >>> parse_query({"period": "2025-02"}, months)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dashboard.analytics.gap_report.QueryError: one month or one crime type is not offered: ...
    """
    if "from" in args or "to" in args:
        raise QueryError(
            "a range of months is not offered: choose one imported month or all imported months "
            "(period=YYYY-MM or period=all)"
        )
    if "types" in args:
        raise QueryError(
            "a list of crime types is not offered: choose one police.uk crime type or all types "
            "(type=Burglary or type=all)"
        )
    unknown = sorted(str(k) for k in args if k not in QUERY_ARGS)
    if unknown:
        raise QueryError(f"unknown choice {unknown[0]!r}: the gap analysis takes period, type, radius and level")

    period = _one(args, "period", "period") or ALL
    month = None
    if period != ALL:
        try:
            month = dt.datetime.strptime(period, "%Y-%m").date()
        except ValueError:
            raise QueryError(
                f"the period must be an imported month like 2025-01, or all; not {period[:20]!r}"
            ) from None
        if month not in set(months):
            raise QueryError(f"no crimes are imported for {month:%Y-%m}: choose an imported month or all")

    category = _one(args, "type", "crime type") or ALL
    if category != ALL and category not in CRIME_CATEGORIES:
        raise QueryError(
            f"{category[:60]!r} is not a police.uk crime type: choose one of the "
            f"{len(CRIME_CATEGORIES)} categories or all"
        )

    radius_text = _one(args, "radius", "distance") or str(DEFAULT_RADIUS_M)
    offered = ", ".join(map(str, RADII_M[:-1])) + f" or {RADII_M[-1]} m"
    if not radius_text.isdigit() or int(radius_text) not in RADII_M:
        raise QueryError(f"the distance must be {offered}, not {radius_text[:20]}")

    level = _one(args, "level", "level") or "lsoa"
    if level not in LEVELS:
        raise QueryError(f"the level must be lsoa or district, not {level[:20]!r}")
    query = GapQuery(month, None if category == ALL else category, int(radius_text), level)
    check_offered(query)
    return query


OFFERED_NOTE = (
    "the gap analysis covers all imported months and all crime types together, by small area or by "
    "district: each crime location counts in few figures, since solving many figures about the same "
    "locations together tells which of them have a registered camera nearby"
)


def check_offered(query: GapQuery) -> None:
    """Refuse a combination the query space does not offer. Every published figure is a noisy sum
    over public crime points of "has a camera nearby"; with enough different figures holding the same
    points, solving them together tells which points have a camera nearby. So each crime point is kept
    in few figures: all imported months and all crime types, per small area, decile, district and the
    force, at one of four distances.

    Measured on the adversary suite's registry over 40 fresh draws of record keys each, with the
    reconstruction of ``tests/adversary/test_gap_location.py``: with one month or one type by district
    (30 figures at 50 m) its surest "camera within 50 m" claims were right 91% of the time against 78%
    for as many claims from public area-level figures (every one of 150 draws ahead), busy map points
    pinned down by their month and type figures; one type but no month (18 figures): 90% against 84%,
    still ahead; all months and all types (10 figures): 100% against 98%, no better than public
    figures, and its overall accuracy below theirs."""
    if query.month is not None or query.category is not None:
        raise QueryError(f"one month or one crime type is not offered: {OFFERED_NOTE}")


# --------------------------------------------------------------------------- what the report reads


@functools.lru_cache(maxsize=4)
def hierarchy_for(ref: ReferenceGeography) -> Hierarchy:
    """The force's small areas (in reference order) with their districts and IMD deciles."""
    small = ref.small_areas
    district = pd.Index(ref.districts["code"]).get_indexer(small["district_code"])
    decile = small["imd_decile"].astype("Float64").fillna(0).to_numpy(dtype="int64") - 1
    return Hierarchy(district.astype("int64"), decile, len(ref.districts))


def crime_areas(ref: ReferenceGeography, crimes: pd.DataFrame) -> np.ndarray:
    """The force small area of each crime: police.uk's own LSOA code when it is one of ours, else
    the small area containing the point, else None (outside the force area)
    (``geo.small_areas.force_small_areas``; ``registry.gap_summaries.place_crimes`` stores the same)."""
    return force_small_areas(
        ref, crimes["lsoa_code"].to_numpy(object), crimes["lon"].to_numpy(), crimes["lat"].to_numpy()
    )


@dataclass(frozen=True)
class GapCrimes:
    """Every imported crime of an official category, arranged for the gap analysis (public
    police.uk data; read once per crime import).

    Per located crime inside the force area: ``month`` and ``category`` (positions in ``months``
    and ``CRIME_CATEGORIES``), ``lsoa`` (position in the reference's small areas), ``lat``,
    ``lon`` and ``key`` (its record key). ``cube`` counts them by (month, category, small area);
    ``unplaced`` and ``outside`` count, by (month, category), crimes police.uk gave no
    coordinates and crimes whose point lies outside the force.
    """

    months: tuple[dt.date, ...]
    month: np.ndarray
    category: np.ndarray
    lsoa: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    point: np.ndarray  # police.uk map point (distinct lat/lon), 0..n-1
    key: np.ndarray
    cube: np.ndarray
    unplaced: np.ndarray
    outside: np.ndarray

    def selection(self, month: int | None, category: int | None) -> np.ndarray:
        keep = np.ones(len(self.month), dtype=bool)
        if month is not None:
            keep &= self.month == month
        if category is not None:
            keep &= self.category == category
        return keep


def gap_crimes(ref: ReferenceGeography, located: pd.DataFrame, unlocated: pd.DataFrame) -> GapCrimes:
    """Arrange the imported crimes (``located_crimes``, ``unlocated_crimes``); crimes of a type
    that is not an official police.uk category (only a database filled before the check could
    hold one) are left out."""
    category_of = {name: i for i, name in enumerate(CRIME_CATEGORIES)}
    months = tuple(sorted({*located["month"], *unlocated["month"]}))
    month_of = {m: i for i, m in enumerate(months)}
    shape = (len(months), len(CRIME_CATEGORIES))

    def per_month_category(month: pd.Series, category: pd.Series, weights=None) -> np.ndarray:
        m = month.map(month_of).to_numpy(dtype="int64")
        c = category.map(category_of).fillna(-1).to_numpy(dtype="int64")
        ok = c >= 0
        w = None if weights is None else np.asarray(weights)[ok]
        flat = np.bincount(m[ok] * shape[1] + c[ok], weights=w, minlength=shape[0] * shape[1])
        return np.rint(flat).astype("int64").reshape(shape)

    official = located["crime_type"].isin(category_of).to_numpy()
    located = located[official].reset_index(drop=True)
    codes = crime_areas(ref, located) if len(located) else np.empty(0, dtype=object)
    lsoa = (
        pd.Index(ref.small_areas["code"]).get_indexer(pd.Index(codes.tolist(), dtype=object))
        if len(codes)
        else np.empty(0, "int64")
    )
    inside = lsoa >= 0
    outside = per_month_category(located["month"][~inside], located["crime_type"][~inside])
    unplaced = per_month_category(unlocated["month"], unlocated["crime_type"], unlocated["crimes"])
    located = located[inside].reset_index(drop=True)
    month = located["month"].map(month_of).to_numpy(dtype="int64")
    category = located["crime_type"].map(category_of).to_numpy(dtype="int64")
    lsoa = lsoa[inside].astype("int64")
    cube = crime_cube(month, category, lsoa, (*shape, len(ref.small_areas)))
    lat, lon = located["lat"].to_numpy("float64"), located["lon"].to_numpy("float64")
    point = (
        pd.factorize(pd.MultiIndex.from_arrays([lat.round(6), lon.round(6)]))[0].astype("int64")
        if len(lat)
        else np.empty(0, "int64")
    )
    return GapCrimes(
        months, month, category, lsoa, lat, lon, point, located["record_key"].to_numpy("int64"), cube, unplaced, outside
    )


@dataclass(frozen=True)
class GapRegister:
    """What the report needs from the register, read once per version of it: each active
    registration's record key by site id (only for :func:`from_index`), and registrations and
    cameras per small area and per district with their cell keys (``registrations_by_area``)."""

    site_keys: np.ndarray
    by_area: dict = field(default_factory=dict)


def gap_register(session: Session, site_keys: bool = True) -> GapRegister:
    """The register's part of the report; ``site_keys`` False skips the per-site keys (a read of
    the whole register), which only :func:`from_index` needs."""
    keys = np.zeros(0, dtype="int64")
    if site_keys:
        sites = site_areas(session)
        ids = sites["site_id"].to_numpy("int64")
        keys = np.zeros(int(ids.max()) + 1 if len(ids) else 0, dtype="int64")
        keys[ids] = sites["registration_key"].to_numpy("int64")
    return GapRegister(keys, {level: registrations_by_area(session, level) for level in LEVELS})


# What a report's true figures come from: given the crimes, which of them it covers and the
# distance, the true figures per level (``gaps.true_figures``' result).
TrueFiguresOf = Callable[[GapCrimes, np.ndarray, int], dict[str, TrueFigures]]


def from_index(ref: ReferenceGeography, index: CameraIndex, site_keys: np.ndarray) -> TrueFiguresOf:
    """True figures counted now against an index of every active camera (``point_coverage``): any
    month or type, for tests of the arithmetic and the benchmarks' baseline."""

    def true_of(crimes: GapCrimes, chosen: np.ndarray, radius_m: int) -> dict[str, TrueFigures]:
        coverage = point_coverage(index, crimes.lat[chosen], crimes.lon[chosen], radius_m)
        return true_figures(
            hierarchy_for(ref),
            crimes.lsoa[chosen],
            coverage.near,
            coverage.in_view,
            crimes.key[chosen],
            coverage.pair_point,
            coverage.pair_site,
            site_keys,
        )

    return true_of


def _positions(ref: ReferenceGeography, level: str, codes: pd.Series) -> np.ndarray:
    """The position at ``level`` (``Hierarchy``'s) of each stored area code (-1: unknown)."""
    if level == "lsoa":
        return pd.Index(ref.small_areas["code"]).get_indexer(codes.astype(object))
    if level == "district":
        return pd.Index(ref.districts["code"]).get_indexer(codes.astype(object))
    if level == "decile":
        return pd.to_numeric(codes, errors="coerce").fillna(0).to_numpy(dtype="int64") - 1
    return np.zeros(len(codes), dtype="int64")


def from_summaries(ref: ReferenceGeography, near: pd.DataFrame, reach: pd.DataFrame) -> TrueFiguresOf:
    """True figures from the register's gap summaries (``registry.gap_summaries``: per small area its
    crimes near and in view, ``area_counts``; per level and area the registrations near or seeing
    one, ``reach``) read at the report's distance, and the crimes' own counts and keys: all imported
    months and types only (the offered query space), the same figures as :func:`from_index`."""

    def true_of(crimes: GapCrimes, chosen: np.ndarray, radius_m: int) -> dict[str, TrueFigures]:
        if not chosen.all():
            raise QueryError("figures for one month or one type are not kept: the report covers all of them")
        hierarchy = hierarchy_for(ref)
        n = hierarchy.sizes["lsoa"]
        where = _positions(ref, "lsoa", near["lsoa"])
        known = where >= 0
        per_lsoa = {
            "crimes": np.bincount(crimes.lsoa, minlength=n),
            "near": np.bincount(where[known], weights=near["near"].to_numpy("float64")[known], minlength=n),
            "in_view": np.bincount(where[known], weights=near["in_view"].to_numpy("float64")[known], minlength=n),
            "crime_key": np.bincount(crimes.lsoa, weights=crimes.key.astype("float64"), minlength=n),
        }
        out = {}
        for level in gaps.LEVELS:
            size = hierarchy.sizes[level]
            counts = {name: hierarchy.roll_up(values, level) for name, values in per_lsoa.items()}
            rows = reach[reach["level"] == level]
            at = _positions(ref, level, rows["code"])
            ok = (at >= 0) & (at < size)
            registrations = np.zeros(size, dtype="int64")
            keys = np.zeros(size, dtype="int64")
            np.add.at(registrations, at[ok], rows["registrations"].to_numpy("int64")[ok])
            np.add.at(keys, at[ok], rows["registrations_key"].to_numpy("int64")[ok])
            out[level] = TrueFigures.of(counts, registrations, keys)
        return out

    return true_of


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class GapReport:
    """A gap analysis as it may be shown. When ``too_few`` (fewer than ``min_crimes`` located
    crimes in the force area for the choice) nothing else is filled in: the page shows a message."""

    query: GapQuery
    min_crimes: int
    too_few: bool
    totals: dict = field(default_factory=dict)  # force-wide FIGURE_COLUMNS, unplaced, outside
    by_area: pd.DataFrame = field(default_factory=pd.DataFrame)  # code, name, (district), FIGURE_COLUMNS
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)  # TARGET_COLUMNS
    by_decile: pd.DataFrame = field(default_factory=pd.DataFrame)  # DECILE_COLUMNS
    hidden: dict = field(default_factory=dict)  # hidden_reasons of the areas; "deciles": deciles hidden
    with_crimes: tuple[str, ...] = ()  # codes of the level's areas with crimes of the choice (public)


DECILE_COLUMNS = [
    "imd_decile",
    "areas",
    "households",
    "registrations",
    "cameras",
    "registrations_per_1000",
    "cameras_per_1000",
    "crimes",
    "crimes_near",
    "share_near",
]


def _register_per_decile(by_lsoa: pd.DataFrame, ref: ReferenceGeography, layer: Disclosure) -> pd.DataFrame:
    """Registrations and cameras per IMD decile with their cell keys (sums of the small areas'),
    through ``area_table``; households are the small areas' estimates summed."""
    small = ref.small_areas[["code", "imd_decile", "households_estimate"]].dropna(subset=["imd_decile"])
    decile = small.set_index("code")["imd_decile"].astype("int64")
    counts = by_lsoa.assign(area_code=by_lsoa["area_code"].map(decile)).dropna(subset=["area_code"])
    sums = counts.groupby("area_code")[["registrations", "registrations_key", "cameras", "cameras_key"]].sum()
    sums[["registrations_key", "cameras_key"]] %= KEY_RANGE
    sums = sums.reset_index().astype({"area_code": "int64"})
    areas = pd.DataFrame(
        {
            "code": np.arange(1, 11),
            "name": [str(d) for d in range(1, 11)],
            "households": small.groupby(small["imd_decile"].astype("int64"))["households_estimate"]
            .sum()
            .reindex(range(1, 11), fill_value=0.0)
            .to_numpy(),
        }
    )
    table = area_table(sums, areas, layer)
    return table.assign(
        areas=small.groupby(small["imd_decile"].astype("int64")).size().reindex(range(1, 11), fill_value=0).to_numpy()
    )


def _scalar(value):
    """A table cell as a plain Python value (None where hidden)."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def build_report(
    crimes: GapCrimes,
    ref: ReferenceGeography,
    true_of: TrueFiguresOf,
    register: GapRegister,
    query: GapQuery,
    layer: Disclosure,
    min_crimes: int,
) -> GapReport:
    """The gap analysis for ``query``: every figure through ``layer``."""
    check_offered(query)
    month = crimes.months.index(query.month) if query.month in crimes.months else None
    if query.month is not None and month is None:
        raise QueryError(f"no crimes are imported for {query.month:%Y-%m}")
    category = CRIME_CATEGORIES.index(query.category) if query.category else None
    chosen = crimes.selection(month, category)
    if int(chosen.sum()) < min_crimes:
        return GapReport(query, min_crimes, True)

    hierarchy = hierarchy_for(ref)
    true = true_of(crimes, chosen, query.radius_m)
    close = complement_hidden(crimes.cube, hierarchy, month, category, layer.k)
    # The dominance rule joins the complement rule: both are decided by public crime data alone.
    dominant = dominated(crimes.point[chosen], crimes.lsoa[chosen], hierarchy)
    close = {level: mask | dominant[level] for level, mask in close.items()}
    figures = {level: published_figures(true[level], close[level], layer) for level in (query.level, "decile", "force")}

    areas = areas_for_level(ref, query.level)
    by_area = pd.concat([areas[["code", "name"]].reset_index(drop=True), figures[query.level]], axis=1)
    if query.level == "lsoa":
        district = ref.small_areas["district_code"].map(ref.district_name).to_numpy()
        by_area.insert(2, "district", district)
    hidden = hidden_reasons(true[query.level].crimes, close[query.level], by_area["suppressed"].to_numpy(), layer.k)

    registered = area_table(register.by_area[query.level], areas, layer)
    attributes = pd.DataFrame(
        {
            "registrations_per_1000": registered["registrations_per_1000"].to_numpy(),
            "imd_decile": (
                ref.small_areas["imd_decile"].to_numpy()
                if query.level == "lsoa"
                else pd.array([pd.NA] * len(areas), dtype="Int64")
            ),
        }
    )
    targets = recruitment_targets(
        areas["code"].to_numpy(object),
        areas["name"].to_numpy(object),
        true[query.level].crimes,
        figures[query.level],
        attributes,
        layer,
    )

    deciles = _register_per_decile(register.by_area["lsoa"], ref, layer)
    decile_figures = figures["decile"]
    by_decile = pd.DataFrame({"imd_decile": np.arange(1, 11), "areas": deciles["areas"].to_numpy()})
    by_decile["households"] = pd.array(deciles["households"], dtype="Float64").round().astype("Int64")
    for column in ("registrations", "cameras", "registrations_per_1000", "cameras_per_1000"):
        by_decile[column] = deciles[column].array
    for column, source in (("crimes", "crimes"), ("crimes_near", "near"), ("share_near", "share_near")):
        by_decile[column] = decile_figures[source].array
    hidden["deciles"] = int(decile_figures["suppressed"].sum())
    if month is not None or category is not None:
        # The deciles cut across districts: with a month's or a type's breakdown too, they would put each
        # crime point in more figures (see parse_query). Their coverage is shown for all months and types only.
        by_decile["crimes_near"] = pd.array([pd.NA] * len(by_decile), dtype="Int64")
        by_decile["share_near"] = pd.array([pd.NA] * len(by_decile), dtype="Float64")
        hidden["deciles"] = 10
        hidden["deciles_breakdown"] = True

    totals = {name: _scalar(figures["force"][name].iloc[0]) for name in FIGURE_COLUMNS}
    unplaced = crimes.unplaced if month is None else crimes.unplaced[[month]]
    outside = crimes.outside if month is None else crimes.outside[[month]]
    if category is not None:
        unplaced, outside = unplaced[:, [category]], outside[:, [category]]
    totals["unplaced"] = layer.exact(int(unplaced.sum()))
    totals["outside"] = layer.exact(int(outside.sum()))
    with_crimes = tuple(areas["code"].to_numpy(object)[true[query.level].crimes > 0])
    return GapReport(query, min_crimes, False, totals, by_area, targets, by_decile[DECILE_COLUMNS], hidden, with_crimes)


__all__ = [
    "ALL",
    "DECILE_COLUMNS",
    "DEFAULT_RADIUS_M",
    "FIGURE_COLUMNS",
    "LEVELS",
    "RADII_M",
    "TARGET_COLUMNS",
    "GapCrimes",
    "GapQuery",
    "GapRegister",
    "GapReport",
    "QueryError",
    "build_report",
    "crime_areas",
    "from_index",
    "from_summaries",
    "gap_crimes",
    "gap_register",
    "hierarchy_for",
    "parse_query",
]
