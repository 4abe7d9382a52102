"""Pilot uptake (project leads): how registration is going, where demand comes from, where people
drop out, what the register can provide, and whether footage requests produce footage.

Days and weeks are UK ones; the pilot and launch dates come from configuration, never from
anything on a registration. Every figure passes the disclosure-control layer (promise 4,
``runtime().disclosure``): counts are slightly adjusted and not shown below K, figures over time are
differences of fixed-calendar running totals (``dashboard.analytics.uptake``), days are offered for
the whole force only, and campaigns, withdrawals and footage requests are shown in whole weeks.
"""

from __future__ import annotations

import datetime as dt

import dash_bootstrap_components as dbc
import dash_leaflet as dl
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, dcc, html
from flask import Blueprint, Response, abort, request

from dashboard.analytics import uptake
from dashboard.analytics.rounding import percent, thousands
from dashboard.components.legend import legend
from dashboard.components.loading import loading
from dashboard.components.maps import area_map, choropleth, js
from dashboard.components.svg_chart import nice_ticks
from dashboard.core.uktime import UK
from dashboard.core.vocab import CAMERA_KINDS, CAMPAIGN_CHANNELS, DECLINE_REASONS, PLACEMENTS, REQUEST_STATUSES
from dashboard.figures import uptake_frames
from dashboard.geo.reference import districts_geojson
from dashboard.pages import Page
from dashboard.registry.models import utcnow
from dashboard.reports import weekly
from dashboard.runtime_access import runtime

PATH, PREFIX = "/uptake", "uptake-"
FIRST, LAST, DISTRICT, PERIOD = "uptake-first", "uptake-last", "uptake-district", "uptake-period"
HEADLINE, TIMELINE, METHOD = "uptake-headline", "uptake-timeline", "uptake-method"
DISTRICTS, DISTRICT_LAYER, DISTRICT_LEGEND = "uptake-districts", "uptake-district-layer", "uptake-district-legend"
MIX, FUNNEL, CHURN, REQUESTS = "uptake-mix", "uptake-funnel", "uptake-churn", "uptake-requests"
CHURN_NOTE = "uptake-churn-note"
FOOTAGE = "uptake-footage"
REPORT_LINKS = "uptake-report-links"
ALL = "all"
MIX_LABELS = {"kind": CAMERA_KINDS, "placement": PLACEMENTS}
NOT_ADDING_UP = (
    "Figures for different ranges or levels need not add up exactly: each is adjusted on its own, and a "
    "count for a range of dates is the difference of two adjusted running totals counted from the start, "
    "so that moving the dates reveals nothing that was hidden."
)


files = Blueprint("uptake_files", __name__)


def _weekly_report(week_text: str | None) -> weekly.WeeklyReport:
    rt = runtime()
    if week_text:
        try:
            week = dt.date.fromisoformat(week_text)
        except ValueError:
            abort(
                Response(
                    f"The week must be a date like 2026-11-16, not {week_text[:20]!r}.",
                    status=400,
                    mimetype="text/plain",
                )
            )
    else:
        week = weekly.last_full_week(utcnow())
    return weekly.build(
        uptake_frames(),
        pd.DataFrame(rt.reference.districts[["code", "name", "households"]]),
        week,
        layer=rt.disclosure,
        pilot_start=rt.settings.pilot_start,
        public_launch=rt.settings.public_launch,
        force=rt.reference.force_name,
        now=utcnow(),
        reconfirm_months=rt.settings.retention_months,
        attribution=rt.reference.attribution,
    )


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
    return Response(
        weekly.csv_bytes(report, table),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="weekly-{report.week.isoformat()}-{table}.csv"'},
    )


