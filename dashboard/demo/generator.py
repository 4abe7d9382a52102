"""Deterministic demo registry: a pilot that looks like the real thing, with no real people.

``generate_demo`` fills an empty registry with synthetic registrations, sites, cameras,
campaign funnel counts, footage requests and their case files, one demo user per role and the
audit log of it all (``dashboard.demo.audit_history``: registrations, logins, casework). Given an
evidence folder, owners also answer the demo officer's latest cases with real footage files,
stored and probed as uploads are, some already triaged (``dashboard.demo.evidence``). The same ``seed``,
``registrations`` and dates always give the same rows (apart from the argon2 password
hashes of the demo users, which ``create_user`` salts randomly by design): every random draw
comes from ``numpy.random.Generator(PCG64(seed))`` and nothing reads the clock.

Writing is one transaction: either the whole demo registry is there or none of it. Columns
are built with numpy and inserted in bulk (see ``dashboard.demo.writer``), so about a
million cameras take well under three minutes on SQLite; on PostgreSQL the rows go by COPY
and the large tables' secondary indexes and foreign keys are made after them
(``writer.bulk_load``), the same rows either way.

``replace=True`` wipes the registry first by running the Alembic migrations down to the
empty schema and up again (see :func:`reset_registry`): the audit log is append-only by
database trigger, so deleting its rows is impossible by design, and dropping every table
through the migrations' own downgrade is the one clean way that works on SQLite and
PostgreSQL alike. It also deletes users, API tokens and the audit log: demo use only. Files
an earlier demo put in the evidence folder are left there (a rebuild with the same seed writes
the same bytes under the same names again).

Examples
--------
>>> engine = make_engine("sqlite:///demo.db")  # doctest: +SKIP
>>> ref = cached_reference(Path("data/reference/staffordshire"), Path("data/reference_manifest.toml"))  # doctest: +SKIP
>>> generate_demo(engine, ref, seed=2026, registrations=24_000, as_of=dt.date(2026, 11, 29),
...               pilot_start=dt.date(2026, 4, 13), public_launch=dt.date(2026, 7, 6))  # doctest: +SKIP
DemoSummary(registrations=24000, active=..., ...)
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from dashboard.config import Settings
from dashboard.demo import audit_history, evidence, footage, people, places, story
from dashboard.demo import cameras as cam
from dashboard.demo.writer import advance_id_sequences, bulk_load, insert_columns
from dashboard.footage.storage import Store
from dashboard.registry import area_summaries, summaries
from dashboard.registry.database import alembic_config, migrate
from dashboard.registry.models import (
    AuditEvent,
    Base,
    Camera,
    Campaign,
    CampaignDailyCount,
    CaseFile,
    EvidenceFile,
    FootageRequest,
    FootageRequestEvent,
    FootageResponse,
    Registrant,
    RetiredKey,
    Site,
    User,
)
from dashboard.registry.public_ids import CAMERA_PREFIX, REQUEST_PREFIX
from dashboard.registry.public_ids import LENGTH as PUBLIC_LENGTH
from dashboard.security.accounts import create_user
from dashboard.security.passwords import verify_password

# One demo account per role, plus a second officer. The passwords are public (they are in
# the source): never run a demo registry where real people's data could be entered.
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("officer.demo", "officer", "demo-officer-2026"),
    ("officer2.demo", "officer", "demo-officer2-2026"),
    ("analyst.demo", "analyst", "demo-analyst-2026"),
    ("lead.demo", "lead", "demo-lead-2026"),
    ("auditor.demo", "auditor", "demo-auditor-2026"),
    ("admin.demo", "admin", "demo-admin-2026"),
)
MIN_REGISTRATIONS = 10
MAX_REGISTRATIONS = 7_000_000  # about 11M cameras: the 10M-camera scale benchmark (issue 19)
SITE_KIND_P = {"home": 0.88, "business": 0.09, "other": 0.03}
DEMO_USERS_CREATED_DAYS_BEFORE_PILOT = 14
SQLITE_MAX_LOAD_CACHE_KIB = 1024 * 1024

# The large tables of a demo: on PostgreSQL their secondary indexes and foreign keys are made
# after the rows are in (``writer.bulk_load``).
_BULK_TABLES = (Registrant.__table__, Site.__table__, Camera.__table__, AuditEvent.__table__)

# Tables whose rows make a registry "not empty" (users, tokens and the audit log do not:
# an administrator may have been created before any demo data).
_DATA_TABLES = (
    Registrant.__table__,
    Site.__table__,
    Camera.__table__,
    Campaign.__table__,
    CampaignDailyCount.__table__,
    FootageRequest.__table__,
    FootageRequestEvent.__table__,
    FootageResponse.__table__,
    EvidenceFile.__table__,
    CaseFile.__table__,
    RetiredKey.__table__,
)


class DemoError(ValueError):
    """Demo data cannot be generated as asked; the message is one line saying why."""


@dataclass(frozen=True)
class DemoSummary:
    """What ``generate_demo`` wrote, and how long it took (seconds, not part of the data)."""

    registrations: int
    active: int
    withdrawn: int
    sites: int
    cameras: int
    campaigns: int
    footage_requests: int
    users: int
    audit_events: int
    seconds: float
    case_files: int = 0
    owner_answers: int = 0  # answers with footage (only with an evidence folder)
    evidence_files: int = 0


# --------------------------------------------------------------------------- registry state


def registry_is_empty(engine: Engine) -> bool:
    """True when the registry holds no registrations, sites, cameras, campaigns or footage
    requests (or has no schema yet). Users and the audit log are not counted."""
    inspector = sa.inspect(engine)
    existing = set(inspector.get_table_names())
    with engine.connect() as conn:
        for table in _DATA_TABLES:
            if table.name in existing and conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
                return False
    return True


def real_accounts(engine: Engine) -> list[str]:
    """Usernames of the accounts that are not demo accounts, sorted: any account whose name and
    role are not a demo user's, or whose password is no longer the published demo password (an
    account someone took over is treated as real). Empty when there is no schema yet."""
    if "app_user" not in set(sa.inspect(engine).get_table_names()):
        return []
    demo = {username: (role, password) for username, role, password in DEMO_USERS}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(User.username, User.role, User.password_hash).order_by(User.username)).all()
    return [
        name
        for name, role, digest in rows
        if name not in demo or demo[name][0] != role or not verify_password(digest, demo[name][1])
    ]


def demo_accounts_present(engine: Engine) -> bool:
    """True when at least one demo account exists (the database was built by the demo)."""
    if "app_user" not in set(sa.inspect(engine).get_table_names()):
        return False
    with engine.connect() as conn:
        return (
            conn.execute(
                sa.select(sa.literal(1))
                .select_from(User.__table__)
                .where(User.username.in_([u for u, _, _ in DEMO_USERS]))
                .limit(1)
            ).first()
            is not None
        )


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def reset_registry(engine: Engine) -> None:
    """Drop every registry table through the migrations (``alembic downgrade base``, which also
    removes the audit log's append-only triggers and, on PostgreSQL, its trigger function and
    the PostGIS column), then build the schema again (``migrate``).

    Destroys all data, including users, API tokens and the audit log.
    """
    command.downgrade(alembic_config(engine), "base")
    Base.metadata.drop_all(engine)  # anything a downgrade left behind (normally nothing)
    migrate(engine)


# --------------------------------------------------------------------------- checks


def _check_arguments(
    seed: int, registrations: int, as_of: dt.date, pilot_start: dt.date, public_launch: dt.date
) -> story.Phases:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise DemoError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(registrations, (int, np.integer)) or isinstance(registrations, bool):
        raise DemoError(f"registrations must be an integer, got {registrations!r}")
    if not MIN_REGISTRATIONS <= registrations <= MAX_REGISTRATIONS:
        raise DemoError(
            f"registrations must be between {MIN_REGISTRATIONS} and {MAX_REGISTRATIONS:,}, got {registrations:,}"
        )
    for name, value in (("as_of", as_of), ("pilot_start", pilot_start), ("public_launch", public_launch)):
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise DemoError(f"{name} must be a datetime.date, got {value!r}")
    try:
        return story.plan_phases(pilot_start, public_launch, as_of)
    except ValueError as exc:
        raise DemoError(str(exc)) from None


# --------------------------------------------------------------------------- building


def _at_local(day: dt.date, hour: int) -> np.datetime64:
    """Naive UTC instant of ``hour``:00 UK local time on ``day``."""
    local = np.array([np.datetime64(day, "D") + np.timedelta64(hour, "h")], dtype="datetime64[us]")
    return story.local_to_utc(local)[0]


def _at_utc(instant: np.datetime64) -> dt.datetime:
    """A naive UTC instant of the demo's clock as an aware datetime."""
    return pd.Timestamp(instant).tz_localize("UTC").to_pydatetime()


