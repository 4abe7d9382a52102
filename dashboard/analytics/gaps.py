"""Gap analysis as pure functions of arrays: how many crimes have a registered camera nearby or in
view, per area; where to recruit next; coverage by deprivation decile.

Disclosure control (promise 4; issue 14: the gap analysis must not be steerable onto a point).
Crime data are police.uk open data imported by administrators; what an analyst can ask is one
period (one imported month, or all of them), one crime type (or all), a coarse distance and a
level. Every figure passes the disclosure-control layer:

- **Crime counts** (and crimes without coordinates or outside the force) are police.uk figures
  about no person: ``layer.exact``.
- **Crimes near / in view** are ``layer.counts`` with the cell key of the records involved: the
  distinct registrations with a camera near (or seeing) any crime of the figure, plus the figure's
  crimes (every crime of the period, type and area, near or not), modulo 256. In-view counts add
  :data:`VIEW_KEY_OFFSET`, so the two counts of one figure never share a key. **Registrations
  near** are ``layer.counts`` with the registrations' own keys. Shares are ``layer.rate`` of the
  published counts over the (public) crime count.
- A figure **drawn from fewer than K crimes or fewer than K registrations** (true counts) is not
  shown at all.
- **The complement rule** (the query space's differencing guard): for a figure of period p, crime
  type c and area a, every larger figure the query space offers is considered: periods {p, all
  months}, types {c, all types}, and the area's parents (small area -> its district -> the force;
  small area -> its IMD decile -> the force; district -> the force). Its crimes contain this
  figure's crimes. If any of them has 1 to K-1 more crimes than this one, subtracting the two would
  speak about a handful of known crime points, so this figure is hidden. The rule reads only the
  public crime counts (:func:`complement_hidden`, over a cube of all located crimes by month, type
  and small area), so hiding by it says nothing about the register.
- The whole analysis is shown only over at least ``gap_min_crimes`` (50) located crimes.

Nothing here knows about Dash or the database.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.analytics.disclosure import KEY_RANGE, Disclosure, distinct_pairs

LEVELS = ("lsoa", "district", "decile", "force")
# The larger figures of each level's figures (besides the level itself): a small area lies in a
# district and in an IMD decile, each of those in the force.
PARENTS = {"lsoa": ("district", "decile", "force"), "district": ("force",), "decile": ("force",), "force": ()}
DECILES = 10
# Added to an in-view count's cell key so that the near and in-view counts of one figure, which
# are drawn from the same records, are adjusted independently (a key plus a constant is as random).
VIEW_KEY_OFFSET = 128


@dataclass(frozen=True)
class Hierarchy:
    """The force's small areas (LSOA) and the larger areas each lies in.

    ``lsoa_district`` and ``lsoa_decile`` give, per small area, the position of its district
    (0..n_districts-1) and its IMD decile (0..9); -1 where there is none.

    >>> h = Hierarchy(np.array([0, 0, 1]), np.array([9, -1, 0]), 2)
    >>> h.sizes
    {'lsoa': 3, 'district': 2, 'decile': 10, 'force': 1}
    >>> h.roll_up(np.array([1, 2, 4]), "district").tolist(), h.roll_up(np.array([1, 2, 4]), "decile")[[0, 9]].tolist()
    ([3, 4], [4, 1])
    """

    lsoa_district: np.ndarray
    lsoa_decile: np.ndarray
    n_districts: int

    @property
    def sizes(self) -> dict[str, int]:
        return {"lsoa": len(self.lsoa_district), "district": self.n_districts, "decile": DECILES, "force": 1}

    def of_lsoa(self, level: str) -> np.ndarray:
        """The position at ``level`` of every small area (-1: none)."""
        n = len(self.lsoa_district)
        return {
            "lsoa": np.arange(n),
            "district": np.asarray(self.lsoa_district, dtype="int64"),
            "decile": np.asarray(self.lsoa_decile, dtype="int64"),
            "force": np.zeros(n, dtype="int64"),
        }[level]

    def parent_of(self, level: str, parent: str) -> np.ndarray:
        """The position at ``parent`` of every area of ``level`` (``parent`` is ``level`` or one of
        ``PARENTS[level]``)."""
        if parent == level:
            return np.arange(self.sizes[level])
        if level == "lsoa":
            return self.of_lsoa(parent)
        if parent == "force":
            return np.zeros(self.sizes[level], dtype="int64")
        raise ValueError(f"{parent} is not a parent of {level}")

    def roll_up(self, per_lsoa: np.ndarray, level: str) -> np.ndarray:
        """Sums of a per-small-area quantity per area of ``level``."""
        where = self.of_lsoa(level)
        keep = where >= 0
        sums = np.bincount(
            where[keep], weights=np.asarray(per_lsoa, dtype="float64")[keep], minlength=self.sizes[level]
        )
        return np.rint(sums).astype("int64")


# --------------------------------------------------------------------------- the crime cube


def crime_cube(month: np.ndarray, category: np.ndarray, lsoa: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Located crimes counted by (month, category, small area); entries of -1 are left out.

    >>> crime_cube(np.array([0, 0, 1, -1]), np.array([1, 1, 0, 0]), np.array([2, 2, 0, 1]), (2, 2, 3))[0, 1].tolist()
    [0, 0, 2]
    """
    month, category, lsoa = (np.asarray(a, dtype="int64") for a in (month, category, lsoa))
    keep = (month >= 0) & (category >= 0) & (lsoa >= 0)
    flat = (month[keep] * shape[1] + category[keep]) * shape[2] + lsoa[keep]
    return np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype("int64")


