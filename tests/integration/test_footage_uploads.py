"""The owner's resumable uploads (tus 1.0.0 at /respond/<token>/files): protocol, limits, refusal by
content, the content-addressed store, a disk that fills, and a real upload over loopback that is cut
off mid-request and resumed.

Media is made in the test with PyAV (tests/media.py). Each bad input is checked to store nothing
(no file in the store, no stored row) and to answer with a message that says what was wrong.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from dashboard.config import load_settings
from dashboard.core.digests import token_digest
from dashboard.core.vocab import ROLES
from dashboard.footage import links
from dashboard.footage.uploads import HASHERS
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, EvidenceFile, FootageResponse, Registrant, User
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user
from tests.conftest import unavailable
from tests.integration.conftest import PASSWORD, login
from tests.media import RECORDED_AT, dvr_zip, make_jpeg, make_video, pe_header, truncate_half, zip_bomb

MB = 1 << 20
TUS = {"Tus-Resumable": "1.0.0"}
MAX_FILES, MAX_FILE_MB, MAX_TOTAL_MB = 4, 6, 10


@pytest.fixture
def evidence_dir(request, tmp_path):
    """The evidence folder: on the test's disk, or (``indirect`` param 'small') a 4 MB tmpfs, which
    needs root (tests run as root on CI); skipped elsewhere unless every test is required."""
    if getattr(request, "param", None) != "small":
        yield tmp_path / "evidence"
        return
    where = tmp_path / "small"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        unavailable(f"cannot mount a small tmpfs: {done.stderr.decode(errors='replace').strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def runtime(tmp_path, reference_dir, evidence_dir):
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
            "EVIDENCE_DIR": str(evidence_dir),
            "EVIDENCE_MIN_FREE_MB": "0",
            "UPLOAD_MAX_FILES": str(MAX_FILES),
            "UPLOAD_MAX_FILE_MB": str(MAX_FILE_MB),
            "UPLOAD_MAX_TOTAL_MB": str(MAX_TOTAL_MB),
            "OUTBOX_WORKER": "0",
        }
    )
    rt = prepare(settings)
    with transaction(rt.sessions) as s:
        for role in ROLES:
            create_user(s, f"{role}1", PASSWORD, role)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def client(app):
    return app.server.test_client()


NOW = dt.datetime.now(dt.UTC)


def open_response(rt, *, case_ref: str = "CASE/0001", expires_days: float = 7, answered: bool = False) -> str:
    """A response for a new registrant, its link issued now; returns the link's token."""
    with transaction(rt.sessions) as s:
        n = s.scalar(sa.select(sa.func.count()).select_from(Registrant)) + 1
        owner = Registrant(
            reference=f"REF{n:05d}",
            name=f"Owner {n}",
            email=f"owner{n}@example.org",
            consent_at=NOW,
            status="active",
            last_confirmed_at=NOW,
        )
        s.add(owner)
        s.flush()
        officer = s.scalar(sa.select(User).where(User.username == "officer1"))
        response = FootageResponse(case_ref=case_ref, registrant_id=owner.id, requested_by_id=officer.id)
        token = links.issue(response, NOW - dt.timedelta(days=1), 1 + expires_days)
        if answered:
            response.answer, response.answered_at = "nothing", NOW
        s.add(response)
    return token


def meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(client, token: str, size: int, name: str = "clip.mp4", caption: str | None = None, **headers):
    values = {"filename": name, **({"caption": caption} if caption is not None else {})}
    return client.post(
        f"/respond/{token}/files",
        headers={**TUS, "Upload-Length": str(size), "Upload-Metadata": meta(**values), **headers},
    )


