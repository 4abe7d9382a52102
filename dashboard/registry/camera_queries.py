"""Cameras an officer's search starts from, and the owner contact details behind them.

Three reads, each one SQL ``SELECT``:

- :func:`active_camera_frame`: every camera on the active register with a position, for the
  in-memory search (about 4 s and 100 MB at 1,000,000 cameras on SQLite or PostgreSQL, most
  of it the driver making 11 million Python values; see ``_rows`` and ``_shared_strings``);
- :func:`postgis_candidates`: the same columns and the public id for the cameras near one point,
  pushed down to PostGIS (``ST_DWithin`` over the GiST index of ``search_camera``; one prepared
  statement, the same SQL text for every search);
- :func:`camera_contacts`: owner contact details for chosen cameras. This is personal data:
  call it only through ``casework.reveal_contacts`` / ``casework.export_case_csv``, which
  write the audit event the law requires (DESIGN.md promise 5).

"On the active register" means: the camera is active and its registrant's status is
``active`` (a withdrawn registration has had its personal data erased, promise 6).
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.geo.cells import H3_RESOLUTIONS
from dashboard.registry.models import Camera, Registrant, Site

CANDIDATE_COLUMNS = [
    "camera_id",
    "site_id",
    "lat",
    "lon",
    "easting_m",
    "northing_m",
    "kind",
    "direction_deg",
    "fov_angle_deg",
    "fov_range_m",
    "retention_days",
    "preferred_channel",
]
CONTACT_COLUMNS = ["camera_id", "name", "email", "phone", "preferred_channel", "address", "postcode"]

# One row of the candidate query as a NumPy record: building a structured array from the
# DBAPI's tuples is done in C, several times faster than ``pd.DataFrame(rows)`` at 1M rows.
# Nullable small integers are read as float (NULL -> NaN); text stays a Python object
# until it becomes a pandas string column.
_CANDIDATE_RECORD = np.dtype(
    [
        ("camera_id", "i8"),
        ("site_id", "i8"),
        ("lat", "f8"),
        ("lon", "f8"),
        ("easting_m", "f8"),
        ("northing_m", "f8"),
        ("kind", "O"),
        ("direction_deg", "f8"),
        ("fov_angle_deg", "f8"),
        ("fov_range_m", "f8"),
        ("retention_days", "f8"),
        ("preferred_channel", "O"),
    ]
)
assert list(_CANDIDATE_RECORD.names) == CANDIDATE_COLUMNS

# Ids per IN (...) list: well under SQLite's limit of bound parameters.
_IN_CHUNK = 5_000


def on_active_register() -> list[sa.ColumnElement[bool]]:
    """Conditions for "on the active register" (needs ``camera`` joined to ``site`` and ``registrant``)."""
    return [Camera.active.is_(True), Registrant.status == "active"]


def candidate_columns() -> list[sa.ColumnElement]:
    """The columns of ``CANDIDATE_COLUMNS`` (``camera`` joined to ``site`` and ``registrant``)."""
    return [
        Camera.id.label("camera_id"),
        Camera.site_id,
        Site.lat,
        Site.lon,
        Site.easting_m,
        Site.northing_m,
        Camera.kind,
        Camera.direction_deg,
        Camera.fov_angle_deg,
        Camera.fov_range_m,
        Camera.retention_days,
        Registrant.preferred_channel,
    ]


def _candidate_select() -> sa.Select:
    """Active cameras of active registrants with a known position, in camera id order."""
    return (
        sa.select(*candidate_columns())
        .join(Site, Site.id == Camera.site_id)
        .join(Registrant, Registrant.id == Site.registrant_id)
        .where(*on_active_register(), Site.easting_m.is_not(None), Site.lat.is_not(None))
        .order_by(Camera.id)
    )


def _candidate_frame(rows: list[tuple]) -> pd.DataFrame:
    """Candidate rows (plain tuples in ``CANDIDATE_COLUMNS`` order) -> typed frame.

    Ids are int64, every number float64 (NULL -> NaN), ``kind`` and ``preferred_channel``
    pandas strings (NULL -> NaN).
    """
    records = np.array(rows, dtype=_CANDIDATE_RECORD)
    columns = {
        name: _shared_strings(records[name]) if records.dtype[name] == object else records[name]  # noqa: E721 - numpy dtype
        for name in CANDIDATE_COLUMNS
    }
    return pd.DataFrame(columns, columns=CANDIDATE_COLUMNS)


def _shared_strings(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Text values (None for NULL) as a pandas string array in which equal values share one
    Python object.

    The driver makes a new ``str`` for every cell; keeping 2 x 1,000,000 of them alive (and
    the memory fragmented around them) made the frame cost about 550 MB of resident memory at
    1M cameras, against about 100 MB when the few distinct values are shared.

    >>> _shared_strings(np.array(["dome", None, "dome"], dtype=object)).tolist()
    ['dome', nan, 'dome']
    """
    codes, uniques = pd.factorize(values)  # NULL -> code -1, which picks the None appended last
    return pd.array(np.append(np.asarray(uniques, dtype=object), None)[codes], dtype="str")


