"""The JSON API (``/api/v1``): a Flask blueprint; bearer tokens or a logged-in session.

Every route is declared with ``@endpoint`` (roles, request and response schemas), and the
OpenAPI document at /api/v1/openapi.json is generated from those same declarations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson
import pandas as pd
import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify
from flask_login import current_user

from dashboard.analytics.coverage import HOUSEHOLDS_SOURCE, LEVELS_NOTE
from dashboard.analytics.overview import LEVELS_NOTE as OVERVIEW_NOTE
from dashboard.analytics.overview import district_table, districts_covered, headline
from dashboard.analytics.rounding import rounded_json
from dashboard.api.endpoints import PUBLIC, ApiError, endpoint, openapi_document
from dashboard.api.near_json import near_cameras_json
from dashboard.api.schemas import (
    CaseQuery,
    CoverageAreas,
    CoverageAreasQuery,
    CoverageCells,
    CoverageCellsQuery,
    DeliveryOut,
    NearQuery,
    NearResponse,
    RegistrationOut,
    RequestCreate,
    RequestList,
    RequestOut,
    RequestProgressOut,
    RequestsCreated,
    RequestStatusUpdate,
)
from dashboard.core.vocab import ROLES
from dashboard.figures import areas_for, cells_document
from dashboard.geo.locate import LocationError, point_from_map
from dashboard.registry import casework, public_ids, registration
from dashboard.registry.camera_search import SearchRequest, find_cameras
from dashboard.registry.channels import Channels
from dashboard.registry.database import transaction
from dashboard.registry.models import FootageRequest, utcnow
from dashboard.registry.queries import registry_summary
from dashboard.registry.registration import RegistrationIn
from dashboard.runtime_access import runtime, search_quota

blueprint = Blueprint("api_v1", __name__, url_prefix="/api/v1")


@dataclass(frozen=True)
class ApiWiring:
    """What the API takes from the public side, which sits above it (``dashboard.public`` imports the
    API): ``create_app`` puts one in ``server.extensions["ccr_api"]``."""

    # called after a registration is committed (a repeat's earlier owner is told: dashboard.public.duplicates)
    after_registering: Callable[..., None]
    # more paths for the OpenAPI document (the owner's tus uploads: dashboard.public.tus)
    openapi_paths: Callable[[], dict]


def _wiring() -> ApiWiring:
    return current_app.extensions["ccr_api"]


OFFICERS = ("officer",)


@blueprint.get("/summary")
@endpoint(
    "GET",
    "/api/v1/summary",
    summary="Headline figures of the register (through the disclosure-control layer)",
    roles=ROLES,
)
def summary():
    rt = runtime()
    layer = rt.disclosure
    now = utcnow()
    with rt.sessions() as s:
        result = registry_summary(s, now)
    table = district_table(result.by_district, rt.reference.districts, layer)
    figures = headline(result, layer)

    def number(v, kind=int):
        return None if v is None or pd.isna(v) else kind(v)

    return rounded_json(
        {
            "as_of": now.isoformat(timespec="seconds"),
            "k_min": layer.k,
            "note": f"{layer.describe()} {OVERVIEW_NOTE}",
            "active_registrations": figures.active_registrations,
            "active_cameras": figures.active_cameras,
            "registrations_last_7_days": figures.registrations_last_7_days,
            "recent_days_from": figures.first_recent_day.isoformat(),
            "districts_covered": districts_covered(table),
            "districts": [
                {
                    "code": r.code,
                    "name": r.name,
                    "households": number(r.households),
                    "registrations": number(r.registrations),
                    "cameras": number(r.cameras),
                    "registrations_per_1000": number(r.registrations_per_1000, float),
                }
                for r in table.itertuples()
            ],
        }
    )


def _incident_point(lat: float, lon: float, field: str):
    """The incident as a point in the force area, or a 422 naming ``field``."""
    try:
        return point_from_map(lat, lon, runtime().reference)
    except LocationError as exc:
        raise ApiError(422, "Some fields are not valid.", [{"field": field, "message": str(exc)}]) from None


@blueprint.get("/cameras/near")
@endpoint(
    "GET",
    "/api/v1/cameras/near",
    summary="Registered cameras near an incident, best chances first",
    roles=OFFICERS,
    query=NearQuery,
    response=NearResponse,
    limited=True,
)
def cameras_near(query: NearQuery):
    rt = runtime()
    point = _incident_point(query.lat, query.lon, "lat")
    req = SearchRequest(
        point.lat, point.lon, point.easting_m, point.northing_m, query.radius_m, query.at, query.case_ref, query.reason
    )
    try:
        with transaction(rt.sessions) as s:
            outcome = find_cameras(
                rt.finder, s, current_user.actor, req, source="api", now=utcnow(), quota=search_quota()
            )
            # Shown by their random public ids: the integer ids are sequential (they date the registrations).
            shown = outcome.shown(s)
    except casework.CaseworkError as exc:  # refused and logged: a reason that says nothing, or too many searches
        status = 429 if getattr(exc, "why", None) == "rate_limit" else 422
        raise ApiError(status, str(exc), [{"field": exc.field, "message": str(exc)}]) from None
    # NearResponse's shape, with the cameras encoded column-wise (near_json): hundreds of pydantic
    # objects or dicts per search cost more than the search itself. The tests check it against the model.
    return {
        "lat": query.lat,
        "lon": query.lon,
        "radius_m": query.radius_m,
        "at": query.at.isoformat(),
        "case_ref": query.case_ref,
        "count": len(outcome.results),
        "within_radius": outcome.within_radius,
        "cameras": orjson.Fragment(near_cameras_json(shown)),
    }


def _request_out(r: FootageRequest, cameras: dict[int, str]) -> RequestOut:
    return RequestOut(
        request_id=r.public_id,
        case_ref=r.case_ref,
        camera_id=cameras.get(r.camera_id, public_ids.ERASED),
        status=r.status,
        sent_at=r.sent_at,
        status_changed_at=r.status_changed_at,
        footage_likely_overwritten=r.footage_likely_overwritten,
        footage_useful=r.footage_useful,
    )


def _requests_out(s, rows) -> list[RequestOut]:
    cameras = public_ids.cameras_to_public(s, [r.camera_id for r in rows])
    return [_request_out(r, cameras) for r in rows]


def _internal_cameras(s, shown: list[str]) -> list[int]:
    """The internal ids of cameras named by their public ids; an unknown one is a 422."""
    found = public_ids.cameras_to_internal(s, shown)
    unknown = [i for i in shown if i not in found]
    if unknown:
        message = (
            f"No camera with the id{'s' if len(unknown) > 1 else ''} {', '.join(unknown[:5])} is on the "
            "register; give the ids your search showed."
        )
        raise ApiError(422, message, [{"field": "camera_ids", "message": message}])
    return [found[i] for i in shown]


@blueprint.post("/requests")
@endpoint(
    "POST",
    "/api/v1/requests",
    summary="Create footage requests for cameras under a case reference; they are "
    "sent to the owners by email or text where a service is set up (see 'delivery')",
    roles=OFFICERS,
    body=RequestCreate,
    response=RequestsCreated,
    status=201,
)
def create_requests(body: RequestCreate):
    rt = runtime()
    point = _incident_point(body.incident_lat, body.incident_lon, "incident_lat")
    try:
        with transaction(rt.sessions) as s:
            created = casework.create_requests(
                s,
                current_user.actor,
                case_ref=body.case_ref,
                reason=body.reason,
                camera_ids=_internal_cameras(s, body.camera_ids),
                incident_lat=point.lat,
                incident_lon=point.lon,
                incident_district_code=point.district_code,
                crime_category=body.crime_category,
                incident_from=body.incident_from,
                incident_to=body.incident_to,
                now=utcnow(),
                search_valid_days=rt.settings.search_valid_days,
                channels=Channels.from_settings(rt.settings),
                shared_detail=body.shared_detail,
                preservation=body.preservation_notice,
            )
            out = _requests_out(s, created)
    except casework.CaseworkRefused as exc:  # logged: cameras not found by this officer's searches in the case
        raise ApiError(403, str(exc), [{"field": exc.field, "message": str(exc)}]) from None
    except casework.CaseworkError as exc:
        raise ApiError(422, "The requests were not created.", [{"field": exc.field, "message": str(exc)}]) from None
    _wake_outbox()
    return RequestsCreated(
        case_ref=body.case_ref, count=len(out), requests=out, delivery=DeliveryOut(**created.delivery.as_dict())
    )


def _wake_outbox() -> None:
    from dashboard.delivery.worker import wake

    wake()


def _own_request(s, request_id: str, *, admin_too: bool = False) -> int:
    """The internal id of one of the caller's own requests; 404 (the same answer, logged) for an
    unknown request and for another officer's (``casework.own_request``)."""
    try:
        return casework.own_request(s, current_user.actor, request_id, admin_too=admin_too)
    except casework.CaseworkRefused as exc:
        raise ApiError(404, exc.message, [{"field": "request_id", "message": exc.message}]) from None