def patch(client, url: str, offset: int, data: bytes, **headers):
    return client.patch(
        url,
        data=data,
        headers={**TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream", **headers},
    )


def send(client, token: str, data: bytes, name: str = "clip.mp4", chunk: int = 256 * 1024, caption=None):
    """Create an upload and PATCH it in ``chunk``-byte pieces; returns (location, last response)."""
    made = create(client, token, len(data), name, caption)
    assert made.status_code == 201, made.get_data(as_text=True)
    url = made.headers["Location"]
    answer = None
    for start in range(0, len(data), chunk):
        answer = patch(client, url, start, data[start : start + chunk])
        if answer.status_code != 204:
            break
    return url, answer


def head(client, url: str):
    return client.head(url, headers=TUS)


def stored_files(rt) -> list[Path]:
    root = rt.settings.evidence_dir / "sha256"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def part_files(rt) -> list[Path]:
    root = rt.settings.evidence_dir / "incoming"
    return sorted(root.glob("*.part")) if root.exists() else []


def rows(rt) -> list[EvidenceFile]:
    with transaction(rt.sessions) as s:
        return list(s.scalars(sa.select(EvidenceFile).order_by(EvidenceFile.id)))


def events(rt, action: str) -> list[AuditEvent]:
    with transaction(rt.sessions) as s:
        return list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def error(response) -> str:
    return response.get_json()["error"]


def nothing_stored(rt) -> None:
    assert stored_files(rt) == []
    assert part_files(rt) == []
    assert all(r.state != "stored" for r in rows(rt))


# --------------------------------------------------------------------------- protocol


def test_options_says_what_the_server_speaks(client, runtime):
    token = open_response(runtime)
    answer = client.options(f"/respond/{token}/files")
    assert answer.status_code == 204
    assert answer.headers["Tus-Version"] == "1.0.0"
    assert set(answer.headers["Tus-Extension"].split(",")) == {"creation", "termination"}
    assert int(answer.headers["Tus-Max-Size"]) == MAX_FILE_MB * MB


def test_a_video_sent_in_chunks_is_probed_hashed_and_stored_by_its_sha256(client, runtime, tmp_path):
    data = make_video(tmp_path / "front.mp4", seconds=2.5).read_bytes()
    token = open_response(runtime, case_ref="CASE/0042")
    url, last = send(client, token, data, "Front door.mp4", caption="Front door, from 21:10")
    assert last.status_code == 204 and int(last.headers["Upload-Offset"]) == len(data)
    assert last.headers["Tus-Resumable"] == "1.0.0"
    digest = hashlib.sha256(data).hexdigest()

    where = runtime.settings.evidence_dir / "sha256" / digest[:2] / digest[2:4] / digest
    assert stored_files(runtime) == [where] and where.read_bytes() == data
    assert part_files(runtime) == []
    (row,) = rows(runtime)
    assert (row.state, row.sha256, row.received_bytes, row.original_name, row.caption) == (
        "stored",
        digest,
        len(data),
        "Front door.mp4",
        "Front door, from 21:10",
    )
    assert (row.media["kind"], row.media["container"], row.media["codec"]) == ("video", "mp4", "h264")
    assert (row.media["width"], row.media["height"]) == (320, 240)
    assert row.media["duration_s"] == pytest.approx(2.5, abs=0.05)
    assert (
        row.media["recorded_at"]
        == "2026-11-30T21:14:05+00:00"
        == dt.datetime.fromisoformat(RECORDED_AT.replace("Z", "+00:00")).isoformat(timespec="seconds")
    )

    h = head(client, url)
    assert h.status_code == 200 and h.headers["Upload-Offset"] == h.headers["Upload-Length"] == str(len(data))
    assert h.headers["Cache-Control"] == "no-store"
    listed = client.get(f"/respond/{token}/files.json").get_json()["files"]
    assert [(f["name"], f["state"], f["sha256"], f["size"], f["received"]) for f in listed] == [
        ("Front door.mp4", "stored", digest, len(data), len(data))
    ]
    (event,) = events(runtime, "footage_uploaded")
    assert event.case_ref == "CASE/0042" and event.username == "public"
    assert f'"sha256":"{digest}"' in event.detail and f'"size":{len(data)}' in event.detail


@pytest.mark.parametrize("kind", ["webm", "avi", "jpeg", "dvr_zip"])
def test_other_footage_is_accepted_by_its_content(client, runtime, tmp_path, kind):
    if kind == "webm":
        path, expect = make_video(tmp_path / "a.bin", container="webm", codec="libvpx-vp9"), ("video", "vp9")
    elif kind == "avi":
        path, expect = make_video(tmp_path / "a.bin", container="avi", codec="mjpeg"), ("video", "mjpeg")
    elif kind == "jpeg":
        path, expect = make_jpeg(tmp_path / "a.bin"), ("image", None)
    else:
        path = dvr_zip(tmp_path / "a.bin", {"CH01/20261130211000.dav": os.urandom(20000), "index.txt": b"ch1"})
        expect = ("archive", None)
    data = path.read_bytes()
    token = open_response(runtime)
    _, last = send(client, token, data, "IMG_0001.HEIC")  # the name says nothing: the content decides
    assert last.status_code == 204, last.get_data(as_text=True)
    (row,) = rows(runtime)
    assert row.state == "stored" and row.media["kind"] == expect[0]
    if expect[1]:
        assert row.media["codec"] == expect[1]
    if kind == "jpeg":
        assert (row.media["width"], row.media["height"]) == (640, 480)


def _bad_content(kind: str, tmp_path: Path) -> tuple[bytes, str]:
    if kind == "elf_renamed":
        return Path(shutil.which("true") or "/bin/true").read_bytes(), "Linux program"
    if kind == "pe_renamed":
        return pe_header() + os.urandom(4096), "Windows program"
    if kind == "script":
        return b"#!/bin/sh\nrm -rf ~\n" + b"#" * 500, "script"
    if kind == "truncated_mp4":
        return truncate_half(make_video(tmp_path / "v.mp4"), tmp_path / "t.mp4").read_bytes(), "incomplete"
    if kind == "truncated_faststart_mp4":
        full = make_video(tmp_path / "v.mp4", faststart=True)
        return truncate_half(full, tmp_path / "t.mp4").read_bytes(), "incomplete"
    if kind == "zip_bomb":
        return zip_bomb(tmp_path / "bomb.zip", 200).read_bytes(), "unpack"
    if kind == "zip_with_player":
        return dvr_zip(
            tmp_path / "z.zip", {"a.dav": os.urandom(3000), "Player.exe": pe_header()}
        ).read_bytes(), "program"
    if kind == "nested_zip":
        inner = dvr_zip(tmp_path / "inner.zip", {"a.dav": os.urandom(3000)}).read_bytes()
        return dvr_zip(tmp_path / "z.zip", {"a.dav": b"x" * 100, "more.dav": inner}).read_bytes(), "archive"
    if kind == "text":
        return b"Just some notes about the evening.\n" * 100, "not a video"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "elf_renamed",
        "pe_renamed",
        "script",
        "truncated_mp4",
        "truncated_faststart_mp4",
        "zip_bomb",
        "zip_with_player",
        "nested_zip",
        "text",
    ],
)
def test_files_that_are_not_footage_are_refused_by_content_and_nothing_is_kept(client, runtime, tmp_path, kind):
    data, words = _bad_content(kind, tmp_path)
    token = open_response(runtime, case_ref="CASE/0007")
    url, last = send(client, token, data, "evening.mp4")
    assert last.status_code == 422
    assert words in error(last) and "evening.mp4" in error(last)
    nothing_stored(runtime)
    (row,) = rows(runtime)
    assert row.state == "refused" and words in row.refusal and row.sha256 is None
    assert head(client, url).status_code == 410
    (event,) = events(runtime, "footage_refused")
    assert event.case_ref == "CASE/0007" and hashlib.sha256(data).hexdigest() in event.detail
    assert events(runtime, "footage_uploaded") == []


