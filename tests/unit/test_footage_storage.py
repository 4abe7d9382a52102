"""The evidence store (dashboard/footage/storage.py): appends that survive a full disk and a client
that goes away, the content-addressed layout, and a store that never shows a partial file."""

from __future__ import annotations

import errno
import hashlib
import os
import threading

import pytest

from dashboard.footage import storage
from dashboard.footage.storage import Busy, NoSpace, Store

KEY = "k" * 43


def chunks(data: bytes, size: int = 1000):
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "evidence")
    s.create_part(KEY)
    return s


def test_layout_is_content_addressed_and_the_part_file_goes(store):
    data = os.urandom(5000)
    done = store.append(KEY, 0, chunks(data), hashlib.sha256(), len(data))
    assert (done.end, done.stopped) == (5000, None)
    sha = done.hasher.hexdigest()
    assert sha == hashlib.sha256(data).hexdigest()
    where = store.commit(KEY, sha)
    assert where == store.root / "sha256" / sha[:2] / sha[2:4] / sha
    assert where.read_bytes() == data and not store.part_path(KEY).exists()


def test_a_full_disk_cuts_the_chunk_off_and_keeps_what_came_before(store, monkeypatch):
    data = os.urandom(10_000)
    real_write, calls = os.write, {"n": 0}

    def write(fd, buf):
        calls["n"] += 1
        if calls["n"] == 4:  # the fourth chunk: half of it lands, then the disk is full
            real_write(fd, bytes(buf)[:500])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, buf)

    monkeypatch.setattr(storage.os, "write", write)
    done = store.append(KEY, 0, chunks(data), hashlib.sha256(), len(data))
    assert (done.end, done.stopped) == (3000, "no_space")
    assert store.part_path(KEY).read_bytes() == data[:3000]  # no torn chunk
    assert done.hasher.hexdigest() == hashlib.sha256(data[:3000]).hexdigest()
    monkeypatch.setattr(storage.os, "write", real_write)
    rest = store.append(KEY, 3000, chunks(data[3000:]), done.hasher, len(data))
    assert rest.end == len(data) and rest.hasher.hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_client_that_goes_away_keeps_the_whole_chunks_it_sent(store):
    data = os.urandom(4000)

    def cut_off():
        yield data[:1000]
        yield data[1000:2000]
        raise ConnectionResetError("the phone lost its signal")

    done = store.append(KEY, 0, cut_off(), hashlib.sha256(), len(data))
    assert (done.end, done.stopped) == (2000, "disconnected")
    assert store.part_path(KEY).read_bytes() == data[:2000]


def test_bytes_past_the_declared_length_are_cut_back(store):
    done = store.append(KEY, 0, chunks(b"a" * 900), hashlib.sha256(), 1000)
    assert done.end == 900
    too_long = store.append(KEY, 900, chunks(b"b" * 300, 100), done.hasher, 1000)
    assert (too_long.end, too_long.stopped) == (900, "too_long")
    assert store.part_path(KEY).stat().st_size == 900


def test_a_crash_before_the_rename_leaves_nothing_in_the_store(store, monkeypatch):
    data = os.urandom(3000)
    sha = store.append(KEY, 0, chunks(data), hashlib.sha256(), len(data)).hasher.hexdigest()

    def crash(*_args):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(storage.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.commit(KEY, sha)
    assert not store.path_for(sha).exists()
    assert store.part_path(KEY).read_bytes() == data  # the upload can be completed again


def test_the_store_never_shows_a_partial_file(tmp_path):
    """A reader polling the store while 20 files of 2 MiB are appended and committed only ever
    sees whole files whose content hashes to their name."""
    s = Store(tmp_path / "evidence")
    stop, seen, bad = threading.Event(), set(), []
    size = 2 << 20

    def watch():
        while not stop.is_set():
            for path in (s.root / "sha256").rglob("*"):
                if not path.is_file():
                    continue
                if path.stat().st_size != size:
                    bad.append((path.name, path.stat().st_size))
                elif path.name not in seen:
                    seen.add(path.name)
                    if hashlib.sha256(path.read_bytes()).hexdigest() != path.name:
                        bad.append((path.name, "content"))

    watcher = threading.Thread(target=watch)
    s.ensure()
    watcher.start()
    try:
        for i in range(20):
            key = f"{i:02d}" + "x" * 41
            s.create_part(key)
            data = os.urandom(size)
            done = s.append(key, 0, chunks(data, 256 * 1024), hashlib.sha256(), len(data))
            s.commit(key, done.hasher.hexdigest())
    finally:
        stop.set()
        watcher.join()
    assert bad == [] and len(seen) > 0


def test_one_append_at_a_time_per_upload(store):
    with store.locked(KEY):
        with pytest.raises(Busy):
            with store.locked(KEY):
                pass
    with store.locked(KEY):  # free again
        pass


def test_free_space_is_checked_with_the_reserve(tmp_path):
    s = Store(tmp_path / "evidence", min_free_bytes=10**18)
    with pytest.raises(NoSpace) as refused:
        s.check_space(1)
    assert "does not have room" in refused.value.message
    Store(tmp_path / "evidence").check_space(1)
