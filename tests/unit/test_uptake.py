"""Uptake and request-outcome metrics on small hand-made frames, through the disclosure-control
layer. Expected figures are worked out by hand: the cell key as the sum of the record keys modulo
256, and the adjustment read straight from the p-table's rows (``PTable.rows``) at the column the
documented lookup names: the key shifted by ``(count * 167 + 89) mod 256``, then through the fixed
permutation ``_SCRAMBLE``."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics import uptake
from dashboard.analytics.disclosure import _SCRAMBLE, Disclosure, PTable
from dashboard.analytics.uptake import projection
from dashboard.core import uktime
from dashboard.core.uktime import uk_days
from dashboard.registry import summaries

D = dt.date
K = 8
TABLE = PTable.build(K, 3, 2.0)
LAYER = Disclosure(TABLE)
WITHHOLD = Disclosure(TABLE, withhold_all=True)
EXACT = Disclosure(PTable.build(K, 0, 0.0))  # K-suppression only: for checks of what is counted
NO_DUE = pd.DataFrame({"district_code": [], "registrations": [], "registrations_key": []})


def by_table(true: int, key: int) -> int | None:
    """The published count by hand: true + the table's adjustment at (row, shifted key)."""
    if true == 0:
        return 0
    if true < K:
        return None
    row = min(true, len(TABLE.rows) - 1)
    return true + int(TABLE.rows[row, _SCRAMBLE[(key + true * 167 + 89) % 256]])


def _list(values) -> list:
    """Values as a list, NA as None."""
    return [None if pd.isna(v) else v for v in values]


def _utc(*texts: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(texts), utc=True))


def _registrations(rows: list[tuple]) -> pd.DataFrame:
    """(consent UK day, record key or None, cameras, camera key sum, district, end reason, withdrawn day)."""
    frame = pd.DataFrame(
        rows, columns=["day", "record_key", "cameras", "camera_keys", "district_code", "end_reason", "withdrawn_day"]
    )
    at = lambda d: pd.Timestamp(d).tz_localize("Europe/London").tz_convert("UTC") + pd.Timedelta(hours=12)  # noqa: E731
    frame["consent_at"] = pd.Series([at(d) for d in frame["day"]], dtype="datetime64[ns, UTC]")
    frame["withdrawn_at"] = pd.Series(
        [at(d) if d is not None else pd.NaT for d in frame["withdrawn_day"]], dtype="datetime64[ns, UTC]"
    )
    frame["status"] = np.where(frame["end_reason"].isna(), "active", "withdrawn")
    frame["last_confirmed_at"] = frame["consent_at"]
    frame["record_key"] = pd.array(frame["record_key"], dtype="Int64")
    return frame


def _retired(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["series", "day", "district_code", "key_sum"])


# ------------------------------------------------------------------------------------ days


def test_uk_days_follow_british_summer_time():
    days = uk_days(
        _utc(
            "2026-03-28 23:59",
            "2026-03-29 01:30",  # clocks go forward at 01:00 UTC on 29 March
            "2026-10-24 23:30",
            "2026-10-25 00:30",
            "2026-10-25 23:30",  # back at 01:00 UTC on 25 Oct
            "2026-07-12 23:30",
            "2026-01-11 23:30",
        )
    )
    assert days.dt.date.tolist() == [
        D(2026, 3, 28),
        D(2026, 3, 29),
        D(2026, 10, 25),
        D(2026, 10, 25),
        D(2026, 10, 25),
        D(2026, 7, 13),
        D(2026, 1, 11),
    ]
    with pytest.raises(ValueError, match="timezone-aware"):
        uk_days(pd.Series(pd.to_datetime(["2026-01-01"])))


def test_a_late_summer_sunday_registration_counts_in_the_next_week():
    # 22:59 UTC is 23:59 BST on Sunday 12 July; 23:00 UTC is Monday 13 July
    at = _utc("2026-07-12 22:59", "2026-07-12 23:00", "2026-01-11 23:30")
    days = uptake.day_numbers(at)
    assert [uktime.EPOCH + dt.timedelta(days=int(d)) for d in days] == [D(2026, 7, 12), D(2026, 7, 13), D(2026, 1, 11)]
    _, ends = uptake.calendar(D(2026, 7, 6), D(2026, 7, 13), "week")
    totals, _ = uptake.cumulative_by(days, ends)
    assert totals.tolist() == [[1, 2, 3]]  # before 6 July: the January one; then Sunday's; then Monday's


