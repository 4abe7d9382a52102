"""One writer at a time on an SQLite file, handed over promptly across threads and processes.

SQLite allows one write transaction at a time. A writer that finds the file locked waits in
SQLite's busy handler, which sleeps in growing steps (1, 2, 5, 10 ... 100 ms) and re-tries: with
several web worker processes each logging every search, most waits were short but the slowest
were 50-100 ms, long after the lock had been released.

The gate queues writers before SQLite sees them: a thread lock inside the process, then an
exclusive ``flock`` on ``<database>-writer.lock`` between processes (re-tried every fraction of
a millisecond). A connection enters the gate just before the statement that begins its write
transaction (the first INSERT, UPDATE, DELETE or REPLACE, where Python's sqlite3 issues BEGIN)
and leaves it at commit, rollback or close. Readers never touch it (WAL lets them read while one
writes). Writers outside this module (the sqlite3 shell, another program) still meet SQLite's
own lock and busy timeout, so correctness never depends on the gate: after ``timeout_s`` a
waiting writer goes ahead and lets SQLite decide.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path

_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_gates: dict[str, WriteGate] = {}
_gates_lock = threading.Lock()


def _begins_write(sql: str) -> bool:
    return sql.lstrip()[:7].upper().startswith(_WRITE_VERBS)


class WriteGate:
    """The in-process lock and cross-process file lock for one database file."""

    def __init__(self, lock_path: Path, timeout_s: float):
        self.lock_path = lock_path
        self.timeout_s = timeout_s
        self._open()

    def _open(self) -> None:
        self._local = threading.Lock()
        self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)

    def _after_fork(self) -> None:
        # The child must not share the parent's open lock file (flock would see one holder),
        # nor inherit the state of its thread lock.
        os.close(self._fd)
        self._open()

    def enter(self) -> bool:
        """Wait (at most ``timeout_s``) for the gate; True when held, False when timed out."""
        deadline = time.monotonic() + self.timeout_s
        if not self._local.acquire(timeout=self.timeout_s):
            return False
        pause = 0.0001
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self._local.release()
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.0005)

    def leave(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._local.release()


def _reopen_after_fork() -> None:
    global _gates_lock
    _gates_lock = threading.Lock()
    for gate in _gates.values():
        gate._after_fork()


os.register_at_fork(after_in_child=_reopen_after_fork)


def gate_for(database: Path, timeout_s: float) -> WriteGate:
    """The one gate of this process for ``database`` (engines on the same file share it)."""
    key = str(database.resolve())
    with _gates_lock:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = WriteGate(Path(key + "-writer.lock"), timeout_s)
        return gate


class _GatedCursor(sqlite3.Cursor):
    def execute(self, sql, parameters=(), /):
        self.connection._enter_if_beginning(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            self.connection._leave_if_not_writing()

    def executemany(self, sql, seq_of_parameters, /):
        self.connection._enter_if_beginning(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            self.connection._leave_if_not_writing()


class GatedConnection(sqlite3.Connection):
    """``sqlite3.connect(..., factory=connection_factory(gate))`` gives connections that pass
    through ``gate`` for every write transaction."""

    gate: WriteGate

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._holding = False

    def cursor(self, factory=_GatedCursor):
        return super().cursor(factory)

    def _enter_if_beginning(self, sql: str) -> None:
        if not self._holding and not self.in_transaction and _begins_write(sql):
            self._holding = self.gate.enter()

    def _leave_if_not_writing(self) -> None:
        # The statement failed before its transaction began (nothing to commit or roll back).
        if self._holding and not self.in_transaction:
            self._release()

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            self.gate.leave()

    def commit(self):
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self._release()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self._release()

    def close(self):
        try:
            super().close()
        finally:
            self._release()


def connection_factory(gate: WriteGate) -> type[GatedConnection]:
    return type("GatedConnectionFor", (GatedConnection,), {"gate": gate})