def _registrant_columns(rng: np.random.Generator, timeline: story.Timeline) -> dict[str, object]:
    n = len(timeline.consent_at)
    contacts = people.synthetic_contacts(rng, n)
    references = people.unique_references(rng, n)
    tokens = people.token_digests(rng, n)
    gone = timeline.withdrawn.tolist()

    def erase(values: list) -> list:
        return [None if w else v for v, w in zip(values, gone)]

    return {
        "id": np.arange(1, n + 1),
        "reference": references,
        "name": erase(contacts.name),
        "email": erase(contacts.email),
        "phone": erase(contacts.phone),
        "preferred_channel": erase(contacts.preferred_channel),
        "consent_at": timeline.consent_at,
        "status": np.where(timeline.withdrawn, "withdrawn", "active").tolist(),
        "last_confirmed_at": timeline.last_confirmed_at,
        "withdrawn_at": timeline.withdrawn_at,
        "end_reason": ["owner" if w else None for w in gone],  # demo owners withdraw from their link
        "management_token_hash": erase(tokens),
        "created_at": timeline.consent_at,
        "updated_at": timeline.updated_at,
    }


def _site_columns(site_kind: np.ndarray, where: places.SitePlaces, timeline: story.Timeline) -> dict[str, object]:
    n = len(site_kind)
    gone = timeline.withdrawn
    gone_list = gone.tolist()

    def erase(values: list) -> list:
        return [None if w else v for v, w in zip(values, gone_list)]

    def erase_float(values: np.ndarray) -> np.ndarray:
        return np.where(gone, np.nan, values)

    return {
        "id": np.arange(1, n + 1),
        "registrant_id": np.arange(1, n + 1),
        "kind": site_kind.tolist(),
        "address": erase(where.address),
        "postcode": erase(where.postcode),
        "lat": erase_float(where.lat),
        "lon": erase_float(where.lon),
        "easting_m": erase_float(where.easting_m),
        "northing_m": erase_float(where.northing_m),
        "district_code": where.district_code,
        "lsoa_code": where.lsoa_code,
        "h3_r7": where.h3_r7,
        "h3_r8": where.h3_r8,
        "h3_r9": where.h3_r9,
        "created_at": timeline.consent_at,
        "updated_at": timeline.updated_at,
    }


