"""Routes of the public pages: /register, /manage/<token>, /r/<slug> and the postcode lookup.

Thin: read the form, call ``form`` and ``registry.registration``, render a template.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, session
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from dashboard.api.endpoints import field_errors
from dashboard.core.vocab import CAMERA_KINDS, CONTACT_CHANNELS, MOUNTS, OVERLOOKS, SITE_KINDS
from dashboard.evidence.retention import Periods, public_sentence
from dashboard.footage import responses
from dashboard.geo.orientation import BASE_TILES_URL, LABEL_TILES_URL, map_credit
from dashboard.public import duplicates, form, lost_link
from dashboard.public.duplicates import after_registering
from dashboard.registry import campaigns, registration
from dashboard.registry.database import transaction
from dashboard.registry.models import utcnow
from dashboard.registry.registration import MAX_CAMERAS, RegistrationIn
from dashboard.runtime_access import runtime
from dashboard.security.limits import client_key

blueprint = Blueprint("public", __name__)


@blueprint.context_processor
def _force_name() -> dict:
    months = runtime().settings.retention_months
    return {
        "force_name": runtime().reference.force_name,
        "retention_period": f"{months} month{'s' if months != 1 else ''}",
        "footage_kept": public_sentence(Periods.from_settings(runtime().settings)),
    }


# A form shown again with its problems is answered 200 (the page is what was asked for); the
# browser would log any other status as a failed load. The API answers the same problems with 422.
EXPIRED = "This form had expired (or was opened in another browser). Check the details and send it again."


def _pin_map_tiles(rt) -> dict:
    """The pin map's base: the force's tile server (TILE_URL), or the app's orientation tiles (ground
    and outlines, then postcodes and names above the pin's circle); open data only, either way."""
    return {
        "tile_url": rt.settings.tile_url or BASE_TILES_URL,
        "label_tiles": "" if rt.settings.tile_url else LABEL_TILES_URL,
        "tile_attribution": map_credit(rt.settings, rt.reference),
    }


def _page(template: str, state: form.FormState, status: int = 200, **extra) -> tuple[str, int]:
    rt = runtime()
    return render_template(
        template,
        state=state,
        csrf_token=generate_csrf(),
        max_cameras=MAX_CAMERAS,
        compass=form.COMPASS,
        compass_names=form.COMPASS_NAMES,
        kinds=CAMERA_KINDS,
        mounts=MOUNTS,
        overlooks=OVERLOOKS,
        channels=CONTACT_CHANNELS,
        site_kinds=SITE_KINDS,
        **_pin_map_tiles(rt),
        **extra,
    ), status


def _csrf_ok() -> bool:
    try:
        validate_csrf(request.form.get("csrf_token"))
        return True
    except (CSRFError, ValidationError):  # flask-wtf raises wtforms' ValidationError for a missing or bad token
        return False


def _edit_cameras(state: form.FormState, action: str) -> bool:
    """'add' or 'remove-<i>': change the list of cameras; True if the action was one of those."""
    if action == "add":
        if len(state.cameras) < MAX_CAMERAS:
            state.cameras.append({})
        else:
            state.errors["cameras"] = f"You can register up to {MAX_CAMERAS} cameras."
        return True
    if action.startswith("remove-") and action[7:].isdigit():
        i = int(action[7:])
        if 0 <= i < len(state.cameras) and len(state.cameras) > 1:
            del state.cameras[i]
        return True
    return False


def _validated(state: form.FormState) -> tuple[RegistrationIn | None, list[int | None]]:
    return form.validate(
        state,
        runtime().reference,
        RegistrationIn,
        context_key=registration.CROSS_CHECKS_LATER,
        field_errors=field_errors,
    )


def _count(step: str) -> None:
    slug = session.get("campaign")
    if slug:
        with transaction(runtime().sessions) as s:
            campaigns.count_step(s, slug, step)


# --------------------------------------------------------------------------- registration


@blueprint.get("/register")
def register_form():
    slug = request.args.get("c")
    if slug and campaigns.SLUG.fullmatch(slug):
        session["campaign"], session["started"] = slug, False
    return _page("public/register.html", form.FormState())


@blueprint.post("/register")
def register_submit():
    state = form.read_form(request.form.get, request.form.getlist)
    if not _csrf_ok():
        state.errors["form"] = EXPIRED
        return _page("public/register.html", state, 400)
    if session.get("campaign") and not session.get("started"):
        session["started"] = True
        _count("form_starts")
    if _edit_cameras(state, request.form.get("action", "")):
        return _page("public/register.html", state)
    data, _ = _validated(state)
    if data is None:
        return _page("public/register.html", state)
    rt = runtime()
    with transaction(rt.sessions) as s:
        done = registration.register(s, data, rt.reference, via="form")
    after_registering(rt, done)  # a repeat is answered as a first registration; its owner is told by email
    rt.finder.refresh()
    _count("completions")
    session.pop("campaign", None)
    url = f"{rt.settings.public_base_url}/manage/{done.token}"
    return render_template(
        "public/registered.html",
        done=done,
        manage_url=url,
        emailed=done.email_given and rt.settings.smtp_url is not None,
    )


# --------------------------------------------------------------------------- lost link


def _lost_link_page(asked: lost_link.Asked, status: int = 200, refused: str | None = None):
    rt = runtime()
    return render_template(
        "public/lost_link.html",
        state=asked,
        csrf_token=generate_csrf(),
        refused=refused,
        can_email=rt.settings.smtp_url is not None,
    ), status


@blueprint.get("/lost-link")
def lost_link_form():
    return _lost_link_page(lost_link.Asked({"email": "", "postcode": ""}))


