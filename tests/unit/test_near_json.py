"""The API's column-wise encoding of search results equals, camera by camera, what the NearCamera
model makes of the same rows read one at a time (the second method), edge cases included."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from dashboard.api.near_json import FIELDS, near_cameras_json
from dashboard.api.schemas import NearCamera

UTC = dt.UTC


def _results() -> pd.DataFrame:
    kinds = pd.Categorical(
        ["doorbell", 'dome, "outdoor"', "ptz", None, "doorbell"], categories=["doorbell", "ptz", 'dome, "outdoor"']
    )
    return pd.DataFrame(
        {
            "rank": [1, 2, 3, 4, 5],
            "camera_id": ["CAM-7K3QX9P2", "CAM-22222222", "CAM-ZZZZZZZZ", "CAM-M4T8WZ2C", "CAM-A2B3C4D5"],
            "distance_m": [0.0, 12.3456, 199.999, 1e-07, 87.5],
            "kind": kinds,
            "direction_deg": [350.0, np.nan, 0.0, 359.0, 90.0],
            "fov_angle_deg": [40.0, 110.5, 360.0, 90.0, 160.0],
            "fov_range_m": [30.0, 10.0, 100.25, 15.0, 10.0],
            "in_view": pd.Categorical(["yes", "unknown", "no", "no", "yes"], categories=["yes", "unknown", "no"]),
            "retained_until": pd.to_datetime(
                ["2026-12-20T21:30:00Z", None, "2026-11-27T21:30:00Z", "2026-12-20T21:30:00Z", "2027-01-19T21:30:00Z"],
                utc=True,
            ),
            "retention_status": pd.Categorical(
                ["available", "unknown", "overwritten", "available", "at_risk"],
                categories=["available", "at_risk", "unknown", "overwritten"],
            ),
            "preferred_channel": np.array(["email", None, "phone", "email", "post"], dtype=object),  # not coded
            "lat": [52.8] * 5,  # extra columns are left out
        }
    )


def _one_at_a_time(results: pd.DataFrame) -> list[dict]:
    rows = []
    for r in results.to_dict("records"):
        until = r["retained_until"]
        rows.append(
            NearCamera(
                rank=r["rank"],
                camera_id=r["camera_id"],
                distance_m=round(r["distance_m"], 2),
                kind=r["kind"] if isinstance(r["kind"], str) else "",
                direction_deg=None if np.isnan(r["direction_deg"]) else int(r["direction_deg"]),
                fov_angle_deg=r["fov_angle_deg"],
                fov_range_m=r["fov_range_m"],
                in_view=r["in_view"],
                retained_until=None if pd.isna(until) else until.to_pydatetime(),
                retention_status=r["retention_status"],
                preferred_channel=r["preferred_channel"] if isinstance(r["preferred_channel"], str) else None,
            )
        )
    return rows


def test_each_camera_encodes_as_the_model_reads_it():
    results = _results()
    encoded = json.loads(near_cameras_json(results))
    expected = _one_at_a_time(results)
    assert [list(o) for o in encoded] == [list(FIELDS)] * 5  # the model's fields, in its order
    parsed = [NearCamera.model_validate({**o, "kind": o["kind"] or ""}) for o in encoded]
    assert parsed == expected
    # Worked by hand: the values a client reads.
    assert encoded[1]["camera_id"] == "CAM-22222222" and encoded[1]["distance_m"] == 12.35
    assert encoded[1]["kind"] == 'dome, "outdoor"' and encoded[3]["kind"] is None
    assert encoded[1]["direction_deg"] is None and encoded[0]["direction_deg"] == 350
    assert encoded[1]["retained_until"] is None and encoded[1]["preferred_channel"] is None
    assert encoded[0]["retained_until"] == "2026-12-20T21:30:00+00:00"
    assert encoded[4]["retained_until"] == "2027-01-19T21:30:00+00:00"
    assert encoded[3]["distance_m"] == 0.0 and encoded[2]["distance_m"] == 200.0


def test_no_results_is_an_empty_array():
    assert near_cameras_json(_results().iloc[0:0]) == b"[]"


@pytest.mark.parametrize("n", [1, 2, 1000])
def test_any_length_keeps_rows_apart(n):
    rng = np.random.default_rng(n)
    base = _results()
    results = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
    results["rank"] = np.arange(1, n + 1)
    results["camera_id"] = [f"CAM-{i:08d}" for i in rng.integers(1, 10**8, n)]
    results["distance_m"] = rng.uniform(0, 1000, n)
    encoded = json.loads(near_cameras_json(results))
    assert len(encoded) == n
    assert [o["rank"] for o in encoded] == list(range(1, n + 1))
    assert [o["camera_id"] for o in encoded] == results["camera_id"].tolist()
    for o, d in zip(encoded, results["distance_m"].tolist()):  # to the centimetre
        assert abs(o["distance_m"] - d) <= 0.005 + 1e-9 and o["distance_m"] == round(o["distance_m"], 2)
