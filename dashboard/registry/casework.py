"""The officer's casework: searches, contact reveals, footage requests, their outcomes, exports.

Each public function is one unit of work in the caller's session: it checks everything first,
raises :class:`CaseworkError` before writing anything if the input is bad, then writes its
rows and its audit event (DESIGN.md promise 5) together. The caller commits (for example with
``database.transaction``), so the data and its audit event land or vanish together.

Who may do what: searching may be logged for any signed-in user; revealing contacts, creating
requests and exporting need an active ``officer`` account (least privilege: no other role has
a need for owners' contact details); a request's status is changed only by the officer who
made it or by an admin (who sees no contact details doing so). Roles are read from
``app_user``, not trusted from the ``Actor``.

Case references are checked here only for presence and length (40 characters); the force's
format (``Settings.case_ref_pattern``) is checked by the page or API that takes the input.

What an officer may act on (issue 15): contact details are revealed, and footage requested, only
for cameras that the same officer's own logged searches in the same case returned within the last
``search_valid_days`` days (``Settings.search_valid_days``, default ``SEARCH_VALID_DAYS``); a case's
export holds only the requests the officer made themselves, for cameras their own searches in the
case returned (at any time: each request was checked against a recent search when it was made).
These refusals are themselves logged (``*_refused`` audit events, see ``refuse``), unlike bad input:
they are attempts to reach owners' details that the auditor should see.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.vocab import REQUEST_STATUSES
from dashboard.registry import audit, free_text, public_ids
from dashboard.registry.camera_queries import camera_contacts, on_active_register
from dashboard.registry.channels import Channels, DeliverySummary, choose, no_channel_reason
from dashboard.registry.database import hold_write_lock
from dashboard.registry.models import (
    AuditEvent,
    Camera,
    CaseFile,
    EvidenceFile,
    FootageRequest,
    FootageRequestEvent,
    FootageResponse,
    OutboxMessage,
    Registrant,
    Site,
    User,
)
from dashboard.registry.search_reasons import reason_problem

OUTCOMES = frozenset({"footage_provided", "no_relevant_footage", "declined"})

# Allowed status changes of a footage request. A sent request gets an outcome, is marked
# "no_response" (the officer gave up waiting) or is withdrawn by the officer. A late reply
# can still arrive after "no_response", so that state may move on to an outcome or be
# withdrawn. Outcomes and "withdrawn" are final: nothing follows them.
REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    "sent": OUTCOMES | {"no_response", "withdrawn"},
    "no_response": OUTCOMES | {"withdrawn"},
    "footage_provided": frozenset(),
    "no_relevant_footage": frozenset(),
    "declined": frozenset(),
    "withdrawn": frozenset(),
}
assert set(REQUEST_TRANSITIONS) == set(REQUEST_STATUSES)

SEARCH_VALID_DAYS = 30  # a search lets its officer reveal and request for this long (a month of CCTV retention)
CASEWORK_ROLES = frozenset({"officer"})  # may see owner contact details
MAX_CAMERAS_PER_ACTION = 50  # per reveal and per batch of requests: data minimisation
SEARCH_SOURCES = ("page", "api")
CASE_REF_MAX = 40
REASON_MAX = 500
NOTE_MAX = 500
SHARED_DETAIL_MAX = 300  # what the officer tells the owner about the incident
AT_RISK_HOURS = 48  # footage overwritten sooner than this may get an urgent "please keep it" notice first
# Outbox messages that still count: on their way, or gone (failed and cancelled ones do not).
LIVE_MESSAGE_STATES = ("queued", "sending", "handed_over", "sent")
CENTRE_DECIMALS = 5  # about 1 m: enough to show where the search was, no more
ERASED = "withdrawn, details erased"
CSV_COLUMNS = [
    "request_id",
    "camera_id",
    "status",
    "name",
    "preferred_channel",
    "email",
    "phone",
    "address",
    "postcode",
]
# Spreadsheet programs run a cell starting with one of these as a formula (OWASP CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

MY_CASES_COLUMNS = ["case_ref", "requests", "open", "provided", "last_activity"]
CASE_REQUEST_COLUMNS = [
    "request_id",
    "camera_id",
    "kind",
    "status",
    "sent_at",
    "status_changed_at",
    "footage_likely_overwritten",
    "footage_useful",
    "incident_from",
    "incident_to",
    "district",
    "requested_by",
    "request_public_id",
    "camera_public_id",
]


class CaseworkError(ValueError):
    """Input that casework refuses. ``field`` names the input at fault (for the form);
    the message is one sentence saying why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class CaseworkRefused(CaseworkError):
    """A refusal of access (not of malformed input) that has been written to the audit log and
    committed: see ``refuse``. ``why`` is a short code (``not_searched``, ``no_case``, ...)."""

    def __init__(self, field: str, message: str, why: str) -> None:
        super().__init__(field, message)
        self.why = why


def refuse(
    session: Session,
    actor: audit.Actor,
    action: str,
    *,
    field: str,
    message: str,
    why: str,
    case_ref: str | None,
    reason: str | None,
    subject_ids: Iterable[int] | None = None,
    detail: dict | None = None,
) -> NoReturn:
    """Log a refusal and raise ``CaseworkRefused``: every refusal of access is logged (promise 5).

    The caller's unit of work is rolled back first (it has written nothing: casework checks before
    it writes), then the audit event ``action`` (``search_refused``, ``reveal_refused``,
    ``request_refused`` or ``export_refused``) is written with who, when, the case reference, the
    reason given, the cameras asked for and ``detail`` {"why", "message", ...}, and committed on
    its own, so that the caller's rollback on the exception cannot take it away.
    """
    audit.record_alone(
        session,
        actor,
        action,
        case_ref=case_ref,
        reason=reason,
        subject_ids=list(subject_ids) if subject_ids is not None else None,
        detail={"why": why, "message": message, **(detail or {})},
    )
    raise CaseworkRefused(field, message, why)


# --------------------------------------------------------------------------- input checks