def test_query_space_days_for_the_force_whole_weeks_below_it():
    span, refused = uptake.resolve_range(D(2026, 7, 8), D(2026, 7, 9), True, "day")
    assert refused is None and (span.first, span.last, span.grain, span.widened) == (
        D(2026, 7, 8),
        D(2026, 7, 9),
        "day",
        False,
    )
    span, refused = uptake.resolve_range(D(2026, 7, 9), D(2026, 7, 8), False, "week")  # swapped, then widened
    assert refused is None and (span.first, span.last, span.widened) == (D(2026, 7, 6), D(2026, 7, 12), True)
    span, _ = uptake.resolve_range(D(2026, 7, 6), D(2026, 7, 19), False, "week")
    assert (span.first, span.last, span.widened) == (D(2026, 7, 6), D(2026, 7, 19), False)
    span, refused = uptake.resolve_range(D(2026, 7, 8), D(2026, 7, 9), False, "day")
    assert span is None and refused == "Days are shown for the whole force only; choose Week."
    assert uptake.whole_weeks(D(2026, 11, 29), D(2026, 11, 30)) == (D(2026, 11, 23), D(2026, 12, 6))


# -------------------------------------------------------------------- the cumulative series


def _eleven_and_three():
    """10 registrations on Monday 6 July 2026 (keys 10..19, sum 145) and one made that day and erased
    (its key, 77, now in the 'registered' retired sum); 3 on Tuesday 7 July (keys 1, 2, 3)."""
    rows = [(D(2026, 7, 6), 10 + i, 1, 5, "A", None, None) for i in range(10)]
    rows += [(D(2026, 7, 6), None, 2, 9, "A", "request", D(2026, 7, 20))]
    rows += [(D(2026, 7, 7), i, 1, 0, "A", None, None) for i in (1, 2, 3)]
    return _registrations(rows), _retired([("registered", D(2026, 7, 6), "A", 77)])


def test_published_totals_by_hand_from_the_record_keys_and_the_table():
    regs, retired = _eleven_and_three()
    series = uptake.registrations_series(regs, retired, D(2026, 7, 6), D(2026, 7, 8), "day", LAYER)
    # 6 July: 11 made, key (145 + 77) mod 256 = 222; row 11 (the last), shifted key (222 + 1926) mod 256 = 100
    six = 11 + int(TABLE.rows[11, _SCRAMBLE[100]])
    # 7 July: 14 made, key (222 + 6) mod 256 = 228; row 11, shifted key (228 + 2427) mod 256 = 95
    seven = 14 + int(TABLE.rows[11, _SCRAMBLE[95]])
    assert series["total"].tolist() == [six, seven, seven] and series.attrs["before"] == 0
    assert (six, seven) == (by_table(11, 222), by_table(14, 228))
    # 6 July's bar is its total minus the 0 before; 7 July's 3 (< K) and 8 July's 0 are not shown
    assert _list(series["registrations"]) == [six, None, None]
    # cameras: 10 + 2 = 12 on 6 July with key 10 * 5 + 9 = 59; shown as the registrations are
    assert series["cameras"].tolist()[0] == by_table(12, 59)


def test_moving_from_by_a_day_changes_no_published_total():
    regs, retired = _eleven_and_three()
    rng = np.random.default_rng(3)
    more = _registrations(
        [
            (D(2026, 7, 6) + dt.timedelta(days=int(d)), int(key), 1, int(key), "A", None, None)
            for d, key in zip(rng.integers(0, 60, 400), rng.integers(0, 256, 400))
        ]
    )
    regs = pd.concat([regs, more], ignore_index=True)
    totals = {}
    for start in range(0, 40):
        first = D(2026, 7, 6) + dt.timedelta(days=start)
        series = uptake.registrations_series(regs, retired, first, D(2026, 9, 10), "day", LAYER)
        before = first - dt.timedelta(days=1)
        for day, total in [(before, series.attrs["before"]), *zip(series["start"], series["total"])]:
            value = None if pd.isna(total) else int(total)
            assert totals.setdefault(day, value) == value, day
    # and each day's bar is the difference of its total and the day before's (never below K when shown)
    series = uptake.registrations_series(regs, retired, D(2026, 7, 6), D(2026, 9, 10), "day", LAYER)
    for day, bar in zip(series["start"], series["registrations"]):
        if not pd.isna(bar):
            assert bar == max(K, totals[day] - totals[day - dt.timedelta(days=1)])


