"""Audit flags on hand-built rows: each rule fires where it should and a near miss does not.

Every expected answer is worked out by hand in the comments; times are UTC unless said otherwise
(UK summer time is UTC+1 from 29 March 2026).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from dashboard.pages import all_pages
from dashboard.security import audit_flags as af
from dashboard.security import site

UTC = dt.UTC
TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
BASE_E, BASE_N = 392_000.0, 323_000.0  # a point in Stafford, British National Grid metres
SPECIFIC = "Burglary at a house in this street overnight"


@pytest.fixture(autouse=True)
def pages(monkeypatch):
    """The pages, as create_app hands them to security (the flags' words name pages by their titles)."""
    monkeypatch.setattr(site, "_pages", all_pages())
    monkeypatch.setattr(site, "_titles", {})


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def at_offset(dx_m: float, dy_m: float) -> tuple[float, float]:
    lon, lat = TO_WGS84.transform(BASE_E + dx_m, BASE_N + dy_m)
    return lat, lon


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    frame["at"] = pd.to_datetime(frame["at"], utc=True) if len(frame) else pd.Series([], dtype="datetime64[us, UTC]")
    return frame


def searches(*rows: dict) -> pd.DataFrame:
    defaults = {
        "user_id": 1,
        "username": "officer1",
        "role": "officer",
        "case_ref": "CR-A",
        "reason": SPECIFIC,
        "lat": 52.8,
        "lon": -2.1,
        "results": 5.0,
    }
    return _frame(
        [{**defaults, **r} for r in rows],
        ["id", "at", "user_id", "username", "role", "case_ref", "reason", "lat", "lon", "results"],
    )


def requests(*rows: dict) -> pd.DataFrame:
    return _frame([{"user_id": 1, **r} for r in rows], ["id", "at", "user_id", "case_ref"])


def reveals(*rows: dict) -> pd.DataFrame:
    defaults = {"user_id": 1, "username": "officer1", "role": "officer"}
    return _frame([{**defaults, **r} for r in rows], ["id", "at", "user_id", "username", "role", "case_ref", "cameras"])


def activity(*rows: dict) -> pd.DataFrame:
    defaults = {"user_id": 1, "username": "officer1", "role": "officer", "action": "search", "case_ref": "CR-A"}
    return _frame([{**defaults, **r} for r in rows], ["id", "at", "user_id", "username", "role", "action", "case_ref"])


def history(*rows: dict) -> pd.DataFrame:
    return _frame(list(rows), ["user_id", "at"])


def found(flags, kind: str) -> set[tuple]:
    return {(f.users, f.case_refs, f.row_ids) for f in flags if f.kind == kind}


# --------------------------------------------------------------------------- (a)


MARCH = (utc("2026-03-01T00:00"), utc("2026-04-01T00:00"))


def test_a_search_without_a_follow_up_request_is_flagged_once_its_days_have_passed():
    s = searches(
        {"id": 1, "at": "2026-03-02T10:00", "case_ref": "CR-A"},  # request exactly 14 days later: followed up
        {"id": 2, "at": "2026-03-03T10:00", "case_ref": "CR-B"},  # request 14 days and 1 minute later: too late
        {"id": 3, "at": "2026-03-04T10:00", "case_ref": "CR-C"},  # only another officer asked: not a follow-up
        {"id": 4, "at": "2026-03-05T10:00", "case_ref": "CR-D", "results": 0.0},  # found nothing: nothing to ask
        {"id": 5, "at": "2026-03-06T10:00", "case_ref": "CR-E"},  # the request came before the search
        {"id": 6, "at": "2026-03-07T10:00", "case_ref": "CR-B"},  # a second search in CR-B, no request after it
    )
    r = requests(
        {"id": 10, "at": "2026-03-16T10:00", "case_ref": "CR-A"},
        {"id": 11, "at": "2026-03-17T10:01", "case_ref": "CR-B"},
        {"id": 12, "at": "2026-03-05T10:00", "case_ref": "CR-C", "user_id": 2},
        {"id": 13, "at": "2026-03-06T09:00", "case_ref": "CR-E"},
    )
    flags = af.no_follow_up(s, r, *MARCH, now=utc("2026-04-30T00:00"))
    # CR-B: the request at 17 Mar 10:01 is 14 d 1 min after search 2 and 10 d after search 6 ... so search 6 is
    # followed up and only search 2 is flagged.
    assert found(flags, "no_follow_up") == {
        (("officer1",), ("CR-B",), (2,)),
        (("officer1",), ("CR-C",), (3,)),
        (("officer1",), ("CR-E",), (5,)),
    }


def test_a_search_is_judged_only_once_the_follow_up_days_have_passed():
    s = searches(
        {"id": 2, "at": "2026-03-03T10:00", "case_ref": "CR-B"},  # due 17 Mar 10:00, judged at that minute
        {"id": 3, "at": "2026-03-04T10:00", "case_ref": "CR-C"},  # due 18 Mar 10:00: exactly now
        {"id": 5, "at": "2026-03-04T10:01", "case_ref": "CR-E"},
    )  # due 18 Mar 10:01: not yet
    notes: list[str] = []
    flags = af.no_follow_up(s, requests(), *MARCH, now=utc("2026-03-18T10:00"), notes=notes)
    assert [f.row_ids for f in flags] == [(2,), (3,)]
    assert notes == ["1 search in this period is less than 14 days old, so not yet judged for a follow-up request."]


def test_searches_without_follow_up_in_one_case_make_one_flag():
    s = searches(
        {"id": 1, "at": "2026-03-02T10:00"}, {"id": 2, "at": "2026-03-02T11:00"}, {"id": 3, "at": "2026-02-27T10:00"}
    )  # before the period: not judged here
    flags = af.no_follow_up(s, requests(), *MARCH, now=utc("2026-04-30T00:00"))
    assert len(flags) == 1 and flags[0].row_ids == (1, 2)
    assert flags[0].first_at == utc("2026-03-02T10:00") and flags[0].last_at == utc("2026-03-02T11:00")
    assert flags[0].why.startswith("officer1 made 2 searches that found cameras in case CR-A")


# --------------------------------------------------------------------------- (b)


def test_many_reveals_in_one_case_counts_different_cameras_up_to_the_periods_end():
    r = reveals(
        {"id": 1, "at": "2026-02-20T10:00", "case_ref": "CR-A", "cameras": tuple(map(str, range(1, 16)))},  # 1-15
        {"id": 2, "at": "2026-03-05T10:00", "case_ref": "CR-A", "cameras": tuple(map(str, range(10, 26)))},  # 10-25
        {"id": 3, "at": "2026-03-06T10:00", "case_ref": "CR-B", "cameras": tuple(map(str, range(1, 21)))},  # 20
        {"id": 4, "at": "2026-02-01T10:00", "case_ref": "CR-C", "cameras": tuple(map(str, range(1, 31)))},  # all before
        {"id": 5, "at": "2026-03-10T10:00", "case_ref": "CR-D", "cameras": tuple(map(str, range(1, 11)))},
        {"id": 6, "at": "2026-04-02T10:00", "case_ref": "CR-D", "cameras": tuple(map(str, range(11, 31)))},  # after
    )
    flags = af.many_reveals(r, *MARCH)
    # CR-A: cameras 1-25 = 25 > 20. CR-B: exactly 20, not more. CR-C: no reveal in the period.
    # CR-D: 10 up to the end of the period (the later 20 come after it).
    assert found(flags, "many_reveals") == {(("officer1",), ("CR-A",), (1, 2))}
    assert "25 different cameras" in flags[0].why


# --------------------------------------------------------------------------- (c)


def _placed(rows):
    out = []
    for r in rows:
        lat, lon = at_offset(*r.pop("offset"))
        out.append({**r, "lat": lat, "lon": lon})
    return searches(*out)


def test_searches_repeated_around_one_point_across_cases_are_flagged():
    s = _placed(
        [
            # officer1: 100 m and 140 m from the first search (172 m from each other), two cases: flagged
            {"id": 1, "at": "2026-03-02T10:00", "offset": (0, 0), "case_ref": "CR-A"},
            {"id": 2, "at": "2026-03-05T10:00", "offset": (100, 0), "case_ref": "CR-B"},
            {"id": 3, "at": "2026-03-09T10:00", "offset": (0, 140), "case_ref": "CR-A"},
            # officer2: the third is 160 m from the first and 188 m from the second: no run of 3
            {"id": 4, "at": "2026-03-02T10:00", "offset": (0, 0), "case_ref": "CR-A", "user_id": 2, "username": "o2"},
            {"id": 5, "at": "2026-03-03T10:00", "offset": (100, 0), "case_ref": "CR-B", "user_id": 2, "username": "o2"},
            {"id": 6, "at": "2026-03-04T10:00", "offset": (0, 160), "case_ref": "CR-C", "user_id": 2, "username": "o2"},
            # officers 3 and 4 at one point: two users, not one
            {"id": 7, "at": "2026-03-02T10:00", "offset": (0, 0), "case_ref": "CR-D", "user_id": 3, "username": "o3"},
            {"id": 8, "at": "2026-03-03T10:00", "offset": (0, 0), "case_ref": "CR-E", "user_id": 3, "username": "o3"},
            {"id": 9, "at": "2026-03-04T10:00", "offset": (0, 0), "case_ref": "CR-F", "user_id": 4, "username": "o4"},
        ]
    )
    flags = af.repeated_point(s, requests(), *MARCH)
    assert found(flags, "repeated_point") == {(("officer1",), ("CR-A", "CR-B"), (1, 2, 3))}
    assert "in 2 different cases (CR-A, CR-B)" in flags[0].why


@pytest.mark.parametrize("third_at, flagged", [("2026-03-31T10:00", True), ("2026-03-31T10:01", False)])
def test_a_run_of_searches_must_fall_within_the_window(third_at, flagged):
    s = _placed(
        [
            {"id": 1, "at": "2026-03-01T10:00", "offset": (0, 0), "case_ref": "CR-A"},
            {"id": 2, "at": "2026-03-10T10:00", "offset": (10, 0), "case_ref": "CR-B"},
            {"id": 3, "at": third_at, "offset": (20, 0), "case_ref": "CR-C"},
        ]
    )  # 30 days after the first, or 1 min more
    flags = af.repeated_point(s, requests(), utc("2026-03-01T00:00"), utc("2026-05-01T00:00"))
    assert [f.row_ids for f in flags] == ([(1, 2, 3)] if flagged else [])


def test_repeated_searches_in_one_case_are_flagged_only_without_a_request_from_the_first_on():
    def user(uid):
        return [
            {
                "id": uid * 10 + k,
                "at": f"2026-03-0{k + 2}T10:00",
                "offset": (k * 30, 0),
                "case_ref": "CR-X",
                "user_id": uid,
                "username": f"o{uid}",
            }
            for k in range(3)
        ]

    s = _placed(user(1) + user(2) + user(3))
    r = requests(
        {"id": 100, "at": "2026-03-02T11:00", "case_ref": "CR-X", "user_id": 1},  # o1 asked: fine
        {"id": 101, "at": "2026-03-01T09:00", "case_ref": "CR-X", "user_id": 3},
    )  # o3 asked only before
    flags = af.repeated_point(s, r, *MARCH)
    assert found(flags, "repeated_point") == {(("o2",), ("CR-X",), (20, 21, 22)), (("o3",), ("CR-X",), (30, 31, 32))}
    assert all("with no footage request from them" in f.why for f in flags)


def test_a_run_counts_only_if_one_of_its_searches_is_in_the_period():
    s = _placed([{"id": k, "at": f"2026-02-1{k}T10:00", "offset": (0, 0), "case_ref": f"CR-{k}"} for k in range(3)])
    assert af.repeated_point(s, requests(), *MARCH) == []
    s = _placed(
        [{"id": k, "at": f"2026-02-2{k + 7}T10:00", "offset": (0, 0), "case_ref": f"CR-{k}"} for k in range(2)]
        + [{"id": 5, "at": "2026-03-01T10:00", "offset": (0, 0), "case_ref": "CR-5"}]
    )
    assert [f.row_ids for f in af.repeated_point(s, requests(), *MARCH)] == [(0, 1, 5)]


# --------------------------------------------------------------------------- (d)


def test_usual_hours_is_the_shortest_run_holding_95_percent():
    # 57 of 60 events between 09:00 and 17:00 (95% of 60 = 57); any 7 hours hold at most 50.
    hours = [9] * 8 + [h for h in range(10, 17) for _ in range(7)] + [22] * 3
    usual = af.usual_hours(np.array(hours), days=12)
    assert (usual.start, usual.hours, usual.own, usual.text) == (9, 8, True, "09:00 to 17:00")
    assert usual.covers(np.array([8, 9, 16, 17])).tolist() == [False, True, True, False]


def test_usual_hours_wrap_past_midnight_and_ties_go_to_the_earliest_start():
    night = af.usual_hours(np.array([22, 23, 0, 1, 2] * 20), days=10)  # 100 events: all 5 hours needed
    assert night.text == "22:00 to 03:00" and night.covers(np.array([21, 22, 2, 3])).tolist() == [
        False,
        True,
        True,
        False,
    ]
    # 50 events at 08:xx and 50 at 20:xx: 08-21 and 20-09 both take 13 hours for all 100; the earlier start wins.
    assert af.usual_hours(np.array([8] * 50 + [20] * 50), days=10).text == "08:00 to 21:00"


@pytest.mark.parametrize("events, days, own", [(49, 12, False), (50, 9, False), (50, 10, True)])
def test_usual_hours_need_a_minimum_history(events, days, own):
    usual = af.usual_hours(np.array([12] * events), days=days)
    assert usual.own is own
    assert usual.text == ("12:00 to 13:00" if own else "07:00 to 20:00")


JUNE = (utc("2026-05-31T23:00"), utc("2026-06-30T23:00"))  # UK days 1-30 June (UTC+1)


def test_activity_outside_a_users_own_usual_hours_is_flagged_per_day_in_uk_time():
    # officer1's history: 12 days in May with events at 09, 10, 12, 14 and 16 UK time (08, 09, ... UTC):
    # 60 events, the shortest run holding 57 is 09:00-17:00. 100 events at 02:00 in February are more
    # than 90 days before 1 June and do not count.
    past = [{"user_id": 1, "at": f"2026-05-{d:02d}T{h - 1:02d}:30"} for d in range(10, 22) for h in (9, 10, 12, 14, 16)]
    past += [{"user_id": 1, "at": "2026-02-10T02:00"}] * 100
    acts = activity(
        {"id": 1, "at": "2026-06-10T15:59"},  # 16:59 UK: inside
        {"id": 2, "at": "2026-06-10T16:00"},  # 17:00 UK: outside
        {"id": 3, "at": "2026-06-11T07:59", "action": "reveal_contact"},  # 08:59 UK: outside, another day
        {"id": 4, "at": "2026-06-11T02:00", "action": "login"},  # not a consultation: not judged
    )
    flags = af.off_hours(acts, history(*past), *JUNE)
    assert [f.row_ids for f in flags] == [(2,), (3,)]
    assert flags[0].why == (
        "officer1: 1 search at 17:00 on Wed 10 Jun 2026 (UK time), outside their usual hours, "
        "09:00 to 17:00, which hold 95% of their 60 events on 12 days in the 90 days before the "
        "period."
    )


def test_without_enough_history_the_fixed_hours_are_used_and_said_so():
    acts = activity(
        {"id": 1, "at": "2026-06-12T05:59", "user_id": 2, "username": "o2"},  # 06:59 UK: outside
        {"id": 2, "at": "2026-06-12T06:00", "user_id": 2, "username": "o2"},  # 07:00 UK: inside
        {"id": 3, "at": "2026-06-12T18:59", "user_id": 2, "username": "o2"},  # 19:59 UK: inside
        {"id": 4, "at": "2026-06-12T19:00", "user_id": 2, "username": "o2"},
    )  # 20:00 UK: outside
    flags = af.off_hours(acts, history({"user_id": 2, "at": "2026-05-20T10:00"}), *JUNE)
    assert [f.row_ids for f in flags] == [(1, 4)]
    assert "2 searches at 06:59, 20:00 on Fri 12 Jun 2026" in flags[0].why
    assert "outside 07:00 to 20:00, the fixed default: they had 1 event on 1 day" in flags[0].why


# --------------------------------------------------------------------------- (e)


@pytest.mark.parametrize(
    "reason, why",
    [
        ("enquiries", "shorter than 20 characters"),
        ("Theft of a car here", "shorter than 20 characters"),  # 19 characters
        ("Theft of a car there", None),  # 20 characters, 5 words, 'theft' and 'car' say something
        ("Shoplifting incident investigation", "fewer than 4 words"),
        ("in connection with ongoing police enquiries", "nothing but stock words ('ongoing', 'police', 'enquiries')"),
        ("Test test test test test", "nothing but stock words ('test')"),
        ("n/a n/a n/a n/a n/a n/a", "nothing but stock words ('n/a')"),
        ("Robbery of a delivery driver near here", None),
        (None, "shorter than 20 characters"),
    ],
)
def test_vague_reasons(reason, why):
    assert af.vague_because(reason) == why


def test_vague_reasons_make_one_flag_per_user_and_case_in_the_period():
    s = searches(
        {"id": 1, "at": "2026-03-02T10:00", "reason": "enquiries"},
        {"id": 2, "at": "2026-03-02T11:00", "reason": "enquiries"},
        {"id": 3, "at": "2026-03-03T10:00", "reason": SPECIFIC},
        {"id": 4, "at": "2026-02-03T10:00", "reason": "test"},  # before the period
        {"id": 5, "at": "2026-03-04T10:00", "reason": "crime", "case_ref": "CR-B"},
    )
    flags = af.vague_reasons(s, *MARCH)
    assert found(flags, "vague_reason") == {(("officer1",), ("CR-A",), (1, 2)), (("officer1",), ("CR-B",), (5,))}
    assert flags[0].why == (
        "officer1 gave vague reasons for 2 searches in case CR-A: 'enquiries' (shorter than 20 characters)."
    )


def test_flags_for_lists_every_kind_newest_first():
    s = searches({"id": 1, "at": "2026-03-02T10:00", "reason": "enquiries"})
    inputs = af.FlagInputs(s, requests(), reveals(), activity(), history())
    report = af.flags_for(inputs, *MARCH, now=utc("2026-04-30T00:00"))
    assert [f.kind for f in report.flags] == ["no_follow_up", "vague_reason"]  # same time: rule order
    burst = queries(*moving_day(20))
    report = af.flags_for(
        af.FlagInputs(s, requests(), reveals(), activity(), history(), burst), *MARCH, now=utc("2026-04-30T00:00")
    )
    assert [f.kind for f in report.flags] == ["query_burst", "no_follow_up", "vague_reason"]  # newest first
    assert set(af.RULES) == set(af.KINDS)


# --------------------------------------------------------------------------- (f)


UPTAKE = "/api/v1/metrics/uptake"


def queries(*rows: dict, **common) -> pd.DataFrame:
    defaults = {"user_id": 3, "username": "lead1", "role": "lead", "action": "aggregate_query", **common}
    return _frame([{**defaults, **r} for r in rows], af.QUERY_COLUMNS)


def moving_day(n: int, start: str = "2026-03-10T10:00", step_s: int = 180, first_id: int = 1, **extra) -> list[dict]:
    """``n`` uptake metric queries ``step_s`` seconds apart, only the end date moving a day each time."""
    t0 = pd.Timestamp(start)
    return [
        {
            "id": first_id + i,
            "at": (t0 + pd.Timedelta(seconds=step_s * i)).isoformat(),
            "detail": {
                "route": UPTAKE,
                "params": {"from": "2026-05-01", "to": f"2026-05-{i + 2:02d}", **extra},
                "status": 200,
            },
        }
        for i in range(n)
    ]


def test_twenty_queries_in_an_hour_differing_in_one_date_are_a_burst():
    # 20 queries 3 minutes apart: 10:00 to 10:57, all within one hour; only "to" moves.
    flags = af.query_bursts(queries(*moving_day(20)), *MARCH)
    assert found(flags, "query_burst") == {(("lead1",), (), tuple(range(1, 21)))}
    (flag,) = flags
    assert flag.roles == ("lead",) and flag.title == "Burst of near-identical figure queries"
    assert flag.why.startswith(
        "lead1 made 20 queries of 'API metrics/uptake' in 57 minutes (Tue 10 Mar 2026 10:00 "
        "to Tue 10 Mar 2026 10:57), every setting the same but 'to', which took 20 values: "
        "2026-05-02, 2026-05-03"
    )


def test_nineteen_do_not_make_a_burst():
    assert af.query_bursts(queries(*moving_day(19)), *MARCH) == []


def test_twenty_queries_differing_in_two_parameters_are_not_a_burst():
    rows = moving_day(20)
    for i, r in enumerate(rows):  # a sliding window: from and to both move
        r["detail"]["params"]["from"] = f"2026-04-{i + 1:02d}"
    assert af.query_bursts(queries(*rows), *MARCH) == []


def test_twenty_queries_spread_over_more_than_an_hour_are_not_a_burst():
    # 19 gaps of 3 min 10 s: the first and the twentieth are 60 min 10 s apart
    assert af.query_bursts(queries(*moving_day(20, step_s=190)), *MARCH) == []
    # 19 gaps of 3 min 9 s: 59 min 51 s, within the hour
    assert len(af.query_bursts(queries(*moving_day(20, step_s=189)), *MARCH)) == 1


def test_the_same_query_asked_again_and_again_is_not_a_burst():
    rows = moving_day(25)
    for r in rows:
        r["detail"]["params"]["to"] = "2026-05-08"  # nothing changes
    assert af.query_bursts(queries(*rows), *MARCH) == []


def test_a_page_filter_changing_is_a_burst_and_button_presses_do_not_count_as_a_change():
    rows = [
        {
            "id": i + 1,
            "at": f"2026-03-10T10:{i * 2:02d}",
            "detail": {
                "page": "/coverage",
                "callback": "coverage-cells.data",
                "status": 200,
                "inputs": {
                    "coverage-res": 8,
                    "coverage-cameras": ["doorbell", "cctv", "all"][i % 3],
                    "coverage-refresh.n_clicks": i,
                },
            },
        }
        for i in range(20)
    ]
    flags = af.query_bursts(queries(*rows, user_id=5, username="analyst1", role="analyst"), *MARCH)
    assert [f.row_ids for f in flags] == [tuple(range(1, 21))]
    assert "every setting the same but 'cameras', which took 3 values: doorbell, cctv, all." in flags[0].why
    assert "of 'Coverage, cells' in 38 minutes" in flags[0].why


def test_bursts_are_per_user_and_per_view_and_need_a_query_in_the_period():
    lead = moving_day(12)
    analyst = [
        {**r, "id": r["id"] + 100, "user_id": 5, "username": "analyst1", "role": "analyst"} for r in moving_day(12)
    ]
    assert af.query_bursts(queries(*lead, *analyst), *MARCH) == []  # 12 each: neither has 20
    other_view = [
        {**r, "id": r["id"] + 200, "detail": {**r["detail"], "route": "/api/v1/metrics/requests"}}
        for r in moving_day(12)
    ]
    assert af.query_bursts(queries(*lead, *other_view), *MARCH) == []  # 12 of each view
    exports = [{**r, "id": r["id"] + 300, "action": "aggregate_export"} for r in moving_day(12)]
    assert af.query_bursts(queries(*lead, *exports), *MARCH) == []  # a download is not the API query
    # 20 from 28 Feb 23:40: the burst is flagged in March (its last 13 there), not in February's end
    late = moving_day(20, start="2026-02-28T23:40")
    assert len(af.query_bursts(queries(*late), *MARCH)) == 1
    assert af.query_bursts(queries(*late), utc("2026-01-01T00:00"), utc("2026-02-28T23:40")) == []


def test_a_long_burst_is_one_flag_and_two_bursts_far_apart_are_two():
    long = moving_day(45, step_s=120)  # 45 queries two minutes apart: every 20 in a row span 38 minutes
    assert [len(f.row_ids) for f in af.query_bursts(queries(*long), *MARCH)] == [45]
    apart = moving_day(20) + moving_day(20, start="2026-03-10T14:00", first_id=21)
    assert sorted(f.row_ids for f in af.query_bursts(queries(*apart), *MARCH)) == [
        tuple(range(1, 21)),
        tuple(range(21, 41)),
    ]


# --------------------------------------------------------------------------- (g) refusals


def test_refusals_are_flagged_per_user_and_uk_day():
    rows = [  # 23:30 UTC on 1 July is 00:30 on 2 July in UK summer time: a different UK day from the first
        {
            "id": 1,
            "at": "2026-07-01 10:00",
            "user_id": 1,
            "username": "officer1",
            "role": "officer",
            "action": "search_refused",
            "case_ref": "CR-2026-0001",
            "detail": '{"why":"rate_limit"}',
        },
        {
            "id": 2,
            "at": "2026-07-01 10:01",
            "user_id": 1,
            "username": "officer1",
            "role": "officer",
            "action": "search_refused",
            "case_ref": "CR-2026-0001",
            "detail": '{"why":"rate_limit"}',
        },
        {
            "id": 3,
            "at": "2026-07-01 11:00",
            "user_id": 1,
            "username": "officer1",
            "role": "officer",
            "action": "export_refused",
            "case_ref": "CR-2026-0999",
            "detail": '{"why":"no_case"}',
        },
        {
            "id": 4,
            "at": "2026-07-01 23:30",
            "user_id": 1,
            "username": "officer1",
            "role": "officer",
            "action": "request_refused",
            "case_ref": "CR-2026-0001",
            "detail": '{"why":"not_searched"}',
        },
        {
            "id": 5,
            "at": "2026-06-30 12:00",
            "user_id": 2,
            "username": "officer2",
            "role": "officer",
            "action": "reveal_refused",
            "case_ref": "CR-2026-0002",
            "detail": '{"why":"not_searched"}',
        },  # before
    ]
    frame = _frame(rows, af.REFUSAL_COLUMNS)
    flags = af.refused(frame, utc("2026-07-01 00:00"), utc("2026-07-03 00:00"))
    assert [(f.kind, f.users, f.case_refs, f.row_ids) for f in flags] == [
        ("refused", ("officer1",), ("CR-2026-0001", "CR-2026-0999"), (1, 2, 3)),
        ("refused", ("officer1",), ("CR-2026-0001",), (4,)),
    ]
    assert flags[0].why == (
        "officer1 was refused 2 searches, 1 case export on Wed 1 Jul 2026: over the search "
        "limit (2); a case with no requests of theirs (1); cases CR-2026-0001, CR-2026-0999."
    )
    assert "cameras their searches in the case did not find (1)" in flags[1].why
    assert af.refused(frame.iloc[:0], utc("2026-07-01 00:00"), utc("2026-07-03 00:00")) == []
