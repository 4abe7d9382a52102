"""Gap analysis (analysts; project leads too): imported police.uk crimes against registered
coverage, per area; where to recruit next; coverage by deprivation decile; exports for GIS.

Crime data are imported by administrators (the "Crime data" page); the analysis covers all imported
months and all crime types together, and one chooses a distance and a level, nothing else
(``dashboard.analytics.gap_report.parse_query`` and ``check_offered``, which says why). Every figure on this page and in its files
comes from ``dashboard.figures.report_for``, through the disclosure-control layer (promise 4).
"""

from __future__ import annotations

import datetime as dt
import math
from urllib.parse import urlencode

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import dash_leaflet as dl
import geopandas as gpd
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, dcc, html, no_update
from flask import Blueprint, Response, abort, request
from plotly.subplots import make_subplots

from dashboard.analytics.exports import FORMATS, export_bytes
from dashboard.analytics.gap_report import (
    ALL,
    DEFAULT_RADIUS_M,
    LEVELS,
    QUERY_ARGS,
    RADII_M,
    GapQuery,
    GapReport,
    QueryError,
    parse_query,
)
from dashboard.analytics.rounding import percent, thousands
from dashboard.components.grid_columns import WRAP_HEADERS, number_column
from dashboard.components.legend import legend
from dashboard.components.loading import loading
from dashboard.components.maps import area_map, choropleth, js
from dashboard.components.svg_chart import nice_step
from dashboard.figures import gap_months, report_for
from dashboard.geo.reference import districts_geojson, small_areas_geojson
from dashboard.pages import Page
from dashboard.runtime_access import runtime

PATH, PREFIX = "/gaps", "gaps-"
PERIOD, CATEGORY, RADIUS, LEVEL = "gaps-period", "gaps-type", "gaps-radius", "gaps-level"
HEADLINE, HIDDEN, LAYER, LEGEND, TARGETS, CHART, DECILES, EXPORTS = (
    "gaps-headline",
    "gaps-hidden",
    "gaps-layer",
    "gaps-legend",
    "gaps-targets",
    "gaps-chart",
    "gaps-deciles",
    "gaps-exports",
)
MAP = "gaps-map"
NOT_SHOWN = "not shown"
LAYERS = {"areas": "Coverage of crimes by area", "targets": "Recruitment targets", "deciles": "By deprivation decile"}

files = Blueprint("gap_files", __name__)


# --------------------------------------------------------------------------- files


def export_frame(report: GapReport, layer: str) -> tuple[pd.DataFrame, gpd.GeoSeries | None]:
    """The table of one layer exactly as published, with the query and the area polygons."""
    query = report.query
    about = {
        "period": f"{query.month:%Y-%m}" if query.month else "all imported months",
        "crime_type": query.category or "all types",
        "radius_m": query.radius_m,
    }
    if layer == "deciles":
        return report.by_decile.assign(**about), None
    ref = runtime().reference
    areas = ref.small_areas if query.level == "lsoa" else ref.districts
    frame = (report.by_area if layer == "areas" else report.targets).assign(**about)
    return frame, gpd.GeoSeries(areas.set_index("code").geometry.reindex(frame["code"]).to_numpy())


