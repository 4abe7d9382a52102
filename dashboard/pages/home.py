"""Overview: the landing page after login, for every role. Aggregates only, every figure through the
disclosure-control layer (slightly adjusted; nothing drawn from fewer than K registrations)."""

from __future__ import annotations

import datetime as dt
import html as html_text

import dash_bootstrap_components as dbc
import dash_leaflet as dl
import pandas as pd
from dash import Input, Output, html

from dashboard.analytics.overview import LEVELS_NOTE, Headline, district_table, districts_covered, headline
from dashboard.cache import VERSIONED_TTL_S, cache
from dashboard.components.colour import NO_DATA, class_breaks, class_colours, colour_for
from dashboard.components.maps import area_map, js
from dashboard.core.uktime import uk_day
from dashboard.core.vocab import ROLES
from dashboard.figures import register_version
from dashboard.geo.reference import districts_geojson
from dashboard.pages import Page
from dashboard.registry.models import utcnow
from dashboard.registry.queries import registry_summary
from dashboard.runtime_access import runtime

PREFIX = "home-"
STATS = "home-stats"
MAP = "home-map"
DISTRICTS = "home-districts"
METRIC = "home-metric"
LEGEND = "home-legend"
TABLE = "home-table"
PROTECTION = "home-protection"

METRICS = {
    "registrations_per_1000": "Registrations per 1,000 households",
    "cameras_per_1000": "Cameras per 1,000 households",
}


def _stat_card(label: str, value: str, note: str, card_id: str) -> dbc.Col:
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                [
                    html.P(label, className="stat-label mb-1"),
                    html.P(value, className="stat-value mb-0", id=card_id),
                    html.P(note, className="stat-note mb-0"),
                ]
            ),
            className="h-100 stat-card",
        ),
        xs=12,
        sm=6,
        xl=3,
    )


def _table(table: pd.DataFrame, k: int) -> dbc.Table:
    def cell(v, rate=False, count=True):
        if pd.isna(v):
            return html.Td(
                f"fewer than {k}" if count and not rate else "not shown",
                className="text-secondary text-end text-nowrap",
            )
        return html.Td(f"{v:,.1f}" if rate else f"{int(v):,}", className="text-end")

    header = html.Thead(
        html.Tr(
            [
                html.Th("District", scope="col"),
                html.Th(
                    ["Households", html.Br(), html.Small("Census 2021", className="fw-normal")],
                    scope="col",
                    className="text-end",
                ),
                html.Th("Registrations", scope="col", className="text-end"),
                html.Th("Cameras", scope="col", className="text-end"),
                html.Th(
                    ["Per 1,000", html.Br(), html.Small("households", className="fw-normal")],
                    scope="col",
                    className="text-end",
                ),
            ]
        )
    )
    ordered = table.sort_values("registrations_per_1000", ascending=False, na_position="last")
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Th(r.name, scope="row", className="fw-normal"),
                    cell(r.households, count=False),
                    cell(r.registrations),
                    cell(r.cameras),
                    cell(r.registrations_per_1000, rate=True),
                ]
            )
            for r in ordered.itertuples()
        ]
    )
    return dbc.Table([header, body], hover=True, size="sm", responsive=True, id=TABLE, className="mb-0 district-table")


def _district_features(geojson: dict, table: pd.DataFrame, metric: str, k: int) -> tuple[dict, list[float], float]:
    values = table.set_index("code")[metric]
    shown_values = [float(v) for v in values.dropna()]
    breaks = class_breaks(shown_values)
    features = []
    for feature in geojson["features"]:
        props = dict(feature["properties"])
        value = values.get(props["code"])
        shown = None if value is None or pd.isna(value) else float(value)
        props["fill"] = colour_for(shown, breaks)
        label = METRICS[metric]
        value_text = f"{shown:,.1f}" if shown is not None else f"fewer than {k} registrations"
        props["tooltip"] = f"<strong>{html_text.escape(props['name'])}</strong><br>{label}: {value_text}"
        features.append({**feature, "properties": props})
    return {"type": "FeatureCollection", "features": features}, breaks, min(shown_values, default=0.0)


def _legend(breaks: list[float], lowest: float, metric: str, k: int) -> html.Div:
    items = []
    lower = lowest
    for colour, upper in zip(class_colours(breaks), breaks):
        items.append(
            html.Li(
                [html.Span(className="legend-swatch", style={"background": colour}), f"{lower:,.1f} – {upper:,.1f}"]
            )
        )
        lower = upper
    items.append(
        html.Li([html.Span(className="legend-swatch", style={"background": NO_DATA}), f"fewer than {k} registrations"])
    )
    return html.Div(
        [html.P(METRICS[metric], className="legend-title mb-1"), html.Ul(items, className="legend-list")],
        className="map-legend",
    )