def _text(value: object, field: str, label: str, max_len: int, *, required: bool = True) -> str | None:
    """``value`` stripped; None when optional and blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CaseworkError(field, f"A {label} is required.")
        return None
    if not isinstance(value, str):
        raise CaseworkError(field, f"The {label} must be text, not {type(value).__name__}.")
    text = value.strip()
    if len(text) > max_len:
        raise CaseworkError(field, f"The {label} has {len(text)} characters; at most {max_len} are allowed.")
    return text


def _case_ref(value: object) -> str:
    return _text(value, "case_ref", "case reference", CASE_REF_MAX)  # type: ignore[return-value]


def _reason(value: object) -> str:
    return _text(value, "reason", "reason", REASON_MAX)  # type: ignore[return-value]


def _aware(value: object, field: str, label: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise CaseworkError(field, f"The {label} must be a date and time, not {value!r}.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise CaseworkError(field, f"The {label} must include a time zone ({value.isoformat()} has none).")
    return value.astimezone(dt.UTC)


def _number(value: object, field: str, label: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise CaseworkError(field, f"The {label} must be a finite number, not {value!r}.")
    if not lo <= float(value) <= hi:
        raise CaseworkError(field, f"The {label} must be between {lo:g} and {hi:g}, not {value!r}.")
    return float(value)


def _camera_ids(values: object) -> list[int]:
    """Positive integer ids, repeats collapsed, order kept; 1 to MAX_CAMERAS_PER_ACTION of them."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise CaseworkError("camera_ids", f"The cameras must be given as a list of ids, not {values!r}.")
    ids: list[int] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
            raise CaseworkError("camera_ids", f"{value!r} is not a valid camera id; use whole numbers.")
        ids.append(int(value))
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise CaseworkError("camera_ids", "Select at least one camera.")
    if len(ids) > MAX_CAMERAS_PER_ACTION:
        raise CaseworkError("camera_ids", f"{len(ids)} cameras are selected; select at most {MAX_CAMERAS_PER_ACTION}.")
    return ids


def _found_ids(values: object, result_count: int) -> list[int]:
    """A search's result camera ids: any number of them, but as many as ``result_count``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise CaseworkError("camera_ids", f"The cameras found must be given as a list of ids, not {values!r}.")
    if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "iu":
        ids = values.tolist()  # a search's own id column: whole numbers already (thousands of them)
    else:
        ids = [_whole_id(value) for value in values]
    if len(ids) != result_count:
        raise CaseworkError("result_count", f"The search found {result_count} cameras but {len(ids)} ids were given.")
    return ids


def _whole_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise CaseworkError("camera_ids", f"{value!r} is not a valid camera id; use whole numbers.")
    return int(value)


_USER_NOW = sa.select(User.id, User.active, User.role).where(User.id == sa.bindparam("user_id"))


def _user(session: Session, actor: audit.Actor, roles: frozenset[str] | None, doing: str):
    """The active account behind ``actor`` (its id, active flag and role, read now); refused
    unless its role is in ``roles`` (None: any). A Core query on the session's connection: this
    runs on every search."""
    user = (
        session.connection().execute(_USER_NOW, {"user_id": actor.user_id}).first()
        if actor.user_id is not None
        else None
    )
    if user is None or not user.active:
        raise CaseworkError("actor", f"Only a signed-in, active user may {doing}.")
    if roles is not None and user.role not in roles:
        raise CaseworkError("actor", f"The role {user.role!r} may not {doing}.")
    return user


def _require_on_register(session: Session, camera_ids: list[int]) -> dict[int, int | None]:
    """Retention days by camera id; refuses any camera that is not on the active register."""
    rows = session.execute(
        sa.select(Camera.id, Camera.retention_days)
        .join(Site, Site.id == Camera.site_id)
        .join(Registrant, Registrant.id == Site.registrant_id)
        .where(Camera.id.in_(camera_ids), *on_active_register())
    ).all()
    retention = {int(camera_id): days for camera_id, days in rows}
    missing = [i for i in camera_ids if i not in retention]
    if missing:
        plural = len(missing) > 1
        raise CaseworkError(
            "camera_ids",
            f"Camera{'s' if plural else ''} {public_ids.names_text(session, missing)} {'are' if plural else 'is'} "
            "not on the active "
            "register (unknown, switched off or withdrawn).",
        )
    return retention


_SEARCH_EVENTS = AuditEvent.__table__


def found_by_own_searches(session: Session, user_id: int, case_ref: str, since: dt.datetime | None) -> set[int]:
    """The camera ids that ``user_id``'s logged searches in ``case_ref`` returned (searches at or
    after ``since``; None: any time)."""
    t = _SEARCH_EVENTS.c
    query = sa.select(t.subject_ids).where(
        t.case_ref == case_ref, t.user_id == user_id, t.action == "search", t.subject_ids.is_not(None)
    )
    if since is not None:
        query = query.where(t.occurred_at >= since)
    found: set[int] = set()
    for (text,) in session.connection().execute(query):
        found.update(int(i) for i in json.loads(text))
    return found


def _require_searched(
    session: Session,
    actor: audit.Actor,
    user_id: int,
    action: str,
    *,
    case_ref: str,
    reason: str,
    camera_ids: list[int],
    since: dt.datetime | None,
    valid_days: int | None,
) -> None:
    """Refuse (logged) cameras that the user's own searches in this case did not return."""
    found = found_by_own_searches(session, user_id, case_ref, since)
    missing = [i for i in camera_ids if i not in found]
    if not missing:
        return
    plural = len(missing) > 1
    within = f" in the last {valid_days} days" if valid_days is not None else ""
    refuse(
        session,
        actor,
        action,
        field="camera_ids",
        why="not_searched",
        case_ref=case_ref,
        reason=reason,
        subject_ids=camera_ids,
        detail={"not_searched": missing},
        message=f"Camera{'s' if plural else ''} {public_ids.names_text(session, missing)} "
        f"{'were' if plural else 'was'} not found by "
        f"your searches in case {case_ref}{within}; search again in this case to include "
        f"{'them' if plural else 'it'}.",
    )


def _since(now: dt.datetime, valid_days: int) -> dt.datetime:
    if isinstance(valid_days, bool) or not isinstance(valid_days, numbers.Integral) or valid_days < 1:
        raise CaseworkError("search_valid_days", f"The search validity must be 1 day or more, not {valid_days!r}.")
    return now - dt.timedelta(days=int(valid_days))


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds") if value is not None else None


# --------------------------------------------------------------------------- searches and reveals


