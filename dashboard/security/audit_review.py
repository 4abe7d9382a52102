"""Reading the audit log for review: checked filters, a page of rows with the total, activity per
user, searches per area and the CSV export of a period. No Dash here.

Dates are UK calendar days (Europe/London): a period from 2026-03-29 to 2026-03-29 covers the 23
hours of that day. The area filter places each logged search by its centre (``detail.centre``)
in the reference geography; other actions carry no place, so with an area chosen only searches
match. A search is placed once (``SearchPlaces``): the log is append-only.

>>> f = parse_filter({"from": "2026-11-01", "to": "2026-11-30", "case": "cr-2026-0001"}, ref)  # doctest: +SKIP
>>> page = log_page(s, f, places)  # doctest: +SKIP
>>> page.total, len(page.rows) <= PAGE_SIZE  # doctest: +SKIP
(3, True)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.uktime import UK
from dashboard.core.vocab import ROLES
from dashboard.geo.reference import ReferenceGeography
from dashboard.registry import public_ids
from dashboard.registry.casework import csv_safe
from dashboard.registry.models import AuditEvent, User
from dashboard.security.aggregate_queries import ACTIONS as AGGREGATE_ACTIONS
from dashboard.security.aggregate_queries import describe_query
from dashboard.security.search_places import SearchPlaces, search_facts

PAGE_SIZE = 100
MAX_ACTIONS = 40
NO_ROLE = "none"  # events with no role: the public (registrants), the system, failed logins
AREA_LEVELS = {"district": "District", "lsoa": "Small area (LSOA)"}
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Plain-English names of the actions written today; any other action is shown as it is.
ACTION_LABELS = {
    "search": "Camera search",
    "reveal_contact": "Owner contact details shown",
    "request_created": "Footage request sent",
    "request_status": "Footage request status changed",
    "export": "Case contacts exported (CSV)",
    "search_refused": "Camera search refused",
    "reveal_refused": "Owner contact details refused",
    "request_refused": "Footage request refused",
    "export_refused": "Case export refused",
    "audit_export": "Audit log exported (CSV)",
    "audit_verified": "Audit log integrity checked",
    "login": "Logged in",
    "login_failed": "Failed login",
    "login_throttled": "Login refused (too many failures)",
    "logout": "Logged out",
    "registration_created": "Registration created",
    "registration_updated": "Registration changed",
    "registration_withdrawn": "Registration withdrawn",
    "registration_reconfirmed": "Registration confirmed",
    "registration_erased": "Registration erased",
    "erasure_lookup": "Registrations found for erasure (by email and postcode)",
    "management_link_resent": "Owner's link sent again",
    "management_link_requested": "New owner's link asked for (Lost your link?)",
    "response_opened": "Owner opened a footage request",
    "response_answered": "Owner answered a footage request",
    "response_link_reissued": "Owner asked for a new response link",
    "retention_flagged": "Registration due for erasure",
    "campaign_created": "Campaign created",
    "crimes_imported": "Crime data imported",
    "user_created": "User created",
    "user_disabled": "User disabled",
    "user_enabled": "User enabled",
    "role_changed": "Role changed",
    "password_reset": "Password reset",
    "token_issued": "API token issued",
    "token_refused": "API token refused (wrong password)",
    "token_revoked": "API token revoked",
    "aggregate_query": "Figures asked for",
    "aggregate_export": "Figures exported",
    # Delivery of footage requests to owners (issue 16): written by the system's outbox, never with the address.
    "message_sent": "Message to owner sent",
    "message_retry": "Message to owner not sent yet (will retry)",
    "message_failed": "Message to owner failed",
    "message_cancelled": "Message to owner cancelled",
    "preservation_requested": "Urgent 'keep your footage' notice asked for",
    "footage_uploaded": "Footage received from an owner",
    "footage_refused": "Owner's upload refused",
    "footage_removed": "Owner removed an upload",
    "footage_abandoned": "Unfinished upload deleted (link closed)",
    # Evidence triage and hand-off (issue 17).
    "evidence_accepted": "Footage accepted as an exhibit",
    "evidence_declined": "Footage declined",
    "evidence_viewed": "Footage played or viewed",
    "evidence_downloaded": "Footage downloaded",
    "evidence_exported": "Evidence bundle exported",
    "evidence_refused": "Access to evidence refused",
    "case_team_added": "Officer added to a case's team",
    "case_team_removed": "Officer removed from a case's team",
    "case_closed": "Case closed",
    "case_reopened": "Case reopened",
    # Integrity of the evidence store (issue 17): hashes and public file ids, never content.
    "evidence_checked": "Stored evidence integrity checked",
    "evidence_integrity_failed": "Evidence file no longer matches its hash (hand-off stopped)",
    "evidence_deleted": "Footage deleted under the retention rules",
    "evidence_statement_erased": "Owner's statement erased under the retention rules",
}
# What the per-user summary counts.
SUMMARY_COUNTS = {
    "searches": ("search",),
    "reveals": ("reveal_contact",),
    "exports": ("export", "audit_export"),
    "requests_created": ("request_created",),
    "status_changes": ("request_status",),
    "failed_logins": ("login_failed", "login_throttled"),
    "aggregate_queries": ("aggregate_query",),
    "aggregate_exports": ("aggregate_export",),
}
SUMMARY_COLUMNS = ["username", "roles", *SUMMARY_COUNTS, "other", "total", "last_activity"]
EXPORT_COLUMNS = [
    "id",
    "occurred_at_utc",
    "occurred_at_uk",
    "user_id",
    "username",
    "role",
    "action",
    "case_ref",
    "reason",
    "subject_ids",
    "detail",
    "search_district",
    "search_lsoa",
    "prev_hash",
    "row_hash",
]
EXPORT_ARGS = ("from", "to", "user", "role", "action", "case", "level", "area")


# Whose internal ids a row's subject_ids are. They are sequential (the first were the staff pilot's), so
# the auditor is shown the random public ids (cameras), or registration references (registrants).
CAMERA_SUBJECTS = frozenset(
    {
        "search",
        "reveal_contact",
        "reveal_refused",
        "request_created",
        "request_refused",
        "request_status",
        "export",
        "export_refused",
        "preservation_requested",
        "response_opened",
        "response_answered",
        "response_link_reissued",
    }
)
REGISTRANT_SUBJECTS = frozenset(
    {
        "registration_created",
        "registration_updated",
        "registration_withdrawn",
        "registration_reconfirmed",
        "registration_erased",
        "management_link_resent",
        "retention_flagged",
        "retention_flag_cleared",
        "retention_reminder_sent",
    }
)
CAMERA_DETAIL_KEYS = ("not_searched", "likely_overwritten_camera_ids")
REQUEST_DETAIL_KEYS = ("request_ids", "request_id")


# Refusals logged before the public ids named the cameras by their integer ids in the message.
_CAMERAS_IN_MESSAGE = re.compile(r"\b(Cameras?|Camera\(s\)) (\d+(?:, \d+)*)\b")


def _ids(value) -> list[int]:
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items:
        try:
            out.append(int(v))
        except (TypeError, ValueError):
            pass
    return out


class PublicNames:
    """The public names of the cameras, requests and registrations that some audit rows name by
    internal id, looked up in three batches. The rows themselves are never changed (hash chain)."""

    def __init__(self, session: Session, rows) -> None:
        cameras, requests, registrants = set(), set(), set()
        for r in rows:
            subjects = _ids(self._load(r.subject_ids) or [])
            if r.action in CAMERA_SUBJECTS:
                cameras.update(subjects)
            elif r.action in REGISTRANT_SUBJECTS:
                registrants.update(subjects)
            detail = self._load(r.detail)
            if isinstance(detail, dict) and r.action in CAMERA_SUBJECTS:
                for key in CAMERA_DETAIL_KEYS:
                    cameras.update(_ids(detail.get(key, [])))
                for key in REQUEST_DETAIL_KEYS:
                    requests.update(_ids(detail.get(key, [])))
        self.cameras = public_ids.cameras_to_public(session, cameras) if cameras else {}
        self.requests = public_ids.requests_to_public(session, requests) if requests else {}
        self.registrants = public_ids.registrants_to_public(session, registrants) if registrants else {}

    @staticmethod
    def _load(text):
        if not text:
            return None
        try:
            return json.loads(text)
        except (TypeError, ValueError):
            return None

    @staticmethod
    def _name(table: dict, value) -> str:
        try:
            return table.get(int(value), public_ids.ERASED)
        except (TypeError, ValueError):
            return public_ids.ERASED

    def subjects(self, action: str, subject_ids: str | None) -> str | None:
        """The row's subject_ids as shown: a JSON list of public ids where the ids are cameras' or
        registrations' (``erased`` for one with no row left), as stored otherwise."""
        table = (
            self.cameras if action in CAMERA_SUBJECTS else self.registrants if action in REGISTRANT_SUBJECTS else None
        )
        loaded = self._load(subject_ids)
        if table is None or not isinstance(loaded, list):
            return subject_ids
        return json.dumps([self._name(table, v) for v in loaded])

    def detail(self, action: str, detail: str | None) -> str | None:
        """The row's detail as shown: the camera and request ids in it as public ids."""
        loaded = self._load(detail)
        if action not in CAMERA_SUBJECTS or not isinstance(loaded, dict):
            return detail
        changed = dict(loaded)
        if isinstance(changed.get("message"), str):  # a refusal's message, as the officer saw it then
            changed["message"] = _CAMERAS_IN_MESSAGE.sub(
                lambda m: f"{m.group(1)} " + ", ".join(self._name(self.cameras, i) for i in m.group(2).split(", ")),
                changed["message"],
            )
        for keys, table in ((CAMERA_DETAIL_KEYS, self.cameras), (REQUEST_DETAIL_KEYS, self.requests)):
            for key in keys:
                if key in changed:
                    value = changed[key]
                    changed[key] = (
                        [self._name(table, v) for v in value] if isinstance(value, list) else self._name(table, value)
                    )
        return json.dumps(changed, separators=(",", ":")) if changed != loaded else detail


