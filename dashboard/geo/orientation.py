"""The maps' offline orientation layer: SVG map tiles drawn from the open reference geography.

Without a tile server (``TILE_URL``) every map would be a grey box. These tiles give a person
their bearings from the open data the app already holds: the force area on a pale ground
(neutral grey outside it), district outlines and names, ward outlines and names as one zooms in,
small-area (LSOA) outlines, and at street zoom every postcode's centre (Code-Point Open) with
its label, so an owner can tell their street from the next one.

Two layers, so the names stay readable above a coloured map: :meth:`OrientationTiles.base`
(ground and outlines, under everything) and :meth:`OrientationTiles.labels` (names and postcode
points, put above a page's own shaded areas and below its markers).

A tile holds nothing but the reference layers: it is the same bytes for everyone, whatever is
in the registry, so it may be cached anywhere. Labels are placed once per zoom over the whole
force area (greedily, most populous or biggest first, so that none overlaps another), which keeps a label
that straddles two tiles whole: each tile draws its part at the same place.

>>> from dashboard.geo.tiles import tile_for
>>> tiles = OrientationTiles(ref)
>>> "ST16 2DH" in tiles.labels(17, *tile_for(-2.115337, 52.806259, 17))
True
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np
import shapely
from shapely.ops import polylabel

from dashboard.config import Settings
from dashboard.geo.reference import ReferenceGeography
from dashboard.geo.tiles import MAX_ZOOM, TILE_PX, check_tile, tile_unit_bounds, to_unit

# The zooms at which each thing is drawn.
WARD_LINES_FROM = 11
SMALL_AREA_LINES_FROM = 13
DISTRICT_NAMES_UNTIL = 11
WARD_NAMES = (12, 16)
POSTCODE_POINTS_FROM = 15
POSTCODE_NAMES_FROM = 16
# Below this zoom outlines are simplified to within a fraction of a pixel (above it, drawn whole).
SIMPLIFY_UNTIL = 15
SIMPLIFY_PX = 0.35
MARGIN_PX = 4  # shapes are clipped a little outside the tile so that no edge shows a seam

OUTSIDE = "#e3e5e8"
LAND = "#f8f7f2"
FONT = "'DejaVu Sans', 'Segoe UI', Arial, Helvetica, sans-serif"
CHAR_WIDTH = 0.6  # average glyph width as a share of the font size (for the label's box)


@dataclass(frozen=True)
class _Labels:
    """Labels placed for one zoom, in global pixels of that zoom (``x, y`` anchor; box corners)."""

    texts: tuple[tuple[str, ...], ...]
    kinds: tuple[str, ...]
    x: np.ndarray
    y: np.ndarray
    box: np.ndarray  # (n, 4): x0, y0, x1, y1


_LABEL_STYLE = {
    # kind: (css class, font size by zoom, anchored at the middle?)
    "district": ("d", lambda z: 11 if z <= 8 else 13 if z <= 9 else 14, True),
    "ward": ("w", lambda z: 11 if z <= 13 else 12, True),
    "postcode": ("p", lambda z: 10 if z <= 16 else 11, False),
}
POINT_GAP_PX = 4  # from a postcode's point to its label


def _lines(text: str, max_chars: int = 18) -> tuple[str, ...]:
    """A name on one line, or on two split at the space nearest its middle when long.

    >>> _lines("Highfields and Western Downs")
    ('Highfields and', 'Western Downs')
    >>> _lines("Stafford")
    ('Stafford',)
    """
    if len(text) <= max_chars or " " not in text:
        return (text,)
    middle = len(text) / 2
    cut = min((i for i, c in enumerate(text) if c == " "), key=lambda i: abs(i - middle))
    return text[:cut], text[cut + 1 :]


def _to_unit_geoms(geoms: np.ndarray) -> np.ndarray:
    """Shapely geometries in lon/lat to unit Web Mercator."""

    def project(coords: np.ndarray) -> np.ndarray:
        u, v = to_unit(coords[:, 0], coords[:, 1])
        return np.column_stack([u, v])

    return shapely.transform(np.asarray(geoms, dtype=object), project)


def _anchors(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The point deepest inside each polygon (unit Web Mercator; its largest part's pole of
    inaccessibility, to a hundredth of its size), where its name fits best."""
    points = []
    for geom in geoms:
        part = max(shapely.get_parts(geom), key=shapely.area)
        minx, miny, maxx, maxy = part.bounds
        points.append(polylabel(part, tolerance=max(maxx - minx, maxy - miny) / 100))
    return shapely.get_x(np.array(points)), shapely.get_y(np.array(points))


