"""The lead's uptake page, its API and the weekly report against the database. Expected figures are
worked out here from SQL rows, one row at a time: UK days by zoneinfo, cell keys as sums of the rows'
record keys (plus the anonymous sums of erased registrations' keys), and the adjustment read from
the p-table's rows at the documented lookup column (:func:`by_table`). An attacker's differencing
over the API recovers hidden counts no more often than the p-table's chance."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import Counter
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import sqlalchemy as sa

from dashboard.analytics.disclosure import _SCRAMBLE
from dashboard.pages import uptake as uptake_page
from tests.direct_calls import plain, signed_in
from tests.integration.conftest import login

K = 8
LONDON = ZoneInfo("Europe/London")
PILOT, LAUNCH, AS_OF = dt.date(2026, 4, 13), dt.date(2026, 7, 6), dt.date(2026, 11, 29)


def _lead_app(runtime, demo_of, registrations: int):
    from dashboard.application import create_app

    demo_of(runtime, seed=4, registrations=registrations, as_of=AS_OF, pilot_start=PILOT, public_launch=LAUNCH)
    app = create_app(runtime)
    app.server.config["TESTING"] = True
    client = app.server.test_client()
    login(client, "lead")
    return app, client


@pytest.fixture
def lead_app(runtime, demo_of):
    return _lead_app(runtime, demo_of, 12000)


@pytest.fixture
def attacked_app(runtime, demo_of):
    """A larger demo, so that the attack meets enough small weekly request and campaign counts."""
    return _lead_app(runtime, demo_of, 12000)


# ------------------------------------------------------------------- the truth, by hand


def uk_day(text) -> dt.date:
    value = text if isinstance(text, dt.datetime) else dt.datetime.fromisoformat(str(text))
    return value.replace(tzinfo=dt.UTC).astimezone(LONDON).date()


def by_table(ptable, true: int, key: int) -> int | None:
    """A published count by hand: 0 for nothing yet, nothing below K, else true + the table's entry
    at the column the documented lookup names (key shifted per count, then the fixed permutation)."""
    if true == 0:
        return 0
    if true < ptable.k:
        return None
    return true + int(ptable.rows[min(true, len(ptable.rows) - 1), _SCRAMBLE[(key + true * 167 + 89) % 256]])


class Truth:
    """Registrations, owner withdrawals and requests from SQL, with their keys."""

    def __init__(self, engine):
        with engine.connect() as con:
            self.regs = [
                (uk_day(c), k, d, uk_day(w) if w is not None and why == "owner" else None, n, ck)
                for c, k, d, w, why, n, ck in con.execute(
                    sa.text(
                        "SELECT r.consent_at, r.record_key, s.district_code, r.withdrawn_at, r.end_reason, "
                        "(SELECT count(*) FROM camera c WHERE c.site_id = s.id), "
                        "(SELECT coalesce(sum(c.record_key), 0) FROM camera c WHERE c.site_id = s.id) "
                        "FROM registrant r JOIN site s ON s.registrant_id = r.id"
                    )
                )
            ]
            self.retired = [
                (series, dt.date.fromisoformat(str(day)[:10]), district, key)
                for series, day, district, key in con.execute(
                    sa.text("SELECT series, day, district_code, key_sum FROM retired_key")
                )
            ]
            self.requests = [
                (uk_day(s), k, st, d, cat)
                for s, k, st, d, cat in con.execute(
                    sa.text(
                        "SELECT sent_at, record_key, status, incident_district_code, crime_category FROM footage_request"
                    )
                )
            ]
            self.completions = [
                (slug, dt.date.fromisoformat(str(day)[:10]), n, key)
                for slug, day, n, key in con.execute(
                    sa.text(
                        "SELECT c.slug, d.day, d.completions, d.completion_keys FROM campaign_daily_count d "
                        "JOIN campaign c ON c.id = d.campaign_id"
                    )
                )
            ]

    def registered(self, day: dt.date, district: str | None = None) -> tuple[int, int]:
        """Registrations made up to the end of ``day`` and their cell key."""
        rows = [r for r in self.regs if r[0] <= day and (district is None or r[2] == district)]
        key = sum(r[1] for r in rows if r[1] is not None)
        key += sum(
            s[3]
            for s in self.retired
            if s[0] == "registered" and s[1] <= day and (district is None or s[2] == district)
        )
        return len(rows), key % 256

    def withdrawn(self, day: dt.date, district: str | None = None) -> tuple[int, int]:
        n = sum(1 for r in self.regs if r[3] is not None and r[3] <= day and (district is None or r[2] == district))
        key = sum(
            s[3] for s in self.retired if s[0] == "withdrawn" and s[1] <= day and (district is None or s[2] == district)
        )
        return n, key % 256

    def requests_sent(self, day: dt.date, keep=lambda r: True) -> tuple[int, int]:
        rows = [r for r in self.requests if r[0] <= day and keep(r)]
        return len(rows), sum(r[1] for r in rows) % 256

    def completed(self, day: dt.date, slug: str) -> tuple[int, int]:
        rows = [r for r in self.completions if r[1] <= day and r[0] == slug]
        return sum(r[2] for r in rows), sum(r[3] for r in rows) % 256


def difference(ptable, before: tuple[int, int], after: tuple[int, int]) -> int | None:
    """A range's figure by hand: the published totals' difference, shown when both are and at least
    K were counted in between (never below K then)."""
    a, b = by_table(ptable, *before), by_table(ptable, *after)
    if a is None or b is None or after[0] - before[0] < ptable.k:
        return None
    return max(ptable.k, b - a)


# ----------------------------------------------------------------------------- the page


def _redraw(app, first, last, district, period) -> dict:
    """The uptake page's answer for these choices, as the lead, as the browser receives it."""
    with signed_in(app, "lead"):
        return plain(uptake_page.redraw(first, last, district, period))