@files.get(f"{PATH}/export/<layer>.<fmt>")
def export(layer: str, fmt: str):
    """One aggregate layer as CSV, GeoJSON or GeoPackage (the access guard admits this page's roles)."""
    if layer not in LAYERS or fmt not in FORMATS:
        abort(404)
    try:
        query = parse_query({name: request.args.getlist(name) for name in request.args}, gap_months())
    except QueryError as exc:
        return Response(f"Cannot export: {exc}.", status=400, mimetype="text/plain")
    report = report_for(query)
    if report.too_few:
        return Response(f"Cannot export: {_too_few_text(report)}", status=400, mimetype="text/plain")
    frame, shapes = export_frame(report, layer)
    period = f"{query.month:%Y-%m}" if query.month else "all-months"
    name = f"gaps-{layer}-{query.level}-{period}-{query.radius_m}m.{fmt}"
    return Response(
        export_bytes(frame, shapes, fmt, f"gaps_{layer}"),
        mimetype=FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --------------------------------------------------------------------------- views


def _pct(share) -> str:
    return percent(share, hidden="")


def _n(value) -> str:
    return thousands(value, hidden=NOT_SHOWN)


def _too_few_text(report: GapReport) -> str:
    return (
        f"this choice has fewer than {report.min_crimes} crimes placed in the force area, and the gap analysis "
        f"is shown only over {report.min_crimes} crimes or more, so that no figure is about a handful of crime "
        "locations. Choose all imported months or all crime types."
    )


def _what(query: GapQuery) -> str:
    types = query.category if query.category else "all types"
    period = f"{query.month:%B %Y}" if query.month else "all imported months"
    return f"{types}, {period}"


def _headline(report: GapReport, k: int):
    if report.too_few:
        return dbc.Alert(
            [html.Strong("Nothing is shown for this choice: "), _too_few_text(report)],
            color="info",
            className="mb-0",
            id=f"{PREFIX}too-few",
        )
    t, r = report.totals, report.query.radius_m
    if t["suppressed"] or t["near"] is None:
        covered = (
            f"Coverage is not shown for the force as a whole: fewer than {k} registrations, or fewer than {k} "
            f"of these crimes, have a registered camera within {r} m, or the figure is too close to a larger "
            "one."
        )
    else:
        in_view = (
            f"{t['in_view']:,} ({_pct(t['share_in_view'])}) were in a registered camera's field of view."
            if t["in_view"] is not None
            else f"Crimes in a camera's view: fewer than {k}, not shown."
        )
        covered = (
            f"{t['near']:,} ({_pct(t['share_near'])}) had a registered camera within {r} m "
            f"({t['registrations_near']:,} registrations); {in_view}"
        )
    notes = []
    if t.get("unplaced"):
        notes.append(f"{t['unplaced']:,} more have no coordinates in the police.uk data and are not counted")
    if t.get("outside"):
        notes.append(f"{t['outside']:,} lie outside the force area and are not counted")
    return html.Div(
        [
            html.P(
                [html.Strong(f"{_n(t['crimes'])} crimes"), f" in the force area ({_what(report.query)}). ", covered],
                className="mb-1",
            ),
            html.P("; ".join(notes) + "." if notes else "", className="small text-secondary mb-0"),
        ]
    )


def _hidden_note(report: GapReport, k: int):
    if report.too_few:
        return ""
    h = report.hidden
    level = "small areas" if report.query.level == "lsoa" else "districts"
    total = h["few_crimes"] + h["few_registrations"] + h["close"]
    one = {"small areas": "small area", "districts": "district"}[level]
    parts = []
    if h["few_crimes"]:
        parts.append(f"{h['few_crimes']:,} with fewer than {k} crimes")
    if h["few_registrations"]:
        parts.append(f"{h['few_registrations']:,} with fewer than {k} registrations near their crimes")
    if h["close"]:
        parts.append(
            f"{h['close']:,} whose crimes are fewer than {k} short of a larger figure (its district, decile or "
            "the force), or where three crime locations hold "
            "most of the crimes: either would speak about a handful of crime locations"
        )
    text = (
        f"Coverage is hidden for {total:,} {one if total == 1 else level} with crimes: " + "; ".join(parts) + "."
        if total
        else f"Coverage is shown for every one of the {level} with crimes."
    )
    if h.get("deciles_breakdown"):
        text += (
            " The deprivation table shows coverage for all months and all crime types only: deciles cut across "
            "districts, so with a month or a type as well they would put each crime point in too many figures."
        )
    elif h.get("deciles"):
        text += f" In the deprivation table, {h['deciles']} decile(s) have their coverage hidden for the same reasons."
    return text


def _choropleth(report: GapReport, k: int) -> tuple[dict, list[float]]:
    ref = runtime().reference
    base = small_areas_geojson(ref) if report.query.level == "lsoa" else districts_geojson(ref)
    values, tooltips, blank = {}, {}, set()
    if report.too_few:
        return choropleth(base, {}, {}, frozenset(f["properties"]["code"] for f in base["features"]))
    with_crimes = set(report.with_crimes)
    for row in report.by_area.itertuples():
        if row.code not in with_crimes:
            blank.add(row.code)
            tooltips[row.code] = "no crimes of this choice"
        elif pd.isna(row.share_near):
            tooltips[row.code] = f"{_n(row.crimes)} crimes; coverage not shown"
        else:
            values[row.code] = float(row.share_near)
            in_view = f"{int(row.in_view):,} in view" if not pd.isna(row.in_view) else f"in view: fewer than {k}"
            tooltips[row.code] = (
                f"{_n(row.crimes)} crimes; {int(row.near):,} ({_pct(row.share_near)}) with a camera "
                f"within {report.query.radius_m} m; {in_view}"
            )
    return choropleth(base, values, tooltips, frozenset(blank))


def _viewport(report: GapReport) -> dict:
    """Fit the map to the areas with crimes (the whole force when there are none)."""
    ref = runtime().reference
    areas = ref.small_areas if report.query.level == "lsoa" else ref.districts
    chosen = areas[areas["code"].isin(set(report.with_crimes))] if report.with_crimes else ref.force_area
    minx, miny, maxx, maxy = chosen.total_bounds
    return {
        "bounds": [[float(miny), float(minx)], [float(maxy), float(maxx)]],
        "transition": "fitBounds",
        "options": {"animate": False, "padding": [20, 20]},
    }


TARGET_COLUMNS = [
    {"field": "rank", "headerName": "#", "width": 70},
    {"field": "name", "headerName": "Area", "flex": 2},
    {"field": "district", "headerName": "District", "flex": 1},
    number_column("crimes", "Crimes"),
    number_column("without_camera", "Crimes without a camera nearby"),
    {"field": "coverage", "headerName": "Crimes with a camera nearby", "type": "numericColumn"},
    number_column("registrations_per_1000", "Registrations per 1,000 households", 1),
    number_column("imd_decile", "IMD decile (1 = most deprived)"),
]


def _number(v, digits=None, hidden=None):
    """A figure for a grid cell: a number (the grid adds separators), or ``hidden``'s words."""
    if v is None or pd.isna(v):
        return hidden
    return int(v) if digits is None else round(float(v), digits)


def _targets(report: GapReport) -> list[dict]:
    if report.too_few:
        return []
    district = report.by_area.set_index("code")["district"] if "district" in report.by_area else None
    return [
        {
            "rank": int(r.rank),
            "name": r.name,
            "district": district.get(r.code, "") if district is not None else "",
            "crimes": _number(r.crimes, hidden=NOT_SHOWN),
            "without_camera": _number(r.without_camera, hidden=NOT_SHOWN),
            "coverage": _pct(r.share_near) or NOT_SHOWN,
            "registrations_per_1000": _number(r.registrations_per_1000, 1, NOT_SHOWN),
            "imd_decile": _number(r.imd_decile, hidden="no decile"),
        }
        for r in report.targets.itertuples()
    ]


DECILE_COLUMNS = [
    {"field": "imd_decile", "headerName": "IMD decile (1 = most deprived)", "width": 110},
    number_column("areas", "Small areas"),
    number_column("households", "Households (estimated)"),
    number_column("registrations", "Registrations"),
    number_column("registrations_per_1000", "Registrations per 1,000 households", 1),
    number_column("cameras_per_1000", "Cameras per 1,000 households", 1),
    number_column("crimes", "Crimes"),
    {"field": "share_near", "headerName": "Crimes with a camera nearby", "type": "numericColumn"},
]


def _deciles(report: GapReport) -> list[dict]:
    if report.too_few:
        return []
    return [
        {
            "imd_decile": int(r.imd_decile),
            "areas": int(r.areas),
            "households": _number(r.households, 0),
            "registrations": _number(r.registrations, hidden=f"fewer than {runtime().disclosure.k}"),
            "registrations_per_1000": _number(r.registrations_per_1000, 1, NOT_SHOWN),
            "cameras_per_1000": _number(r.cameras_per_1000, 1, NOT_SHOWN),
            "crimes": _number(r.crimes, hidden=NOT_SHOWN),
            "share_near": _pct(r.share_near) or ("no crimes" if _number(r.crimes) == 0 else NOT_SHOWN),
        }
        for r in report.by_decile.itertuples()
    ]


def _chart(report: GapReport, k: int) -> go.Figure:
    """Bars (registrations per 1,000 households, left axis) and a line (% of crimes with a camera
    nearby, right axis, 0-100 in steps of 20) per decile; a decile whose figure is hidden is marked
    "hidden" on the axis line, never drawn as 0."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    radius = report.query.radius_m
    rate_top = 1.0
    if not report.too_few:
        d = report.by_decile
        rates = d["registrations_per_1000"].astype("float64")
        shares = d["share_near"].astype("float64") * 100
        rate_top = float(rates.max()) if rates.notna().any() else 1.0
        fig.add_bar(
            x=d["imd_decile"],
            y=rates,
            name="Registrations per 1,000 households",
            marker_color="#3182bd",
            hovertemplate="Decile %{x}: %{y:,.1f} per 1,000 households<extra></extra>",
        )
        fig.add_scatter(
            x=d["imd_decile"],
            y=shares,
            name=f"Crimes with a camera within {radius} m (%)",
            mode="lines+markers",
            marker_color="#d95f02",
            secondary_y=True,
            hovertemplate="Decile %{x}: %{y:.1f}% of crimes<extra></extra>",
        )
        crimes = pd.to_numeric(d["crimes"], errors="coerce").astype("float64")
        hidden = d.loc[rates.isna() | (shares.isna() & ~(crimes == 0)), "imd_decile"]  # no crimes: nothing to hide
        if len(hidden):
            fig.add_scatter(
                x=hidden,
                y=[0] * len(hidden),
                name=f"hidden: fewer than {k} (or too close to a larger figure)",
                mode="markers",
                marker={"symbol": "x-thin-open", "size": 12, "color": "#52606d", "line": {"width": 2}},
                hovertemplate="Decile %{x}: hidden, not zero<extra></extra>",
            )
    step = nice_step(rate_top)
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=340,
        legend={"orientation": "h", "y": -0.3},
        plot_bgcolor="#ffffff",
        title={
            "text": f"Figures not shown (fewer than {k} registrations or crimes) are marked ×, not drawn",
            "font": {"size": 12},
        },
    )
    fig.update_xaxes(title_text="IMD 2019 decile (1 = most deprived)", dtick=1, range=[0.5, 10.5])
    fig.update_yaxes(
        title_text="Registrations per 1,000 households",
        secondary_y=False,
        gridcolor="#e5e7eb",
        range=[0, step * max(1, math.ceil(rate_top * 1.05 / step))],
        dtick=step,
        tickformat=",~f",
    )
    fig.update_yaxes(
        title_text=f"% of crimes, camera ≤ {radius} m",
        secondary_y=True,
        range=[0, 100],
        dtick=20,
        ticksuffix="%",
        showgrid=False,
    )
    return fig


def _exports(report: GapReport) -> list:
    if report.too_few:
        return [html.P("Nothing to download for this choice.", className="text-secondary mb-0")]
    args = urlencode(report.query.args())
    return [
        html.Div(
            [
                html.Span(label, className="me-2"),
                *[
                    html.A(
                        fmt.upper() if fmt != "gpkg" else "GeoPackage",
                        href=f"{PATH}/export/{layer}.{fmt}?{args}",
                        id=f"{PREFIX}export-{layer}-{fmt}",
                        className="me-2",
                        download="",
                    )
                    for fmt in FORMATS
                ],
            ],
            className="mb-1",
        )
        for layer, label in LAYERS.items()
    ]


def _months_label(months: tuple[dt.date, ...]) -> str:
    if not months:
        return "All imported months"
    return f"All months ({months[0]:%b %Y} to {months[-1]:%b %Y})"


def layout(rt, _user) -> html.Div:
    k = rt.settings.k_min
    months = gap_months()
    controls = dbc.Row(
        [
            # All imported months and all crime types, always (gap_report.check_offered says why): shown as
            # what the figures cover, kept as the callback's inputs so that a forged choice is refused there.
            dbc.Col(
                [
                    html.Div("Crimes", className="form-label"),
                    html.P(f"{_months_label(months)}, all crime types", className="mb-0 pt-1", id=f"{PREFIX}covers"),
                    dcc.Store(id=PERIOD, data=ALL),
                    dcc.Store(id=CATEGORY, data=ALL),
                ],
                md=7,
            ),
            dbc.Col(
                [
                    dbc.Label("Camera within", html_for=RADIUS),
                    dbc.Select(
                        id=RADIUS,
                        options=[{"label": f"{r} m", "value": str(r)} for r in RADII_M],
                        value=str(DEFAULT_RADIUS_M),
                    ),
                ],
                md=2,
            ),
            dbc.Col(
                [
                    dbc.Label("Areas", html_for=LEVEL),
                    dbc.Select(id=LEVEL, options=[{"label": v, "value": c} for c, v in LEVELS.items()], value="lsoa"),
                ],
                md=3,
            ),
            dbc.Col(
                html.P(
                    "The analysis covers every imported month and every crime type together. Each crime location "
                    "may only count in a few figures: separate figures for each month or crime type about the "
                    "same locations, solved together, would tell which locations have a registered camera nearby.",
                    className="small text-secondary mb-0",
                    id=f"{PREFIX}choices-note",
                ),
                width=12,
            ),
        ],
        className="g-3 mb-3",
    )
    imported = (
        f"Crimes imported for {len(months)} month(s), {months[0]:%B %Y} to {months[-1]:%B %Y}, by the "
        "project's administrators."
        if months
        else "No crime data have been imported yet: an administrator imports police.uk files on the Crime data page."
    )
    layer_map = area_map(
        MAP,
        rt.reference,
        rt.settings,
        [
            dl.GeoJSON(
                id=LAYER,
                data={"type": "FeatureCollection", "features": []},
                style=js("districtStyle"),
                hoverStyle=js("districtHover"),
            ),
        ],
        height="520px",
    )
    return html.Div(
        [
            html.H1("Gap analysis", className="h3 mb-1"),
            html.P(
                [
                    "Where crimes happen against where registered cameras are. Crime counts are police.uk open data. ",
                    imported,
                ],
                className="text-secondary mb-2",
            ),
            dbc.Alert(
                [
                    html.P(rt.disclosure.describe(), className="mb-1"),
                    html.P(
                        f"Coverage figures drawn from fewer than {k} crimes or from fewer than {k} registrations are not "
                        f"shown, nor figures whose crimes are fewer than {k} short of a larger figure's (a small area "
                        "against its district, decile or the force), since subtracting one from the other would speak about a handful of crime locations. An "
                        f"analysis of fewer than {rt.settings.gap_min_crimes} crimes is not shown at all.",
                        className="mb-1",
                    ),
                    html.P(
                        [
                            "Figures for different levels need not add up exactly: each figure is adjusted on its "
                            "own, so a district's figure is not exactly the sum of its small areas'. That is on purpose: it is what keeps subtraction from revealing a hidden figure. ",
                            html.A("How figures are protected", href="/protection"),
                        ],
                        className="mb-0",
                    ),
                ],
                color="light",
                className="small border mb-3",
                id=f"{PREFIX}protection",
            ),
            controls,
            dcc.Loading(html.Div(id=HEADLINE, className="mb-2", role="status"), type="dot"),
            html.P(id=HIDDEN, className="small text-secondary mb-3"),
            html.Div([loading(layer_map), html.Div(id=LEGEND)], className="map-wrap mb-4"),
            html.H2("Where to recruit next", className="h5"),
            html.P(
                "Areas ranked by crimes without a registered camera nearby (all crimes minus the published count with "
                "a camera nearby). Where coverage is not shown the area is ranked by all its crimes.",
                className="small text-secondary",
            ),
            loading(
                dag.AgGrid(
                    id=TARGETS,
                    columnDefs=TARGET_COLUMNS,
                    rowData=[],
                    defaultColDef={"minWidth": 110, "sortable": True, "resizable": True, **WRAP_HEADERS},
                    columnSize="responsiveSizeToFit",
                    style={"height": "420px", "width": "100%"},
                    className="mb-4",
                )
            ),
            html.H2("Coverage and deprivation", className="h5"),
            loading(
                dcc.Graph(
                    id=CHART, config={"displaylogo": False, "toImageButtonOptions": {"filename": "coverage-by-imd"}}
                )
            ),
            loading(
                dag.AgGrid(
                    id=DECILES,
                    columnDefs=DECILE_COLUMNS,
                    rowData=[],
                    defaultColDef={"minWidth": 110, "resizable": True, **WRAP_HEADERS},
                    columnSize="responsiveSizeToFit",
                    style={"height": "420px", "width": "100%"},
                    className="mb-2",
                )
            ),
            html.P(
                "Households per small area are estimates (Census 2021 residents scaled by the district's households per "
                "resident); deprivation is the English IMD 2019.",
                className="small text-secondary",
            ),
            html.H2("Download for QGIS, ArcGIS or a spreadsheet", className="h5 mt-4"),
            html.P("The files hold exactly the figures on this page.", className="small text-secondary"),
            html.Div(id=EXPORTS, className="mb-4"),
        ]
    )


# What the page's one callback draws, by the keys ``redraw`` answers with.
_OUTPUTS = {
    "headline": Output(HEADLINE, "children"),
    "hidden": Output(HIDDEN, "children"),
    "layer": Output(LAYER, "data"),
    "legend": Output(LEGEND, "children"),
    "targets": Output(TARGETS, "rowData"),
    "chart": Output(CHART, "figure"),
    "deciles": Output(DECILES, "rowData"),
    "exports": Output(EXPORTS, "children"),
    "viewport": Output(MAP, "viewport"),
}


def redraw(period, category, radius, level) -> dict:
    """Everything the gap analysis shows for one choice of month (``period``), crime type (``category``),
    distance (``radius``, metres) and area ``level``: the headline, the note on hidden areas, the map and
    its legend, the target areas, the deprivation chart and table, the download links and the map's view.
    A choice that is not offered gets a message in the headline, and nothing else changes."""
    k = runtime().settings.k_min
    try:
        query = parse_query(dict(zip(QUERY_ARGS, (period, category, radius, level))), gap_months())
    except QueryError as exc:
        message = dbc.Alert(
            f"{str(exc)[0].upper()}{str(exc)[1:]}.", color="warning", className="mb-0", id=f"{PREFIX}query-error"
        )
        return dict.fromkeys(_OUTPUTS, no_update) | {"headline": message, "hidden": ""}
    report = report_for(query)
    geojson, breaks = _choropleth(report, k)
    shares = [] if report.too_few else [float(v) for v in report.by_area["share_near"].dropna()]
    key = legend(
        f"Crimes with a registered camera within {query.radius_m} m",
        breaks,
        min(shares, default=0.0),
        "coverage not shown",
        percent=True,
        extra=[("#ffffff", "no crimes")],
    )
    return {
        "headline": _headline(report, k),
        "hidden": _hidden_note(report, k),
        "layer": geojson,
        "legend": key,
        "targets": _targets(report),
        "chart": _chart(report, k),
        "deciles": _deciles(report),
        "exports": _exports(report),
        "viewport": _viewport(report),
    }


def register_callbacks(app) -> None:
    app.callback(
        output=_OUTPUTS,
        inputs=[Input(PERIOD, "data"), Input(CATEGORY, "data"), Input(RADIUS, "value"), Input(LEVEL, "value")],
    )(redraw)


PAGE = Page(
    path=PATH,
    title="Gap analysis",
    roles=frozenset({"analyst", "lead"}),
    id_prefix=PREFIX,
    layout=layout,
    register_callbacks=register_callbacks,
)
