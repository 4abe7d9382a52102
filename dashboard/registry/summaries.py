"""The register's summary counts, kept exact by the writes that change the register, and its version.

Every app process and server reads the same rows, so none keeps its own copy of the register to
count from, and a change made through one server is in the next figure any server shows.

``coverage_cell`` holds, per fixed H3 cell (resolutions 7-9) and camera choice
(``CAMERA_FILTERS``): the active registrations with a camera the choice keeps, the sum of their
record keys, those cameras and the sum of their keys, and ``left_out``, the registrations in the cell
with a camera the choice leaves out. True counts and raw key sums (``% 256`` when read): only the
disclosure-control layer turns them into figures (``analytics.coverage.published_cells``).
``register_count`` holds, per district, small area (LSOA) and UK day of consent: the active
registrations, their active cameras, and the raw key sums of both (the home page, ``/api/v1/summary``,
the area tables and the uptake page's district table). ``uptake_day`` holds the uptake page's
series per UK day and district: every registration ever made by its day of consent (with every
camera registered with it; an erased one's key is 0 here, as its part is in ``retired_key``) and
owner withdrawals by the day withdrawn. ``register_mix`` holds the active cameras per district by
kind, placement, retention class and details given, with the registrations that have one.

How they stay exact: every count is a sum over sites (a site is one registration and lies in one
cell per grid and one district), so a write that touches some sites **retracts** those sites' whole contribution as
it was and **applies** it again as it is now (:func:`changing`), in the write's own transaction. That
holds however the sites' cameras changed, distinct counts included. Bulk loads (the demo, imports)
skip that and call :func:`rebuild` after; :func:`verify` recomputes everything and compares
(``python -m dashboard summaries check``).

On PostgreSQL, ``search_camera`` holds the officer search's rows: every active camera of an active
registration with a position, and what the search ranks and shows. Statement-level triggers on
``camera``, ``site`` and ``registrant`` (migration 0015) select the touched sites' rows again in the
writing transaction, whoever writes, so an erased or switched-off camera is gone from it when the
write commits (promise 6). Here: its rebuild after bulk loads, and its check.

Lock order (no deadlock on PostgreSQL): :func:`changing` takes the audit chain's lock first (every
register write is audited), then the summary rows in primary-key order, then ``register_state``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dashboard.core.cell_keys import KEY_RANGE
from dashboard.core.uktime import uk_days
from dashboard.core.vocab import CAMERA_FILTERS, retention_buckets
from dashboard.geo.cells import H3_RESOLUTIONS
from dashboard.registry import area_summaries, gap_summaries
from dashboard.registry.camera_queries import _rows, active_cell_frame, active_cell_select, cell_frame
from dashboard.registry.database import hold_write_lock, id_in
from dashboard.registry.models import (
    AreaView,
    Camera,
    CoverageCell,
    GapCrime,
    GapReach,
    PostcodeNear,
    PostcodeReach,
    RegisterCount,
    RegisterMix,
    RegisterState,
    Registrant,
    Site,
    UptakeDay,
    utcnow,
)
from dashboard.registry.point_summaries import SiteCameras, empty_frame, read_site_range, read_sites, top_site

CELL_KEY = ["res", "choice", "cell"]
BY_CELL_COLUMNS = ["cell", "registrations", "registrations_key", "cameras", "cameras_key", "registrations_left_out"]
CELL_SUMS = ["registrations", "registrations_key", "cameras", "cameras_key", "left_out"]
COUNT_KEY = ["kind", "code"]
COUNT_SUMS = ["registrations", "registrations_key", "cameras", "cameras_key"]
COUNT_KINDS = ("district", "lsoa", "consent_day")
AREA_COUNT_COLUMNS = ["area_code", "registrations", "registrations_key", "cameras", "cameras_key"]
SITE_COLUMNS = ["site_id", "district_code", "lsoa_code", "consent_at", "registration_key", "cameras", "cameras_key"]
DAY_KEY = ["series", "day", "district_code"]
DAY_SERIES = ("made", "withdrawn")
LIFE_COLUMNS = ["site_id", "district_code", "consent_at", "end_reason", "withdrawn_at", "registration_key"]
LIFE_COLUMNS += ["cameras", "cameras_key"]
MIX_KEY = ["district_code", "aspect", "value"]
MIX_COLUMNS = ["site_id", "district_code", "kind", "placement", "retention_days", "direction_deg", "overlooks"]
MIX_COLUMNS += ["camera_key", "registration_key"]
GIVEN = ("direction", "retention", "overlooks")  # the details a camera may have filled in (aspect 'given')
REBUILD_CHUNK_SITES = 200_000  # sites per chunk when counting the whole register (bounded memory)
UPSERT_ROWS = 500  # rows per upsert statement


# --------------------------------------------------------------------------- what sites add


def _keeps(frame: pd.DataFrame, wanted: dict) -> np.ndarray:
    """Which of the frame's cameras a choice keeps (``CAMERA_FILTERS`` value)."""
    keep = np.ones(len(frame), dtype=bool)
    for column, value in wanted.items():
        keep &= frame[column].to_numpy() == value
    return keep


