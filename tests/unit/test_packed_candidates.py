"""The PostGIS candidate answer travels packed, one value per column (``camera_queries._NEAR_SQL``);
``_unpacked`` turns it back into arrays. Packed here by hand with ``struct`` (PostgreSQL's send forms
are big-endian), with every kind of missing value, and checked value by value."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from dashboard.registry import camera_queries as cq

SEP = chr(31)


def _packed(rows: list[tuple]) -> list:
    def ints(fmt, i):
        return b"".join(struct.pack(fmt, r[i]) for r in rows)

    def small(i):  # NULL goes as -32768, which no row holds
        return b"".join(struct.pack(">h", -32768 if r[i] is None else r[i]) for r in rows)

    def text(i):
        return SEP.join("" if r[i] is None else r[i] for r in rows)

    return [
        ints(">i", 0),
        ints(">i", 1),
        ints(">d", 2),
        ints(">d", 3),
        ints(">d", 4),
        ints(">d", 5),
        text(6),
        small(7),
        small(8),
        small(9),
        small(10),
        text(11),
        text(12),
    ]


ROWS = [
    (7, 3, 52.80641, -2.11739, 392400.25, 322900.5, "doorbell", 350, 90, 25, 30, "email", "CAM-7K3QX9P2"),
    (2_000_000_001, 9, 52.5, -1.9, 400000.0, 300000.0, None, None, None, None, 0, None, "CAM-22222222"),
    (12, 9, -0.0, 0.0, 1e-3, 6e5, "ptz", 0, 360, 1, None, "phone", None),
]


def test_each_column_comes_back_with_its_values_and_missing_ones():
    got = cq._unpacked(len(ROWS), _packed(ROWS))
    assert list(got) == [*cq.CANDIDATE_COLUMNS, "public_id"]
    assert got["camera_id"].tolist() == [7, 2_000_000_001, 12] and got["camera_id"].dtype == np.int64
    assert got["site_id"].tolist() == [3, 9, 9]
    assert got["lat"].tolist() == [52.80641, 52.5, -0.0] and got["easting_m"].tolist() == [392400.25, 400000.0, 1e-3]
    assert got["kind"].tolist() == ["doorbell", None, "ptz"]
    np.testing.assert_array_equal(got["direction_deg"], [350.0, np.nan, 0.0])
    np.testing.assert_array_equal(got["fov_angle_deg"], [90.0, np.nan, 360.0])
    np.testing.assert_array_equal(got["retention_days"], [30.0, 0.0, np.nan])
    assert got["preferred_channel"].tolist() == ["email", None, "phone"]
    assert got["public_id"].tolist() == ["CAM-7K3QX9P2", "CAM-22222222", None]


def test_nothing_found_is_empty_columns():
    got = cq._unpacked(0, [None] * 13)
    assert all(len(v) == 0 for v in got.values())
    assert got["camera_id"].dtype == np.int64 and got["lat"].dtype == np.float64


def test_a_column_out_of_line_with_the_count_is_an_error_not_a_shifted_answer():
    packed = _packed(ROWS)
    packed[12] = SEP.join(["CAM-7K3QX9P2", "CAM-22222222"])  # one public id short
    with pytest.raises(RuntimeError, match="public_id holds 2 values, not 3"):
        cq._unpacked(len(ROWS), packed)
