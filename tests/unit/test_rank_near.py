"""Issue 19: PostgreSQL's few candidates are filtered, measured and ranked without building a grid
index (``rank_near``), and only the best ``most`` built into the answer; the answer is the index's
search ranked (``CameraIndex.candidates`` then ``rank_results``), row for row, cut where it says, and
pyproj's Geod agrees with how many were within the radius. The index's own cut (``search_listed``)
is ``search``'s answer cut the same way."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from dashboard.core.crs import wgs84_to_bng
from dashboard.geo.search import CANDIDATE_COLUMNS, CameraIndex, rank_near, rank_results, search, search_listed

GEOD = Geod(ellps="WGS84")
INCIDENT = (52.8064, -2.1174)  # lat, lon (Stafford)
NOW = dt.datetime(2026, 11, 20, 21, 30, tzinfo=dt.UTC)
AT = NOW - dt.timedelta(days=20)  # some cameras' footage (30 days) kept, some (unknown) not known
CODED = ("kind", "preferred_channel")


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


def _columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The frame's columns as the driver's rows give them: None for a missing text."""
    columns = {
        name: frame[name].to_numpy(dtype=object) if frame[name].dtype == "str" else frame[name].to_numpy()
        for name in frame.columns
    }
    for name in CODED:
        columns[name] = np.array([None if pd.isna(v) else v for v in columns[name]], dtype=object)
    return columns


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The text columns as plain objects: the coded ones' categories name the vocabulary then the other
    values met, which the index meets across the whole register and ``rank_near`` among the rows it
    lists; and pandas makes an empty column of text an object column, a filled one a string column."""
    return frame.astype({name: object for name in (*CODED, "public_id") if name in frame})


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("radius_m", [50, 200, 1000])
def test_rank_near_is_the_index_search_ranked_and_geods(seed, radius_m):
    frame = _candidates(400, seed)
    got, within = rank_near(_columns(frame), *INCIDENT, radius_m, AT, NOW, carry=("public_id",))
    expected = rank_results(CameraIndex.from_frame(frame[CANDIDATE_COLUMNS]).candidates(*INCIDENT, radius_m), AT, NOW)
    pd.testing.assert_frame_equal(_as_text(got.drop(columns="public_id")), _as_text(expected))
    assert got["public_id"].tolist() == [f"CAM-{i:08d}" for i in got["camera_id"]]
    # By hand: pyproj's Geod over every candidate
    _, _, metres = GEOD.inv(
        frame["lon"], frame["lat"], np.full(len(frame), INCIDENT[1]), np.full(len(frame), INCIDENT[0])
    )
    assert set(got["camera_id"]) == set(frame["camera_id"][metres <= radius_m])
    assert within == len(got) == int((metres <= radius_m).sum())
    assert 0 < len(got) < len(frame)


@pytest.mark.parametrize("most", [0, 1, 7, 100, 10_000])
def test_rank_near_lists_the_best_most_and_counts_all(most):
    frame = _candidates(400, 5)
    columns = _columns(frame)
    whole, within = rank_near(columns, *INCIDENT, 1000, AT, NOW, carry=("public_id",))
    got, counted = rank_near(columns, *INCIDENT, 1000, AT, NOW, carry=("public_id",), most=most)
    assert counted == within == len(whole) > 100
    assert len(got) == min(most, within)
    pd.testing.assert_frame_equal(_as_text(got), _as_text(whole.iloc[:most]))
    assert got["rank"].tolist() == list(range(1, len(got) + 1))


@pytest.mark.parametrize("most", [0, 3, 50, 100_000])
def test_the_index_lists_the_best_most_and_counts_all(most):
    frame = _candidates(600, 6)
    index = CameraIndex.from_frame(frame[CANDIDATE_COLUMNS])
    whole = search(index, *INCIDENT, 1000, AT, NOW)
    got, within = search_listed(index, *INCIDENT, 1000, AT, NOW, most)
    assert within == len(whole) > 100
    pd.testing.assert_frame_equal(got, whole.iloc[:most])


@pytest.mark.parametrize("most", [-1, 2.0, True, "5"])
def test_a_bad_most_is_refused_naming_it(most):
    frame = _candidates(20, 7)
    with pytest.raises(ValueError, match="most must be"):
        rank_near(_columns(frame), *INCIDENT, 200, AT, NOW, most=most)
    with pytest.raises(ValueError, match="most must be"):
        search_listed(CameraIndex.from_frame(frame[CANDIDATE_COLUMNS]), *INCIDENT, 200, AT, NOW, most)


def test_no_candidates_is_an_empty_answer():
    frame = _candidates(3, 4).iloc[:0]
    columns = {name: frame[name].to_numpy(dtype=object if frame[name].dtype == "str" else None) for name in frame}
    got, within = rank_near(columns, *INCIDENT, 200, AT, NOW, carry=("public_id",))
    assert got.empty and within == 0 and list(got.columns)[: len(CANDIDATE_COLUMNS)] == CANDIDATE_COLUMNS