def cell_contribution(frame: pd.DataFrame) -> pd.DataFrame:
    """What the cameras in ``frame`` (``CELL_COLUMNS``: the active cameras of whole sites on the
    active register) add to ``coverage_cell``: columns ``CELL_KEY + CELL_SUMS``, one row per
    (resolution, choice, cell) they touch, raw key sums.

    >>> frame = pd.DataFrame({"site_id": [1, 1, 2], "registration_key": [200, 200, 100],
    ...     "camera_key": [10, 20, 250], "h3_r7": ["a", "a", "a"], "h3_r8": ["c", "c", "d"],
    ...     "h3_r9": ["e", "e", "f"], "kind": ["dome", "ptz", "dome"], "placement": ["outdoor"] * 3,
    ...     "direction_known": [True, False, True]})
    >>> rows = cell_contribution(frame).set_index(CELL_KEY)
    >>> rows.loc[(7, "all", "a")].tolist()
    [2, 300, 3, 280, 0]
    >>> rows.loc[(8, "kind:dome", "c")].tolist(), rows.loc[(8, "kind:ptz", "d")].tolist()
    ([1, 200, 1, 10, 1], [0, 0, 0, 0, 1])
    """
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in CELL_SUMS}).assign(
            res=pd.Series(dtype="int64"), choice=pd.Series(dtype=object), cell=pd.Series(dtype=object)
        )[CELL_KEY + CELL_SUMS]
    site_code, _ = pd.factorize(frame["site_id"])
    n_sites = int(site_code.max()) + 1
    first = np.full(n_sites, -1, dtype="int64")
    first[site_code[::-1]] = np.arange(len(frame))[::-1]  # a camera row of every site
    site_key = frame["registration_key"].to_numpy(dtype="int64")[first]
    camera_key = frame["camera_key"].to_numpy(dtype="int64")
    choices = list(CAMERA_FILTERS)
    sums = {name: [] for name in CELL_SUMS}
    for wanted in CAMERA_FILTERS.values():  # per choice, per site: one array each, stacked below
        keep = _keeps(frame, wanted)
        kept = np.bincount(site_code, weights=keep, minlength=n_sites).astype("int64")
        sums["registrations"].append((kept > 0).astype("int64"))
        sums["registrations_key"].append(np.where(kept > 0, site_key, 0))
        sums["cameras"].append(kept)
        sums["cameras_key"].append(
            np.bincount(site_code, weights=np.where(keep, camera_key, 0), minlength=n_sites).astype("int64")
        )
        sums["left_out"].append((np.bincount(site_code, weights=~keep, minlength=n_sites) > 0).astype("int64"))
    stacked = {name: np.concatenate(parts) for name, parts in sums.items()}  # choice-major, then site
    choice = np.repeat(np.array(choices, dtype=object), n_sites)
    parts = [
        pd.DataFrame(
            {
                "res": np.full(len(choice), res, dtype="int64"),
                "choice": choice,
                "cell": np.tile(frame[f"h3_r{res}"].to_numpy(dtype=object)[first], len(choices)),
                **stacked,
            }
        )
        for res in H3_RESOLUTIONS
    ]
    rows = pd.concat(parts, ignore_index=True)
    rows = rows[(rows[CELL_SUMS].to_numpy() != 0).any(axis=1)]
    return rows.groupby(CELL_KEY, as_index=False, sort=True)[CELL_SUMS].sum()[CELL_KEY + CELL_SUMS]


def _camera_cells(session: Session, site_ids: Sequence[int]) -> pd.DataFrame:
    """``CELL_COLUMNS`` of the given sites' active cameras (none for sites off the active register)."""
    if not site_ids:
        return cell_frame([])
    return cell_frame(session.execute(active_cell_select().where(id_in(session, Site.id, list(site_ids)))).all())


def _iso_days(when: pd.Series) -> pd.Series:
    """The UK day of each stored instant, as ISO text (the summaries' day codes)."""
    return uk_days(pd.to_datetime(when, utc=True, format="mixed")).dt.strftime("%Y-%m-%d")


def _camera_sums(where: Sequence[sa.ColumnElement[bool]], *, active_only: bool) -> sa.Subquery:
    """Per site ``where`` (conditions on ``Site``): its cameras (the active ones only, or all) as
    ``n`` and the sum of their record keys as ``k``."""
    active = [Camera.active.is_(True)] if active_only else []
    return (
        sa.select(
            Camera.site_id,
            sa.func.count().label("n"),
            sa.func.sum(sa.func.coalesce(Camera.record_key, 0)).label("k"),
        )
        .join(Site, Site.id == Camera.site_id)
        .where(*active, *where)
        .group_by(Camera.site_id)
        .subquery()
    )


def site_select(where: Sequence[sa.ColumnElement[bool]] = ()) -> sa.Select:
    """``SITE_COLUMNS`` and the registration's status of the sites ``where`` (:func:`_site_counts`
    keeps those on the active register, with or without an active camera): area codes, consent
    time, the registration's key, and its active cameras' count and key sum.
    ``where``: conditions on ``Site`` (a range or a list of site ids), applied to the cameras too."""
    cameras = _camera_sums(where, active_only=True)
    return (
        sa.select(
            Site.id,
            Site.district_code,
            Site.lsoa_code,
            Registrant.consent_at,
            sa.func.coalesce(Registrant.record_key, 0),
            sa.func.coalesce(cameras.c.n, 0),
            sa.func.coalesce(cameras.c.k, 0),
            Registrant.status,
        )
        .join(Registrant, Registrant.id == Site.registrant_id)
        .outerjoin(cameras, cameras.c.site_id == Site.id)
        .where(*where)
    )


