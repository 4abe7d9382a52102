"""Attack 4 of issue 14 (and the time-range half of attack 2): differencing over time ranges.

The issue's lead moved ``from``/``to`` on ``/api/v1/metrics/uptake`` and got hidden days back (8 days
in May), recovered 98 campaign completion counts and 354 small footage-request counts from
cumulative ranges on ``/api/v1/metrics/requests``, and read "Answered: fewer than 8" next to a
response rate that gave it away. Here the same lead (the API and the uptake page's callback):

- **day by day**: every day's registrations as the difference of two ranges (the whole period, and
  the day on its own: the published running total at its end minus the one before it), for the
  whole force (the only level with days);
- **district weeks**: every district's weekly registrations from the page's running totals;
- **campaigns**: each campaign's weekly completions as the difference of the ranges "from the first
  week to week w" and "to week w-1";
- **footage requests**: the same for every count the request metrics give (all, by status, too
  late, and requests, answered, footage provided and useful by district and by crime category);
- **rates**: no rate may be shown while its numerator or denominator is hidden.

Each differencing attack is scored as in the other modules: the share of hidden counts (1..K-1)
recovered exactly must not exceed what an optimal attacker gets from independent noise (three
standard errors of sampling error allowed), and against the same registry with a layer that
adjusts nothing the same attack must recover them all. The published running totals themselves
must not depend on the range asked (moving from/to yields nothing new).
"""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest

from tests.adversary.attack import Case, Score, layer_of, merge
from tests.adversary.conftest import AS_OF, PILOT_START, client_for, post_callback