def test_a_file_the_media_libraries_choke_on_is_refused_not_stored_and_never_a_500(
    client, runtime, tmp_path, monkeypatch
):
    from dashboard.footage import probe

    def choke(*_args, **_kwargs):
        raise RuntimeError("a decoder failed in a way it should not")

    monkeypatch.setattr(probe, "probe", choke)
    data = make_jpeg(tmp_path / "p.jpg").read_bytes()
    token = open_response(runtime)
    url, last = send(client, token, data, "p.jpg")
    assert last.status_code == 422 and "could not be checked" in error(last)
    nothing_stored(runtime)
    assert head(client, url).status_code == 410
    assert '"reason":"unreadable"' in events(runtime, "footage_refused")[0].detail


def test_a_zero_byte_file_is_refused_when_it_is_created(client, runtime):
    token = open_response(runtime)
    answer = create(client, token, 0, "empty.mp4")
    assert answer.status_code == 400 and "empty (0 bytes)" in error(answer)
    assert rows(runtime) == [] and part_files(runtime) == []
    assert '"reason":"empty"' in events(runtime, "footage_refused")[0].detail


def test_a_file_over_the_size_limit_is_refused_before_any_byte_is_sent(client, runtime):
    token = open_response(runtime)
    answer = create(client, token, MAX_FILE_MB * MB + 1, "long.mp4")
    assert answer.status_code == 413
    assert f"at most {MAX_FILE_MB} MB" in error(answer) and "long.mp4" in error(answer)
    assert rows(runtime) == [] and part_files(runtime) == []


