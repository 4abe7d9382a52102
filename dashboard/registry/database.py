"""Engines, sessions and schema migrations for SQLite (embedded) and PostgreSQL/PostGIS.

SQLite connections get WAL journaling, a busy timeout, foreign keys and a write gate
(``sqlite_gate``) that queues writers across threads and processes; PostgreSQL gets a
PostGIS geometry column on ``site`` (maintained by the database) with a GiST index.
Every schema change goes through the Alembic migrations in ``dashboard/registry/migrations``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from dashboard.config import ConfigError
from dashboard.registry.sqlite_gate import connection_factory, gate_for

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_path(url: str) -> Path | None:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _on_sqlite_connect(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the per-backend settings the registry relies on."""
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Writers queue at a gate that hands over at once, rather than in SQLite's backing-off retries.
            connect_args["factory"] = connection_factory(gate_for(path, SQLITE_BUSY_TIMEOUT_MS / 1000))
        engine = sa.create_engine(url, connect_args=connect_args)
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    engine = sa.create_engine(url, pool_size=10, max_overflow=20)
    sa.event.listen(engine, "checkin", _note_checkin)
    sa.event.listen(engine, "checkout", _ping_if_idle)
    return engine


# A pooled PostgreSQL connection idle longer than this is pinged before use (and replaced if the
# server has dropped it). SQLAlchemy's ``pool_pre_ping`` pings before every use: one round trip
# more for each of the several sessions a request opens, which cost an officer's search on
# PostgreSQL about a fifth of its statements. A connection handed back less than this ago was
# working then; should the server drop every connection (a restart) while the app is busy, the
# first statement to meet a dead one fails and SQLAlchemy discards the whole pool at once.
PING_AFTER_IDLE_S = 2.0


def _note_checkin(_dbapi_conn, record) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_conn, record, _proxy) -> None:
    """Before a pooled connection is used: if it has been idle over ``PING_AFTER_IDLE_S``, check
    that it still answers; if not, the pool replaces it with a new one (DisconnectionError)."""
    checked_in_at = record.info.get("checked_in_at")
    if checked_in_at is None or time.monotonic() - checked_in_at <= PING_AFTER_IDLE_S:
        return
    try:
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(";")  # an empty query: a round trip that begins nothing
        finally:
            cursor.close()
        if dbapi_conn.info.transaction_status != 0:  # the ping began a transaction: end it unused
            dbapi_conn.rollback()
    except Exception as exc:  # any failure: the connection is not usable
        raise sa.exc.DisconnectionError(f"pooled connection no longer answers: {exc}") from exc


def describe_url(url: str) -> str:
    """The URL without its password, for messages."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def check_connection(engine: Engine) -> None:
    """Connect once and read something; raise ``ConfigError`` with one clear line if that fails."""
    where = describe_url(str(engine.url.render_as_string(hide_password=False)))
    path = _sqlite_path(engine.url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA schema_version").scalar()
                result = conn.exec_driver_sql("PRAGMA quick_check").scalar()
                if result != "ok":
                    raise ConfigError(
                        f"the SQLite database {path} is damaged ({result}); move it away and restart to rebuild demo data."
                    )
            else:
                conn.exec_driver_sql("SELECT 1").scalar()
    except ConfigError:
        raise
    except sa.exc.DatabaseError as exc:
        orig = getattr(exc, "orig", exc)
        if isinstance(orig, sqlite3.DatabaseError):
            raise ConfigError(
                f"{path} is not a usable SQLite database ({orig}); move it away and restart to rebuild demo data."
            ) from None
        first_line = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        raise ConfigError(f"cannot reach the database at {where}: {first_line}; check DATABASE_URL.") from None


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return script.get_current_head()


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest migration (a no-op when it already is)."""
    if engine.dialect.name == "sqlite" or current_revision(engine) != head_revision():
        command.upgrade(alembic_config(engine), "head")


def compact(engine: Engine) -> bool | None:
    """After personal data was blanked or deleted: rewrite an SQLite file so no old copy of it is
    left behind. SQLite leaves the old bytes of a rewritten row in unused space of its pages and in
    the write-ahead log (``PRAGMA secure_delete`` does not reach all of it); ``VACUUM`` rebuilds
    every page and a TRUNCATE checkpoint empties the log. About half a second per 100 MB.

    Returns True when both completed, False when the database was busy (readers held the log: the
    rows are blanked all the same, and the next checkpoint or run finishes it), None for other
    databases (PostgreSQL's own VACUUM reclaims dead rows; nothing to do here).
    """
    if engine.dialect.name != "sqlite":
        return None
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM")
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
    except sa.exc.OperationalError:
        return False
    return not (busy and busy[0])


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def hold_write_lock(db: Session | Connection, key: str | None = None) -> None:
    """Serialise, until this transaction ends, units of work that check something and then write
    depending on it, so no other writer can change what was checked in between.

    SQLite: take the database's write lock now, with a write that changes nothing (it queues at
    the write gate like any writer). Python's sqlite3 begins a transaction only at its first
    INSERT/UPDATE/DELETE, so the reads before it are not inside it: without this, two writers
    could both read "no request yet" and both insert. PostgreSQL: a transaction-scoped advisory
    lock on ``key`` (no key: nothing; use row locks there). ``db``: a session, or a connection
    in a transaction.
    """
    conn = db.connection() if isinstance(db, Session) else db
    dialect = conn.dialect.name
    if dialect == "sqlite":
        conn.exec_driver_sql("UPDATE app_user SET id = id WHERE 0")
    elif dialect == "postgresql" and key is not None:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%(key)s))", {"key": key})


def transaction(factory: sessionmaker[Session]) -> AbstractContextManager[Session]:
    """A new session whose work is committed at the end of the ``with`` block, or rolled back whole on
    any error, and which is then closed: SQLAlchemy's ``sessionmaker.begin()``.

    Checks that come before a write and must still hold when it is made take the write lock first
    (``hold_write_lock``, in the same block): SQLite's is taken by a write, not by the reads before it.
    """
    return factory.begin()


def id_in(session: Session, column: sa.ColumnElement, ids: Sequence[int]) -> sa.ColumnElement[bool]:
    """``column IN ids`` with the ids sent as one parameter (an integer array on PostgreSQL, a JSON
    list read by ``json_each`` on SQLite): thousands of ids cost one bound value, not thousands.

    (SQLAlchemy's ``in_`` binds each id separately; at 5,000 ids a statement that was most of the
    time of a retention batch.)
    """
    values = [int(i) for i in ids]
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == sa.any_(sa.bindparam(None, values, type_=ARRAY(sa.Integer)))
    return column.in_(sa.select(sa.literal_column("value")).select_from(sa.func.json_each(json.dumps(values))))