def test_a_range_is_the_difference_of_two_published_totals():
    rng = np.random.default_rng(8)
    regs = _registrations(
        [
            (D(2026, 7, 1) + dt.timedelta(days=int(d)), int(key), 2, int(key2), "A", None, None)
            for d, key, key2 in zip(rng.integers(0, 50, 300), rng.integers(0, 256, 300), rng.integers(0, 256, 300))
        ]
    )
    series = uptake.registrations_series(regs, None, D(2026, 7, 1), D(2026, 8, 31), "day", LAYER)
    total = dict(zip(series["start"], series["total"]))
    checked = hidden = 0
    for first, last in [
        (D(2026, 7, 3), D(2026, 7, 20)),
        (D(2026, 7, 10), D(2026, 7, 10)),
        (D(2026, 8, 2), D(2026, 8, 9)),
        (D(2026, 7, 21), D(2026, 7, 21)),
        (D(2026, 7, 5), D(2026, 8, 30)),
    ]:
        figures = uptake.headline(regs, None, first, last, NO_DUE, LAYER)
        true = sum(first <= d <= last for d in regs["day"])
        before, after = total[first - dt.timedelta(days=1)], total[last]
        assert not pd.isna(before) and not pd.isna(after)
        if true >= K:
            assert figures["registrations"].value == max(K, int(after) - int(before))
            checked += 1
        else:  # both totals are published, their difference is not: fewer than K
            assert figures["registrations"] == uptake.RangeCount(None, True)
            hidden += 1
    assert checked >= 2 and hidden >= 1


def test_an_erasure_changes_no_historical_total():
    regs, retired = _eleven_and_three()
    before = uptake.registrations_series(regs, retired, D(2026, 7, 1), D(2026, 7, 12), "day", LAYER)
    # erase the first registration (key 10): its key leaves the row and joins 6 July's retired sum
    erased = regs.copy()
    erased.loc[0, "record_key"] = pd.NA
    erased.loc[0, ["status", "end_reason"]] = ["withdrawn", "owner"]
    retired_after = _retired(
        [("registered", D(2026, 7, 6), "A", (77 + 10) % 256), ("withdrawn", D(2026, 7, 10), "A", 10)]
    )
    after = uptake.registrations_series(erased, retired_after, D(2026, 7, 1), D(2026, 7, 12), "day", LAYER)
    assert before["total"].tolist() == after["total"].tolist()


def test_a_zero_total_is_shown_and_a_small_one_is_not():
    regs = _registrations(
        [(D(2026, 7, 8), i, 1, i, "A", None, None) for i in range(3)]
        + [(D(2026, 7, 15), 40 + i, 1, 0, "A", None, None) for i in range(9)]
    )
    weeks = uptake.registrations_series(regs, None, D(2026, 6, 29), D(2026, 7, 19), "week", LAYER)
    # week of 29 June: 0 so far (shown); 6 July: 3 so far (hidden); 13 July: 12 so far, key 3 + 9*40 + 36 = 399 -> 143
    assert weeks.attrs["before"] == 0
    assert _list(weeks["total"]) == [0, None, by_table(12, 143)]
    # the week of 13 July holds 9 (>= K) but the total before it is not shown: its bar is not either
    assert _list(weeks["registrations"]) == [None, None, None]
    assert uptake.headline(regs, None, D(2026, 7, 13), D(2026, 7, 19), NO_DUE, LAYER)[
        "registrations"
    ] == uptake.RangeCount(None, False)