def _report_links(last: dt.date) -> list:
    week = weekly.week_of(last)
    if week + dt.timedelta(days=6) >= dt.datetime.now(UK).date():  # that week is not over yet
        week -= dt.timedelta(days=7)
    return [
        html.A(
            f"Weekly report, week of {week:%d %B %Y}",
            href=f"{PATH}/report?week={week.isoformat()}",
            target="_blank",
            id=f"{PREFIX}report",
            className="me-3",
        ),
        html.Span("Its tables as CSV: ", className="small"),
        *[
            html.A(
                t.replace("_", " "),
                href=f"{PATH}/report/{t}.csv?week={week.isoformat()}",
                download="",
                id=f"{PREFIX}csv-{t}",
                className="small me-2",
            )
            for t in weekly.TABLES
        ],
    ]


HIDDEN = "hidden"  # never blank or 0: a figure not shown says so (issue 18)


def _text(value, k: int) -> str:
    """A count of the register as it is now: not shown only when fewer than K were counted."""
    return thousands(value, hidden=f"fewer than {k}")


def _n(value) -> str:
    """A count in a table of ranges: "hidden" when not shown (see the table's note)."""
    return thousands(value, hidden=HIDDEN)


def _pct(value) -> str:
    return percent(value, hidden=HIDDEN)


def _table(header: list[str], rows: list[list], table_id: str | None = None) -> dbc.Table:
    extra = {"id": table_id} if table_id else {}
    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in header])),
            html.Tbody([html.Tr([html.Td(c) for c in row]) for row in rows]),
        ],
        size="sm",
        striped=True,
        responsive=True,
        className="mb-2",
        **extra,
    )


def _hidden_note(k: int) -> html.P:
    return html.P(
        f"{HIDDEN}: not shown, because fewer than {k}, or worked out from a running total that is itself not shown.",
        className="small text-secondary",
    )


def _weeks_note(first: dt.date, last: dt.date, what: str) -> str:
    return f"{what} are shown for whole weeks: Monday {first:%d %B %Y} to Sunday {last:%d %B %Y}."


def _window(first, last) -> tuple[dt.date, dt.date]:
    rt = runtime()
    today = dt.datetime.now(UK).date()
    try:
        start = dt.date.fromisoformat(first) if first else rt.settings.pilot_start
        end = dt.date.fromisoformat(last) if last else today
    except (TypeError, ValueError):
        start, end = rt.settings.pilot_start, today
    return (start, end) if start <= end else (end, start)


