"""Pilot uptake (project leads): how registration is going, where demand comes from, where people
drop out, what the register can provide, and whether footage requests produce footage.

Days and weeks are UK ones; the pilot and launch dates come from configuration, never from
anything on a registration. Counts drawn from fewer than K registrations (or K requests) are not
shown, and the running total is published only in steps of at least K (promise 4).
"""
from __future__ import annotations

import datetime as dt

import dash_bootstrap_components as dbc
import dash_leaflet as dl
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, dcc, html
from flask import Blueprint, Response, abort, request

from dashboard.analytics.suppression import shown_mask
from dashboard.analytics import uptake
from dashboard.components.legend import legend
from dashboard.components.maps import area_map, choropleth, js
from dashboard.figures import uptake_frames
from dashboard.geo.reference import districts_geojson
from dashboard.pages import Page
from dashboard.registry.models import utcnow
from dashboard.registry.vocab import CAMERA_KINDS, CAMPAIGN_CHANNELS, PLACEMENTS
from dashboard.reports import weekly
from dashboard.runtime_access import runtime

PATH, PREFIX = "/uptake", "uptake-"
FIRST, LAST, DISTRICT, PERIOD = "uptake-first", "uptake-last", "uptake-district", "uptake-period"
HEADLINE, TIMELINE, METHOD = "uptake-headline", "uptake-timeline", "uptake-method"
DISTRICTS, DISTRICT_LAYER, DISTRICT_LEGEND = "uptake-districts", "uptake-district-layer", "uptake-district-legend"
MIX, FUNNEL, CHURN, REQUESTS = "uptake-mix", "uptake-funnel", "uptake-churn", "uptake-requests"
REPORT_LINKS = "uptake-report-links"
ALL = "all"
MIX_LABELS = {"kind": CAMERA_KINDS, "placement": PLACEMENTS}


files = Blueprint("uptake_files", __name__)


def _weekly_report(week_text: str | None) -> weekly.WeeklyReport:
    rt = runtime()
    if week_text:
        try:
            week = dt.date.fromisoformat(week_text)
        except ValueError:
            abort(Response(f"The week must be a date like 2026-11-16, not {week_text[:20]!r}.", status=400,
                           mimetype="text/plain"))
    else:
        week = weekly.last_full_week(utcnow())
    return weekly.build(uptake_frames(), pd.DataFrame(rt.reference.districts[["code", "name", "households"]]), week,
                        k=rt.settings.k_min, pilot_start=rt.settings.pilot_start,
                        public_launch=rt.settings.public_launch, force=rt.reference.force_name, now=utcnow(),
                        reconfirm_months=rt.settings.retention_months)


@files.get(f"{PATH}/report")
def report_page():
    """The weekly report as a print-ready page (the access guard admits leads only)."""
    report = _weekly_report(request.args.get("week"))
    links = {t: f"{PATH}/report/{t}.csv?week={report.week.isoformat()}" for t in weekly.TABLES}
    return Response(weekly.html(report, links), mimetype="text/html")


@files.get(f"{PATH}/report/<table>.csv")
def report_table(table: str):
    if table not in weekly.TABLES:
        abort(404)
    report = _weekly_report(request.args.get("week"))
    return Response(weekly.csv_bytes(report, table), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="weekly-{report.week.isoformat()}-{table}.csv"'})


def _report_links(last: dt.date) -> list:
    week = weekly.week_of(last)
    if week + dt.timedelta(days=6) >= dt.datetime.now(uptake.LONDON).date():  # that week is not over yet
        week -= dt.timedelta(days=7)
    return [html.A(f"Weekly report, week of {week:%d %B %Y}", href=f"{PATH}/report?week={week.isoformat()}",
                   target="_blank", id=f"{PREFIX}report", className="me-3"),
            html.Span("Its tables as CSV: ", className="small"),
            *[html.A(t.replace("_", " "), href=f"{PATH}/report/{t}.csv?week={week.isoformat()}", download="",
                     id=f"{PREFIX}csv-{t}", className="small me-2") for t in weekly.TABLES]]


def _text(value, k: int) -> str:
    return f"fewer than {k}" if value is None or pd.isna(value) else f"{int(value):,}"


def _pct(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value) * 100:.1f}%"