class OrientationTiles:
    """Draws orientation tiles for one reference geography. Build once per process
    (:func:`orientation_tiles`); every method is safe to call from several threads."""

    def __init__(self, ref: ReferenceGeography) -> None:
        self._land = _to_unit_geoms(ref.force_area.geometry.to_numpy())
        self._outlines: dict[str, np.ndarray] = {}
        names: dict[str, tuple[list[str], np.ndarray, np.ndarray, np.ndarray]] = {}
        layers = [("district", ref.districts), ("small_area", ref.small_areas)]
        if ref.wards is not None:
            layers.append(("ward", ref.wards))
        for kind, frame in layers:
            polygons = _to_unit_geoms(frame.geometry.to_numpy())
            self._outlines[kind] = shapely.boundary(polygons)
            if kind != "small_area":
                u, v = _anchors(polygons)
                # Where names collide the most populous area's is kept (the city before the
                # moorland around it), else the largest's.
                weight = shapely.area(polygons)
                if "residents" in frame and frame["residents"].notna().all():
                    weight = frame["residents"].to_numpy(dtype="float64")
                names[kind] = (list(frame["name"]), u, v, weight)
        self._trees = {kind: shapely.STRtree(lines) for kind, lines in self._outlines.items()}
        self._names = names
        postcodes = ref.postcodes.sort_values("postcode_key", kind="stable")
        pu, pv = to_unit(postcodes["lon"].to_numpy(), postcodes["lat"].to_numpy())
        self._postcodes = (list(postcodes["postcode"]), pu, pv)
        self._simplified: dict[tuple[str, int], np.ndarray] = {}
        self._placed: dict[int, _Labels] = {}
        self._lock = threading.Lock()
        self._zoom_locks: dict[int, threading.Lock] = {}

    # ------------------------------------------------------------------ geometry per zoom

    def _at_zoom(self, kind: str, z: int) -> np.ndarray:
        """``kind``'s shapes ("land" or an outline layer) simplified for zoom ``z`` (cached)."""
        source = self._land if kind == "land" else self._outlines[kind]
        if z > SIMPLIFY_UNTIL:
            return source
        key = (kind, z)
        found = self._simplified.get(key)
        if found is None:
            tolerance = SIMPLIFY_PX / (TILE_PX * 2**z)
            found = shapely.simplify(source, tolerance, preserve_topology=kind == "land")
            self._simplified[key] = found
        return found

    # ------------------------------------------------------------------ the base layer

    def base(self, z: int, x: int, y: int) -> str:
        """The ground (pale inside the force area, grey outside) and the outlines of districts,
        wards (from zoom ``WARD_LINES_FROM``) and small areas (from ``SMALL_AREA_LINES_FROM``)."""
        check_tile(z, x, y)
        rect, scale, ox, oy = _frame(z, x, y)
        body = [f'<rect width="{TILE_PX}" height="{TILE_PX}" fill="{OUTSIDE}"/>']
        land = _path(shapely.clip_by_rect(self._at_zoom("land", z), *rect), scale, ox, oy)
        if land:
            body.append(f'<path fill="{LAND}" fill-rule="evenodd" d="{land}"/>')
        district_width = 1.4 if z < 10 else 2
        for kind, stroke, width, extra, from_zoom in (
            ("small_area", "#bfc6cf", 0.8, ' stroke-dasharray="4 3"', SMALL_AREA_LINES_FROM),
            ("ward", "#97a1ae", 1, "", WARD_LINES_FROM),
            ("district", "#4f5966", district_width, "", 0),
        ):
            if z < from_zoom or kind not in self._trees:
                continue
            hits = self._trees[kind].query(shapely.box(*rect))
            if not len(hits):
                continue
            shapes = shapely.clip_by_rect(self._at_zoom(kind, z)[np.sort(hits)], *rect)
            d = _path(shapes, scale, ox, oy)
            if d:
                body.append(
                    f'<path fill="none" stroke="{stroke}" stroke-width="{width}" '
                    f'stroke-linejoin="round"{extra} d="{d}"/>'
                )
        return _svg(body)

    # ------------------------------------------------------------------ the label layer

    def labels(self, z: int, x: int, y: int) -> str:
        """Names (districts to zoom ``DISTRICT_NAMES_UNTIL``, wards in ``WARD_NAMES``) and, from
        ``POSTCODE_POINTS_FROM``, postcode centres (labelled from ``POSTCODE_NAMES_FROM``), on a
        transparent tile."""
        check_tile(z, x, y)
        left, top = x * TILE_PX, y * TILE_PX
        body: list[str] = []
        if z >= POSTCODE_POINTS_FROM:
            _texts, pu, pv = self._postcodes
            scale = TILE_PX * 2**z
            px, py = pu * scale - left, pv * scale - top
            inside = np.flatnonzero((px > -3) & (px < TILE_PX + 3) & (py > -3) & (py < TILE_PX + 3))
            if len(inside):
                d = "".join(f"M{px[i]:.1f} {py[i]:.1f}h0" for i in inside)
                body.append(f'<path stroke="#52606d" stroke-width="4" stroke-linecap="round" d="{d}"/>')
        placed = self._labels_at(z)
        if len(placed.kinds):
            box = placed.box
            hits = np.flatnonzero(
                (box[:, 2] > left) & (box[:, 0] < left + TILE_PX) & (box[:, 3] > top) & (box[:, 1] < top + TILE_PX)
            )
            for i in hits:
                kind = placed.kinds[i]
                css, size, middle = _LABEL_STYLE[kind]
                font = size(z)
                tx = placed.x[i] - left + (0 if middle else POINT_GAP_PX)
                lines = placed.texts[i]
                first = placed.y[i] - top - (len(lines) - 1) * font * 0.6 + font * 0.35
                spans = "".join(
                    f'<tspan x="{tx:.1f}" y="{first + n * font * 1.2:.1f}">{escape(line)}</tspan>'
                    for n, line in enumerate(lines)
                )
                body.append(f'<text class="{css}" font-size="{font}">{spans}</text>')
        if not body:
            return _svg([])
        style = (
            f"<style>text{{font-family:{FONT};paint-order:stroke;stroke:#fff;stroke-width:3px;"
            "stroke-linejoin:round}.d{font-weight:700;fill:#1f2933;text-anchor:middle}"
            ".w{fill:#334e68;text-anchor:middle}.p{fill:#3e4c59}</style>"
        )
        return _svg([style, *body])

    def warm_in_background(self) -> None:
        """Place the street zooms' labels (a few tenths of a second each: every postcode is
        tried) in a daemon thread, so that a person zooming in does not wait for them; the pin
        map's zoom (18) first."""
        zooms = sorted(range(POSTCODE_NAMES_FROM, MAX_ZOOM + 1), key=lambda z: (z != 18, z))
        threading.Thread(
            target=lambda: [self._labels_at(z) for z in zooms], name="orientation-labels", daemon=True
        ).start()

    def _labels_at(self, z: int) -> _Labels:
        found = self._placed.get(z)
        if found is None:
            with self._lock:
                zoom_lock = self._zoom_locks.setdefault(z, threading.Lock())
            with zoom_lock:  # placing a zoom's labels takes a moment: once, and other zooms need not wait
                found = self._placed.get(z)
                if found is None:
                    found = self._place(z)
                    self._placed[z] = found
        return found

    def _candidates(self, z: int) -> tuple[list[tuple[str, ...]], list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Every label that may be drawn at zoom ``z``, most important first: (lines, kinds,
        anchor x, anchor y, boxes as an (n, 4) array of x0, y0, x1, y1) in global pixels."""
        scale = TILE_PX * 2**z
        texts: list[tuple[str, ...]] = []
        kinds: list[str] = []
        xs, ys, widths, heights = [], [], [], []
        for kind, shown in (("district", z <= DISTRICT_NAMES_UNTIL), ("ward", WARD_NAMES[0] <= z <= WARD_NAMES[1])):
            if not shown or kind not in self._names:
                continue
            names, u, v, weight = self._names[kind]
            font = _LABEL_STYLE[kind][1](z)
            for i in np.argsort(-weight, kind="stable"):
                lines = _lines(names[i])
                texts.append(lines)
                kinds.append(kind)
                xs.append(u[i] * scale)
                ys.append(v[i] * scale)
                widths.append(max(map(len, lines)) * font * CHAR_WIDTH + 4)
                heights.append(len(lines) * font * 1.2 + 2)
        x, y = np.array(xs, dtype="float64"), np.array(ys, dtype="float64")
        w, h = np.array(widths, dtype="float64"), np.array(heights, dtype="float64")
        boxes = np.column_stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2]) if len(x) else np.empty((0, 4))
        if z >= POSTCODE_NAMES_FROM:
            names, pu, pv = self._postcodes
            font = _LABEL_STYLE["postcode"][1](z)
            px, py = pu * scale, pv * scale
            pw = np.fromiter(map(len, names), dtype="float64", count=len(names)) * font * CHAR_WIDTH + 4
            ph = font * 1.2 + 2
            texts += [(name,) for name in names]
            kinds += ["postcode"] * len(names)
            x, y = np.concatenate([x, px]), np.concatenate([y, py])
            boxes = np.concatenate([boxes, np.column_stack([px - 3, py - ph / 2, px + POINT_GAP_PX + pw, py + ph / 2])])
        return texts, kinds, x, y, boxes

    def _place(self, z: int) -> _Labels:
        """Greedy placement: each label in turn, most important first, is kept unless its box
        overlaps a kept one's. Labels that overlap no other candidate at all (most of them at
        street zoom) are kept at once; the loop runs over the others only."""
        texts, kinds, x, y, boxes = self._candidates(z)
        if not len(kinds):
            return _Labels((), (), x, y, boxes)
        shapes = shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3])
        a, b = shapely.STRtree(shapes).query(shapes, predicate="intersects")
        # Overlapping, not merely touching, other boxes: each pair once per direction.
        other = (
            (a != b)
            & (boxes[a, 0] < boxes[b, 2])
            & (boxes[b, 0] < boxes[a, 2])
            & (boxes[a, 1] < boxes[b, 3])
            & (boxes[b, 1] < boxes[a, 3])
        )
        a, b = a[other], b[other]
        order = np.lexsort((b, a))
        a, b = a[order], b[order]
        keep = np.ones(len(kinds), dtype=bool)
        contested = np.unique(a)
        keep[contested] = False
        starts = np.searchsorted(a, contested)
        ends = np.searchsorted(a, contested, side="right")
        for i, s, e in zip(contested.tolist(), starts.tolist(), ends.tolist(), strict=True):
            # Rivals after i are undecided (still False): only those before it can block it.
            keep[i] = not keep[b[s:e]].any()
        chosen = np.flatnonzero(keep)
        return _Labels(
            tuple(texts[i] for i in chosen), tuple(kinds[i] for i in chosen), x[chosen], y[chosen], boxes[chosen]
        )


def _frame(z: int, x: int, y: int) -> tuple[tuple[float, float, float, float], float, float, float]:
    """The clip rectangle (unit Web Mercator, with a margin) and the unit-to-pixel transform."""
    u0, v0, u1, v1 = tile_unit_bounds(z, x, y)
    scale = float(TILE_PX * 2**z)
    margin = MARGIN_PX / scale
    return (u0 - margin, v0 - margin, u1 + margin, v1 + margin), scale, x * TILE_PX, y * TILE_PX


def _path(shapes: np.ndarray | shapely.Geometry, scale: float, ox: float, oy: float) -> str:
    """SVG path data for lines or polygons (each ring its own subpath), in tile pixels."""
    shapes = np.atleast_1d(np.asarray(shapes, dtype=object))
    shapes = shapes[~shapely.is_empty(shapes)]
    if not len(shapes):
        return ""
    parts = shapely.get_parts(shapes)
    polygonal = shapely.get_type_id(parts) == 3
    pieces = np.concatenate(
        [shapely.get_rings(parts[polygonal]), parts[~polygonal & (shapely.get_dimensions(parts) == 1)]]
    )
    if not len(pieces):
        return ""
    coords, index = shapely.get_coordinates(pieces, return_index=True)
    px = np.round(coords[:, 0] * scale - ox, 1)
    py = np.round(coords[:, 1] * scale - oy, 1)
    starts = np.ones(len(index), dtype=bool)
    starts[1:] = index[1:] != index[:-1]
    return "".join(
        f"{'M' if s else 'L'}{a:g} {b:g}" for s, a, b in zip(starts.tolist(), px.tolist(), py.tolist(), strict=True)
    )


def _svg(body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{TILE_PX}" height="{TILE_PX}" '
        f'viewBox="0 0 {TILE_PX} {TILE_PX}">{"".join(body)}</svg>'
    )


@functools.lru_cache(maxsize=4)
def orientation_tiles(ref: ReferenceGeography) -> OrientationTiles:
    """One :class:`OrientationTiles` per loaded reference geography (by identity)."""
    return OrientationTiles(ref)


# Where the app serves the two layers (``dashboard/public/tiles.py``), as Leaflet URL templates.
BASE_TILES_URL = "/tiles/orientation/{z}/{x}/{y}.svg"
LABEL_TILES_URL = "/tiles/orientation-labels/{z}/{x}/{y}.svg"


def map_credit(settings: Settings, ref: ReferenceGeography) -> str:
    """What a map credits (Leaflet's attribution): the configured tile server's own line
    (TILE_ATTRIBUTION, when TILE_URL is set), then the open data the boundaries and the
    orientation layer are drawn from."""
    tile_line = settings.tile_attribution if settings.tile_url else None
    return " | ".join(part for part in (tile_line, ref.map_attribution) if part)
