"""Coverage (analysts; project leads too): where registered cameras are, on a fixed H3 grid, and
per district or small area (rates per 1,000 households, postcodes with a camera nearby, ground in
view), with CSV/GeoJSON/GeoPackage downloads of both.

Only counts per cell or area reach this page, each through the disclosure-control layer (promise 4):
slightly adjusted by its cell key, and nothing drawn from fewer than K registrations shows a number
(at the finest grid such a cell is not drawn at all). The grid is fixed when a site is written, so no
view can split a cell; there is no date filter and one camera filter at a time.
"""

from __future__ import annotations

from urllib.parse import urlencode

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import dash_leaflet as dl
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely.geometry
from dash import Input, Output, html
from flask import Blueprint, Response, abort, request

from dashboard.analytics.coverage import (
    CAMERA_CHOICES,
    FINEST_RESOLUTION,
    HOUSEHOLDS_SOURCE,
    LEVELS_NOTE,
    NO_DATE_FILTER,
    camera_choice,
    cell_geometry,
    one_filter,
)
from dashboard.analytics.exports import FORMATS, export_bytes
from dashboard.api.schemas import NEAR_CHOICES_M
from dashboard.components.colour import BLUES, legend_breaks
from dashboard.components.grid_columns import WRAP_HEADERS, number_column
from dashboard.components.legend import legend
from dashboard.components.loading import loading
from dashboard.components.maps import area_map, choropleth, district_outlines, js
from dashboard.core.vocab import CAMERA_KINDS
from dashboard.figures import areas_for, cells_shown
from dashboard.geo.reference import districts_geojson, small_areas_geojson
from dashboard.pages import Page
from dashboard.runtime_access import runtime

PREFIX = "coverage-"
RES, CAMERAS = "coverage-res", "coverage-cameras"
MAP, CELLS, LEGEND, SUMMARY = "coverage-map", "coverage-cells", "coverage-legend", "coverage-summary"
PROTECTION = "coverage-protection"
LEVEL, AREAS, AREAS_NOTE = "coverage-level", "coverage-areas", "coverage-areas-note"
NEAR, AREA_MAP, AREA_LAYER, AREA_LEGEND = (
    "coverage-near",
    "coverage-area-map",
    "coverage-area-layer",
    "coverage-area-legend",
)
CELL_EXPORTS, AREA_EXPORTS = "coverage-cell-exports", "coverage-area-exports"
PATH = "/coverage"
DEFAULT_NEAR_M = 100
AREA_COLUMNS = [
    {"field": "name", "headerName": "Area", "flex": 2, "filter": True, "minWidth": 180},
    number_column("households", "Households"),
    number_column("registrations", "Registrations"),
    number_column("cameras", "Cameras"),
    number_column("registrations_per_1000", "Registrations per 1,000 households", 1, sort="desc", minWidth=165),
    number_column("cameras_per_1000", "Cameras per 1,000 households", 1),
    number_column("share_postcodes_near", "Postcodes with a camera nearby (%)", 1),
    number_column("in_view_km2", "Ground in view (km²)", 3),
    number_column("share_in_view", "Ground in view (% of area)", 2),
]
RESOLUTIONS = {7: "Large (about 5 km² each)", 8: "Medium (about 0.7 km²)", 9: "Small (about 0.1 km²)"}
ALL = "all"


def cell_query(res, cameras) -> dict:
    """Checked cell filters from the page's controls: the cell size and the one "Cameras" choice.
    The controls can only send known values; a forged one means the default (medium cells, all
    cameras)."""
    choice = cameras if isinstance(cameras, str) and cameras in CAMERA_CHOICES else ALL
    return {"res": int(res) if str(res) in {"7", "8", "9"} else 8, **one_filter(**CAMERA_CHOICES[choice][1])}