def _camera_columns(cams: cam.CameraColumns, timeline: story.Timeline) -> dict[str, object]:
    s = cams.site_index
    return {
        "id": np.arange(1, len(s) + 1),
        "site_id": s + 1,
        "kind": cams.kind.tolist(),
        "mount": cams.mount,
        "placement": cams.placement.tolist(),
        "direction_deg": cams.direction_deg,
        "fov_angle_deg": cams.fov_angle_deg,
        "fov_range_m": cams.fov_range_m,
        "recording_mode": cams.recording_mode.tolist(),
        "retention_days": cams.retention_days,
        "overlooks": cams.overlooks,
        "active": ~timeline.withdrawn[s],
        "created_at": timeline.consent_at[s],
        "updated_at": timeline.updated_at[s],
    }


def _campaign_columns(phases: story.Phases) -> dict[str, object]:
    created = []
    for spec in story.CAMPAIGNS:
        origin = phases.pilot_start if spec.phase == "pilot" else phases.public_launch
        created.append(_at_local(origin + dt.timedelta(days=spec.start_day - 1), 10))
    return {
        "id": np.arange(1, len(story.CAMPAIGNS) + 1),
        "slug": [c.slug for c in story.CAMPAIGNS],
        "name": [c.name for c in story.CAMPAIGNS],
        "channel": [c.channel for c in story.CAMPAIGNS],
        "created_at": np.array(created, dtype="datetime64[us]"),
    }


