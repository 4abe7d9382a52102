"""The disclosure-control layer (promise 4): every figure analysts and project leads see passes here.

Method: the cell key method of the Australian Bureau of Statistics (Thompson, Broadfoot and Elazar,
2013), as the Office for National Statistics used it for Census 2021 custom tables, plus threshold
suppression below K.

- Every record that can be counted (a registration, a camera, a footage request, a crime, a
  campaign completion) carries a random **record key**, 0-255, drawn when it is stored. It is
  kept, never shown and never exported; a registration's key goes when the registration is erased
  (its part in historical counts is kept only inside an anonymous daily sum: ``RetiredKey``).
- A published count's **cell key** is the sum of its records' keys modulo 256, so the same set of
  records always has the same cell key, and a set with one record more or less has another.
- The published count is the true count plus a **perturbation** read from a table by (true count,
  cell key): :class:`PTable`. The same set of records always gets the same answer, so asking again
  reveals nothing; two sets that differ by a few records get independent adjustments, so subtracting
  one published figure from another gives the difference plus noise, not the hidden count.
- A count below ``k`` (K, 8 by default: the police.uk floor) is not published at all, and the
  table never takes a published count below ``k``.
- Rates, shares and per-1,000 figures are computed from published counts (hidden when either side
  is hidden); magnitudes (ground in view, km²) get a small relative adjustment from the same table.

The table's noise for counts of ``k + max_perturbation`` and more is the maximum-entropy
distribution on ``-max_perturbation..max_perturbation`` with mean 0 and the configured variance
(sdcTools' ``ptable`` builds its tables the same way). Just above K the distribution is cut at
``k - count`` and renormalised, so figures there lean slightly upwards. To keep the adjustments of
different counts with the same cell key unrelated, the key is shifted by a fixed amount per count and
shuffled by a fixed permutation before the lookup (``_lookup_keys``). The layout of
:meth:`PTable.frame` is ONS's (pcv, ckey, pvalue), keyed by the looked-up column.

No Dash and no database here: pure functions of numbers and arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dashboard.core.cell_keys import KEY_RANGE

# The relative adjustment of a magnitude (km² in view) for a perturbation of max_perturbation.
MAGNITUDE_SPREAD = 0.05


def cell_keys(groups: np.ndarray, record_keys: np.ndarray, n_groups: int) -> np.ndarray:
    """The cell key of every group: the sum of its records' keys modulo 256 (groups 0..n-1; -1 ignored).

    >>> cell_keys(np.array([0, 0, 2, -1]), np.array([200, 100, 7, 9]), 3).tolist()
    [44, 0, 7]
    """
    groups = np.asarray(groups, dtype="int64")
    keep = groups >= 0
    sums = np.bincount(groups[keep], weights=np.asarray(record_keys, dtype="int64")[keep], minlength=n_groups)
    return (sums.astype("int64") % KEY_RANGE).astype("int64")


# Below this many (group, unit) cells, distinct pairs are marked in one dense table; above, sorted.
_DENSE_LIMIT = 1 << 26


def distinct_pairs(groups: np.ndarray, units: np.ndarray, n_groups: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (group, unit) pairs among those given (groups 0..n_groups-1, units 0..width-1),
    in (group, unit) order: marked in a dense table when it is small enough, else by one sort.
    (``np.unique`` hashes: over ten times slower on the millions of pairs of a gap analysis.)

    >>> [a.tolist() for a in distinct_pairs(np.array([1, 0, 1, 0]), np.array([2, 2, 2, 0]), 2, 3)]
    [[0, 0, 1], [0, 2, 2]]
    """
    groups = np.asarray(groups, dtype="int64")
    if not len(groups):
        return np.empty(0, "int64"), np.empty(0, "int64")
    flat = groups * width + np.asarray(units, dtype="int64")
    if n_groups * width <= _DENSE_LIMIT:
        mark = np.zeros(n_groups * width, dtype=bool)
        mark[flat] = True
        flat = np.flatnonzero(mark)
    else:
        # 32-bit keys sort in half the time of 64-bit ones (7.7 million pairs: 0.3 s against 0.6 s).
        flat = np.sort(flat.astype("uint32") if n_groups * width < 2**32 else flat).astype("int64")
        first = np.ones(len(flat), dtype=bool)
        first[1:] = flat[1:] != flat[:-1]
        flat = flat[first]
    return flat // width, flat % width


