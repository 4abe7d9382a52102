"""Issue 16's new events (the owner's uploads) as a project lead sees them: time to footage.

BREAK (promise 4: "every figure they see passes one disclosure-control layer ... differencing by dates
yields noise, not people"). Since issue 16, a request's time to footage is when its owner's first file
was stored. ``request_outcomes`` publishes the median and 90th percentile of those waits, exact (to
0.1 day) and not through the layer, whenever at least K requests in the range provided footage. A
lead who asks for weeks 1..n and then weeks 1..n+1 (the metrics API and the uptake page take any
range of whole weeks) gets two exact medians whose difference gives the wait of a lone request in
week n+1, to within a tenth of a day, although that week's count of footage provided is itself hidden
("fewer than 8"): when one owner uploaded, to the hour or two.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard.analytics import uptake
from dashboard.analytics.disclosure import Disclosure, PTable

D = dt.date
K = 8
LAYER = Disclosure(PTable.build(K, 3, 2.0))


def _frame(waits: list[tuple[dt.date, float]]) -> pd.DataFrame:
    at = [pd.Timestamp(day).tz_localize("UTC") + pd.Timedelta(hours=9) for day, _ in waits]
    return pd.DataFrame(
        {
            "status": ["footage_provided"] * len(waits),
            "sent_at": at,
            "status_changed_at": [a + pd.Timedelta(days=w) for a, (_, w) in zip(at, waits)],
            "footage_useful": pd.array([None] * len(waits), dtype="boolean"),
            "footage_likely_overwritten": [False] * len(waits),
            "record_key": [(37 * i + 11) % 256 for i in range(len(waits))],
            "district_code": ["A"] * len(waits),
            "crime_category": ["Burglary"] * len(waits),
        }
    )


def test_a_lone_owners_time_to_footage_is_not_recovered_by_differencing_two_week_ranges():
    # Nine requests in the week of 6 July provided footage after 1..9 days (median 5.0); one more
    # request, sent in the week of 13 July, got footage after ``secret`` days (its owner's upload).
    published = {}
    secrets = [5.1, 5.3, 5.45, 5.6, 5.75, 5.9]
    for secret in secrets:
        frame = _frame([(D(2026, 7, 7), float(d)) for d in range(1, 10)] + [(D(2026, 7, 14), secret)])
        alone = uptake.request_outcomes(frame, D(2026, 7, 13), D(2026, 7, 19), LAYER)
        assert alone["by_status"]["footage_provided"].value is None  # the week itself: "fewer than 8"
        assert alone["median_days_to_footage"] is None
        before = uptake.request_outcomes(frame, D(2026, 7, 6), D(2026, 7, 12), LAYER)
        after = uptake.request_outcomes(frame, D(2026, 7, 6), D(2026, 7, 19), LAYER)
        published[secret] = tuple(
            r[name] for r in (before, after) for name in ("median_days_to_footage", "p90_days_to_footage")
        )
    # All the lead sees are bands from published counts: the same whatever the lone owner's wait, so
    # differencing the two ranges says nothing about it (before the fix: recovered to 0.1 day in 6 of 6).
    assert len(set(published.values())) == 1, f"LEAK: what is published depends on the lone wait: {published}"
    assert all(v in uptake.WAIT_BANDS for v in next(iter(published.values()))), published
