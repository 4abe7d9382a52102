"""View builders for the officer search: map layers (radius, incident, cameras, field-of-view wedges),
the results grid rows, and the revealed-contacts panel. Plain data in, Dash components out."""

from __future__ import annotations

import html as html_text

import dash_bootstrap_components as dbc
import dash_leaflet as dl
import numpy as np
import pandas as pd
from dash import html

from dashboard.components.maps import js
from dashboard.core.uktime import UK
from dashboard.core.vocab import CAMERA_KINDS, CONTACT_CHANNELS
from dashboard.geo.fov import fov_rings

IN_VIEW_LABELS = {"yes": "Yes", "no": "No", "unknown": "Unknown"}
RETENTION_LABELS = {
    "available": "Available",
    "at_risk": "At risk (48 h)",
    "overwritten": "Likely overwritten",
    "unknown": "Unknown",
}
IN_VIEW_COLOURS = {"yes": "#1a7f37", "unknown": "#9a6700", "no": "#57606a"}


def uk_time(value) -> str:
    if value is None or pd.isna(value):
        return "–"
    return pd.Timestamp(value).tz_convert(UK).strftime("%d %b %Y %H:%M")


def result_summary(results: pd.DataFrame, within_radius: int, radius_m: int, place: str, case_ref: str) -> str:
    """What a search found, in a sentence: how many cameras within the radius, how many have the
    incident in view, and, when there were more than a search lists, that the best are listed.

    >>> ranked = pd.DataFrame({"in_view": ["yes", "yes", "no"]})
    >>> result_summary(ranked, 3, 200, "ST16 2AB", "CR-1")
    '3 registered cameras within 200 m of ST16 2AB; 2 with the incident in view. Case CR-1.'
    >>> result_summary(ranked, 4512, 1000, "ST16 2AB", "CR-1")
    '4,512 registered cameras within 1,000 m of ST16 2AB; the best 3 are listed, 2 of them with the incident in view. Narrow the radius to list the others. Case CR-1.'
    """
    listed = len(results)
    in_view = int((results["in_view"] == "yes").sum()) if listed else 0
    if within_radius <= listed:
        return (
            f"{listed} registered camera{'s' if listed != 1 else ''} within {radius_m:,} m of {place}; "
            f"{in_view} with the incident in view. Case {case_ref}."
        )
    return (
        f"{within_radius:,} registered cameras within {radius_m:,} m of {place}; the best {listed:,} are listed, "
        f"{in_view:,} of them with the incident in view. Narrow the radius to list the others. Case {case_ref}."
    )


def incident_layers(lat: float, lon: float, radius_m: float) -> list:
    return [
        dl.Circle(
            center=[lat, lon],
            radius=radius_m,
            color="#12284c",
            weight=2,
            fill=True,
            fillOpacity=0.04,
            interactive=False,
            id="search-radius-circle",
        ),
        dl.CircleMarker(
            center=[lat, lon],
            radius=7,
            color="#b42318",
            fill=True,
            fillColor="#d92d20",
            fillOpacity=1,
            children=dl.Tooltip("Incident"),
            id="search-incident-marker",
        ),
    ]


def wedges_geojson(results: pd.DataFrame) -> dict:
    """Each camera's field of view as a polygon (a circle of its range when the direction is unknown)."""
    if results.empty:
        return {"type": "FeatureCollection", "features": []}
    rings = fov_rings(
        results["lat"].to_numpy(float),
        results["lon"].to_numpy(float),
        results["direction_deg"].to_numpy(dtype="float64", na_value=np.nan),
        results["fov_angle_deg"].to_numpy(float),
        results["fov_range_m"].to_numpy(float),
        decimals=6,
    )
    views = results["in_view"].astype(str).tolist()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"in_view": view, "colour": IN_VIEW_COLOURS[view]},
            }
            for ring, view in zip(rings, views)
        ],
    }


def cameras_geojson(results: pd.DataFrame) -> dict:
    """The cameras as points, drawn as circle markers by ``ccr.map.cameraMarker`` (one layer, not one
    component per camera), each with a plain-text tooltip."""
    features = []
    for r in results.itertuples():
        view = str(r.in_view)
        tooltip = escape(
            f"#{r.rank} {CAMERA_KINDS.get(r.kind, r.kind)}, {r.distance_m:.0f} m, "
            f"in view: {IN_VIEW_LABELS[view].lower()}"
        )
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(float(r.lon), 6), round(float(r.lat), 6)]},
                "properties": {"colour": IN_VIEW_COLOURS[view], "tooltip": tooltip},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def camera_layers(results: pd.DataFrame) -> list:
    wedges = dl.GeoJSON(data=wedges_geojson(results), style=js("wedgeStyle"), interactive=False, id="search-wedges")
    markers = dl.GeoJSON(data=cameras_geojson(results), pointToLayer=js("cameraMarker"), id="search-cameras")
    return [wedges, markers]