def _site_counts(rows: list) -> pd.DataFrame:
    """``SITE_COLUMNS`` of the rows of :func:`site_select` whose registration is active. (The status
    is tested here, not in SQL: given it, SQLite walked every active registration to find the few
    touched sites, a quarter of a second per write at a million.)"""
    frame = pd.DataFrame([tuple(r) for r in rows], columns=[*SITE_COLUMNS, "status"])
    frame = frame[(frame["status"] == "active").to_numpy(dtype=bool)].drop(columns="status").reset_index(drop=True)
    return frame.astype({c: "int64" for c in ("site_id", "registration_key", "cameras", "cameras_key")})


def count_contribution(sites: pd.DataFrame) -> pd.DataFrame:
    """What the sites in ``sites`` (``SITE_COLUMNS``, sites on the active register) add to
    ``register_count``: columns ``COUNT_KEY + COUNT_SUMS``, raw key sums.

    >>> sites = pd.DataFrame({"site_id": [1, 2], "district_code": ["E07000192", "E07000192"],
    ...     "lsoa_code": ["E01029000", None], "consent_at": ["2026-07-05 23:30:00", "2026-07-05 12:00:00"],
    ...     "registration_key": [200, 100], "cameras": [2, 0], "cameras_key": [300, 0]})
    >>> count_contribution(sites).values.tolist()
    [['district', 'E07000192', 2, 300, 2, 300], ['lsoa', 'E01029000', 1, 200, 2, 300], \
['consent_day', '2026-07-05', 1, 100, 0, 0], ['consent_day', '2026-07-06', 1, 200, 2, 300]]
    """
    if sites.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COUNT_KEY}).assign(
            **{c: pd.Series(dtype="int64") for c in COUNT_SUMS}
        )
    days = _iso_days(sites["consent_at"])
    values = pd.DataFrame(
        {
            "registrations": np.ones(len(sites), dtype="int64"),
            "registrations_key": sites["registration_key"].to_numpy(dtype="int64"),
            "cameras": sites["cameras"].to_numpy(dtype="int64"),
            "cameras_key": sites["cameras_key"].to_numpy(dtype="int64"),
        }
    )
    parts = []
    for kind, codes in zip(COUNT_KINDS, (sites["district_code"], sites["lsoa_code"], days)):
        known = codes.notna().to_numpy()
        summed = values[known].groupby(codes[known].to_numpy(dtype=object), sort=True).sum()
        parts.append(summed.rename_axis("code").reset_index().assign(kind=kind))
    return pd.concat(parts, ignore_index=True)[COUNT_KEY + COUNT_SUMS]


def life_select(where: Sequence[sa.ColumnElement[bool]] = ()) -> sa.Select:
    """``LIFE_COLUMNS`` of every registration ever made (ended ones too) at the sites ``where`` (a
    condition on ``Site``): district, consent time, why and when it ended, its key (0 once erased),
    and every camera registered with it (switched-off ones too) with their key sum."""
    cameras = _camera_sums(where, active_only=False)
    return (
        sa.select(
            Site.id,
            Site.district_code,
            Registrant.consent_at,
            Registrant.end_reason,
            Registrant.withdrawn_at,
            sa.func.coalesce(Registrant.record_key, 0),
            sa.func.coalesce(cameras.c.n, 0),
            sa.func.coalesce(cameras.c.k, 0),
        )
        .join(Registrant, Registrant.id == Site.registrant_id)
        .outerjoin(cameras, cameras.c.site_id == Site.id)
        .where(*where)
    )


def _lives(rows: list) -> pd.DataFrame:
    frame = pd.DataFrame([tuple(r) for r in rows], columns=LIFE_COLUMNS)
    return frame.astype({c: "int64" for c in ("site_id", "registration_key", "cameras", "cameras_key")})


def day_contribution(lives: pd.DataFrame) -> pd.DataFrame:
    """What the registrations in ``lives`` (``LIFE_COLUMNS``) add to ``uptake_day``: columns
    ``DAY_KEY + COUNT_SUMS``, raw key sums. 'made': each registration on its UK day of consent with
    its key and all its cameras; 'withdrawn': each one its owner withdrew, on the UK day withdrawn
    (no keys: an erased registration's key is in ``retired_key``).

    >>> lives = pd.DataFrame({"site_id": [1, 2], "district_code": ["A", "A"],
    ...     "consent_at": ["2026-07-05 23:30:00", "2026-07-06 09:00:00"], "end_reason": [None, "owner"],
    ...     "withdrawn_at": [None, "2026-08-01 12:00:00"], "registration_key": [200, 0],
    ...     "cameras": [2, 1], "cameras_key": [300, 40]})
    >>> day_contribution(lives).values.tolist()
    [['made', '2026-07-06', 'A', 2, 200, 3, 340], ['withdrawn', '2026-08-01', 'A', 1, 0, 0, 0]]
    """
    if lives.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in DAY_KEY}).assign(
            **{c: pd.Series(dtype="int64") for c in COUNT_SUMS}
        )
    made = pd.DataFrame(
        {
            "series": "made",
            "day": _iso_days(lives["consent_at"]).to_numpy(dtype=object),
            "district_code": lives["district_code"].to_numpy(dtype=object),
            "registrations": np.ones(len(lives), dtype="int64"),
            "registrations_key": lives["registration_key"].to_numpy(dtype="int64"),
            "cameras": lives["cameras"].to_numpy(dtype="int64"),
            "cameras_key": lives["cameras_key"].to_numpy(dtype="int64"),
        }
    )
    owner = lives[(lives["end_reason"] == "owner").to_numpy(dtype=bool) & lives["withdrawn_at"].notna().to_numpy()]
    withdrawn = pd.DataFrame(
        {
            "series": "withdrawn",
            "day": _iso_days(owner["withdrawn_at"]).to_numpy(dtype=object),
            "district_code": owner["district_code"].to_numpy(dtype=object),
            "registrations": np.ones(len(owner), dtype="int64"),
            **{c: np.zeros(len(owner), dtype="int64") for c in ("registrations_key", "cameras", "cameras_key")},
        }
    )
    both = pd.concat([made, withdrawn], ignore_index=True)
    return both.groupby(DAY_KEY, as_index=False, sort=True)[COUNT_SUMS].sum()[DAY_KEY + COUNT_SUMS]