LAST_DAY = AS_OF - dt.timedelta(days=1)  # the demo's last day with data
ANSWERED = ("footage_provided", "no_relevant_footage", "declined")
STATUSES = ("footage_provided", "no_relevant_footage", "declined", "no_response", "withdrawn", "sent")
NOT_RECORDED = "Not recorded or other"


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def uk_days(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.tz_localize("UTC").dt.tz_convert("Europe/London").dt.date


def _check(score: Score, exact: Score, report) -> None:
    report(score.line())
    assert exact.n == score.n, "the exact layer hides the same counts (hiding depends on true counts only)"
    assert exact.recovered == exact.n, (
        f"without the adjustment the attack must recover every hidden count: {exact.line()}"
    )
    assert score.share <= score.bound, (
        f"LEAK: {score.name}: {score.recovered} of {score.n} hidden counts recovered exactly ({score.share:.1%}), "
        f"above what independent noise allows ({score.chance:.1%}, at most {score.bound:.1%}). "
        f"Examples: {score.examples()}"
    )


def cases_from_totals(score: Score, published: dict, true: dict, where: str) -> None:
    """Hidden counts between consecutive published running totals (period -> value; None hidden)."""
    periods = sorted(true)
    for before, after in zip(periods, periods[1:]):
        h = true[after] - true[before]
        if 1 <= h < score.k and published.get(before) is not None and published.get(after) is not None:
            score.add(
                Case(h, (published[after],), (published[before],), (true[after],), (true[before],), f"{where} {after}")
            )


# ----------------------------------------------------------------------------- truth


@pytest.fixture(scope="module")
def registrations(registry) -> pd.DataFrame:
    """Every registration ever made (erased ones too), its UK day and its site's district."""
    frame = registry.truth.frame(
        "SELECT r.consent_at, s.district_code AS district FROM registrant r LEFT JOIN site s ON s.registrant_id = r.id"
    )
    frame["day"] = uk_days(frame["consent_at"])
    return frame


@pytest.fixture(scope="module")
def requests(registry) -> pd.DataFrame:
    frame = registry.truth.frame(
        "SELECT sent_at, status, footage_useful AS useful, footage_likely_overwritten AS too_late, "
        "incident_district_code AS district, crime_category AS category FROM footage_request"
    )
    frame["day"] = uk_days(frame["sent_at"])
    return frame


def cumulative(days: pd.Series, ends: list[dt.date]) -> dict[dt.date, int]:
    values = np.sort(np.array([d.toordinal() for d in days]))
    return {e: int(np.searchsorted(values, e.toordinal(), side="right")) for e in ends}


# ----------------------------------------------------------------------------- force days


def day_by_day(client, app, registrations) -> tuple[Score, int]:
    layer = layer_of(app)
    score = Score("uptake day by day (force): a day as the difference of two ranges", layer.ptable, layer.k)
    whole = client.get(f"/api/v1/metrics/uptake?from={PILOT_START}&to={LAST_DAY}").get_json()
    totals = {dt.date.fromisoformat(r["day"]): r["total"] for r in whole["daily"]}
    totals[PILOT_START - dt.timedelta(days=1)] = whole["total_before"]
    # The hidden days: those whose bar is not shown, except where the totals either side are equal
    # and shown (the same records, so the same figure: nothing was registered that day).
    no_bar = [dt.date.fromisoformat(r["day"]) for r in whole["daily"] if r["registrations"] is None]
    hidden_days = [day for day in no_bar if totals[day] is None or totals[day - dt.timedelta(days=1)] != totals[day]]
    queries = 1
    for day in hidden_days:  # the day on its own: the total before it and the total at its end
        alone = client.get(f"/api/v1/metrics/uptake?from={day}&to={day}").get_json()
        queries += 1
        assert (alone["total_before"], alone["daily"][0]["total"]) == (
            totals[day - dt.timedelta(days=1)],
            totals[day],
        ), f"moving from/to changed a published total ({day})"
    true = cumulative(registrations["day"], sorted(totals))
    cases_from_totals(score, totals, true, "day")
    return score, queries


@pytest.fixture(scope="module")
def days(apps, registrations) -> dict:
    return {
        name: day_by_day(client_for(app, "lead"), app, registrations)
        for name, app in (("noisy", apps.noisy), ("exact", apps.exact))
    }


def test_hidden_days_come_back_only_as_noise(days, report):
    score, queries = days["noisy"]
    assert score.n >= 10, f"too few hidden days to measure ({score.n})"
    _check(score, days["exact"][0], report)
    report(f"  ({queries} queries; every published running total the same whatever range was asked)")


# ----------------------------------------------------------------------------- district weeks


def district_weeks(client, app, registrations) -> Score:
    layer = layer_of(app)
    score = Score("uptake page, district weeks (weekly running totals per district)", layer.ptable, layer.k)
    ref = app.server.extensions["ccr"].reference
    for code in ref.districts["code"]:
        response = post_callback(
            client,
            app,
            "uptake-headline.children",
            {
                "uptake-first": PILOT_START.isoformat(),
                "uptake-last": LAST_DAY.isoformat(),
                "uptake-district": code,
                "uptake-period": "week",
            },
        )
        assert response.status_code == 200
        figure = response.get_json()["response"]["uptake-timeline"]["figure"]
        trace = next(t for t in figure["data"] if t.get("name") == "Registrations so far")
        published = {dt.date.fromisoformat(x[:10]) + dt.timedelta(days=6): y for x, y in zip(trace["x"], trace["y"])}
        published[PILOT_START - dt.timedelta(days=1)] = 0  # nothing before the pilot: a total of 0 is shown as 0
        true = cumulative(registrations.loc[registrations["district"] == code, "day"], sorted(published))
        assert true[PILOT_START - dt.timedelta(days=1)] == 0
        cases_from_totals(score, published, true, code)
    return score


@pytest.fixture(scope="module")
def weeks(apps, registrations) -> dict:
    return {
        name: district_weeks(client_for(app, "lead"), app, registrations)
        for name, app in (("noisy", apps.noisy), ("exact", apps.exact))
    }


def test_hidden_district_weeks_come_back_only_as_noise(weeks, report):
    _check(weeks["noisy"], weeks["exact"], report)


# ----------------------------------------------------------------------------- campaigns


def week_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    start = monday(first)
    return [start + dt.timedelta(days=7 * i + 6) for i in range((monday(last) - start).days // 7 + 1)]


def campaign_weeks(client, app, registry) -> Score:
    layer = layer_of(app)
    score = Score("campaign completions per week (ranges from the first week, differenced)", layer.ptable, layer.k)
    days = registry.truth.frame(
        "SELECT c.name, d.day, d.completions FROM campaign_daily_count d JOIN campaign c ON c.id = d.campaign_id"
    )
    days["day"] = pd.to_datetime(days["day"]).dt.date
    start = monday(PILOT_START)
    ends = week_ends(start, LAST_DAY)
    published: dict[str, dict] = {}
    for end in ends:
        funnel = client.get(f"/api/v1/metrics/uptake?from={start}&to={end}").get_json()["funnel"]
        for row in funnel:
            published.setdefault(row["campaign"], {start - dt.timedelta(days=1): 0})[end] = row["completions"]
    for name, series in published.items():
        chosen = days[days["name"] == name]
        true = {e: int(chosen.loc[chosen["day"] <= e, "completions"].sum()) for e in series}
        cases_from_totals(score, series, true, name)
    return score


@pytest.fixture(scope="module")
def campaigns(apps, registry) -> dict:
    return {
        name: campaign_weeks(client_for(app, "lead"), app, registry)
        for name, app in (("noisy", apps.noisy), ("exact", apps.exact))
    }


def test_campaign_completions_come_back_only_as_noise(campaigns, apps, report):
    score = campaigns["noisy"]
    _check(score, campaigns["exact"], report)
    if score.n == 0:
        report("  (this registry has no campaign week with 1-7 completions: every weekly count is 0 or at least K)")
    # Days are not to be had for a campaign: any range inside one week answers that week's figures.
    client = client_for(apps.noisy, "lead")
    week = [PILOT_START + dt.timedelta(days=i) for i in range(7)]
    answers = {
        json.dumps(client.get(f"/api/v1/metrics/uptake?from={a}&to={b}").get_json()["funnel"])
        for a, b in ((week[0], week[6]), (week[2], week[2]), (week[3], week[5]), (week[6], week[6]))
    }
    assert len(answers) == 1, "a range of days inside one week gave other campaign figures than the whole week"


# ----------------------------------------------------------------------------- footage requests


def request_measures(frame: pd.DataFrame) -> dict[str, pd.Series]:
    status = frame["status"]
    useful = frame["useful"]
    return {
        "requests": pd.Series(True, index=frame.index),
        "answered": status.isin(ANSWERED),
        "closed": status != "withdrawn",
        "footage_provided": status == "footage_provided",
        "judged": useful.notna(),
        "useful": useful.fillna(0).astype(bool),
        "too_late": frame["too_late"].astype(bool),
        **{f"status:{s}": status == s for s in STATUSES},
    }


def request_groups(frame: pd.DataFrame, reference) -> dict[str, pd.Series]:
    names = dict(zip(reference.districts["code"], reference.districts["name"]))
    from dashboard.analytics.uptake import CRIME_CATEGORIES

    return {
        "by_district": frame["district"].map(names).fillna(NOT_RECORDED),
        "by_crime_category": frame["category"].where(frame["category"].isin(CRIME_CATEGORIES), NOT_RECORDED),
    }


def request_series(response: dict) -> dict[tuple, int | None]:
    """Every count of one /metrics/requests answer, keyed (measure,) or (table, group, measure)."""
    out = {("requests",): response["requests"], ("too_late",): response["too_late"]}
    out.update({(f"status:{s}",): v for s, v in response["by_status"].items()})
    for table in ("by_district", "by_crime_category"):
        for row in response[table]:
            for measure in ("requests", "answered", "footage_provided", "useful"):
                out[(table, row["group"], measure)] = row[measure]
    return out


def true_request_counts(requests: pd.DataFrame, reference, first: dt.date, last: dt.date) -> dict[tuple, int]:
    inside = requests[(requests["day"] >= first) & (requests["day"] <= last)]
    measures, groups = request_measures(inside), request_groups(inside, reference)
    out = {(m,): int(mask.sum()) for m, mask in measures.items()}
    for table, group in groups.items():
        for m in ("requests", "answered", "closed", "footage_provided", "judged", "useful"):
            for name, n in measures[m].groupby(group).sum().items():
                out[(table, name, m)] = int(n)
    return out


def request_weeks(client, app, requests) -> Score:
    layer = layer_of(app)
    score = Score("footage request counts per week (cumulative ranges differenced)", layer.ptable, layer.k)
    reference = app.server.extensions["ccr"].reference
    start = monday(min(requests["day"]))
    published: dict[tuple, dict] = {}
    for end in week_ends(start, LAST_DAY):
        response = client.get(f"/api/v1/metrics/requests?from={start}&to={end}").get_json()
        assert (response["from"], response["to"]) == (start.isoformat(), end.isoformat())
        for key, value in request_series(response).items():
            published.setdefault(key, {start - dt.timedelta(days=1): 0})[end] = value
    truth = {e: true_request_counts(requests, reference, start, e) for e in next(iter(published.values()))}
    for key, series in published.items():
        cases_from_totals(score, series, {e: truth[e].get(key, 0) for e in series}, "/".join(key))
    return score


@pytest.fixture(scope="module")
def request_scores(apps, requests) -> dict:
    return {
        name: request_weeks(client_for(app, "lead"), app, requests)
        for name, app in (("noisy", apps.noisy), ("exact", apps.exact))
    }


def test_small_footage_request_counts_come_back_only_as_noise(request_scores, report):
    _check(request_scores["noisy"], request_scores["exact"], report)


def test_all_time_ranges_together(days, weeks, campaigns, request_scores, report):
    """The four time-range attacks pooled: one figure for the closing note."""
    pooled = merge(
        "all time-range differencing pooled (days, district weeks, campaigns, requests)",
        [days["noisy"][0], weeks["noisy"], campaigns["noisy"], request_scores["noisy"]],
    )
    report(pooled.line())
    assert pooled.share <= pooled.bound, f"LEAK: {pooled.line()}"


# ----------------------------------------------------------------------------- rates


def rate_violations(rates: list[tuple[str, float | None, dict[str, int]]], k: int) -> list[str]:
    """Rates shown although a count they are drawn from is below K: (where, rate, true counts)."""
    return [
        f"{where}: {rate} with {parts}" for where, rate, parts in rates if rate is not None and min(parts.values()) < k
    ]


def test_the_rate_violation_check_finds_a_planted_one():
    assert rate_violations([("planted", 0.583, {"answered": 7, "closed": 12})], 8)
    assert not rate_violations([("fine", None, {"answered": 7, "closed": 12}), ("fine", 0.5, {"a": 8, "b": 16})], 8)


TEXT = re.compile(r"^(\d[\d,]*)$")


def _page_tables(node, found: list) -> list:
    """Every table of a rendered Dash layout as rows of cell texts."""
    if isinstance(node, dict):
        if node.get("type") == "Table":
            rows = []

            def cells(n, out):
                if isinstance(n, dict):
                    if n.get("type") in ("Td", "Th"):
                        out.append(str(n["props"].get("children", "")))
                        return
                    cells(n.get("props", {}).get("children"), out)
                elif isinstance(n, list):
                    for x in n:
                        cells(x, out)

            def trs(n):
                if isinstance(n, dict):
                    if n.get("type") == "Tr":
                        row = []
                        cells(n["props"].get("children"), row)
                        rows.append(row)
                        return
                    trs(n.get("props", {}).get("children"))
                elif isinstance(n, list):
                    for x in n:
                        trs(x)

            trs(node["props"].get("children"))
            found.append(rows)
            return found
        for value in node.values():
            _page_tables(value, found)
    elif isinstance(node, list):
        for value in node:
            _page_tables(value, found)
    return found


def test_no_rate_is_shown_next_to_a_hidden_count(apps, registry, requests, report):
    client = client_for(apps.noisy, "lead")
    k = registry.k
    reference = apps.noisy.server.extensions["ccr"].reference
    rates: list[tuple[str, float | None, dict[str, int]]] = []
    beside_hidden = 0
    start = monday(min(requests["day"]))
    ranges = [(start, e) for e in week_ends(start, LAST_DAY)]
    ranges += [(monday(e), e) for e in week_ends(start, LAST_DAY)]  # single weeks
    ranges += [(e - dt.timedelta(days=13), e) for e in week_ends(start, LAST_DAY)[1:]]  # fortnights
    for first, last in ranges:
        response = client.get(f"/api/v1/metrics/requests?from={first}&to={last}").get_json()
        first, last = dt.date.fromisoformat(response["from"]), dt.date.fromisoformat(response["to"])
        true = true_request_counts(requests, reference, first, last)
        where = f"{first}..{last}"
        rates.append(
            (
                f"{where} response rate",
                response["response_rate"],
                {"answered": true[("answered",)], "closed": true[("closed",)]},
            )
        )
        rates.append(
            (
                f"{where} useful share",
                response["useful_share"],
                {"useful": true[("useful",)], "judged": true[("judged",)]},
            )
        )
        beside_hidden += sum(1 for s in ANSWERED if response["by_status"][s] is None)
        for table in ("by_district", "by_crime_category"):
            for row in response[table]:
                g = row["group"]
                rates.append(
                    (
                        f"{where} {table} {g} response rate",
                        row["response_rate"],
                        {"answered": true.get((table, g, "answered"), 0), "closed": true.get((table, g, "closed"), 0)},
                    )
                )
                beside_hidden += row["answered"] is None and row["requests"] is not None
    # Campaign completion rates and district rates per 1,000 households on the uptake API.
    registrations = registry.truth.frame(
        "SELECT s.district_code AS district FROM registrant r JOIN site s "
        "ON s.registrant_id = r.id WHERE r.status = 'active'"
    )
    registrations = registrations["district"].value_counts()
    completions = registry.truth.frame(
        "SELECT c.name, d.day, d.completions FROM campaign_daily_count d JOIN campaign c ON c.id = d.campaign_id"
    )
    completions["day"] = pd.to_datetime(completions["day"]).dt.date
    for first, last in [(monday(PILOT_START), e) for e in week_ends(PILOT_START, LAST_DAY)[::3]]:
        response = client.get(f"/api/v1/metrics/uptake?from={first}&to={last}").get_json()
        lo, hi = dt.date.fromisoformat(response["funnel_from"]), dt.date.fromisoformat(response["funnel_to"])
        for row in response["funnel"]:
            chosen = completions[
                (completions["name"] == row["campaign"]) & (completions["day"] >= lo) & (completions["day"] <= hi)
            ]
            rates.append(
                (
                    f"{lo}..{hi} {row['campaign']} completion rate",
                    row["completion_rate"],
                    {"completions": int(chosen["completions"].sum())},
                )
            )
        for row in response["by_district"]:
            rates.append(
                (
                    f"{row['name']} per 1,000",
                    row["registrations_per_1000"],
                    {"registrations": int(registrations.get(row["code"], 0))},
                )
            )
    # The page itself: the "Answered: fewer than 8" beside a response rate.
    page_rows = 0
    for first, last in ranges[::4]:
        response = post_callback(
            client,
            apps.noisy,
            "uptake-headline.children",
            {
                "uptake-first": first.isoformat(),
                "uptake-last": last.isoformat(),
                "uptake-district": "all",
                "uptake-period": "week",
            },
        )
        for table in _page_tables(response.get_json()["response"]["uptake-requests"], []):
            header = table[0]
            if "Response rate" not in header:
                continue
            a, r = header.index("Answered"), header.index("Response rate")
            for row in table[1:]:
                page_rows += 1
                if not TEXT.match(row[a]) and row[r] not in ("–", "", "hidden"):
                    rates.append(
                        (
                            f"page {first}..{last} {row[0]}",
                            float(row[r].rstrip("%")) / 100,
                            {"answered (hidden on the page)": 0},
                        )
                    )
    leaks = rate_violations(rates, k)
    shown = sum(1 for _, rate, _ in rates if rate is not None)
    report(
        f"rates beside hidden counts: {len(leaks)} of {shown:,} rates shown were drawn from a count below {k} "
        f"(checked {len(rates):,} rates over {len(ranges)} request ranges, campaign and district rates, and "
        f"{page_rows} rows of the page's tables; {beside_hidden} hidden answered counts had their rate hidden "
        "with them)"
    )
    assert not leaks, "LEAK: a rate is shown while a count it is drawn from is hidden: " + "; ".join(leaks[:5])