@blueprint.post("/lost-link")
def lost_link_submit():
    """The same page, status and work whether or not such a registration exists (lost_link.py)."""
    rt = runtime()
    asked = lost_link.read(request.form.get, rt.reference, form.example_postcode(rt.reference))
    if not _csrf_ok():
        asked.errors = {"form": EXPIRED}
        return _lost_link_page(asked, 400)
    if rt.settings.smtp_url is None:
        return _lost_link_page(asked)  # the page says that no email can be sent, and what to do instead
    limits = lost_link.Limits(
        rt.sessions, rt.settings.secret_key, rt.settings.lost_link_rate_limit, rt.settings.lost_link_pair_rate_limit
    )
    wait = limits.address_wait_s(client_key())
    if wait is None and asked.errors:
        return _lost_link_page(asked)
    if wait is not None:  # the asker's own requests: saying so tells them nothing of anyone else
        with transaction(rt.sessions) as s:  # never the email address or the postcode
            registration.log_link_requested(s, refused="address")
        return _lost_link_page(asked, 429, refused=lost_link.wait_words(wait))
    # The pair's limit keeps the owner's inbox from being flooded; it is silent. Were it refused
    # visibly, an attacker would learn that someone (the owner) asked for that pair within the day.
    over_pair = limits.pair_wait_s(asked.email, asked.postcode) is not None
    with transaction(rt.sessions) as s:
        registration.log_link_requested(s, refused="pair" if over_pair else None)
    if not over_pair:
        duplicates.lost_link(rt, asked.email, asked.postcode)
    return render_template("public/lost_link_sent.html")


@blueprint.get("/register/postcode")
def postcode_centre():
    """Where a postcode is (the public, open postcode centroid): for centring the form's map. An unknown
    postcode is an answer, not a failure: 200 with ``found: false`` and the words for the owner (a 404
    put an error in the browser's console each time someone mistyped)."""
    text = (request.args.get("postcode") or "")[:12]
    row = runtime().reference.lookup_postcode(text) if text.strip() else None
    if row is None:
        return jsonify(
            found=False, error=f"'{text.strip()}' is not a postcode in the {runtime().reference.force_name} area."
        )
    return jsonify(postcode=row["postcode"], lat=float(row["lat"]), lon=float(row["lon"]))


@blueprint.get("/r/<slug>")
def campaign_scan(slug: str):
    """A QR code's landing: count the scan once per visitor and day, and answer the same whether
    or not the campaign exists (the slug goes on to the form either way; only a known one counts)."""
    rt = runtime()
    visitor = f"{client_key()}\x00{request.headers.get('User-Agent', '')[:300]}"
    with transaction(rt.sessions) as s:
        campaigns.count_scan(s, slug, visitor, secret=rt.settings.secret_key.encode("utf-8"))
    return redirect(f"/register?c={slug}" if campaigns.SLUG.fullmatch(slug) else "/register")


# --------------------------------------------------------------------------- the owner's link


def _own(token: str):
    s = runtime().sessions()
    registrant = registration.by_token(s, token)
    if registrant is None:
        s.close()
        abort(Response(render_template("public/dead_link.html"), status=404, mimetype="text/html"))
    return s, registrant


@blueprint.get("/manage/<token>")
def manage(token: str):
    s, registrant = _own(token)
    with s:
        state = form.state_from_registrant(registrant)
        return _page(
            "public/manage.html",
            state,
            token=token,
            registrant=registrant,
            due=registration.due_for_reconfirmation(registrant),
            saved=request.args.get("saved"),
            **_requests_received(s, registrant),
        )


def _requests_received(s, registrant) -> dict:
    """The footage requests this registration has had, newest first, for the owner's own page."""
    now = utcnow()
    rows = [
        {
            "public_id": r.public_id,
            "window": responses.view(r).window_text,
            "state": responses.state_text(r, now),
            "answerable": responses.answerable(r),
        }
        for r in responses.for_registrant(s, registrant.id)
    ]
    return {"requests_received": rows}


@blueprint.post("/manage/<token>")
def manage_submit(token: str):
    s, registrant = _own(token)
    with s:
        action = request.form.get("action", "")
        state = form.read_form(request.form.get, request.form.getlist)
        page = dict(
            token=token,
            registrant=registrant,
            due=registration.due_for_reconfirmation(registrant),
            **_requests_received(s, registrant),
        )
        if not _csrf_ok():
            state.errors["form"] = EXPIRED
            return _page("public/manage.html", state, 400, **page)
        if action == "withdraw":
            return render_template(
                "public/withdraw.html", token=token, csrf_token=generate_csrf(), reference=registrant.reference
            )
        if action == "withdraw-confirmed":
            registration.withdraw(s, registrant, via="form")
            s.commit()
            runtime().finder.refresh()
            return render_template("public/withdrawn.html")
        if action == "reconfirm":
            registration.reconfirm(s, registrant)
            s.commit()
            return redirect(f"/manage/{token}?saved=reconfirmed", code=303)
        if _edit_cameras(state, action):
            return _page("public/manage.html", state, **page)
        state.values["consent"] = True  # given when registering; withdrawing is the way to take it back
        data, ids = _validated(state)
        if data is None:
            return _page("public/manage.html", state, **page)
        try:
            registration.update(s, registrant, data, ids, runtime().reference)
        except ValueError:
            state.errors["cameras"] = "The list of cameras changed in another window; open your link again."
            s.rollback()
            return _page("public/manage.html", state, **page)
        s.commit()
        runtime().finder.refresh()
        return redirect(f"/manage/{token}?saved=changes", code=303)
