"""The officer search's ranked results as the JSON array of ``NearCamera`` objects, encoded once.

A busy answer holds several hundred cameras. Building a dict per camera and then encoding the
dicts cost more server time than the search itself, so each column is encoded in one call
(orjson over the whole column, or a lookup of the few encoded labels of a coded column) and
each object is put together from its columns' JSON texts with one bytes template. The result is
embedded in the response as an ``orjson.Fragment``.

The fields, their order and their values are ``NearCamera``'s (``dashboard/api/schemas.py``);
the tests compare this encoding with the pydantic model's own, camera by camera.
"""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd

FIELDS = (
    "rank",
    "camera_id",
    "distance_m",
    "kind",
    "direction_deg",
    "fov_angle_deg",
    "fov_range_m",
    "in_view",
    "retained_until",
    "retention_status",
    "preferred_channel",
)
_OBJECT = ("{" + ",".join(f'"{name}":%b' for name in FIELDS) + "}").encode()
_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def _split(array_text: bytes) -> list[bytes]:
    """The elements of a JSON array of numbers, nulls or comma-free strings, each as its JSON text."""
    inner = array_text[1:-1]
    return inner.split(b",") if inner else []


def _numbers(values: np.ndarray) -> list[bytes]:
    """Each number as JSON (NaN as null)."""
    return _split(orjson.dumps(np.ascontiguousarray(values), option=_NUMPY))


def _whole_or_null(values: np.ndarray) -> list[bytes]:
    """Floats holding whole numbers as JSON integers, NaN as null."""
    return _split(orjson.dumps([None if v != v else int(v) for v in values.tolist()]))


def _labels(column: pd.Series) -> list[bytes]:
    """A text column as JSON strings (missing as null), encoding each distinct label once."""
    values = column.array
    if not isinstance(values, pd.Categorical):
        values = pd.Categorical(column.where(column.map(lambda v: isinstance(v, str)), None))
    lookup = np.array([orjson.dumps(str(label)) for label in values.categories] + [b"null"], dtype=object)
    return lookup[values.codes].tolist()  # code -1 (missing) picks the appended null


def _texts(values: list) -> list[bytes]:
    """Each text as its JSON string (the cameras' public ids: all distinct)."""
    return [orjson.dumps(v) for v in values]


def _utc_times(column: pd.Series) -> list[bytes]:
    """Aware timestamps as JSON strings like ``"2026-12-20T21:30:00+00:00"`` (whole seconds, UTC),
    NaT as null. A search's times are its incident time plus a few distinct retention periods,
    so each distinct time is formatted once."""
    stamps = column.to_numpy(dtype="datetime64[s]")  # aware values come out as UTC
    distinct, codes = np.unique(stamps, return_inverse=True)
    lookup = np.array([b"null" if np.isnat(t) else b'"%s+00:00"' % str(t).encode() for t in distinct], dtype=object)
    return lookup[codes.ravel()].tolist()


def near_cameras_json(results: pd.DataFrame) -> bytes:
    """``results`` (ranked, as ``find_cameras`` returns them, with ``camera_id`` holding each camera's
    public id: ``public_ids``) as a JSON array of NearCamera objects."""
    if len(results) == 0:
        return b"[]"
    columns = (
        _numbers(results["rank"].to_numpy()),
        _texts(results["camera_id"].tolist()),
        _numbers(np.round(results["distance_m"].to_numpy(dtype="float64"), 2)),
        _labels(results["kind"]),
        _whole_or_null(results["direction_deg"].to_numpy(dtype="float64")),
        _numbers(results["fov_angle_deg"].to_numpy(dtype="float64")),
        _numbers(results["fov_range_m"].to_numpy(dtype="float64")),
        _labels(results["in_view"]),
        _utc_times(results["retained_until"]),
        _labels(results["retention_status"]),
        _labels(results["preferred_channel"]),
    )
    return b"[" + b",".join([_OBJECT % row for row in zip(*columns)]) + b"]"