def mix_select(where: Sequence[sa.ColumnElement[bool]] = ()) -> sa.Select:
    """``MIX_COLUMNS`` of the active cameras of active registrations at the sites ``where``."""
    return (
        sa.select(
            Site.id,
            Site.district_code,
            Camera.kind,
            Camera.placement,
            Camera.retention_days,
            Camera.direction_deg,
            Camera.overlooks,
            sa.func.coalesce(Camera.record_key, 0),
            sa.func.coalesce(Registrant.record_key, 0),
        )
        .join(Site, Site.id == Camera.site_id)
        .join(Registrant, Registrant.id == Site.registrant_id)
        .where(Camera.active.is_(True), Registrant.status == "active", *where)
    )


def _mix_cameras(rows: list) -> pd.DataFrame:
    frame = pd.DataFrame([tuple(r) for r in rows], columns=MIX_COLUMNS)
    return frame.astype(
        {
            "site_id": "int64",
            "retention_days": "float64",
            "direction_deg": "float64",
            "camera_key": "int64",
            "registration_key": "int64",
        }
    )


def mix_contribution(cameras: pd.DataFrame) -> pd.DataFrame:
    """What the active cameras in ``cameras`` (``MIX_COLUMNS``) add to ``register_mix``: per
    district, aspect and value, the cameras and their key sum, and the registrations with at least
    one such camera and their key sum (raw): columns ``MIX_KEY + COUNT_SUMS``. Aspects: 'kind',
    'placement', 'retention' (its class), 'given' ('direction', 'retention', 'overlooks' filled in)
    and 'all' (value '').

    >>> cams = pd.DataFrame({"site_id": [1, 1, 2], "district_code": ["A"] * 3,
    ...     "kind": ["dome", "dome", "doorbell"], "placement": ["outdoor"] * 3,
    ...     "retention_days": [7.0, None, 30.0], "direction_deg": [90.0, None, None],
    ...     "overlooks": ["road", "", None], "camera_key": [10, 20, 250], "registration_key": [200, 200, 100]})
    >>> rows = mix_contribution(cams).set_index(MIX_KEY)
    >>> rows.loc[("A", "kind", "dome")].tolist(), rows.loc[("A", "all", "")].tolist()
    ([1, 200, 2, 30], [2, 300, 3, 280])
    >>> rows.loc[("A", "given", "overlooks")].tolist(), rows.loc[("A", "retention", "not given")].tolist()
    ([1, 200, 1, 10], [1, 200, 1, 20])
    """
    if cameras.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in MIX_KEY}).assign(
            **{c: pd.Series(dtype="int64") for c in COUNT_SUMS}
        )
    n = len(cameras)
    overlooks = cameras["overlooks"].astype(object).fillna("").astype(str).str.len().to_numpy() > 0
    given = {
        "direction": cameras["direction_deg"].notna().to_numpy(),
        "retention": cameras["retention_days"].notna().to_numpy(),
        "overlooks": overlooks,
    }
    base = cameras[["site_id", "district_code", "camera_key", "registration_key"]]
    parts = [
        base.assign(aspect="kind", value=cameras["kind"].to_numpy(dtype=object)),
        base.assign(aspect="placement", value=cameras["placement"].to_numpy(dtype=object)),
        base.assign(aspect="retention", value=retention_buckets(cameras["retention_days"])),
        base.assign(aspect="all", value=np.full(n, "", dtype=object)),
        *(base[mask].assign(aspect="given", value=name) for name, mask in given.items()),
    ]
    rows = pd.concat(parts, ignore_index=True)
    rows = rows[rows["value"].notna().to_numpy()]
    by_camera = rows.groupby(MIX_KEY, sort=True).agg(cameras=("site_id", "size"), cameras_key=("camera_key", "sum"))
    sites = rows.drop_duplicates(["site_id", "aspect", "value"])
    by_site = sites.groupby(MIX_KEY, sort=True).agg(
        registrations=("site_id", "size"), registrations_key=("registration_key", "sum")
    )
    out = by_site.join(by_camera).reset_index()
    return out.astype({c: "int64" for c in COUNT_SUMS})[MIX_KEY + COUNT_SUMS]