def _empty_figure(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(
        height=200,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        plot_bgcolor="#ffffff",
        xaxis={"visible": False},
        yaxis={"visible": False},
    )
    return fig


def _timeline(frames: dict, span: uptake.UptakeRange, period: str, district: str | None) -> tuple[go.Figure, str]:
    rt = runtime()
    settings, layer = rt.settings, rt.disclosure
    regs, retired = frames["registrations"], frames.get("retired")
    table = uptake.registrations_series(regs, retired, span.first, span.last, period, layer, district)
    plain = lambda values: [None if pd.isna(v) else int(v) for v in values]  # noqa: E731
    shown, totals, cameras = plain(table["registrations"]), plain(table["total"]), plain(table["cameras"])
    fig = go.Figure()
    fig.add_bar(
        x=table["start"],
        y=shown,
        name=f"Registrations per {period}",
        marker_color="#6baed6",
        hovertemplate="%{x}: %{y:,} registrations<extra></extra>",
        offsetgroup="registrations",
    )
    _hidden_bars(
        fig,
        table["start"],
        shown,
        layer.k,
        "registrations",
        nice_ticks(max([v for v in shown + cameras if v is not None] or [0]))[-1],
    )
    fig.add_bar(x=table["start"], y=cameras, name=f"Cameras per {period}", marker_color="#c6dbef", visible="legendonly")
    fig.add_scatter(
        x=table["start"],
        y=totals,
        name="Registrations so far",
        mode="lines+markers",
        yaxis="y2",
        connectgaps=True,
        line={"color": "#08519c"},
    )
    method = "Not enough full weeks of published figures yet for a projection (three are needed)."
    fit_from = max(span.first, settings.public_launch)
    fit_to = uptake.period_start(span.last, "week") - dt.timedelta(days=1)  # the last full week's Sunday
    if fit_to - fit_from >= dt.timedelta(days=6):
        weeks = uptake.registrations_series(regs, retired, fit_from, fit_to, "week", layer, district)
        published = [weeks.attrs["before"], *plain(weeks["total"])]
        counts = uptake.weekly_for_projection(published)
        base = next((t for t in reversed(published) if t is not None), None)
        if len(counts) >= 3 and base is not None:
            ahead = uptake.projection(counts, 12)
            start = weeks["start"].iloc[-1] + dt.timedelta(days=7)
            x = [start + dt.timedelta(days=7 * i) for i in range(12)]
            fig.add_scatter(
                x=x,
                y=base + ahead["cumulative_high"],
                mode="lines",
                line={"width": 0},
                yaxis="y2",
                showlegend=False,
                hoverinfo="skip",
            )
            fig.add_scatter(
                x=x,
                y=base + ahead["cumulative_low"],
                mode="lines",
                line={"width": 0},
                yaxis="y2",
                fill="tonexty",
                fillcolor="rgba(8,81,156,0.15)",
                name="Projection, 95% band",
                hoverinfo="skip",
            )
            fig.add_scatter(
                x=x,
                y=base + ahead["cumulative"],
                mode="lines",
                yaxis="y2",
                name="Projection",
                line={"color": "#08519c", "dash": "dash"},
            )
            method = (
                f"Projection: a straight line fitted by least squares to {len(counts)} weekly counts worked out "
                f"from the published weekly totals since {fit_from:%d %B %Y}, carried 12 weeks ahead from the "
                "last published total; the band is the 95% prediction interval of the weekly counts, added up."
            )
    for when, label in ((settings.pilot_start, "Staff pilot"), (settings.public_launch, "Public launch")):
        if span.first <= when <= span.last + dt.timedelta(days=84):
            fig.add_vline(
                x=dt.datetime.combine(when, dt.time()).timestamp() * 1000,
                line_dash="dot",
                line_color="#52606d",
                annotation_text=label,
                annotation_position="top left",
            )
    left = nice_ticks(max([v for v in shown + cameras if v is not None] or [0]))
    so_far = [
        v for trace in fig.data if trace.yaxis == "y2" for v in (() if trace.y is None else trace.y) if v is not None
    ]
    right = nice_ticks(max(so_far or [0]))
    fig.update_layout(
        height=360,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        plot_bgcolor="#ffffff",
        legend={"orientation": "h", "y": -0.2},
        barmode="group",
        yaxis={
            "title": f"Registrations per {period}",
            "gridcolor": "#e5e7eb",
            "range": [0, left[-1]],
            "tickvals": left,
            "tickformat": ",",
        },
        yaxis2={
            "title": "Registrations so far",
            "overlaying": "y",
            "side": "right",
            "range": [0, right[-1]],
            "tickvals": right,
            "tickformat": ",",
            "showgrid": False,
        },
    )
    hidden = sum(1 for c in shown if c is None)
    note = (
        f"{hidden} {period}{'s' if hidden != 1 else ''} show{'s' if hidden == 1 else ''} no bar: fewer than "
        f"{layer.k} registrations, or a running total it would be worked out from is not shown. A {period}'s bar "
        f"is the difference of the running totals at its end and at the end of the {period} before."
        if hidden
        else ""
    )
    return fig, method + (" " + note if note else "")


def _hidden_bars(fig: go.Figure, x, values: list, k: int, group: str, top: float | None = None) -> None:
    """Mark each period whose count is hidden with a hatched grey band the height of the chart (and a
    legend entry), so that it is visibly not zero; the band carries no number."""
    hidden = [when for when, v in zip(x, values) if v is None]
    if not hidden:
        return
    top = top or nice_ticks(max([v for v in values if v is not None] or [0]))[-1]
    fig.add_bar(
        x=hidden,
        y=[top] * len(hidden),
        name=f"hidden: fewer than {k} or not shown",
        offsetgroup=group,
        marker={
            "color": "rgba(255,255,255,0)",
            "line": {"color": "#9aa5b1", "width": 1},
            "pattern": {"shape": "/", "fgcolor": "#9aa5b1", "size": 6},
        },
        hovertemplate="%{x}: hidden (not zero)<extra></extra>",
    )


def _districts(frames: dict) -> tuple[list, dict, html.Div]:
    rt = runtime()
    ref, layer = rt.reference, rt.disclosure
    k = layer.k
    table = uptake.district_uptake(
        frames["districts"], pd.DataFrame(ref.districts[["code", "name", "households"]]), layer
    )
    rows = [
        [
            i + 1,
            r.name,
            _text(r.registrations, k),
            _text(r.cameras, k),
            HIDDEN if pd.isna(r.registrations_per_1000) else f"{r.registrations_per_1000:,.1f}",
        ]
        for i, r in enumerate(table.itertuples())
    ]
    values = {
        r.code: float(r.registrations_per_1000) for r in table.itertuples() if not pd.isna(r.registrations_per_1000)
    }
    tips = {r.code: f"{_text(r.registrations, k)} registrations" for r in table.itertuples()}
    layer_data, breaks = choropleth(districts_geojson(ref), values, tips)
    key = legend(
        "Registrations per 1,000 households",
        breaks,
        min(values.values(), default=0.0),
        f"fewer than {k} registrations",
        decimals=1,
    )
    return rows, layer_data, key


def _requests(reqs: pd.DataFrame, first: dt.date, last: dt.date):
    rt = runtime()
    layer = rt.disclosure
    k = layer.k
    summary = uptake.request_outcomes(reqs, first, last, layer)
    weeks = html.P(_weeks_note(summary["from"], summary["to"], "Footage requests"), className="small text-secondary")
    total = summary["requests"]
    if total.value is None:
        why = (
            f"Fewer than {k} footage requests were sent in these weeks"
            if total.small
            else "The number of footage requests sent in these weeks is not shown"
        )
        return html.Div([html.P(f"{why}: outcomes are not shown.", className="text-secondary"), weeks])
    names = dict(zip(rt.reference.districts["code"], rt.reference.districts["name"]))
    status_rows = [[REQUEST_STATUSES[s], c.text(k)] for s, c in summary["by_status"].items()]
    timing = (
        f"time from request to footage: median {summary['median_days_to_footage']}, 90th percentile "
        f"{summary['p90_days_to_footage']}"
        if summary["median_days_to_footage"] is not None
        else f"time from request to footage: not shown (fewer than {k} requests provided footage)"
    )
    facts = [
        f"{total.text(k)} requests; {_pct(summary['response_rate'])} answered (of those not withdrawn)",
        timing,
        (
            f"footage useful in {_pct(summary['useful_share'])} of the requests where it was judged"
            if not pd.isna(summary["useful_share"])
            else "how often footage was useful: hidden"
        ),
        f"{summary['too_late'].text(k)} sent after the footage was likely overwritten",
    ]

    def breakdown(column, groups, title, labels):
        table = uptake.requests_by(reqs, column, groups, labels, first, last, layer)
        return html.Div(
            [
                html.H3(title, className="h6 mt-3"),
                _table(
                    ["", "Requests", "Answered", "Response rate", "Footage provided", "Useful"],
                    [
                        [
                            r.group,
                            _n(r.requests),
                            _n(r.answered),
                            _pct(r.response_rate),
                            _n(r.footage_provided),
                            _n(r.useful),
                        ]
                        for r in table.itertuples()
                    ],
                ),
            ]
        )

    return html.Div(
        [
            weeks,
            html.Ul([html.Li(f) for f in facts]),
            _table(["Status", "Requests"], status_rows),
            breakdown("district_code", list(rt.reference.districts["code"]), "By district of the incident", names),
            breakdown("crime_category", list(uptake.CRIME_CATEGORIES), "By crime category", {}),
            html.P(
                "A rate is not shown when the count above it or below it is not shown.",
                className="small text-secondary mb-0",
            ),
            _hidden_note(k),
        ]
    )


FOOTAGE_EXPLAINED = (
    "For the requests sent in these weeks: how soon owners uploaded their first file, what officers "
    "decided about the files (accepted as an exhibit, declined, or not yet looked at) and why they "
    "declined them, and what became of requests sent when the footage had probably already been "
    "recorded over."
)


def _footage(frames: dict, first: dt.date, last: dt.date) -> dbc.Card:
    """What became of the footage: a card of figures, every one from ``uptake.footage_outcomes``."""
    k = runtime().disclosure.k
    out = uptake.footage_outcomes(frames["requests"], frames["files"], first, last, runtime().disclosure)
    files = out["files"]
    if out["median_days_to_first_upload"] is not None:
        timing = [
            html.Strong(f"{out['uploaded'].text(k)} requests"),
            " had at least one file uploaded. Time from "
            f"request to the first upload: median {out['median_days_to_first_upload']}, 90th percentile "
            f"{out['p90_days_to_first_upload']}.",
        ]
    else:
        timing = [
            f"Requests with an upload: {out['uploaded'].text(k)}. Time from request to the first upload is not "
            f"shown (it needs at least {k} requests with an upload)."
        ]
    decisions = _table(
        ["Uploaded files", "Files"],
        [
            ["Uploaded with the owner's answer", files["files"].text(k)],
            ["Accepted as exhibits", files["accepted"].text(k)],
            ["Declined", files["declined"].text(k)],
            ["Awaiting a decision", files["awaiting"].text(k)],
            ["Share of uploaded files accepted", _pct(out["accepted_share"])],
        ],
        f"{FOOTAGE}-files",
    )
    reasons = _table(
        ["Why files were declined", "Files"],
        [[DECLINE_REASONS[r], c.text(k)] for r, c in out["declined_reasons"].items()],
        f"{FOOTAGE}-reasons",
    )
    late = _table(
        ["Requests sent too late: what became of them", "Requests"],
        [["All sent after the footage was likely overwritten", out["too_late"].text(k)]]
        + [[weekly.TOO_LATE_LABELS[o], c.text(k)] for o, c in out["too_late_outcomes"].items()],
        f"{FOOTAGE}-late",
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.P(FOOTAGE_EXPLAINED, className="mb-1"),
                html.P(_weeks_note(out["from"], out["to"], "These figures"), className="small text-secondary"),
                html.P(timing, id=f"{FOOTAGE}-timing"),
                dbc.Row([dbc.Col(decisions, md=4), dbc.Col(reasons, md=4), dbc.Col(late, md=4)], className="g-3"),
                html.P(
                    "Files are counted with the requests they answer, in the weeks those were sent. The share accepted is "
                    "worked out from the two adjusted counts shown, and is not shown when either is not. Times are shown as "
                    "bands, never exact.",
                    className="small text-secondary mb-0",
                ),
            ]
        ),
        className="mb-2",
    )