def _text(component) -> str:
    """All the text in a rendered component tree, spaces collapsed."""
    return re.sub(r"\s+", " ", _words(component))


def _words(component) -> str:
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, list):
        return " ".join(_words(c) for c in component)
    if isinstance(component, dict):
        return _words(component.get("props", {}).get("children", ""))
    return ""


class _PlotlyJSON(json.JSONEncoder):
    def default(self, o):
        return o.to_plotly_json() if hasattr(o, "to_plotly_json") else super().default(o)


def _shown(value: int | None, small_text: str = f"fewer than {K}") -> str:
    return f"{value:,}" if value is not None else small_text


def test_a_district_is_shown_in_whole_weeks_with_figures_worked_out_by_hand(lead_app, runtime, reference):
    app, _ = lead_app
    ptable = runtime.disclosure.ptable
    truth = Truth(runtime.engine)
    district = reference.districts.sort_values("households", ascending=False)["code"].iloc[0]
    # Wednesday 8 July to Wednesday 21 October widens to Monday 6 July - Sunday 25 October
    answer = _redraw(app, "2026-07-08", "2026-10-21", district, "week")
    headline = _text(answer["headline"])
    assert "widened to Monday 06 July 2026 to Sunday 25 October 2026" in headline, headline
    first, last = dt.date(2026, 7, 6), dt.date(2026, 10, 25)
    before = first - dt.timedelta(days=1)
    made = difference(ptable, truth.registered(before, district), truth.registered(last, district))
    assert made is not None and f"{made:,} registrations with" in headline, headline
    withdrawn = difference(ptable, truth.withdrawn(before, district), truth.withdrawn(last, district))
    assert f"{_shown(withdrawn)} withdrawn by their owners in the period" in headline
    assert "due to confirm their details (not confirmed for 12 months)" in headline

    figure = answer["timeline"]
    bars = next(t for t in figure["data"] if t["name"] == "Registrations per week")
    totals = next(t for t in figure["data"] if t["name"] == "Registrations so far")
    assert [x[:10] for x in bars["x"]] == [(first + dt.timedelta(weeks=i)).isoformat() for i in range(16)]
    shown = 0
    for i, (y, total) in enumerate(zip(bars["y"], totals["y"])):
        sunday = first + dt.timedelta(weeks=i, days=6)
        assert total == by_table(ptable, *truth.registered(sunday, district))
        assert y == difference(
            ptable, truth.registered(sunday - dt.timedelta(days=7), district), truth.registered(sunday, district)
        )
        shown += y is not None
    assert shown >= 3
    churn = answer["churn"]["data"][0]
    for i, y in enumerate(churn["y"]):
        sunday = first + dt.timedelta(weeks=i, days=6)
        assert y == difference(
            ptable, truth.withdrawn(sunday - dt.timedelta(days=7), district), truth.withdrawn(sunday, district)
        )


