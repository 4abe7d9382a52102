"""How figures are protected (analysts, project leads, the auditor, administrators): the disclosure-
control method in plain words, its settings and their effect on accuracy, the choices that keep the
questions one can ask narrow, and the perturbation table itself (a chart, and a CSV download).

Nothing here is drawn from the register: only settings and the table.
"""

from __future__ import annotations

import math

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html
from flask import Blueprint, Response

from dashboard.analytics.disclosure import MAGNITUDE_SPREAD, Disclosure
from dashboard.analytics.exports import export_bytes
from dashboard.pages import Page
from dashboard.runtime_access import runtime

PATH, PREFIX = "/protection", "protection-"
CHART, TABLE = "protection-chart", "protection-accuracy"
ROLES = frozenset({"analyst", "lead", "auditor", "admin"})

files = Blueprint("protection_files", __name__)


@files.get(f"{PATH}/ptable.csv")
def ptable_csv():
    """The perturbation table in ONS's layout (pcv, ckey, pvalue); the access guard admits this page's roles."""
    frame = runtime().disclosure.ptable.frame()
    return Response(
        export_bytes(frame, None, "csv", "ptable"),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="perturbation-table.csv"'},
    )


def _chart(layer: Disclosure) -> go.Figure:
    table = layer.ptable
    fig = go.Figure()
    for count, name, colour in (
        (table.k, f"a true count of {table.k}", "#9ecae1"),
        (table.k + 1, f"of {table.k + 1}", "#4292c6"),
        (table.k + table.max_perturbation, f"of {table.k + table.max_perturbation} or more", "#08519c"),
    ):
        support, p = table.distribution(count)
        fig.add_bar(
            x=support,
            y=p * 100,
            name=name,
            marker_color=colour,
            hovertemplate="adjustment %{x}: %{y:.1f}%<extra></extra>",
        )
    fig.update_layout(
        height=300,
        barmode="group",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        plot_bgcolor="#ffffff",
        legend={"orientation": "h", "y": -0.25},
        title={"text": "How likely each adjustment is", "font": {"size": 13}},
    )
    fig.update_xaxes(title_text="adjustment added to the true count", dtick=1)
    fig.update_yaxes(title_text="% of cell keys", gridcolor="#e5e7eb", rangemode="tozero")
    return fig


def _accuracy(layer: Disclosure) -> dbc.Table:
    """What the adjustment means at a few sizes of count."""
    table = layer.ptable
    typical = math.sqrt(table.variance)
    rows = []
    for count in (10, 50, 200, 1_000, 20_000):
        rows.append(
            html.Tr(
                [
                    html.Td(f"{count:,}", className="text-end"),
                    html.Td(f"± {table.max_perturbation}", className="text-end"),
                    html.Td(f"{table.max_perturbation / count:.1%}", className="text-end"),
                    html.Td(f"{typical / count:.2%}", className="text-end"),
                ]
            )
        )
    head = html.Thead(
        html.Tr(
            [
                html.Th("True count", className="text-end"),
                html.Th("Largest change", className="text-end"),
                html.Th("As a share, at most", className="text-end"),
                html.Th("Typical share", className="text-end"),
            ]
        )
    )
    return dbc.Table([head, html.Tbody(rows)], size="sm", bordered=False, className="w-auto", id=TABLE)


