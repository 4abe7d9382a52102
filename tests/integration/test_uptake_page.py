"""The lead's uptake page against the database: the figures its callback sends agree with counts
made straight from SQL rows, with UK days worked out by zoneinfo one row at a time."""
from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from dashboard.demo import generate_demo
from tests.integration.conftest import login

K = 8
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def lead_app(runtime, reference):
    from dashboard.application import create_app

    generate_demo(runtime.engine, reference, seed=4, registrations=3000, as_of=dt.date(2026, 11, 29),
                  pilot_start=dt.date(2026, 4, 13), public_launch=dt.date(2026, 7, 6))
    app = create_app(runtime)
    app.server.config["TESTING"] = True
    client = app.server.test_client()
    login(client, "lead")
    return app, client


def _uk_day(text) -> dt.date:
    value = text if isinstance(text, dt.datetime) else dt.datetime.fromisoformat(str(text))
    return value.replace(tzinfo=dt.timezone.utc).astimezone(LONDON).date()


def _redraw(app, client, first, last, district, period) -> dict:
    key = next(k for k in app.callback_map if "uptake-headline.children" in k)
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in key.strip(".").split("...") if p]
    body = {"output": key, "outputs": outputs, "changedPropIds": [], "state": [],
            "inputs": [{"id": "uptake-first", "property": "value", "value": first},
                       {"id": "uptake-last", "property": "value", "value": last},
                       {"id": "uptake-district", "property": "value", "value": district},
                       {"id": "uptake-period", "property": "value", "value": period}]}
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return json.loads(response.get_data(as_text=True))["response"]


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


def test_weekly_counts_and_headline_match_sql(lead_app, runtime, reference):
    app, client = lead_app
    district = reference.districts["code"].iloc[0]
    first, last = dt.date(2026, 7, 6), dt.date(2026, 10, 25)
    query = sa.text("SELECT r.id, r.consent_at, s.district_code, r.withdrawn_at, r.end_reason "
                    "FROM registrant r JOIN site s ON s.registrant_id = r.id ORDER BY r.id")
    with runtime.engine.begin() as con:
        # Two of the district's registrations that ended in the window were erased (one on request,
        # one by the retention check) rather than withdrawn by their owners: they are not withdrawals.
        ended = [i for i, c, d, w, _ in con.execute(query) if d == district and w is not None
                 and first <= _uk_day(w) <= last]
        for why, registrant_id in zip(("request", "retention"), ended):
            con.execute(sa.text("UPDATE registrant SET end_reason = :why WHERE id = :id"), {"why": why, "id": registrant_id})
        rows = [row[1:] for row in con.execute(query)]
    days = [_uk_day(c) for c, d, _, _ in rows if d == district]
    answer = _redraw(app, client, first.isoformat(), last.isoformat(), district, "week")

    in_range = sum(first <= d <= last for d in days)
    headline = _text(answer["uptake-headline"]["children"])
    assert re.search(rf"\b{in_range:,} registrations with", headline), headline
    ended = [w for c, d, w, why in rows if d == district and w is not None and first <= _uk_day(w) <= last]
    withdrawn = sum(1 for c, d, w, why in rows if d == district and why == "owner" and first <= _uk_day(w) <= last)
    assert withdrawn >= K and len(ended) > withdrawn  # the demo has enough of both for the check to bite
    assert f"{withdrawn:,} withdrawn in the period" in headline
    assert "due to confirm their details (not confirmed for 12 months)" in headline

    weekly = Counter(d - dt.timedelta(days=d.weekday()) for d in days if first <= d <= last)
    figure = answer["uptake-timeline"]["figure"]
    bars = next(t for t in figure["data"] if t["name"].startswith("Registrations per week"))
    totals = next(t for t in figure["data"] if t["name"] == "Registrations so far")
    before = sum(d < first for d in days)
    running = before
    assert len(bars["x"]) == 16 and any(y is not None for y in bars["y"])  # Mondays 6 July to 19 October
    for x, y, total in zip(bars["x"], bars["y"], totals["y"]):
        week = dt.date.fromisoformat(str(x)[:10])
        running += weekly[week]
        assert y is None or (y == weekly[week] and y >= K)
        assert total is None or total == running


def test_request_outcomes_never_show_a_small_count(lead_app, runtime):
    app, client = lead_app
    with runtime.engine.connect() as con:
        total = con.execute(sa.text("SELECT count(*) FROM footage_request")).scalar_one()
    answer = _redraw(app, client, "2026-04-13", "2026-11-29", "all", "day")
    text = _text(answer["uptake-requests"]["children"])
    assert total >= K and f"{total:,} requests" in text
    # every whole number shown in the status and breakdown tables is at least K (rates and days have
    # a decimal point or a % sign)
    tables = text.split("sent after the footage was likely overwritten", 1)[1]
    counts = [int(n) for n in re.findall(r"(?<![\d.,])(\d+)(?![\d.%,])", tables.replace(",", ""))]
    assert counts and all(n >= K for n in counts), counts
    assert f"fewer than {K}" in tables


