"""Uptake and request-outcome metrics on small hand-made frames, answers worked out by hand."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics.uptake import (completeness, funnel, per_period, projection, request_outcomes,
                                        running_total, uk_days)

D = dt.date


def _utc(*texts: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(texts), utc=True))


def test_uk_days_follow_british_summer_time():
    days = uk_days(_utc("2026-03-28 23:59", "2026-03-29 01:30",  # clocks go forward at 01:00 UTC on 29 March
                        "2026-10-24 23:30", "2026-10-25 00:30", "2026-10-25 23:30",  # back at 01:00 UTC on 25 Oct
                        "2026-07-12 23:30", "2026-01-11 23:30"))
    assert days.dt.date.tolist() == [D(2026, 3, 28), D(2026, 3, 29), D(2026, 10, 25), D(2026, 10, 25), D(2026, 10, 25),
                             D(2026, 7, 13), D(2026, 1, 11)]
    with pytest.raises(ValueError, match="timezone-aware"):
        uk_days(pd.Series(pd.to_datetime(["2026-01-01"])))


def test_a_late_summer_sunday_registration_counts_in_the_next_week():
    days = uk_days(_utc("2026-07-12 22:59", "2026-07-12 23:00", "2026-01-11 23:30"))  # 23:59 and 00:00 BST
    weekly = per_period(days, D(2026, 1, 5), D(2026, 7, 19), "week")
    counts = dict(zip(weekly["start"], weekly["count"]))
    assert counts[D(2026, 7, 6)] == 1 and counts[D(2026, 7, 13)] == 1 and counts[D(2026, 1, 5)] == 1
    assert len(weekly) == 28 and weekly["count"].sum() == 3  # 5 January to 13 July: 27 weeks apart and weekly.attrs["before"] == 0


def test_per_period_sums_weights_and_counts_earlier_ones_as_before():
    days = pd.Series([D(2026, 7, 1), D(2026, 7, 1), D(2026, 7, 3), D(2026, 6, 30)])
    daily = per_period(days, D(2026, 7, 1), D(2026, 7, 4), "day", weights=pd.Series([2, 1, 4, 9]))
    assert daily["count"].tolist() == [3, 0, 4, 0] and daily.attrs["before"] == 9
    with pytest.raises(ValueError):
        per_period(days, D(2026, 7, 4), D(2026, 7, 1), "day")
    with pytest.raises(ValueError):
        per_period(days, D(2026, 7, 1), D(2026, 7, 4), "month")


def test_running_total_by_hand():
    # The first 8 is not shown alone: with the start (0) known it would also show the two empty weeks
    # before it, and a zero is drawn from fewer than K registrations too.
    assert running_total([0, 0, 8, 1, 7, 20], 8) == ([None, None, None, None, None, 20],
                                                     [None, None, 8, None, 16, 36])
    assert running_total([], 8) == ([], [])
    assert running_total([3], 8, before=100) == ([None], [None])


def test_no_hidden_period_can_be_recovered_from_what_is_shown():
    rng = np.random.default_rng(6)
    for _ in range(500):
        k = int(rng.integers(2, 12))
        counts = rng.integers(0, 15, int(rng.integers(1, 30))).tolist()
        before = int(rng.choice([0, int(rng.integers(1, k)), int(rng.integers(k, 100))]))
        shown, totals = running_total(counts, k, before)
        truth = np.cumsum([before, *counts])[1:]
        published = [(i, t) for i, t in enumerate(totals) if t is not None]
        for i, t in published:
            assert t == truth[i]
        for i, c in enumerate(shown):
            assert c is None or (c == counts[i] and c >= k)
        # Between two published totals (or the start, when it is known) lie periods adding up to >= k,
        # and a single period between them is shown anyway: no hidden count is a difference.
        start_known = before == 0 or before >= k
        marks = ([(-1, before)] if start_known else []) + published
        for (a, ta), (b, tb) in zip(marks, marks[1:]):
            assert tb - ta >= k
            if b - a == 1:
                assert shown[b] == counts[b]


def test_funnel_by_hand():
    daily = pd.DataFrame({
        "campaign": ["Poster A", "Poster A", "Staff email", "Staff email", "Poster A"],
        "channel": ["poster", "poster", "internal_message", "internal_message", "poster"],
        "day": [D(2026, 7, 1), D(2026, 7, 2), D(2026, 7, 1), D(2026, 7, 9), D(2026, 8, 1)],
        "scans": [120, 80, 0, 0, 500], "form_starts": [40, 20, 50, 30, 100], "completions": [10, 6, 20, 12, 50]})
    out = funnel(daily, D(2026, 7, 1), D(2026, 7, 31), 8).set_index("campaign")
    assert out.loc["Poster A", ["scans", "form_starts", "completions"]].tolist() == [200, 60, 16]
    assert out.loc["Poster A", "start_rate"] == 0.3 and out.loc["Poster A", "completion_rate"] == round(16 / 60, 4)
    assert pd.isna(out.loc["Staff email", "start_rate"])  # no scans: a link sent by email, not a QR code
    assert out.loc["Staff email", "completion_rate"] == 0.4
    few = funnel(daily, D(2026, 7, 2), D(2026, 7, 2), 8).set_index("campaign")
    assert pd.isna(few.loc["Poster A", "completions"]) and pd.isna(few.loc["Poster A", "completion_rate"])


def test_completeness_hides_fewer_than_k_registrations():
    cams = pd.DataFrame({"registrant_id": [1, 1, 2, 3, 4, 5, 6, 7], "direction_deg": [10.0] * 8,
                         "retention_days": [7] * 8, "overlooks": [""] * 8})
    assert completeness(cams, 8) == {"direction": None, "retention": None, "overlooks": None}
    assert completeness(cams, 7) == {"direction": 1.0, "retention": 1.0, "overlooks": 0.0}


def test_projection_by_hand():
    # y = 1, 3, 2, 4: slope 0.8, intercept 1.3, residual SS 1.8 over 2 degrees of freedom, t = 4.303;
    # week 5 (x = 4): 4.5 +- 4.303 * 0.9487 * sqrt(1 + 1/4 + 2.5**2 / 5) = 4.5 +- 6.455
    out = projection([1, 3, 2, 4], 1)
    assert out.loc[0, "expected"] == 4.5
    assert out.loc[0, "low"] == 0.0 and out.loc[0, "high"] == pytest.approx(10.955, abs=0.01)
    flat = projection([5, 5, 5], 3)
    assert flat["expected"].tolist() == [5.0] * 3 and flat["cumulative"].tolist() == [5.0, 10.0, 15.0]
    assert projection([9, 6, 3, 0], 3)["expected"].tolist() == [0.0, 0.0, 0.0]  # never below nothing
    with pytest.raises(ValueError, match="at least 3 weeks"):
        projection([1, 2], 4)


def test_request_outcomes_by_hand():
    at = pd.Timestamp("2026-07-01 09:00", tz="UTC")
    rows = [("footage_provided", 1, True, False), ("footage_provided", 2, True, False),
            ("footage_provided", 3, False, False), ("footage_provided", 10, pd.NA, False),
            ("no_relevant_footage", 2, pd.NA, False), ("declined", 1, pd.NA, False),
            ("no_response", 14, pd.NA, True), ("withdrawn", 1, pd.NA, False), ("sent", 0, pd.NA, True)]
    reqs = pd.DataFrame({"status": [r[0] for r in rows], "sent_at": [at] * len(rows),
                         "status_changed_at": [at + pd.Timedelta(days=r[1]) for r in rows],
                         "footage_useful": [r[2] for r in rows], "footage_likely_overwritten": [r[3] for r in rows]})
    out = request_outcomes(reqs, 8)
    assert out["requests"] == 9
    # every status has fewer than 8: all hidden (one alone could not be, as they add up to 9)
    assert set(out["by_status"].values()) == {None}
    # answered (provided 4 + no relevant 1 + declined 1) of the 8 not withdrawn
    assert out["response_rate"] == 0.75
    assert out["median_days_to_footage"] == 2.5 and out["p90_days_to_footage"] == 7.9  # 3 + 0.7 * (10 - 3)
    assert out["useful_share"] == round(2 / 3, 4) and out["too_late"] is None  # 2 < 8
    many = pd.concat([reqs] * 4, ignore_index=True)  # 36 requests: 16 provided, 4 of each other outcome
    counted = request_outcomes(many, 8)
    assert counted["by_status"]["footage_provided"] == 16 and counted["too_late"] == 8
    assert counted["by_status"]["declined"] is None and counted["by_status"]["withdrawn"] is None
    assert request_outcomes(reqs.iloc[:7], 8)["response_rate"] is None
