"""Server-side access control: every page, Dash callback and API route is checked here.

Anonymous requests get 401 (or, for a page, a redirect to the login page); a role that may not
use a page, callback or API route gets 403 and nothing else. Callback requests are judged by the
ids of the outputs they ask for: each page owns the ids with its prefix, the shell owns
``shell-``; an output nobody owns is refused.
"""

from __future__ import annotations

import functools
import json
from urllib.parse import quote

from flask import Flask, Response, current_app, jsonify, redirect, render_template, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from dashboard import ids
from dashboard.request_errors import TOO_DEEP, loads
from dashboard.security.site import page_for_component, page_for_path

PUBLIC_PREFIXES = (
    "/login",
    "/assets/",
    "/_dash-component-suites/",
    "/_favicon.ico",
    # The public side: registering, the owner's private link, campaign QR links.
    "/register",
    "/manage/",
    "/r/",
    "/lost-link",
    # The owner's answer to a footage request (its random link is the key).
    "/respond/",
    # The privacy notice and the force's logo and colour on the public pages' frame.
    "/privacy",
    "/brand/",
    # The maps' orientation tiles: open reference data only (the public pin map uses them).
    "/tiles/",
)
DASH_DATA_PATHS = ("/_dash-layout", "/_dash-dependencies", "/_reload-hash")
# Plain Flask routes for any logged-in user (not pages).
SIGNED_IN_ROUTES = ("/logout", "/sources")
CALLBACK_PATH = "/_dash-update-component"
# Evidence (issue 17): every refusal of its routes and callbacks is written to the audit log, and an
# anonymous request for its files is answered 401 (not sent to the login page).
EVIDENCE_PATH = "/cases/evidence/"
EVIDENCE_IDS = ("cases-ev",)


def _log_evidence_refusal(status: int, what: str) -> None:
    """Write ``evidence_refused`` for a refused request for evidence (the guard's refusals: no login,
    or a role with no access), committed on its own."""
    from dashboard.registry import audit
    from dashboard.registry.database import transaction
    from dashboard.runtime_access import runtime

    actor = current_user.actor if current_user.is_authenticated else audit.Actor(None, "public", None)
    try:
        with transaction(runtime().sessions) as s:
            audit.record(
                s,
                actor,
                "evidence_refused",
                detail={"why": "login" if status == 401 else "role", "status": status, "what": what[:200]},
            )
    except Exception:  # the refusal stands even if the log write fails; it is logged as an error
        import logging

        logging.getLogger(__name__).exception("could not log a refused evidence request")


def current_role() -> str | None:
    return current_user.role if current_user.is_authenticated else None


def _output_ids(body: dict) -> list[str]:
    outputs = body.get("outputs")
    if outputs is None:
        return []
    items = outputs if isinstance(outputs, list) else [outputs]
    result = []
    for item in items:
        for out in item if isinstance(item, list) else [item]:  # pattern-matching outputs nest lists
            cid = out.get("id") if isinstance(out, dict) else None
            if isinstance(cid, dict):  # pattern-matching ids carry the page prefix in "type"
                cid = str(cid.get("type", ""))
            result.append(str(cid) if cid is not None else "")
    return result


def callback_allowed(body: dict, role: str | None) -> bool:
    """True when every output the callback request names belongs to the shell or to a page the role may use."""
    out_ids = _output_ids(body)
    if not out_ids:
        return False
    for cid in out_ids:
        if cid.startswith(ids.SHELL_PREFIX):
            continue
        page = page_for_component(cid)
        if page is None or not page.allows(role):
            return False
    return True


def _ids_in_output(output: str) -> list[str]:
    """The component ids in a callback's output as Dash's dependency list writes it:
    ``id.prop``, ``..id1.prop1...id2.prop2..`` for several, a JSON object for a pattern-matching
    id (its ``type`` carries the page prefix)."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    found = []
    for part in parts:
        cid = part.rsplit(".", 1)[0]
        if cid.startswith("{"):
            try:
                cid = str(json.loads(cid).get("type", ""))
            except (ValueError, AttributeError):
                cid = ""
        found.append(cid)
    return found


def visible_callbacks(callbacks: list, role: str | None) -> list:
    """The entries of Dash's dependency list a role may know of: those whose every output
    belongs to the shell or to a page the role may use (the rule ``callback_allowed`` applies to
    a callback request). Anonymous users see none."""
    if role is None:
        return []
    return [
        cb
        for cb in callbacks
        if isinstance(cb, dict)
        and isinstance(cb.get("output"), str)
        and callback_allowed({"outputs": [{"id": cid} for cid in _ids_in_output(cb["output"])]}, role)
    ]


def filter_dependencies(server: Flask, endpoint: str) -> None:
    """Wrap Dash's ``/_dash-dependencies`` view so each role is sent only the callbacks of its
    own pages: the full list named every role's callbacks, their ids, inputs and outputs."""
    dash_view = server.view_functions[endpoint]  # a KeyError here means Dash renamed its route

    @functools.wraps(dash_view)
    def dependencies():
        response = dash_view()
        response.set_data(
            json.dumps(visible_callbacks(json.loads(response.get_data()), current_role()), separators=(",", ":"))
        )
        return response

    server.view_functions[endpoint] = dependencies


