"""Bulk writing on PostgreSQL at the database's own speed: ``COPY ... FROM STDIN``.

Rows given as whole columns (numpy arrays, pandas extension arrays or lists) are formatted
column by column into COPY's text format and streamed through the SQLAlchemy connection's
own psycopg connection, so in the caller's transaction: all or nothing, as before. A
row-by-row ``executemany`` pays a round trip and an executor pass per row; COPY does not. A
worker thread (psycopg's ``QueuedLibpqWriter``) sends each chunk while the next is formatted.
Values are stored as the ORM stores them (``UTCDateTime``: naive UTC; floats: the shortest
text that reads back as the same double). Generated columns (the PostGIS ``site.geom``) are
never named, so the database computes them on COPY as on INSERT; row triggers fire as on
INSERT; column defaults (an id's sequence) apply to the columns not named.

:func:`bulk_load` makes a large load cheaper still (indexes and foreign keys made after the
rows are in), and :func:`executemany_only` switches COPY off where a caller wants the old
path (the demo benchmark's same-run baseline). SQLite is never written here.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
import sqlalchemy as sa
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.engine import Connection

CHUNK_ROWS = 50_000
COPY_NULL = "\\N"  # COPY's text format: NULL is \N; backslash, tab, newline and CR are escaped
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_use_copy: contextvars.ContextVar[bool] = contextvars.ContextVar("use_copy", default=True)

Column = np.ndarray | pd.api.extensions.ExtensionArray | Sequence


@contextmanager
def executemany_only() -> Iterator[None]:
    """Within this block PostgreSQL is written with ``executemany`` as SQLite is, not COPY: the
    writer as it was before COPY, kept as the benchmark's same-run baseline."""
    token = _use_copy.set(False)
    try:
        yield
    finally:
        _use_copy.reset(token)


def copies(conn: Connection) -> bool:
    """True when bulk rows go by COPY on this connection: PostgreSQL, outside :func:`executemany_only`."""
    return conn.dialect.name == "postgresql" and _use_copy.get()


def _copy_text(value: object) -> str:
    """One Python value as a field of COPY's text format (``None`` is NULL)."""
    if value is None or value is pd.NA:
        return COPY_NULL
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, (bool, np.bool_)):
        return "t" if value else "f"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))  # shortest text that reads back as the same double
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # stored as naive UTC, as UTCDateTime stores it
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\\\x" + bytes(value).hex()
    raise TypeError(f"no COPY text form for {type(value).__name__} value {value!r}")


def copy_texts(values: Column) -> list[str]:
    """A whole column as fields of COPY's text format, vectorised where the type allows.

    >>> copy_texts(np.array(["2026-07-06T19:05:03", "NaT"], dtype="datetime64[us]"))
    ['2026-07-06T19:05:03.000000', '\\\\N']
    >>> copy_texts(np.array([0.1, np.nan, 3.0]))
    ['0.1', '\\\\N', '3.0']
    >>> copy_texts(["a\\tb", None, "c\\\\d"])
    ['a\\\\tb', '\\\\N', 'c\\\\\\\\d']
    """
    if isinstance(values, pd.api.extensions.ExtensionArray):
        values = values.to_numpy(dtype=object, na_value=None)
    if isinstance(values, np.ndarray) and values.dtype.kind != "O":
        kind = values.dtype.kind
        if kind == "M":
            unit = "D" if np.datetime_data(values.dtype)[0] == "D" else "us"
            out = np.datetime_as_string(values if unit == "D" else values.astype("datetime64[us]"), unit=unit)
            missing = np.isnat(values)
            return np.where(missing, COPY_NULL, out).tolist() if missing.any() else out.tolist()
        if kind == "f":
            missing = np.isnan(values)
            out = list(map(repr, values.tolist()))
            return [COPY_NULL if m else v for v, m in zip(out, missing.tolist())] if missing.any() else out
        if kind == "b":
            return np.where(values, "t", "f").tolist()
        if kind in "iu":
            return list(map(str, values.tolist()))
        if kind == "U":
            values = values.tolist()
        else:
            raise TypeError(f"no COPY text form for numpy dtype {values.dtype}")
    values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    kinds = set(map(type, values))
    if kinds <= {str, type(None)}:
        strings = [v for v in values if v is not None] if type(None) in kinds else values
        joined = "".join(strings)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            return [COPY_NULL if v is None else v.translate(_COPY_ESCAPES) for v in values]
        return [COPY_NULL if v is None else v for v in values] if type(None) in kinds else values
    if kinds <= {int, type(None)}:
        return [COPY_NULL if v is None else str(v) for v in values]
    return [_copy_text(v) for v in values]