def admit_search(
    session: Session, actor: audit.Actor, *, case_ref: str, reason: str, quota: Callable[[int], str | None] | None
) -> None:
    """Let a search run, or refuse it before it runs and log the refusal (``search_refused``).

    Refused: a reason that does not read like one (``search_reasons.reason_problem``: field
    ``reason``, why ``reason``); more searches than the officer's limit (``quota(user_id)``
    returns the limit passed, e.g. "10 per 1 minute", or None while within it: field
    ``request``, why ``rate_limit``). The reason is judged first, so a refused reason does not
    use up the officer's searches. ``quota`` None: no limit (tools and tests).
    """
    _user(session, actor, None, "search the register")
    case = _case_ref(case_ref)
    why = _reason(reason)
    problem = reason_problem(why)
    if problem:
        refuse(
            session, actor, "search_refused", field="reason", why="reason", case_ref=case, reason=why, message=problem
        )
    over = quota(int(actor.user_id)) if quota is not None else None
    if over:
        refuse(
            session,
            actor,
            "search_refused",
            field="request",
            why="rate_limit",
            case_ref=case,
            reason=why,
            detail={"limit": over},
            message=f"You have reached the limit of {over} searches; wait and search again. "
            "Refused searches are recorded.",
        )


def log_search(
    session: Session,
    actor: audit.Actor,
    *,
    case_ref: str,
    reason: str,
    lat: float,
    lon: float,
    radius_m: float,
    incident_at: dt.datetime | None,
    result_count: int,
    source: str,
    camera_ids: Iterable[int] | None = None,
    within_radius: int | None = None,
) -> AuditEvent:
    """Record one camera search in the audit log (action ``search``) and return the event.

    ``detail`` holds the centre (``lat``/``lon`` rounded to 5 decimal places), ``radius_m``,
    the incident time (ISO 8601 UTC, or None when not given), the number of ``results`` and
    the ``source`` (``"page"`` or ``"api"``). ``camera_ids``, when given, are the cameras the
    search returned (``result_count`` of them), kept as the event's ``subject_ids`` so that
    later reveals and requests can be checked against what the search found. ``within_radius``:
    how many cameras were within the radius, when more than were listed (kept in ``detail`` only
    then). Call it in the same transaction that returns the results, before showing them.

    >>> log_search(s, officer, case_ref="CR-2026-0001", reason="burglary", lat=52.8,
    ...            lon=-2.1, radius_m=200, incident_at=None, result_count=4, source="page")  # doctest: +SKIP
    """
    _user(session, actor, None, "search the register")
    case = _case_ref(case_ref)
    why = _reason(reason)
    centre_lat = _number(lat, "lat", "latitude", -90, 90)
    centre_lon = _number(lon, "lon", "longitude", -180, 180)
    radius = _number(radius_m, "radius_m", "radius", 0, math.inf)
    if radius <= 0:
        raise CaseworkError("radius_m", f"The radius must be more than 0 m, not {radius_m!r}.")
    when = _aware(incident_at, "incident_at", "incident time") if incident_at is not None else None
    if isinstance(result_count, bool) or not isinstance(result_count, numbers.Integral) or result_count < 0:
        raise CaseworkError(
            "result_count", f"The result count must be a whole number, 0 or more, not {result_count!r}."
        )
    if source not in SEARCH_SOURCES:
        raise CaseworkError("source", f"The source must be one of {', '.join(SEARCH_SOURCES)}, not {source!r}.")
    found = _found_ids(camera_ids, int(result_count)) if camera_ids is not None else None
    detail = {
        "centre": {"lat": round(centre_lat, CENTRE_DECIMALS), "lon": round(centre_lon, CENTRE_DECIMALS)},
        "radius_m": radius,
        "incident_at": _iso(when),
        "results": int(result_count),
        "source": source,
    }
    if within_radius is not None and within_radius != result_count:
        if (
            isinstance(within_radius, bool)
            or not isinstance(within_radius, numbers.Integral)
            or within_radius < result_count
        ):
            raise CaseworkError(
                "within_radius",
                f"The cameras within the radius must be a whole number, at least the {result_count} listed, "
                f"not {within_radius!r}.",
            )
        detail["within_radius"] = int(within_radius)
    return audit.record(session, actor, "search", case_ref=case, reason=why, subject_ids=found, detail=detail)


def reveal_contacts(
    session: Session,
    actor: audit.Actor,
    *,
    case_ref: str,
    reason: str,
    camera_ids: Iterable[int],
    now: dt.datetime | None = None,
    search_valid_days: int = SEARCH_VALID_DAYS,
) -> pd.DataFrame:
    """Owner contact details of up to 50 cameras on the active register, logged as a consultation.

    Returns ``camera_queries.camera_contacts`` (camera_id, name, email, phone,
    preferred_channel, address, postcode) in the order asked; writes the audit event
    ``reveal_contact`` with the camera ids as ``subject_ids``. A camera that is not on the
    active register is refused (nothing is revealed or logged). A camera that the officer's own
    searches in this case did not return in the ``search_valid_days`` days before ``now``
    (default: now) is refused and the refusal logged (``reveal_refused``).
    """
    user = _user(session, actor, CASEWORK_ROLES, "see owner contact details")
    case = _case_ref(case_ref)
    why = _reason(reason)
    ids = _camera_ids(camera_ids)
    at = _aware(now, "now", "time of the reveal") if now is not None else dt.datetime.now(dt.UTC)
    since = _since(at, search_valid_days)
    _require_searched(
        session,
        actor,
        user.id,
        "reveal_refused",
        case_ref=case,
        reason=why,
        camera_ids=ids,
        since=since,
        valid_days=search_valid_days,
    )
    _require_on_register(session, ids)
    contacts = camera_contacts(session, ids)
    audit.record(
        session, actor, "reveal_contact", case_ref=case, reason=why, subject_ids=ids, detail={"cameras": len(ids)}
    )
    return contacts


# --------------------------------------------------------------------------- footage requests


def _lock_case(session: Session, case_ref: str) -> None:
    """Serialise request creation within one case (PostgreSQL: per case; SQLite: the write lock,
    taken before the checks), so two officers cannot both pass the "already requested" check for
    the same camera."""
    hold_write_lock(session, f"footage_request:{case_ref}")


def _refuse_repeats(session: Session, case_ref: str, camera_ids: list[int]) -> None:
    rows = session.execute(
        sa.select(FootageRequest.camera_id, FootageRequest.id)
        .where(
            FootageRequest.case_ref == case_ref,
            FootageRequest.camera_id.in_(camera_ids),
            FootageRequest.status != "withdrawn",
        )
        .order_by(FootageRequest.camera_id, FootageRequest.id)
    ).all()
    if rows:
        cameras = list(dict.fromkeys(int(c) for c, _ in rows))
        plural = len(cameras) > 1
        shown = public_ids.requests_to_public(session, [r for _, r in rows])
        raise CaseworkError(
            "camera_ids",
            f"Camera{'s' if plural else ''} {public_ids.names_text(session, cameras)} already "
            f"{'have' if plural else 'has'} a request in case {case_ref} (request "
            f"{', '.join(shown.get(r, public_ids.ERASED) for _, r in rows)}); withdraw it first to ask again.",
        )


