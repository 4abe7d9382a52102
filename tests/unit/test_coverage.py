"""Cell suppression on the fixed grid, with answers worked out by hand."""
from __future__ import annotations

import pandas as pd
import pytest

from dashboard.analytics.coverage import cell_centre, cell_polygon, suppressed_cells


def test_cells_under_k_registrations_lose_both_counts():
    frame = pd.DataFrame({"cell": ["c", "a", "b"], "registrations": [8, 7, 1], "cameras": [9, 40, 1]})
    out = suppressed_cells(frame, 8)
    assert out["cell"].tolist() == ["a", "b", "c"]
    assert out["suppressed"].tolist() == [True, True, False]
    # 40 cameras from 7 registrations is still drawn from fewer than 8 registrations: hidden.
    assert out["cameras"].isna().tolist() == [True, True, False] and int(out.loc[2, "cameras"]) == 9
    assert int(out.loc[2, "registrations"]) == 8


def test_k_must_be_positive_and_empty_frames_pass_through():
    with pytest.raises(ValueError):
        suppressed_cells(pd.DataFrame({"cell": [], "registrations": [], "cameras": []}), 0)
    assert suppressed_cells(pd.DataFrame({"cell": [], "registrations": [], "cameras": []}), 8).empty


def test_polygon_is_a_closed_ring_around_the_centre():
    cell = "88195c1a3bfffff"
    ring, (lon, lat) = cell_polygon(cell), cell_centre(cell)
    assert ring[0] == ring[-1] and len(ring) == 7
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert min(lons) < lon < max(lons) and min(lats) < lat < max(lats)
