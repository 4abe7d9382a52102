"""Fast bulk inserts of column arrays into registry tables, at each database's own speed.

The generator builds whole columns with numpy; this module turns them into the values each
database stores and sends them without per-row ORM work:

- SQLite: the text forms SQLAlchemy itself writes for ``DateTime``/``Date``, sent with the
  driver's ``executemany`` in chunks (SQLite's fastest path: it runs in-process).
- PostgreSQL: ``COPY ... FROM STDIN`` (text format) through the SQLAlchemy connection's own
  psycopg connection, so in the caller's transaction; every column is formatted whole
  (numpy/``str.join``), naive UTC for ``UTCDateTime`` as the ORM stores it. A row-by-row
  ``executemany`` pays a round trip and an executor pass per row; COPY streams them
  (``dashboard.registry.bulk_copy``, which the crime import uses too).
  ``executemany_only`` switches COPY off (the benchmark's same-run baseline).

Primary keys are given explicitly; on PostgreSQL the id sequences are moved past them
afterwards (:func:`advance_id_sequences`). Generated columns (the PostGIS ``site.geom``, a
point in EPSG:27700 computed from easting/northing) are never named, so the database fills
them, on COPY as on INSERT.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.registry.bulk_copy import bulk_load, column_length, copies, copy_columns, executemany_only

__all__ = [
    "advance_id_sequences",
    "bulk_load",
    "copies",
    "db_values",
    "executemany_only",
    "insert_columns",
]

CHUNK_ROWS = 50_000

Column = np.ndarray | pd.api.extensions.ExtensionArray | Sequence


def db_values(values: Column, dialect_name: str) -> list:
    """Python values a DB-API driver accepts for one column; ``None`` for missing.

    ``datetime64`` arrays are naive UTC instants; ``datetime64[D]`` arrays are dates.

    >>> db_values(np.array(["2026-07-06T19:05:03"], dtype="datetime64[us]"), "sqlite")
    ['2026-07-06 19:05:03.000000']
    >>> db_values(np.array(["2026-07-06"], dtype="datetime64[D]"), "sqlite")
    ['2026-07-06']
    """
    if isinstance(values, pd.api.extensions.ExtensionArray):
        return [None if pd.isna(v) else (bool(v) if isinstance(v, (bool, np.bool_)) else v) for v in values.tolist()]
    if not isinstance(values, np.ndarray):
        return list(values)
    if values.dtype.kind == "M":
        if values.size == 0:
            return []
        missing = np.isnat(values)
        if np.datetime_data(values.dtype)[0] == "D":
            out = np.datetime_as_string(values, unit="D") if dialect_name == "sqlite" else values.astype(object)
        elif dialect_name == "sqlite":
            # "YYYY-MM-DDTHH:MM:SS.ffffff" -> SQLAlchemy's "YYYY-MM-DD HH:MM:SS.ffffff", in place.
            out = np.ascontiguousarray(np.datetime_as_string(values.astype("datetime64[us]"), unit="us"))
            chars = out.view(np.uint32).reshape(len(out), -1)
            chars[:, 10] = np.where(missing, chars[:, 10], ord(" "))
        else:
            out = values.astype("datetime64[us]").astype(object)
        out = out.tolist()
        if missing.any():
            out = [None if m else v for v, m in zip(out, missing.tolist())]
        return out
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        out = values.tolist()
        return [None if m else v for v, m in zip(out, missing.tolist())] if missing.any() else out
    return values.tolist()


def _placeholder(conn: Connection) -> str:
    style = conn.dialect.paramstyle
    if style == "qmark":
        return "?"
    if style in ("format", "pyformat"):
        return "%s"
    raise ValueError(f"driver paramstyle {style!r} is not supported for bulk inserts; use SQLite or psycopg")


def insert_columns(conn: Connection, table: sa.Table, columns: dict[str, Column], chunk_rows: int = CHUNK_ROWS) -> int:
    """Insert rows given as equal-length columns; returns the number of rows written.
    PostgreSQL gets them by COPY (``bulk_copy.copy_columns``), SQLite by ``executemany``.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Connection inside the caller's transaction.
    table : sqlalchemy.Table
        Target table; every key of ``columns`` must be one of its columns.
    columns : dict
        Column name -> numpy array, pandas extension array or list, all the same length.
    """
    if copies(conn):
        return copy_columns(conn, table, columns, chunk_rows)
    n = column_length(table, columns)
    if n == 0:
        return 0
    dialect = conn.dialect.name
    values = [db_values(v, dialect) for v in columns.values()]
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    marks = ", ".join([_placeholder(conn)] * len(columns))
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"
    for start in range(0, n, chunk_rows):
        rows = list(zip(*(v[start : start + chunk_rows] for v in values)))
        conn.exec_driver_sql(sql, rows)
    return n


def advance_id_sequences(conn: Connection, tables: Sequence[sa.Table]) -> None:
    """After explicit ids were inserted, make PostgreSQL's id sequences continue after them
    (SQLite needs nothing: its rowids follow the largest id)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table.name}), 1), "
            f"(SELECT MAX(id) FROM {table.name}) IS NOT NULL)"
        )
