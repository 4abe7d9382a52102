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