def export_cell_query(args) -> dict:
    """Checked cell filters from an export URL (typed or scripted by hand): res and at most one
    of kind, placement, direction; ValueError naming what is wrong."""
    if "by" in args or "registered_by" in args:
        raise ValueError(NO_DATE_FILTER)
    checks = [
        ("res", {"7", "8", "9"}),
        ("kind", set(CAMERA_KINDS)),
        ("placement", {"outdoor", "indoor"}),
        ("direction", {"known", "unknown"}),
    ]
    for name, allowed in checks:
        value = args.get(name)
        if value not in (None, "", ALL) and value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(sorted(allowed))}, got {value!r}")
    return {
        "res": int(args.get("res") or 8),
        **one_filter(
            _choice(args.get("kind")),
            _choice(args.get("placement")),
            {"known": True, "unknown": False}.get(_choice(args.get("direction"))),
        ),
    }


def _cells(query: dict) -> pd.DataFrame:
    return cells_shown(query["res"], query["kind"], query["placement"], query["direction_known"])


def _cell_args(query: dict) -> str:
    direction = {True: "known", False: "unknown"}.get(query["direction_known"])
    args = {"res": query["res"], "kind": query["kind"], "placement": query["placement"], "direction": direction}
    return urlencode({k: v for k, v in args.items() if v is not None})


def _near(value) -> int:
    return int(value) if str(value) in {str(r) for r in NEAR_CHOICES_M} else DEFAULT_NEAR_M


files = Blueprint("coverage_files", __name__)


@files.get(f"{PATH}/export/<layer>.<fmt>")
def export(layer: str, fmt: str):
    """The cell layer or the area table as CSV, GeoJSON or GeoPackage, published as on the page
    (the access guard admits this page's roles)."""
    if layer not in ("cells", "areas") or fmt not in FORMATS:
        abort(404)
    a = request.args
    try:
        if a.get("level") not in (None, "district", "lsoa") or a.get("near") not in (None, *map(str, NEAR_CHOICES_M)):
            raise ValueError(f"level must be district or lsoa and near one of {', '.join(map(str, NEAR_CHOICES_M))}")
        query = export_cell_query(a) if layer == "cells" else None
    except ValueError as exc:
        return Response(f"Cannot export: {str(exc).rstrip('.')}.", status=400, mimetype="text/plain")
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
    return [
        html.A(
            "GeoPackage" if fmt == "gpkg" else fmt.upper(),
            href=f"{PATH}/export/{layer}.{fmt}?{args}",
            id=f"{PREFIX}export-{layer}-{fmt}",
            className="me-2",
            download="",
        )
        for fmt in FORMATS
    ]


def _features(cells: pd.DataFrame, layer) -> tuple[dict, list[float], float]:
    """The cells as GeoJSON, kept small (a whole-force layer at the finest grid has ~9,000 cells):
    properties are ``c``, the colour's index in ``BLUES`` and, for shown cells only, the published
    counts ``n`` (cameras) and ``r`` (registrations), or none when not shown; ``assets/js/map.js``
    styles them and writes the tooltips. A cell without a published number carries no number at all."""
    hidden = cells["suppressed"].to_numpy(bool)
    cameras = cells["cameras"].to_numpy(dtype="float64", na_value=np.nan)
    registrations = cells["registrations"].to_numpy(dtype="float64", na_value=np.nan)
    shown = cameras[~hidden].tolist()
    breaks = legend_breaks(shown, layer.ptable.max_perturbation)
    # class_index for every cell at once: the first class whose upper bound holds the value
    # (the last when none does); one class is drawn in the darkest blue (class_colours).
    index = np.minimum(
        np.searchsorted(np.asarray(breaks, dtype="float64"), cameras, side="left"), max(len(breaks) - 1, 0)
    )
    colour = np.full(len(cells), len(BLUES) - 1) if len(breaks) == 1 else np.minimum(index, len(BLUES) - 1)
    features = []
    for cell, c, n, r, no_number in zip(
        cells["cell"].tolist(), colour.tolist(), cameras.tolist(), registrations.tolist(), hidden.tolist()
    ):
        properties = {} if no_number else {"c": c, "n": int(n), "r": int(r)}
        features.append({"type": "Feature", "geometry": cell_geometry(cell), "properties": properties})
    return {"type": "FeatureCollection", "features": features}, breaks, min(shown, default=0.0)


