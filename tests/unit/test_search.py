"""Officer search: radius search against brute-force geodesics, retention, ranking, live index."""

from __future__ import annotations

import datetime as dt
import threading
import time

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from dashboard.geo.search import (
    CANDIDATE_COLUMNS,
    RESULT_COLUMNS,
    CameraIndex,
    LiveCameraIndex,
    grid_search_radius_m,
    local_inverse,
    rank_results,
    retention_status,
    search,
    wgs84_to_bng,
)

GEOD = Geod(ellps="WGS84")
UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=UTC)
STAFFS = (-2.47, 52.42, -1.58, 53.23)  # lon/lat bounding box
INCIDENT = (52.8064, -2.1174)  # lat, lon (Stafford)


def camera_frame(lat, lon, **columns) -> pd.DataFrame:
    """A frame with CANDIDATE_COLUMNS for cameras at ``lat``/``lon`` (ids 1..n)."""
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    n = len(lat)
    easting_m, northing_m = wgs84_to_bng().transform(lon, lat)
    frame = pd.DataFrame(
        {
            "camera_id": np.arange(1, n + 1),
            "site_id": np.arange(1, n + 1) // 2 + 1,
            "lat": lat,
            "lon": lon,
            "easting_m": easting_m,
            "northing_m": northing_m,
            "kind": ["fixed"] * n,
            "direction_deg": np.full(n, np.nan),
            "fov_angle_deg": np.full(n, np.nan),
            "fov_range_m": np.full(n, np.nan),
            "retention_days": np.full(n, 30.0),
            "preferred_channel": ["email"] * n,
        }
    )
    for name, values in columns.items():
        frame[name] = values
    return frame