def _contributions(session: Session, site_ids: Sequence[int]) -> tuple[tuple[pd.DataFrame, ...], SiteCameras]:
    """Every table's contribution of the given sites as they are now (``TABLES`` order), and the
    sites' cameras the gap and area parts were counted from."""
    ids = list(site_ids)
    where = [id_in(session, Site.id, ids)] if ids else [sa.false()]
    sites = read_sites(session, ids)
    parts = (
        cell_contribution(_camera_cells(session, ids)),
        count_contribution(_site_counts(session.execute(site_select(where)).all() if ids else [])),
        day_contribution(_lives(session.execute(life_select(where)).all() if ids else [])),
        mix_contribution(_mix_cameras(session.execute(mix_select(where)).all() if ids else [])),
        *gap_summaries.contributions(session, sites),
        *area_summaries.contributions(session, sites),
    )
    return parts, sites


# --------------------------------------------------------------------------- writing the rows


TABLES = (
    (CoverageCell, CELL_KEY, CELL_SUMS),
    (RegisterCount, COUNT_KEY, COUNT_SUMS),
    (UptakeDay, DAY_KEY, COUNT_SUMS),
    (RegisterMix, MIX_KEY, COUNT_SUMS),
    (GapCrime, gap_summaries.CRIME_KEY, gap_summaries.CRIME_SUMS),
    (GapReach, gap_summaries.REACH_KEY, gap_summaries.REACH_SUMS),
    (PostcodeNear, area_summaries.NEAR_KEY, area_summaries.NEAR_SUMS),
    (PostcodeReach, area_summaries.REACH_KEY, area_summaries.REACH_SUMS),
    (AreaView, area_summaries.VIEW_KEY, area_summaries.VIEW_SUMS),
)
GAP_TABLES = TABLES[4:6]
AREA_TABLES = TABLES[6:9]


def add_rows(session: Session, model, keys: list[str], sums: list[str], delta: pd.DataFrame) -> None:
    """Add ``delta`` (``keys + sums``) to the model's table, rows in primary-key order."""
    if delta.empty:
        return
    delta = delta[(delta[sums] != 0).any(axis=1)].sort_values(keys, kind="stable")
    if delta.empty:
        return
    table = model.__table__
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    records = [
        {
            **{c: (int(v) if isinstance(v, (int, np.integer)) else v) for c, v in zip(keys, r[: len(keys)])},
            **{c: int(v) for c, v in zip(sums, r[len(keys) :])},
        }
        for r in delta[keys + sums].itertuples(index=False, name=None)
    ]
    for start in range(0, len(records), UPSERT_ROWS):
        statement = insert(table).values(records[start : start + UPSERT_ROWS])
        session.execute(
            statement.on_conflict_do_update(
                index_elements=keys, set_={c: table.c[c] + statement.excluded[c] for c in sums}
            )
        )


def _difference(after: pd.DataFrame, before: pd.DataFrame, keys: list[str], sums: list[str]) -> pd.DataFrame:
    if before.empty:  # nothing to take away (a new site, or no pairs with the crimes around it)
        return after
    if after.empty:
        return before.assign(**{c: -before[c] for c in sums})
    both = pd.concat([after, before.assign(**{c: -before[c] for c in sums})], ignore_index=True)
    return both.groupby(keys, as_index=False, sort=True)[sums].sum()


def _bump(session: Session, *, built: bool | None = None, at: dt.datetime | None = None) -> None:
    values: dict = {"version": RegisterState.version + 1, "changed_at": at or utcnow()}
    if built is not None:
        values["summaries_built"] = built
    session.execute(sa.update(RegisterState).where(RegisterState.id == 1).values(**values))


class Touched:
    """The sites a write touches; :func:`changing` yields one, and a write that creates a site adds
    its id once it has one (a new site has no contribution to retract)."""

    def __init__(self, site_ids: Iterable[int]) -> None:
        self.before = sorted({int(i) for i in site_ids})
        self.added: set[int] = set()

    def add(self, site_id: int) -> None:
        self.added.add(int(site_id))

    def all(self) -> list[int]:
        return sorted(set(self.before) | self.added)


@contextmanager
def changing(session: Session, site_ids: Iterable[int] = ()) -> Iterator[Touched]:
    """Keep the summaries exact across a write to the given sites (and to sites added to the
    yielded :class:`Touched`): retract their contribution as it is now, let the write happen, then
    apply their contribution as it is after it, and raise the register's version, all in
    ``session``'s transaction. On an error inside the block nothing is applied (the caller's
    transaction is rolled back with the write)."""
    hold_write_lock(session, "audit_event")  # the audit chain's lock first: see the module's lock order
    session.flush()
    touched = Touched(site_ids)
    before, _ = _contributions(session, touched.before)
    tiles = area_summaries.tiles_of_sites(session, touched.before)
    yield touched
    session.flush()
    after, sites = _contributions(session, touched.all())
    for (model, keys, sums), now, then in zip(TABLES, after, before):
        add_rows(session, model, keys, sums, _difference(now, then, keys, sums))
    tiles |= area_summaries.replace_wedges(session, touched.all(), sites)
    add_rows(session, AreaView, area_summaries.VIEW_KEY, ["pixels"], area_summaries.recount_tiles(session, tiles))
    _bump(session)


# --------------------------------------------------------------------------- the search's rows (PostgreSQL)