def test_owner_withdrawals_take_their_keys_from_the_withdrawn_sums_only():
    rows = (
        [(D(2026, 6, 1), None, 1, 0, "A", "owner", D(2026, 7, 7))] * 9
        + [(D(2026, 6, 1), None, 1, 0, "A", "request", D(2026, 7, 7))] * 5
        + [(D(2026, 6, 1), None, 1, 0, "B", "owner", D(2026, 7, 8))] * 2
    )
    regs = _registrations(rows)
    retired = _retired(
        [
            ("withdrawn", D(2026, 7, 7), "A", 200),
            ("withdrawn", D(2026, 7, 8), "B", 100),
            ("registered", D(2026, 6, 1), "A", 5),
        ]
    )
    weeks = uptake.withdrawals_series(regs, retired, D(2026, 7, 6), D(2026, 7, 12), LAYER)
    # 11 owner withdrawals (the 5 erasures on request are not), key 200 + 100 = 300 -> 44
    assert weeks["total"].tolist() == [by_table(11, 44)]
    assert weeks["withdrawals"].tolist() == [max(K, by_table(11, 44))]
    district_a = uptake.only_district({"registrations": regs}, "A")
    a = uptake.withdrawals_series(district_a["registrations"], retired, D(2026, 7, 6), D(2026, 7, 12), LAYER, "A")
    assert a["total"].tolist() == [by_table(9, 200)]


def test_withholding_everything_leaves_nothing_from_the_register():
    regs, retired = _eleven_and_three()
    series = uptake.registrations_series(regs, retired, D(2026, 7, 1), D(2026, 7, 12), "day", WITHHOLD)
    assert series[["registrations", "cameras", "total"]].isna().all().all() and series.attrs["before"] is None
    due = pd.DataFrame({"district_code": ["A"], "registrations": [9], "registrations_key": [216]})
    figures = uptake.headline(regs, retired, D(2026, 7, 1), D(2026, 7, 12), due, WITHHOLD)
    assert {name: getattr(v, "value", v) for name, v in figures.items()} == dict.fromkeys(figures)


def test_due_to_confirm_is_the_districts_sum_adjusted_with_its_keys():
    # counted per district by uptake_queries.due_to_confirm (tests/integration/test_uptake_summaries.py):
    # 5 in A with keys summing to 300 and 4 in B to 172: 9 with the key 472 % 256 = 216
    due = pd.DataFrame({"district_code": ["A", "B"], "registrations": [5, 4], "registrations_key": [300, 172]})
    assert uptake.due_to_confirm(due, LAYER) == by_table(9, 216)
    assert uptake.due_to_confirm(uptake.only_district({"due": due}, "A")["due"], LAYER) is None  # 5 < K
    assert uptake.due_to_confirm(NO_DUE, LAYER) is None  # 0 is below K, as any count is
    assert uptake.due_to_confirm(due, WITHHOLD) is None


# ------------------------------------------------------------------------------ the register


def _cameras(rows: list[tuple]) -> pd.DataFrame:
    """The ``register_mix`` rows of active cameras given as (registrant_id, registrant_key, camera
    key, kind, placement, retention_days, direction, overlooks, district): what the register's
    writes keep (``summaries.mix_contribution``, one site per registration)."""
    cameras = pd.DataFrame(
        rows,
        columns=[
            "site_id",
            "registration_key",
            "camera_key",
            "kind",
            "placement",
            "retention_days",
            "direction_deg",
            "overlooks",
            "district_code",
        ],
    ).astype({"retention_days": "float64", "direction_deg": "float64"})
    return summaries.mix_contribution(cameras[summaries.MIX_COLUMNS])


def test_camera_mix_lists_every_value_adjusted_by_hand():
    # 10 registrations with a dome each (camera keys 0..9, registrant keys 100..109) and registrations
    # 0 and 1 with a PTZ camera too (camera keys 50, 60)
    rows = [(i, 100 + i, i, "dome", "outdoor", 7.0, 90.0, "street", "A") for i in range(10)]
    rows += [(0, 100, 50, "ptz", "indoor", None, None, "", "A"), (1, 101, 60, "ptz", "indoor", None, None, "", "A")]
    mix = uptake.camera_mix(_cameras(rows), LAYER, {}).set_index(["aspect", "value"])
    assert [v for a, v in mix.index if a == "kind"] == ["doorbell", "fixed", "dome", "ptz", "other"]
    assert [v for a, v in mix.index if a == "retention"] == [
        "up to 7 days",
        "8 to 14 days",
        "15 to 30 days",
        "more than 30 days",
        "not given",
    ]
    total = by_table(12, (45 + 110) % 256)  # all 12 cameras, keys 0+..+9 + 50 + 60
    dome = by_table(10, 45)
    assert mix.loc[("kind", "dome"), "cameras"] == dome
    assert mix.loc[("kind", "dome"), "registrations"] == by_table(10, sum(range(100, 110)) % 256)
    assert mix.loc[("kind", "dome"), "share"] == round(dome / total, 4)
    assert pd.isna(mix.loc[("kind", "ptz"), "cameras"]) and pd.isna(mix.loc[("kind", "ptz"), "share"])
    assert pd.isna(mix.loc[("kind", "doorbell"), "cameras"])
    assert mix.loc[("placement", "outdoor"), "cameras"] == dome  # the same 10 cameras: the same figure
    withheld = uptake.camera_mix(_cameras(rows), WITHHOLD, {})
    assert len(withheld) == len(mix) and withheld[["cameras", "registrations", "share"]].isna().all().all()