def _why_no_number(k: int, res: int, filtered: bool) -> str:
    reasons = ([] if res >= FINEST_RESOLUTION else [f"fewer than {k} registrations"]) + (
        ["hidden with this filter"] if filtered else []
    )
    return " or ".join(reasons)


def _legend(breaks: list[float], lowest: float, k: int, query: dict) -> html.Div:
    filtered = any(query[name] is not None for name in ("kind", "placement", "direction_known"))
    why = _why_no_number(k, query["res"], filtered)
    hidden = f"no number: {why}" if why else f"not drawn: fewer than {k} registrations"
    return legend("Cameras per cell (adjusted)", breaks, lowest, hidden)


def _summary(cells: pd.DataFrame, k: int, query: dict) -> str:
    filtered = any(query[name] is not None for name in ("kind", "placement", "direction_known"))
    hidden = int(cells["suppressed"].sum())
    shown = cells.loc[~cells["suppressed"]]
    cams = int(shown["cameras"].sum()) if len(shown) else 0
    text = f"{len(cells):,} cells drawn; {len(shown):,} show a number, with about {cams:,} cameras between them"
    why = _why_no_number(k, query["res"], filtered)
    text += f"; {hidden:,} show no number ({why})." if why else "."
    if query["res"] >= FINEST_RESOLUTION:
        text += f" At this cell size a cell with fewer than {k} registrations is not drawn at all."
    return text


def _area_rows(level: str, near: int) -> tuple[list[dict], str, dict, html.Div]:
    """Table rows, the note under them, the choropleth layer and its legend."""
    rt = runtime()
    k = rt.disclosure.k
    table = areas_for(level, near)

    def shown(v, digits=None, scale=1.0, hidden=None):
        if pd.isna(v):
            return hidden
        return int(v) if digits is None else round(float(v) * scale, digits)

    fewer, not_shown = f"fewer than {k}", "not shown"
    rows = [
        {
            "name": r.name,
            "households": shown(r.households, 0, hidden="no estimate"),
            "registrations": shown(r.registrations, hidden=fewer),
            "cameras": shown(r.cameras, hidden=not_shown),
            "registrations_per_1000": shown(r.registrations_per_1000, 1, hidden=not_shown),
            "cameras_per_1000": shown(r.cameras_per_1000, 1, hidden=not_shown),
            "share_postcodes_near": shown(r.share_postcodes_near, 1, 100, hidden=not_shown),
            "in_view_km2": shown(r.in_view_km2, 3, hidden=not_shown),
            "share_in_view": shown(r.share_in_view, 2, 100, hidden=not_shown),
        }
        for r in table.itertuples()
    ]
    hidden = int(table["registrations"].isna().sum())
    note = (
        f"{'LSOA' if level == 'lsoa' else 'District'} households: {HOUSEHOLDS_SOURCE[level]}. "
        f"{hidden:,} of {len(table):,} areas show no count: fewer than {k} registrations. "
        f"{rt.disclosure.describe()} {LEVELS_NOTE} Postcodes nearby: a registered camera within {near} m of "
        f"the postcode's centre (the share is the adjusted count of such postcodes over all the area's postcodes; "
        f"not shown when fewer than {k} registrations are near them). Ground in view: the union of the cameras' "
        f"fields of view (direction known or all-round; the kind's typical angle and range where the owner gave "
        f"none), estimated on a 5 m grid and adjusted by a few per cent."
    )
    base = small_areas_geojson(rt.reference) if level == "lsoa" else districts_geojson(rt.reference)
    values = {
        r.code: float(r.registrations_per_1000) for r in table.itertuples() if not pd.isna(r.registrations_per_1000)
    }
    tooltips = {
        r.code: (
            f"{shown(r.registrations, hidden=fewer)} registrations; "
            f"{shown(r.registrations_per_1000, 1) or '–'} per 1,000 households; "
            f"{shown(r.share_postcodes_near, 1, 100) or '–'}% of postcodes with a camera "
            f"within {near} m"
        )
        for r in table.itertuples()
    }
    layer, breaks = choropleth(base, values, tooltips)
    key = legend(
        "Registrations per 1,000 households",
        breaks,
        min(values.values(), default=0.0),
        f"not shown (fewer than {k} registrations)",
        decimals=1,
    )
    return rows, note, layer, key