SEARCH_COLUMNS = (
    "camera_id, site_id, lat, lon, easting_m, northing_m, kind, direction_deg, fov_angle_deg, fov_range_m, "
    "retention_days, preferred_channel, public_id"
)
_SEARCH_SOURCE = (
    "SELECT camera.id, camera.site_id, site.lat, site.lon, site.easting_m, site.northing_m, camera.kind, "
    "camera.direction_deg, camera.fov_angle_deg, camera.fov_range_m, camera.retention_days, "
    "registrant.preferred_channel, camera.public_id "
    "FROM camera JOIN site ON site.id = camera.site_id JOIN registrant ON registrant.id = site.registrant_id "
    "WHERE camera.active IS TRUE AND registrant.status = 'active' AND site.easting_m IS NOT NULL "
    "AND site.northing_m IS NOT NULL AND site.lat IS NOT NULL AND site.lon IS NOT NULL"
)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


SEARCH_TRIGGERS = (
    ("camera", "search_camera_camera_insert"),
    ("camera", "search_camera_camera_update"),
    ("camera", "search_camera_camera_delete"),
    ("site", "search_camera_site_update"),
    ("site", "search_camera_site_delete"),
    ("registrant", "search_camera_registrant_update"),
)


def search_triggers(conn, enabled: bool) -> None:
    """Switch the triggers that keep ``search_camera`` on or off (PostgreSQL; nothing elsewhere): off
    for a bulk load, which then calls :func:`rebuild`. ``conn``: a connection in the load's transaction."""
    if conn.dialect.name != "postgresql":
        return
    for table, trigger in SEARCH_TRIGGERS:
        conn.exec_driver_sql(f"ALTER TABLE {table} {'ENABLE' if enabled else 'DISABLE'} TRIGGER {trigger}")


def _rebuild_search_rows(session: Session) -> None:
    """Every row of ``search_camera`` again, written in place order (by the finest H3 cell), so that
    the cameras near a point lie on few pages."""
    if not _postgres(session):
        return
    session.execute(sa.text("TRUNCATE search_camera"))
    session.execute(
        sa.text(f"INSERT INTO search_camera ({SEARCH_COLUMNS}) {_SEARCH_SOURCE} ORDER BY site.h3_r9, camera.id")
    )
    session.execute(sa.text("ANALYZE search_camera"))


def _search_differences(session: Session) -> list[str]:
    """Rows of ``search_camera`` that are not the register's, and the register's that are missing."""
    if not _postgres(session):
        return []
    stored = f"SELECT {SEARCH_COLUMNS} FROM search_camera"
    extra = session.execute(sa.text(f"SELECT camera_id FROM ({stored} EXCEPT {_SEARCH_SOURCE}) d LIMIT 20")).all()
    missing = session.execute(sa.text(f"SELECT id FROM ({_SEARCH_SOURCE} EXCEPT {stored}) d LIMIT 20")).all()
    return [f"search_camera: camera {r[0]} is there but not as the register has it" for r in extra] + [
        f"search_camera: camera {r[0]} of the register is missing or differs" for r in missing
    ]


# --------------------------------------------------------------------------- whole register


def _whole(session: Session) -> tuple[pd.DataFrame, ...]:
    """Every table's rows computed from the whole register, in chunks of sites (bounded memory)."""
    top = int(session.execute(sa.select(sa.func.max(Site.id))).scalar_one() or 0)
    totals = list(_contributions(session, [])[0])
    for low in range(0, top + 1, REBUILD_CHUNK_SITES):
        where = [Site.id >= low, Site.id < low + REBUILD_CHUNK_SITES]
        parts = (
            cell_contribution(active_cell_frame(session, site_range=(low, low + REBUILD_CHUNK_SITES))),
            count_contribution(_site_counts(_rows(session, site_select(where)))),
            day_contribution(_lives(_rows(session, life_select(where)))),
            mix_contribution(_mix_cameras(_rows(session, mix_select(where)))),
        )
        for i, ((_, keys, sums), part) in enumerate(zip(TABLES, parts)):
            totals[i] = (
                pd.concat([totals[i], part], ignore_index=True).groupby(keys, as_index=False, sort=True)[sums].sum()
            )
    totals[4:6] = _whole_parts(session, GAP_TABLES, gap_summaries.whole_chunks)
    totals[6:9] = _whole_parts(session, AREA_TABLES, area_summaries.whole_chunks)
    return tuple(t[(t[sums] != 0).any(axis=1)].reset_index(drop=True) for t, (_, _, sums) in zip(totals, TABLES))


def _whole_parts(session: Session, tables, chunks) -> list[pd.DataFrame]:
    """Some tables' rows computed from the whole register by ``chunks`` (the gap or the area
    tables' ``whole_chunks``), chunk by chunk of sites."""
    totals = [empty_frame(keys, sums) for _, keys, sums in tables]
    for part in chunks(session, REBUILD_CHUNK_SITES):
        for i, ((_, keys, sums), rows) in enumerate(zip(tables, part)):
            totals[i] = (
                pd.concat([totals[i], rows], ignore_index=True).groupby(keys, as_index=False, sort=True)[sums].sum()
            )
    return [t.astype(dict.fromkeys(sums, "int64")) for t, (_, _, sums) in zip(totals, tables)]


