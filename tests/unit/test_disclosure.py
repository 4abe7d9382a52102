"""The disclosure-control layer's own rules, each worked out by hand or by a second method."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics.disclosure import KEY_RANGE, Disclosure, PTable, cell_keys, distinct_counts_and_keys
from dashboard.core.cell_keys import new_record_key

K = 8


@pytest.fixture(scope="module")
def table() -> PTable:
    return PTable.build(K, 3, 2.0)


def test_cell_key_is_the_sum_of_the_record_keys_modulo_256():
    # group 0: 250 + 10 = 260 -> 4; group 1: 7; group 2: nothing -> 0; -1 is not a group
    assert cell_keys(np.array([0, 1, 0, -1]), np.array([250, 7, 10, 99]), 3).tolist() == [4, 7, 0]


@pytest.mark.parametrize("strategy", ["dense", "sorted"])
def test_distinct_counts_and_keys_match_a_brute_force_count(monkeypatch, strategy):
    from dashboard.analytics import disclosure

    if strategy == "sorted":
        monkeypatch.setattr(disclosure, "_DENSE_LIMIT", 0)
    assert disclosure.distinct_pairs(np.array([1, 0, 1]), np.array([3, 3, 3]), 2, 4)[0].tolist() == [0, 1]
    rng = np.random.default_rng(4)
    for _ in range(20):
        n = int(rng.integers(0, 400))
        groups = rng.integers(-1, 6, n)
        units = rng.integers(0, 50, n)
        unit_keys = rng.integers(0, 256, 50)
        counts, keys = distinct_counts_and_keys(groups, units, unit_keys, 6)
        for g in range(6):
            members = {int(u) for gg, u in zip(groups, units) if gg == g}
            assert counts[g] == len(members)
            assert keys[g] == sum(int(unit_keys[u]) for u in members) % 256


def test_the_table_never_moves_a_count_by_more_than_the_maximum_nor_below_k(table):
    counts = np.repeat(np.arange(K, 60), KEY_RANGE)
    keys = np.tile(np.arange(KEY_RANGE), 60 - K)
    published = table.published(counts, keys)
    assert np.abs(published - counts).max() == 3
    assert published.min() == K


def test_far_from_k_the_adjustment_is_unbiased_with_the_configured_variance(table):
    # Over all 256 cell keys the lookup realises the distribution: mean 0, variance close to 2.
    for count in (11, 50, 5000):
        d = table.perturbation(np.full(KEY_RANGE, count), np.arange(KEY_RANGE))
        assert d.mean() == 0
        assert abs(d.var() - 2.0) < 0.1
        assert table.bias_at(count) == 0.0


def test_maximum_entropy_distribution_matches_a_hand_computation(table):
    # p(d) is proportional to exp(-lambda d^2); solve for lambda independently by scanning.
    best = min(
        (
            abs(
                sum(d * d * math.exp(-lam * d * d) for d in range(-3, 4))
                / sum(math.exp(-lam * d * d) for d in range(-3, 4))
                - 2.0
            ),
            lam,
        )
        for lam in np.arange(0.001, 2, 0.0001)
    )[1]
    weights = [math.exp(-best * d * d) for d in range(-3, 4)]
    expected = [w / sum(weights) for w in weights]
    support, p = table.distribution(100)
    assert support.tolist() == [-3, -2, -1, 0, 1, 2, 3]
    assert np.allclose(p, expected, atol=1e-3)


def test_just_above_k_adjustments_only_go_up_or_stay(table):
    support, p = table.distribution(K)
    assert p[support < 0].sum() == 0
    support, p = table.distribution(K + 1)
    assert p[support < -1].sum() == 0 and p[support == -1].sum() > 0
    assert table.bias_at(K) > 0


def test_same_set_same_answer_and_consecutive_counts_are_not_tied(table):
    layer = Disclosure(table)
    assert layer.counts([40, 40], [17, 17]).tolist() == layer.counts([40, 40], [17, 17]).tolist()
    # With one cell key, the adjustments of counts n and n+1 are not the same in general: the key
    # is shifted per count before the lookup. Over all keys, how often does d(n) equal d(n+1)?
    same = np.mean(
        [
            table.perturbation(np.array([n]), np.array([k]))[0]
            == table.perturbation(np.array([n + 1]), np.array([k]))[0]
            for n, k in itertools.product(range(20, 40), range(0, 256, 3))
        ]
    )
    _, p = table.distribution(100)
    assert abs(same - (p**2).sum()) < 0.08  # as for independent draws (~0.19), not ~1


def test_counts_below_k_are_hidden_and_the_rest_adjusted(table):
    layer = Disclosure(table)
    keys = np.array([3, 200, 77, 5])
    out = layer.counts([0, 7, 8, 1000], keys)
    assert out[0] is pd.NA and out[1] is pd.NA
    from dashboard.analytics.disclosure import _SCRAMBLE

    expected_8 = 8 + int(table.rows[8][_SCRAMBLE[(77 + (8 * 167 + 89)) % 256]])
    expected_1000 = 1000 + int(table.rows[-1][_SCRAMBLE[(5 + (1000 * 167 + 89)) % 256]])
    assert out[2] == expected_8 and out[3] == expected_1000


def test_withhold_all_publishes_nothing(table):
    layer = Disclosure(table, withhold_all=True)
    assert layer.counts([100, 5000], [1, 2]).isna().all()
    assert layer.count(900, 4) is None
    assert not layer.present([3, 0]).any()
    assert layer.exact(12) is None
    assert layer.magnitudes(np.array([1.5]), np.array([3]), np.array([50])).isna().all()


def test_rates_come_from_published_figures_and_hide_with_either_side():
    assert Disclosure.rate(3, 8) == 0.375
    assert Disclosure.rate(None, 8) is None and Disclosure.rate(3, None) is None and Disclosure.rate(1, 0) is None
    out = Disclosure.rate(pd.array([1, pd.NA, 4], dtype="Int64"), pd.array([4, 5, 0], dtype="Int64"), 100, 1)
    assert out[0] == 25.0 and out[1] is pd.NA and out[2] is pd.NA


def test_magnitudes_move_by_at_most_five_percent_and_hide_below_k(table):
    layer = Disclosure(table)
    values = np.full(KEY_RANGE, 2.0)
    out = layer.magnitudes(values, np.arange(KEY_RANGE), np.full(KEY_RANGE, 20)).to_numpy(dtype=float)
    assert np.abs(out / 2.0 - 1).max() == pytest.approx(0.05)
    assert layer.magnitudes(np.array([2.0]), np.array([1]), np.array([7])).isna().all()


def test_ons_layout_has_a_row_per_count_and_key(table):
    frame = table.frame()
    assert list(frame.columns) == ["pcv", "ckey", "pvalue"]
    assert len(frame) == (len(table.rows) - K) * 256
    assert frame["pcv"].min() == K and frame["pvalue"].abs().max() == 3


@pytest.mark.parametrize("args, message", [((8, 3, 4.0), "below 4"), ((8, 3, 0.0), "above 0"), ((0, 3, 1.0), "k must")])
def test_impossible_parameters_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        PTable.build(*args)


def test_record_keys_cover_the_range():
    seen = {new_record_key() for _ in range(5000)}
    assert seen <= set(range(256)) and len(seen) > 240


def test_a_part_over_its_whole_never_reads_above_100_percent():
    # answered 13 of 12 closed after independent adjustments (true 12 of 13): shown as 100%, not 108.3%
    assert Disclosure.share(13, 12) == 1.0 and Disclosure.share(7, 12) == round(7 / 12, 4)
    out = Disclosure.share(pd.array([13, pd.NA, 3], dtype="Int64"), pd.array([12, 5, 8], dtype="Int64"))
    assert out[0] == 1.0 and out[1] is pd.NA and out[2] == 0.375