def cube_counts(
    cube: np.ndarray, hierarchy: Hierarchy, month: int | None, category: int | None
) -> dict[str, np.ndarray]:
    """Crimes per area of every level for one period (a month's position, or None: all months)
    and one type (a category's position, or None: all types)."""
    by_type = cube[month] if month is not None else cube.sum(axis=0)
    per_lsoa = by_type[category] if category is not None else by_type.sum(axis=0)
    return {level: hierarchy.roll_up(per_lsoa, level) for level in LEVELS}


def complement_hidden(
    cube: np.ndarray, hierarchy: Hierarchy, month: int | None, category: int | None, k: int
) -> dict[str, np.ndarray]:
    """Per level, the figures of (month, category) hidden by the complement rule: those for which
    a larger figure of the query space (period in {month, all}, type in {category, all}, area
    in the area itself or its parents, :data:`PARENTS`) has 1 to k-1 more crimes.

    Examples
    --------
    Two small areas in one district (in deciles 1 and 2), two months, one crime type:

    >>> cube = np.array([[[10, 30]], [[2, 0]]])  # month 0: 10 and 30 crimes; month 1: 2 and 0
    >>> h = Hierarchy(np.array([0, 0]), np.array([0, 1]), 1)
    >>> hidden = complement_hidden(cube, h, 0, None, 8)  # month 0, all types
    >>> hidden["lsoa"].tolist(), hidden["district"].tolist(), hidden["decile"][:2].tolist(), hidden["force"].tolist()
    ([True, False], [True], [True, False], [True])

    Over all months small area 0 has 2 more crimes than in month 0, and so have its district, its
    decile and the force: subtracting would give the near count of those 2 crimes. Every larger
    figure of small area 1 has 0 or at least 10 more crimes. Over all months nothing is larger:

    >>> any(mask.any() for mask in complement_hidden(cube, h, None, None, 8).values())
    False
    """
    own = cube_counts(cube, hierarchy, month, category)
    variants = {(p, c) for p in (month, None) for c in (category, None)}
    larger = {v: (own if v == (month, category) else cube_counts(cube, hierarchy, *v)) for v in variants}
    hidden = {}
    for level in LEVELS:
        mask = np.zeros(hierarchy.sizes[level], dtype=bool)
        for v, counts in larger.items():
            for parent in (level, *PARENTS[level]):
                if v == (month, category) and parent == level:
                    continue
                where = hierarchy.parent_of(level, parent)
                has = where >= 0
                more = np.zeros(len(mask), dtype="int64")
                more[has] = counts[parent][where[has]] - own[level][has]
                mask |= has & (more >= 1) & (more <= k - 1)
        hidden[level] = mask
    return hidden


# A figure is hidden when its few busiest police.uk map points hold most of its crimes: the figure is,
# in effect, about those points (the (n, k) dominance rule of magnitude tables, for crime points).
DOMINANT_POINTS, DOMINANCE = 3, 0.5