def test_too_many_files_and_too_many_bytes_in_all_are_refused(client, runtime):
    token = open_response(runtime)
    made = [create(client, token, 2 * MB, f"clip{i}.mp4") for i in range(MAX_FILES)]
    assert [m.status_code for m in made] == [201] * MAX_FILES
    more = create(client, token, 1000, "one-more.mp4")
    assert more.status_code == 403 and f"up to {MAX_FILES} files" in error(more)
    assert len(rows(runtime)) == MAX_FILES
    # A removed file frees its place, and its bytes.
    assert client.delete(made[0].headers["Location"], headers=TUS).status_code == 204
    assert len(part_files(runtime)) == MAX_FILES - 1
    # 3 x 2 MB are left; 10 MB in all: 4 MB more would be 1 too many... 5 MB is over.
    over = create(client, token, 5 * MB, "big.mp4")
    assert over.status_code == 413 and f"at most {MAX_TOTAL_MB} MB" in error(over) and "4 MB left" in error(over)
    fits = create(client, token, 4 * MB, "fits.mp4")
    assert fits.status_code == 201
    states = [r.state for r in rows(runtime)]
    assert states.count("uploading") == MAX_FILES and states.count("removed") == 1


def test_a_chunk_sent_twice_or_out_of_order_changes_nothing(client, runtime, tmp_path):
    data = make_video(tmp_path / "v.mp4", seconds=3).read_bytes()
    token = open_response(runtime)
    url = create(client, token, len(data)).headers["Location"]
    third = len(data) // 3
    assert patch(client, url, 0, data[:third]).status_code == 204
    again = patch(client, url, 0, data[:third])  # sent twice
    assert again.status_code == 409 and f"has {third} bytes" in error(again)
    ahead = patch(client, url, 2 * third, data[2 * third :])  # out of order
    assert ahead.status_code == 409
    garbage = patch(client, url, 0, b"\x00" * third)  # or different bytes at a used offset
    assert garbage.status_code == 409
    assert head(client, url).headers["Upload-Offset"] == str(third)
    assert part_files(runtime)[0].stat().st_size == third
    assert patch(client, url, third, data[third : 2 * third]).status_code == 204
    assert patch(client, url, 2 * third, data[2 * third :]).status_code == 204
    assert rows(runtime)[0].sha256 == hashlib.sha256(data).hexdigest()
    assert stored_files(runtime)[0].read_bytes() == data


def test_bytes_past_the_declared_length_are_refused(client, runtime):
    token = open_response(runtime)
    url = create(client, token, 1000).headers["Location"]
    answer = patch(client, url, 0, b"x" * 1001)
    assert answer.status_code == 413 and "past the end" in error(answer)
    assert head(client, url).headers["Upload-Offset"] == "0"