def test_per_day_is_refused_below_force_level_and_days_are_fine_for_the_force(lead_app, reference):
    app, _ = lead_app
    district = reference.districts["code"].iloc[0]
    refused = _redraw(app, "2026-07-08", "2026-07-21", district, "day")
    assert _text(refused["headline"]) == "Days are shown for the whole force only; choose Week."
    assert not any(t.get("y") for t in refused["timeline"].get("data", []))
    force = _redraw(app, "2026-07-08", "2026-07-21", "all", "day")
    bars = next(t for t in force["timeline"]["data"] if t["name"] == "Registrations per day")
    assert len(bars["x"]) == 14 and "widened" not in _text(force["headline"])


def test_moving_the_dates_changes_no_published_figure(lead_app):
    app, _ = lead_app
    seen: dict[str, int | None] = {}
    for first in ("2026-07-01", "2026-07-02", "2026-07-03", "2026-07-09"):
        answer = _redraw(app, first, "2026-08-15", "all", "day")
        data = answer["timeline"]["data"]
        totals = next(t for t in data if t["name"] == "Registrations so far")
        bars = next(t for t in data if t["name"] == "Registrations per day")
        for x, total, bar in zip(totals["x"], totals["y"], bars["y"]):
            assert seen.setdefault(("total", x), total) == total
            assert seen.setdefault(("bar", x), bar) == bar
    assert len(seen) == 2 * 46 and sum(v is not None for v in seen.values()) > 46


def test_the_page_says_how_figures_are_protected(lead_app, runtime):
    _, client = lead_app
    assert client.get("/uptake").status_code == 200
    layout = client.get("/_dash-layout").get_json()
    assert layout is not None
    from dashboard.pages.uptake import NOT_ADDING_UP
    from dashboard.pages.uptake import layout as uptake_layout

    with client.application.test_request_context():
        text = _text(json.loads(json.dumps(uptake_layout(runtime, None), cls=_PlotlyJSON))["props"]["children"])
    assert runtime.disclosure.describe() in text
    assert "need not add up exactly" in NOT_ADDING_UP and NOT_ADDING_UP in text


def test_request_outcomes_show_no_small_count_and_no_rate_beside_a_hidden_count(lead_app, runtime):
    app, _ = lead_app
    ptable = runtime.disclosure.ptable
    truth = Truth(runtime.engine)
    answer = _redraw(app, "2026-04-15", "2026-11-25", "all", "day")
    text = _text(answer["requests"])
    # Wednesday 15 April widens to Monday 13 April, Wednesday 25 November to Sunday 29 November
    assert "Monday 13 April 2026 to Sunday 29 November 2026" in text
    total = difference(ptable, truth.requests_sent(dt.date(2026, 4, 12)), truth.requests_sent(dt.date(2026, 11, 29)))
    assert total is not None and f"{total:,} requests" in text
    tables = text.split("sent after the footage was likely overwritten", 1)[1]
    counts = [int(n) for n in re.findall(r"(?<![\d.,])(\d+)(?![\d.%,])", tables.replace(",", ""))]
    assert counts and all(n >= K for n in counts), counts
    # every breakdown row: a rate only beside a shown "answered"
    rows = re.findall(r"\{'props': \{'children': \[(.*?)\]\}, 'type': 'Tr'", str(answer["requests"]))
    checked = 0
    for row in rows:
        cells = re.findall(r"'children': '([^']*)'", row)
        if len(cells) == 6 and cells[1] != "Requests":
            assert cells[2] != "hidden" or cells[3] == "hidden", cells
            checked += 1
    assert checked >= 15


