"""Gap analysis (analysts; project leads too): imported police.uk crimes against registered
coverage, per area; where to recruit next; coverage by deprivation decile; exports for GIS.

Only aggregates reach this page and its files: per-area crime counts (public police.uk data) and
coverage figures suppressed where fewer than K registrations are near (promise 4).
"""
from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from urllib.parse import urlencode

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import dash_leaflet as dl
import geopandas as gpd
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html, no_update
from flask import Blueprint, Response, abort, request
from flask_login import current_user
from plotly.subplots import make_subplots

from dashboard.analytics.exports import FORMATS, export_bytes
from dashboard.analytics.gap_report import DEFAULT_RADIUS_M, RADII_M, GapQuery, GapReport
from dashboard.components.legend import legend
from dashboard.components.maps import area_map, choropleth, js
from dashboard.figures import report_for
from dashboard.geo.reference import districts_geojson, small_areas_geojson
from dashboard.pages import Page
from dashboard.registry.crime_import import CrimeFileError, import_crimes, parse_police_uk_csv
from dashboard.registry.crime_queries import crime_catalogue
from dashboard.registry.database import transaction
from dashboard.runtime_access import runtime

PATH, PREFIX = "/gaps", "gaps-"
UPLOAD, UPLOAD_RESULT, CATALOGUE, VERSION = "gaps-upload", "gaps-upload-result", "gaps-catalogue", "gaps-version"
FIRST, LAST, TYPES, RADIUS, LEVEL = "gaps-first", "gaps-last", "gaps-types", "gaps-radius", "gaps-level"
HEADLINE, LAYER, LEGEND, TARGETS, CHART, DECILES, EXPORTS = ("gaps-headline", "gaps-layer", "gaps-legend",
                                                             "gaps-targets", "gaps-chart", "gaps-deciles",
                                                             "gaps-exports")
MAP = "gaps-map"
MAX_UPLOAD_BYTES = 3_500_000  # one file per upload; the command takes files of any size
LAYERS = {"areas": "Coverage of crimes by area", "targets": "Recruitment targets", "deciles": "By deprivation decile"}
LEVELS = {"lsoa": "Small areas (LSOA)", "district": "Districts"}

files = Blueprint("gap_files", __name__)


# --------------------------------------------------------------------------- the query


def parse_query(args: Mapping[str, object]) -> GapQuery:
    """A checked query from page controls or URL arguments; ValueError names what is wrong."""
    def month(name: str) -> dt.date | None:
        text = args.get(name) or None
        if text is None:
            return None
        try:
            return dt.datetime.strptime(str(text), "%Y-%m").date()
        except ValueError:
            raise ValueError(f"{name} must be a month like 2025-01, got {text!r}") from None

    first, last = month("from"), month("to")
    if first and last and first > last:
        raise ValueError("the first month is after the last month")
    raw_types = args.get("types")
    types = [str(t) for t in (raw_types if isinstance(raw_types, (list, tuple)) else [raw_types] if raw_types else [])]
    if any(len(t) > 60 for t in types) or len(types) > 40:
        raise ValueError("crime types must be police.uk crime type names")
    try:
        radius = int(str(args.get("radius") or DEFAULT_RADIUS_M))
    except ValueError:
        raise ValueError(f"radius must be one of {', '.join(map(str, RADII_M))} metres") from None
    if radius not in RADII_M:
        raise ValueError(f"radius must be one of {', '.join(map(str, RADII_M))} metres, got {radius}")
    level = str(args.get("level") or "lsoa")
    if level not in LEVELS:
        raise ValueError("level must be lsoa or district")
    return GapQuery(first, last, tuple(sorted(set(types))) or None, radius, level)


def _query_args(query: GapQuery) -> list[tuple[str, str]]:
    args = [("radius", str(query.radius_m)), ("level", query.level)]
    if query.first_month:
        args.append(("from", f"{query.first_month:%Y-%m}"))
    if query.last_month:
        args.append(("to", f"{query.last_month:%Y-%m}"))
    args += [("types", t) for t in query.crime_types or ()]
    return args


# --------------------------------------------------------------------------- files