def test_completeness_from_published_counts():
    rows = [
        (i, i, 10 + i, "dome", "outdoor", 7.0 if i < 9 else None, 90.0, "street" if i < 12 else "", "A")
        for i in range(20)
    ]
    cams = _cameras(rows)
    shares = uptake.completeness(cams, LAYER)
    total = by_table(20, sum(range(10, 30)) % 256)
    assert shares["direction"] == 1.0
    assert shares["retention"] == round(by_table(9, sum(range(10, 19)) % 256) / total, 4)
    assert shares["overlooks"] == round(by_table(12, sum(range(10, 22)) % 256) / total, 4)
    few = _cameras([r for r in rows if r[0] < 7])
    assert uptake.completeness(few, LAYER) == {"direction": None, "retention": None, "overlooks": None}


def test_district_table_lists_every_district_with_rates_from_published_counts():
    districts = pd.DataFrame(
        {"code": ["A", "B", "C"], "name": ["Alpha", "Beta", "Gamma"], "households": [1000.0, 2000.0, 500.0]}
    )
    # Active registrations and cameras per district as ``summaries.area_counts`` gives them (cell
    # keys): A 20 registrations with keys 3i (sum 570 -> 58) and 20 cameras with key 1 each; B 3 and 3.
    counts = pd.DataFrame(
        {
            "area_code": ["A", "B"],
            "registrations": [20, 3],
            "registrations_key": [570 % 256, 21],
            "cameras": [20, 3],
            "cameras_key": [20, 6],
        }
    )
    table = uptake.district_uptake(counts, districts, LAYER).set_index("code")
    a = by_table(20, sum(3 * i for i in range(20)) % 256)  # 570 -> 58
    assert list(table.index) == ["A", "B", "C"]  # A ranked by its rate; B and C hidden, by name
    assert table.loc["A", "registrations"] == a and table.loc["A", "cameras"] == by_table(20, 20)
    assert table.loc["A", "registrations_per_1000"] == round(a / 1000 * 1000, 2)
    assert table[["registrations", "cameras", "registrations_per_1000"]].loc[["B", "C"]].isna().all().all()
    withheld = uptake.district_uptake(counts, districts, WITHHOLD)
    assert withheld["code"].tolist() == ["A", "B", "C"] and withheld.drop(columns=["code", "name"]).isna().all().all()


# ---------------------------------------------------------------------------------- campaigns


