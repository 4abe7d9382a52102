"""The rate limits' counter store, shared by every worker and server through the database: a hit is
never lost, even when several processes start the same window at once, and a window that is over
starts afresh."""

from __future__ import annotations

import threading
import time

from dashboard.registry.database import session_factory
from dashboard.security.limit_store import SqlCounterStorage


def _store(engine) -> SqlCounterStorage:
    return SqlCounterStorage(sessions=session_factory(engine), secret=b"s" * 32)


def test_hits_made_together_at_the_start_of_a_window_are_all_counted(engine):
    """8 threads (each its own connection, as separate servers are) count 25 hits each on a key with
    no window yet, released together: 200 hits. Counting with an UPDATE first and then an upsert
    that reset the count lost the hits of every thread that found no window at the same moment."""
    store = _store(engine)
    threads, per_thread = 8, 25
    start = threading.Barrier(threads)
    counts: list[int] = []
    errors: list[BaseException] = []

    def hit() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                counts.append(store.incr("login:together", 60))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=hit) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert store.get("login:together") == threads * per_thread
    assert sorted(counts) == list(range(1, threads * per_thread + 1))  # each hit saw its own count


def test_a_window_that_is_over_starts_again_at_the_hit(engine):
    store = _store(engine)
    assert [store.incr("k", 1) for _ in range(3)] == [1, 2, 3]
    time.sleep(1.05)
    assert store.get("k") == 0
    assert store.incr("k", 1, amount=2) == 2  # not 3 + 2
    assert store.incr("other", 60) == 1
