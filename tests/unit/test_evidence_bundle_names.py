"""Names inside the hand-off bundle and its CSV cells, worked by hand."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from dashboard.evidence.bundle import _manifest_csv, bundle_filename, safe_name


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("JO/1", "JO-1"),
        ("../../etc/passwd", "etc-passwd"),
        ("front door (1).mp4", "front_door_1_.mp4"),
        ("<script>.mp4", "script_.mp4"),
        ("..", "file"),
        ("", "file"),
        ("C:\\Users\\ann\\clip.mp4", "C_-Users-ann-clip.mp4"),
        ("vidéo de nuit.MOV", "vid_o_de_nuit.MOV"),
    ],
)
def test_member_names_are_made_of_safe_characters_only(raw, expected):
    assert safe_name(raw, "file") == expected


def test_a_long_name_keeps_its_extension():
    assert safe_name("a" * 200 + ".mp4", "file") == "a" * 76 + ".mp4"


def test_the_bundle_is_named_after_the_case_the_request_and_the_utc_time():
    when = dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))  # 22:30 UTC
    assert bundle_filename("CR/2026/12", when) == "CR-2026-12-evidence-20260701T223000Z.zip"
    assert bundle_filename('x"; rm -rf', when, "REQ-7K3QX9P2") == "x_rm_-rf-REQ-7K3QX9P2-evidence-20260701T223000Z.zip"


def test_owner_text_that_a_spreadsheet_would_run_is_kept_as_text_in_the_csv():
    manifest = {
        "files": [
            {
                "exhibit_ref": "JO/1",
                "file_id": "EVF-1",
                "path": "files/JO-1__a.mp4",
                "sha256": "0" * 64,
                "size_bytes": 5,
                "original_name": "a.mp4",
                "caption": '=HYPERLINK("http://x")',
                "response_id": "FTG-1",
                "request_ids": ["REQ-1"],
                "camera_ids": ["CAM-1"],
            }
        ],
        "statements": [
            {
                "response_id": "FTG-1",
                "copy_made_by_owner": True,
                "copy_made_at_utc": None,
                "signed_name": "@Ann",
                "note": "-1 minute",
            }
        ],
    }
    [row] = list(csv.DictReader(io.StringIO(_manifest_csv(manifest).decode("utf-8-sig"))))
    assert (row["caption"], row["signed_name"], row["owner_note"]) == (
        '\'=HYPERLINK("http://x")',
        "'@Ann",
        "'-1 minute",
    )
    assert (row["size_bytes"], row["copy_made_by_owner"], row["request_ids"]) == ("5", "yes", "REQ-1")