def test_the_hash_is_rebuilt_when_another_process_continues_the_upload(client, runtime, tmp_path):
    data = make_video(tmp_path / "v.mp4").read_bytes()
    token = open_response(runtime)
    url = create(client, token, len(data)).headers["Location"]
    half = len(data) // 2
    assert patch(client, url, 0, data[:half]).status_code == 204
    HASHERS.drop(url.rsplit("/", 1)[1])  # as if the next request reached another worker process
    assert patch(client, url, half, data[half:]).status_code == 204
    assert rows(runtime)[0].sha256 == hashlib.sha256(data).hexdigest()


def test_two_requests_to_one_upload_at_once_do_not_interleave(client, runtime, app):
    from dashboard.footage.storage import Store

    token = open_response(runtime)
    url = create(client, token, 1000).headers["Location"]
    store = Store(runtime.settings.evidence_dir)
    with store.locked(url.rsplit("/", 1)[1]):  # another request is writing to it
        busy = patch(client, url, 0, b"y" * 500)
        assert busy.status_code == 423 and "already being sent" in error(busy)
        assert client.delete(url, headers=TUS).status_code == 423
    assert head(client, url).headers["Upload-Offset"] == "0"
    assert patch(client, url, 0, b"y" * 500).status_code == 204


def test_a_crash_after_the_rename_is_finished_by_the_next_request(client, runtime, tmp_path, monkeypatch):
    from dashboard.footage.uploads import Uploads

    data = make_jpeg(tmp_path / "p.jpg").read_bytes()
    token = open_response(runtime)
    url = create(client, token, len(data), "p.jpg").headers["Location"]
    real = Uploads._mark_stored

    def crash(*_args, **_kwargs):
        raise KeyboardInterrupt("the server stopped here")

    monkeypatch.setattr(Uploads, "_mark_stored", crash)
    with pytest.raises(KeyboardInterrupt):
        patch(client, url, 0, data)
    monkeypatch.setattr(Uploads, "_mark_stored", real)
    HASHERS.drop(url.rsplit("/", 1)[1])  # and the process's memory with it
    assert head(client, url).headers["Upload-Offset"] == str(len(data))
    assert [r.state for r in rows(runtime)] == ["uploading"]
    again = patch(client, url, len(data), b"")  # tus-js-client asks again for the end
    assert again.status_code == 204 and again.headers["Upload-Offset"] == str(len(data))
    (row,) = rows(runtime)
    assert row.state == "stored" and row.sha256 == hashlib.sha256(data).hexdigest()
    assert stored_files(runtime)[0].read_bytes() == data and len(events(runtime, "footage_uploaded")) == 1


def test_the_same_content_twice_is_stored_once_and_kept_while_either_refers_to_it(client, runtime, tmp_path):
    data = make_jpeg(tmp_path / "p.jpg").read_bytes()
    token = open_response(runtime)
    first, _ = send(client, token, data, "a.jpg")
    second, _ = send(client, token, data, "b.jpg")
    assert len(stored_files(runtime)) == 1
    assert [r.state for r in rows(runtime)] == ["stored", "stored"]
    assert client.delete(first, headers=TUS).status_code == 204
    assert len(stored_files(runtime)) == 1  # b.jpg still refers to it
    assert client.delete(second, headers=TUS).status_code == 204
    assert stored_files(runtime) == []
    assert [r.state for r in rows(runtime)] == ["removed", "removed"]
    assert len(events(runtime, "footage_removed")) == 2


# --------------------------------------------------------------------------- links and other responses