def grid_rows(results: pd.DataFrame) -> list[dict]:
    """Rows for the results grid: what the officer needs to choose, no contact details; ``camera_id``
    holds each camera's public id."""
    rows = []
    for r in results.itertuples():
        rows.append(
            {
                "rank": int(r.rank),
                "camera_id": str(r.camera_id),  # the camera's public id (the caller puts it in)
                "distance_m": round(float(r.distance_m), 1),
                "kind": CAMERA_KINDS.get(r.kind, r.kind),
                "in_view": IN_VIEW_LABELS[r.in_view],
                "kept_until": uk_time(r.retained_until),
                "retention": RETENTION_LABELS[r.retention_status],
                "channel": CONTACT_CHANNELS.get(r.preferred_channel, "–")
                if isinstance(r.preferred_channel, str)
                else "–",
            }
        )
    return rows


def result_cards(rows: list[dict]) -> list[dict]:
    """The results grid's rows as options of a checklist of cards (shown instead of the grid on a
    phone): one card a camera, its value the camera's public id, in the grid's order. Only rows the
    way ``grid_rows`` makes them are shown; anything else the browser sent back is left out."""
    options = []
    for r in sorted(
        (r for r in rows if isinstance(r, dict) and isinstance(r.get("camera_id"), str)),
        key=lambda r: r.get("rank") if isinstance(r.get("rank"), int) else 0,
    ):
        distance = r.get("distance_m")
        distance = f"{distance:,.0f} m" if isinstance(distance, (int, float)) else "–"
        lines = (
            f"Incident in view: {r.get('in_view', '–')}",
            f"Footage: {r.get('retention', '–')}, likely kept until {r.get('kept_until', '–')}",
            f"Contact by: {r.get('channel', '–')} · Camera ",
        )
        # Three components a card, its lines broken by CSS (white-space: pre-line): Dash's renderer
        # works per component, and seven a card kept the page busy for 8 s after a 349-camera search
        # (60 s for 1,000) where this takes about 1 s.
        options.append(
            {
                "value": r["camera_id"],
                "label": html.Span(
                    [
                        html.Strong(f"#{r.get('rank', '')} {r.get('kind', '')} · {distance}"),
                        "\n" + "\n".join(lines),
                        html.Span(r["camera_id"], className="text-nowrap"),  # an id is not broken at its hyphen
                    ],
                    className="result-card-body",
                ),
            }
        )
    return options


GRID_COLUMNS = [
    {"field": "rank", "headerName": "#", "width": 90, "minWidth": 90, "sort": "asc"},  # with the selection box
    {"field": "distance_m", "headerName": "Distance (m)", "type": "numericColumn"},
    {"field": "kind", "headerName": "Camera"},
    {"field": "in_view", "headerName": "Incident in view"},
    {"field": "kept_until", "headerName": "Footage likely kept until"},
    {"field": "retention", "headerName": "Footage"},
    {"field": "channel", "headerName": "Contact by"},
    {"field": "camera_id", "headerName": "Camera id"},
]


def contacts_panel(contacts: pd.DataFrame, case_ref: str) -> html.Div:
    if contacts.empty:
        return dbc.Alert("None of the selected owners can be contacted (withdrawn since the search).", color="warning")
    cards = []
    for c in contacts.itertuples():
        lines = [
            html.Strong(c.name),
            html.Br(),
            f"Prefers: {CONTACT_CHANNELS.get(c.preferred_channel, c.preferred_channel)}",
            html.Br(),
        ]
        if isinstance(c.phone, str) and c.phone:
            lines += [f"Phone: {c.phone}", html.Br()]
        if isinstance(c.email, str) and c.email:
            lines += [f"Email: {c.email}", html.Br()]
        lines += [f"{c.address}, {c.postcode}"]
        cards.append(
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.P(f"Camera {c.camera_id}", className="small text-secondary mb-1"),
                            html.P(lines, className="mb-0"),
                        ]
                    )
                ),
                md=6,
                className="mb-2",
            )
        )
    return html.Div(
        [
            html.P(
                f"Shown under case {case_ref}; this look has been recorded in the audit log.",
                className="small text-secondary",
            ),
            dbc.Row(cards),
        ],
        id="search-contacts-list",
    )


def escape(text: str) -> str:
    return html_text.escape(text)
