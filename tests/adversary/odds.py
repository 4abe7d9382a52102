"""What an attacker can get out of perturbed figures at best, from the perturbation table alone.

Differencing two published figures A' = A + a and B' = B + b (a, b the table's adjustments) to get a
hidden count h = A - B gives h + (a - b). If the two adjustments are independent draws from the
table (what consistent perturbation with unrelated cell keys promises), the best any attacker can
do is the Bayes rule: for the observed difference x, guess the h in 1..K-1 that makes x most likely.
``bayes_exact_rate`` is that attacker's chance of being exactly right; an observed recovery rate
above it (beyond sampling error) means the figures leak more than the noise model allows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from dashboard.analytics.disclosure import PTable


def difference_distribution(table: PTable, count_a: int, count_b: int) -> dict[int, float]:
    """P(a - b = e) for independent adjustments of true counts ``count_a`` and ``count_b``."""
    da, pa = table.distribution(count_a)
    db, pb = table.distribution(count_b)
    out: dict[int, float] = {}
    for x, p in zip(da.tolist(), pa.tolist()):
        for y, q in zip(db.tolist(), pb.tolist()):
            out[x - y] = out.get(x - y, 0.0) + p * q
    return out


def bayes_exact_rate(table: PTable, pairs: Iterable[tuple[int, int]], k: int | None = None) -> float:
    """The expected share of hidden differences h = A - B (1..K-1) an optimal attacker recovers
    exactly, over the (A, B) true-count pairs given, with the noise of ``difference_distribution``
    and a uniform prior on 1..K-1."""
    k = k or table.k
    pairs = list(pairs)
    if not pairs:
        return 0.0
    total = 0.0
    for a, b in pairs:
        h = a - b
        noise = difference_distribution(table, a, b)
        # For every observable x = h + e, the attacker guesses argmax_g P(x - g); right when g == h.
        for e, p in noise.items():
            x = h + e
            best = max(range(1, k), key=lambda g: (noise.get(x - g, 0.0), -abs(x - g)))
            total += p * (best == h)
    return total / len(pairs)


def upper_bound(rate: float, n: int, z: float = 3.0) -> float:
    """``rate`` plus ``z`` standard errors of a share measured over ``n`` trials (binomial)."""
    return rate + z * math.sqrt(max(rate * (1 - rate), 1e-9) / max(n, 1))


def summary_line(name: str, recovered: int, hidden: int, chance: float) -> str:
    share = recovered / hidden if hidden else 0.0
    return (
        f"{name}: {recovered:,} of {hidden:,} hidden counts recovered exactly ({share:.1%}); "
        f"an optimal attacker against independent noise: {chance:.1%}"
    )


def exact_share(estimates: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.asarray(estimates) == np.asarray(truth))) if len(truth) else 0.0


# ------------------------------------------------------------------ differences of several figures


def sum_noise(table: PTable, plus: Iterable[int], minus: Iterable[int]) -> dict[int, float]:
    """P(e) for the noise e = sum of the adjustments of the ``plus`` counts minus those of the
    ``minus`` counts, all independent draws from the table (a total minus its shown parts, or a
    filtered view plus its complement minus the whole).

    >>> table = PTable.build(8, 3, 2.0)
    >>> sum_noise(table, [100], [60]) == difference_distribution(table, 100, 60)
    True
    """
    out = {0: 1.0}
    for sign, counts in ((1, plus), (-1, minus)):
        for count in counts:
            d, p = table.distribution(count)
            step: dict[int, float] = {}
            for e, q in out.items():
                for x, r in zip(d.tolist(), p.tolist()):
                    if r > 0:
                        step[e + sign * x] = step.get(e + sign * x, 0.0) + q * r
            out = step
    return out


def bayes_guess(x: int, noise: dict[int, float], k: int) -> int:
    """The optimal attacker's guess of a hidden count (uniform prior on 1..k-1) from the observed
    difference ``x`` = hidden + noise: the g making x - g most likely (ties: the g nearest x), the
    rule ``bayes_exact_rate`` scores."""
    return max(range(1, k), key=lambda g: (noise.get(x - g, 0.0), -abs(x - g)))


def bayes_exact_rate_sums(
    table: PTable, cases: Iterable[tuple[Iterable[int], Iterable[int]]], k: int | None = None
) -> float:
    """``bayes_exact_rate`` for hidden counts h = sum(plus) - sum(minus) taken from several
    published figures at once: the expected share an optimal attacker recovers exactly over the
    cases given as (plus true counts, minus true counts).

    >>> table = PTable.build(8, 3, 2.0)
    >>> abs(bayes_exact_rate_sums(table, [([100], [95])]) - bayes_exact_rate(table, [(100, 95)])) < 1e-12
    True
    """
    k = k or table.k
    cases = [(list(plus), list(minus)) for plus, minus in cases]
    if not cases:
        return 0.0
    total = 0.0
    for plus, minus in cases:
        h = sum(plus) - sum(minus)
        noise = sum_noise(table, plus, minus)
        total += sum(p for e, p in noise.items() if bayes_guess(h + e, noise, k) == h)
    return total / len(cases)
