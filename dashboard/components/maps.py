"""Map builders on an offline base: the app's orientation tiles, drawn from the reference
boundaries and postcodes, are the base layer; a force's own tile server (TILE_URL) is optional.
Every map of the dashboard is built by :func:`area_map`."""

from __future__ import annotations

import dash_leaflet as dl

from dashboard.config import Settings
from dashboard.geo.orientation import BASE_TILES_URL, LABEL_TILES_URL, map_credit
from dashboard.geo.reference import ReferenceGeography


# Style functions live in assets/js/map.js under this namespace (no inline JavaScript).
def js(name: str) -> dict:
    return {"variable": f"ccr.map.{name}"}


def force_bounds(ref: ReferenceGeography) -> list[list[float]]:
    minx, miny, maxx, maxy = ref.force_area.total_bounds
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


# The pane the orientation layer's names go in: above a page's shaded areas (Leaflet's overlay
# pane is at z-index 400), below its markers and tooltips (600 and up); clicks pass through.
LABEL_PANE = "ccr-orientation-labels"
MAX_ZOOM = 19


def base_layers(settings: Settings, ref: ReferenceGeography) -> list:
    """The map's base: the force's tile server when TILE_URL is set, otherwise the app's own
    orientation tiles drawn from the reference data (ground and outlines underneath, names and
    postcodes in a pane above the page's layers). Either way nothing is fetched from elsewhere
    unless TILE_URL says so.

    With TILE_URL the orientation layer is left off: a force's base map (OS Maps API's Light style,
    say) already carries place names and streets, and a second set of names would collide with them.
    """
    credit = map_credit(settings, ref)
    if settings.tile_url:
        return [dl.TileLayer(url=settings.tile_url, attribution=credit, maxZoom=MAX_ZOOM, className="base-tiles")]
    return [
        dl.TileLayer(
            url=BASE_TILES_URL, attribution=credit, maxZoom=MAX_ZOOM, className="base-tiles orientation-tiles"
        ),
        dl.Pane(
            name=LABEL_PANE,
            style={"zIndex": 450, "pointerEvents": "none"},
            children=[
                dl.TileLayer(url=LABEL_TILES_URL, pane=LABEL_PANE, maxZoom=MAX_ZOOM, className="orientation-labels"),
            ],
        ),
    ]


def area_map(
    map_id: str,
    ref: ReferenceGeography,
    settings: Settings,
    layers: list,
    *,
    height: str = "460px",
) -> dl.Map:
    """A map fitted to the force area with the given overlay layers on the offline base."""
    bounds = force_bounds(ref)
    return dl.Map(
        id=map_id,
        bounds=bounds,
        # dash-leaflet 1.1 reads ``center`` when it tracks the viewport, which it cannot do when the
        # map is fitted to bounds; nothing here needs the viewport back.
        trackViewport=False,
        children=[*base_layers(settings, ref), *layers, dl.ScaleControl(position="bottomleft", imperial=False)],
        style={"height": height, "width": "100%"},
        className="area-map" + ("" if settings.tile_url else " orientation-map"),
        attributionControl=True,
        zoomSnap=0.25,
        minZoom=7,
        maxZoom=MAX_ZOOM,
    )


def district_outlines(ref: ReferenceGeography, layer_id: str) -> dl.GeoJSON:
    """District boundaries as a quiet, non-interactive base layer (works with no tile server)."""
    from dashboard.geo.reference import districts_geojson

    return dl.GeoJSON(data=districts_geojson(ref), id=layer_id, style=js("outlineStyle"), interactive=False)


def radius_bounds(lat: float, lon: float, radius_m: float) -> list[list[float]]:
    """South-west and north-east corners of a box around a circle, for fitting the map to it."""
    import math

    dlat = radius_m / 111_132.0
    dlon = radius_m / (111_320.0 * math.cos(math.radians(lat)))
    return [[lat - dlat, lon - dlon], [lat + dlat, lon + dlon]]


def choropleth(
    base: dict, values: dict, tooltips: dict, blank: frozenset[str] = frozenset()
) -> tuple[dict, list[float]]:
    """Area polygons (``base``: a FeatureCollection with ``code`` and ``name`` properties, not
    mutated) coloured by ``values[code]`` in equal-width classes; a missing or None value is grey
    (suppressed), a code in ``blank`` white (nothing to show). Each feature's tooltip is
    "<name>: <tooltips[code]>". Returns the layer and the class breaks."""
    from dashboard.components.colour import class_breaks, colour_for

    breaks = class_breaks([float(v) for v in values.values() if v is not None])
    features = []
    for feature in base["features"]:
        props = feature["properties"]
        code = props["code"]
        fill = "#ffffff" if code in blank else colour_for(values.get(code), breaks)
        features.append(
            {**feature, "properties": {**props, "fill": fill, "tooltip": f"{props['name']}: {tooltips.get(code, '')}"}}
        )
    return {"type": "FeatureCollection", "features": features}, breaks
