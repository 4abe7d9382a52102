"""What became of the footage (issue 17) on small hand-made frames, through the disclosure-control
layer: time from request to first upload, files accepted / declined / awaiting a decision, why they
were declined, and what became of requests sent too late. Expected figures are worked out by hand:
each cell key the sum of the records' keys modulo 256, the adjustment read from the p-table's rows
at the documented column (``by_table``, as in test_uptake)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from dashboard.analytics import uptake
from dashboard.analytics.disclosure import _SCRAMBLE, Disclosure, PTable
from dashboard.core.vocab import DECLINE_REASONS

D = dt.date
K = 8
TABLE = PTable.build(K, 3, 2.0)
LAYER = Disclosure(TABLE)
WITHHOLD = Disclosure(TABLE, withhold_all=True)
EXACT = Disclosure(PTable.build(K, 0, 0.0))  # K-suppression only, so bands can be worked by hand
SENT = pd.Timestamp("2026-07-07 09:00", tz="UTC")  # a Tuesday: the week of Monday 6 July
NEXT_WEEK = SENT + pd.Timedelta(days=7)


def by_table(true: int, key: int) -> int | None:
    """The published count by hand: true + the table's adjustment at (row, shifted key)."""
    if true < K:
        return None
    row = min(true, len(TABLE.rows) - 1)
    return true + int(TABLE.rows[row, _SCRAMBLE[(key + true * 167 + 89) % 256]])


def requests(rows: list[tuple]) -> pd.DataFrame:
    """(status, too late, days to the first upload or None, a file accepted, key, district, sent)."""
    sent = [r[6] if len(r) > 6 else SENT for r in rows]
    return pd.DataFrame(
        {
            "status": [r[0] for r in rows],
            "sent_at": pd.Series(sent, dtype="datetime64[ns, UTC]"),
            "status_changed_at": pd.Series(sent, dtype="datetime64[ns, UTC]"),
            "footage_useful": pd.array([None] * len(rows), dtype="boolean"),
            "footage_likely_overwritten": [r[1] for r in rows],
            "first_upload_at": pd.Series(
                [s + pd.Timedelta(days=r[2]) if r[2] is not None else pd.NaT for s, r in zip(sent, rows)],
                dtype="datetime64[ns, UTC]",
            ),
            "file_accepted": [r[3] for r in rows],
            "record_key": [r[4] for r in rows],
            "district_code": [r[5] for r in rows],
            "crime_category": ["Burglary"] * len(rows),
        }
    )


def files(rows: list[tuple]) -> pd.DataFrame:
    """(triage, decline reason, key, district, sent)."""
    return pd.DataFrame(
        {
            "sent_at": pd.Series([r[4] if len(r) > 4 else SENT for r in rows], dtype="datetime64[ns, UTC]"),
            "triage": [r[0] for r in rows],
            "decline_reason": [r[1] for r in rows],
            "record_key": [r[2] for r in rows],
            "district_code": [r[3] for r in rows],
        }
    )


def seeded() -> tuple[pd.DataFrame, pd.DataFrame]:
    # Requests sent on 7 July: ten answered with footage (keys 20..29; first upload after half a day
    # (4), 4 days (4), 20 days (2); a file accepted for six of them); twelve sent too late: eight
    # never answered (keys 1..8), four answered with footage after 2 days (keys 9..12), a file
    # accepted for two of those. One more request, too late, the week after (outside the range).
    waits = [0.5] * 4 + [4.0] * 4 + [20.0] * 2
    reqs = [("footage_provided", False, w, i < 6, 20 + i, "A") for i, w in enumerate(waits)]
    reqs += [("no_response", True, None, False, k, "A") for k in range(1, 9)]
    reqs += [("footage_provided", True, 2.0, k in (9, 10), k, "B") for k in range(9, 13)]
    reqs += [("no_response", True, None, False, 99, "A", NEXT_WEEK)]
    # Files for those requests: twelve accepted (keys 100..111), ten declined (eight "does not show
    # anything relevant", keys 1..8; two "too poor to use", keys 9 and 10), eight awaiting a decision
    # (keys 40..47); and one accepted the week after (outside the range).
    fs = [("accepted", None, k, "A") for k in range(100, 112)]
    fs += [("declined", "not_relevant", k, "A") for k in range(1, 9)]
    fs += [("declined", "poor_quality", k, "B") for k in (9, 10)]
    fs += [(None, None, k, "B") for k in range(40, 48)]
    fs += [("accepted", None, 200, "A", NEXT_WEEK)]
    return requests(reqs), files(fs)


def test_files_accepted_declined_awaiting_and_the_share_by_hand():
    reqs, fs = seeded()
    out = uptake.footage_outcomes(reqs, fs, D(2026, 7, 8), D(2026, 7, 8), LAYER)
    assert (out["from"], out["to"]) == (D(2026, 7, 6), D(2026, 7, 12))  # whole UK weeks
    # 30 files in the week: keys 1266 + 55 + 348 = 1669 -> 133; accepted 12, keys 1266 -> 242;
    # declined 10, keys 55; awaiting 8, keys 348 -> 92. (The file of 13 July is in neither total.)
    uploaded, accepted = by_table(30, 133), by_table(12, 242)
    assert {n: c.value for n, c in out["files"].items()} == {
        "files": uploaded,
        "accepted": accepted,
        "declined": by_table(10, 55),
        "awaiting": by_table(8, 92),
    }
    assert None not in (uploaded, accepted)
    # The share from the two published counts, never from 12 / 30.
    assert out["accepted_share"] == round(accepted / uploaded, 4)
    # Reasons: every one listed; "does not show anything relevant" 8 (keys 36); "too poor to use" 2:
    # fewer than K; the rest none (shown as "fewer than 8" too: a 0 is not told apart from a 1).
    reasons = out["declined_reasons"]
    assert list(reasons) == list(DECLINE_REASONS)
    assert reasons["not_relevant"].value == by_table(8, 36)
    assert reasons["poor_quality"] == uptake.RangeCount(None, True)
    assert reasons["poor_quality"].text(K) == "fewer than 8"
    assert all(reasons[r].value is None for r in ("outside_window", "duplicate", "unplayable", "other"))