def test_camera_mix_matches_sql_worked_by_hand(lead_app, runtime):
    from dashboard.analytics.uptake import camera_mix
    from dashboard.registry.uptake_queries import register_frames

    ptable = runtime.disclosure.ptable
    with runtime.sessions() as s:
        frames = register_frames(s)
    mix = camera_mix(frames["mix"], runtime.disclosure, {}).set_index(["aspect", "value"])
    with runtime.engine.connect() as con:
        rows = con.execute(
            sa.text(
                "SELECT c.kind, count(*), sum(c.record_key), count(DISTINCT s.registrant_id) FROM camera c "
                "JOIN site s ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id "
                "WHERE c.active = 1 AND r.status = 'active' GROUP BY c.kind"
            )
        ).all()
        reg_keys = {
            kind: key
            for kind, key in con.execute(
                sa.text(
                    "SELECT kind, sum(record_key) FROM (SELECT DISTINCT c.kind AS kind, r.id, r.record_key AS record_key "
                    "FROM camera c JOIN site s ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id "
                    "WHERE c.active = 1 AND r.status = 'active') GROUP BY kind"
                )
            )
        }
    assert len(rows) >= 4
    for kind, cameras, camera_keys, registrations in rows:
        assert mix.loc[("kind", kind), "cameras"] == by_table(ptable, cameras, camera_keys % 256)
        assert mix.loc[("kind", kind), "registrations"] == by_table(ptable, registrations, reg_keys[kind] % 256)
    assert {v for a, v in mix.index if a == "kind"} == {"doorbell", "fixed", "dome", "ptz", "other"}


def test_metrics_api_matches_sql_worked_by_hand_and_its_schema(lead_app, runtime):
    from dashboard.api.schemas import RequestMetrics, UptakeMetrics

    _, client = lead_app
    ptable = runtime.disclosure.ptable
    truth = Truth(runtime.engine)
    first, last = dt.date(2026, 7, 8), dt.date(2026, 10, 21)
    answer = client.get(f"/api/v1/metrics/uptake?from={first}&to={last}")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    body = answer.get_json()
    UptakeMetrics.model_validate(body)
    assert body["total_before"] == by_table(ptable, *truth.registered(first - dt.timedelta(days=1)))
    assert [d["day"] for d in body["daily"]] == [(first + dt.timedelta(days=i)).isoformat() for i in range(106)]
    for day in body["daily"]:
        d = dt.date.fromisoformat(day["day"])
        assert day["total"] == by_table(ptable, *truth.registered(d))
        assert day["registrations"] == difference(
            ptable, truth.registered(d - dt.timedelta(days=1)), truth.registered(d)
        )
    assert any(d["registrations"] is not None for d in body["daily"])
    assert (body["funnel_from"], body["funnel_to"]) == ("2026-07-06", "2026-10-25")
    monday, sunday = dt.date(2026, 7, 6), dt.date(2026, 10, 25)
    with runtime.engine.connect() as con:
        slugs = dict(con.execute(sa.text("SELECT name, slug FROM campaign")).all())
    assert len(body["funnel"]) == len(slugs)  # every campaign
    for row in body["funnel"]:
        slug = slugs[row["campaign"]]
        assert row["completions"] == difference(
            ptable, truth.completed(monday - dt.timedelta(days=1), slug), truth.completed(sunday, slug)
        )

    requests = client.get(f"/api/v1/metrics/requests?from={first}&to={last}").get_json()
    RequestMetrics.model_validate(requests)
    assert (requests["from"], requests["to"]) == ("2026-07-06", "2026-10-25")
    before, after = monday - dt.timedelta(days=1), sunday
    assert requests["requests"] == difference(ptable, truth.requests_sent(before), truth.requests_sent(after))
    for status, value in requests["by_status"].items():
        keep = lambda r, s=status: r[2] == s  # noqa: E731
        assert value == difference(ptable, truth.requests_sent(before, keep), truth.requests_sent(after, keep)), status
    assert len(requests["weekly"]) == 16
    assert (
        len(requests["by_crime_category"]) == 15
        and requests["by_crime_category"][-1]["group"] == "Not recorded or other"
    )


