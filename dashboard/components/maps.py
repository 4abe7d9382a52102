"""Map builders on an offline base: the reference boundaries are the base layer; a tile server is optional."""
from __future__ import annotations

import dash_leaflet as dl

from dashboard.config import Settings
from dashboard.geo.reference import ReferenceGeography

# Style functions live in assets/js/map.js under this namespace (no inline JavaScript).
def js(name: str) -> dict:
    return {"variable": f"ccr.map.{name}"}


def force_bounds(ref: ReferenceGeography) -> list[list[float]]:
    minx, miny, maxx, maxy = ref.force_area.total_bounds
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


def base_layers(settings: Settings) -> list:
    """The optional tile layer; without TILE_URL the map has no external requests at all."""
    if not settings.tile_url:
        return []
    return [dl.TileLayer(url=settings.tile_url, attribution=settings.tile_attribution or "")]


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
        children=[*base_layers(settings), *layers, dl.ScaleControl(position="bottomleft", imperial=False)],
        style={"height": height, "width": "100%"},
        className="area-map" + ("" if settings.tile_url else " no-tiles"),
        attributionControl=bool(settings.tile_url),
        zoomSnap=0.25,
        minZoom=7,
        maxZoom=18,
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


def choropleth(base: dict, values: dict, tooltips: dict, blank: frozenset[str] = frozenset()) -> tuple[dict, list[float]]:
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
        features.append({**feature, "properties": {**props, "fill": fill,
                                                    "tooltip": f"{props['name']}: {tooltips.get(code, '')}"}})
    return {"type": "FeatureCollection", "features": features}, breaks