def _table(header: list[str], rows: list[list], table_id: str | None = None) -> dbc.Table:
    extra = {"id": table_id} if table_id else {}
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in header])),
                      html.Tbody([html.Tr([html.Td(c) for c in row]) for row in rows])],
                     size="sm", striped=True, responsive=True, className="mb-2", **extra)


def _window(first, last) -> tuple[dt.date, dt.date]:
    rt = runtime()
    today = dt.datetime.now(uptake.LONDON).date()
    try:
        start = dt.date.fromisoformat(first) if first else rt.settings.pilot_start
        end = dt.date.fromisoformat(last) if last else today
    except (TypeError, ValueError):
        start, end = rt.settings.pilot_start, today
    return (start, end) if start <= end else (end, start)


def _timeline(regs: pd.DataFrame, first: dt.date, last: dt.date, period: str, k: int) -> tuple[go.Figure, str, list]:
    settings = runtime().settings
    days = uptake.uk_days(regs["consent_at"])
    table = uptake.series(regs, first, last, period, k)
    shown = [None if pd.isna(v) else int(v) for v in table["registrations"]]
    totals = [None if pd.isna(v) else int(v) for v in table["total"]]
    cameras = [None if pd.isna(v) else int(v) for v in table["cameras"]]
    counts = uptake.per_period(days, first, last, period)
    fig = go.Figure()
    fig.add_bar(x=counts["start"], y=shown, name=f"Registrations per {period}", marker_color="#6baed6",
                hovertemplate="%{x}: %{y} registrations<extra></extra>")
    fig.add_bar(x=counts["start"], y=cameras, name=f"Cameras per {period}", marker_color="#c6dbef", visible="legendonly")
    fig.add_scatter(x=counts["start"], y=totals, name="Registrations so far", mode="lines+markers", yaxis="y2",
                    connectgaps=True, line={"color": "#08519c"})
    method = ("Not enough full weeks yet for a projection (three are needed).")
    weekly = uptake.per_period(days, max(first, settings.public_launch), last - dt.timedelta(days=7), "week") \
        if last - dt.timedelta(days=7) >= max(first, settings.public_launch) else None
    if weekly is not None and len(weekly) >= 3:
        ahead = uptake.projection(weekly["count"].tolist(), 12)
        start = weekly["start"].iloc[-1] + dt.timedelta(days=7)
        x = [start + dt.timedelta(days=7 * i) for i in range(12)]
        base = next((t for t in reversed(totals) if t is not None), None)
        if base is not None:
            fig.add_scatter(x=x, y=base + ahead["cumulative_high"], mode="lines", line={"width": 0}, yaxis="y2",
                            showlegend=False, hoverinfo="skip")
            fig.add_scatter(x=x, y=base + ahead["cumulative_low"], mode="lines", line={"width": 0}, yaxis="y2",
                            fill="tonexty", fillcolor="rgba(8,81,156,0.15)", name="Projection, 95% band",
                            hoverinfo="skip")
            fig.add_scatter(x=x, y=base + ahead["cumulative"], mode="lines", yaxis="y2", name="Projection",
                            line={"color": "#08519c", "dash": "dash"})
        method = (f"Projection: a straight line fitted by least squares to the {len(weekly)} full weeks of "
                  f"registrations since {max(first, settings.public_launch):%d %B %Y}, carried 12 weeks ahead from the "
                  "last published total; the band is the 95% prediction interval of the weekly counts, added up.")
    for when, label in ((settings.pilot_start, "Staff pilot"), (settings.public_launch, "Public launch")):
        if first <= when <= last + dt.timedelta(days=84):
            fig.add_vline(x=dt.datetime.combine(when, dt.time()).timestamp() * 1000, line_dash="dot",
                          line_color="#52606d", annotation_text=label, annotation_position="top left")
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, plot_bgcolor="#ffffff",
                      legend={"orientation": "h", "y": -0.2}, barmode="group",
                      yaxis={"title": f"per {period}", "gridcolor": "#e5e7eb", "rangemode": "tozero"},
                      yaxis2={"title": "so far", "overlaying": "y", "side": "right", "rangemode": "tozero",
                              "showgrid": False})
    hidden = sum(1 for c, n in zip(shown, counts["count"]) if c is None and n)
    note = (f"{hidden} {period}{'s' if hidden != 1 else ''} with registrations show{'s' if hidden == 1 else ''} no bar: fewer than {k}, or shown only as part of the "
            f"running total, which is published in steps of at least {k}." if hidden else "")
    return fig, method + (" " + note if note else ""), [counts, shown]


