"""The owner's side of a footage request in the API (no login: the private response link's token
is the key), for a force's own app or a partner's: read the request, send the answer. Files go
up through the tus endpoints under ``/respond/<token>/files`` (described in the README), as the
page's do. The same domain code as the page (``footage.responses``), so the same checks.
"""

from __future__ import annotations

from dashboard.api import blueprint
from dashboard.api.endpoints import PUBLIC, ApiError, endpoint
from dashboard.api.schemas import AnswerIn, ResponseCamera, ResponseFile, ResponseOut
from dashboard.footage import links, responses
from dashboard.footage.uploads import Uploads, drop_files
from dashboard.registry.database import transaction
from dashboard.registry.models import utcnow
from dashboard.runtime_access import runtime

DEAD = (
    (404, "The link does not open a request"),
    (410, "The link has expired, or the request was already answered with it"),
)
STATUS = {"unknown": 404, "expired": 410, "answered": 410, "withdrawn": 410, "closed": 410}


def _out(shown: responses.ResponseView) -> ResponseOut:
    return ResponseOut(
        reference=shown.public_id,
        case_ref=shown.case_ref,
        window_from=shown.window_from,
        window_to=shown.window_to,
        window_text=shown.window_text,
        shared_detail=shown.shared_detail,
        cameras=[ResponseCamera(camera_id=c.public_id, description=c.label) for c in shown.cameras],
        link_expires_at=shown.link_expires_at,
        answer=shown.answer,
        answered_at=shown.answered_at,
        files=[
            ResponseFile(
                upload_key=f.upload_key,
                name=f.name,
                caption=f.caption,
                size=f.size,
                received=f.received,
                state=f.state,
                sha256=f.sha256,
                refusal=f.refusal,
            )
            for f in shown.files
        ],
    )


def _dead(exc: links.LinkError) -> ApiError:
    return ApiError(STATUS[exc.kind], exc.message, [{"field": "token", "message": exc.message}])


@blueprint.get("/responses/<token>")
@endpoint(
    "GET",
    "/api/v1/responses/{token}",
    summary="A footage request, as its owner sees it (public: the private response link's token)",
    roles=(PUBLIC,),
    response=ResponseOut,
    path_params=("token",),
    more_responses=DEAD,
)
def read_response(token: str):
    try:
        with transaction(runtime().sessions) as s:
            return _out(responses.view(responses.open_page(s, token, utcnow())))
    except links.LinkError as exc:
        raise _dead(exc) from None


@blueprint.post("/responses/<token>/answer")
@endpoint(
    "POST",
    "/api/v1/responses/{token}/answer",
    summary="The owner's answer to a footage request (public: the private response link's token; the link is spent)",
    roles=(PUBLIC,),
    body=AnswerIn,
    response=ResponseOut,
    path_params=("token",),
    more_responses=DEAD,
)
def answer_response(token: str, body: AnswerIn):
    direction = body.clock_direction
    form = {
        "clock_direction": direction,
        "clock_minutes": "" if body.clock_minutes is None else str(body.clock_minutes),
        "clock_seconds": "" if body.clock_seconds is None else str(body.clock_seconds),
        "copy_made_myself": "yes" if body.copy_made_by_owner else "",
        "copy_made_at": body.copy_made_at or "",  # aware: kept as given (no round trip through UK wall time)
        "signed_name": body.signed_name or "",
        "owner_note": body.note or "",
    }
    try:
        rt = runtime()
        with transaction(rt.sessions) as s:
            done, let_go = responses.submit(s, token, utcnow(), body.answer, form)
            out = _out(responses.view(done))
        drop_files(Uploads.from_settings(rt.sessions, rt.settings), let_go)
        return out
    except links.LinkError as exc:
        raise _dead(exc) from None
    except responses.StatementError as exc:
        names = {"copy_made_myself": "copy_made_by_owner", "owner_note": "note"}
        raise ApiError(
            422,
            "The answer was not accepted.",
            [{"field": names.get(f, f), "message": m} for f, m in exc.errors.items()],
        ) from None