def _funnel(frames: dict, first: dt.date, last: dt.date) -> html.Div:
    layer = runtime().disclosure
    by_campaign = uptake.funnel(frames["campaigns"], frames["campaign_list"], first, last, layer)
    by_channel = uptake.funnel(frames["campaigns"], frames["campaign_list"], first, last, layer, by="channel")
    monday, sunday = uptake.whole_weeks(first, last)
    rows = [
        [
            r.campaign,
            CAMPAIGN_CHANNELS.get(r.channel, r.channel),
            _n(r.scans),
            _n(r.form_starts),
            _n(r.completions),
            _pct(r.start_rate),
            _pct(r.completion_rate),
        ]
        for r in by_campaign.itertuples()
    ]
    channel_rows = [
        [
            CAMPAIGN_CHANNELS.get(r.channel, r.channel),
            _n(r.scans),
            _n(r.form_starts),
            _n(r.completions),
            _pct(r.start_rate),
            _pct(r.completion_rate),
        ]
        for r in by_channel.itertuples()
    ]
    campaigns_table = (
        _table(
            ["Campaign", "Channel", "Scans", "Forms started", "Registrations", "Scan → start", "Start → registered"],
            rows,
        )
        if rows
        else html.P("No campaigns yet.", className="text-secondary")
    )
    return html.Div(
        [
            html.P(_weeks_note(monday, sunday, "Campaign figures"), className="small text-secondary"),
            campaigns_table,
            html.H3("By channel", className="h6 mt-3"),
            _table(
                ["Channel", "Scans", "Forms started", "Registrations", "Scan → start", "Start → registered"],
                channel_rows,
            ),
            html.P(
                "Counted per campaign and day only; nothing on a registration says where it came from. The "
                "district choice does not apply to campaigns. Scans and forms started count page visits, not people, "
                "and are exact.",
                className="small text-secondary mb-0",
            ),
            _hidden_note(layer.k),
        ]
    )