def _district_figures() -> tuple[pd.DataFrame, Headline]:
    """The overview's published figures of the register as it is now: the register's version is
    read first, so a change made through any server is on this page at its next load."""
    return _figures_at(register_version(), uk_day(utcnow()))


@cache.memoize(timeout=VERSIONED_TTL_S)
def _figures_at(version: int, today: dt.date) -> tuple[pd.DataFrame, Headline]:
    """The figures at one version of the register and UK day (the last 7 days move with the day)."""
    rt = runtime()
    with rt.sessions() as s:
        summary = registry_summary(s, utcnow())
    return district_table(summary.by_district, rt.reference.districts, rt.disclosure), headline(summary, rt.disclosure)


def _text(value: int | None, k: int) -> str:
    return f"fewer than {k}" if value is None else f"{value:,}"


def layout(rt, user) -> html.Div:
    settings, ref = rt.settings, rt.reference
    k = rt.disclosure.k
    table, figures = _district_figures()
    covered = districts_covered(table)
    metric = "registrations_per_1000"
    geojson, breaks, lowest = _district_features(districts_geojson(ref), table, metric, k)
    stats = dbc.Row(
        [
            _stat_card(
                "Active registrations",
                _text(figures.active_registrations, k),
                "Sites whose owners have not withdrawn",
                "home-stat-registrations",
            ),
            _stat_card(
                "Cameras on the register", _text(figures.active_cameras, k), "At active sites", "home-stat-cameras"
            ),
            _stat_card(
                "Registered in the last 7 days",
                _text(figures.registrations_last_7_days, k),
                f"Since {figures.first_recent_day:%-d %B}, still active today",
                "home-stat-recent",
            ),
            _stat_card(
                "Districts covered",
                f"{covered} of {len(ref.districts)}",
                "Districts whose count is shown",
                "home-stat-districts",
            ),
        ],
        className="g-3 mb-3",
        id=STATS,
    )
    district_map = area_map(
        MAP,
        ref,
        settings,
        [
            dl.GeoJSON(data=geojson, id=DISTRICTS, style=js("districtStyle"), hoverStyle=js("districtHover")),
        ],
    )
    return html.Div(
        [
            html.H1(f"{ref.force_name}: the register today", className="h3 mb-1"),
            html.P(
                "Voluntarily registered private cameras. Figures are aggregates; any count from fewer than "
                f"{k} registrations is not shown.",
                className="text-secondary mb-1",
            ),
            html.P([rt.disclosure.describe(), " ", LEVELS_NOTE], id=PROTECTION, className="small text-secondary mb-3"),
            stats,
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader(html.H2("Registrations by district", className="h6 mb-0")),
                                dbc.CardBody(
                                    [
                                        dbc.RadioItems(
                                            id=METRIC,
                                            options=[{"label": v, "value": k_} for k_, v in METRICS.items()],
                                            value=metric,
                                            inline=True,
                                            className="mb-2",
                                        ),
                                        html.Div(
                                            [district_map, html.Div(_legend(breaks, lowest, metric, k), id=LEGEND)],
                                            className="map-wrap",
                                        ),
                                    ]
                                ),
                            ]
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader(html.H2("Districts", className="h6 mb-0")),
                                dbc.CardBody(_table(table, k), className="p-0"),
                            ]
                        ),
                        lg=5,
                        className="mb-3",
                    ),
                ],
            ),
        ]
    )


def recolour(metric) -> dict:
    """The district map and its legend coloured by ``metric`` (registrations per 1,000 households when
    the value is not one of METRICS); districts with too few registrations stay uncoloured."""
    metric = metric if metric in METRICS else "registrations_per_1000"
    rt = runtime()
    table = _district_figures()[0]
    geojson, breaks, lowest = _district_features(districts_geojson(rt.reference), table, metric, rt.disclosure.k)
    return {"districts": geojson, "legend": _legend(breaks, lowest, metric, rt.disclosure.k)}


def register_callbacks(app) -> None:
    app.callback(
        output={"districts": Output(DISTRICTS, "data"), "legend": Output(LEGEND, "children")},
        inputs=[Input(METRIC, "value")],
        prevent_initial_call=True,
    )(recolour)


PAGE = Page(
    path="/",
    title="Overview",
    roles=frozenset(ROLES),
    id_prefix=PREFIX,
    layout=layout,
    register_callbacks=register_callbacks,
)