def export_frame(report: GapReport, layer: str) -> tuple[pd.DataFrame, gpd.GeoSeries | None]:
    """The table of one layer as it is exported (already suppressed), with its area polygons."""
    ref = runtime().reference
    areas = ref.small_areas if report.query.level == "lsoa" else ref.districts
    shapes = areas.set_index("code").geometry
    if layer == "deciles":
        return report.by_decile, None
    frame = report.by_area if layer == "areas" else report.targets
    frame = frame.assign(radius_m=report.query.radius_m)
    return frame, gpd.GeoSeries(shapes.reindex(frame["code"]).to_numpy())


@files.get(f"{PATH}/export/<layer>.<fmt>")
def export(layer: str, fmt: str):
    """One aggregate layer as CSV, GeoJSON or GeoPackage (the access guard admits this page's roles)."""
    if layer not in LAYERS or fmt not in FORMATS:
        abort(404)
    try:
        query = parse_query({"from": request.args.get("from"), "to": request.args.get("to"),
                             "types": request.args.getlist("types"), "radius": request.args.get("radius"),
                             "level": request.args.get("level")})
    except ValueError as exc:
        return Response(f"Cannot export: {exc}.", status=400, mimetype="text/plain")
    frame, shapes = export_frame(report_for(query), layer)
    name = f"gaps-{layer}-{query.level}-{query.radius_m}m.{fmt}"
    return Response(export_bytes(frame, shapes, fmt, f"gaps_{layer}"), mimetype=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --------------------------------------------------------------------------- views


def _pct(share) -> str:
    return "" if pd.isna(share) else f"{float(share) * 100:.1f}%"


def _headline(report: GapReport, k: int):
    t, r = report.totals, report.query.radius_m
    if t["points"] == 0:
        return dbc.Alert("No imported crimes match these choices. Import police.uk street-level files above, or "
                         "widen the months and crime types.", color="info", className="mb-0")
    if t["suppressed"]:
        covered = f"Coverage is not shown: fewer than {k} registrations have a camera near these crimes."
    else:
        covered = (f"{t['near']:,} ({t['near'] / t['points']:.1%}) had a registered camera within {r} m; "
                   f"{t['in_view']:,} ({t['in_view'] / t['points']:.1%}) were in a registered camera's field of view.")
    notes = []
    if report.unplaced:
        notes.append(f"{report.unplaced:,} matching crimes have no coordinates in the police.uk data and are not counted")
    if report.outside:
        notes.append(f"{report.outside:,} lie outside the force area and are not counted")
    return html.Div([html.P([html.Strong(f"{t['points']:,} crimes"), f" in the force area. {covered}"], className="mb-1"),
                     html.P("; ".join(notes) + "." if notes else "", className="small text-secondary mb-0")])


def _choropleth(report: GapReport, k: int) -> tuple[dict, list[float]]:
    ref = runtime().reference
    base = small_areas_geojson(ref) if report.query.level == "lsoa" else districts_geojson(ref)
    values, tooltips, blank = {}, {}, set()
    for row in report.by_area.itertuples():
        if row.points == 0:
            blank.add(row.code)
            tooltips[row.code] = "no crimes in these months"
        elif row.suppressed:
            tooltips[row.code] = f"{row.points:,} crimes; coverage not shown (fewer than {k} registrations near)"
        else:
            values[row.code] = float(row.share_near)
            tooltips[row.code] = (f"{row.points:,} crimes; {row.near:,} ({_pct(row.share_near)}) with a camera within "
                                  f"{report.query.radius_m} m; {row.in_view:,} in view")
    return choropleth(base, values, tooltips, frozenset(blank))


def _viewport(report: GapReport) -> dict:
    """Fit the map to the areas with crimes (the whole force when there are none)."""
    ref = runtime().reference
    areas = ref.small_areas if report.query.level == "lsoa" else ref.districts
    with_crimes = set(report.by_area.loc[report.by_area["points"] > 0, "code"])
    chosen = areas[areas["code"].isin(with_crimes)] if with_crimes else ref.force_area
    minx, miny, maxx, maxy = chosen.total_bounds
    return {"bounds": [[float(miny), float(minx)], [float(maxy), float(maxx)]], "transition": "fitBounds",
            "options": {"animate": False, "padding": [20, 20]}}


TARGET_COLUMNS = [
    {"field": "rank", "headerName": "#", "width": 70},
    {"field": "name", "headerName": "Area", "flex": 2},
    {"field": "district", "headerName": "District", "flex": 1},
    {"field": "points", "headerName": "Crimes", "type": "numericColumn"},
    {"field": "without_camera", "headerName": "Without a camera nearby", "type": "numericColumn"},
    {"field": "coverage", "headerName": "With a camera nearby"},
    {"field": "registrations_per_1000", "headerName": "Registrations per 1,000 households", "type": "numericColumn"},
    {"field": "imd_decile", "headerName": "IMD decile (1 = most deprived)", "type": "numericColumn"},
]


def _number(v, digits=None):
    if pd.isna(v):
        return None
    return int(v) if digits is None else round(float(v), digits)


def _targets(report: GapReport, k: int) -> list[dict]:
    names = report.by_area.set_index("code")
    return [{"rank": int(r.rank), "name": r.name, "district": names.loc[r.code].get("district", ""),
             "points": int(r.points), "without_camera": _number(r.without_camera),
             "coverage": _pct(r.share_near) or f"not shown (fewer than {k} registrations near)",
             "registrations_per_1000": _number(r.registrations_per_1000, 2), "imd_decile": _number(r.imd_decile)}
            for r in report.targets.itertuples()]


DECILE_COLUMNS = [
    {"field": "imd_decile", "headerName": "IMD decile", "width": 110},
    {"field": "areas", "headerName": "Small areas", "type": "numericColumn"},
    {"field": "households", "headerName": "Households (estimated)", "type": "numericColumn"},
    {"field": "registrations", "headerName": "Registrations", "type": "numericColumn"},
    {"field": "registrations_per_1000", "headerName": "Registrations per 1,000 households", "type": "numericColumn"},
    {"field": "cameras_per_1000", "headerName": "Cameras per 1,000 households", "type": "numericColumn"},
    {"field": "crimes", "headerName": "Crimes", "type": "numericColumn"},
    {"field": "share_near", "headerName": "Crimes with a camera nearby"},
]


def _deciles(report: GapReport) -> list[dict]:
    return [{"imd_decile": int(r.imd_decile), "areas": int(r.areas), "households": int(r.households),
             "registrations": _number(r.registrations), "registrations_per_1000": _number(r.registrations_per_1000, 2),
             "cameras_per_1000": _number(r.cameras_per_1000, 2), "crimes": int(r.crimes),
             "share_near": _pct(r.share_near)} for r in report.by_decile.itertuples()]


def _chart(report: GapReport, k: int) -> go.Figure:
    d = report.by_decile
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=d["imd_decile"], y=d["registrations_per_1000"].astype("float64"), name="Registrations per 1,000 "
                "households", marker_color="#3182bd", hovertemplate="Decile %{x}: %{y:.2f}<extra></extra>")
    if d["crimes"].sum() > 0:
        fig.add_scatter(x=d["imd_decile"], y=(d["share_near"].astype("float64") * 100), name="Crimes with a camera "
                        f"within {report.query.radius_m} m (%)", mode="lines+markers", marker_color="#d95f02",
                        secondary_y=True, hovertemplate="Decile %{x}: %{y:.1f}%<extra></extra>")
    fig.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": 10}, height=320, legend={"orientation": "h", "y": -0.25},
                      plot_bgcolor="#ffffff", title={"text": f"Deciles with fewer than {k} registrations are not drawn",
                                                     "font": {"size": 12}})
    fig.update_xaxes(title_text="IMD 2019 decile (1 = most deprived)", dtick=1, range=[0.5, 10.5])
    fig.update_yaxes(title_text="per 1,000 households", secondary_y=False, gridcolor="#e5e7eb", rangemode="tozero")
    fig.update_yaxes(title_text="% of crimes", secondary_y=True, rangemode="tozero", showgrid=False)
    return fig