def _headline(frames: dict, span: uptake.UptakeRange, district: str | None) -> html.Div:
    rt = runtime()
    layer, months = rt.disclosure, rt.settings.retention_months
    k = layer.k
    figures = uptake.headline(
        frames["registrations"], frames.get("retired"), span.first, span.last, frames["due"], layer, district
    )
    widened = (
        [
            html.P(
                f"For a district, dates are whole weeks: the range was widened to Monday {span.first:%d %B %Y} "
                f"to Sunday {span.last:%d %B %Y}.",
                className="small text-secondary mb-1",
                id=f"{PREFIX}widened",
            )
        ]
        if span.widened
        else []
    )
    made, cameras, withdrawn = figures["registrations"], figures["cameras"], figures["withdrawn"]
    dates = f"from {span.first:%d %B %Y} to {span.last:%d %B %Y}"
    if made.value is not None or made.small:
        lead = [
            html.Strong(f"{made.text(k)} registrations"),
            f" with {cameras.text(k)} cameras {dates}; " if cameras.value is not None else f" {dates}; ",
        ]
    else:
        lead = [
            html.Strong(f"Registrations {dates}: not shown"),
            f" (the running total before {span.first:%d %B %Y} is below {k}, so no difference can be taken from "
            "it; start the range earlier or later); ",
        ]
    gone = (
        f"{withdrawn.text(k)} withdrawn by their owners in the period; "
        if withdrawn.value is not None or withdrawn.small
        else "withdrawals by their owners in the period: not shown; "
    )
    return html.Div(
        [
            html.P(
                [
                    *lead,
                    gone,
                    f"{_text(figures['due'], k)} active registrations are due to confirm their details "
                    f"(not confirmed for {months} months).",
                ],
                className="mb-1",
            ),
            *widened,
            html.P(
                f"Staff pilot from {rt.settings.pilot_start:%d %B %Y}; public launch {rt.settings.public_launch:%d %B %Y}.",
                className="small text-secondary mb-0",
            ),
        ]
    )