def _rows(session: Session, statement: sa.Select) -> list[tuple]:
    """All rows of ``statement`` as plain tuples, through the session's own DBAPI connection
    (so inside its transaction).

    Bypassing SQLAlchemy's result rows saves about 2 s at 1,000,000 rows. The statement's
    values are rendered inline, so only constants of this module and numbers already checked
    to be finite floats may be passed here, never text from a user.
    """
    connection = session.connection()
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def active_camera_frame(session: Session) -> pd.DataFrame:
    """Every camera on the active register that has a position, as one frame.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on the registry (SQLite or PostgreSQL); read inside its transaction.

    Returns
    -------
    pandas.DataFrame
        Columns ``CANDIDATE_COLUMNS``, one row per camera, in camera id order: ``camera_id``
        and ``site_id`` int64; ``lat``, ``lon`` (WGS84), ``easting_m``, ``northing_m``
        (EPSG:27700) and the optional ``direction_deg``, ``fov_angle_deg``, ``fov_range_m``,
        ``retention_days`` float64 with NaN where not given; ``kind`` and
        ``preferred_channel`` strings. Excludes inactive cameras, withdrawn registrants and
        sites without a position. No contact details.

    Examples
    --------
    >>> frame = active_camera_frame(session)          # doctest: +SKIP
    >>> frame.loc[0, ["camera_id", "kind", "fov_range_m"]].tolist()  # doctest: +SKIP
    [1, 'doorbell', nan]
    """
    return _candidate_frame(_rows(session, _candidate_select()))


def postgis_candidates(session: Session, easting_m: float, northing_m: float, radius_m: float) -> pd.DataFrame:
    """Cameras on the active register within ``radius_m`` grid metres of a point (PostgreSQL only).

    The filter is ``ST_DWithin(geom, point, radius_m)`` in British National Grid (EPSG:27700)
    on ``search_camera`` (the search's own table, kept by the register's writes), answered from its
    GiST index. Grid distance is not ground
    distance (the BNG scale factor runs from 0.9996 to about 1.0007 over Great Britain), so
    the caller should pass a margin, ``radius_m * 1.001 + 1``, and then apply the exact
    geodesic filter on ``lat``/``lon`` itself.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on a PostgreSQL/PostGIS registry.
    easting_m, northing_m : float
        The search centre in EPSG:27700 metres.
    radius_m : float
        Grid radius in metres, >= 0 (with the margin above already added).

    Returns
    -------
    pandas.DataFrame
        Same columns and dtypes as :func:`active_camera_frame`, in camera id order, and
        ``public_id`` (the camera's public id, string), so no second look-up is needed to show them.

    Raises
    ------
    ValueError
        The session is not on PostgreSQL, or a number is not finite (or the radius negative).

    Examples
    --------
    >>> postgis_candidates(session, 386227.5, 302117.0, 250 * 1.001 + 1)  # doctest: +SKIP
    """
    columns = postgis_candidate_columns(session, easting_m, northing_m, radius_m)
    order = np.argsort(columns["camera_id"], kind="stable")
    frame = pd.DataFrame(
        {
            name: _shared_strings(columns[name][order]) if name in _TEXT_COLUMNS else columns[name][order]
            for name in CANDIDATE_COLUMNS
        },
        columns=CANDIDATE_COLUMNS,
    )
    frame["public_id"] = pd.array(columns["public_id"][order], dtype="str")
    return frame