def test_too_late_requests_and_what_became_of_them_by_hand():
    reqs, fs = seeded()
    out = uptake.footage_outcomes(reqs, fs, D(2026, 7, 6), D(2026, 7, 12), LAYER)
    # 12 too late in the week (keys 1..12 = 78); the one of 14 July is outside.
    assert out["too_late"].value == by_table(12, 78)
    late = out["too_late_outcomes"]
    assert list(late) == [*uptake.OUTCOMES, "file_accepted"]
    assert late["no_response"].value == by_table(8, 36)
    assert late["footage_provided"].value is None and late["footage_provided"].small  # 4
    assert late["file_accepted"].value is None  # 2
    assert late["withdrawn"].value is None
    # The same figure as the request outcomes' "too late" (the same records, the same series).
    assert out["too_late"] == uptake.request_outcomes(reqs, D(2026, 7, 6), D(2026, 7, 12), LAYER)["too_late"]


def test_time_to_first_upload_bands_and_requests_with_an_upload_by_hand():
    reqs, fs = seeded()
    # 14 requests with an upload (keys 20..29 = 245 and 9..12 = 42: 287 -> 31).
    assert uptake.footage_outcomes(reqs, fs, D(2026, 7, 6), D(2026, 7, 12), LAYER)["uploaded"].value == by_table(14, 31)
    out = uptake.footage_outcomes(reqs, fs, D(2026, 7, 6), D(2026, 7, 12), EXACT)
    # Waits 0.5 (4), 2 (4), 4 (4), 20 (2): within 1 day 4 (fewer than K: taken as none), within 2
    # days 8 (at least 7 = half of 14: the median's band "1 to 2 days"), within 14 days 12 (under
    # 12.6 = 90%), within 30 days 14: the 90th percentile's band "14 to 30 days".
    assert (out["median_days_to_first_upload"], out["p90_days_to_first_upload"]) == ("1 to 2 days", "14 to 30 days")
    # District A alone (the page's district choice): its ten requests with an upload, waits 0.5 (4),
    # 4 (4), 20 (2): within 5 days 8 (at least 5): "3 to 5 days"; within 14 days 8 (under 9), within
    # 30 days 10: "14 to 30 days".
    none = pd.DataFrame({"district_code": pd.Series([], dtype=object)})
    a = uptake.only_district({"requests": reqs, "files": fs, "registrations": none}, "A")
    out_a = uptake.footage_outcomes(a["requests"], a["files"], D(2026, 7, 6), D(2026, 7, 12), EXACT)
    assert (out_a["median_days_to_first_upload"], out_a["p90_days_to_first_upload"]) == ("3 to 5 days", "14 to 30 days")
    # District A's files (the exact layer: no adjustment): 12 accepted and 8 declined "not relevant".
    assert out_a["files"]["files"].value == 20 and out_a["files"]["awaiting"].value is None
    # Fewer than K requests with an upload: no bands at all.
    few = uptake.footage_outcomes(reqs.iloc[:7], fs, D(2026, 7, 6), D(2026, 7, 12), EXACT)
    assert few["median_days_to_first_upload"] is None and few["p90_days_to_first_upload"] is None
    assert few["uploaded"].value is None and few["uploaded"].text(K) == "fewer than 8"


def test_a_file_before_its_request_counts_as_no_wait():
    at = pd.Timestamp("2026-07-06 09:00", tz="UTC")
    frame = pd.DataFrame({"sent_at": [at, at], "first_upload_at": [at - pd.Timedelta(hours=5), pd.NaT]})
    assert uptake.first_upload_days(frame)[0] == 0.0 and np.isnan(uptake.first_upload_days(frame)[1])


def test_a_share_is_hidden_when_its_accepted_count_is():
    # 20 files, 5 accepted (fewer than K): the share would give the 5 back (0.25 x 20): not shown.
    fs = files([("accepted", None, k, "A") for k in range(5)] + [(None, None, k, "A") for k in range(15)])
    reqs, _ = seeded()
    out = uptake.footage_outcomes(reqs, fs, D(2026, 7, 6), D(2026, 7, 12), LAYER)
    assert out["files"]["files"].value == by_table(20, (10 + sum(range(15))) % 256)
    assert out["files"]["accepted"].value is None and out["accepted_share"] is None


def test_withholding_everything_leaves_nothing():
    reqs, fs = seeded()
    out = uptake.footage_outcomes(reqs, fs, D(2026, 7, 6), D(2026, 7, 12), WITHHOLD)
    counts = [
        out["uploaded"],
        out["too_late"],
        *out["files"].values(),
        *out["declined_reasons"].values(),
        *out["too_late_outcomes"].values(),
    ]
    assert all(c.value is None for c in counts)
    assert out["accepted_share"] is None and out["median_days_to_first_upload"] is None


def test_no_files_and_no_requests_show_nothing_and_break_nothing():
    reqs, fs = seeded()
    out = uptake.footage_outcomes(reqs.iloc[:0], fs.iloc[:0], D(2026, 7, 6), D(2026, 7, 12), LAYER)
    assert out["files"]["files"] == uptake.RangeCount(None, True) and out["accepted_share"] is None