@pytest.mark.parametrize("how", ["expired", "answered"])
def test_an_expired_or_used_link_uploads_nothing(client, runtime, how):
    live = open_response(runtime)
    url = create(client, live, 100).headers["Location"]
    key = url.rsplit("/", 1)[1]
    # The same response, its link now expired or its answer submitted.
    with transaction(runtime.sessions) as s:
        response = s.scalar(sa.select(FootageResponse))
        if how == "expired":
            response.link_expires_at = NOW - dt.timedelta(minutes=1)
        else:
            response.answer, response.answered_at = "footage", NOW
        reference = response.public_id
    words = "expired" if how == "expired" else "already answered"
    for answer in (create(client, live, 100), patch(client, url, 0, b"z" * 100), client.delete(url, headers=TUS)):
        assert answer.status_code == 410, answer.status_code
        assert words in error(answer) and reference in error(answer)
    assert head(client, url).status_code == 410
    assert [(r.upload_key, r.received_bytes, r.state) for r in rows(runtime)] == [(key, 0, "uploading")]
    if how == "answered":  # the receipt still lists what was sent
        assert client.get(f"/respond/{live}/files.json").status_code == 200


def test_a_link_that_was_never_issued_or_is_cut_short_opens_nothing(client, runtime):
    token = open_response(runtime)
    for bad in ("A" * 43, token[:-1]):
        answer = create(client, bad, 100)
        assert answer.status_code == 404 and "link" in error(answer)
        assert client.get(f"/respond/{bad}/files.json").status_code == 404
    assert rows(runtime) == []