def test_camera_mix_matches_sql(lead_app, runtime):
    from dashboard.analytics.uptake import camera_mix
    from dashboard.registry.uptake_queries import register_frames

    with runtime.sessions() as s:
        frames = register_frames(s)
    mix = camera_mix(frames["cameras"], K, {}).set_index(["aspect", "value"])
    with runtime.engine.connect() as con:
        rows = con.execute(sa.text(
            "SELECT c.kind, count(*), count(DISTINCT s.registrant_id) FROM camera c JOIN site s ON s.id = c.site_id "
            "JOIN registrant r ON r.id = s.registrant_id WHERE c.active = 1 AND r.status = 'active' GROUP BY c.kind"
        )).all()
        short = con.execute(sa.text(
            "SELECT count(*) FROM camera c JOIN site s ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id "
            "WHERE c.active = 1 AND r.status = 'active' AND c.retention_days BETWEEN 0 AND 7")).scalar_one()
    assert len(rows) >= 4
    for kind, cameras, registrations in rows:
        assert mix.loc[("kind", kind), "registrations"] == registrations >= K
        assert mix.loc[("kind", kind), "cameras"] == cameras
    assert mix.loc[("retention", "up to 7 days"), "cameras"] == short


def test_metrics_api_matches_sql_and_its_schema(lead_app, runtime):
    from dashboard.api.schemas import RequestMetrics, UptakeMetrics

    _, client = lead_app
    first, last = dt.date(2026, 7, 6), dt.date(2026, 10, 25)
    answer = client.get(f"/api/v1/metrics/uptake?from={first}&to={last}")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    body = answer.get_json()
    UptakeMetrics.model_validate(body)
    with runtime.engine.connect() as con:
        rows = con.execute(sa.text("SELECT consent_at FROM registrant")).all()
        sent = con.execute(sa.text("SELECT sent_at FROM footage_request")).all()
    per_day = Counter(_uk_day(c) for (c,) in rows)
    assert [d["day"] for d in body["daily"]] == [(first + dt.timedelta(days=i)).isoformat() for i in range(112)]
    running = sum(n for d, n in per_day.items() if d < first)
    for day in body["daily"]:
        running += per_day[dt.date.fromisoformat(day["day"])]
        assert day["registrations"] is None or day["registrations"] == per_day[dt.date.fromisoformat(day["day"])] >= K
        assert day["total"] is None or day["total"] == running
    assert any(d["total"] is not None for d in body["daily"])
    assert all(c["completions"] is None or c["completions"] >= K for c in body["funnel"])

    requests = client.get(f"/api/v1/metrics/requests?from={first}&to={last}").get_json()
    RequestMetrics.model_validate(requests)
    in_range = sum(first <= _uk_day(s) <= last for (s,) in sent)
    assert requests["requests"] == (in_range if in_range >= K else None)


@pytest.mark.parametrize("query, field", [("from=2026-07-06", "to"), ("from=2026-13-01&to=2026-14-01", "from"),
                                          ("from=2026-08-01&to=2026-07-01", "to"),
                                          ("from=2026-07-01&to=2026-08-01&district=x", "district")])
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
    page = client.get("/uptake/report?week=2026-11-18")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = re.sub(r"<[^>]+>", " ", page.get_data(as_text=True))
    text = re.sub(r"\s+", " ", text)
    assert "week of Monday 16 November 2026 to Sunday 22 November 2026" in text
    with runtime.engine.connect() as con:
        rows = con.execute(sa.text("SELECT consent_at FROM registrant")).all()
    days = [_uk_day(c) for (c,) in rows]
    week = sum(dt.date(2026, 11, 16) <= d <= dt.date(2026, 11, 22) for d in days)
    expected = f"Registrations this week {week:,}" if week >= K else f"Registrations this week fewer than {K}"
    assert expected in text

    weeks_csv = client.get("/uptake/report/weeks.csv?week=2026-11-18")
    assert weeks_csv.status_code == 200 and "attachment" in weeks_csv.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(weeks_csv.get_data(as_text=True))))
    assert len(table) == 12 and table[-1]["week_starting"] == "2026-11-16"
    for row in table:
        start = dt.date.fromisoformat(row["week_starting"])
        count = sum(start <= d <= start + dt.timedelta(days=6) for d in days)
        assert row["registrations"] == "" or int(row["registrations"]) == count >= K
        assert row["total"] == "" or int(row["total"]) == sum(d <= start + dt.timedelta(days=6) for d in days)

    env = {**os.environ, "DATABASE_URL": runtime.settings.database_url, "SECRET_KEY": "k" * 48,
           "REFERENCE_DATA_DIR": str(runtime.settings.reference_data_dir)}
    done = subprocess.run([sys.executable, "-m", "dashboard", "report", "weekly", "--week", "2026-11-18", "--out",
                           str(tmp_path)], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for table_name in ("weeks", "districts", "cameras", "campaigns", "requests_by_district", "requests_by_crime"):
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
