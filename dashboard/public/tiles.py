"""The maps' orientation tiles (``dashboard.geo.orientation``), served without a login.

The public registration page's pin map uses them as well as the dashboard's maps. A tile holds
only the open reference geography, never anything from the registry (promises 2 and 3), so it is
the same for everyone and may be cached by the browser and any proxy. Bad addresses (a zoom
beyond the deepest, a tile outside its zoom's grid, anything not a whole number) are 404.
"""

from __future__ import annotations

import functools
import re

from flask import Blueprint, Response, request

from dashboard.geo.orientation import OrientationTiles, orientation_tiles
from dashboard.geo.reference import ReferenceGeography
from dashboard.geo.tiles import check_tile
from dashboard.runtime_access import runtime

blueprint = Blueprint("tiles", __name__)

# The tiles change only when the reference data does (a new release, a restart): a day's caching
# costs at most a day of old outlines, and spares the server most requests.
MAX_AGE_S = 24 * 3600
_WHOLE = re.compile(r"[0-9]{1,7}")


@functools.lru_cache(maxsize=4)
def _renderer(ref: ReferenceGeography) -> OrientationTiles:
    """The reference's tile renderer; the first tile asked for starts placing the street zooms' labels."""
    tiles = orientation_tiles(ref)
    tiles.warm_in_background()
    return tiles


@functools.lru_cache(maxsize=4096)
def _tile(ref: ReferenceGeography, layer: str, z: int, x: int, y: int) -> bytes:
    tiles = _renderer(ref)
    svg = tiles.base(z, x, y) if layer == "base" else tiles.labels(z, x, y)
    return svg.encode("utf-8")


def _not_found() -> Response:
    response = Response("No such map tile.", status=404, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/tiles/orientation/<z>/<x>/<y>.svg", defaults={"layer": "base"})
@blueprint.get("/tiles/orientation-labels/<z>/<x>/<y>.svg", defaults={"layer": "labels"})
def tile(layer: str, z: str, x: str, y: str) -> Response:
    if not all(_WHOLE.fullmatch(part) for part in (z, x, y)):
        return _not_found()
    try:
        check_tile(int(z), int(x), int(y))
    except ValueError:
        return _not_found()
    response = Response(_tile(runtime().reference, layer, int(z), int(x), int(y)), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE_S}"
    response.add_etag()
    return response.make_conditional(request)


@blueprint.get("/tiles/", defaults={"_rest": ""})
@blueprint.get("/tiles/<path:_rest>")
def no_such_tile(_rest: str) -> Response:
    """Anything else under /tiles/ (else the dashboard's catch-all page route would answer it)."""
    return _not_found()