def copy_columns(conn: Connection, table: sa.Table, columns: dict[str, Column], chunk_rows: int = CHUNK_ROWS) -> int:
    """``COPY table (columns) FROM STDIN`` on PostgreSQL, in the connection's transaction;
    returns the number of rows written.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        A PostgreSQL (psycopg 3) connection inside the caller's transaction.
    table : sqlalchemy.Table
        Target table; every key of ``columns`` must be one of its columns.
    columns : dict
        Column name -> numpy array, pandas extension array or list, all the same length.
    """
    n = column_length(table, columns)
    if n == 0:
        return 0
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    driver = conn.connection.driver_connection  # the psycopg connection, inside SQLAlchemy's transaction
    with driver.cursor() as cursor:
        # A worker thread sends while this one formats the next chunk (the server parses meanwhile).
        with cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN", writer=QueuedLibpqWriter(cursor)) as copy:
            for start in range(0, n, chunk_rows):
                fields = [copy_texts(v[start : start + chunk_rows]) for v in columns.values()]
                copy.write("\n".join(map("\t".join, zip(*fields))) + "\n")
    return n


def column_length(table: sa.Table, columns: dict[str, Column]) -> int:
    """The number of rows ``columns`` hold; ValueError when a name is not a column of ``table``
    or the columns differ in length."""
    unknown = sorted(set(columns) - set(table.c.keys()))
    if unknown:
        raise ValueError(f"columns {unknown} are not in table {table.name!r}")
    lengths = {name: len(v) for name, v in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"columns of {table.name!r} differ in length: {lengths}")
    return next(iter(lengths.values()), 0)


@contextmanager
def bulk_load(conn: Connection, tables: Sequence[sa.Table], work_mem_mib: int = 256) -> Iterator[None]:
    """Load ``tables`` inside this block the way PostgreSQL loads fastest; a no-op elsewhere
    (and under :func:`executemany_only`).

    Each table's foreign keys, its unique constraints that no foreign key relies on, and the
    indexes that back no constraint are dropped first, in the caller's transaction, and made
    again afterwards from their own definitions (``pg_get_indexdef``/``pg_get_constraintdef``,
    so whatever the migrations made comes back exactly; a rebuilt foreign key or unique index
    checks every row at once, so a duplicate or an orphan still fails the load). Building an
    index once over sorted rows is far cheaper than updating it row by row (above all for
    random keys: references, token digests, hashes), and a foreign key checked row by row also
    locks its parent row. Primary keys stay. The tables are analysed at the end, so the
    planner knows their sizes at the first query. Other sessions wait for the transaction (the
    tables are locked until it ends); an error inside the block is for the caller to roll
    back, which restores everything dropped.
    """
    if not copies(conn) or not tables:
        yield
        return
    names = [t.name for t in tables]
    foreign_keys = conn.exec_driver_sql(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid = ANY(%(t)s::regclass[]) ORDER BY conrelid, conname",
        {"t": names},
    ).all()
    uniques = conn.exec_driver_sql(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint u "
        "WHERE contype = 'u' AND conrelid = ANY(%(t)s::regclass[]) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = u.conindid) ORDER BY conrelid, conname",
        {"t": names},
    ).all()
    indexes = conn.exec_driver_sql(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid = ANY(%(t)s::regclass[]) "
        "AND indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE conindid <> 0) ORDER BY indexrelid",
        {"t": names},
    ).all()
    quote = conn.dialect.identifier_preparer.quote
    for table, name, _ in [*foreign_keys, *uniques]:
        conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
    for index, _ in indexes:
        conn.exec_driver_sql(f"DROP INDEX {index}")
    yield
    conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{int(work_mem_mib)}MB'")
    for _, definition in indexes:
        conn.exec_driver_sql(definition)
    for table, name, definition in [*uniques, *foreign_keys]:
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
    conn.exec_driver_sql(f"ANALYZE {', '.join(quote(n) for n in names)}")