def _choice(value: str | None) -> str | None:
    return None if value in (None, "", ALL) else value


def layout(rt, _user) -> html.Div:
    k = rt.disclosure.k
    query = cell_query("8", ALL)
    cells = _cells(query)
    geojson, breaks, lowest = _features(cells, rt.disclosure)
    controls = dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label("Cell size", html_for=RES),
                    dbc.Select(
                        id=RES, options=[{"label": v, "value": str(r)} for r, v in RESOLUTIONS.items()], value="8"
                    ),
                ],
                md=3,
                sm=6,
            ),
            dbc.Col(
                [
                    dbc.Label("Cameras", html_for=CAMERAS),
                    dbc.Select(
                        id=CAMERAS,
                        options=[{"label": label, "value": value} for value, (label, _) in CAMERA_CHOICES.items()],
                        value=camera_choice({}),
                    ),
                ],
                md=3,
                sm=6,
            ),
            dbc.Col(
                html.P(
                    "One choice at a time, and no date filter: combined filters or dates could narrow a cell "
                    "down to a handful of owners.",
                    className="small text-secondary mb-0",
                ),
                md=6,
                className="d-flex align-items-end",
            ),
        ],
        className="g-3 mb-3",
    )
    area_rows, area_note, area_layer, area_key = _area_rows("district", DEFAULT_NEAR_M)
    cell_map = area_map(
        MAP,
        rt.reference,
        rt.settings,
        [
            district_outlines(rt.reference, f"{PREFIX}districts"),
            dl.GeoJSON(
                data=geojson, id=CELLS, style=js("cellStyle"), onEachFeature=js("cellTooltip"), hideout={"k": k}
            ),
        ],
        height="560px",
    )
    areas_map = area_map(
        AREA_MAP,
        rt.reference,
        rt.settings,
        [
            dl.GeoJSON(data=area_layer, id=AREA_LAYER, style=js("districtStyle"), hoverStyle=js("districtHover")),
        ],
        height="480px",
    )
    area_controls = dbc.Row(
        [
            dbc.Col(
                dbc.RadioItems(
                    id=LEVEL,
                    options=[
                        {"label": "Districts", "value": "district"},
                        {"label": "Small areas (LSOA)", "value": "lsoa"},
                    ],
                    value="district",
                    inline=True,
                ),
                md="auto",
                className="d-flex align-items-end",
            ),
            dbc.Col(
                [
                    dbc.Label("Postcodes with a camera within", html_for=NEAR),
                    dbc.Select(
                        id=NEAR,
                        options=[{"label": f"{r} m", "value": str(r)} for r in NEAR_CHOICES_M],
                        value=str(DEFAULT_NEAR_M),
                    ),
                ],
                md=3,
            ),
        ],
        className="g-3 mb-2",
    )
    return html.Div(
        [
            html.H1("Coverage", className="h3 mb-1"),
            html.P(
                f"Active registered cameras per cell of a fixed hexagon grid. A cell with fewer than {k} "
                f"registrations shows no number; at the small cell size it is not drawn at all.",
                className="text-secondary mb-1",
            ),
            html.P([rt.disclosure.describe(), " ", LEVELS_NOTE], id=PROTECTION, className="small text-secondary"),
            controls,
            html.P(_summary(cells, k, query), id=SUMMARY, className="small", role="status"),
            html.Div(
                [loading(cell_map), html.Div(_legend(breaks, lowest, k, query), id=LEGEND)], className="map-wrap mb-2"
            ),
            html.Div(
                [
                    html.Span("Download these cells: ", className="me-1"),
                    html.Span(_export_links("cells", _cell_args(query)), id=CELL_EXPORTS),
                ],
                className="small mb-4",
            ),
            html.H2("By area", className="h5"),
            area_controls,
            html.Div([loading(areas_map), html.Div(area_key, id=AREA_LEGEND)], className="map-wrap mb-3"),
            loading(
                dag.AgGrid(
                    id=AREAS,
                    columnDefs=AREA_COLUMNS,
                    rowData=area_rows,
                    defaultColDef={"minWidth": 110, "sortable": True, "resizable": True, **WRAP_HEADERS},
                    dashGridOptions={"animateRows": False},
                    columnSize="responsiveSizeToFit",
                    style={"height": "440px", "width": "100%"},
                )
            ),
            html.P(area_note, id=AREAS_NOTE, className="small text-secondary mt-2"),
            html.Div(
                [
                    html.Span("Download this table with the area outlines: ", className="me-1"),
                    html.Span(
                        _export_links("areas", urlencode({"level": "district", "near": DEFAULT_NEAR_M})),
                        id=AREA_EXPORTS,
                    ),
                ],
                className="small mb-4",
            ),
        ]
    )