def dominated(
    point: np.ndarray, lsoa: np.ndarray, hierarchy: Hierarchy, n: int = DOMINANT_POINTS, share: float = DOMINANCE
) -> dict[str, np.ndarray]:
    """Per level, the figures in which the ``n`` map points with most crimes hold more than ``share``
    of the crimes: such a figure's near count says whether those few public points have a camera
    nearby, whatever the noise (crimes cluster at shops, stations and town-centre streets).

    Parameters
    ----------
    point : each chosen crime's map point (police.uk's anonymised location), 0..m-1
    lsoa : each chosen crime's small area position

    >>> h = Hierarchy(np.array([0, 0]), np.array([0, 1]), 1)
    >>> lsoa = np.array([0] * 8 + [1] * 8)
    >>> point = np.array([0, 0, 0, 0, 0, 1, 2, 3] + list(range(4, 12)))  # area 0: one point holds 5 of 8
    >>> out = dominated(point, lsoa, h)
    >>> out["lsoa"].tolist(), out["district"].tolist()  # the district: top 3 points hold 7 of 16
    ([True, False], [False])
    """
    point = np.asarray(point, dtype="int64")
    lsoa = np.asarray(lsoa, dtype="int64")
    width = int(point.max()) + 1 if len(point) else 1
    out = {}
    for level in LEVELS:
        area = (
            lsoa
            if level == "lsoa"
            else (np.zeros(len(lsoa), dtype="int64") if level == "force" else hierarchy.of_lsoa(level)[lsoa])
        )
        size = hierarchy.sizes[level]
        has = area >= 0
        totals = np.bincount(area[has], minlength=size)
        pairs, counts = np.unique(area[has] * width + point[has], return_counts=True)
        frame = pd.DataFrame({"area": pairs // width, "crimes": counts})
        busiest = frame.sort_values("crimes", ascending=False).groupby("area")["crimes"].head(n)
        top = np.bincount(frame.loc[busiest.index, "area"], weights=busiest, minlength=size)
        out[level] = (totals > 0) & (top > share * totals)
    return out


# --------------------------------------------------------------------------- true figures


@dataclass(frozen=True)
class TrueFigures:
    """True counts per area of one level, with the cell-key parts (never shown as they are)."""

    crimes: np.ndarray
    near: np.ndarray
    in_view: np.ndarray
    crime_key: np.ndarray  # sum of the crimes' record keys mod 256
    registrations: np.ndarray  # distinct registrations near or seeing any of the crimes
    registration_key: np.ndarray  # sum of their record keys mod 256

    @classmethod
    def of(cls, counts: dict[str, np.ndarray], registrations: np.ndarray, key_sums: np.ndarray) -> TrueFigures:
        """From one level's crime counts (``crimes``, ``near``, ``in_view``, ``crime_key``: raw sums)
        and its registrations with their raw key sums; the keys taken modulo 256."""
        return cls(
            counts["crimes"],
            counts["near"],
            counts["in_view"],
            counts["crime_key"] % KEY_RANGE,
            registrations,
            key_sums % KEY_RANGE,
        )


def _keys_of(sites: np.ndarray, site_keys: np.ndarray) -> np.ndarray:
    """The record keys of ``sites`` (0 for a site the key table does not know), as floats for bincount."""
    known = sites < len(site_keys)
    return np.where(known, site_keys[np.where(known, sites, 0)] if len(site_keys) else 0, 0).astype("float64")


def true_figures(
    hierarchy: Hierarchy,
    crime_lsoa: np.ndarray,
    near: np.ndarray,
    in_view: np.ndarray,
    crime_keys: np.ndarray,
    pair_point: np.ndarray,
    pair_site: np.ndarray,
    site_keys: np.ndarray,
) -> dict[str, TrueFigures]:
    """True figures per area of every level (:data:`LEVELS`).

    Parameters
    ----------
    crime_lsoa : per crime, its small area's position (0..n-1)
    near, in_view : per crime, a registered camera within the distance / with the crime in view
    crime_keys : per crime, its record key
    pair_point, pair_site : the (crime, site) pairs that made a crime near or in view
        (``PointCoverage``); a site is one registration
    site_keys : the registration's record key by site id (``site_keys[site_id]``)

    Examples
    --------
    >>> h = Hierarchy(np.array([0, 0]), np.array([4, 4]), 1)
    >>> f = true_figures(h, np.array([0, 0, 1]), np.array([True, True, False]), np.array([True, False, False]),
    ...                  np.array([10, 20, 30]), np.array([0, 1, 1]), np.array([5, 5, 6]),
    ...                  np.array([0, 0, 0, 0, 0, 100, 200]))
    >>> f["lsoa"].crimes.tolist(), f["lsoa"].near.tolist(), f["lsoa"].registrations.tolist()
    ([2, 1], [2, 0], [2, 0])
    >>> f["district"].crime_key.tolist(), f["district"].registration_key.tolist(), int(f["decile"].crimes[4])
    ([60], [44], 3)
    """
    crime_lsoa = np.asarray(crime_lsoa, dtype="int64")
    n = hierarchy.sizes["lsoa"]
    per_lsoa = {
        "crimes": np.bincount(crime_lsoa, minlength=n),
        "near": np.bincount(crime_lsoa, weights=np.asarray(near, dtype="float64"), minlength=n),
        "in_view": np.bincount(crime_lsoa, weights=np.asarray(in_view, dtype="float64"), minlength=n),
        "crime_key": np.bincount(crime_lsoa, weights=np.asarray(crime_keys, dtype="float64"), minlength=n),
    }
    site_keys = np.asarray(site_keys, dtype="int64")
    pair_site = np.asarray(pair_site, dtype="int64")
    width = int(pair_site.max()) + 1 if len(pair_site) else 1
    lsoa_u, site_u = distinct_pairs(crime_lsoa[np.asarray(pair_point, dtype="int64")], pair_site, n, width)
    out = {}
    for level in LEVELS:
        size = hierarchy.sizes[level]
        counts = {name: hierarchy.roll_up(values, level) for name, values in per_lsoa.items()}
        if level == "lsoa":
            groups, units = lsoa_u, site_u
        else:
            where = hierarchy.of_lsoa(level)[lsoa_u]
            has = where >= 0
            groups, units = distinct_pairs(where[has], site_u[has], size, width)
        registrations = np.bincount(groups, minlength=size).astype("int64")
        key_sums = np.rint(np.bincount(groups, weights=_keys_of(units, site_keys), minlength=size)).astype("int64")
        out[level] = TrueFigures.of(counts, registrations, key_sums)
    return out


# --------------------------------------------------------------------------- published figures

FIGURE_COLUMNS = ["crimes", "near", "in_view", "share_near", "share_in_view", "registrations_near", "suppressed"]


def published_figures(true: TrueFigures, close: np.ndarray, layer: Disclosure) -> pd.DataFrame:
    """The figures of one level as they may be shown, in area order: ``FIGURE_COLUMNS``.

    ``crimes`` exact (police.uk); ``near``, ``in_view`` and ``registrations_near`` through the
    layer, hidden (NA) for areas with fewer than K crimes, fewer than K registrations near, or
    ``close`` (the complement rule), and never above the area's crimes; shares are rates of the
    published counts. ``suppressed``:
    the area has crimes but its coverage figures are not shown.

    Examples
    --------
    >>> from dashboard.analytics.disclosure import PTable
    >>> layer = Disclosure(PTable.build(8, 0, 0.0))  # no adjustment: the rules alone
    >>> true = TrueFigures(np.array([100, 5, 40, 60, 0]), np.array([30, 2, 10, 9, 0]), np.array([4, 0, 9, 8, 0]),
    ...                    np.zeros(5, "int64"), np.array([12, 9, 7, 20, 0]), np.zeros(5, "int64"))
    >>> out = published_figures(true, np.array([False, False, False, True, False]), layer)
    >>> # A shown (its in-view count 4 is below K); B: 5 crimes; C: 7 registrations; D: close to a larger figure
    >>> out[["near", "in_view", "share_near", "suppressed"]].to_dict("list")
    {'near': [30, None, None, None, None], 'in_view': [None, None, None, None, None], \
'share_near': [0.3, None, None, None, None], 'suppressed': [False, True, True, True, False]}
    """
    k = layer.k
    hidden = (true.crimes < k) | (true.registrations < k) | np.asarray(close, dtype=bool)
    near_key = (true.registration_key + true.crime_key) % KEY_RANGE
    near = layer.counts(true.near, near_key)
    in_view = layer.counts(true.in_view, (near_key + VIEW_KEY_OFFSET) % KEY_RANGE)
    registrations = layer.counts(true.registrations, true.registration_key)
    for figure in (near, in_view, registrations):
        figure[hidden] = pd.NA
    crimes = pd.array(layer.exact(np.asarray(true.crimes, dtype="int64")), dtype="Int64")
    # An adjustment may lift a count above the area's crimes; shown, it is capped there (a function
    # of published and public figures only, so it tells nothing more).
    for figure in (near, in_view):
        over = (figure > crimes).to_numpy(dtype=bool, na_value=False)
        figure[over] = crimes[over]
    return pd.DataFrame(
        {
            "crimes": crimes,
            "near": near,
            "in_view": in_view,
            "share_near": layer.share(near, crimes),
            "share_in_view": layer.share(in_view, crimes),
            "registrations_near": registrations,
            # From what is published: in the layer's withhold-everything mode every area with crimes is suppressed.
            "suppressed": (np.asarray(true.crimes) > 0) & np.asarray(registrations.isna()),
        }
    )


def hidden_reasons(crimes: np.ndarray, close: np.ndarray, suppressed: np.ndarray, k: int) -> dict[str, int]:
    """How many areas with crimes have their coverage hidden, by reason: fewer than K crimes;
    close to a larger figure (the complement rule); the rest (fewer than K registrations near, or
    nothing published at all). Public counts decide the first two; the third is what is left of
    the published ``suppressed`` flags.

    >>> hidden_reasons(np.array([3, 20, 30, 40, 0]), np.array([True, True, False, False, False]),
    ...                np.array([True, True, True, False, False]), 8)
    {'few_crimes': 1, 'close': 1, 'few_registrations': 1}
    """
    crimes = np.asarray(crimes)
    few = (crimes > 0) & (crimes < k)
    close = ~few & (crimes > 0) & np.asarray(close, dtype=bool)
    rest = np.asarray(suppressed, dtype=bool) & ~few & ~close
    return {"few_crimes": int(few.sum()), "close": int(close.sum()), "few_registrations": int(rest.sum())}


TARGET_COLUMNS = [
    "rank",
    "code",
    "name",
    "crimes",
    "near",
    "share_near",
    "without_camera",
    "registrations_per_1000",
    "imd_decile",
]


def recruitment_targets(
    codes: np.ndarray,
    names: np.ndarray,
    crimes: np.ndarray,
    figures: pd.DataFrame,
    attributes: pd.DataFrame,
    layer: Disclosure,
    top: int = 20,
) -> pd.DataFrame:
    """Areas where recruiting would cover the most crimes, ranked by crimes without a registered
    camera nearby: crimes minus the *published* near count, or all the area's crimes where that
    is hidden (an upper bound from public figures only), so no rank position reveals a hidden count.

    Parameters
    ----------
    codes, names, crimes : per area of the level, with the true (public, police.uk) crime counts
    figures : :func:`published_figures` of the level, in the same order
    attributes : per area (same order): registrations_per_1000 (published) and imd_decile (NA for districts)

    Examples
    --------
    >>> from dashboard.analytics.disclosure import PTable
    >>> layer = Disclosure(PTable.build(8, 0, 0.0))
    >>> figs = pd.DataFrame({"crimes": pd.array([100, 60, 0], "Int64"), "near": pd.array([80, pd.NA, pd.NA], "Int64"),
    ...                      "share_near": pd.array([0.8, pd.NA, pd.NA], "Float64")})
    >>> attrs = pd.DataFrame({"registrations_per_1000": [9.0, None, None], "imd_decile": [5, 1, 2]})
    >>> out = recruitment_targets(np.array(["A", "B", "C"]), np.array(["Ay", "Bee", "Cee"]), np.array([100, 60, 0]),
    ...                           figs, attrs, layer)
    >>> out[["rank", "code", "without_camera"]].to_dict("list")
    {'rank': [1, 2], 'code': ['B', 'A'], 'without_camera': [60, 20]}
    """
    crimes = np.asarray(crimes, dtype="int64")
    near = figures["near"].to_numpy(dtype="float64", na_value=np.nan)
    priority = np.where(np.isnan(near), crimes, crimes - np.nan_to_num(near)).astype("int64")
    order = np.lexsort((np.asarray(codes, dtype=object).astype(str), -crimes, -priority))
    order = order[crimes[order] > 0][:top]
    out = pd.DataFrame(
        {
            "rank": np.arange(1, len(order) + 1),
            "code": np.asarray(codes, dtype=object)[order],
            "name": np.asarray(names, dtype=object)[order],
        }
    )
    for column in ("crimes", "near", "share_near"):
        out[column] = figures[column].array[order]
    out["without_camera"] = pd.array(layer.exact(priority[order]), dtype="Int64")
    out["registrations_per_1000"] = pd.array(attributes["registrations_per_1000"].to_numpy()[order], dtype="Float64")
    out["imd_decile"] = pd.array(attributes["imd_decile"].to_numpy()[order], dtype="Int64")
    return out[TARGET_COLUMNS].reset_index(drop=True)