def _progress_out(p: casework.RequestProgress) -> RequestProgressOut:
    return RequestProgressOut(
        request_id=p.request_public_id,
        case_ref=p.case_ref,
        response_id=p.response_public_id,
        delivery=p.delivery,
        channel=p.channel,
        sent_at=p.sent_at,
        attempts=p.attempts,
        error=p.error,
        retry_at=p.retry_at,
        not_sent_reason=p.not_sent_reason,
        preservation_notice=p.preservation,
        preservation_sent_at=p.preservation_sent_at,
        opened_at=p.opened_at,
        answer=p.answer,
        answered_at=p.answered_at,
        files_stored=p.files_stored,
    )


@blueprint.get("/requests/<request_id>/progress")
@endpoint(
    "GET",
    "/api/v1/requests/{request_id}/progress",
    summary="One of your footage requests on its way to "
    "the owner and back: delivery, urgent notice, link opened, the owner's answer, files stored",
    roles=OFFICERS,
    response=RequestProgressOut,
    path_params=("request_id",),
)
def request_progress(request_id: str):
    rt = runtime()
    with rt.sessions() as s:
        internal = _own_request(s, request_id)
        [progress] = casework.request_progress(s, current_user.id, request_ids=[internal])
    return _progress_out(progress)


@blueprint.post("/requests/<request_id>/preservation-notice")
@endpoint(
    "POST",
    "/api/v1/requests/{request_id}/preservation-notice",
    summary="Send the owner of one of your requests an urgent 'please keep your footage' notice",
    roles=OFFICERS,
    response=RequestProgressOut,
    status=201,
    path_params=("request_id",),
)
def preservation_notice(request_id: str):
    rt = runtime()
    try:
        with transaction(rt.sessions) as s:
            internal = _own_request(s, request_id)
            casework.send_preservation_notice(
                s, current_user.actor, request_id=internal, now=utcnow(), channels=Channels.from_settings(rt.settings)
            )
    except casework.CaseworkError as exc:
        status = 404 if exc.field == "request_id" else 422
        raise ApiError(status, str(exc), [{"field": exc.field, "message": str(exc)}]) from None
    _wake_outbox()
    with rt.sessions() as s:
        [progress] = casework.request_progress(s, current_user.id, request_ids=[internal])
    return _progress_out(progress)