def layout(rt, _user) -> html.Div:
    layer = rt.disclosure
    table, k = layer.ptable, layer.k
    s = rt.settings
    section = lambda title, *children: html.Section([html.H2(title, className="h5 mt-4"), *children])  # noqa: E731
    return html.Div(
        [
            html.H1("How figures are protected", className="h3 mb-1"),
            html.P(layer.describe(), className="lead fs-6"),
            html.P(
                "Analysts and project leads see figures about the register, never about a person. Many owners on the "
                "register are the force's own staff from the pilot, so no combination of figures may point to one "
                "home, or tell whether someone is registered. Every figure on the Overview, Coverage, Gap analysis, "
                "Uptake and Campaigns pages, in their downloads, in the weekly report and in the API passes one "
                "disclosure-control layer before it is shown.",
                className="text-secondary",
            ),
            section(
                "The method: consistent adjustment",
                html.Ol(
                    [
                        html.Li(
                            "Every registration, camera, footage request, crime record and campaign completion gets a random "
                            "number from 0 to 255 (its record key) when it is stored. The key is never shown or exported. "
                            "When an owner withdraws or is erased, their key is erased too; its part in past totals is kept "
                            "only inside an anonymous sum per day and district, so past figures do not change."
                        ),
                        html.Li(
                            "A figure's cell key is the sum of the keys of the records it counts, modulo 256. The same set of "
                            "records always has the same cell key; add or remove one record and the cell key changes."
                        ),
                        html.Li(
                            [
                                "The published figure is the true count plus an adjustment read from a fixed table by the true "
                                f"count and the cell key. Adjustments run from −{table.max_perturbation} to "
                                f"+{table.max_perturbation}; their variance is {table.variance:g}, so a typical figure moves by "
                                f"about {math.sqrt(table.variance):.1f}. Counts just above {k} are never moved below {k}."
                            ]
                        ),
                        html.Li(
                            f"Counts below {k} (the police.uk floor) are not shown at all: they read “fewer than {k}”."
                        ),
                        html.Li(
                            "Rates, shares and figures per 1,000 households are worked out from the adjusted counts; a rate is "
                            f"hidden when either of its counts is. Ground in view (km²) moves by at most "
                            f"{MAGNITUDE_SPREAD:.0%} the same consistent way."
                        ),
                    ]
                ),
                html.P(
                    "Because the same records always give the same answer, asking again tells nothing new. Because two "
                    "figures that differ by a few records get unrelated adjustments, subtracting one from the other "
                    "gives the difference plus noise, not the hidden count. This is the cell key method of the "
                    "Australian Bureau of Statistics (Thompson, Broadfoot and Elazar, 2013) that the Office for "
                    "National Statistics used for Census 2021 custom tables.",
                    className="small",
                ),
            ),
            section(
                "What this means for accuracy",
                _accuracy(layer),
                html.P(
                    "District and force figures are therefore within a fraction of a per cent of the truth, and a "
                    "map's colour moves by at most one step of its legend. Small figures are the least exact, "
                    "which is the point.",
                    className="small",
                ),
                html.P(
                    "Levels need not add up exactly: a district's figure is adjusted once as a whole, and each of "
                    "its small areas once on its own, so the small areas' figures may add up to a little more or "
                    "less than the district's. The same holds for large and small map cells, for a week and its "
                    "days, and for a total and its parts. If they added up exactly, subtracting the parts from "
                    "the total would reveal the hidden ones.",
                    className="small",
                ),
            ),
            section(
                "The questions one can ask are kept narrow",
                html.Ul(
                    [
                        html.Li(
                            "The coverage map has no date filter (a date before the public launch would map the pilot's staff) "
                            "and takes one camera filter at a time, so filters cannot be chained to isolate a few owners."
                        ),
                        html.Li(
                            f"On the smallest map cells, a cell with fewer than {k} registrations is not drawn at all; on larger "
                            "cells it is drawn without a number."
                        ),
                        html.Li(
                            "Gap analysis uses crime data imported by administrators only, from police.uk files in the official "
                            "layout and categories. It covers all imported months and all crime types together, at 50, 100, "
                            f"200 or 500 m. An analysis over fewer than {s.gap_min_crimes} crimes is not "
                            f"shown, nor any figure drawn from fewer than {k} crimes or {k} registrations, nor a figure within "
                            f"{k - 1} crimes of a larger one it could be subtracted from, nor one where three crime locations "
                            "hold most of the crimes. No month or crime type is offered on its own, so no crime location counts "
                            "in many figures: figures by month and type about the same locations, solved together, told which "
                            "busy locations had a registered camera nearby."
                        ),
                        html.Li(
                            "Uptake shows days for the whole force only; for a district, a campaign or requests, whole weeks. "
                            "Running totals count from the first registration on a fixed calendar, and a figure for a range "
                            "is the difference of two such totals, so moving a date reveals nothing new."
                        ),
                        html.Li(
                            "Every query and download by an analyst or a project lead is in the audit log with its settings, "
                            "and the auditor's page flags bursts of near-identical queries."
                        ),
                    ]
                ),
            ),
            section(
                "The table",
                dcc.Graph(id=CHART, figure=_chart(layer), config={"displaylogo": False}),
                html.P(
                    [
                        "The whole table in the layout ONS publishes (pcv: true count, ckey: cell key column, pvalue: "
                        "adjustment): ",
                        html.A(
                            "download the perturbation table (CSV)",
                            href=f"{PATH}/ptable.csv",
                            id=f"{PREFIX}download",
                            download="",
                        ),
                    ],
                    className="small",
                ),
                html.P(
                    [
                        "Settings: K_MIN ",
                        html.Code(str(k)),
                        ", DISCLOSURE_MAX_PERTURBATION ",
                        html.Code(str(table.max_perturbation)),
                        ", DISCLOSURE_VARIANCE ",
                        html.Code(f"{table.variance:g}"),
                        ", GAP_MIN_CRIMES ",
                        html.Code(str(s.gap_min_crimes)),
                        ". Larger adjustments protect more "
                        "and blur more; the table is the maximum-entropy distribution for the chosen variance, as "
                        "sdcTools' ptable builds them.",
                    ],
                    className="small text-secondary",
                ),
            ),
        ]
    )


PAGE = Page(path=PATH, title="How figures are protected", roles=ROLES, id_prefix=PREFIX, layout=layout)
