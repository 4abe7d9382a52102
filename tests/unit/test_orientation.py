"""The maps' orientation tiles (dashboard.geo.orientation) over the real reference data.

Hand-worked places:
- ST16 2DH (Code-Point Open): lon -2.115337, lat 52.806259. At zoom 18 (262,144 tiles a side):
  x = floor((-2.115337 + 180) / 360 * 262144) = floor(129531.7) = 129531;
  y = floor((1 - ln(tan 52.806259° + sec 52.806259°) / pi) / 2 * 262144) = 85627.
- Stafford at zoom 10 is tile 505/334 (tests/unit/test_tiles.py).
- Westminster, London (lon -0.1276, lat 51.5072), far outside the force area: zoom 18 tile
  130979/87169, zoom 10 tile 511/340.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import shapely

from dashboard.geo.orientation import POSTCODE_NAMES_FROM, TILE_PX, OrientationTiles, orientation_tiles
from dashboard.geo.reference import load_reference

MANIFEST = Path(__file__).resolve().parents[2] / "data" / "reference_manifest.toml"
ST16_2DH_Z18 = (18, 129531, 85627)
LONDON_Z18 = (18, 130979, 87169)


@pytest.fixture(scope="module")
def tiles(reference):
    return orientation_tiles(reference)


def _texts(svg: str) -> list[str]:
    return re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg)


def test_a_street_tile_over_a_postcode_carries_its_label_and_a_far_tile_none(tiles):
    assert "ST16 2DH" in _texts(tiles.labels(*ST16_2DH_Z18))
    far = tiles.labels(*LONDON_Z18)
    assert _texts(far) == [] and "ST16" not in far
    # Outside the force area the ground is only the neutral grey: no land, no outline.
    assert tiles.base(*LONDON_Z18).count("<path") == 0


def test_postcodes_are_labelled_only_at_street_zoom(tiles):
    # Stafford's tile at zoom 13 (4047/2675 = the zoom-10 tile 505/334 times 8, plus its offset).
    assert not [t for t in _texts(tiles.labels(13, 4047, 2675)) if re.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}", t)]
    street = _texts(tiles.labels(*ST16_2DH_Z18))
    assert all(re.fullmatch(r"ST1[67] \d[A-Z]{2}", t) for t in street), street


def test_district_names_at_district_zoom_and_ward_names_closer_in(tiles, reference):
    assert "Stafford" in _texts(tiles.labels(10, 505, 334))
    assert "Stafford" not in _texts(tiles.labels(*ST16_2DH_Z18))
    # Zoom 13 around Stafford: the 3x3 tiles' labels are ward names from the wards file.
    wards = set(reference.wards["name"])
    names = [
        " ".join(_texts(piece))
        for x in (4046, 4047, 4048)
        for y in (2674, 2675, 2676)
        for piece in re.findall(r"<text.*?</text>", tiles.labels(13, x, y))
    ]
    assert names and set(names) <= wards and "Forebridge" in names


def test_outlines_are_drawn_by_zoom(tiles):
    def strokes(svg):
        return re.findall(r'stroke="(#[0-9a-f]{6})"', svg)

    low = strokes(tiles.base(10, 505, 334))
    close = {s for x in (4046, 4047, 4048) for y in (2674, 2675, 2676) for s in strokes(tiles.base(13, x, y))}
    assert low == ["#4f5966"]  # districts only
    assert close == {"#bfc6cf", "#97a1ae", "#4f5966"}  # small areas, wards, districts
    assert 'fill="#f8f7f2"' in tiles.base(10, 505, 334)  # the force area's pale ground


def test_labels_never_overlap_and_a_label_across_a_tile_edge_is_drawn_whole(tiles):
    z = POSTCODE_NAMES_FROM
    placed = tiles._labels_at(z)
    assert len(placed.kinds) > 1000
    boxes = shapely.box(*placed.box.T)
    left, right = shapely.STRtree(boxes).query(boxes, predicate="intersects")
    others = left != right
    assert not others.any() or not shapely.area(shapely.intersection(boxes[left[others]], boxes[right[others]])).any()
    # A postcode label whose box crosses a vertical tile edge is drawn by both tiles, at the same place.
    col = np.floor(placed.box[:, 0] / TILE_PX) != np.floor(placed.box[:, 2] / TILE_PX)
    i = int(np.flatnonzero(col & (np.array(placed.kinds) == "postcode"))[0])
    text = placed.texts[i][0]
    tx, ty = int(placed.box[i, 0] // TILE_PX), int(placed.y[i] // TILE_PX)
    xs = []
    for dx in (0, 1):
        found = re.search(rf'<tspan x="(-?[\d.]+)" y="[-\d.]+">{text}</tspan>', tiles.labels(z, tx + dx, ty))
        assert found, (text, dx)
        xs.append(float(found.group(1)) + (tx + dx) * TILE_PX)
    assert xs[0] == pytest.approx(xs[1], abs=0.11)


def test_tiles_are_the_same_bytes_from_a_fresh_renderer(tiles, reference):
    again = OrientationTiles(reference)
    for z, x, y in [ST16_2DH_Z18, (13, 4047, 2675), (10, 505, 334), (8, 126, 83)]:
        assert again.base(z, x, y) == tiles.base(z, x, y)
        assert again.labels(z, x, y) == tiles.labels(z, x, y)


def test_wards_are_optional(reference_dir, tmp_path):
    text = MANIFEST.read_text(encoding="utf-8")
    without = re.sub(r"\[wards\].*?(?=\n\[)", "", text, flags=re.DOTALL)
    assert "[wards]" in text and "[wards]" not in without
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(without, encoding="utf-8")
    ref = load_reference(reference_dir, manifest)
    assert ref.wards is None
    tiles = OrientationTiles(ref)
    assert "#97a1ae" not in tiles.base(13, 4047, 2675)  # no ward outlines
    assert "ST16 2DH" in _texts(tiles.labels(*ST16_2DH_Z18))