def likely_overwritten(incident_from: dt.datetime, sent_at: dt.datetime, retention_days: int | None) -> bool:
    """True when footage from ``incident_from`` has probably been overwritten by ``sent_at``.

    >>> t0 = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    >>> likely_overwritten(t0, t0 + dt.timedelta(days=31), 30), likely_overwritten(t0, t0 + dt.timedelta(days=29), 30)
    (True, False)
    >>> likely_overwritten(t0, t0 + dt.timedelta(days=400), None)  # retention unknown: no flag
    False
    """
    return retention_days is not None and sent_at > incident_from + dt.timedelta(days=int(retention_days))


def create_requests(
    session: Session,
    actor: audit.Actor,
    *,
    case_ref: str,
    reason: str,
    camera_ids: Iterable[int],
    incident_lat: float,
    incident_lon: float,
    incident_district_code: str | None,
    crime_category: str | None,
    incident_from: dt.datetime,
    incident_to: dt.datetime,
    now: dt.datetime,
    search_valid_days: int = SEARCH_VALID_DAYS,
    channels: Channels | None = None,
    shared_detail: str | None = None,
    preservation: bool = False,
) -> RequestBatch:
    """Create one footage request (status ``sent`` at ``now``) per camera, in the order given.

    Refuses (CaseworkError, nothing written): no cameras or more than 50; a camera not on
    the active register; ``incident_to`` before ``incident_from``; ``incident_from`` after
    ``now``; a camera that already has a request in this case that is not withdrawn.
    ``footage_likely_overwritten`` is set where the camera's retention is known and
    ``now > incident_from + retention_days``. A camera that the officer's own searches in this
    case did not return in the ``search_valid_days`` days before ``now`` is refused and the
    refusal logged (``request_refused``). Each request gets its first event ("sent",
    by the actor); one audit event ``request_created`` (a disclosure) lists the cameras in
    ``subject_ids`` and the request ids and late cameras in ``detail``.

    Delivery (issue 16): the requests are grouped by owner into one ``FootageResponse`` per owner
    and case (an unanswered one with a working or unsent link is reused), and one outbox message
    (kind ``request``) is queued per owner on the channel ``channels.choose`` picks from the services
    set up (``channels``; None: none) and the owner's preference; an owner who asked to be phoned, or
    who cannot be reached by a service set up, gets no message (the officer rings them).
    ``shared_detail`` (at most 300 characters, no links or logins) is what the owner is told about the
    incident. ``preservation``: an urgent "please keep your footage" notice (priority 0, sent before
    the request) goes to each owner whose footage may be overwritten within 48 hours
    (``footage_at_risk``). Returns the requests (a list) with ``.delivery``, a ``DeliverySummary``.
    """
    user = _user(session, actor, CASEWORK_ROLES, "request footage")
    case = _case_ref(case_ref)
    why = _reason(reason)
    ids = _camera_ids(camera_ids)
    lat = _number(incident_lat, "incident_lat", "incident latitude", -90, 90)
    lon = _number(incident_lon, "incident_lon", "incident longitude", -180, 180)
    district = _text(incident_district_code, "incident_district_code", "district code", 9, required=False)
    category = _text(crime_category, "crime_category", "crime category", 60, required=False)
    sent_at = _aware(now, "now", "time of sending")
    start = _aware(incident_from, "incident_from", "incident start")
    end = _aware(incident_to, "incident_to", "incident end")
    if end < start:
        raise CaseworkError("incident_to", f"The incident ends ({_iso(end)}) before it starts ({_iso(start)}).")
    if start > sent_at:
        raise CaseworkError("incident_from", f"The incident start ({_iso(start)}) is in the future.")
    detail_for_owner = _shared_detail(shared_detail)
    if not isinstance(preservation, bool):
        raise CaseworkError("preservation", "The urgent notice choice must be true or false.")
    since = _since(sent_at, search_valid_days)
    _require_searched(
        session,
        actor,
        user.id,
        "request_refused",
        case_ref=case,
        reason=why,
        camera_ids=ids,
        since=since,
        valid_days=search_valid_days,
    )
    _lock_case(session, case)
    retention = _require_on_register(session, ids)
    _refuse_repeats(session, case, ids)
    ensure_case_file(session, case, user.id)

    requests = []
    for camera_id, public_id in zip(ids, public_ids.fresh_ids(session, FootageRequest, len(ids))):
        request = FootageRequest(
            public_id=public_id,
            case_ref=case,
            camera_id=camera_id,
            requested_by_id=user.id,
            incident_lat=lat,
            incident_lon=lon,
            incident_district_code=district,
            crime_category=category,
            incident_from=start,
            incident_to=end,
            status="sent",
            sent_at=sent_at,
            status_changed_at=sent_at,
            footage_likely_overwritten=likely_overwritten(start, sent_at, retention[camera_id]),
            footage_useful=None,
        )
        request.events.append(FootageRequestEvent(status="sent", at=sent_at, by_user_id=user.id))
        requests.append(request)
    session.add_all(requests)
    session.flush()
    summary, responses = _plan_delivery(
        session, user.id, case, requests, retention, sent_at, channels or Channels(), detail_for_owner, preservation
    )
    audit.record(
        session,
        actor,
        "request_created",
        case_ref=case,
        reason=why,
        subject_ids=ids,
        detail={
            "request_ids": [r.id for r in requests],
            "likely_overwritten_camera_ids": [r.camera_id for r in requests if r.footage_likely_overwritten],
            "incident_from": _iso(start),
            "incident_to": _iso(end),
            "sent_at": _iso(sent_at),
            # How each request (in the order of request_ids) goes to its owner, never the address: 'email', 'text',
            # 'joined' (added to a request already on its way to that owner) or why not sent.
            "responses": [r.public_id for r in responses],
            "delivery": [summary.by_request[r.id] for r in requests],
            "preservation_notices": summary.preservation,
        },
    )
    batch = RequestBatch(requests)
    batch.delivery = summary
    return batch