def at(lat, lon, azimuth_deg, distance_m) -> tuple[float, float]:
    """(lat, lon) of the point ``distance_m`` from (lat, lon) along ``azimuth_deg`` (Geod.fwd)."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth_deg, distance_m)
    return float(lat2), float(lon2)


def brute_force(frame: pd.DataFrame, lat: float, lon: float, radius_m: float) -> pd.DataFrame:
    """Cameras within radius_m by pyproj.Geod over every camera (a spherical distance with a
    2% + 10 m allowance only skips the obviously far ones, so each query stays cheap)."""
    phi, phi0 = np.radians(frame["lat"].to_numpy()), np.radians(lat)
    dlambda = np.radians(frame["lon"].to_numpy() - lon)
    a = np.sin((phi - phi0) / 2) ** 2 + np.cos(phi) * np.cos(phi0) * np.sin(dlambda / 2) ** 2
    near = frame[2 * np.arcsin(np.sqrt(a)) * 6_371_000 <= radius_m * 1.02 + 10]
    n = len(near)
    azimuth_deg, _, distance_m = GEOD.inv(
        near["lon"].to_numpy(), near["lat"].to_numpy(), np.full(n, lon), np.full(n, lat)
    )
    found = near.assign(distance_m=distance_m, bearing_to_incident_deg=np.asarray(azimuth_deg) % 360)
    return found[found["distance_m"] <= radius_m].sort_values("camera_id")


def synthetic_cameras(n: int, seed: int) -> pd.DataFrame:
    """Cameras clustered around 40 town centres in the Staffordshire box, plus 15% spread evenly."""
    rng = np.random.default_rng(seed)
    lon0, lat0, lon1, lat1 = STAFFS
    towns = 40
    centre_lat, centre_lon = rng.uniform(lat0, lat1, towns), rng.uniform(lon0, lon1, towns)
    spread_m = rng.uniform(300, 3000, towns)
    town = rng.integers(0, towns, n)
    lat = centre_lat[town] + rng.normal(size=n) * spread_m[town] / 111_200
    lon = centre_lon[town] + rng.normal(size=n) * spread_m[town] / (111_320 * np.cos(np.radians(lat)))
    rural = rng.random(n) < 0.15
    lat[rural], lon[rural] = rng.uniform(lat0, lat1, rural.sum()), rng.uniform(lon0, lon1, rural.sum())
    kinds = np.array(["doorbell", "fixed", "dome", "ptz", "other"], dtype=object)
    return camera_frame(
        np.clip(lat, lat0, lat1),
        np.clip(lon, lon0, lon1),
        kind=kinds[rng.integers(0, 5, n)],
        direction_deg=np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 360, n)),
        retention_days=np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 31, n)),
        preferred_channel=np.array(["email", "phone", "text", None], dtype=object)[rng.integers(0, 4, n)],
    )


@pytest.fixture(scope="module")
def cameras() -> pd.DataFrame:
    return synthetic_cameras(20_000, seed=3)


@pytest.fixture(scope="module")
def index(cameras) -> CameraIndex:
    return CameraIndex.from_frame(cameras)


# --------------------------------------------------------------------------- hand-computed cases


def test_camera_due_north_at_a_known_distance():
    lat, lon = at(*INCIDENT, 0.0, 150.0)  # 150 m due north of the incident
    index = CameraIndex.from_frame(camera_frame([lat], [lon]))
    found = index.candidates(*INCIDENT, 200)
    assert found["camera_id"].tolist() == [1]
    assert found["distance_m"].iloc[0] == pytest.approx(150.0, abs=1e-6)
    assert found["bearing_to_incident_deg"].iloc[0] == pytest.approx(180.0, abs=1e-6)  # looks due south
    assert index.candidates(*INCIDENT, 151)["camera_id"].tolist() == [1]
    assert index.candidates(*INCIDENT, 149).empty


@pytest.mark.parametrize("radius_m", [1, 50, 200, 1000, 5000])
def test_one_metre_inside_is_found_and_one_metre_outside_is_not(radius_m):
    azimuths = np.arange(0, 360, 30.0)
    inside = [at(*INCIDENT, a, radius_m - 1 if radius_m > 1 else 0.5) for a in azimuths]
    outside = [at(*INCIDENT, a + 15, radius_m + 1) for a in azimuths]
    lat, lon = zip(*(inside + outside))
    index = CameraIndex.from_frame(camera_frame(lat, lon))
    found = index.candidates(*INCIDENT, radius_m)
    assert sorted(found["camera_id"]) == list(range(1, len(azimuths) + 1))


def test_boundary_to_the_centimetre_follows_the_geodesic():
    radius_m = 300.0
    offsets_m = [(10, -0.01), (100, 0.01), (200, 0.001), (300, -0.001)]
    lat, lon = zip(*[at(*INCIDENT, a, radius_m + d) for a, d in offsets_m])
    index = CameraIndex.from_frame(camera_frame(lat, lon))
    found = index.candidates(*INCIDENT, radius_m)
    assert sorted(found["camera_id"]) == [1, 4]
    assert (found["distance_m"] <= radius_m).all()


def test_geod_decides_near_the_boundary_even_if_the_fast_formula_is_off(monkeypatch):
    import dashboard.geo.search as module

    fast = module.local_inverse

    def off_by_3_dm(*args):  # a fast formula 0.3 m wrong, alternately long and short
        distance_m, azimuth_deg = fast(*args)
        return distance_m + np.where(np.arange(len(distance_m)) % 2, 0.3, -0.3), azimuth_deg

    monkeypatch.setattr(module, "local_inverse", off_by_3_dm)
    radius_m = 200.0
    spots = [at(*INCIDENT, a, radius_m + d) for a in range(0, 360, 20) for d in (-0.1, 0.1)]
    index = CameraIndex.from_frame(camera_frame(*zip(*spots)))
    found = index.candidates(*INCIDENT, radius_m).sort_values("camera_id")
    assert found["camera_id"].tolist() == list(range(1, len(spots) + 1, 2))  # the ones 0.1 m inside
    np.testing.assert_allclose(found["distance_m"], radius_m - 0.1, atol=1e-6)


def test_candidates_columns_order_and_dtypes(index):
    found = index.candidates(*INCIDENT, 1000)
    assert list(found.columns) == [*CANDIDATE_COLUMNS, "distance_m", "bearing_to_incident_deg"]
    assert list(found.index) == list(range(len(found)))
    assert found["distance_m"].is_monotonic_increasing
    assert found["bearing_to_incident_deg"].between(0, 360, inclusive="left").all()
    assert found["camera_id"].dtype == np.int64 and found["distance_m"].dtype == np.float64


def test_nothing_nearby_gives_an_empty_frame_with_the_columns(index):
    found = index.candidates(53.5, -1.0, 100)  # outside the cameras' area
    assert found.empty and list(found.columns) == [*CANDIDATE_COLUMNS, "distance_m", "bearing_to_incident_deg"]
    result = search(index, 53.5, -1.0, 100, NOW, NOW)
    assert result.empty and list(result.columns) == RESULT_COLUMNS


def test_an_empty_register_searches_to_nothing():
    index = CameraIndex.from_frame(camera_frame([], []))
    assert len(index) == 0
    assert index.candidates(*INCIDENT, 500).empty
    assert list(search(index, *INCIDENT, 500, NOW, NOW).columns) == RESULT_COLUMNS


def test_values_come_back_unchanged(cameras, index):
    found = index.candidates(*INCIDENT, 3000).set_index("camera_id").sort_index()
    original = cameras.set_index("camera_id").loc[found.index]
    for name in CANDIDATE_COLUMNS[1:]:
        pd.testing.assert_series_equal(
            found[name].astype(object), original[name].astype(object), check_dtype=False, check_names=False
        )


def test_text_columns_are_categoricals_that_behave_like_text(cameras, index):
    busiest = cameras.iloc[0]
    result = search(index, busiest["lat"], busiest["lon"], 2000, NOW - dt.timedelta(days=2), NOW)
    assert len(result) > 50
    assert result["in_view"].cat.categories.tolist() == ["yes", "unknown", "no"] and result["in_view"].cat.ordered
    assert result["retention_status"].cat.categories.tolist() == ["available", "at_risk", "unknown", "overwritten"]
    assert result["kind"].cat.categories.tolist()[:5] == ["doorbell", "fixed", "dome", "ptz", "other"]
    assert result["preferred_channel"].isna().any()  # missing stays missing
    assert (result["kind"] == "ptz").sum() == (result["kind"].astype(str) == "ptz").sum() > 0
    records = result.head(3).to_dict("records")
    assert all(isinstance(r["in_view"], str) and isinstance(r["kind"], str) for r in records)
    # sorting by the ordered categories reproduces the ranking's first two keys
    resorted = result.sort_values(["in_view", "retention_status", "distance_m", "camera_id"], kind="stable")
    assert resorted["rank"].tolist() == result["rank"].tolist()


# --------------------------------------------------------------------------- against brute force


def test_random_queries_match_brute_force(cameras, index):
    rng = np.random.default_rng(11)
    lon0, lat0, lon1, lat1 = STAFFS
    picks = rng.integers(0, len(cameras), 200)
    near_cameras = zip(
        cameras["lat"].to_numpy()[picks] + rng.normal(0, 0.003, 200),
        cameras["lon"].to_numpy()[picks] + rng.normal(0, 0.004, 200),
    )
    anywhere = zip(rng.uniform(lat0, lat1, 100), rng.uniform(lon0, lon1, 100))
    queries = [*near_cameras, *anywhere]
    radii = rng.choice([50, 100, 200, 500, 1000, 2500, 5000], len(queries), p=[0.15, 0.15, 0.2, 0.2, 0.2, 0.05, 0.05])
    hits = 0
    for (lat, lon), radius_m in zip(queries, radii):
        expected = brute_force(cameras, float(lat), float(lon), float(radius_m))
        found = index.candidates(float(lat), float(lon), float(radius_m)).sort_values("camera_id")
        assert found["camera_id"].tolist() == expected["camera_id"].tolist(), (lat, lon, radius_m)
        np.testing.assert_allclose(found["distance_m"], expected["distance_m"], atol=0.5)
        np.testing.assert_allclose(found["distance_m"], expected["distance_m"], atol=0.005)  # in fact < 5 mm
        bearing_deg = found["bearing_to_incident_deg"].to_numpy()
        turn = (bearing_deg - expected["bearing_to_incident_deg"].to_numpy() + 180) % 360 - 180
        assert np.abs(turn).max(initial=0) < 1e-3
        hits += len(found)
    assert hits > 5_000  # the queries found plenty, so the comparison meant something


@pytest.mark.parametrize("lat, lon", [(50.07, -5.70), (58.60, -3.50), (52.63, 1.73), (51.50, -0.12)])
def test_far_from_the_central_meridian_too(lat, lon):
    # Land's End, Thurso, Lowestoft, London: where BNG's scale factor strays furthest
    rng = np.random.default_rng(int(lat * 100))
    spots = [at(lat, lon, a, d) for a, d in zip(rng.uniform(0, 360, 3000), rng.uniform(0, 1500, 3000))]
    frame = camera_frame(*zip(*spots))
    index = CameraIndex.from_frame(frame)
    for radius_m in (50, 200, 1000):
        for _ in range(5):
            qlat, qlon = at(lat, lon, rng.uniform(0, 360), rng.uniform(0, 500))
            expected = brute_force(frame, qlat, qlon, radius_m)
            assert sorted(index.candidates(qlat, qlon, radius_m)["camera_id"]) == expected["camera_id"].tolist()


def test_prefilter_margin_bounds_grid_distance_across_great_britain():
    rng = np.random.default_rng(5)
    n = 200_000
    lat, lon = rng.uniform(49.9, 60.8, n), rng.uniform(-8.0, 1.8, n)
    distance_m = rng.uniform(1, 5000, n)
    lon2, lat2, _ = GEOD.fwd(lon, lat, rng.uniform(0, 360, n), distance_m)
    x1, y1 = wgs84_to_bng().transform(lon, lat)
    x2, y2 = wgs84_to_bng().transform(lon2, lat2)
    grid_m = np.hypot(x2 - x1, y2 - y1)
    bound_m = np.array([grid_search_radius_m(d, x) for d, x in zip(distance_m, x1)])
    assert (grid_m <= bound_m).all()
    assert (grid_m / distance_m).max() > 1.001  # the test reaches where the scale factor matters


def test_local_inverse_matches_geod_to_the_millimetre_up_to_5_km():
    rng = np.random.default_rng(8)
    n = 50_000
    lat, lon = rng.uniform(49.9, 60.8, n), rng.uniform(-8.0, 1.8, n)
    azimuth_deg, distance_m = rng.uniform(0, 360, n), rng.uniform(0, 5000, n)
    to_lon, to_lat, _ = GEOD.fwd(lon, lat, azimuth_deg, distance_m)
    for i in range(0, n, 5000):  # one target point per call, as in a search
        measured_m, _bearing_deg = local_inverse(lat[i : i + 1], lon[i : i + 1], to_lat[i], to_lon[i])
        assert abs(measured_m[0] - distance_m[i]) < 1e-3
    _expected_az, _, _expected_m = GEOD.inv(lon, lat, to_lon, to_lat)
    many_m, many_deg = local_inverse(lat, lon, float(to_lat[0]), float(to_lon[0]))
    exact_az, _, exact_m = GEOD.inv(lon, lat, np.full(n, to_lon[0]), np.full(n, to_lat[0]))
    close = exact_m < 5000
    assert np.abs(many_m - exact_m)[close].max(initial=0) < 1e-3
    turn = (many_deg - np.asarray(exact_az) % 360 + 180) % 360 - 180
    assert np.abs(turn[close & (exact_m > 1)]).max(initial=0) < 1e-4


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("radius_m", [0, 0.5, 5000.5, -10, float("nan"), float("inf"), "200", None, True])
def test_radius_outside_1_to_5000_is_refused_naming_it(index, radius_m):
    with pytest.raises(ValueError, match=f"radius_m must be .* got {radius_m!r}"):
        index.candidates(*INCIDENT, radius_m)


@pytest.mark.parametrize(
    "lat, lon, name", [(91.0, -2.1, "lat"), (52.8, 200.0, "lon"), (float("nan"), -2.1, "lat"), (52.8, None, "lon")]
)
def test_bad_position_is_refused_naming_it(index, lat, lon, name):
    with pytest.raises(ValueError, match=f"{name} must be"):
        index.candidates(lat, lon, 200)


def test_frame_problems_are_named():
    frame = camera_frame([52.8, 52.81], [-2.1, -2.11])
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['preferred_channel'\]"):
        CameraIndex.from_frame(frame.drop(columns="preferred_channel"))
    with pytest.raises(ValueError, match=r"repeats camera_id\(s\) \[7\]"):
        CameraIndex.from_frame(frame.assign(camera_id=[7, 7]))
    with pytest.raises(ValueError, match=r"no valid lat/lon, e.g. camera_id \[2\]"):
        CameraIndex.from_frame(frame.assign(lat=[52.8, np.nan]))


def test_naive_datetimes_are_refused(index):
    with pytest.raises(ValueError, match="incident_at must be a timezone-aware datetime"):
        search(index, *INCIDENT, 200, dt.datetime(2026, 6, 1), NOW)


# --------------------------------------------------------------------------- retention


def test_retention_boundaries():
    incident_at = dt.datetime(2026, 5, 1, 12, tzinfo=UTC)
    hour = dt.timedelta(hours=1)
    microsecond = dt.timedelta(microseconds=1)
    cases = {  # now -> status, for 10 days' retention (footage kept until 11 May 12:00)
        incident_at + dt.timedelta(days=10) + microsecond: "overwritten",
        incident_at + dt.timedelta(days=10): "overwritten",  # equality: overwritten
        incident_at + dt.timedelta(days=10) - microsecond: "at_risk",
        incident_at + dt.timedelta(days=10) - 48 * hour: "at_risk",  # exactly 48 h left: at risk
        incident_at + dt.timedelta(days=10) - 48 * hour - microsecond: "available",
        incident_at: "available",
    }
    for now, expected in cases.items():
        until, status = retention_status(incident_at, [10], now)
        assert status.tolist() == [expected], now
        assert until[0] == pd.Timestamp("2026-05-11 12:00", tz="UTC")


def test_retention_unknown_zero_and_other_time_zones():
    bst = dt.timezone(dt.timedelta(hours=1))
    incident_at = dt.datetime(2026, 5, 1, 13, tzinfo=bst)  # 12:00 UTC
    until, status = retention_status(incident_at, [np.nan, None, 0, 1], dt.datetime(2026, 5, 1, 12, 30, tzinfo=UTC))
    assert status.tolist() == ["unknown", "unknown", "overwritten", "at_risk"]
    assert pd.isna(until[0]) and pd.isna(until[1])
    assert str(until.dtype) == "datetime64[us, UTC]"
    assert until[3] == pd.Timestamp("2026-05-02 12:00", tz="UTC")


def test_at_risk_window_is_configurable():
    incident_at = dt.datetime(2026, 5, 1, tzinfo=UTC)
    _, status = retention_status(incident_at, [3], incident_at, at_risk_hours=72)
    assert status.tolist() == ["at_risk"]
    with pytest.raises(ValueError, match=r"at_risk_hours must be .* got -1"):
        retention_status(incident_at, [3], incident_at, at_risk_hours=-1)


# --------------------------------------------------------------------------- ranking


def hand_made_candidates() -> pd.DataFrame:
    """Six cameras around an incident, with view, retention and distance chosen by hand."""
    frame = camera_frame(
        [52.8] * 6,
        [-2.1] * 6,
        camera_id=[11, 12, 13, 14, 15, 16],
        kind=["fixed", "fixed", "doorbell", "ptz", "fixed", "fixed"],
        direction_deg=[0, np.nan, 180, np.nan, 0, 0],
        fov_angle_deg=[90, 90, np.nan, np.nan, 90, 90],
        fov_range_m=[25, 25, np.nan, np.nan, 25, 25],
        retention_days=[30, 30, 30, 1, 30, np.nan],
    )
    # 11: yes/available 20 m; 12: unknown/available 5 m; 13: doorbell facing away -> no, 3 m;
    # 14: ptz (360, 40 m default) -> yes, but overwritten (1 day); 15: yes/available 20 m, tie
    # with 11 broken by id; 16: yes, retention unknown, 1 m
    return frame.assign(
        distance_m=[20.0, 5.0, 3.0, 30.0, 20.0, 1.0],
        bearing_to_incident_deg=[10.0, 10.0, 10.0, 10.0, 350.0, 0.0],
        owner_note=list("abcdef"),
    )


def test_ranking_order_on_a_hand_made_frame():
    incident_at = NOW - dt.timedelta(days=2)
    ranked = rank_results(hand_made_candidates(), incident_at, NOW)
    assert ranked["camera_id"].tolist() == [11, 15, 16, 14, 12, 13]
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    by_id = ranked.set_index("camera_id")
    assert by_id["in_view"].to_dict() == {11: "yes", 15: "yes", 16: "yes", 14: "yes", 12: "unknown", 13: "no"}
    assert by_id["retention_status"].to_dict() == {
        11: "available",
        15: "available",
        16: "unknown",
        14: "overwritten",
        12: "available",
        13: "available",
    }
    # kind defaults filled and flagged: doorbell 160 deg / 10 m, ptz 360 deg / 40 m
    assert by_id.loc[13, ["fov_angle_deg", "fov_range_m"]].tolist() == [160, 10]
    assert by_id.loc[14, ["fov_angle_deg", "fov_range_m"]].tolist() == [360, 40]
    assert by_id["fov_from_kind_default"].to_dict() == {11: False, 15: False, 16: False, 14: True, 12: False, 13: True}
    assert by_id.loc[14, "retained_until"] == pd.Timestamp(incident_at + dt.timedelta(days=1))
    assert list(ranked.columns) == [*RESULT_COLUMNS, "owner_note"]  # extra columns kept, at the end
    assert ranked.set_index("camera_id")["owner_note"].to_dict()[13] == "c"


def test_at_risk_ranks_between_available_and_unknown():
    frame = hand_made_candidates().iloc[[0, 0, 0, 0]].assign(camera_id=[1, 2, 3, 4], retention_days=[np.nan, 30, 2, 1])
    ranked = rank_results(frame, NOW - dt.timedelta(days=1), NOW)
    assert ranked["retention_status"].tolist() == ["available", "at_risk", "unknown", "overwritten"]
    assert ranked["camera_id"].tolist() == [2, 3, 1, 4]


def test_search_is_candidates_then_rank_results(cameras, index):
    incident_at = NOW - dt.timedelta(days=10)
    for lat, lon in [INCIDENT, (cameras["lat"].iloc[0], cameras["lon"].iloc[0])]:
        direct = search(index, lat, lon, 1000, incident_at, NOW)
        two_step = rank_results(index.candidates(lat, lon, 1000), incident_at, NOW)
        pd.testing.assert_frame_equal(direct, two_step, check_dtype=False)
        assert list(direct.columns) == RESULT_COLUMNS
        assert set(direct["in_view"]) <= {"yes", "unknown", "no"}
        codes = direct["in_view"].map({"yes": 0, "unknown": 1, "no": 2})
        assert codes.is_monotonic_increasing
    assert len(direct) > 20


# --------------------------------------------------------------------------- live index


def test_rebuild_does_not_block_searches():
    first = camera_frame([52.8], [-2.1])
    second = camera_frame([52.8, 52.801], [-2.1, -2.1])
    started, release = threading.Event(), threading.Event()
    loads = [first]

    def loader() -> pd.DataFrame:
        if len(loads) > 1:
            started.set()
            assert release.wait(10), "test never released the loader"
        return loads[-1]

    live = LiveCameraIndex(loader)
    assert live.version() == 0
    old = live.current()  # built synchronously on first use
    assert len(old) == 1 and live.version() == 1

    loads.append(second)
    worker = live.rebuild_async()
    assert started.wait(5)
    # Searches from another thread while the loader is held: they all return (the old index) before the
    # test lets the loader go, so none of them waited for the rebuild. The timeout only stops a hang.
    served = []

    def searcher() -> None:
        for _ in range(100):
            served.append(live.current() is old)
        served.append(len(search(live.current(), 52.8, -2.1, 500, NOW, NOW)))

    searching = threading.Thread(target=searcher, daemon=True)
    searching.start()
    searching.join(5)  # the loader waits up to 10 s for the release
    assert not searching.is_alive(), "a search waited for the rebuild"
    assert served == [True] * 100 + [1]  # the old index served every one, while the loader was still held
    assert worker.is_alive() and not release.is_set()

    release.set()
    worker.join(5)
    assert not worker.is_alive()
    assert live.version() == 2 and len(live.current()) == 2


def test_concurrent_rebuild_requests_are_coalesced():
    started, release = threading.Event(), threading.Event()
    calls = []

    def loader() -> pd.DataFrame:
        calls.append(time.perf_counter())
        if len(calls) == 2:
            started.set()
            assert release.wait(10), "test never released the loader"
        return camera_frame([52.8] * len(calls), [-2.1 + 0.001 * i for i in range(len(calls))])

    live = LiveCameraIndex(loader)
    live.current()
    worker = live.rebuild_async()
    assert started.wait(5)  # the rebuild is loading...
    assert all(live.rebuild_async() is worker for _ in range(4))  # ...so four more requests join it
    release.set()
    worker.join(5)
    assert len(calls) == 3  # first build, the rebuild, and one more pass for the four requests
    assert live.version() == 3 and len(live.current()) == 3
    later = live.rebuild_async()  # once idle, a request starts a new thread
    assert later is not worker
    later.join(5)
    assert len(calls) == 4 and live.version() == 4


def test_a_failed_rebuild_keeps_the_old_index():
    frames = [camera_frame([52.8], [-2.1])]

    def loader() -> pd.DataFrame:
        if len(frames) > 1:
            raise RuntimeError("database is locked")
        return frames[0]

    live = LiveCameraIndex(loader)
    old = live.current()
    frames.append(None)
    live.rebuild_async().join(5)
    assert live.current() is old and live.version() == 1
    assert isinstance(live.last_error, RuntimeError)