@blueprint.get("/requests")
@endpoint(
    "GET",
    "/api/v1/requests",
    summary="Your footage requests in a case",
    roles=OFFICERS,
    query=CaseQuery,
    response=RequestList,
)
def list_requests(query: CaseQuery):
    rt = runtime()
    with rt.sessions() as s:
        rows = s.scalars(
            sa.select(FootageRequest)
            .where(FootageRequest.case_ref == query.case_ref, FootageRequest.requested_by_id == current_user.id)
            .order_by(FootageRequest.id)
        ).all()
        out = _requests_out(s, rows)
    return RequestList(case_ref=query.case_ref, count=len(out), requests=out)


@blueprint.patch("/requests/<request_id>")
@endpoint(
    "PATCH",
    "/api/v1/requests/{request_id}",
    summary="Record the owner's answer to a footage request",
    roles=OFFICERS,
    body=RequestStatusUpdate,
    response=RequestOut,
    path_params=("request_id",),
)
def update_request(request_id: str, body: RequestStatusUpdate):
    rt = runtime()
    try:
        with transaction(rt.sessions) as s:
            internal = _own_request(s, request_id, admin_too=True)
            updated = casework.change_status(
                s,
                current_user.actor,
                request_id=internal,
                new_status=body.status,
                note=body.note,
                footage_useful=body.footage_useful,
                now=utcnow(),
            )
            out = _requests_out(s, [updated])[0]
    except casework.CaseworkError as exc:
        status = 404 if exc.field == "request_id" else 422
        raise ApiError(status, str(exc), [{"field": exc.field, "message": str(exc)}]) from None
    return out