def _districts(regs: pd.DataFrame, cams: pd.DataFrame, k: int) -> tuple[list, dict, html.Div]:
    ref = runtime().reference
    table = uptake.district_uptake(regs, cams, pd.DataFrame(ref.districts[["code", "name", "households"]]), k)
    rows = [[i + 1, r.name, _text(r.registrations, k), _text(r.cameras, k),
             "–" if pd.isna(r.registrations_per_1000) else f"{r.registrations_per_1000:.2f}"]
            for i, r in enumerate(table.itertuples())]
    values = {r.code: float(r.registrations_per_1000) for r in table.itertuples() if not pd.isna(r.registrations_per_1000)}
    tips = {r.code: f"{_text(r.registrations, k)} registrations" for r in table.itertuples()}
    layer, breaks = choropleth(districts_geojson(ref), values, tips)
    key = legend("Registrations per 1,000 households", breaks, min(values.values(), default=0.0),
                 f"fewer than {k} registrations", decimals=1)
    return rows, layer, key


def _requests(reqs: pd.DataFrame, k: int):
    summary = uptake.request_outcomes(reqs, k)
    if summary["requests"] is None:
        return html.P(f"Fewer than {k} footage requests in this period: outcomes are not shown.",
                      className="text-secondary")
    names = dict(zip(runtime().reference.districts["code"], runtime().reference.districts["name"]))
    status_rows = [[s.replace("_", " ").capitalize(), _text(n, k)] for s, n in summary["by_status"].items()]
    facts = [f"{summary['requests']:,} requests; {_pct(summary['response_rate'])} answered (of those not withdrawn)",
             f"time from request to footage: median {summary['median_days_to_footage']} days, 90th percentile "
             f"{summary['p90_days_to_footage']} days" if summary["median_days_to_footage"] is not None else
             "no footage provided yet",
             f"footage useful in {_pct(summary['useful_share'])} of the requests where it was judged",
             f"{_text(summary['too_late'], k)} sent after the footage was likely overwritten"]

    def breakdown(column, title, labels):
        table = uptake.requests_by(reqs, column, labels, k)
        return html.Div([html.H3(title, className="h6 mt-3"), _table(
            ["", "Requests", "Answered", "Response rate", "Footage provided", "Useful"],
            [[r.group, _text(r.requests, k), _text(r.answered, k), _pct(r.response_rate), _text(r.footage_provided, k),
              _text(r.useful, k)] for r in table.itertuples()])])

    return html.Div([html.Ul([html.Li(f) for f in facts]), _table(["Status", "Requests"], status_rows),
                     breakdown("district_code", "By district of the incident", names),
                     breakdown("crime_category", "By crime category", {})])


