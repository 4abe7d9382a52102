"""Aggregation cells: each site's H3 cells contain it and nest across resolutions."""

from __future__ import annotations

import h3
import numpy as np
import pytest
from shapely.geometry import Point, Polygon

from dashboard.geo.cells import H3_RESOLUTIONS, h3_cells, site_cells


@pytest.mark.parametrize("lat,lon", [(52.8064, -2.1174), (53.0027, -2.1794), (52.6336, -1.6912)])
def test_cells_contain_the_point_and_nest(lat, lon):
    cells = site_cells(lat, lon)
    for res in H3_RESOLUTIONS:
        cell = cells[f"h3_r{res}"]
        assert h3.get_resolution(cell) == res
        boundary = Polygon([(x, y) for y, x in h3.cell_to_boundary(cell)])  # (lat, lon) pairs
        assert boundary.contains(Point(lon, lat))
    assert h3.cell_to_parent(cells["h3_r9"], 8) == cells["h3_r8"]
    assert h3.cell_to_parent(cells["h3_r8"], 7) == cells["h3_r7"]


def test_vectorised_matches_single():
    lat, lon = np.array([52.8064, 53.0027]), np.array([-2.1174, -2.1794])
    assert h3_cells(lat, lon, 8) == [site_cells(52.8064, -2.1174)["h3_r8"], site_cells(53.0027, -2.1794)["h3_r8"]]


def test_unknown_resolution_is_refused():
    with pytest.raises(ValueError, match="resolution 6"):
        h3_cells([52.8], [-2.1], 6)