def _daily_columns(counts: pd.DataFrame) -> dict[str, object]:
    return {
        "campaign_id": counts["campaign_index"].to_numpy() + 1,
        "day": counts["day"].to_numpy().astype("datetime64[D]"),
        "scans": counts["scans"].to_numpy(),
        "form_starts": counts["form_starts"].to_numpy(),
        "completions": counts["completions"].to_numpy(),
    }


def _request_columns(req: pd.DataFrame) -> dict[str, object]:
    return {
        "id": np.arange(1, len(req) + 1),
        "case_ref": req["case_ref"].tolist(),
        "camera_id": req["camera_index"].to_numpy(np.int64) + 1,
        "requested_by_id": req["requested_by_id"].to_numpy(np.int64),
        "incident_lat": req["incident_lat"].to_numpy(float),
        "incident_lon": req["incident_lon"].to_numpy(float),
        "incident_district_code": req["incident_district_code"].tolist(),
        "crime_category": req["crime_category"].tolist(),
        "incident_from": req["incident_from"].to_numpy().astype("datetime64[us]"),
        "incident_to": req["incident_to"].to_numpy().astype("datetime64[us]"),
        "status": req["status"].tolist(),
        "sent_at": req["sent_at"].to_numpy().astype("datetime64[us]"),
        "status_changed_at": req["status_changed_at"].to_numpy().astype("datetime64[us]"),
        "footage_likely_overwritten": req["footage_likely_overwritten"].to_numpy(bool),
        "footage_useful": req["footage_useful"].array,
        "response_id": req["response_id"].array if "response_id" in req else pd.array([pd.NA] * len(req), "Int64"),
    }


def _event_columns(events: pd.DataFrame) -> dict[str, object]:
    return {
        "id": np.arange(1, len(events) + 1),
        "request_id": events["request_index"].to_numpy(np.int64) + 1,
        "status": events["status"].tolist(),
        "at": events["at"].to_numpy().astype("datetime64[us]"),
        "by_user_id": pd.array(events["by_user_id"], dtype="Int64"),  # NA: the owner, through their link
        "note": events["note"].tolist(),
    }


@dataclass(frozen=True)
class _Keys:
    registrants: list  # None where erased (withdrawn)
    cameras: np.ndarray
    requests: np.ndarray
    completions: np.ndarray  # per campaign day: the sum (mod 256) of a key per completion
    retired: dict[str, list]  # RetiredKey columns: the withdrawn registrations' keys, summed per day and district


def _record_keys(
    rng: np.random.Generator,
    timeline: story.Timeline,
    where: places.SitePlaces,
    n_cameras: int,
    n_requests: int,
    daily: pd.DataFrame,
) -> _Keys:
    """Random record keys for the disclosure-control layer, as the app draws them when rows are
    stored; a withdrawn registration's key is already folded into its days' anonymous sums, as an
    erasure does (``dashboard.registry.record_keys``)."""
    n = len(timeline.consent_at)
    registrants = rng.integers(0, 256, n)
    cameras = rng.integers(0, 256, n_cameras)
    requests = rng.integers(0, 256, n_requests)
    completions = np.where(daily["completions"].to_numpy() > 0, rng.integers(0, 256, len(daily)), 0)
    gone = timeline.withdrawn
    district = np.asarray(where.district_code, dtype=object)
    parts = [
        pd.DataFrame(
            {
                "series": "registered",
                "day": story.utc_to_local_day(timeline.consent_at[gone]),
                "district_code": district[gone],
                "key_sum": registrants[gone],
            }
        ),
        pd.DataFrame(
            {
                "series": "withdrawn",
                "day": story.utc_to_local_day(timeline.withdrawn_at[gone]),
                "district_code": district[gone],
                "key_sum": registrants[gone],
            }
        ),
    ]
    retired = pd.concat(parts).groupby(["series", "day", "district_code"], as_index=False)["key_sum"].sum()
    retired["key_sum"] %= 256
    return _Keys(
        registrants=[None if w else int(k) for k, w in zip(registrants.tolist(), gone.tolist())],
        cameras=cameras,
        requests=requests,
        completions=completions,
        retired={
            "series": retired["series"].tolist(),
            "day": retired["day"].to_numpy().astype("datetime64[D]"),
            "district_code": retired["district_code"].tolist(),
            "key_sum": retired["key_sum"].to_numpy(),
        },
    )