def rebuild(session: Session, at: dt.datetime | None = None) -> int:
    """Compute every summary row from the register again (after a bulk load, or a manual change),
    in ``session``'s transaction; raise the version, changed ``at`` (default now: the demo gives its
    own clock). Returns the number of rows written."""
    hold_write_lock(session, "audit_event")
    written = 0
    for (model, keys, sums), rows in zip(TABLES, _whole(session)):
        session.execute(sa.delete(model))
        add_rows(session, model, keys, sums, rows)
        written += len(rows)
    add_rows(
        session,
        AreaView,
        area_summaries.VIEW_KEY,
        ["pixels"],
        area_summaries.rebuild_view(session, REBUILD_CHUNK_SITES),
    )
    _rebuild_search_rows(session)
    _bump(session, built=True, at=at)
    return written


def ensure_built(session: Session, ref=None) -> bool:
    """Compute the summaries if they never were (a register migrated from before them), placing
    the imported crimes and the reference's postcodes first when the reference geography ``ref``
    is given; count the postcode tables again when the reference's postcodes are not the ones they
    were counted for. True when it computed anything."""
    built = session.execute(sa.select(RegisterState.summaries_built).where(RegisterState.id == 1)).scalar_one()
    moved = ref is not None and area_summaries.place_postcodes(session, ref)
    if built:
        if moved:
            rebuild_postcodes(session)
        return moved
    if ref is not None:
        gap_summaries.place_crimes(session, ref)
    rebuild(session)
    return True


def rebuild_postcodes(session: Session) -> None:
    """Count the postcode tables again from the whole register (after ``postcode_point`` changed),
    in ``session``'s transaction; raise the version."""
    hold_write_lock(session, "audit_event")
    session.flush()
    tables = AREA_TABLES[:2]
    for (model, keys, sums), rows in zip(tables, _whole_parts(session, AREA_TABLES, area_summaries.whole_chunks)):
        session.execute(sa.delete(model))
        add_rows(session, model, keys, sums, rows[(rows[sums] != 0).any(axis=1)])
    _bump(session)


def rebuild_gap(session: Session, ref) -> int:
    """After crimes were imported: place every crime (``gap_summaries.place_crimes``, from the
    reference geography ``ref``) and count the gap tables again from the whole register, in
    ``session``'s transaction; raise the version. Returns the number of crimes placed."""
    hold_write_lock(session, "audit_event")
    placed = gap_summaries.place_crimes(session, ref)
    session.flush()
    for (model, keys, sums), rows in zip(GAP_TABLES, _whole_parts(session, GAP_TABLES, gap_summaries.whole_chunks)):
        session.execute(sa.delete(model))
        add_rows(session, model, keys, sums, rows[(rows[sums] != 0).any(axis=1)])
    _bump(session)
    return placed


def verify(session: Session) -> list[str]:
    """Where the stored summaries differ from the register counted now, one line per row (empty
    when they agree)."""
    problems = []
    for (model, keys, sums), true in zip(TABLES, _whole(session)):
        stored = _stored(session, model, keys, sums)
        both = stored.merge(true, on=keys, how="outer", suffixes=("_stored", "_true"), indicator=True)
        for row in both.itertuples(index=False):
            got = tuple(0 if pd.isna(getattr(row, f"{c}_stored")) else int(getattr(row, f"{c}_stored")) for c in sums)
            want = tuple(0 if pd.isna(getattr(row, f"{c}_true")) else int(getattr(row, f"{c}_true")) for c in sums)
            if got != want:
                where = ", ".join(str(getattr(row, k)) for k in keys)
                stored_text = ", ".join(f"{c} {v}" for c, v in zip(sums, got))
                counted_text = ", ".join(f"{c} {v}" for c, v in zip(sums, want))
                problems.append(f"{model.__tablename__} ({where}): stored {stored_text}; counted {counted_text}")
    return problems + _view_differences(session) + _search_differences(session)


def _view_differences(session: Session) -> list[str]:
    """Where ``view_wedge``, ``view_tile`` and ``area_view``'s pixels differ from the register's
    counted cameras read now (every camera at once, tiles counted from them all)."""
    sites = read_site_range(session, 0, top_site(session) + 1)
    wedges, tiles = area_summaries.stored_view(session)
    true_wedges = area_summaries.wedge_tiles(sites).sort_values(["tile", "camera_id"]).reset_index(drop=True)
    true_tiles = area_summaries.tile_pixels(sites)
    problems = []
    if not wedges.equals(true_wedges.astype("int64")):
        problems.append(f"view_wedge: {len(wedges)} rows stored, {len(true_wedges)} counted, or they differ")
    both = tiles.merge(true_tiles, on=area_summaries.TILE_KEY, how="outer", suffixes=("_stored", "_true")).fillna(0)
    for row in both[both["pixels_stored"] != both["pixels_true"]].head(20).itertuples(index=False):
        problems.append(
            f"view_tile ({row.tile}, {row.level}, {row.code}): stored {int(row.pixels_stored)}; counted {int(row.pixels_true)}"
        )
    t = AreaView.__table__
    stored = pd.DataFrame(
        [tuple(r) for r in session.execute(sa.select(t.c.level, t.c.code, t.c.pixels).where(t.c.pixels != 0)).all()],
        columns=[*area_summaries.VIEW_KEY, "pixels"],
    )
    summed = true_tiles.groupby(area_summaries.VIEW_KEY, as_index=False)["pixels"].sum()
    sums = stored.merge(summed, on=area_summaries.VIEW_KEY, how="outer", suffixes=("_stored", "_true")).fillna(0)
    for row in sums[sums["pixels_stored"] != sums["pixels_true"]].head(20).itertuples(index=False):
        problems.append(
            f"area_view ({row.level}, {row.code}): pixels stored {int(row.pixels_stored)}; counted {int(row.pixels_true)}"
        )
    return problems


