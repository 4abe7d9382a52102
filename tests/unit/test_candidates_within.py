"""Issue 19: PostgreSQL's few candidates are filtered and measured without building a grid index
(``candidates_within``); the answer is the index's, frame for frame, and pyproj's Geod agrees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from dashboard.core.crs import wgs84_to_bng
from dashboard.geo.search import CANDIDATE_COLUMNS, CameraIndex, candidates_within

GEOD = Geod(ellps="WGS84")
INCIDENT = (52.8064, -2.1174)  # lat, lon (Stafford)


def _candidates(n: int, seed: int) -> pd.DataFrame:
    """``n`` cameras within ~1.2 km of the incident, some exactly on the radii tried below (so the
    exact band is used), with every kind of missing value the register has."""
    rng = np.random.default_rng(seed)
    azimuth = rng.uniform(0, 360, n)
    distance = rng.uniform(0, 1200, n)
    distance[: n // 5] = rng.choice([50.0, 200.0, 1000.0], n // 5) + rng.uniform(-0.4, 0.4, n // 5)
    lon, lat, _ = GEOD.fwd(np.full(n, INCIDENT[1]), np.full(n, INCIDENT[0]), azimuth, distance)
    easting, northing = wgs84_to_bng().transform(lon, lat)
    ids = rng.permutation(np.arange(10, 10 + 3 * n, 3))
    return pd.DataFrame(
        {
            "camera_id": ids,
            "site_id": ids // 2,
            "lat": lat,
            "lon": lon,
            "easting_m": easting,
            "northing_m": northing,
            "kind": pd.array(rng.choice(["doorbell", "dome", "bullet", "ptz", None], n), dtype="str"),
            "direction_deg": np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 360, n)),
            "fov_angle_deg": np.where(rng.random(n) < 0.6, np.nan, 90.0),
            "fov_range_m": np.where(rng.random(n) < 0.6, np.nan, 25.0),
            "retention_days": np.where(rng.random(n) < 0.2, np.nan, 30.0),
            "preferred_channel": pd.array(rng.choice(["email", "phone", None], n), dtype="str"),
            "public_id": [f"CAM-{i:08d}" for i in ids],
        }
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("radius_m", [50, 200, 1000])
def test_candidates_within_is_the_index_answer_and_geods(seed, radius_m):
    frame = _candidates(400, seed)
    columns = {
        name: frame[name].to_numpy(dtype=object) if frame[name].dtype == "str" else frame[name].to_numpy()
        for name in frame.columns
    }
    for name in ("kind", "preferred_channel"):  # None for a missing text, as the driver gives
        columns[name] = np.array([None if pd.isna(v) else v for v in columns[name]], dtype=object)
    got = candidates_within(columns, *INCIDENT, radius_m, carry=("public_id",))
    expected = CameraIndex.from_frame(frame[CANDIDATE_COLUMNS]).candidates(*INCIDENT, radius_m)
    pd.testing.assert_frame_equal(got.drop(columns="public_id"), expected)
    assert got["public_id"].tolist() == [f"CAM-{i:08d}" for i in got["camera_id"]]
    # By hand: pyproj's Geod over every candidate
    _, _, metres = GEOD.inv(
        frame["lon"], frame["lat"], np.full(len(frame), INCIDENT[1]), np.full(len(frame), INCIDENT[0])
    )
    assert set(got["camera_id"]) == set(frame["camera_id"][metres <= radius_m])
    assert 0 < len(got) < len(frame)


def test_no_candidates_is_an_empty_answer():
    frame = _candidates(3, 4).iloc[:0]
    columns = {name: frame[name].to_numpy(dtype=object if frame[name].dtype == "str" else None) for name in frame}
    got = candidates_within(columns, *INCIDENT, 200, carry=("public_id",))
    assert got.empty and list(got.columns)[: len(CANDIDATE_COLUMNS)] == CANDIDATE_COLUMNS