@blueprint.post("/registrations")
@endpoint(
    "POST",
    "/api/v1/registrations",
    summary="Register a site and its cameras (public, no login)",
    roles=(PUBLIC,),
    body=RegistrationIn,
    response=RegistrationOut,
    status=201,
)
def create_registration(body: RegistrationIn):
    rt = runtime()
    with transaction(rt.sessions) as s:
        done = registration.register(s, body, rt.reference, via="api")
    _wiring().after_registering(rt, done)  # a repeat is answered as a first registration; its owner is told by email
    rt.finder.refresh()
    return RegistrationOut(
        reference=done.reference,
        cameras=done.cameras,
        management_token=done.token,
        management_url=f"{rt.settings.public_base_url}/manage/{done.token}",
    )


@blueprint.get("/coverage/cells")
@endpoint(
    "GET",
    "/api/v1/coverage/cells",
    summary="Active cameras per cell of the fixed H3 grid (through the "
    "disclosure-control layer; at most one camera filter; no date filter)",
    roles=("analyst", "lead"),
    query=CoverageCellsQuery,
    response=CoverageCells,
)
def coverage_cells(query: CoverageCellsQuery):
    return cells_document(query.res, query.kind, query.placement, query.direction_known)


@blueprint.get("/coverage/areas")
@endpoint(
    "GET",
    "/api/v1/coverage/areas",
    summary="Registrations, cameras, postcodes with a camera nearby and ground "
    "in view per district or LSOA (through the disclosure-control layer)",
    roles=("analyst", "lead"),
    query=CoverageAreasQuery,
    response=CoverageAreas,
)
def coverage_areas(query: CoverageAreasQuery):
    rt = runtime()
    table = areas_for(query.level, query.near_m)

    def number(v, kind=int):
        return None if pd.isna(v) else kind(v)

    rows = [
        {
            "code": r.code,
            "name": r.name,
            "households": number(r.households, lambda x: round(float(x), 1)),
            "registrations": number(r.registrations),
            "cameras": number(r.cameras),
            "registrations_per_1000": number(r.registrations_per_1000, float),
            "cameras_per_1000": number(r.cameras_per_1000, float),
            "postcodes": number(r.postcodes),
            "postcodes_near_share": number(r.share_postcodes_near, float),
            "area_km2": number(r.area_km2, float),
            "in_view_km2": number(r.in_view_km2, float),
            "in_view_share": number(r.share_in_view, float),
            "suppressed": bool(pd.isna(r.registrations)),
        }
        for r in table.itertuples()
    ]
    return rounded_json(
        {
            "level": query.level,
            "near_m": query.near_m,
            "k": rt.disclosure.k,
            "households_source": HOUSEHOLDS_SOURCE[query.level],
            "note": f"{rt.disclosure.describe()} {LEVELS_NOTE}",
            "areas": rows,
        }
    )


@blueprint.get("/openapi.json")
@endpoint("GET", "/api/v1/openapi.json", summary="This API's OpenAPI document", roles=ROLES)
def openapi():
    # The document depends only on the endpoints declared at import, so it is built once.
    global _OPENAPI
    if _OPENAPI is None:
        _OPENAPI = openapi_document("Community Camera Registry API", "1")
        _OPENAPI["paths"].update(_wiring().openapi_paths())  # the owner's uploads: tus, described beside the API
    return _OPENAPI


_OPENAPI: dict | None = None


@blueprint.errorhandler(404)
def not_found(_exc):
    response = jsonify(error="No such API route.")
    response.status_code = 404
    return response


@blueprint.errorhandler(405)
def not_allowed(exc):
    response = jsonify(error="This method is not allowed on this route.")
    response.status_code = 405
    if getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return response


# Imported for what importing does: registers the /metrics routes and the owner's side (/responses/<token>).
from dashboard.api import metrics, responses  # noqa: E402, F401