def _churn(frames: dict, first: dt.date, last: dt.date, district: str | None) -> go.Figure:
    weeks = uptake.withdrawals_series(
        frames["registrations"], frames.get("retired"), first, last, runtime().disclosure, district
    )
    values = [None if pd.isna(v) else int(v) for v in weeks["withdrawals"]]
    churn = go.Figure(
        go.Bar(
            x=weeks["start"],
            y=values,
            marker_color="#9ecae1",
            name="Withdrawals per week",
            offsetgroup="withdrawals",
            hovertemplate="Week of %{x}: %{y:,}<extra></extra>",
        )
    )
    _hidden_bars(churn, weeks["start"], values, runtime().disclosure.k, "withdrawals")
    ticks = nice_ticks(max([v for v in values if v is not None] or [0]))
    churn.update_layout(
        height=240,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        plot_bgcolor="#ffffff",
        showlegend=any(v is None for v in values),
        legend={"orientation": "h", "y": -0.3},
        xaxis={"title": "Week starting (Monday)"},
        yaxis={
            "title": "Withdrawals per week",
            "gridcolor": "#e5e7eb",
            "range": [0, ticks[-1]],
            "tickvals": ticks,
            "tickformat": ",",
        },
    )
    return churn


def _report(first, last, district, period):
    rt = runtime()
    first, last = _window(first, last)
    period = "day" if period == "day" else "week"
    district = district if isinstance(district, str) and district in set(rt.reference.districts["code"]) else None
    frames = uptake.only_district(uptake_frames(), district)
    span, refusal = uptake.resolve_range(first, last, district is None, period)
    if refusal:
        headline = dbc.Alert(refusal, color="warning", className="mb-0", id=f"{PREFIX}refused")
        fig, method = _empty_figure(refusal), ""
    else:
        headline = _headline(frames, span, district)
        fig, method = _timeline(frames, span, period, district)
    district_rows, layer, key = _districts(uptake_frames())
    mix = uptake.camera_mix(frames["mix"], rt.disclosure, MIX_LABELS)
    complete = uptake.completeness(frames["mix"], rt.disclosure)
    mix_block = html.Div(
        [
            _table(
                ["", "Value", "Cameras", "Share of cameras"],
                [
                    [uptake.ASPECTS[r.aspect], r.value, _text(r.cameras, rt.disclosure.k), _pct(r.share)]
                    for r in mix.itertuples()
                ],
            ),
            html.P(
                f"Filled in: direction {_pct(complete['direction'])}, retention {_pct(complete['retention'])}, "
                f"what it overlooks {_pct(complete['overlooks'])} of cameras.",
                className="small",
            ),
        ]
    )
    monday, sunday = uptake.whole_weeks(first, last)
    churn_note = _weeks_note(monday, sunday, "Withdrawals")
    return (
        headline,
        fig,
        method,
        district_rows,
        layer,
        key,
        mix_block,
        _funnel(frames, first, last),
        _churn(frames, monday, sunday, district),
        churn_note,
        _requests(frames["requests"], first, last),
        _footage(frames, first, last),
    )