def test_funnel_lists_every_campaign_in_whole_weeks_by_hand():
    campaigns = pd.DataFrame(
        {
            "slug": ["poster-a", "staff", "unused"],
            "campaign": ["Poster A", "Staff email", "Unused"],
            "channel": ["poster", "internal_message", "leaflet"],
        }
    )
    daily = pd.DataFrame(
        {
            "slug": ["poster-a", "poster-a", "staff", "staff", "poster-a"],
            "channel": ["poster", "poster", "internal_message", "internal_message", "poster"],
            "day": [D(2026, 6, 30), D(2026, 7, 2), D(2026, 7, 1), D(2026, 7, 9), D(2026, 8, 1)],
            "scans": [120, 80, 0, 0, 500],
            "form_starts": [40, 20, 50, 30, 100],
            "completions": [10, 6, 20, 3, 50],
            "completion_keys": [100, 200, 7, 9, 1],
        }
    )
    # 1 to 5 July widens to Monday 29 June - Sunday 5 July
    out = uptake.funnel(daily, campaigns, D(2026, 7, 1), D(2026, 7, 5), LAYER)
    assert out.attrs["first"] == D(2026, 6, 29) and out.attrs["last"] == D(2026, 7, 5)
    out = out.set_index("campaign")
    assert list(out.index) == ["Poster A", "Staff email", "Unused"]
    assert out.loc["Poster A", ["scans", "form_starts"]].tolist() == [200, 60]  # exact: page visits
    poster = by_table(16, 300 % 256)  # 10 + 6 completions, keys 100 + 200; nothing before the week
    assert out.loc["Poster A", "completions"] == poster
    assert out.loc["Poster A", "start_rate"] == 0.3 and out.loc["Poster A", "completion_rate"] == round(poster / 60, 4)
    assert out.loc["Staff email", "completions"] == by_table(20, 7)
    assert pd.isna(out.loc["Staff email", "start_rate"])  # no scans: a link sent by email, not a QR code
    assert out.loc["Unused", ["scans", "form_starts"]].tolist() == [0, 0] and pd.isna(out.loc["Unused", "completions"])
    # the week of 6 July: 3 completions for the staff email, a difference of two published totals, hidden
    later = uptake.funnel(daily, campaigns, D(2026, 7, 6), D(2026, 7, 12), LAYER).set_index("campaign")
    assert pd.isna(later.loc["Staff email", "completions"]) and pd.isna(later.loc["Staff email", "completion_rate"])
    channels = uptake.funnel(daily, campaigns, D(2026, 7, 1), D(2026, 7, 5), LAYER, by="channel")
    assert channels["channel"].tolist() == ["internal_message", "poster", "social_media", "leaflet", "press", "other"]
    withheld = uptake.funnel(daily, campaigns, D(2026, 7, 1), D(2026, 7, 5), WITHHOLD)
    assert withheld["campaign"].tolist() == ["Poster A", "Staff email", "Unused"]
    assert withheld.drop(columns=["campaign", "channel"]).isna().all().all()


def test_campaign_totals_so_far_equal_the_end_of_the_weekly_series():
    totals = pd.DataFrame(
        {
            "slug": ["a", "b"],
            "scans": [10, 3],
            "form_starts": [9, 2],
            "completions": [30, 2],
            "completion_keys": [17, 5],
        }
    )
    shown = uptake.campaign_totals(totals, LAYER)
    assert _list(shown["completions"]) == [by_table(30, 17), None]
    assert shown["scans"].tolist() == [10, 3]
    assert uptake.campaign_totals(totals, WITHHOLD)[["scans", "form_starts", "completions"]].isna().all().all()


# ------------------------------------------------------------------------------- projections


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


def test_projection_is_fitted_to_differences_of_published_totals_only():
    assert uptake.weekly_for_projection([None, 0, 12, 30, None, 52, 70]) == [12, 18, 18]
    assert uptake.weekly_for_projection([None, None]) == []


# ------------------------------------------------------------------------------------ requests


def _requests(rows: list[tuple], day: dt.date = D(2026, 7, 8)) -> pd.DataFrame:  # noqa: B008 - a date is immutable
    """(status, days to the status change, footage useful, likely overwritten, key, district, category)."""
    at = pd.Timestamp(day).tz_localize("UTC") + pd.Timedelta(hours=9)
    return pd.DataFrame(
        {
            "status": [r[0] for r in rows],
            "sent_at": [at] * len(rows),
            "status_changed_at": [at + pd.Timedelta(days=r[1]) for r in rows],
            "footage_useful": pd.array([r[2] for r in rows], dtype="boolean"),
            "footage_likely_overwritten": [r[3] for r in rows],
            "record_key": [r[4] for r in rows],
            "district_code": [r[5] for r in rows],
            "crime_category": [r[6] for r in rows],
        }
    )