def postgis_candidate_columns(
    session: Session, easting_m: float, northing_m: float, radius_m: float
) -> dict[str, np.ndarray]:
    """:func:`postgis_candidates` as plain arrays, one per column, in no particular order, with no
    frame built: what ``geo.search.rank_near`` reads. Ids int64, numbers float64 (NULL -> NaN),
    text as objects (NULL -> None), and ``public_id``.

    One prepared statement with the point bound (PostgreSQL parses and plans it once per
    connection). Its answer is one row: the count, then each column packed by PostgreSQL into one
    value: numbers as their binary send form end to end (``float8send``, ``int4send``,
    ``int2send``: big-endian, read with ``np.frombuffer``), text joined with a separator no value
    holds. The driver then makes 14 values, not a Python object per cell: at 10M cameras a 200 m
    search has about 3,000-26,000 candidates, and making their cells cost more than finding them.
    Every aggregate of one query level reads the same rows in the same order, so the columns line up;
    each is checked to hold ``count`` values.
    """
    dialect = session.get_bind().dialect.name
    if dialect != "postgresql":
        raise ValueError(
            f"postgis_candidates needs PostgreSQL/PostGIS, got a {dialect} session; "
            "use active_camera_frame and filter in memory instead"
        )
    values = {"easting_m": easting_m, "northing_m": northing_m, "radius_m": radius_m}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number of metres, got {value!r}")
    if radius_m < 0:
        raise ValueError(f"radius_m must be >= 0, got {radius_m!r}")
    connection = session.connection()
    cursor = connection.connection.driver_connection.cursor(binary=True)
    try:
        cursor.execute(_NEAR_SQL, {_E: float(easting_m), _N: float(northing_m), _R: float(radius_m)}, prepare=True)
        count, *packed = cursor.fetchone()
    finally:
        cursor.close()
    return _unpacked(int(count), packed)


# How each column of the candidate rows travels packed: numbers as their binary send form, with
# NULL (which string_agg would skip, misaligning the columns) sent as a value no row holds.
_PACKED = {
    "camera_id": ("int4send({c})", ">i4"),
    "site_id": ("int4send({c})", ">i4"),
    "lat": ("float8send({c})", ">f8"),
    "lon": ("float8send({c})", ">f8"),
    "easting_m": ("float8send({c})", ">f8"),
    "northing_m": ("float8send({c})", ">f8"),
    "kind": ("coalesce({c}, '')", "text"),
    "direction_deg": ("int2send(coalesce({c}, (-32768)::smallint))", ">i2"),
    "fov_angle_deg": ("int2send(coalesce({c}, (-32768)::smallint))", ">i2"),
    "fov_range_m": ("int2send(coalesce({c}, (-32768)::smallint))", ">i2"),
    "retention_days": ("int2send(coalesce({c}, (-32768)::smallint))", ">i2"),
    "preferred_channel": ("coalesce({c}, '')", "text"),
    "public_id": ("coalesce({c}, '')", "text"),
}
assert list(_PACKED) == [*CANDIDATE_COLUMNS, "public_id"]
_TEXT_COLUMNS = frozenset(name for name, (_, kind) in _PACKED.items() if kind == "text")
_SEPARATOR = chr(31)  # ASCII unit separator (chr(31) in SQL too): in no camera kind, channel or public id
_E, _N, _R = "near_easting_m", "near_northing_m", "near_radius_m"


def _packed_column(name: str, form: str, kind: str) -> str:
    return f"string_agg({form.format(c=name)}, {'chr(31)' if kind == 'text' else chr(39) * 2 + '::bytea'})"


_NEAR_SQL = (
    "SELECT count(*), "
    + ", ".join(_packed_column(name, form, kind) for name, (form, kind) in _PACKED.items())
    + " FROM search_camera "
    f"WHERE ST_DWithin(geom, ST_SetSRID(ST_MakePoint(CAST(%({_E})s AS FLOAT), CAST(%({_N})s AS FLOAT)), "
    f"27700), CAST(%({_R})s AS FLOAT))"
)


def _unpacked(count: int, packed: list) -> dict[str, np.ndarray]:
    """The packed columns of :data:`_NEAR_SQL`'s answer as arrays of ``count`` values each."""
    out: dict[str, np.ndarray] = {}
    for (name, (_, kind)), value in zip(_PACKED.items(), packed, strict=True):
        if kind == "text":
            texts = value.split(_SEPARATOR) if count else []
            column = np.array([t or None for t in texts], dtype=object)
        else:
            raw = np.frombuffer(value or b"", dtype=kind)
            column = raw.astype("int64" if name in ("camera_id", "site_id") else "float64")
            if kind == ">i2":
                column[raw == -32768] = np.nan
        if len(column) != count:
            raise RuntimeError(f"the packed column {name} holds {len(column)} values, not {count}")
        out[name] = column
    return out