class FilterError(ValueError):
    """A filter value that cannot be used; the message says which and why, for a person to read."""


@dataclass(frozen=True)
class AuditFilter:
    """What to show: a period of UK days (both ends included) and optional narrowing."""

    date_from: dt.date
    date_to: dt.date
    username: str | None = None
    role: str | None = None  # one of ROLES, or NO_ROLE
    actions: tuple[str, ...] = ()
    case_ref: str | None = None
    area_level: str | None = None  # "district" or "lsoa", with area_code
    area_code: str | None = None

    @property
    def start_utc(self) -> dt.datetime:
        return uk_midnight(self.date_from)

    @property
    def end_utc(self) -> dt.datetime:
        """The first instant after the period (midnight UK time after ``date_to``)."""
        return uk_midnight(self.date_to + dt.timedelta(days=1))

    def args(self) -> dict[str, str | list[str]]:
        """The filter as export URL arguments (``parse_filter`` reads them back)."""
        out: dict[str, str | list[str]] = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        for key, value in (
            ("user", self.username),
            ("role", self.role),
            ("case", self.case_ref),
            ("level", self.area_level),
            ("area", self.area_code),
        ):
            if value:
                out[key] = value
        if self.actions:
            out["action"] = list(self.actions)
        return out


def uk_midnight(day: dt.date) -> dt.datetime:
    """The UTC instant at which ``day`` begins in the UK.

    >>> uk_midnight(dt.date(2026, 7, 1)).isoformat()
    '2026-06-30T23:00:00+00:00'
    """
    return dt.datetime.combine(day, dt.time(0), tzinfo=UK).astimezone(dt.UTC)


