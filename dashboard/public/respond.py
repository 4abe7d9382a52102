"""Routes of the owner's response page: ``/respond/<token>`` (the request, the uploads, the answer,
the receipt) and, from the owner's own ``/manage/<token>`` page, a fresh response link.

Thin: ``footage.responses`` does the work; the uploads themselves go to the tus endpoints
(``public/tus.py``). No login: the random link is the key (only its hash is stored).
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request
from flask_wtf.csrf import generate_csrf

from dashboard.evidence.retention import Periods, public_sentence
from dashboard.footage import links, responses
from dashboard.footage.uploads import Uploads, drop_files
from dashboard.public.views import EXPIRED, _csrf_ok, _own
from dashboard.registry import audit
from dashboard.registry.database import transaction
from dashboard.registry.models import FootageResponse, utcnow
from dashboard.registry.registration import PUBLIC
from dashboard.runtime_access import runtime

blueprint = Blueprint("respond", __name__)
DEAD_STATUS = {"unknown": 404, "expired": 410, "answered": 410, "withdrawn": 410, "closed": 410}


@blueprint.context_processor
def _force_name() -> dict:
    return {
        "force_name": runtime().brand.force_name,
        # FORCE_NAME names the force ("Staffordshire Police"); without it only the area's name is known.
        "force_is_named": bool(runtime().settings.force_name),
        "footage_kept": public_sentence(Periods.from_settings(runtime().settings)),
    }


def _dead(exc: links.LinkError) -> tuple[str, int]:
    return render_template("public/response_dead.html", message=exc.message, kind=exc.kind), DEAD_STATUS[exc.kind]


def _limits() -> dict:
    st = runtime().settings
    return {
        "max_files": st.upload_max_files,
        "max_file_bytes": st.upload_max_file_bytes,
        "max_total_bytes": st.upload_max_total_bytes,
    }


def _page(
    token: str,
    shown: responses.ResponseView,
    *,
    errors: dict | None = None,
    form: dict | None = None,
    status: int = 200,
):
    template = "public/response_receipt.html" if shown.answered_at else "public/respond.html"
    return render_template(
        template,
        token=token,
        shown=shown,
        errors=errors or {},
        form=form or {},
        answers=responses.ANSWERS,
        clocks=responses.CLOCK_DIRECTIONS,
        csrf_token=generate_csrf(),
        limits=_limits(),
        uk_time=responses.uk_time,
        done=request.args.get("done") == "1",
    ), status


@blueprint.get("/respond/<token>")
def respond(token: str):
    rt = runtime()
    try:
        with transaction(rt.sessions) as s:
            shown = responses.view(responses.open_page(s, token, utcnow()))
    except links.LinkError as exc:
        return _dead(exc)
    return _page(token, shown)


@blueprint.post("/respond/<token>")
def respond_submit(token: str):
    rt = runtime()
    form = {
        k: request.form.get(k, "")
        for k in (
            "answer",
            "clock_direction",
            "clock_minutes",
            "clock_seconds",
            "copy_made_myself",
            "copy_made_at",
            "signed_name",
            "owner_note",
        )
    }
    if not _csrf_ok():
        with rt.sessions() as s:
            try:
                shown = responses.view(links.resolve(s, token, utcnow(), answered_ok=True))
            except links.LinkError as exc:
                return _dead(exc)
            return _page(token, shown, errors={"form": EXPIRED}, form=form, status=400)
    try:
        with transaction(rt.sessions) as s:
            _, let_go = responses.submit(s, token, utcnow(), form.get("answer"), form)
    except links.LinkError as exc:
        return _dead(exc)
    except responses.StatementError as exc:
        with rt.sessions() as s:
            shown = responses.view(links.resolve(s, token, utcnow(), answered_ok=True))
            return _page(token, shown, errors=exc.errors, form=form)
    drop_files(Uploads.from_settings(rt.sessions, rt.settings), let_go)
    return redirect(f"/respond/{token}?done=1", code=303)


@blueprint.post("/manage/<token>/requests/<public_id>")
def answer_from_manage(token: str, public_id: str):
    """The owner, on their own registration's page, asks to answer one of its requests: a fresh
    response link (any earlier one stops) and straight to it. For an owner who lost the message."""
    s, registrant = _own(token)
    with s:
        if not _csrf_ok():
            return redirect(f"/manage/{token}?saved=expired", code=303)
        response = (
            s.query(FootageResponse)
            .filter(FootageResponse.public_id == public_id, FootageResponse.registrant_id == registrant.id)
            .one_or_none()
        )
        now = utcnow()
        if response is None or not responses.answerable(response):
            return redirect(f"/manage/{token}#requests", code=303)
        fresh = links.issue(response, now, runtime().settings.response_link_days)
        audit.record(
            s,
            PUBLIC,
            "response_link_reissued",
            case_ref=response.case_ref,
            at=now,
            subject_ids=[r.camera_id for r in response.requests],
            detail={"response": response.public_id},
        )
        s.commit()
    return redirect(f"/respond/{fresh}", code=303)


@blueprint.after_request
def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"  # (the page's own meta tag keeps the link out of referrers)
    return resp