@pytest.mark.parametrize(
    "query, field",
    [
        ("from=2026-07-06", "to"),
        ("from=2026-13-01&to=2026-14-01", "from"),
        ("from=2026-08-01&to=2026-07-01", "to"),
        ("from=2026-07-01&to=2026-08-01&district=x", "district"),
    ],
)
def test_metrics_api_refuses_bad_ranges_naming_the_field(lead_app, query, field):
    _, client = lead_app
    answer = client.get(f"/api/v1/metrics/uptake?{query}")
    assert answer.status_code == 422
    assert field in {e["field"] for e in answer.get_json()["errors"]}, answer.get_json()


def test_weekly_report_page_csv_and_command_agree_with_sql(lead_app, runtime, tmp_path):
    import csv
    import io
    import os
    import subprocess
    import sys

    from dashboard.config import PROJECT_ROOT

    _, client = lead_app
    ptable = runtime.disclosure.ptable
    truth = Truth(runtime.engine)
    page = client.get("/uptake/report?week=2026-11-18")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = re.sub(r"<[^>]+>", " ", page.get_data(as_text=True))
    text = re.sub(r"\s+", " ", text)
    assert "week of Monday 16 November 2026 to Sunday 22 November 2026" in text
    assert runtime.disclosure.describe() in text and "need not add up exactly" in text
    week = difference(ptable, truth.registered(dt.date(2026, 11, 15)), truth.registered(dt.date(2026, 11, 22)))
    assert f"Registrations this week {_shown(week)}" in text
    so_far = by_table(ptable, *truth.registered(dt.date(2026, 11, 22)))
    assert f"Registrations so far {so_far:,}" in text

    weeks_csv = client.get("/uptake/report/weeks.csv?week=2026-11-18")
    assert weeks_csv.status_code == 200 and "attachment" in weeks_csv.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(weeks_csv.get_data(as_text=True))))
    assert len(table) == 12 and table[-1]["week_starting"] == "2026-11-16"
    for row in table:
        sunday = dt.date.fromisoformat(row["week_starting"]) + dt.timedelta(days=6)
        bar = difference(ptable, truth.registered(sunday - dt.timedelta(days=7)), truth.registered(sunday))
        assert row["registrations"] == ("" if bar is None else str(bar))
        total = by_table(ptable, *truth.registered(sunday))
        assert row["total"] == ("" if total is None else str(total))

    env = {
        **os.environ,
        "DATABASE_URL": runtime.settings.database_url,
        "SECRET_KEY": "k" * 48,
        "REFERENCE_DATA_DIR": str(runtime.settings.reference_data_dir),
    }
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "report", "weekly", "--week", "2026-11-18", "--out", str(tmp_path)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for table_name in (
        "weeks",
        "districts",
        "cameras",
        "campaigns",
        "requests_by_district",
        "requests_by_crime",
        "footage",
    ):
        written = (tmp_path / f"weekly-2026-11-16-{table_name}.csv").read_bytes()
        assert written == client.get(f"/uptake/report/{table_name}.csv?week=2026-11-16").get_data(), table_name
    assert (tmp_path / "weekly-2026-11-16.html").read_text().count("<svg") == 1


def test_weekly_report_refuses_bad_weeks_and_other_roles(lead_app):
    app, client = lead_app
    response = client.get("/uptake/report?week=2026-02-30")
    assert response.status_code == 400 and "2026-11-16" in response.get_data(as_text=True)
    assert client.get("/uptake/report/people.csv").status_code == 404
    analyst = app.server.test_client()
    login(analyst, "analyst")
    assert analyst.get("/uptake/report").status_code == 403
    assert analyst.get("/uptake/report/weeks.csv").status_code == 403