def _demo_users(conn: Connection, created_at: dt.datetime) -> tuple[dict[str, int], list[str]]:
    """Create the demo users (those not there already) with ``create_user``; return all their
    ids by username, and the usernames created now. Runs in the caller's transaction."""
    ids: dict[str, int] = {}
    created: list[str] = []
    with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
        for username, role, password in DEMO_USERS:
            user = session.scalar(sa.select(User).where(User.username == username))
            if user is None:
                user = create_user(session, username, password, role)
                user.created_at = created_at
                created.append(username)
            ids[username] = user.id
        session.commit()
    return ids, created


def _audit_history(
    conn: Connection,
    rng: np.random.Generator,
    phases: story.Phases,
    user_ids: dict[str, int],
    created: list[str],
    users_created: np.datetime64,
    timeline: story.Timeline,
    where: places.SitePlaces,
    cams: cam.CameraColumns,
    req: pd.DataFrame,
    events: pd.DataFrame,
    evidence_rows: list[tuple],
) -> int:
    """Write the demo's audit log (``audit_history``) and, for the demo users created now, their last
    login in it; return the number of rows written."""
    users = tuple(
        audit_history.DemoUser(int(i), name, role)
        for i, name, role in conn.execute(
            sa.select(User.id, User.username, User.role).where(User.id.in_(list(user_ids.values()))).order_by(User.id)
        )
    )
    rows = audit_history.build_history(
        rng,
        audit_history.HistoryInput(
            phases=phases,
            users=users,
            new_users=tuple(created),
            users_created_at=users_created,
            consent_at=timeline.consent_at,
            withdrawn_at=timeline.withdrawn_at,
            last_confirmed_at=timeline.last_confirmed_at,
            easting_m=where.easting_m,
            northing_m=where.northing_m,
            camera_site=cams.site_index,
            campaign_created_at=_campaign_columns(phases)["created_at"],
            requests=req,
            events=events,
            evidence_rows=tuple(evidence_rows),
        ),
    )
    new_ids = {user_ids[name] for name in created}
    for user_id, at in sorted(rows.last_login.items()):
        if user_id not in new_ids:
            continue
        when = pd.Timestamp(at).tz_localize("UTC").to_pydatetime()
        conn.execute(sa.update(User).where(User.id == user_id).values(last_login_at=when))
    return audit_history.write_history(conn, rows)


# --------------------------------------------------------------------------- entry point