def _report(first, last, district, period):
    rt = runtime()
    k = rt.settings.k_min
    first, last = _window(first, last)
    period = "day" if period == "day" else "week"
    frames = uptake_frames()
    regs, cams, reqs = frames["registrations"], frames["cameras"], frames["requests"]
    districts = set(rt.reference.districts["code"])
    if district in districts:
        regs, cams = regs[regs["district_code"] == district], cams[cams["district_code"] == district]
        reqs = reqs[reqs["district_code"] == district]
    withdrawn_days = uptake.uk_days(uptake.owner_withdrawals(regs))
    months = rt.settings.retention_months
    figures = uptake.headline(regs, first, last, utcnow(), months, k)
    headline = html.Div([
        html.P([html.Strong(f"{_text(figures['registrations'], k)} registrations"),
                f" with {_text(figures['cameras'], k)} cameras from {first:%d %B %Y} to {last:%d %B %Y}; "
                f"{_text(figures['withdrawn'], k)} withdrawn in the period; "
                f"{_text(figures['due'], k)} active registrations are due to confirm their details "
                f"(not confirmed for {months} months)."], className="mb-1"),
        html.P(f"Staff pilot from {rt.settings.pilot_start:%d %B %Y}; public launch {rt.settings.public_launch:%d %B %Y}.",
               className="small text-secondary mb-0")])

    fig, method, _ = _timeline(regs, first, last, period, k)
    district_rows, layer, key = _districts(frames["registrations"], frames["cameras"], k)
    mix = uptake.camera_mix(cams, k, MIX_LABELS)
    complete = uptake.completeness(cams, k)
    mix_block = html.Div([
        _table(["", "Value", "Cameras", "Share of cameras"],
               [[uptake.ASPECTS[r.aspect], r.value, _text(r.cameras, k), _pct(r.share)] for r in mix.itertuples()]),
        html.P(f"Filled in: direction {_pct(complete['direction'])}, retention {_pct(complete['retention'])}, "
               f"what it overlooks {_pct(complete['overlooks'])} of cameras.", className="small")])
    funnel = uptake.funnel(frames["campaigns"], first, last, k)
    by_channel = uptake.funnel(frames["campaigns"].assign(campaign=frames["campaigns"]["channel"]), first, last, k)
    funnel_rows = [[r.campaign, CAMPAIGN_CHANNELS.get(r.channel, r.channel), f"{r.scans:,}", f"{r.form_starts:,}",
                    _text(r.completions, k), _pct(r.start_rate), _pct(r.completion_rate)] for r in funnel.itertuples()]
    channel_rows = [[CAMPAIGN_CHANNELS.get(r.channel, r.channel), f"{r.scans:,}", f"{r.form_starts:,}",
                     _text(r.completions, k), _pct(r.start_rate), _pct(r.completion_rate)] for r in by_channel.itertuples()]
    funnel_block = html.Div([
        _table(["Campaign", "Channel", "Scans", "Forms started", "Registrations", "Scan → start", "Start → registered"],
               funnel_rows),
        html.H3("By channel", className="h6 mt-3"),
        _table(["Channel", "Scans", "Forms started", "Registrations", "Scan → start", "Start → registered"], channel_rows),
        html.P("Counted per campaign and day only; nothing on a registration says where it came from. The "
               "district choice does not apply to campaigns.", className="small text-secondary")])
    weeks = uptake.per_period(withdrawn_days, first, last, "week")
    visible = shown_mask(weeks["count"].tolist(), k) if weeks["count"].sum() else [False] * len(weeks)
    churn = go.Figure(go.Bar(x=weeks["start"], y=[int(n) if v else None for n, v in zip(weeks["count"], visible)],
                             marker_color="#9ecae1", hovertemplate="Week of %{x}: %{y}<extra></extra>"))
    churn.update_layout(height=220, margin={"l": 10, "r": 10, "t": 10, "b": 10}, plot_bgcolor="#ffffff",
                        yaxis={"title": "withdrawals", "gridcolor": "#e5e7eb", "rangemode": "tozero"})
    return (headline, fig, method, district_rows, layer, key, mix_block, funnel_block, churn,
            _requests(reqs[uptake.in_days(uptake.uk_days(reqs["sent_at"]), first, last)], k))


