"""Coverage (analysts; project leads too): where registered cameras are, on a fixed H3 grid, and
per district or small area (rates per 1,000 households, postcodes with a camera nearby, ground in
view), with CSV/GeoJSON/GeoPackage downloads of both.

Only counts per cell or area reach this page, and nothing drawn from fewer than K registrations
shows a number (promise 4). The grid is fixed when a site is written, so no view can split a cell.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import dash_leaflet as dl
import geopandas as gpd
import pandas as pd
import shapely.geometry
from dash import Input, Output, html
from flask import Blueprint, Response, abort, request

from dashboard.analytics.coverage import HOUSEHOLDS_SOURCE, cell_geometry
from dashboard.analytics.exports import FORMATS, export_bytes
from dashboard.analytics.gap_report import DEFAULT_RADIUS_M
from dashboard.components.colour import BLUES, colour_for, quantile_breaks
from dashboard.components.legend import legend
from dashboard.components.maps import area_map, choropleth, district_outlines, js
from dashboard.figures import areas_for, cells_shown
from dashboard.geo.reference import districts_geojson, small_areas_geojson
from dashboard.pages import Page
from dashboard.registry.vocab import CAMERA_KINDS
from dashboard.runtime_access import runtime

PREFIX = "coverage-"
RES, KIND, PLACEMENT, DIRECTION, BY = ("coverage-res", "coverage-kind", "coverage-placement", "coverage-direction",
                                       "coverage-by")
MAP, CELLS, LEGEND, SUMMARY = "coverage-map", "coverage-cells", "coverage-legend", "coverage-summary"
LEVEL, AREAS, AREAS_NOTE = "coverage-level", "coverage-areas", "coverage-areas-note"
NEAR, AREA_MAP, AREA_LAYER, AREA_LEGEND = ("coverage-near", "coverage-area-map", "coverage-area-layer",
                                           "coverage-area-legend")
CELL_EXPORTS, AREA_EXPORTS = "coverage-cell-exports", "coverage-area-exports"
PATH = "/coverage"
NEAR_CHOICES_M = (50, 100, 200)
AREA_COLUMNS = [
    {"field": "name", "headerName": "Area", "flex": 2, "filter": True, "minWidth": 180},
    {"field": "households", "headerName": "Households", "type": "numericColumn"},
    {"field": "registrations", "headerName": "Registrations", "type": "numericColumn"},
    {"field": "cameras", "headerName": "Cameras", "type": "numericColumn"},
    {"field": "registrations_per_1000", "headerName": "Registrations per 1,000 households", "type": "numericColumn",
     "sort": "desc"},
    {"field": "cameras_per_1000", "headerName": "Cameras per 1,000 households", "type": "numericColumn"},
    {"field": "share_postcodes_near", "headerName": "Postcodes with a camera nearby (%)", "type": "numericColumn"},
    {"field": "in_view_km2", "headerName": "Ground in view (km²)", "type": "numericColumn"},
    {"field": "share_in_view", "headerName": "Ground in view (% of area)", "type": "numericColumn"},
]
RESOLUTIONS = {7: "Large (about 5 km² each)", 8: "Medium (about 0.7 km²)", 9: "Small (about 0.1 km²)"}
ALL = "all"


def cell_query(res, kind, placement, direction, by, *, strict: bool = False) -> dict:
    """Checked cell filters from page controls or URL arguments. The page's controls can only
    send known values (a forged one means "all"); with ``strict`` an unknown value raises
    ValueError naming it, for URLs typed or scripted by hand."""
    checks = [("res", res, {"7", "8", "9"}), ("kind", kind, set(CAMERA_KINDS)),
              ("placement", placement, {"outdoor", "indoor"}), ("direction", direction, {"known", "unknown"})]
    for name, value, allowed in checks:
        if strict and value not in (None, "", ALL) and str(value) not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(sorted(allowed))}, got {value!r}")
    try:
        registered_by = dt.date.fromisoformat(by) if by else None
    except (TypeError, ValueError):
        if strict:
            raise ValueError(f"by must be a date like 2026-09-01, got {by!r}") from None
        registered_by = None
    return {"res": int(res) if str(res) in {"7", "8", "9"} else 8,
            "kind": _choice(kind) if _choice(kind) in CAMERA_KINDS else None,
            "placement": _choice(placement) if _choice(placement) in ("outdoor", "indoor") else None,
            "direction_known": {"known": True, "unknown": False}.get(_choice(direction)),
            "registered_by": registered_by}


def _cells(query: dict) -> pd.DataFrame:
    return cells_shown(query["res"], query["kind"], query["placement"], query["registered_by"],
                       query["direction_known"])


def _cell_args(query: dict) -> str:
    direction = {True: "known", False: "unknown"}.get(query["direction_known"])
    args = {"res": query["res"], "kind": query["kind"], "placement": query["placement"], "direction": direction,
            "by": query["registered_by"].isoformat() if query["registered_by"] else None}
    return urlencode({k: v for k, v in args.items() if v is not None})


def _near(value) -> int:
    return int(value) if str(value) in {str(r) for r in NEAR_CHOICES_M} else DEFAULT_RADIUS_M


files = Blueprint("coverage_files", __name__)


@files.get(f"{PATH}/export/<layer>.<fmt>")
def export(layer: str, fmt: str):
    """The cell layer or the area table as CSV, GeoJSON or GeoPackage, suppressed as on the page
    (the access guard admits this page's roles)."""
    if layer not in ("cells", "areas") or fmt not in FORMATS:
        abort(404)
    a = request.args
    try:
        if a.get("level") not in (None, "district", "lsoa") or a.get("near") not in (None, *map(str, NEAR_CHOICES_M)):
            raise ValueError(f"level must be district or lsoa and near one of {', '.join(map(str, NEAR_CHOICES_M))}")
        query = cell_query(a.get("res"), a.get("kind"), a.get("placement"), a.get("direction"), a.get("by"),
                           strict=True)
    except ValueError as exc:
        return Response(f"Cannot export: {exc}.", status=400, mimetype="text/plain")
    if layer == "cells":
        frame = _cells(query)
        shapes = [shapely.geometry.shape(cell_geometry(c)) for c in frame["cell"]]
        name = f"coverage-cells-r{query['res']}.{fmt}"
        body = export_bytes(frame, gpd.GeoSeries(shapes), fmt, "coverage_cells")
    else:
        level = "lsoa" if a.get("level") == "lsoa" else "district"
        near = _near(a.get("near"))
        frame = areas_for(level, near).assign(postcodes_near_within_m=near)
        ref = runtime().reference
        areas = (ref.small_areas if level == "lsoa" else ref.districts).set_index("code").geometry
        name = f"coverage-areas-{level}.{fmt}"
        body = export_bytes(frame, gpd.GeoSeries(areas.reindex(frame["code"]).to_numpy()), fmt, "coverage_areas")
    return Response(body, mimetype=FORMATS[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _export_links(layer: str, args: str) -> list:
    return [html.A("GeoPackage" if fmt == "gpkg" else fmt.upper(), href=f"{PATH}/export/{layer}.{fmt}?{args}",
                   id=f"{PREFIX}export-{layer}-{fmt}", className="me-2", download="") for fmt in FORMATS]


def _features(cells: pd.DataFrame, k: int) -> tuple[dict, list[float], float]:
    """The cells as GeoJSON, kept small (a whole-force layer at the finest grid has ~9,000 cells):
    properties are ``c``, the colour's index in ``BLUES`` and, for shown cells only, the counts
    ``n`` (cameras) and ``r`` (registrations), or none when suppressed; ``assets/js/map.js`` styles them and writes the
    tooltips. A suppressed cell carries no number at all."""
    shown = cells.loc[~cells["suppressed"], "cameras"].astype(float).tolist()
    breaks = quantile_breaks(shown)
    features = []
    for cell, regs, cams, hidden in zip(cells["cell"], cells["registrations"], cells["cameras"], cells["suppressed"]):
        properties = {} if hidden else {"c": BLUES.index(colour_for(float(cams), breaks)), "n": int(cams),
                                                    "r": int(regs)}
        features.append({"type": "Feature", "geometry": cell_geometry(cell), "properties": properties})
    return {"type": "FeatureCollection", "features": features}, breaks, min(shown, default=0.0)


def _legend(breaks: list[float], lowest: float, k: int) -> html.Div:
    return legend("Cameras per cell", breaks, lowest, f"fewer than {k} registrations")


def _summary(cells: pd.DataFrame, k: int) -> str:
    hidden = int(cells["suppressed"].sum())
    shown = cells.loc[~cells["suppressed"]]
    cams = int(shown["cameras"].sum()) if len(shown) else 0
    return (f"{len(cells):,} cells have registered cameras; {len(shown):,} are shown with {cams:,} cameras between "
            f"them; {hidden:,} have fewer than {k} registrations and show no number.")


def _area_rows(level: str, near: int) -> tuple[list[dict], str, dict, html.Div]:
    """Table rows, the note under them, the choropleth layer and its legend."""
    rt = runtime()
    k = rt.settings.k_min
    note = f"{'LSOA' if level == 'lsoa' else 'District'} households: {HOUSEHOLDS_SOURCE[level]}."
    table = areas_for(level, near)

    def shown(v, digits=None, scale=1.0):
        if pd.isna(v):
            return f"fewer than {k}" if digits is None else None
        return int(v) if digits is None else round(float(v) * scale, digits)

    rows = [{"name": r.name, "households": shown(r.households, 0), "registrations": shown(r.registrations),
             "cameras": shown(r.cameras), "registrations_per_1000": shown(r.registrations_per_1000, 2),
             "cameras_per_1000": shown(r.cameras_per_1000, 2),
             "share_postcodes_near": shown(r.share_postcodes_near, 1, 100), "in_view_km2": shown(r.in_view_km2, 3),
             "share_in_view": shown(r.share_in_view, 2, 100)} for r in table.itertuples()]
    hidden = int(table["registrations"].isna().sum())
    note = (f"{note} {hidden:,} of {len(table):,} areas show no count: fewer than {k} registrations, or hidden so that "
            f"a hidden count cannot be worked out from the others. Postcodes nearby: a registered camera within {near} m "
            f"of the postcode's centre. Ground in view: the union of the cameras' fields of view (direction known or "
            f"all-round; the kind's typical angle and range where the owner gave none), estimated on a 5 m grid.")
    base = small_areas_geojson(rt.reference) if level == "lsoa" else districts_geojson(rt.reference)
    values = {r.code: float(r.registrations_per_1000) for r in table.itertuples() if not pd.isna(r.registrations_per_1000)}
    tooltips = {r.code: (f"{shown(r.registrations)} registrations; {shown(r.registrations_per_1000, 2) or '–'} per 1,000 "
                         f"households; {shown(r.share_postcodes_near, 1, 100) or '–'}% of postcodes with a camera "
                         f"within {near} m") for r in table.itertuples()}
    layer, breaks = choropleth(base, values, tooltips)
    key = legend("Registrations per 1,000 households", breaks, min(values.values(), default=0.0),
                 f"not shown (fewer than {k} registrations)", decimals=1)
    return rows, note, layer, key


def _choice(value: str | None) -> str | None:
    return None if value in (None, "", ALL) else value


def layout(rt, _user) -> html.Div:
    k = rt.settings.k_min
    query = cell_query(8, None, None, None, None)
    cells = _cells(query)
    geojson, breaks, lowest = _features(cells, k)
    select = lambda id_, label, options: dbc.Col([dbc.Label(label, html_for=id_), dbc.Select(  # noqa: E731
        id=id_, options=[{"label": "All", "value": ALL}, *options], value=ALL)], md=3, sm=6)
    controls = dbc.Row([
        dbc.Col([dbc.Label("Cell size", html_for=RES), dbc.Select(
            id=RES, options=[{"label": v, "value": str(r)} for r, v in RESOLUTIONS.items()], value="8")], md=3, sm=6),
        select(KIND, "Camera kind", [{"label": v, "value": c} for c, v in CAMERA_KINDS.items()]),
        select(PLACEMENT, "Indoors or outdoors", [{"label": "Outdoors", "value": "outdoor"},
                                                  {"label": "Indoors", "value": "indoor"}]),
        select(DIRECTION, "Direction", [{"label": "Known", "value": "known"}, {"label": "Not known", "value": "unknown"}]),
        dbc.Col([dbc.Label("Registered by", html_for=BY), dbc.Input(id=BY, type="date")], md=3, sm=6),
    ], className="g-3 mb-3")
    area_rows, area_note, area_layer, area_key = _area_rows("district", DEFAULT_RADIUS_M)
    cell_map = area_map(MAP, rt.reference, rt.settings, [
        district_outlines(rt.reference, f"{PREFIX}districts"),
        dl.GeoJSON(data=geojson, id=CELLS, style=js("cellStyle"), onEachFeature=js("cellTooltip"), hideout={"k": k}),
    ], height="560px")
    areas_map = area_map(AREA_MAP, rt.reference, rt.settings, [
        dl.GeoJSON(data=area_layer, id=AREA_LAYER, style=js("districtStyle"), hoverStyle=js("districtHover")),
    ], height="480px")
    area_controls = dbc.Row([
        dbc.Col(dbc.RadioItems(id=LEVEL, options=[{"label": "Districts", "value": "district"},
                                                  {"label": "Small areas (LSOA)", "value": "lsoa"}],
                               value="district", inline=True), md="auto", className="d-flex align-items-end"),
        dbc.Col([dbc.Label("Postcodes with a camera within", html_for=NEAR), dbc.Select(
            id=NEAR, options=[{"label": f"{r} m", "value": str(r)} for r in NEAR_CHOICES_M],
            value=str(DEFAULT_RADIUS_M))], md=3),
    ], className="g-3 mb-2")
    return html.Div([
        html.H1("Coverage", className="h3 mb-1"),
        html.P(f"Active registered cameras per cell of a fixed hexagon grid. A cell with fewer than {k} "
               "registrations shows no number.", className="text-secondary"),
        controls,
        html.P(_summary(cells, k), id=SUMMARY, className="small", role="status"),
        html.Div([cell_map, html.Div(_legend(breaks, lowest, k), id=LEGEND)], className="map-wrap mb-2"),
        html.Div([html.Span("Download these cells: ", className="me-1"),
                  html.Span(_export_links("cells", _cell_args(query)), id=CELL_EXPORTS)], className="small mb-4"),
        html.H2("By area", className="h5"),
        area_controls,
        html.Div([areas_map, html.Div(area_key, id=AREA_LEGEND)], className="map-wrap mb-3"),
        dag.AgGrid(id=AREAS, columnDefs=AREA_COLUMNS, rowData=area_rows,
                   defaultColDef={"sortable": True, "resizable": True, "wrapHeaderText": True,
                                  "autoHeaderHeight": True}, dashGridOptions={"animateRows": False},
                   columnSize="responsiveSizeToFit", style={"height": "440px", "width": "100%"}),
        html.P(area_note, id=AREAS_NOTE, className="small text-secondary mt-2"),
        html.Div([html.Span("Download this table with the area outlines: ", className="me-1"),
                  html.Span(_export_links("areas", urlencode({"level": "district", "near": DEFAULT_RADIUS_M})),
                            id=AREA_EXPORTS)], className="small mb-4"),
    ])


def register_callbacks(app) -> None:
    @app.callback(
        Output(CELLS, "data"), Output(LEGEND, "children"), Output(SUMMARY, "children"), Output(CELL_EXPORTS, "children"),
        Input(RES, "value"), Input(KIND, "value"), Input(PLACEMENT, "value"), Input(DIRECTION, "value"),
        Input(BY, "value"), prevent_initial_call=True,
    )
    def redraw(res, kind, placement, direction, by):
        k = runtime().settings.k_min
        query = cell_query(res, kind, placement, direction, by)
        cells = _cells(query)
        geojson, breaks, lowest = _features(cells, k)
        return geojson, _legend(breaks, lowest, k), _summary(cells, k), _export_links("cells", _cell_args(query))

    @app.callback(Output(AREAS, "rowData"), Output(AREAS_NOTE, "children"), Output(AREA_LAYER, "data"),
                  Output(AREA_LEGEND, "children"), Output(AREA_EXPORTS, "children"),
                  Input(LEVEL, "value"), Input(NEAR, "value"), prevent_initial_call=True)
    def areas(level, near):
        level, near = ("lsoa" if level == "lsoa" else "district"), _near(near)
        return (*_area_rows(level, near), _export_links("areas", urlencode({"level": level, "near": near})))


PAGE = Page(path=PATH, title="Coverage", roles=frozenset({"analyst", "lead"}), id_prefix=PREFIX, layout=layout,
            register_callbacks=register_callbacks)