def layout(rt, _user) -> html.Div:
    k = rt.disclosure.k
    today = dt.datetime.now(UK).date()
    districts = [{"label": "All districts", "value": ALL}] + [
        {"label": n, "value": c} for c, n in zip(rt.reference.districts["code"], rt.reference.districts["name"])
    ]
    controls = dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label("From", html_for=FIRST),
                    dbc.Input(id=FIRST, type="date", value=rt.settings.pilot_start.isoformat()),
                ],
                md=3,
            ),
            dbc.Col([dbc.Label("To", html_for=LAST), dbc.Input(id=LAST, type="date", value=today.isoformat())], md=3),
            dbc.Col(
                [dbc.Label("District", html_for=DISTRICT), dbc.Select(id=DISTRICT, options=districts, value=ALL)], md=3
            ),
            dbc.Col(
                [
                    dbc.Label("Per", html_for=PERIOD),
                    dbc.Select(
                        id=PERIOD,
                        options=[{"label": "Week", "value": "week"}, {"label": "Day", "value": "day"}],
                        value="week",
                    ),
                ],
                md=3,
            ),
        ],
        className="g-3 mb-3",
    )
    district_map = area_map(
        f"{PREFIX}map",
        rt.reference,
        rt.settings,
        [dl.GeoJSON(id=DISTRICT_LAYER, style=js("districtStyle"), hoverStyle=js("districtHover"))],
        height="380px",
    )
    section = lambda title, *children: html.Section([html.H2(title, className="h5 mt-4"), *children])  # noqa: E731
    return html.Div(
        [
            html.H1("Pilot uptake", className="h3 mb-1"),
            html.P("How registration is going and whether requests produce footage.", className="text-secondary mb-1"),
            html.P(
                [rt.disclosure.describe(), " ", NOT_ADDING_UP],
                className="small text-secondary",
                id=f"{PREFIX}method-note",
            ),
            controls,
            dcc.Loading(html.Div(id=HEADLINE, role="status", className="mb-2"), type="dot"),
            loading(dcc.Graph(id=TIMELINE, config={"displaylogo": False})),
            html.P(id=METHOD, className="small text-secondary"),
            section(
                "By district",
                dbc.Row(
                    [
                        dbc.Col(html.Div(id=DISTRICTS), md=6),
                        dbc.Col(
                            html.Div([loading(district_map), html.Div(id=DISTRICT_LEGEND)], className="map-wrap"), md=6
                        ),
                    ]
                ),
            ),
            section("What the register can provide", html.Div(id=MIX)),
            section("Campaigns: scans, forms started, registrations", html.Div(id=FUNNEL)),
            section(
                "Withdrawals per week",
                loading(dcc.Graph(id=CHURN, config={"displaylogo": False})),
                html.P(
                    [
                        html.Span(id=CHURN_NOTE),
                        f" A week with fewer than {k} withdrawals by their owners shows no bar.",
                    ],
                    className="small text-secondary",
                ),
            ),
            section("Footage requests", html.Div(id=REQUESTS)),
            section("What became of the footage", html.Div(id=FOOTAGE)),
            section(
                "Weekly report",
                html.P(
                    "A print-ready page with this week's figures and charts, to forward or save "
                    "as PDF from the browser; also made by python -m dashboard report weekly.",
                    className="small text-secondary mb-1",
                ),
                html.Div(id=REPORT_LINKS),
            ),
        ]
    )