def camera_contacts(session: Session, camera_ids: Sequence[int]) -> pd.DataFrame:
    """Owner contact details and site address of the given cameras: PERSONAL DATA.

    Only cameras whose registrant is active are returned; a withdrawn registrant's camera
    (its details are erased) or an unknown id is simply absent. The camera itself need not
    be active: an owner who has since removed a camera may still hold its footage.
    Rows come in the order of ``camera_ids`` (repeats collapsed). Writes no audit event:
    callers must (``casework.reveal_contacts`` does).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    camera_ids : sequence of int

    Returns
    -------
    pandas.DataFrame
        Columns ``CONTACT_COLUMNS``: ``camera_id`` int64, the rest strings (NaN if not given).

    Examples
    --------
    >>> camera_contacts(session, [12, 999999])["camera_id"].tolist()  # doctest: +SKIP
    [12]
    """
    wanted = list(dict.fromkeys(int(i) for i in camera_ids))
    rows: list[tuple] = []
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        rows.extend(
            session.execute(
                sa.select(
                    Camera.id,
                    Registrant.name,
                    Registrant.email,
                    Registrant.phone,
                    Registrant.preferred_channel,
                    Site.address,
                    Site.postcode,
                )
                .join(Site, Site.id == Camera.site_id)
                .join(Registrant, Registrant.id == Site.registrant_id)
                .where(Camera.id.in_(chunk), Registrant.status == "active")
            )
            .tuples()
            .all()
        )
    position = {camera_id: i for i, camera_id in enumerate(wanted)}
    rows.sort(key=lambda row: position[row[0]])
    frame = pd.DataFrame(rows, columns=CONTACT_COLUMNS)
    return frame.astype({"camera_id": "int64", **{c: "str" for c in CONTACT_COLUMNS[1:]}})


def register_fingerprint(session: Session) -> tuple:
    """A value that changes whenever a registration or camera is added, edited or withdrawn:
    the newest ``updated_at`` and highest id of registrants and cameras (index lookups)."""
    row = session.execute(
        sa.select(
            sa.select(sa.func.max(Registrant.updated_at)).scalar_subquery(),
            sa.select(sa.func.max(Registrant.id)).scalar_subquery(),
            sa.select(sa.func.max(Camera.updated_at)).scalar_subquery(),
            sa.select(sa.func.max(Camera.id)).scalar_subquery(),
        )
    ).one()
    return tuple(row)


def cameras_changed_since(session: Session, fingerprint: tuple, margin: dt.timedelta) -> np.ndarray:
    """Ids of cameras that may have changed since a snapshot of the register was read with
    ``register_fingerprint`` = ``fingerprint``: cameras edited, switched off or withdrawn (their
    own ``updated_at``, or their registrant's: a withdrawal, an edited site) at or after the newest
    change the snapshot saw, less ``margin``.

    The margin covers a write whose ``updated_at`` (the wall-clock time of the change) was taken
    before the snapshot was read but committed after it: such a write would have to stay open for
    longer than the margin (or the servers' clocks differ by more). Two range scans over the
    ``updated_at`` indexes: empty, or a handful of ids, whatever the register's size.
    """
    registrant_since, _, camera_since, _ = fingerprint
    floor = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    registrant_since = (registrant_since or floor) - margin
    camera_since = (camera_since or floor) - margin
    own = sa.select(Camera.id).where(Camera.updated_at >= camera_since)
    owners = (
        sa.select(Camera.id)
        .join(Site, Site.id == Camera.site_id)
        .join(Registrant, Registrant.id == Site.registrant_id)
        .where(Registrant.updated_at >= registrant_since)
    )
    ids = session.execute(sa.union(own, owners)).scalars().all()
    return np.asarray(ids, dtype="int64")


def current_candidates(session: Session, camera_ids) -> pd.DataFrame:
    """The rows of ``active_camera_frame`` for the given camera ids as the register holds them
    now: a camera switched off, or whose owner withdrew, is absent; an edited one comes with its
    current values. Ids are whole numbers (rendered inline, as ``_rows`` needs)."""
    ids = np.unique(np.asarray(camera_ids, dtype="int64"))
    if len(ids) == 0:
        return _candidate_frame([])
    rows: list[tuple] = []
    for start in range(0, len(ids), 5_000):  # keeps each statement's text a modest size
        chunk = [int(i) for i in ids[start : start + 5_000]]
        rows += _rows(session, _candidate_select().where(Camera.id.in_(chunk)))
    return _candidate_frame(rows)