def ensure_case_file(session: Session, case_ref: str, officer_id: int) -> CaseFile:
    """The officer's case file for ``case_ref`` (issue 17: its team, open or closed), made with their
    first request in it (in the caller's unit of work, which holds the case's lock)."""
    found = session.scalars(
        sa.select(CaseFile).where(CaseFile.case_ref == case_ref, CaseFile.officer_id == officer_id)
    ).first()
    if found is None:
        found = CaseFile(
            case_ref=case_ref, officer_id=officer_id, public_id=public_ids.fresh_ids(session, CaseFile, 1)[0]
        )
        session.add(found)
        session.flush()
    return found


class RequestBatch(list):
    """The requests ``create_requests`` made (a list), with ``delivery``: what happens to them."""

    delivery: DeliverySummary


def _shared_detail(value: object) -> str | None:
    text = _text(value, "shared_detail", "detail for the owner", SHARED_DETAIL_MAX, required=False)
    try:  # told to the owner in an email or text: no links, addresses or logins
        return free_text.check(text, "shared_detail") if text is not None else None
    except ValueError as exc:
        raise CaseworkError("shared_detail", str(exc)) from None


def footage_at_risk(incident_from: dt.datetime, now: dt.datetime, retention_days: int | None) -> bool:
    """True when footage from ``incident_from`` may be overwritten within 48 hours of ``now`` (or
    already has been): ``incident_from + retention_days - now < 48 h``. Unknown retention: False.

    >>> t0 = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    >>> footage_at_risk(t0, t0 + dt.timedelta(days=6, hours=1), 7), footage_at_risk(t0, t0 + dt.timedelta(days=4), 7)
    (True, False)
    """
    if retention_days is None:
        return False
    retained_until = incident_from + dt.timedelta(days=int(retention_days))
    return retained_until - now < dt.timedelta(hours=AT_RISK_HOURS)


def _live_messages(session: Session, response_id: int, kind: str) -> int:
    return session.execute(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.response_id == response_id,
            OutboxMessage.kind == kind,
            OutboxMessage.state.in_(LIVE_MESSAGE_STATES),
        )
    ).scalar_one()


