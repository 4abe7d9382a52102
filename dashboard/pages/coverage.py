"""Coverage (analysts; project leads too): where registered cameras are, on a fixed H3 grid.

Only counts per cell reach this page, and a cell with fewer than K registrations shows no
number (promise 4). The grid is fixed when a site is written, so no view can split a cell.
"""
from __future__ import annotations

import datetime as dt

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import dash_leaflet as dl
import pandas as pd
from dash import Input, Output, html

from dashboard.analytics.coverage import HOUSEHOLDS_SOURCE, area_table, areas_for_level, cell_geometry
from dashboard.cache import OVERVIEW_TTL_S, cache
from dashboard.components.colour import BLUES, colour_for, quantile_breaks
from dashboard.components.legend import legend
from dashboard.components.maps import area_map, district_outlines, js
from dashboard.pages import Page
from dashboard.registry.queries import registrations_by_area
from dashboard.registry.vocab import CAMERA_KINDS
from dashboard.figures import cells_shown
from dashboard.runtime_access import runtime

PREFIX = "coverage-"
RES, KIND, PLACEMENT, DIRECTION, BY = ("coverage-res", "coverage-kind", "coverage-placement", "coverage-direction",
                                       "coverage-by")
MAP, CELLS, LEGEND, SUMMARY = "coverage-map", "coverage-cells", "coverage-legend", "coverage-summary"
LEVEL, AREAS, AREAS_NOTE = "coverage-level", "coverage-areas", "coverage-areas-note"
AREA_COLUMNS = [
    {"field": "name", "headerName": "Area", "flex": 2, "filter": True},
    {"field": "households", "headerName": "Households", "type": "numericColumn"},
    {"field": "registrations", "headerName": "Registrations", "type": "numericColumn"},
    {"field": "cameras", "headerName": "Cameras", "type": "numericColumn"},
    {"field": "registrations_per_1000", "headerName": "Registrations per 1,000 households", "type": "numericColumn",
     "sort": "desc"},
    {"field": "cameras_per_1000", "headerName": "Cameras per 1,000 households", "type": "numericColumn"},
]
RESOLUTIONS = {7: "Large (about 5 km² each)", 8: "Medium (about 0.7 km²)", 9: "Small (about 0.1 km²)"}
ALL = "all"


def _cells(res: int, kind: str | None, placement: str | None, by: str | None, direction: str | None) -> pd.DataFrame:
    return cells_shown(res, kind, placement, dt.date.fromisoformat(by) if by else None,
                       None if direction is None else direction == "known")


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


@cache.memoize(timeout=OVERVIEW_TTL_S)
def _area_rows(level: str) -> tuple[list[dict], str]:
    rt = runtime()
    k = rt.settings.k_min
    note = f"{'LSOA' if level == 'lsoa' else 'District'} households: {HOUSEHOLDS_SOURCE[level]}."
    with rt.sessions() as s:
        table = area_table(registrations_by_area(s, level), areas_for_level(rt.reference, level), k)

    def shown(v, digits=None):
        if pd.isna(v):
            return f"fewer than {k}" if digits is None else None
        return int(v) if digits is None else round(float(v), digits)

    rows = [{"name": r.name, "households": shown(r.households, 0), "registrations": shown(r.registrations),
             "cameras": shown(r.cameras), "registrations_per_1000": shown(r.registrations_per_1000, 2),
             "cameras_per_1000": shown(r.cameras_per_1000, 2)} for r in table.itertuples()]
    hidden = int(table["registrations"].isna().sum())
    return rows, f"{note} {hidden:,} of {len(table):,} areas show no count: fewer than {k} registrations, or hidden " \
                 "so that a hidden count cannot be worked out from the others."


def _choice(value: str | None) -> str | None:
    return None if value in (None, "", ALL) else value


def layout(rt, _user) -> html.Div:
    k = rt.settings.k_min
    cells = _cells(8, None, None, None, None)
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
    area_rows, area_note = _area_rows("district")
    cell_map = area_map(MAP, rt.reference, rt.settings, [
        district_outlines(rt.reference, f"{PREFIX}districts"),
        dl.GeoJSON(data=geojson, id=CELLS, style=js("cellStyle"), onEachFeature=js("cellTooltip"), hideout={"k": k}),
    ], height="560px")
    return html.Div([
        html.H1("Coverage", className="h3 mb-1"),
        html.P(f"Active registered cameras per cell of a fixed hexagon grid. A cell with fewer than {k} "
               "registrations shows no number.", className="text-secondary"),
        controls,
        html.P(_summary(cells, k), id=SUMMARY, className="small", role="status"),
        html.Div([cell_map, html.Div(_legend(breaks, lowest, k), id=LEGEND)], className="map-wrap mb-4"),
        html.H2("By area", className="h5"),
        dbc.RadioItems(id=LEVEL, options=[{"label": "Districts", "value": "district"},
                                          {"label": "Small areas (LSOA)", "value": "lsoa"}],
                       value="district", inline=True, className="mb-2"),
        dag.AgGrid(id=AREAS, columnDefs=AREA_COLUMNS, rowData=area_rows,
                   defaultColDef={"sortable": True, "resizable": True}, dashGridOptions={"animateRows": False},
                   columnSize="responsiveSizeToFit", style={"height": "420px", "width": "100%"}),
        html.P(area_note, id=AREAS_NOTE, className="small text-secondary mt-2"),
    ])


def register_callbacks(app) -> None:
    @app.callback(
        Output(CELLS, "data"), Output(LEGEND, "children"), Output(SUMMARY, "children"),
        Input(RES, "value"), Input(KIND, "value"), Input(PLACEMENT, "value"), Input(DIRECTION, "value"),
        Input(BY, "value"), prevent_initial_call=True,
    )
    def redraw(res, kind, placement, direction, by):
        k = runtime().settings.k_min
        res = int(res) if str(res) in {"7", "8", "9"} else 8
        kind = _choice(kind) if _choice(kind) in CAMERA_KINDS else None
        placement = _choice(placement) if _choice(placement) in ("outdoor", "indoor") else None
        direction = _choice(direction) if _choice(direction) in ("known", "unknown") else None
        try:
            by = dt.date.fromisoformat(by).isoformat() if by else None
        except ValueError:
            by = None
        cells = _cells(res, kind, placement, by, direction)
        geojson, breaks, lowest = _features(cells, k)
        return geojson, _legend(breaks, lowest, k), _summary(cells, k)

    @app.callback(Output(AREAS, "rowData"), Output(AREAS_NOTE, "children"), Input(LEVEL, "value"),
                  prevent_initial_call=True)
    def areas(level):
        return _area_rows("lsoa" if level == "lsoa" else "district")


PAGE = Page(path="/coverage", title="Coverage", roles=frozenset({"analyst", "lead"}), id_prefix=PREFIX, layout=layout,
            register_callbacks=register_callbacks)