def _denied(status: int, message: str) -> Response:
    if request.path.startswith("/api/") or request.path.startswith("/_dash"):
        response = jsonify(error=message)
    else:
        response = Response(render_template("error.html", status=status, message=message), mimetype="text/html")
    response.status_code = status
    return response


def _shaped_like(body: dict, inputs: int, states: int) -> bool:
    """The body carries as many inputs and states as the callback takes, each naming a property."""
    parts = body.get("inputs"), body.get("state", [])
    return (
        all(isinstance(p, list) for p in parts)
        and (len(parts[0]), len(parts[1])) == (inputs, states)
        and all(isinstance(x, (dict, list)) for p in parts for x in p)
    )


def _api_rule_matches(path: str, methods) -> bool:
    adapter = current_app.url_map.bind("localhost")
    for method in methods:
        try:
            rule, _ = adapter.match(path, method=method, return_rule=True)
        except HTTPException:
            continue
        if rule.rule.startswith("/api/"):
            return True
    return False


def _api_route_or_refusal(path: str) -> Response | None:
    """None for a request that reached an API route (they check bearer tokens and roles
    themselves, ``dashboard.api.endpoints``); else a JSON 404, or 405 for a real route asked with
    another method. (An unknown path under /api/ matches the dashboard's catch-all page route,
    which would answer 200 with the page's HTML.)"""
    rule = request.url_rule
    if rule is not None and rule.rule.startswith("/api/"):
        return None
    wrong_method = request.routing_exception
    if isinstance(wrong_method, MethodNotAllowed) and _api_rule_matches(path, wrong_method.valid_methods or ()):
        refused = _denied(405, "This method is not allowed on this route.")
        # The methods the API route itself takes (not the dashboard's catch-all page route's).
        refused.headers["Allow"] = ", ".join(
            sorted(m for m in wrong_method.valid_methods if _api_rule_matches(path, (m,)))
        )
        return refused
    return _denied(404, "No such API route.")


def guard() -> Response | None:
    """Flask ``before_request`` hook: None lets the request through, otherwise the refusal."""
    path = request.path
    if path.startswith(PUBLIC_PREFIXES):
        return None
    if path.startswith("/api/"):
        return _api_route_or_refusal(path)
    if not current_user.is_authenticated:
        if path.startswith(EVIDENCE_PATH):
            _log_evidence_refusal(401, path)
            return _denied(401, "Log in first.")
        if path == CALLBACK_PATH:
            _log_if_evidence_callback(401)
        if path.startswith(DASH_DATA_PATHS) or path == CALLBACK_PATH:
            return _denied(401, "Log in first.")
        target = path if request.query_string == b"" else f"{path}?{request.query_string.decode()}"
        return redirect(f"/login?next={quote(target)}")
    if path == CALLBACK_PATH:
        try:
            body = loads(request.get_data(cache=True) or b"{}")
        except ValueError as exc:
            detail = str(exc) if str(exc) == TOO_DEEP else "the body is not valid JSON"
            return _denied(400, f"Malformed callback request: {detail}.")
        if not isinstance(body, dict) or not callback_allowed(body, current_role()):
            _log_if_evidence_callback(403, body)
            return _denied(403, "Your role may not use this.")
        known = current_app.extensions.get("ccr_callbacks")
        if known is not None and body.get("output") not in known:
            return _denied(400, "Unknown callback.")
        # The outputs judged above must be the ones of the callback Dash will run (named by "output"):
        # otherwise a body could pass as the shell's and run another page's callback.
        if set(_output_ids(body)) - set(_ids_in_output(str(body.get("output")))):
            _log_if_evidence_callback(400, body)
            return _denied(400, "Malformed callback request.")
        if known is not None and not _shaped_like(body, *known[body["output"]]):
            return _denied(400, "Malformed callback request.")
        return None
    if path.startswith(DASH_DATA_PATHS) or path in SIGNED_IN_ROUTES:
        return None
    page = page_for_path(path)
    if page is None:
        return _denied(404, "There is no page at this address.")
    if not page.allows(current_role()):
        if path.startswith(EVIDENCE_PATH):
            _log_evidence_refusal(403, path)
        return _denied(403, "Your role may not use this page.")
    return None


def _log_if_evidence_callback(status: int, body: object = None) -> None:
    if body is None:
        try:
            body = loads(request.get_data(cache=True) or b"{}")
        except ValueError:
            return
    if not isinstance(body, dict):
        return
    named = _output_ids(body) + (_ids_in_output(body["output"]) if isinstance(body.get("output"), str) else [])
    if any(cid.startswith(EVIDENCE_IDS) for cid in named):
        _log_evidence_refusal(status, "callback " + ",".join(dict.fromkeys(named))[:180])