def _plan_delivery(
    session: Session,
    user_id: int,
    case: str,
    requests: list[FootageRequest],
    retention: dict[int, int | None],
    now: dt.datetime,
    channels: Channels,
    shared_detail: str | None,
    preservation: bool,
) -> tuple[DeliverySummary, list[FootageResponse]]:
    """Group ``requests`` by owner into responses and queue their messages (see ``create_requests``)."""
    owners = {
        int(camera_id): row
        for camera_id, *row in session.execute(
            sa.select(Camera.id, Registrant.id, Registrant.preferred_channel, Registrant.email, Registrant.phone)
            .join(Site, Site.id == Camera.site_id)
            .join(Registrant, Registrant.id == Site.registrant_id)
            .where(Camera.id.in_([r.camera_id for r in requests]))
        )
    }
    groups: dict[int, list[FootageRequest]] = {}
    for request in requests:
        groups.setdefault(int(owners[request.camera_id][0]), []).append(request)
    summary = DeliverySummary(recorded=len(requests), no_service=not channels.any)
    responses: list[FootageResponse] = []
    at_risk_anywhere = False
    for registrant_id, group in groups.items():
        _rid, preferred, email, phone = owners[group[0].camera_id]
        response = session.scalars(
            sa.select(FootageResponse)
            .where(
                FootageResponse.case_ref == case,
                FootageResponse.registrant_id == registrant_id,
                FootageResponse.answered_at.is_(None),
                sa.or_(FootageResponse.link_expires_at.is_(None), FootageResponse.link_expires_at > now),
            )
            .order_by(FootageResponse.id.desc())
            .limit(1)
        ).first()
        if response is None:
            response = FootageResponse(
                case_ref=case,
                registrant_id=registrant_id,
                requested_by_id=user_id,
                shared_detail=shared_detail,
                created_at=now,
            )
            session.add(response)
            session.flush()
        elif shared_detail and not response.shared_detail:
            response.shared_detail = shared_detail
        responses.append(response)
        for request in group:
            request.response_id = response.id
        channel = choose(preferred, email, phone, channels)
        at_risk = any(footage_at_risk(r.incident_from, now, retention.get(r.camera_id)) for r in group)
        at_risk_anywhere |= at_risk
        if channel is None:
            outcome = no_channel_reason(preferred, channels)
            if outcome == "phone_preferred":
                summary.phone_preferred += len(group)
                summary.phone_owners += 1
            else:
                summary.not_delivered += len(group)
                summary.undelivered_owners += 1
        else:
            # The urgent notice (once per owner and case), also to an owner whose request is already on its way.
            if preservation and at_risk and not _live_messages(session, response.id, "preservation"):
                session.add(
                    OutboxMessage(
                        response_id=response.id,
                        kind="preservation",
                        channel=channel,
                        priority=0,
                        state="queued",
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
                summary.preservation += 1
            if _live_messages(session, response.id, "request"):
                outcome = "joined"  # the owner's link (sent or about to be) shows these cameras too
                summary.joined += len(group)
            else:
                outcome = channel
                session.add(
                    OutboxMessage(
                        response_id=response.id,
                        kind="request",
                        channel=channel,
                        priority=1,
                        state="queued",
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
                if channel == "email":
                    summary.email += len(group)
                else:
                    summary.text += len(group)
        for request in group:
            summary.by_request[request.id] = outcome
    summary.preservation_not_at_risk = preservation and not at_risk_anywhere
    session.flush()
    return summary, responses


def send_preservation_notice(
    session: Session, actor: audit.Actor, *, request_id: int, now: dt.datetime, channels: Channels | None
) -> OutboxMessage:
    """Queue an urgent "please keep your footage" notice to the owner of one of the officer's own
    requests (from My cases), before or after the request itself.

    Refused (CaseworkError, nothing written): a request that does not exist or is another officer's
    (the same message for both, field ``request_id``); a request no longer open, or whose owner has
    answered or withdrawn; an owner who cannot be reached by a service set up (or asked to be
    phoned); a notice already queued or sent to this owner for this case. Queues the message with
    priority 0 (before any queued request) and writes the audit event ``preservation_requested``.
    """
    user = _user(session, actor, CASEWORK_ROLES, "send an urgent notice")
    if isinstance(request_id, bool) or not isinstance(request_id, numbers.Integral):
        raise CaseworkError("request_id", f"{request_id!r} is not a valid request id.")
    at = _aware(now, "now", "time of sending")
    hold_write_lock(session)
    request = session.get(FootageRequest, int(request_id))
    if request is None or request.requested_by_id != user.id:
        raise CaseworkError("request_id", "There is no such footage request among yours.")
    if request.status not in ("sent", "no_response"):
        raise CaseworkError(
            "request",
            f"Request {request.public_id} is {REQUEST_STATUSES[request.status].lower()}: no notice is needed.",
        )
    response = request.response
    if response is None:
        raise CaseworkError("request", f"Request {request.public_id} has no owner's response to send to.")
    if response.answered_at is not None:
        raise CaseworkError("request", "The owner has already answered this request.")
    owner = session.get(Registrant, response.registrant_id)
    if owner is None or owner.status != "active":
        raise CaseworkError("request", "The owner has withdrawn from the register: nothing can be sent.")
    channel = choose(owner.preferred_channel, owner.email, owner.phone, channels or Channels())
    if channel is None:
        why = no_channel_reason(owner.preferred_channel, channels or Channels())
        message = {
            "phone_preferred": "The owner asked to be phoned: ring them instead (show their contact details).",
            "no_service": "No email or text service is set up: ring the owner instead.",
        }.get(why, "The owner has no email address or mobile number for the services set up: ring them instead.")
        raise CaseworkError("request", message)
    if _live_messages(session, response.id, "preservation"):
        raise CaseworkError("request", "An urgent notice has already been queued or sent to this owner for this case.")
    message = OutboxMessage(
        response_id=response.id,
        kind="preservation",
        channel=channel,
        priority=0,
        state="queued",
        attempts=0,
        next_attempt_at=at,
        created_at=at,
    )
    session.add(message)
    session.flush()
    audit.record(
        session,
        actor,
        "preservation_requested",
        case_ref=request.case_ref,
        reason="Footage may be overwritten soon: urgent notice to the owner",
        subject_ids=[request.camera_id],
        detail={"request_id": request.id, "response": response.public_id, "channel": channel, "message_id": message.id},
    )
    return message


def own_request(session: Session, actor: audit.Actor, typed: object, *, admin_too: bool = False) -> int:
    """The internal id of the footage request ``typed`` (its public id, as the user gave it) when it
    is the user's own (or any, for an administrator with ``admin_too``). An unknown id and another
    officer's request get the same refusal, worded alike, and both are logged as ``request_refused``
    (why ``no_such_request`` / ``not_your_request``): a guess at other officers' requests is seen by
    the auditor and learns nothing of whether the request exists."""
    shown = public_ids.normalise(typed if isinstance(typed, str) else None, public_ids.REQUEST_PREFIX)
    internal = public_ids.requests_to_internal(session, [shown]).get(shown) if shown else None
    row = (
        session.execute(
            sa.select(FootageRequest.requested_by_id, FootageRequest.case_ref, FootageRequest.camera_id).where(
                FootageRequest.id == internal
            )
        ).first()
        if internal is not None
        else None
    )
    if row is not None and (row.requested_by_id == actor.user_id or (admin_too and actor.role == "admin")):
        return internal
    refuse(
        session,
        actor,
        "request_refused",
        field="request_id",
        message=f"There is no footage request {str(shown or typed)[:20]} among yours.",
        why="no_such_request" if row is None else "not_your_request",
        case_ref=None,
        reason=None,
        subject_ids=[row.camera_id] if row is not None else None,
        detail={"request": str(shown or typed)[:20], **({"request_case": row.case_ref} if row is not None else {})},
    )


def change_status(
    session: Session,
    actor: audit.Actor,
    *,
    request_id: int,
    new_status: str,
    note: str | None = None,
    footage_useful: bool | None = None,
    now: dt.datetime,
) -> FootageRequest:
    """Move a request to ``new_status`` at ``now``, as allowed by ``REQUEST_TRANSITIONS``.

    Only the officer who made the request, or an admin, may change it (field ``request``
    otherwise). ``footage_useful`` may be given only with ``footage_provided``. ``now`` may
    not be earlier than the request's last change. Appends a ``FootageRequestEvent`` and
    the audit event ``request_status`` (``reason`` is the note; ``detail`` from/to).
    """
    user = _user(session, actor, None, "change a footage request")
    if isinstance(request_id, bool) or not isinstance(request_id, numbers.Integral):
        raise CaseworkError("request_id", f"{request_id!r} is not a valid request id.")
    hold_write_lock(session)  # SQLite: no other writer until commit; PostgreSQL: the row lock below
    request = session.get(FootageRequest, int(request_id), with_for_update=True, populate_existing=True)
    if request is None or (request.requested_by_id != user.id and user.role != "admin"):
        # The same refusal as for an unknown id, logged (own_request, which callers use first).
        own_request(session, actor, request.public_id if request is not None else str(request_id), admin_too=True)
    if new_status not in REQUEST_STATUSES:
        raise CaseworkError(
            "new_status", f"{new_status!r} is not a request status; use one of {', '.join(REQUEST_STATUSES)}."
        )
    if new_status not in REQUEST_TRANSITIONS[request.status]:
        raise CaseworkError(
            "new_status",
            f"A request that is {REQUEST_STATUSES[request.status].lower()!r} cannot "
            f"become {REQUEST_STATUSES[new_status].lower()!r}.",
        )
    if footage_useful is not None and (not isinstance(footage_useful, bool) or new_status != "footage_provided"):
        raise CaseworkError("footage_useful", "Usefulness (yes or no) can only be recorded with 'footage provided'.")
    text = _text(note, "note", "note", NOTE_MAX, required=False)
    try:  # an owner's answer may quote their camera's app: no stream link or login is kept (promise 1)
        free_text.check(text, "note")
    except ValueError as exc:
        raise CaseworkError("note", str(exc)) from None
    at = _aware(now, "now", "time of the change")
    if at < request.status_changed_at:
        raise CaseworkError(
            "now",
            f"The change at {_iso(at)} would come before the request's last change "
            f"({_iso(request.status_changed_at)}).",
        )

    previous = request.status
    request.status = new_status
    request.status_changed_at = at
    if new_status == "footage_provided":
        request.footage_useful = footage_useful
    request.events.append(FootageRequestEvent(status=new_status, at=at, by_user_id=user.id, note=text))
    session.flush()
    audit.record(
        session,
        actor,
        "request_status",
        case_ref=request.case_ref,
        reason=text,
        subject_ids=[request.camera_id],
        detail={
            "request_id": request.id,
            "from": previous,
            "to": new_status,
            "footage_useful": footage_useful,
            "at": _iso(at),
        },
    )
    return request


# --------------------------------------------------------------------------- case views


def _utc_column(values: list) -> pd.Series:
    return pd.Series(pd.to_datetime(pd.Series(values, dtype=object), utc=True), dtype="datetime64[us, UTC]")


def my_cases(session: Session, user_id: int) -> pd.DataFrame:
    """The cases in which ``user_id`` made requests, newest activity first.

    Counts only that user's own requests: ``requests`` (all), ``open`` (status ``sent``),
    ``provided`` (``footage_provided``); ``last_activity`` is the latest send or status
    change among them (aware UTC). Columns ``MY_CASES_COLUMNS``.
    """
    is_sent = sa.case((FootageRequest.status == "sent", 1), else_=0)
    is_provided = sa.case((FootageRequest.status == "footage_provided", 1), else_=0)
    rows = session.execute(
        sa.select(
            FootageRequest.case_ref,
            sa.func.count(),
            sa.func.sum(is_sent),
            sa.func.sum(is_provided),
            sa.func.max(FootageRequest.sent_at),
            sa.func.max(FootageRequest.status_changed_at),
        )
        .where(FootageRequest.requested_by_id == user_id)
        .group_by(FootageRequest.case_ref)
    ).all()
    frame = pd.DataFrame(
        {
            "case_ref": pd.array([r[0] for r in rows], dtype="str"),
            "requests": pd.array([int(r[1]) for r in rows], dtype="int64"),
            "open": pd.array([int(r[2]) for r in rows], dtype="int64"),
            "provided": pd.array([int(r[3]) for r in rows], dtype="int64"),
            "last_activity": _utc_column([max(r[4], r[5]) for r in rows]),
        },
        columns=MY_CASES_COLUMNS,
    )
    return frame.sort_values(["last_activity", "case_ref"], ascending=[False, True], ignore_index=True)


def case_requests(session: Session, case_ref: str, *, user_id: int | None = None) -> pd.DataFrame:
    """The requests of one case (all officers', or only ``user_id``'s), oldest first.

    No owner contact details: these come only through ``reveal_contacts`` or
    ``export_case_csv``, which are audited. Columns ``CASE_REQUEST_COLUMNS``; times are
    aware UTC, ``kind`` the camera's kind, ``footage_useful`` a nullable boolean,
    ``requested_by`` a username; ``request_public_id`` and ``camera_public_id`` are what the officer
    is shown (the integer ids are internal: ``public_ids``).
    """
    statement = (
        sa.select(
            FootageRequest.id,
            FootageRequest.camera_id,
            Camera.kind,
            FootageRequest.status,
            FootageRequest.sent_at,
            FootageRequest.status_changed_at,
            FootageRequest.footage_likely_overwritten,
            FootageRequest.footage_useful,
            FootageRequest.incident_from,
            FootageRequest.incident_to,
            FootageRequest.incident_district_code,
            User.username,
            FootageRequest.public_id,
            Camera.public_id,
        )
        .join(Camera, Camera.id == FootageRequest.camera_id)
        .join(User, User.id == FootageRequest.requested_by_id)
        .where(FootageRequest.case_ref == case_ref)
        .order_by(FootageRequest.id)
    )
    if user_id is not None:
        statement = statement.where(FootageRequest.requested_by_id == user_id)
    rows = session.execute(statement).all()
    column = {name: [r[i] for r in rows] for i, name in enumerate(CASE_REQUEST_COLUMNS)}
    return pd.DataFrame(
        {
            "request_id": pd.array(column["request_id"], dtype="int64"),
            "camera_id": pd.array(column["camera_id"], dtype="int64"),
            "kind": pd.array(column["kind"], dtype="str"),
            "status": pd.array(column["status"], dtype="str"),
            "sent_at": _utc_column(column["sent_at"]),
            "status_changed_at": _utc_column(column["status_changed_at"]),
            "footage_likely_overwritten": pd.array(column["footage_likely_overwritten"], dtype="bool"),
            "footage_useful": pd.array(column["footage_useful"], dtype="boolean"),
            "incident_from": _utc_column(column["incident_from"]),
            "incident_to": _utc_column(column["incident_to"]),
            "district": pd.array(column["district"], dtype="str"),
            "requested_by": pd.array(column["requested_by"], dtype="str"),
            "request_public_id": pd.array(column["request_public_id"], dtype="str"),
            "camera_public_id": pd.array(column["camera_public_id"], dtype="str"),
        },
        columns=CASE_REQUEST_COLUMNS,
    )


@dataclass(frozen=True)
class RequestProgress:
    """What became of one footage request on its way to the owner and back (the officer's view).

    ``delivery``: 'queued' (waiting or retrying), 'sending', 'sent' (handed to the email relay or to
    GOV.UK Notify), 'failed' (given up: ``error``), 'cancelled' (the owner withdrew or answered
    first), 'not_sent' (``not_sent_reason``: 'phone_preferred', or 'no_channel'), or 'none' (made
    before requests were delivered). ``retry_at``: the next attempt of a queued message that failed
    before (``error`` says why). ``answer``: 'footage', 'nothing' or 'declined'.
    """

    request_id: int
    request_public_id: str
    case_ref: str
    response_public_id: str | None
    delivery: str
    channel: str | None
    sent_at: dt.datetime | None
    attempts: int
    error: str | None
    retry_at: dt.datetime | None
    not_sent_reason: str | None
    preservation: str | None  # the urgent notice's state, None when none was asked for
    preservation_sent_at: dt.datetime | None
    opened_at: dt.datetime | None
    answer: str | None
    answered_at: dt.datetime | None
    files_stored: int


def request_progress(
    session: Session, user_id: int, *, case_ref: str | None = None, request_ids: Iterable[int] | None = None
) -> list[RequestProgress]:
    """The progress of ``user_id``'s own requests (in ``case_ref``, or those of ``request_ids``),
    oldest first: three small queries, cheap enough to poll. Another officer's requests are never
    included. No contact details."""
    query = (
        sa.select(
            FootageRequest.id,
            FootageRequest.public_id,
            FootageRequest.case_ref,
            FootageRequest.response_id,
            FootageResponse.public_id,
            FootageResponse.first_opened_at,
            FootageResponse.answer,
            FootageResponse.answered_at,
            Registrant.preferred_channel,
        )
        .outerjoin(FootageResponse, FootageResponse.id == FootageRequest.response_id)
        .outerjoin(Registrant, Registrant.id == FootageResponse.registrant_id)
        .where(FootageRequest.requested_by_id == user_id)
        .order_by(FootageRequest.id)
    )
    if case_ref is not None:
        query = query.where(FootageRequest.case_ref == case_ref)
    if request_ids is not None:
        query = query.where(FootageRequest.id.in_([int(i) for i in request_ids]))
    rows = session.execute(query).all()
    response_ids = sorted({int(r[3]) for r in rows if r[3] is not None})
    latest: dict[tuple[int, str], OutboxMessage] = {}
    files: dict[int, int] = {}
    if response_ids:
        for m in session.execute(
            sa.select(
                OutboxMessage.response_id,
                OutboxMessage.kind,
                OutboxMessage.state,
                OutboxMessage.channel,
                OutboxMessage.sent_at,
                OutboxMessage.attempts,
                OutboxMessage.last_error,
                OutboxMessage.next_attempt_at,
            )
            .where(OutboxMessage.response_id.in_(response_ids))
            .order_by(OutboxMessage.id)
        ):
            latest[(int(m.response_id), m.kind)] = m  # the newest of each kind wins
        files = {
            int(rid): int(n)
            for rid, n in session.execute(
                sa.select(EvidenceFile.response_id, sa.func.count())
                .where(EvidenceFile.response_id.in_(response_ids), EvidenceFile.state == "stored")
                .group_by(EvidenceFile.response_id)
            )
        }
    out = []
    for rid, public, case, response_id, response_public, opened, answer, answered, preferred in rows:
        message = latest.get((int(response_id), "request")) if response_id is not None else None
        notice = latest.get((int(response_id), "preservation")) if response_id is not None else None
        if response_id is None:
            delivery, reason = "none", None
        elif message is None:
            delivery, reason = "not_sent", ("phone_preferred" if preferred == "phone" else "no_channel")
        else:
            delivery = {"handed_over": "sent"}.get(message.state, message.state)
            reason = None
        out.append(
            RequestProgress(
                request_id=int(rid),
                request_public_id=public,
                case_ref=case,
                response_public_id=response_public,
                delivery=delivery,
                channel=message.channel if message is not None else None,
                sent_at=message.sent_at if message is not None else None,
                attempts=int(message.attempts) if message is not None else 0,
                error=message.last_error
                if message is not None and message.state in ("queued", "failed", "cancelled", "sent")
                else None,
                retry_at=message.next_attempt_at
                if message is not None and message.state == "queued" and message.attempts
                else None,
                not_sent_reason=reason,
                preservation={"handed_over": "sent"}.get(notice.state, notice.state) if notice is not None else None,
                preservation_sent_at=notice.sent_at if notice is not None else None,
                opened_at=opened,
                answer=answer,
                answered_at=answered,
                files_stored=files.get(int(response_id), 0) if response_id is not None else 0,
            )
        )
    return out


# --------------------------------------------------------------------------- export


def csv_safe(value: object) -> str:
    """A cell that a spreadsheet will show as text, never run as a formula.

    >>> csv_safe("=1+1"), csv_safe("+44 7700 900123"), csv_safe("Ann"), csv_safe(None), csv_safe(12)
    ("'=1+1", "'+44 7700 900123", 'Ann', '', '12')
    """
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def export_case_csv(session: Session, actor: audit.Actor, *, case_ref: str, reason: str) -> str:
    """CSV text of the officer's own requests in a case with the owners' contact details, logged
    as a disclosure.

    One row per request the officer made in the case (every status), oldest first, with the
    columns ``CSV_COLUMNS``: another officer's requests under the same reference are never
    exported to them. Where the registrant has withdrawn, ``name`` reads "withdrawn, details
    erased" and the other contact cells are empty. Every cell is neutralised against CSV
    injection (``csv_safe``). Writes the audit event ``export`` with the cameras whose details
    were disclosed as ``subject_ids``.

    Refused and logged (``export_refused``): a case in which the officer made no request, with
    one message whether the reference is unknown or another officer's (the answer tells nothing
    about other officers' cases); a request for a camera that the officer's own searches in the
    case never returned (made before requests were checked against searches).
    """
    user = _user(session, actor, CASEWORK_ROLES, "export owner contact details")
    case = _case_ref(case_ref)
    why = _reason(reason)
    rows = session.execute(
        sa.select(
            FootageRequest.id,
            FootageRequest.camera_id,
            FootageRequest.status,
            Registrant.status,
            Registrant.name,
            Registrant.preferred_channel,
            Registrant.email,
            Registrant.phone,
            Site.address,
            Site.postcode,
            FootageRequest.public_id,
            Camera.public_id,
        )
        .join(Camera, Camera.id == FootageRequest.camera_id)
        .outerjoin(Site, Site.id == Camera.site_id)
        .outerjoin(Registrant, Registrant.id == Site.registrant_id)
        .where(FootageRequest.case_ref == case, FootageRequest.requested_by_id == user.id)
        .order_by(FootageRequest.id)
    ).all()
    if not rows:
        refuse(
            session,
            actor,
            "export_refused",
            field="case_ref",
            why="no_case",
            case_ref=case,
            reason=why,
            message=f"You have no footage requests in case {case} to export; you can export only cases "
            "in which you sent requests yourself.",
        )
    _require_searched(
        session,
        actor,
        user.id,
        "export_refused",
        case_ref=case,
        reason=why,
        camera_ids=list(dict.fromkeys(int(r[1]) for r in rows)),
        since=None,
        valid_days=None,
    )

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    disclosed: list[int] = []
    for _request_id, camera_id, status, registrant_status, *contact, request_public, camera_public in rows:
        if registrant_status == "active":
            disclosed.append(int(camera_id))
            cells = contact
        else:
            cells = [ERASED] + [None] * (len(contact) - 1)
        # The random public ids: the integer ids are sequential and would date the registrations.
        writer.writerow([csv_safe(v) for v in (request_public, camera_public, status, *cells)])
    audit.record(
        session,
        actor,
        "export",
        case_ref=case,
        reason=why,
        subject_ids=list(dict.fromkeys(disclosed)),
        detail={"rows": len(rows), "erased_rows": len(rows) - len(disclosed), "request_ids": [int(r[0]) for r in rows]},
    )
    return out.getvalue()