# ------------------------------------------------------------------------------- the attack


def _chance(ptable, count_a: int, count_b: int) -> float:
    """The probability that the adjustments of two independent counts are equal (what the attacker's
    difference hits by luck), from the p-table's distributions."""
    (da, pa), (db, pb) = ptable.distribution(count_a), ptable.distribution(count_b)
    pb_at = dict(zip(db.tolist(), pb.tolist()))
    return float(sum(p * pb_at.get(d, 0.0) for d, p in zip(da.tolist(), pa.tolist())))


def test_differencing_by_dates_recovers_hidden_counts_only_by_chance(attacked_app, runtime):
    """The attacks of issue 14 again: moving from/to day by day over /api/v1/metrics/uptake, and
    cumulative ranges over /api/v1/metrics/requests (totals, statuses, districts, crime categories),
    taking differences of everything published, and cumulative ranges over the campaigns' funnel.
    Of the hidden counts (1..K-1) the attacker can estimate, the share recovered exactly must be no
    better than the chance that two adjustments cancel (about 0.19 with the default table)."""
    _, client = attacked_app
    ptable = runtime.disclosure.ptable
    truth = Truth(runtime.engine)
    hits, chances = [], []

    # 1. registrations per day: every day's published figures from many overlapping ranges
    totals: dict[dt.date, int | None] = {}
    start = dt.date(2026, 4, 6)
    for offset in range(0, 230, 9):
        first = start + dt.timedelta(days=offset)
        for span in (6, 20):
            body = client.get(f"/api/v1/metrics/uptake?from={first}&to={first + dt.timedelta(days=span)}").get_json()
            pairs = [(first - dt.timedelta(days=1), body["total_before"])]
            pairs += [(dt.date.fromisoformat(d["day"]), d["total"]) for d in body["daily"]]
            for day, total in pairs:
                assert totals.setdefault(day, total) == total  # the same day, the same published total
    per_day = Counter(r[0] for r in truth.regs)
    for day, total in totals.items():
        previous = totals.get(day - dt.timedelta(days=1), "missing")
        if 1 <= per_day[day] < K and total is not None and previous not in (None, "missing"):
            hits.append(total - previous == per_day[day])
            chances.append(_chance(ptable, truth.registered(day)[0], truth.registered(day - dt.timedelta(days=1))[0]))
    days_estimated = len(hits)

    # 2. footage requests: cumulative ranges from the first week, one week longer each time
    first_monday = dt.date(2026, 4, 13)
    ranges = []
    for weeks in range(1, 33):
        sunday = first_monday + dt.timedelta(weeks=weeks, days=-1)
        ranges.append((sunday, client.get(f"/api/v1/metrics/requests?from={first_monday}&to={sunday}").get_json()))
    answered = ("footage_provided", "no_relevant_footage", "declined")
    measures = {
        "requests": lambda r: True,
        "answered": lambda r: r[2] in answered,
        "footage_provided": lambda r: r[2] == "footage_provided",
    }
    groups = [("requests", None, None, lambda r: True)]
    groups += [("status", s, None, (lambda r, s=s: r[2] == s)) for s in ranges[-1][1]["by_status"]]
    codes = dict(zip(runtime.reference.districts["name"], runtime.reference.districts["code"]))
    for measure, test in measures.items():
        groups += [
            ("by_district", g["group"], measure, (lambda r, c=codes[g["group"]], t=test: r[3] == c and t(r)))
            for g in ranges[-1][1]["by_district"]
            if g["group"] in codes
        ]
        groups += [
            ("by_crime_category", g["group"], measure, (lambda r, c=g["group"], t=test: r[4] == c and t(r)))
            for g in ranges[-1][1]["by_crime_category"][:-1]
        ]
    for kind, name, measure, keep in groups:

        def value(body):
            if kind == "requests":
                return body["requests"]
            if kind == "status":
                return body["by_status"][name]
            return next(g[measure] for g in body[kind] if g["group"] == name)

        for (sunday_a, a), (sunday_b, b) in zip(ranges, ranges[1:]):
            week_true = truth.requests_sent(sunday_b, keep)[0] - truth.requests_sent(sunday_a, keep)[0]
            if 1 <= week_true < K and value(a) is not None and value(b) is not None:
                hits.append(value(b) - value(a) == week_true)
                chances.append(
                    _chance(ptable, truth.requests_sent(sunday_b, keep)[0], truth.requests_sent(sunday_a, keep)[0])
                )
    requests_estimated = len(hits) - days_estimated

    # 3. campaign completions: cumulative ranges from the first week over /api/v1/metrics/uptake
    slugs = {}
    with runtime.engine.connect() as con:
        slugs = dict(con.execute(sa.text("SELECT name, slug FROM campaign")).all())
    funnels = []
    for weeks in range(1, 33):
        sunday = first_monday + dt.timedelta(weeks=weeks, days=-1)
        body = client.get(f"/api/v1/metrics/uptake?from={first_monday}&to={sunday}").get_json()
        funnels.append((sunday, {row["campaign"]: row["completions"] for row in body["funnel"]}))
    for name, slug in slugs.items():
        for (sunday_a, a), (sunday_b, b) in zip(funnels, funnels[1:]):
            done_a, done_b = truth.completed(sunday_a, slug)[0], truth.completed(sunday_b, slug)[0]
            if 1 <= done_b - done_a < K and a[name] is not None and b[name] is not None:
                hits.append(b[name] - a[name] == done_b - done_a)
                chances.append(_chance(ptable, done_b, done_a))
    n = len(hits)
    print(
        f"attack: {n} hidden counts estimated ({days_estimated} days, {requests_estimated} request weeks, "
        f"{n - days_estimated - requests_estimated} campaign weeks); recovered exactly {sum(hits)} "
        f"({np.mean(hits):.3f}); chance {np.mean(chances):.3f}"
    )
    assert days_estimated >= 10 and requests_estimated >= 30, (days_estimated, requests_estimated, n)
    share, expected = float(np.mean(hits)), float(np.mean(chances))
    sampling = 3 * math.sqrt(expected * (1 - expected) / n)
    assert 0.1 < expected < 0.45
    assert share <= expected + sampling + 0.02, (share, expected, n)