def _exports(query: GapQuery) -> list:
    args = urlencode(_query_args(query))
    return [html.Div([html.Span(label, className="me-2"),
                      *[html.A(fmt.upper() if fmt != "gpkg" else "GeoPackage", href=f"{PATH}/export/{layer}.{fmt}?{args}",
                               id=f"{PREFIX}export-{layer}-{fmt}", className="me-2", download="")
                        for fmt in FORMATS]], className="mb-1")
            for layer, label in LAYERS.items()]


def _catalogue():
    with runtime().sessions() as s:
        cat = crime_catalogue(s)
    if cat.files == 0:
        return "No crime data imported yet.", [], []
    months = [f"{m:%Y-%m}" for m in cat.months]
    text = (f"{cat.crimes:,} crimes from {cat.files:,} file(s), {months[0]} to {months[-1]}; "
            f"{cat.without_coordinates:,} without coordinates.")
    types = [{"label": f"{t} ({n:,})", "value": t} for t, n in zip(cat.types["crime_type"], cat.types["crimes"])]
    return text, [{"label": m, "value": m} for m in months], types


def layout(rt, _user) -> html.Div:
    k = rt.settings.k_min
    text, months, types = _catalogue()
    controls = dbc.Row([
        dbc.Col([dbc.Label("From", html_for=FIRST), dcc.Dropdown(id=FIRST, options=months, placeholder="First month",
                                                                 value=months[0]["value"] if months else None)], md=2),
        dbc.Col([dbc.Label("To", html_for=LAST), dcc.Dropdown(id=LAST, options=months, placeholder="Last month",
                                                              value=months[-1]["value"] if months else None)], md=2),
        dbc.Col([dbc.Label("Crime types", html_for=TYPES), dcc.Dropdown(id=TYPES, options=types, multi=True,
                                                                        placeholder="All types")], md=4),
        dbc.Col([dbc.Label("Camera within", html_for=RADIUS), dbc.Select(
            id=RADIUS, options=[{"label": f"{r} m", "value": str(r)} for r in RADII_M], value=str(DEFAULT_RADIUS_M))],
            md=2),
        dbc.Col([dbc.Label("Areas", html_for=LEVEL), dbc.Select(
            id=LEVEL, options=[{"label": v, "value": c} for c, v in LEVELS.items()], value="lsoa")], md=2),
    ], className="g-3 mb-3")
    upload = dbc.Card(dbc.CardBody([
        html.H2("Crime data", className="h5"),
        html.P(text, id=CATALOGUE, className="mb-2"),
        dcc.Upload(id=UPLOAD, multiple=False, max_size=MAX_UPLOAD_BYTES, accept=".csv,text/csv",
                   children=html.Div(["Drop a police.uk street-level crime CSV here, or ",
                                      html.A("choose a file", href="#", className="fw-semibold")]),
                   className="upload-zone", style_active={"borderColor": "#08519c", "background": "#eef5fc"}),
        html.P(f"One file at a time, up to {MAX_UPLOAD_BYTES / 1e6:.1f} MB, in the official layout from "
               "data.police.uk. A file is checked whole: if anything is wrong nothing is imported. Larger files: "
               "python -m dashboard crimes import FILE.", className="small text-secondary mt-2 mb-0"),
        html.Div(id=UPLOAD_RESULT, className="mt-2", role="status"),
    ]), className="mb-4")
    layer_map = area_map(MAP, rt.reference, rt.settings, [
        dl.GeoJSON(id=LAYER, data={"type": "FeatureCollection", "features": []}, style=js("districtStyle"),
                   hoverStyle=js("districtHover")),
    ], height="520px")
    return html.Div([
        html.H1("Gap analysis", className="h3 mb-1"),
        html.P(f"Where crimes happen against where registered cameras are. Crime counts are police.uk open data; "
               f"coverage figures drawn from fewer than {k} registrations are not shown.", className="text-secondary"),
        upload,
        controls,
        dcc.Store(id=VERSION, data=0),
        dcc.Loading(html.Div(id=HEADLINE, className="mb-3", role="status"), type="dot"),
        html.Div([layer_map, html.Div(id=LEGEND)], className="map-wrap mb-4"),
        html.H2("Where to recruit next", className="h5"),
        html.P("Areas ranked by crimes without a registered camera nearby. Where coverage is not shown the area is "
               "ranked by all its crimes.", className="small text-secondary"),
        dag.AgGrid(id=TARGETS, columnDefs=TARGET_COLUMNS, rowData=[], defaultColDef={"sortable": True, "resizable": True},
                   columnSize="responsiveSizeToFit", style={"height": "420px", "width": "100%"}, className="mb-4"),
        html.H2("Coverage and deprivation", className="h5"),
        dcc.Graph(id=CHART, config={"displaylogo": False, "toImageButtonOptions": {"filename": "coverage-by-imd"}}),
        dag.AgGrid(id=DECILES, columnDefs=DECILE_COLUMNS, rowData=[], defaultColDef={"resizable": True},
                   columnSize="responsiveSizeToFit", style={"height": "420px", "width": "100%"}, className="mb-2"),
        html.P("Households per small area are estimates (Census 2021 residents scaled by the district's households per "
               "resident); deprivation is the English IMD 2019.", className="small text-secondary"),
        html.H2("Download for QGIS, ArcGIS or a spreadsheet", className="h5 mt-4"),
        html.Div(id=EXPORTS, className="mb-4"),
    ])