def uk_text(when: dt.datetime | None, seconds: bool = True) -> str:
    """A UTC instant as UK local time, e.g. ``2026-07-01 00:30:00``."""
    if when is None:
        return ""
    return when.astimezone(UK).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _one(values: Mapping, key: str) -> str | None:
    value = values.get(key)
    if isinstance(value, (list, tuple)):
        if len(value) > 1:
            raise FilterError(f"give {key} once, not {len(value)} times")
        value = value[0] if value else None
    if value is None:
        return None
    if not isinstance(value, str):
        raise FilterError(f"{key} must be text, got {value!r}")
    value = value.strip()
    return value or None


def _date(values: Mapping, key: str, name: str) -> dt.date:
    text = _one(values, key)
    if text is None:
        raise FilterError(f"choose the {name} date of the period")
    try:
        return dt.date.fromisoformat(text[:10] if len(text) > 10 and text[10] == "T" else text)
    except ValueError:
        raise FilterError(f"the {name} date must be a date like 2026-09-01, got {text[:40]!r}") from None


def parse_filter(values: Mapping, ref: ReferenceGeography) -> AuditFilter:
    """A checked ``AuditFilter`` from page controls or URL arguments (``EXPORT_ARGS``).

    Raises ``FilterError`` naming the first value that cannot be used. An empty value means "any".
    """
    start, end = _date(values, "from", "first"), _date(values, "to", "last")
    if end < start:
        raise FilterError(f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    username = _one(values, "user")
    if username is not None and len(username) > 64:
        raise FilterError("the user name is longer than 64 characters")
    role = _one(values, "role")
    if role is not None and role not in (*ROLES, NO_ROLE):
        raise FilterError(f"role must be one of {', '.join((*ROLES, NO_ROLE))}, got {role[:40]!r}")
    raw = values.get("action")
    actions = [raw] if isinstance(raw, str) else list(raw or [])
    actions = [a.strip() for a in actions if isinstance(a, str) and a.strip()]
    if len(actions) > MAX_ACTIONS:
        raise FilterError(f"choose at most {MAX_ACTIONS} actions")
    for action in actions:
        if not ACTION_PATTERN.match(action):
            raise FilterError(f"{action[:40]!r} is not an action name (lower-case letters, digits and _)")
    case = _one(values, "case")
    if case is not None:
        case = case.upper()
        if len(case) > 40:
            raise FilterError("the case reference is longer than 40 characters")
    level, area = _one(values, "level"), _one(values, "area")
    if level is not None and level not in AREA_LEVELS:
        raise FilterError(f"level must be district or lsoa, got {level[:40]!r}")
    if area is not None and level is None:
        raise FilterError("an area needs its level (district or lsoa)")
    if level is not None and area is None:
        raise FilterError(f"choose the {AREA_LEVELS[level].lower()} to filter by")
    if area is not None:
        layer = ref.districts if level == "district" else ref.small_areas
        if area not in set(layer["code"]):
            raise FilterError(f"{area[:40]!r} is not a {AREA_LEVELS[level].lower()} code of {ref.force_name}")
    return AuditFilter(start, end, username, role, tuple(dict.fromkeys(actions)), case, level, area)


def check_export_args(args: Mapping[str, list[str]]) -> None:
    """Refuse URL arguments the export does not know (a typo must not widen an export silently)."""
    unknown = sorted(set(args) - set(EXPORT_ARGS))
    if unknown:
        raise FilterError(f"unknown argument {unknown[0][:40]!r}; use {', '.join(EXPORT_ARGS)}")


# --------------------------------------------------------------------------- queries


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def action_column(dialect: str):
    """The action column to put in a condition beside a time range.

    SQLite keeps no planner statistics, so given ``action = 'search'`` it reads every search in
    the whole log through the action index, however short the period. Written as ``action || ''``
    the condition cannot use that index, and the time index bounds the read to the period.
    PostgreSQL weighs the indexes itself.
    """
    return AuditEvent.action.concat("") if dialect == "sqlite" else AuditEvent.action


def _conditions(f: AuditFilter, dialect: str = "sqlite") -> list:
    action = action_column(dialect)
    where = [AuditEvent.occurred_at >= f.start_utc, AuditEvent.occurred_at < f.end_utc]
    if f.username:
        where.append(AuditEvent.username == f.username)
    if f.role == NO_ROLE:
        where.append(AuditEvent.role.is_(None))
    elif f.role:
        where.append(AuditEvent.role == f.role)
    if f.actions:
        where.append(action.in_(f.actions))
    if f.case_ref:
        where.append(AuditEvent.case_ref == f.case_ref)
    if f.area_code:
        where.append(action == "search")
    return where


# Newest first: by time, then by id (the order the rows were chained in); the time index serves it.
NEWEST_FIRST = (AuditEvent.occurred_at.desc(), AuditEvent.id.desc())


def _area_ids(session: Session, f: AuditFilter, places: SearchPlaces) -> np.ndarray:
    """Ids of the searches matching ``f`` whose centre lies in its area, oldest first (by time, then id)."""
    places.update(session)
    ids = np.fromiter(
        session.scalars(
            sa.select(AuditEvent.id)
            .where(*_conditions(f, _dialect(session)))
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        ),
        dtype=np.int64,
    )
    return ids[places.in_area(ids, f.area_level, f.area_code)]


@dataclass(frozen=True)
class LogPage:
    rows: list[dict]
    total: int
    page: int  # 0-based, after clamping to the pages there are
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def first(self) -> int:
        return self.page * self.page_size + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.total, (self.page + 1) * self.page_size)