def test_a_rate_is_hidden_when_its_numerator_is():
    # The old page: 13 requests, "answered: fewer than 8" beside 58.3% (7 of the 12 not withdrawn).
    rows = (
        [("footage_provided", 1, True, False, 1, "A", "Burglary")] * 4
        + [("declined", 1, None, False, 2, "A", "Burglary")] * 3
        + [("no_response", 14, None, False, 3, "A", "Burglary")] * 5
        + [("withdrawn", 1, None, False, 4, "A", "Drugs")]
    )
    out = uptake.request_outcomes(_requests(rows), D(2026, 7, 8), D(2026, 7, 8), LAYER)
    assert (out["from"], out["to"]) == (D(2026, 7, 6), D(2026, 7, 12))
    assert out["requests"].value == by_table(13, (4 * 1 + 3 * 2 + 5 * 3 + 4) % 256)
    assert out["response_rate"] is None  # 7 answered: hidden, so the rate is too
    assert out["by_status"]["footage_provided"] == uptake.RangeCount(None, True)  # its total (4) is not shown
    assert out["by_status"]["footage_provided"].text(K) == "fewer than 8"
    assert out["median_days_to_footage"] is None  # fewer than K provided footage
    by = uptake.requests_by(
        _requests(rows), "district_code", ["A", "B"], {"A": "Alpha"}, D(2026, 7, 8), D(2026, 7, 8), LAYER
    )
    assert by["group"].tolist() == ["Alpha", "B", uptake.NOT_RECORDED]
    assert by.loc[0, "requests"] == by_table(13, 29) and pd.isna(by.loc[0, "answered"])
    assert pd.isna(by.loc[0, "response_rate"])


def test_request_outcomes_by_hand_from_published_counts():
    rows = (
        [("footage_provided", d, d % 3 == 0, False, 10 + d, "A", "Burglary") for d in range(1, 13)]
        + [("no_relevant_footage", 2, None, False, 5, "A", "Vehicle crime")] * 8
        + [("no_response", 14, None, True, 6, "B", None)] * 9
        + [("withdrawn", 1, None, False, 7, "A", "Gibberish")] * 2
    )
    reqs = _requests(rows)
    out = uptake.request_outcomes(reqs, D(2026, 7, 6), D(2026, 7, 12), LAYER)
    provided_keys = sum(10 + d for d in range(1, 13))  # 198
    answered = by_table(20, (provided_keys + 8 * 5) % 256)
    closed = by_table(29, (provided_keys + 8 * 5 + 9 * 6) % 256)
    assert out["response_rate"] == round(answered / closed, 4)
    judged = by_table(12, provided_keys % 256)
    useful = by_table(4, 0)  # 4 of 12 useful: fewer than K, so the share is hidden
    assert useful is None and out["useful_share"] is None and judged is not None
    # 12 provided footage after 1..12 days: within 1, 2, 3, 5, 7 days 1, 2, 3, 5, 7 of them (fewer than
    # K: not used), within 14 days all 12; so both the median and the 90th percentile are in "7 to 14 days"
    assert out["median_days_to_footage"] == "7 to 14 days" and out["p90_days_to_footage"] == "7 to 14 days"
    assert out["too_late"].value == by_table(9, 54)
    crime = uptake.requests_by(
        reqs, "crime_category", list(uptake.CRIME_CATEGORIES), {}, D(2026, 7, 6), D(2026, 7, 12), LAYER
    ).set_index("group")
    assert list(crime.index) == [*uptake.CRIME_CATEGORIES, uptake.NOT_RECORDED]
    assert crime.loc["Burglary", "requests"] == by_table(12, provided_keys % 256)
    assert crime.loc[uptake.NOT_RECORDED, "requests"] == by_table(11, (9 * 6 + 2 * 7) % 256)  # None and "Gibberish"
    assert crime.loc["Drugs"].isna().all()
    withheld = uptake.request_outcomes(reqs, D(2026, 7, 6), D(2026, 7, 12), WITHHOLD)
    assert withheld["requests"].value is None and withheld["median_days_to_footage"] is None
    assert all(v.value is None for v in withheld["by_status"].values())


def test_time_to_footage_bands_come_from_cumulative_counts_worked_by_hand():
    exact = Disclosure(PTable.build(8, 0, 0.0))  # no adjustment, so the bands can be worked by hand
    # 10 within half a day, 10 after 4 days, 5 after 20: within 1 day 10 (of 25: under half), within 5
    # days 20 (at least 12.5: the median's band "3 to 5 days"), within 14 days 20 (under 22.5), within
    # 30 days 25: the 90th percentile's band "14 to 30 days".
    waits = np.array([0.5] * 10 + [4.0] * 10 + [20.0] * 5)
    assert uptake.wait_bands(waits, np.zeros(25, dtype="int64"), exact) == ("3 to 5 days", "14 to 30 days")
    assert uptake.wait_bands(waits[:7], np.zeros(7, dtype="int64"), exact) == (None, None)  # fewer than K