def layout(rt, _user) -> html.Div:
    k = rt.settings.k_min
    today = dt.datetime.now(uptake.LONDON).date()
    districts = [{"label": "All districts", "value": ALL}] + [
        {"label": n, "value": c} for c, n in zip(rt.reference.districts["code"], rt.reference.districts["name"])]
    controls = dbc.Row([
        dbc.Col([dbc.Label("From", html_for=FIRST), dbc.Input(id=FIRST, type="date", value=rt.settings.pilot_start.isoformat())], md=3),
        dbc.Col([dbc.Label("To", html_for=LAST), dbc.Input(id=LAST, type="date", value=today.isoformat())], md=3),
        dbc.Col([dbc.Label("District", html_for=DISTRICT), dbc.Select(id=DISTRICT, options=districts, value=ALL)], md=3),
        dbc.Col([dbc.Label("Per", html_for=PERIOD), dbc.Select(id=PERIOD, options=[
            {"label": "Week", "value": "week"}, {"label": "Day", "value": "day"}], value="week")], md=3),
    ], className="g-3 mb-3")
    district_map = area_map(f"{PREFIX}map", rt.reference, rt.settings, [
        dl.GeoJSON(id=DISTRICT_LAYER, style=js("districtStyle"), hoverStyle=js("districtHover"))], height="380px")
    section = lambda title, *children: html.Section([html.H2(title, className="h5 mt-4"), *children])  # noqa: E731
    return html.Div([
        html.H1("Pilot uptake", className="h3 mb-1"),
        html.P(f"How registration is going and whether requests produce footage. Figures drawn from fewer than {k} "
               "registrations or requests are not shown.", className="text-secondary"),
        controls,
        dcc.Loading(html.Div(id=HEADLINE, role="status", className="mb-2"), type="dot"),
        dcc.Graph(id=TIMELINE, config={"displaylogo": False}),
        html.P(id=METHOD, className="small text-secondary"),
        section("By district", dbc.Row([
            dbc.Col(html.Div(id=DISTRICTS), md=6),
            dbc.Col(html.Div([district_map, html.Div(id=DISTRICT_LEGEND)], className="map-wrap"), md=6)])),
        section("What the register can provide", html.Div(id=MIX)),
        section("Campaigns: scans, forms started, registrations", html.Div(id=FUNNEL)),
        section("Withdrawals per week", dcc.Graph(id=CHURN, config={"displaylogo": False}),
                html.P(f"A week with fewer than {k} withdrawals shows no bar (nor, where its count could be worked "
                       "out from the total, the next smallest).", className="small text-secondary")),
        section("Footage requests", html.Div(id=REQUESTS)),
        section("Weekly report", html.P("A print-ready page with this week's figures and charts, to forward or save "
                                        "as PDF from the browser; also made by python -m dashboard report weekly.",
                                        className="small text-secondary mb-1"), html.Div(id=REPORT_LINKS)),
    ])


def register_callbacks(app) -> None:
    @app.callback(
        Output(HEADLINE, "children"), Output(TIMELINE, "figure"), Output(METHOD, "children"),
        Output(DISTRICTS, "children"), Output(DISTRICT_LAYER, "data"), Output(DISTRICT_LEGEND, "children"),
        Output(MIX, "children"), Output(FUNNEL, "children"), Output(CHURN, "figure"), Output(REQUESTS, "children"),
        Output(REPORT_LINKS, "children"), Input(FIRST, "value"), Input(LAST, "value"), Input(DISTRICT, "value"), Input(PERIOD, "value"),
    )
    def redraw(first, last, district, period):
        (headline, fig, method, district_rows, layer, key, mix, funnel, churn, requests) = _report(
            first, last, district, period)
        table = _table(["#", "District", "Registrations", "Cameras", "Per 1,000 households"], district_rows,
                       f"{PREFIX}district-table")
        return (headline, fig, method, table, layer, key, mix, funnel, churn, requests,
                _report_links(_window(first, last)[1]))


PAGE = Page(path=PATH, title="Uptake", roles=frozenset({"lead"}), id_prefix=PREFIX, layout=layout,
            register_callbacks=register_callbacks)
