"""The SQLite write gate: one writer at a time across threads and processes, released at commit,
rollback or a failed first statement, and never shared with a forked child by accident."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.registry import audit
from dashboard.registry.database import make_engine, migrate, session_factory, transaction
from dashboard.registry.models import AuditEvent, User
from dashboard.registry.sqlite_gate import WriteGate, connection_factory, gate_for
from dashboard.security.accounts import create_user

FORK = multiprocessing.get_context("fork")


def _probe(db: Path) -> WriteGate:
    """A second, independent holder of the same lock file, that gives up after 0.3 s."""
    return WriteGate(Path(str(db.resolve()) + "-writer.lock"), 0.3)


def _can_enter(db: Path) -> bool:
    probe = _probe(db)
    if probe.enter():
        probe.leave()
        return True
    return False


@pytest.fixture()
def db(tmp_path) -> Path:
    path = tmp_path / "gate.db"
    migrate(make_engine(f"sqlite:///{path}"))
    return path


def test_a_write_transaction_holds_the_gate_until_commit(db):
    sessions = session_factory(make_engine(f"sqlite:///{db}"))
    assert _can_enter(db)
    with sessions() as s:
        s.scalar(sa.select(sa.func.count()).select_from(User))  # reading takes no gate
        assert _can_enter(db)
        audit.record(s, audit.SYSTEM, "test_event")
        assert not _can_enter(db)  # the first INSERT/UPDATE began a write transaction
        s.commit()
    assert _can_enter(db)


def test_rollback_and_a_failed_first_write_release_the_gate(db):
    sessions = session_factory(make_engine(f"sqlite:///{db}"))
    with sessions() as s:
        audit.record(s, audit.SYSTEM, "test_event")
        assert not _can_enter(db)
        s.rollback()
        assert _can_enter(db)
    with transaction(sessions) as s:
        create_user(s, "gate.user", "a-long-enough-password", "officer")
    with pytest.raises(sa.exc.IntegrityError):
        with transaction(sessions) as s:
            s.execute(sa.insert(User).values(username="gate.user", password_hash="x", role="officer", active=True))
    assert _can_enter(db)
    with sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(User).where(User.username == "gate.user")) == 1


def _hold_gate(db: str, holding, release) -> None:
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as s:
        audit.record(s, audit.SYSTEM, "held_by_other_process")
        holding.set()
        release.wait(30)
        s.commit()


def test_another_process_waits_for_the_holder(db):
    holding, release = FORK.Event(), FORK.Event()
    other = FORK.Process(target=_hold_gate, args=(str(db), holding, release))
    other.start()
    try:
        assert holding.wait(30)
        assert not _can_enter(db)
    finally:
        release.set()
        other.join(30)
    assert other.exitcode == 0
    assert _can_enter(db)


def _child_tries(db: str, turn, answer) -> None:
    gate = gate_for(Path(db), 0.3)
    for _ in range(2):
        turn.wait(30)
        turn.clear()
        entered = gate.enter()
        if entered:
            gate.leave()
        answer.put(entered)


@pytest.mark.parametrize("holding_at_fork", [False, True])
def test_a_forked_child_has_its_own_hold_on_the_gate(tmp_path, holding_at_fork):
    db = tmp_path / "fork.db"
    gate = gate_for(db, 0.3)
    if holding_at_fork:
        assert gate.enter()
    turn, answer = FORK.Event(), FORK.Queue()
    child = FORK.Process(target=_child_tries, args=(str(db), turn, answer))
    child.start()
    try:
        if not holding_at_fork:
            assert gate.enter()
        # Sharing the parent's open lock file would let the child in while the parent holds it.
        turn.set()
        assert answer.get(timeout=30) is False
        gate.leave()
        # Inheriting the parent's thread lock in its held state would keep the child out for good.
        turn.set()
        assert answer.get(timeout=30) is True
    finally:
        child.join(30)


def test_a_write_outside_any_transaction_leaves_the_gate_at_once(db):
    conn = sqlite3.connect(db, factory=connection_factory(gate_for(db, 0.3)), isolation_level=None)
    try:
        conn.cursor().execute("DELETE FROM audit_event WHERE 0")  # autocommit: no transaction stays open
        assert not conn.in_transaction
        assert _can_enter(db)
    finally:
        conn.close()


def _write_events(db: str, worker: int, per_thread: int) -> None:
    sessions = session_factory(make_engine(f"sqlite:///{db}"))

    def run(thread: int) -> None:
        for i in range(per_thread):
            with transaction(sessions) as s:
                audit.record(s, audit.SYSTEM, "soak", detail={"worker": worker, "thread": thread, "i": i})

    threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_two_processes_of_four_threads_lose_no_write_and_keep_one_chain(db):
    per_thread = 40
    workers = [FORK.Process(target=_write_events, args=(str(db), w, per_thread)) for w in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    sessions = session_factory(make_engine(f"sqlite:///{db}"))
    with sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "soak")) == 320
        check = audit.verify_chain(s)
    assert check.intact and check.rows_checked >= 320