def redraw(first, last, district, period) -> dict:
    """Everything the uptake page shows for the dates ``first`` to ``last`` (widened to whole weeks), one
    district (or all) and a ``period`` of "day" or "week": the headline, the timeline and how it was
    made, the districts' table and map, the camera mix, the funnel, withdrawals, footage requests, the
    footage itself and the weekly report's links. Counts under k are hidden, never shown as small."""
    (headline, fig, method, district_rows, layer, key, mix, funnel, churn, churn_note, requests, footage) = _report(
        first, last, district, period
    )
    table = _table(
        ["#", "District", "Registrations", "Cameras", "Per 1,000 households"],
        district_rows,
        f"{PREFIX}district-table",
    )
    return {
        "headline": headline,
        "timeline": fig,
        "method": method,
        "districts": table,
        "layer": layer,
        "legend": key,
        "mix": mix,
        "funnel": funnel,
        "churn": churn,
        "churn_note": churn_note,
        "requests": requests,
        "footage": footage,
        "report_links": _report_links(_window(first, last)[1]),
    }


def register_callbacks(app) -> None:
    app.callback(
        output={
            "headline": Output(HEADLINE, "children"),
            "timeline": Output(TIMELINE, "figure"),
            "method": Output(METHOD, "children"),
            "districts": Output(DISTRICTS, "children"),
            "layer": Output(DISTRICT_LAYER, "data"),
            "legend": Output(DISTRICT_LEGEND, "children"),
            "mix": Output(MIX, "children"),
            "funnel": Output(FUNNEL, "children"),
            "churn": Output(CHURN, "figure"),
            "churn_note": Output(CHURN_NOTE, "children"),
            "requests": Output(REQUESTS, "children"),
            "footage": Output(FOOTAGE, "children"),
            "report_links": Output(REPORT_LINKS, "children"),
        },
        inputs=[Input(FIRST, "value"), Input(LAST, "value"), Input(DISTRICT, "value"), Input(PERIOD, "value")],
    )(redraw)


PAGE = Page(
    path=PATH,
    title="Uptake",
    roles=frozenset({"lead"}),
    id_prefix=PREFIX,
    layout=layout,
    register_callbacks=register_callbacks,
)