def _stored(
    session: Session, model, keys: list[str], sums: list[str], where: Sequence[sa.ColumnElement[bool]] = ()
) -> pd.DataFrame:
    """The model's non-zero rows (``where`` them), in primary-key order, raw key sums."""
    table = model.__table__
    rows = session.execute(
        sa.select(*(table.c[c] for c in keys + sums)).where(*where).order_by(*(table.c[k] for k in keys))
    ).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=keys + sums).astype(dict.fromkeys(sums, "int64"))
    for key in ("res", "radius", "crime_id"):
        if key in keys:
            frame[key] = frame[key].astype("int64")
    return frame[(frame[sums] != 0).any(axis=1)].reset_index(drop=True)


# --------------------------------------------------------------------------- reading


def version(session: Session) -> int:
    """The register's version (one primary-key read)."""
    return int(session.execute(sa.select(RegisterState.version).where(RegisterState.id == 1)).scalar_one())


def stored_cells(session: Session) -> pd.DataFrame:
    """Every non-zero ``coverage_cell`` row as stored (raw key sums)."""
    return _stored(session, CoverageCell, CELL_KEY, CELL_SUMS)


def stored_counts(session: Session) -> pd.DataFrame:
    """Every non-zero ``register_count`` row as stored (raw key sums)."""
    return _stored(session, RegisterCount, COUNT_KEY, COUNT_SUMS)


def uptake_days(session: Session) -> pd.DataFrame:
    """Every non-zero ``uptake_day`` row (``DAY_KEY + COUNT_SUMS``, raw key sums), in key order."""
    return _stored(session, UptakeDay, DAY_KEY, COUNT_SUMS)


def register_mix(session: Session) -> pd.DataFrame:
    """Every non-zero ``register_mix`` row (``MIX_KEY + COUNT_SUMS``, raw key sums), in key order."""
    return _stored(session, RegisterMix, MIX_KEY, COUNT_SUMS)


def area_counts(session: Session, level: str) -> pd.DataFrame:
    """Active registrations and their active cameras per district or small area (LSOA), with the
    cell keys of each: columns ``AREA_COUNT_COLUMNS`` (keys 0..255; areas without a registration
    are absent), in code order."""
    if level not in ("district", "lsoa"):
        raise ValueError(f"unknown area level {level!r}; use 'district' or 'lsoa'")
    t = RegisterCount.__table__
    rows = _stored(session, RegisterCount, COUNT_KEY, COUNT_SUMS, [t.c.kind == level, t.c.registrations > 0])
    frame = rows.rename(columns={"code": "area_code"})[AREA_COUNT_COLUMNS].reset_index(drop=True)
    for c in ("registrations_key", "cameras_key"):
        frame[c] = frame[c] % KEY_RANGE
    return frame


def registered_before(session: Session, day: dt.date) -> tuple[int, int]:
    """Active registrations made before the UK day ``day`` and the sum of their keys (raw)."""
    t = RegisterCount.__table__
    count, key = session.execute(
        sa.select(sa.func.sum(t.c.registrations), sa.func.sum(t.c.registrations_key)).where(
            t.c.kind == "consent_day", t.c.code < day.isoformat()
        )
    ).one()
    return int(count or 0), int(key or 0)


def _check(resolution: int, choice: str) -> None:
    if resolution not in H3_RESOLUTIONS:
        raise ValueError(f"H3 resolution {resolution} is not one of the stored grids {H3_RESOLUTIONS}")
    if choice not in CAMERA_FILTERS:
        raise ValueError(f"unknown camera choice {choice!r}")


def cells_from(rows: pd.DataFrame, resolution: int, choice: str) -> pd.DataFrame:
    """One grid and camera choice of summary rows (``CELL_KEY + CELL_SUMS``, raw key sums) as the
    coverage layer takes them: columns ``BY_CELL_COLUMNS`` (cell, registrations,
    registrations_key, cameras, cameras_key, registrations_left_out; keys ``% 256``), the cells with a
    camera the choice keeps, in code order."""
    _check(resolution, choice)
    picked = rows[(rows["res"] == resolution) & (rows["choice"] == choice) & (rows["cameras"] > 0)]
    frame = picked.sort_values("cell").rename(columns={"left_out": "registrations_left_out"})[BY_CELL_COLUMNS]
    frame = frame.astype({c: "int64" for c in BY_CELL_COLUMNS if c != "cell"}).reset_index(drop=True)
    frame["registrations_key"] %= KEY_RANGE
    frame["cameras_key"] %= KEY_RANGE
    return frame


def cells(session: Session, resolution: int, choice: str) -> pd.DataFrame:
    """The active register's counts per cell for one grid and camera choice, with their cell keys
    (:func:`cells_from`'s columns), read from ``coverage_cell``: one primary-key range."""
    _check(resolution, choice)
    t = CoverageCell.__table__
    where = [t.c.res == resolution, t.c.choice == choice, t.c.cameras > 0]
    return cells_from(_stored(session, CoverageCell, CELL_KEY, CELL_SUMS, where), resolution, choice)