def test_weekly_report_rounds_as_its_csv_and_says_plainly_when_a_rate_is_hidden(lead_app):
    """The page rounded halves to even (51.25 per 1,000 households read 51.2) while its CSV rounded them
    up (51.3); and a hidden rate made sentences like "14 requests; hidden answered". The page is built
    here from the real report with one district's rate set to exactly 51.25 and both request rates
    hidden, as the disclosure layer hides them."""
    import dataclasses

    from dashboard.analytics.rounding import round_value
    from dashboard.reports import weekly

    app, _client = lead_app
    with app.server.test_request_context():
        from dashboard.pages.uptake import _weekly_report

        report = _weekly_report("2026-11-18")
    districts = report.tables["districts"].copy()
    districts.loc[districts.index[0], "registrations_per_1000"] = 51.25
    hidden = {**report.requests, "response_rate": None, "useful_share": None}
    if hidden["requests"].value is None:
        hidden["requests"] = dataclasses.replace(hidden["requests"], value=14)
    changed = dataclasses.replace(report, tables={**report.tables, "districts": districts}, requests=hidden)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", weekly.html(changed)))
    assert round_value(51.25, "registrations_per_1000") == 51.3  # the CSV's and the API's rule
    assert f"{districts['name'].iloc[0]} " in text and " 51.3 " in text and " 51.2 " not in text
    assert "the share answered is hidden" in text and "how often footage was useful is hidden" in text
    assert "hidden answered" not in text and "useful in hidden" not in text