LOG_COLUMNS = (
    AuditEvent.id,
    AuditEvent.occurred_at,
    AuditEvent.user_id,
    AuditEvent.username,
    AuditEvent.role,
    AuditEvent.action,
    AuditEvent.case_ref,
    AuditEvent.reason,
    AuditEvent.subject_ids,
    AuditEvent.detail,
)


def log_page(
    session: Session, f: AuditFilter, places: SearchPlaces, page: int = 0, page_size: int = PAGE_SIZE
) -> LogPage:
    """One page of the rows matching ``f``, newest first, with how many match in all."""
    page = max(0, int(page))
    if f.area_code:
        ids = _area_ids(session, f, places)[::-1]
        total = len(ids)
        page = min(page, max(0, -(-total // page_size) - 1))
        chosen = [int(i) for i in ids[page * page_size : (page + 1) * page_size]]
        rows = (
            session.execute(sa.select(*LOG_COLUMNS).where(AuditEvent.id.in_(chosen)).order_by(*NEWEST_FIRST)).all()
            if chosen
            else []
        )
    else:
        where = _conditions(f, _dialect(session))
        total = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(*where)) or 0
        page = min(page, max(0, -(-total // page_size) - 1))
        rows = session.execute(
            sa.select(*LOG_COLUMNS).where(*where).order_by(*NEWEST_FIRST).offset(page * page_size).limit(page_size)
        ).all()
    return LogPage(_shown(rows, places, session), int(total), page, page_size)


def rows_by_id(session: Session, ids, places: SearchPlaces, limit: int = 500) -> list[dict]:
    """The rows with these ids (at most ``limit``), newest first, shaped as ``log_page`` rows."""
    wanted = sorted({int(i) for i in ids})[:limit]
    if not wanted:
        return []
    rows = session.execute(sa.select(*LOG_COLUMNS).where(AuditEvent.id.in_(wanted)).order_by(*NEWEST_FIRST)).all()
    return _shown(rows, places, session)


def _shown(rows, places: SearchPlaces, session: Session) -> list[dict]:
    """Rows for a table; a search's area is worked out here for just these rows (no need to place
    the whole log first)."""
    searches = [r for r in rows if r.action == "search"]
    area: dict[int, str] = {}
    if searches:
        ref = places.ref
        facts = np.array([search_facts(r.detail) for r in searches], dtype=float).reshape(-1, 3)
        district = places.locate(facts[:, 1], facts[:, 0], "district")
        lsoa = places.locate(facts[:, 1], facts[:, 0], "lsoa")
        names, codes = ref.districts["name"].to_numpy(object), ref.small_areas["code"].to_numpy(object)
        for r, d, a, (lat, _lon, _n) in zip(searches, district, lsoa, facts):
            if np.isnan(lat):
                area[r.id] = "no centre logged"
            else:
                area[r.id] = (names[d] if d >= 0 else "outside the force area") + (f" ({codes[a]})" if a >= 0 else "")
    names = PublicNames(session, rows)
    return [
        {
            "id": r.id,
            "when": uk_text(r.occurred_at),
            "username": r.username or "",
            "role": r.role or "",
            "action": r.action,
            "action_label": ACTION_LABELS.get(r.action, r.action),
            "case_ref": r.case_ref or "",
            "reason": r.reason or "",
            "subjects": subjects_text(names.subjects(r.action, r.subject_ids)),
            "detail": describe(r.action, names.detail(r.action, r.detail)),
            "area": area.get(r.id, ""),
        }
        for r in rows
    ]


def subjects_text(subject_ids: str | None, most: int = 12) -> str:
    """The subjects (camera, registrant or user ids) of a row, shortened when there are many.

    >>> subjects_text('["1","2","3"]'), subjects_text(None), subjects_text('["1","2","3"]', most=2)
    ('1, 2, 3', '', '1, 2 and 1 more')
    """
    if not subject_ids:
        return ""
    try:
        ids = [str(s) for s in json.loads(subject_ids)]
    except (ValueError, TypeError):
        return subject_ids[:200]
    return ", ".join(ids[:most]) + (f" and {len(ids) - most} more" if len(ids) > most else "")


def describe(action: str, detail: str | None) -> str:
    """A row's detail in words: a search's centre, radius and results; an analyst's or lead's
    aggregate query as the view and its parameters (``aggregate_queries.describe_query``); any
    other detail as its keys and values, as stored.

    >>> describe("search", '{"centre":{"lat":52.8,"lon":-2.1},"incident_at":null,"radius_m":200,"results":4,'
    ...                    '"source":"page"}')
    'centre 52.8, -2.1; radius 200 m; 4 results; from the page'
    >>> describe("search", '{"centre":{"lat":52.8,"lon":-2.1},"incident_at":null,"radius_m":1000,"results":1000,'
    ...                    '"source":"api","within_radius":4512}')
    'centre 52.8, -2.1; radius 1000 m; 1000 results listed of 4512 within it; from the API'
    >>> describe("something_new", '{"b":[1,2],"a":"x","sent_at":"2026-07-01T09:30:00+00:00"}')
    'b: [1, 2]; a: x; sent_at: 2026-07-01 10:30'
    """
    if not detail:
        return ""
    try:
        data = json.loads(detail)
    except ValueError:
        return detail[:300]
    if not isinstance(data, dict):
        return detail[:300]
    if action in AGGREGATE_ACTIONS:
        return describe_query(action, data)
    if action == "search" and isinstance(data.get("centre"), dict):
        c = data["centre"]
        parts = [
            f"centre {c.get('lat')}, {c.get('lon')}",
            f"radius {_number(data.get('radius_m'))} m",
            f"{data.get('results')} result{'' if data.get('results') == 1 else 's'}"
            + (f" listed of {_number(data['within_radius'])} within it" if "within_radius" in data else ""),
        ]
        if data.get("incident_at"):
            try:
                parts.append("incident " + uk_text(dt.datetime.fromisoformat(data["incident_at"]), seconds=False))
            except (TypeError, ValueError):
                parts.append(f"incident {data['incident_at']}")
        if data.get("source"):
            parts.append(f"from the {data['source'] if data['source'] != 'api' else 'API'}")
        return "; ".join(parts)

    def text(value) -> str:
        if isinstance(value, str) and _ISO_INSTANT.fullmatch(value):  # an instant logged in UTC: say it in UK time
            return uk_text(dt.datetime.fromisoformat(value), seconds=False)
        if isinstance(value, list):
            shown = ", ".join(map(str, value[:10]))
            return f"[{shown}{f', and {len(value) - 10} more' if len(value) > 10 else ''}]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k}: {text(v)}" for k, v in value.items()) + "}"
        return "none" if value is None else str(value)

    return "; ".join(f"{k}: {text(v)}" for k, v in data.items())[:600]


_ISO_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z)")


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def user_summary(session: Session, f: AuditFilter, places: SearchPlaces) -> pd.DataFrame:
    """Activity per user name in the period: ``SUMMARY_COLUMNS``, busiest first.

    ``roles`` lists the roles the name acted in; ``other`` counts every other action;
    ``last_activity`` is the newest matching row (UK time). With an area chosen only searches count.
    """
    by_action = sa.select(
        AuditEvent.username, AuditEvent.role, AuditEvent.action, sa.func.count(), sa.func.max(AuditEvent.occurred_at)
    )
    if f.area_code:
        ids = [int(i) for i in _area_ids(session, f, places)]
        grouped = []
        for chunk in range(0, len(ids), 20_000):  # stays inside every backend's bound-parameter limit
            grouped += session.execute(
                by_action.where(AuditEvent.id.in_(ids[chunk : chunk + 20_000])).group_by(
                    AuditEvent.username, AuditEvent.role, AuditEvent.action
                )
            ).all()
    else:
        grouped = session.execute(
            by_action.where(*_conditions(f, _dialect(session))).group_by(
                AuditEvent.username, AuditEvent.role, AuditEvent.action
            )
        ).all()
    if not grouped:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    frame = pd.DataFrame(grouped, columns=["username", "role", "action", "n", "last"])
    frame["username"] = frame["username"].fillna("(none)")
    # The maximum of an aware-UTC column comes back naive on SQLite (no type on an aggregate).
    frame["last"] = pd.to_datetime(frame["last"], utc=True)
    out = []
    for name, rows in frame.groupby("username", sort=False):
        counts = {
            key: int(rows.loc[rows["action"].isin(actions), "n"].sum()) for key, actions in SUMMARY_COUNTS.items()
        }
        total = int(rows["n"].sum())
        roles = sorted({r for r in rows["role"] if isinstance(r, str)})
        out.append(
            {
                "username": name,
                "roles": ", ".join(roles),
                **counts,
                "other": total - sum(counts.values()),
                "total": total,
                "last_activity": uk_text(rows["last"].max().to_pydatetime()),
            }
        )
    result = pd.DataFrame(out, columns=SUMMARY_COLUMNS)
    return result.sort_values(["total", "username"], ascending=[False, True], ignore_index=True)


def searches_by_area(session: Session, f: AuditFilter, places: SearchPlaces, level: str) -> tuple[pd.DataFrame, dict]:
    """Searches matching ``f`` (other actions ignored) counted per area of ``level`` by their centres.

    Returns a frame with every area of the level (``code``, ``name``, ``searches``, ``users``,
    ``cases``; zeros included) and ``{"outside": n, "no_centre": n}`` for searches placed nowhere.
    Only counts per area come out: never a search's point.
    """
    if level not in AREA_LEVELS:
        raise FilterError(f"level must be district or lsoa, got {level!r}")
    places.update(session)
    where = _conditions(f, _dialect(session))
    if not f.actions or "search" in f.actions:
        rows = session.execute(
            sa.select(AuditEvent.id, AuditEvent.username, AuditEvent.case_ref).where(
                *where, action_column(_dialect(session)) == "search"
            )
        ).all()
    else:
        rows = []
    layer = places.ref.districts if level == "district" else places.ref.small_areas
    ids = np.fromiter((r.id for r in rows), dtype=np.int64, count=len(rows))
    found = places.rows_of(ids, level)
    if f.area_code:
        keep = places.in_area(ids, f.area_level, f.area_code)
        found, rows = found[keep], [r for r, k in zip(rows, keep) if k]
        ids = ids[keep]
    frame = pd.DataFrame({"row": found, "username": [r.username for r in rows], "case_ref": [r.case_ref for r in rows]})
    placed = frame[frame["row"] >= 0]
    per = placed.groupby("row").agg(
        searches=("row", "size"), users=("username", "nunique"), cases=("case_ref", "nunique")
    )
    table = pd.DataFrame({"code": layer["code"].to_numpy(object), "name": layer["name"].to_numpy(object)})
    table = table.join(per).fillna({"searches": 0, "users": 0, "cases": 0})
    table[["searches", "users", "cases"]] = table[["searches", "users", "cases"]].astype(int)
    with_centre = places.has_centre(ids)
    no_centre = int((~with_centre).sum())
    outside = int(((frame["row"] < 0).to_numpy() & with_centre).sum())
    return table, {"outside": outside, "no_centre": no_centre}


def filter_choices(session: Session) -> tuple[list[str], list[str]]:
    """User names and actions to offer as filters: every account, "public" and "system", names
    that acted in the log; every action in the log and every known one."""
    users = set(session.scalars(sa.select(User.username)))
    users |= {
        u
        for u in session.scalars(sa.select(AuditEvent.username).where(AuditEvent.user_id.is_not(None)).distinct())
        if u
    }
    users |= {"public", "system"}
    actions = set(session.scalars(sa.select(AuditEvent.action).distinct())) | set(ACTION_LABELS)
    return sorted(users), sorted(actions)


# --------------------------------------------------------------------------- export


def export_size(session: Session, f: AuditFilter, places: SearchPlaces) -> tuple[int, int]:
    """(rows that match now, the newest id among them or 0): the export is fixed to these rows."""
    if f.area_code:
        ids = _area_ids(session, f, places)
        return len(ids), int(ids.max()) if len(ids) else 0
    count, newest = session.execute(
        sa.select(sa.func.count(), sa.func.max(AuditEvent.id)).where(*_conditions(f, _dialect(session)))
    ).one()
    return int(count or 0), int(newest or 0)


def export_lines(
    session: Session, f: AuditFilter, places: SearchPlaces, upto_id: int, batch: int = 5000
) -> Iterator[str]:
    """CSV text of the rows matching ``f`` with id up to ``upto_id``, oldest first, in chunks:
    a header, then ``EXPORT_COLUMNS``; every cell made safe for spreadsheets (``csv_safe``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    yield out.getvalue()
    columns = (*LOG_COLUMNS, AuditEvent.prev_hash, AuditEvent.row_hash)
    if f.area_code:
        ids = sorted(int(i) for i in _area_ids(session, f, places) if i <= upto_id)
        chunks = (
            session.execute(
                sa.select(*columns).where(AuditEvent.id.in_(ids[i : i + batch])).order_by(AuditEvent.id)
            ).all()
            for i in range(0, len(ids), batch)
        )
    else:
        where = _conditions(f, _dialect(session))
        result = session.execute(
            sa.select(*columns)
            .where(*where, AuditEvent.id <= upto_id)
            .order_by(AuditEvent.id)
            .execution_options(yield_per=batch)
        )
        chunks = result.partitions()
    places.update(session)
    for rows in chunks:
        out.seek(0)
        out.truncate()
        ids = np.array([r.id for r in rows], dtype=np.int64)
        districts, lsoas = places.codes_of(ids, "district"), places.codes_of(ids, "lsoa")
        names = PublicNames(session, rows)  # public ids in place of the sequential internal ones
        for r, district, lsoa in zip(rows, districts, lsoas):
            writer.writerow(
                [
                    csv_safe(v)
                    for v in (
                        r.id,
                        r.occurred_at.isoformat(timespec="microseconds"),
                        uk_text(r.occurred_at),
                        r.user_id,
                        r.username,
                        r.role,
                        r.action,
                        r.case_ref,
                        r.reason,
                        names.subjects(r.action, r.subject_ids),
                        names.detail(r.action, r.detail),
                        district,
                        lsoa,
                        r.prev_hash,
                        r.row_hash,
                    )
                ]
            )
        yield out.getvalue()


def last_check(session: Session) -> dict | None:
    """The newest recorded integrity check (``audit_verified``): when (UK), by whom, and its detail."""
    row = session.execute(
        sa.select(AuditEvent.occurred_at, AuditEvent.username, AuditEvent.detail)
        .where(AuditEvent.action == "audit_verified")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    try:
        detail = json.loads(row.detail) if row.detail else {}
    except ValueError:
        detail = {}
    return {
        "when": uk_text(row.occurred_at),
        "username": row.username or "",
        "detail": detail if isinstance(detail, dict) else {},
    }