def distinct_counts_and_keys(
    groups: np.ndarray, units: np.ndarray, unit_keys: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """How many distinct units (registrations) each group has among (group, unit) pairs, and their
    cell keys: each unit counted, and its key added, once per group however many pairs name it.

    Parameters
    ----------
    groups, units : one entry per pair; groups 0..n_groups-1 (-1 ignored), units 0..len(unit_keys)-1
    unit_keys : the record key of each unit

    >>> counts, keys = distinct_counts_and_keys(np.array([0, 0, 1, 0, -1]), np.array([2, 2, 2, 0, 1]),
    ...                                         np.array([10, 20, 30]), 2)
    >>> counts.tolist(), keys.tolist()
    ([2, 1], [40, 30])
    """
    groups = np.asarray(groups, dtype="int64")
    keep = groups >= 0
    unit_keys = np.asarray(unit_keys, dtype="int64")
    group, unit = distinct_pairs(groups[keep], np.asarray(units, dtype="int64")[keep], n_groups, max(len(unit_keys), 1))
    return np.bincount(group, minlength=n_groups).astype("int64"), cell_keys(group, unit_keys[unit], n_groups)


def _entropy_distribution(support: np.ndarray, variance: float) -> np.ndarray:
    """Probabilities on ``support`` proportional to exp(-lambda * d²), lambda chosen by bisection so
    that the variance is ``variance`` (the maximum-entropy distribution with mean 0 and that variance
    on a symmetric support)."""

    def var(lam: float) -> float:
        w = np.exp(-lam * support.astype(float) ** 2)
        p = w / w.sum()
        return float((p * support**2).sum())

    low, high = 0.0, 50.0
    for _ in range(200):
        mid = (low + high) / 2
        if var(mid) > variance:
            low = mid
        else:
            high = mid
    w = np.exp(-high * support.astype(float) ** 2)
    return w / w.sum()


def _probabilities_to_row(support: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Perturbation per cell key 0..255: key r gets the d whose cumulative-probability interval holds
    (r + 0.5) / 256 (the ABS lookup)."""
    edges = np.cumsum(p)
    points = (np.arange(KEY_RANGE) + 0.5) / KEY_RANGE
    index = np.minimum(np.searchsorted(edges, points, side="right"), len(support) - 1)
    return support[index].astype("int64")


# A fixed shuffle of the 256 cell keys (seeded, so the same everywhere and documented; it hides
# nothing by being known). Keys are uniform, so a shuffled key is uniform too.
_SCRAMBLE = np.random.default_rng(20131).permutation(KEY_RANGE)


def _lookup_keys(counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The column of the table to read for each (count, cell key): the key shifted by a fixed
    amount per count and then shuffled, so that one cell key does not give different counts related
    adjustments (without this, counts n and n+1 with the same key would read neighbouring or equal
    entries of one sorted row)."""
    shift = (np.asarray(counts, dtype="int64") * 167 + 89) % KEY_RANGE
    return _SCRAMBLE[(np.asarray(keys, dtype="int64") + shift) % KEY_RANGE]


@dataclass(frozen=True)
class PTable:
    """The perturbation table: for a true count and a cell key, the adjustment to publish.

    ``rows[c]`` holds the adjustment per (shifted) cell key for a true count ``c`` from ``k`` to
    ``k + max_perturbation - 1``; the last row serves every larger count. Counts below ``k`` are not
    published, so their rows are zeros.

    >>> table = PTable.build(8, 3, 2.0)
    >>> bool((table.published(np.arange(8, 400), np.arange(8, 400) % 256) >= 8).all())
    True
    >>> abs(table.variance_at(100) - 2.0) < 0.05, table.bias_at(100) == 0.0
    (True, True)
    """

    k: int
    max_perturbation: int
    variance: float
    rows: np.ndarray = field(repr=False)
    distributions: tuple[tuple[np.ndarray, np.ndarray], ...] = field(repr=False)

    @classmethod
    def build(cls, k: int, max_perturbation: int, variance: float) -> PTable:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if not 0 <= max_perturbation <= 20:
            raise ValueError(f"the maximum perturbation must be 0 to 20, got {max_perturbation}")
        largest = max_perturbation * (max_perturbation + 1) / 3  # the uniform distribution's variance
        if max_perturbation and not 0 < variance < largest:
            raise ValueError(
                f"with a maximum perturbation of {max_perturbation} the variance must be above 0 and "
                f"below {largest:g}, got {variance:g}"
            )
        D = max_perturbation
        support = np.arange(-D, D + 1)
        base = _entropy_distribution(support, variance) if D else np.array([1.0])
        rows, dists = [], []
        for count in range(k + D + 1):
            if count < k:
                p = np.zeros(len(support))
                p[D] = 1.0
            else:
                p = np.where(support >= k - count, base, 0.0)
                p = p / p.sum()
            rows.append(_probabilities_to_row(support, p))
            dists.append((support.copy(), p))
        return cls(k, D, float(variance), np.vstack(rows), tuple(dists))

    def perturbation(self, counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """The adjustment for each (true count, cell key); 0 below ``k``."""
        counts = np.asarray(counts, dtype="int64")
        keys = _lookup_keys(counts, keys)
        row = np.minimum(counts, len(self.rows) - 1)
        out = self.rows[row, keys]
        return np.where(counts >= self.k, out, 0)

    def published(self, counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """True count plus its adjustment (meaningful only where the count is at least ``k``)."""
        return np.asarray(counts, dtype="int64") + self.perturbation(counts, keys)

    def distribution(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The adjustments possible for a true count and their probabilities."""
        return self.distributions[min(int(count), len(self.distributions) - 1)]

    def variance_at(self, count: int) -> float:
        d, p = self.distribution(count)
        mean = float((d * p).sum())
        return float((p * (d - mean) ** 2).sum())

    def bias_at(self, count: int) -> float:
        d, p = self.distribution(count)
        return round(float((d * p).sum()), 12)

    def frame(self) -> pd.DataFrame:
        """The table in ONS's layout: pcv (the true count; the last row serves all larger counts),
        ckey (the column read: the cell key after ``_lookup_keys``) and pvalue (the adjustment)."""
        counts = np.repeat(np.arange(self.k, len(self.rows)), KEY_RANGE)
        keys = np.tile(np.arange(KEY_RANGE), len(self.rows) - self.k)
        return pd.DataFrame({"pcv": counts, "ckey": keys, "pvalue": self.rows[counts, keys]})


@dataclass(frozen=True)
class Disclosure:
    """The one way a figure reaches an analyst or a project lead.

    ``withhold_all`` publishes nothing at all: tests use it to prove that every figure a route
    answers with comes through here (with it, no answer may depend on the register).
    """

    ptable: PTable
    withhold_all: bool = False

    @classmethod
    def from_settings(cls, settings) -> Disclosure:
        return cls(PTable.build(settings.k_min, settings.disclosure_max_perturbation, settings.disclosure_variance))

    @property
    def k(self) -> int:
        return self.ptable.k

    # ------------------------------------------------------------------ counts

    def counts(self, true: Sequence[int] | np.ndarray, keys: Sequence[int] | np.ndarray) -> pd.arrays.IntegerArray:
        """Published counts: true + adjustment, NA where the true count is below ``k``.

        >>> layer = Disclosure(PTable.build(8, 0, 0.0))
        >>> layer.counts([3, 8, 120], [5, 5, 5]).tolist()
        [<NA>, 8, 120]
        """
        true = np.asarray(true, dtype="int64")
        out = pd.array(self.ptable.published(true, np.asarray(keys, dtype="int64")), dtype="Int64")
        hidden = true < self.k
        if self.withhold_all:
            hidden = np.ones(len(true), dtype=bool)
        out[hidden] = pd.NA
        return out

    def count(self, true: int, key: int) -> int | None:
        value = self.counts([int(true)], [int(key)])[0]
        return None if pd.isna(value) else int(value)

    def present(self, true: Sequence[int] | np.ndarray) -> np.ndarray:
        """Where a place may be drawn as "has some, fewer than K" (at least one record)."""
        true = np.asarray(true, dtype="int64")
        return np.zeros(len(true), dtype=bool) if self.withhold_all else true > 0

    def exact(self, values):
        """A figure about no person (crime counts from police.uk, households from the Census, page
        visits counted per campaign day): published as it is. Still routed here, so nothing leaves
        the analyst and lead side without passing the layer."""
        if self.withhold_all:
            if np.ndim(values) == 0:
                return None
            return pd.array([pd.NA] * len(values), dtype="Int64")
        return values

    # ------------------------------------------------------------------ derived figures

    def magnitudes(
        self, values: np.ndarray, keys: np.ndarray, basis: np.ndarray, digits: int = 4
    ) -> pd.arrays.FloatingArray:
        """A magnitude (km²) drawn from ``basis`` records, adjusted by up to ``MAGNITUDE_SPREAD``
        relative, in proportion to the table's adjustment for its cell key; NA below ``k``."""
        values = np.asarray(values, dtype="float64")
        basis = np.asarray(basis, dtype="int64")
        steps = self.ptable.perturbation(np.maximum(basis, self.k + self.ptable.max_perturbation), keys)
        scale = MAGNITUDE_SPREAD / max(self.ptable.max_perturbation, 1)
        out = pd.array(np.round(values * (1 + scale * steps), digits), dtype="Float64")
        hidden = (basis < self.k) | self.withhold_all
        out[hidden] = pd.NA
        return out

    @staticmethod
    def rate(numerator, denominator, scale: float = 1.0, digits: int = 4):
        """numerator / denominator × scale from published figures; None (NA) when either is hidden
        or the denominator is 0. Works on scalars and on aligned arrays.

        >>> Disclosure.rate(3, 8), Disclosure.rate(None, 8), Disclosure.rate(2, 0)
        (0.375, None, None)
        """
        if np.ndim(numerator) == 0 and np.ndim(denominator) == 0:
            if (
                numerator is None
                or denominator is None
                or pd.isna(numerator)
                or pd.isna(denominator)
                or float(denominator) == 0
            ):
                return None
            return round(float(numerator) / float(denominator) * scale, digits)
        num = pd.array(numerator, dtype="Float64")
        den = pd.array(denominator, dtype="Float64")
        den = den.copy()
        den[den == 0] = pd.NA
        return ((num / den) * scale).round(digits)

    @staticmethod
    def share(numerator, denominator, digits: int = 4):
        """:meth:`rate` for a part over its whole (answered of requests sent, cameras of one kind of all
        cameras), never above 1: the two counts are adjusted independently, so a part near its whole
        could otherwise read 108%. (A function of published figures only.)

        >>> Disclosure.share(13, 12), Disclosure.share(3, 8), Disclosure.share(None, 8)
        (1.0, 0.375, None)
        """
        out = Disclosure.rate(numerator, denominator, 1.0, digits)
        if out is None or np.ndim(out) == 0:
            return None if out is None else min(out, 1.0)
        out = out.copy()
        out[out > 1] = 1.0
        return out

    def describe(self) -> str:
        """One plain sentence for pages: what the adjustment does to figures."""
        if self.ptable.max_perturbation == 0:
            return f"Figures drawn from fewer than {self.k} registrations are not shown."
        return (
            f"Figures are slightly adjusted to protect owners: each count is moved by at most "
            f"{self.ptable.max_perturbation} (typically by about {math.sqrt(self.ptable.variance):.1f}), always "
            f"the same way for the same records, and counts below {self.k} are not shown."
        )