def test_another_responses_upload_is_answered_as_if_it_did_not_exist(client, runtime):
    mine, theirs = open_response(runtime), open_response(runtime)
    their_url = create(client, theirs, 100, "theirs.mp4").headers["Location"]
    key = their_url.rsplit("/", 1)[1]
    nowhere = client.patch(
        f"/respond/{mine}/files/{'Q' * 43}",
        data=b"x" * 100,
        headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    for answer in (
        head(client, f"/respond/{mine}/files/{key}"),
        patch(client, f"/respond/{mine}/files/{key}", 0, b"x" * 100),
        client.delete(f"/respond/{mine}/files/{key}", headers=TUS),
    ):
        assert answer.status_code == 404
        if answer.request.method != "HEAD":
            assert error(answer) == error(nowhere)
    assert client.get(f"/respond/{mine}/files.json").get_json()["files"] == []
    (row,) = rows(runtime)
    assert (row.received_bytes, row.state) == (0, "uploading")


def test_malformed_tus_requests_get_a_clear_refusal(client, runtime):
    token = open_response(runtime)
    url = create(client, token, 100).headers["Location"]
    old = client.post(f"/respond/{token}/files", headers={"Tus-Resumable": "0.2.2", "Upload-Length": "100"})
    assert old.status_code == 412 and old.headers["Tus-Version"] == "1.0.0" and "1.0.0" in error(old)
    assert (
        client.patch(
            url, data=b"x", headers={"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
        ).status_code
        == 412
    )
    wrong_type = patch(client, url, 0, b"x", **{"Content-Type": "video/mp4"})
    assert wrong_type.status_code == 415 and "application/offset+octet-stream" in error(wrong_type)
    no_offset = client.patch(url, data=b"x", headers={**TUS, "Content-Type": "application/offset+octet-stream"})
    assert no_offset.status_code == 400 and "Upload-Offset" in error(no_offset)
    for length in ("", "-5", "1e3", "12345678901234567890"):
        bad = client.post(f"/respond/{token}/files", headers={**TUS, "Upload-Length": length})
        assert bad.status_code == 400 and "Upload-Length" in error(bad)
    bad_meta = client.post(
        f"/respond/{token}/files", headers={**TUS, "Upload-Length": "10", "Upload-Metadata": "filename !!notbase64"}
    )
    assert bad_meta.status_code == 400 and "base64" in error(bad_meta)
    link = create(client, token, 100, caption="see rtsp://admin:pw@192.168.1.2/live")
    assert link.status_code == 400 and "caption" in error(link)
    assert len(rows(runtime)) == 1 and head(client, url).headers["Upload-Offset"] == "0"


# --------------------------------------------------------------------------- a disk that fills

SMALL_DISK = pytest.mark.parametrize("evidence_dir", ["small"], indirect=True)


@SMALL_DISK
def test_a_disk_that_fills_mid_upload_loses_nothing_and_the_upload_resumes(client, runtime, evidence_dir, tmp_path):
    small_disk = evidence_dir
    data = make_video(
        tmp_path / "v.avi", codec="mjpeg", container="avi", seconds=5, width=640, height=480, seed=3
    ).read_bytes()
    assert 2 * MB < len(data) < 3 * MB
    token = open_response(runtime)
    url = create(client, token, len(data), "clip.avi").headers["Location"]
    first = MB // 2
    assert patch(client, url, 0, data[:first]).status_code == 204
    # Something else fills the disk until about 1 MB is left.
    filler = small_disk / "filler"
    with open(filler, "wb") as f:
        f.write(b"\x00" * (shutil.disk_usage(small_disk).free - MB))
    full = patch(client, url, first, data[first:])
    assert (
        full.status_code == 507
        and "run out of space" in error(full)
        and "Nothing you have already sent is lost" in error(full)
    )
    kept = int(head(client, url).headers["Upload-Offset"])
    assert first <= kept < len(data)
    part = part_files(runtime)[0]
    assert part.stat().st_size == kept and part.read_bytes() == data[:kept]  # no torn chunk at the end
    assert stored_files(runtime) == []
    filler.unlink()  # space again: the upload carries on from where it stopped
    assert patch(client, url, kept, data[kept:]).status_code == 204
    (row,) = rows(runtime)
    assert row.state == "stored" and row.sha256 == hashlib.sha256(data).hexdigest()
    assert stored_files(runtime)[0].read_bytes() == data


@SMALL_DISK
def test_no_room_for_a_new_file_is_refused_before_it_starts(client, runtime):
    token = open_response(runtime)
    answer = create(client, token, 5 * MB, "big.mp4")
    assert answer.status_code == 507 and "does not have room" in error(answer)
    assert rows(runtime) == []


# --------------------------------------------------------------------------- a real server over loopback


@pytest.fixture
def served(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(5)


def _request(port: int, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={**TUS, **(headers or {})})
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        conn.close()


def test_a_real_upload_cut_off_mid_request_resumes_from_where_the_server_got_to(runtime, served, tmp_path):
    data = make_video(
        tmp_path / "v.avi", codec="mjpeg", container="avi", seconds=5, width=640, height=480, seed=5
    ).read_bytes()
    assert len(data) > 2 * MB
    token = open_response(runtime)
    status, headers, _ = _request(
        served,
        "POST",
        f"/respond/{token}/files",
        headers={"Upload-Length": str(len(data)), "Upload-Metadata": meta(filename="a.avi")},
    )
    assert status == 201
    path = headers["Location"]
    # One PATCH for the whole file; the connection dies after ~1.6 MB of it.
    sock = socket.create_connection(("127.0.0.1", served))
    sock.sendall(
        (
            f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
            f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
    )
    cut = MB + 600 * 1024
    sock.sendall(data[:cut])
    time.sleep(0.3)
    sock.close()
    deadline, offset = time.monotonic() + 10, 0
    while time.monotonic() < deadline:
        status, headers, _ = _request(served, "HEAD", path)
        offset = int(headers["Upload-Offset"])
        if offset > 0:
            break
        time.sleep(0.1)
    assert 0 < offset <= cut  # what arrived whole is kept
    while True:  # the server may still be finishing the cut-off request: 423 until it has
        status, headers, body = _request(
            served,
            "PATCH",
            path,
            data[offset:],
            {"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
        )
        if status != 423 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == 204, body
    assert headers["Upload-Offset"] == str(len(data))
    (row,) = rows(runtime)
    assert row.state == "stored" and row.sha256 == hashlib.sha256(data).hexdigest()
    assert stored_files(runtime)[0].read_bytes() == data


# --------------------------------------------------------------------------- the app around it


def test_starting_uploads_is_rate_limited_per_client_with_a_clear_answer(reference_dir, tmp_path):
    from dashboard.application import create_app

    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
            "EVIDENCE_DIR": str(tmp_path / "evidence"),
            "EVIDENCE_MIN_FREE_MB": "0",
            "UPLOAD_RATE_LIMIT": "3 per minute",
            "OUTBOX_WORKER": "0",
        }
    )
    rt = prepare(settings)
    with transaction(rt.sessions) as s:
        create_user(s, "officer1", PASSWORD, "officer")
    try:
        client = create_app(rt).server.test_client()
        token = open_response(rt)
        answers = [create(client, token, 100, f"c{i}.mp4") for i in range(4)]
        assert [a.status_code for a in answers] == [201, 201, 201, 429]
        assert "Too many requests" in answers[-1].get_json()["error"]
        url = answers[0].headers["Location"]
        # Sending bytes and asking how far an upload got are not counted: a phone resumes often.
        for _ in range(5):
            assert head(client, url).status_code == 200
        # (let through, then refused by its content: 100 bytes of 'x' are no video)
        assert patch(client, url, 0, b"x" * 100).status_code == 422
    finally:
        rt.engine.dispose()


def test_tus_answers_carry_the_security_headers_and_no_cross_origin_grant(client, runtime):
    token = open_response(runtime)
    answer = create(client, token, 100, Origin="https://evil.example")
    assert answer.status_code == 201
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    assert "connect-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Origin" not in answer.headers
    preflight = client.options(
        f"/respond/{token}/files",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "tus-resumable,upload-length",
        },
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_tus_js_client_is_served_from_the_app_and_kept_off_the_dashboard(client):
    script = client.get("/assets/vendor/tus-js-client/tus.min.js")
    assert script.status_code == 200 and b"tus" in script.data[:400]
    assert (
        hashlib.sha256(script.data).hexdigest() == "8cbb1b63fccc3bba0ae73ad1deb160ce046c3750851d0c3e94921ae3ef070eb8"
    )  # npm's tus-js-client 4.3.1
    login(client, "officer")
    dashboard = client.get("/").get_data(as_text=True)
    assert "/assets/app.css" in dashboard or "_dash-config" in dashboard
    assert "tus-js-client" not in dashboard and "tus.min.js" not in dashboard


def test_unfinished_uploads_are_swept_once_their_link_closes_and_open_ones_are_kept(client, runtime, evidence_dir):
    from dashboard.footage.uploads import Uploads, sweep_abandoned

    tokens = [open_response(runtime, case_ref=f"CASE/000{i}") for i in range(3)]
    parts = {}
    for token in tokens:
        made = create(client, token, 1000)
        assert patch(client, made.headers["Location"], 0, b"x" * 400).status_code == 204
        parts[token] = made.headers["Location"].rsplit("/", 1)[1]
    with transaction(runtime.sessions) as s:  # the first was answered, the second's link expired
        first, second = (
            s.scalar(sa.select(FootageResponse).where(FootageResponse.token_hash == token_digest(t)))
            for t in tokens[:2]
        )
        first.answer, first.answered_at = "declined", NOW
        second.link_expires_at = NOW - dt.timedelta(minutes=1)
    incoming = evidence_dir / "incoming"
    assert all((incoming / f"{key}.part").exists() for key in parts.values())
    assert sweep_abandoned(Uploads.from_settings(runtime.sessions, runtime.settings), NOW) == 2
    assert not (incoming / f"{parts[tokens[0]]}.part").exists() and not (incoming / f"{parts[tokens[1]]}.part").exists()
    assert (incoming / f"{parts[tokens[2]]}.part").stat().st_size == 400  # still open: kept, resumable
    with runtime.sessions() as s:
        states = dict(s.execute(sa.select(EvidenceFile.upload_key, EvidenceFile.state)).all())
        logged = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "footage_abandoned")).all()
    assert states == {parts[tokens[0]]: "refused", parts[tokens[1]]: "refused", parts[tokens[2]]: "uploading"}
    assert len(logged) == 2 and {e.case_ref for e in logged} == {"CASE/0000", "CASE/0001"}
    assert sweep_abandoned(Uploads.from_settings(runtime.sessions, runtime.settings), NOW) == 0
