"""What an upload is, by its content (dashboard/footage/probe.py): the cases the upload endpoint
tests do not reach one by one."""

from __future__ import annotations

import os
import struct
import zipfile

import pytest

from dashboard.footage import probe
from dashboard.footage.probe import Refused
from tests.media import dvr_zip, make_jpeg, make_video, pe_header

BIG = 10 << 30


def refused(path) -> Refused:
    with pytest.raises(Refused) as caught:
        probe.probe(path, max_unpacked_bytes=BIG)
    assert len(caught.value.message) <= 300
    return caught.value


@pytest.mark.parametrize(
    "head, words",
    [
        (b"\xcf\xfa\xed\xfe" + b"\x00" * 100, "Mac program"),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + b"\x00" * 100, "Java class"),
        (b"\x00asm\x01\x00\x00\x00" + b"\x00" * 100, "WebAssembly"),
        (b"\xef\xbb\xbf#!/usr/bin/env python\n" + b"x" * 100, "script"),
        (b"dex\n035\x00" + b"\x00" * 100, "Android"),
    ],
)
def test_programs_are_refused_whatever_their_name(tmp_path, head, words):
    path = tmp_path / "holiday.mp4"
    path.write_bytes(head)
    found = refused(path)
    assert found.reason == "program" and words in found.message


def test_other_archives_than_zip_are_refused_naming_them(tmp_path):
    path = tmp_path / "export.mp4"
    path.write_bytes(b"Rar!\x1a\x07\x00" + os.urandom(200))
    assert "RAR" in refused(path).message


def test_a_video_keeps_its_container_codec_size_and_recording_time(tmp_path):
    media = probe.probe(make_video(tmp_path / "x", container="matroska", seconds=2), max_unpacked_bytes=BIG)
    assert media.kind == "video"
    assert (media.summary["container"], media.summary["codec"]) == ("matroska", "h264")
    assert media.summary["recorded_at"] == "2026-11-30T21:14:05+00:00"
    unset = make_video(tmp_path / "y.mp4", recorded_at="1970-01-01T00:00:00Z")
    assert "recorded_at" not in probe.probe(unset, max_unpacked_bytes=BIG).summary  # a camera clock never set


def test_a_damaged_picture_is_refused(tmp_path):
    data = make_jpeg(tmp_path / "p.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[:200])
    assert refused(tmp_path / "cut.jpg").reason == "damaged_image"


def test_heic_is_accepted_by_its_brand(tmp_path):
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + os.urandom(500))
    media = probe.probe(path, max_unpacked_bytes=BIG)
    assert media.kind == "image" and media.summary["format"] == "heif"


def test_archives_over_the_limits_are_refused_without_unpacking(tmp_path):
    many = dvr_zip(tmp_path / "many.zip", {f"ch{i}.dav": b"x" for i in range(probe.ZIP_MAX_ENTRIES + 1)})
    assert "2001 files" in refused(many).message
    big = dvr_zip(tmp_path / "big.zip", {"a.dav": os.urandom(3000)})
    with pytest.raises(Refused) as caught:
        probe.probe(big, max_unpacked_bytes=1000)
    assert "would unpack to" in caught.value.message


def test_an_archive_whose_members_overlap_is_refused(tmp_path):
    """The 'overlapping files' bomb: two directory entries pointing at the same data."""
    path = dvr_zip(tmp_path / "o.zip", {"a.dav": os.urandom(2000), "b.dav": os.urandom(2000)})
    data = bytearray(path.read_bytes())
    directory = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)  # the second central entry
    data[directory + 42 : directory + 46] = struct.pack("<I", 0)  # its local header offset -> the first member
    path.write_bytes(bytes(data))
    found = refused(path)
    assert found.reason in ("zip_bomb", "damaged_archive")


def test_an_archive_must_hold_footage_and_only_harmless_side_files(tmp_path):
    only_text = dvr_zip(tmp_path / "t.zip", {"readme.txt": b"hello"})
    assert "no video" in refused(only_text).message
    odd = dvr_zip(tmp_path / "d.zip", {"a.dav": b"x" * 10, "notes.docx": b"x" * 10})
    assert "notes.docx" in refused(odd).message
    big_side = dvr_zip(tmp_path / "s.zip", {"a.dav": b"x" * 10, "log.txt": os.urandom(2 << 20)})
    assert "log.txt" in refused(big_side).message
    hidden = dvr_zip(tmp_path / "h.zip", {"a.dav": b"x" * 10, "CH2.264": pe_header()})
    assert "Windows program" in refused(hidden).message
    good = dvr_zip(
        tmp_path / "g.zip",
        {"CH1/a.dav": b"x" * 10, "CH2/b.264": b"y" * 10, "snap.jpg": b"z", "index.xml": b"<x/>"},
        compression=zipfile.ZIP_DEFLATED,
    )
    media = probe.probe(good, max_unpacked_bytes=BIG)
    assert media.kind == "archive" and media.summary["footage_files"] == 2 and media.summary["files"] == 4
