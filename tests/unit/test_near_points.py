"""Many points against the camera index at once, checked against pyproj.Geod over every pair."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.geo.fov import fill_effective_fov, in_view_codes
from dashboard.geo.near_points import point_coverage
from dashboard.geo.search import CameraIndex
from tests.unit.test_search import GEOD, INCIDENT, at, camera_frame, synthetic_cameras


def brute_force(frame, lat, lon, radius_m):
    """near / in_view per point and the (point, site) pairs, by Geod over all camera pairs
    (no index, no prefilter, no fast formula)."""
    angle, reach, _ = fill_effective_fov(frame["kind"].to_numpy(object), frame["fov_angle_deg"], frame["fov_range_m"])
    direction = frame["direction_deg"].to_numpy(float)
    near, seen, pairs = [], [], set()
    for i, (plat, plon) in enumerate(zip(lat, lon)):
        n = len(frame)
        azimuth, _, distance = GEOD.inv(
            frame["lon"].to_numpy(), frame["lat"].to_numpy(), np.full(n, plon), np.full(n, plat)
        )
        within = distance <= radius_m
        views = in_view_codes(direction, angle, reach, np.asarray(azimuth) % 360, distance) == 0
        near.append(bool(within.any()))
        seen.append(bool(views.any()))
        pairs |= {(i, s) for s in frame["site_id"].to_numpy()[within | views]}
    return np.array(near), np.array(seen), pairs


def test_hand_made_points_near_in_view_and_beyond():
    lat0, lon0 = INCIDENT
    # camera 1 faces north with a 60 m range (beyond a 50 m radius); camera 2 faces east, 10 m default range
    frame = camera_frame(
        [lat0, lat0],
        [lon0, lon0 + 0.01],
        kind=["fixed", "doorbell"],
        direction_deg=[0.0, 90.0],
        fov_range_m=[60.0, np.nan],
    )
    points = [
        at(lat0, lon0, 0, 49.9),  # near camera 1 and in its view
        at(lat0, lon0, 0, 55.0),  # beyond the radius but within camera 1's 60 m range, in view
        at(lat0, lon0, 180, 30.0),  # near camera 1, behind it
        at(lat0, lon0, 0, 61.0),  # beyond radius and range
        at(lat0, lon0 + 0.01, 90, 8.0),
    ]  # in front of the doorbell
    cov = point_coverage(CameraIndex.from_frame(frame), [p[0] for p in points], [p[1] for p in points], 50)
    assert cov.near.tolist() == [True, False, True, False, True]
    assert cov.in_view.tolist() == [True, True, False, False, True]
    assert sorted(set(zip(cov.pair_point.tolist(), cov.pair_site.tolist()))) == [(0, 1), (1, 1), (2, 1), (4, 2)]


@pytest.mark.parametrize("radius_m", [20, 100, 250])
def test_random_points_match_brute_force(radius_m):
    rng = np.random.default_rng(radius_m)
    # As on the register, every camera sits at its site's position: one site per position, and
    # 600 sites with a second camera (another kind and direction) at the same place.
    frame = synthetic_cameras(3_000, seed=11).assign(site_id=np.arange(1, 3_001))
    extra = frame.iloc[rng.integers(0, 3_000, 600)].drop_duplicates("site_id")
    extra = extra.assign(kind="fixed", direction_deg=rng.integers(0, 360, len(extra)).astype(float))
    extra = extra.assign(camera_id=np.arange(10_001, 10_001 + len(extra)))
    frame = pd.concat([frame, extra], ignore_index=True)
    # points near cameras (so many pairs sit close to the radius) and some anywhere
    pick = rng.integers(0, 3_000, 300)
    lat = frame["lat"].to_numpy()[pick] + rng.normal(size=300) * radius_m / 111_000
    lon = frame["lon"].to_numpy()[pick] + rng.normal(size=300) * radius_m / 68_000
    frame.loc[rng.random(len(frame)) < 0.05, "fov_range_m"] = 400.0  # some long-range views
    cov = point_coverage(CameraIndex.from_frame(frame), lat, lon, radius_m)
    near, seen, pairs = brute_force(frame, lat, lon, radius_m)
    assert cov.near.tolist() == near.tolist() and near.any() and not near.all()
    assert cov.in_view.tolist() == seen.tolist() and seen.any()
    assert set(zip(cov.pair_point.tolist(), cov.pair_site.tolist())) == pairs


def test_empty_register_and_no_points():
    empty = CameraIndex.from_frame(camera_frame([], []))
    cov = point_coverage(empty, [52.8], [-2.1], 100)
    assert cov.near.tolist() == [False] and cov.in_view.tolist() == [False] and len(cov.pair_site) == 0
    one = CameraIndex.from_frame(camera_frame([52.8], [-2.1]))
    assert len(point_coverage(one, [], [], 100).near) == 0


def test_bad_points_and_radius_are_refused_naming_them():
    index = CameraIndex.from_frame(camera_frame([52.8], [-2.1]))
    with pytest.raises(ValueError, match="radius_m"):
        point_coverage(index, [52.8], [-2.1], 0)
    with pytest.raises(ValueError, match="no valid lat/lon"):
        point_coverage(index, [52.8, np.nan], [-2.1, -2.1], 100)
    with pytest.raises(ValueError, match="one length"):
        point_coverage(index, [52.8, 52.9], [-2.1], 100)