def redraw_cells(res, cameras) -> dict:
    """The coverage map at cell size ``res`` for the cameras chosen (``cameras``: "all" or "aspect:value"),
    with its legend, the summary under it and the links to download the same cells; cells with fewer
    than k cameras are not coloured."""
    layer = runtime().disclosure
    query = cell_query(res, cameras)
    cells = _cells(query)
    geojson, breaks, lowest = _features(cells, layer)
    return {
        "cells": geojson,
        "legend": _legend(breaks, lowest, layer.k, query),
        "summary": _summary(cells, layer.k, query),
        "exports": _export_links("cells", _cell_args(query)),
    }


def area_table(level, near) -> dict:
    """The areas' table and map at ``level`` ("lsoa", else districts) counting households within ``near``
    metres of a camera, with the map's legend, the table's note and the download links."""
    level, near = ("lsoa" if level == "lsoa" else "district"), _near(near)
    rows, note, layer, key = _area_rows(level, near)
    return {
        "rows": rows,
        "note": note,
        "layer": layer,
        "legend": key,
        "exports": _export_links("areas", urlencode({"level": level, "near": near})),
    }


def register_callbacks(app) -> None:
    app.callback(
        output={
            "cells": Output(CELLS, "data"),
            "legend": Output(LEGEND, "children"),
            "summary": Output(SUMMARY, "children"),
            "exports": Output(CELL_EXPORTS, "children"),
        },
        inputs=[Input(RES, "value"), Input(CAMERAS, "value")],
        prevent_initial_call=True,
    )(redraw_cells)
    app.callback(
        output={
            "rows": Output(AREAS, "rowData"),
            "note": Output(AREAS_NOTE, "children"),
            "layer": Output(AREA_LAYER, "data"),
            "legend": Output(AREA_LEGEND, "children"),
            "exports": Output(AREA_EXPORTS, "children"),
        },
        inputs=[Input(LEVEL, "value"), Input(NEAR, "value")],
        prevent_initial_call=True,
    )(area_table)


PAGE = Page(
    path=PATH,
    title="Coverage",
    roles=frozenset({"analyst", "lead"}),
    id_prefix=PREFIX,
    layout=layout,
    register_callbacks=register_callbacks,
)