def cameras_by_cell(
    session: Session,
    resolution: int,
    *,
    kind: str | None = None,
    placement: str | None = None,
    direction_known: bool | None = None,
) -> pd.DataFrame:
    """Active cameras and registrations per H3 cell of the stored grid: columns cell,
    registrations, cameras (true counts, no keys: a second method for tests and the benchmark's
    baseline). Only counts leave the database."""
    if resolution not in H3_RESOLUTIONS:
        raise ValueError(f"H3 resolution {resolution} is not one of the stored grids {H3_RESOLUTIONS}")
    cell = getattr(Site, f"h3_r{resolution}")
    query = (
        sa.select(
            cell.label("cell"),
            sa.func.count(sa.distinct(Site.registrant_id)).label("registrations"),
            sa.func.count(Camera.id).label("cameras"),
        )
        .select_from(Camera)
        .join(Site, Site.id == Camera.site_id)
        .join(Registrant, Registrant.id == Site.registrant_id)
        .where(*on_active_register())
        .group_by(cell)
    )
    if kind is not None:
        query = query.where(Camera.kind == kind)
    if placement is not None:
        query = query.where(Camera.placement == placement)
    if direction_known is not None:
        query = query.where(Camera.direction_deg.is_not(None) if direction_known else Camera.direction_deg.is_(None))
    rows = session.execute(query).all()
    return pd.DataFrame(rows, columns=["cell", "registrations", "cameras"]).astype(
        {"registrations": "int64", "cameras": "int64"}
    )


CELL_COLUMNS = [
    "site_id",
    "registration_key",
    "camera_key",
    "h3_r7",
    "h3_r8",
    "h3_r9",
    "kind",
    "placement",
    "direction_known",
]


def active_cell_select() -> sa.Select:
    """The ``CELL_COLUMNS`` of every camera on the active register (``active_cell_frame``'s statement)."""
    return (
        sa.select(
            Site.id,
            sa.func.coalesce(Registrant.record_key, 0),
            sa.func.coalesce(Camera.record_key, 0),
            Site.h3_r7,
            Site.h3_r8,
            Site.h3_r9,
            Camera.kind,
            Camera.placement,
            Camera.direction_deg.is_not(None),
        )
        .join(Site, Site.id == Camera.site_id)
        .join(Registrant, Registrant.id == Site.registrant_id)
        .where(*on_active_register(), Site.h3_r7.is_not(None))
    )


def active_cell_frame(session: Session, site_range: tuple[int, int] | None = None) -> pd.DataFrame:
    """Every camera on the active register with its site's fixed H3 cells, what the coverage
    filters need, and the record keys of the camera and of its registration (disclosure control;
    never shown): columns ``CELL_COLUMNS``. No position, no contact details, no dates.
    ``site_range``: only sites with ``low <= id < high`` (whole sites, for counting in chunks)."""
    statement = active_cell_select()
    if site_range is not None:
        low, high = (int(v) for v in site_range)
        statement = statement.where(Site.id >= low, Site.id < high)
    return cell_frame(_rows(session, statement))


def cell_frame(rows: Sequence[tuple]) -> pd.DataFrame:
    """Rows of :func:`active_cell_select` as a frame of ``CELL_COLUMNS`` with their types."""
    frame = pd.DataFrame([tuple(r) for r in rows], columns=CELL_COLUMNS)
    return frame.astype(
        {"site_id": "int64", "registration_key": "int64", "camera_key": "int64", "direction_known": "bool"}
    )


def site_areas(session: Session) -> pd.DataFrame:
    """District and small area (LSOA) of every site on the active register, and its
    registration's record key (disclosure control; never shown): columns site_id, district_code,
    lsoa_code, registration_key (codes only; no address or position). Read through the DBAPI
    cursor: the ORM took 6.6 s for 620,000 sites, this well under one."""
    statement = (
        sa.select(Site.id, Site.district_code, Site.lsoa_code, sa.func.coalesce(Registrant.record_key, 0))
        .join(Registrant, Registrant.id == Site.registrant_id)
        .where(Registrant.status == "active")
    )
    return pd.DataFrame(
        _rows(session, statement), columns=["site_id", "district_code", "lsoa_code", "registration_key"]
    ).astype({"site_id": "int64", "registration_key": "int64"})


def camera_sums_per_site(session: Session) -> pd.DataFrame:
    """Active cameras per site and the sum of their record keys (disclosure control; never shown):
    columns site_id, cameras, cameras_key (the key sum, not yet taken modulo 256). One grouped read
    of the camera table's index; join it to ``site_areas`` for the sites on the active register."""
    statement = (
        sa.select(Camera.site_id, sa.func.count(), sa.func.sum(sa.func.coalesce(Camera.record_key, 0)))
        .where(Camera.active.is_(True))
        .group_by(Camera.site_id)
    )
    return pd.DataFrame(_rows(session, statement), columns=["site_id", "cameras", "cameras_key"]).astype("int64")