def register_callbacks(app) -> None:
    @app.callback(
        Output(UPLOAD_RESULT, "children"), Output(VERSION, "data"), Output(CATALOGUE, "children"),
        Output(FIRST, "options"), Output(LAST, "options"), Output(TYPES, "options"),
        Output(FIRST, "value"), Output(LAST, "value"),
        Input(UPLOAD, "contents"), State(UPLOAD, "filename"), State(VERSION, "data"), prevent_initial_call=True,
    )
    def upload(contents, filename, version):
        name = str(filename or "upload.csv")[:200]
        try:
            header, _, payload = str(contents or "").partition(",")
            if not header.endswith(";base64"):
                raise CrimeFileError(f"{name} could not be read; choose the file again.")
            data = base64.b64decode(payload, validate=True)
            parsed = parse_police_uk_csv(data, name)
            with transaction(runtime().sessions) as s:
                done = import_crimes(s, parsed, current_user.actor)
        except (CrimeFileError, ValueError) as exc:
            message = str(exc) if isinstance(exc, CrimeFileError) else f"{name} could not be read; choose it again."
            return (dbc.Alert(["Nothing was imported. ", message], color="danger", className="mb-0",
                              id=f"{PREFIX}upload-error"), no_update, no_update, no_update, no_update, no_update,
                    no_update, no_update)
        months = ", ".join(f"{m:%Y-%m}" for m in done.months)
        unplaced = (f" {done.without_coordinates:,} have no coordinates: they are kept and counted, but cannot be "
                    "placed on the map." if done.without_coordinates else "")
        ok = dbc.Alert(f"Imported {done.rows:,} crimes from {name} ({months}).{unplaced}", color="success",
                       className="mb-0", id=f"{PREFIX}upload-ok")
        text, months_opts, types = _catalogue()
        first = months_opts[0]["value"] if months_opts else None
        last = months_opts[-1]["value"] if months_opts else None
        return ok, (version or 0) + 1, text, months_opts, months_opts, types, first, last

    @app.callback(
        Output(HEADLINE, "children"), Output(LAYER, "data"), Output(LEGEND, "children"), Output(TARGETS, "rowData"),
        Output(CHART, "figure"), Output(DECILES, "rowData"), Output(EXPORTS, "children"), Output(MAP, "viewport"),
        Input(FIRST, "value"), Input(LAST, "value"), Input(TYPES, "value"), Input(RADIUS, "value"),
        Input(LEVEL, "value"), Input(VERSION, "data"),
    )
    def redraw(first, last, types, radius, level, _version):
        k = runtime().settings.k_min
        try:
            query = parse_query({"from": first, "to": last, "types": types, "radius": radius, "level": level})
        except ValueError as exc:
            message = dbc.Alert(f"{str(exc)[0].upper()}{str(exc)[1:]}.", color="warning", className="mb-0")
            return message, no_update, no_update, no_update, no_update, no_update, no_update, no_update
        report = report_for(query)
        geojson, breaks = _choropleth(report, k)
        key = legend(f"Crimes with a registered camera within {query.radius_m} m", breaks,
                     min((float(v) for v in report.by_area["share_near"].dropna()), default=0.0),
                     f"coverage not shown (fewer than {k} registrations near)", percent=True,
                     extra=[("#ffffff", "no crimes")])
        return (_headline(report, k), geojson, key, _targets(report, k), _chart(report, k), _deciles(report),
                _exports(query), _viewport(report))


PAGE = Page(path=PATH, title="Gap analysis", roles=frozenset({"analyst", "lead"}), id_prefix=PREFIX, layout=layout,
            register_callbacks=register_callbacks)