def generate_demo(
    engine: Engine,
    ref,
    *,
    seed: int,
    registrations: int,
    as_of: dt.date,
    pilot_start: dt.date,
    public_launch: dt.date,
    replace: bool = False,
    evidence_dir: Path | str | None = None,
    exhibit_ref_format: str = Settings.exhibit_ref_format,
    response_link_days: int = Settings.response_link_days,
) -> DemoSummary:
    """Fill the registry with a deterministic synthetic pilot.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Registry database (SQLite or PostgreSQL); migrated to the newest schema first.
    ref : ReferenceGeography
        Reference layers of the force (``dashboard.geo.reference``).
    seed : int
        Seed of the only random generator used (``numpy.random.PCG64``).
    registrations : int
        Number of registrants to create (about 1.6 cameras each).
    as_of : datetime.date
        "Today" of the demo: every time written lies strictly before local midnight
        starting this day.
    pilot_start, public_launch : datetime.date
        Start of the six-week internal staff pilot and of the public launch.
    replace : bool
        Wipe an existing registry first (see :func:`reset_registry`); without it a registry
        that already holds registry data is refused.
    evidence_dir : path, optional
        The evidence store (``EVIDENCE_DIR``). Given, the demo officer's latest cases get owners'
        answers with real footage files stored there (``dashboard.demo.evidence``); without it,
        no owner answers through a link.
    exhibit_ref_format, response_link_days : optional
        The force's exhibit reference format and how long an owner's link lasts (settings).

    Returns
    -------
    DemoSummary

    Raises
    ------
    DemoError
        Bad arguments, or the registry is not empty and ``replace`` is False.
    """
    started = time.perf_counter()
    phases = _check_arguments(seed, registrations, as_of, pilot_start, public_launch)
    migrate(engine)
    if not registry_is_empty(engine):
        if not replace:
            held = _count(engine, Registrant.__table__)
            raise DemoError(
                f"the registry at {engine.url.render_as_string(hide_password=True)} already holds data "
                f"({held:,} registrations); demo data is only written into an empty registry - pass "
                "replace=True to wipe it (users and audit log included) and start again"
            )
        reset_registry(engine)

    root = np.random.Generator(np.random.PCG64(seed))
    # An eighth stream for the record keys, so the other seven (and every demo before keys) are unchanged.
    rng_story, rng_people, rng_places, rng_cameras, rng_campaigns, rng_requests, rng_audit, rng_keys = root.spawn(8)
    # A ninth for the random public ids of cameras and requests (the first eight are unchanged).
    (rng_public,) = root.spawn(1)
    # A tenth for the case files' ids, an eleventh for the owners' answers and their footage.
    (rng_cases,) = root.spawn(1)
    (rng_evidence,) = root.spawn(1)

    timeline = story.build_timeline(rng_story, registrations, phases)
    kinds = np.asarray(list(SITE_KIND_P), dtype=object)
    p = np.array(list(SITE_KIND_P.values()))
    site_kind = kinds[rng_places.choice(len(kinds), size=registrations, p=p / p.sum())]
    where = places.place_sites(rng_places, ref, site_kind)
    cams = cam.build_cameras(rng_cameras, site_kind)
    daily = story.campaign_daily_counts(rng_campaigns, phases, timeline.consent_at)
    registrant_cols = _registrant_columns(rng_people, timeline)

    users_created = _at_local(pilot_start - dt.timedelta(days=DEMO_USERS_CREATED_DAYS_BEFORE_PILOT), 9)
    users_created_at = pd.Timestamp(users_created).tz_localize("UTC").to_pydatetime()

    with engine.begin() as conn:
        user_ids, created = _demo_users(conn, users_created_at)
        officers = [user_ids[u] for u, role, _ in DEMO_USERS if role == "officer"]
        retention = np.array([np.nan if v is None else v for v in cams.retention_days], dtype=float)
        req, events = footage.build_requests(
            rng_requests,
            ref,
            phases,
            footage.SiteFacts(
                easting_m=where.easting_m,
                northing_m=where.northing_m,
                district_code=np.asarray(where.district_code, dtype=object),
                consent_at=timeline.consent_at,
                active=~timeline.withdrawn,
            ),
            footage.CameraFacts(site_index=cams.site_index, retention_days=retention),
            officers,
            registrations,
        )
        cases = evidence.case_files(rng_cases, req)
        answers: list[evidence.PlannedAnswer] = []
        officer_id = user_ids[evidence.DEMO_OFFICER]
        if evidence_dir is not None:
            answers = evidence.plan_answers(
                rng_evidence,
                req,
                officer_id=officer_id,
                camera_site=cams.site_index,
                camera_kind=cams.kind,
                withdrawn=timeline.withdrawn,
                names=registrant_cols["name"],
                end=phases.end_utc,
                link_days=response_link_days,
            )
            evidence.assign_exhibits(answers, evidence.DEMO_OFFICER, exhibit_ref_format)
            evidence.store_files(answers, Store(evidence_dir))
        req, events = evidence.owner_answered(req, events, answers)
        summaries.search_triggers(conn, enabled=False)  # the search's rows are written once, after the load
        with _sqlite_load_cache(conn, _load_cache_kib(registrations)), bulk_load(conn, _BULK_TABLES):
            keys = _record_keys(rng_keys, timeline, where, len(cams.site_index), len(req), daily)
            insert_columns(conn, Registrant.__table__, {**registrant_cols, "record_key": keys.registrants})
            insert_columns(conn, Site.__table__, _site_columns(site_kind, where, timeline))
            n_cameras = insert_columns(
                conn,
                Camera.__table__,
                {
                    **_camera_columns(cams, timeline),
                    "record_key": keys.cameras,
                    "public_id": people.unique_codes(rng_public, len(cams.site_index), CAMERA_PREFIX, PUBLIC_LENGTH),
                },
            )
            insert_columns(conn, Campaign.__table__, _campaign_columns(phases))
            insert_columns(
                conn, CampaignDailyCount.__table__, {**_daily_columns(daily), "completion_keys": keys.completions}
            )
            insert_columns(conn, RetiredKey.__table__, keys.retired)
            if answers:
                conn.execute(FootageResponse.__table__.insert(), evidence.response_rows(answers, officer_id))
            n_requests = insert_columns(
                conn,
                FootageRequest.__table__,
                {
                    **_request_columns(req),
                    "record_key": keys.requests,
                    "public_id": people.unique_codes(rng_public, len(req), REQUEST_PREFIX, PUBLIC_LENGTH),
                },
            )
            insert_columns(conn, FootageRequestEvent.__table__, _event_columns(events))
            if answers:
                conn.execute(EvidenceFile.__table__.insert(), evidence.file_rows(answers, officer_id))
            n_cases = insert_columns(conn, CaseFile.__table__, cases.columns) if cases.columns else 0
            advance_id_sequences(
                conn,
                [
                    Registrant.__table__,
                    Site.__table__,
                    Camera.__table__,
                    Campaign.__table__,
                    FootageRequest.__table__,
                    FootageRequestEvent.__table__,
                    FootageResponse.__table__,
                    EvidenceFile.__table__,
                    CaseFile.__table__,
                ],
            )
            n_audit = _audit_history(
                conn,
                rng_audit,
                phases,
                user_ids,
                created,
                users_created,
                timeline,
                where,
                cams,
                req,
                events,
                evidence.audit_rows(answers, officer_id, cases),
            )

        # The register's summary counts, from what was just loaded (the load skipped the per-write upkeep).
        summaries.search_triggers(conn, enabled=True)
        with Session(bind=conn) as session:
            area_summaries.place_postcodes(session, ref)  # the area table's postcodes, counted in the rebuild
            summaries.rebuild(session, at=_at_utc(phases.end_utc - np.timedelta64(1, "s")))
            session.flush()

    withdrawn = int(timeline.withdrawn.sum())
    return DemoSummary(
        registrations=registrations,
        active=registrations - withdrawn,
        withdrawn=withdrawn,
        sites=registrations,
        cameras=n_cameras,
        campaigns=len(story.CAMPAIGNS),
        footage_requests=n_requests,
        users=len(user_ids),
        audit_events=n_audit,
        seconds=round(time.perf_counter() - started, 3),
        case_files=n_cases,
        owner_answers=len(answers),
        evidence_files=sum(len(a.files) for a in answers),
    )


def _load_cache_kib(registrations: int) -> int:
    """SQLite page cache for the load: about the size of the database being written
    (~1.2 KiB per registration), between 64 MiB and 1 GiB, so index pages stay in memory."""
    return int(min(SQLITE_MAX_LOAD_CACHE_KIB, max(64 * 1024, 1.2 * registrations)))


@contextmanager
def _sqlite_load_cache(conn: Connection, cache_kib: int) -> Iterator[None]:
    """A larger SQLite page cache on this connection while loading (index pages stay in
    memory), restored afterwards, which releases the memory. No-op on other databases."""
    if conn.dialect.name != "sqlite":
        yield
        return
    previous = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = {-int(cache_kib)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")
