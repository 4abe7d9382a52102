"""Every aggregate query by an analyst or a project lead goes into the audit log (issue 14,
"probing is visible"): one row per request, written after the answer is ready, with its
parameters and the answer's status.

What counts (``aggregate_queries`` shapes the details):

* a Dash callback whose outputs belong to a page (``aggregate_query``);
* the shell's router rendering a page for them (its layout computes figures too);
* a GET to an API route their role may use, except the OpenAPI document (``aggregate_query``);
* a download from a page's own route, such as ``/coverage/export/cells.csv`` or
  ``/uptake/report`` (``aggregate_export``).

Only requests the access guard (and the rate limiter) let through are recorded: a refusal is
the guard's answer, not a query. For the API, whose routes check roles themselves, a role the
route does not list is such a refusal. No request body is logged other than a callback's inputs,
and never a file's content. The row is one Core insert through ``audit.record``; if it cannot
be written, the answer is withheld (503) rather than given unrecorded.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, current_app, g, jsonify, request
from flask_login import current_user

from dashboard import ids
from dashboard.registry import audit
from dashboard.registry.database import transaction
from dashboard.runtime_access import runtime
from dashboard.security.access import CALLBACK_PATH, callback_allowed
from dashboard.security.aggregate_queries import EXPORT, QUERY, ROLES, callback_detail, page_view_detail, route_detail
from dashboard.security.site import page_for_component, page_for_path

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
NOT_QUERIES = frozenset({"/api/v1/openapi.json"})  # the API's own description: no figures
CATCH_ALL_RULES = frozenset({"/", "/<path:path>"})  # Dash's index routes: a page's HTML, no figures
_ADMITTED = "ccr_query_admitted"


def _admitted() -> None:
    """``before_request``, registered after the access guard and the rate limiter: reached only by
    requests they let through."""
    setattr(g, _ADMITTED, True)


def _role() -> str | None:
    return current_user.role if current_user.is_authenticated else None


def _callback_entry(status: int) -> tuple[str, dict] | None:
    role = _role()
    if role not in ROLES:
        return None
    try:
        body = json.loads(request.get_data(cache=True) or b"{}")
    except (ValueError, RecursionError):  # refused by the access guard already
        return None
    if not isinstance(body, dict) or not callback_allowed(body, role):
        return None
    outputs = body.get("outputs")
    first = outputs[0] if isinstance(outputs, list) and outputs else outputs
    out_id = first.get("id") if isinstance(first, dict) else None
    if out_id == ids.CONTENT:  # the shell's router: rendering a page's layout
        inputs = body.get("inputs") or [{}]
        pathname = inputs[0].get("value") if isinstance(inputs[0], dict) else None
        page = page_for_path(pathname) if isinstance(pathname, str) else None
        if page is None or not page.allows(role):
            return None  # "page not found" / "not available to your role": nothing computed
        return QUERY, page_view_detail(page.path, status)
    if isinstance(out_id, dict):
        out_id = str(out_id.get("type", ""))
    page = (
        page_for_component(str(out_id)) if out_id is not None and not str(out_id).startswith(ids.SHELL_PREFIX) else None
    )
    if page is None:
        return None  # the shell's own callbacks (navigation): no figures
    return QUERY, callback_detail(page.path, body, status)


def _api_entry(status: int) -> tuple[str, dict] | None:
    view = current_app.view_functions.get(request.endpoint or "")
    spec = getattr(view, "endpoint_spec", None)
    if spec is None or request.path in NOT_QUERIES or request.method not in ("GET", "HEAD"):
        return None
    if _role() not in ROLES or _role() not in spec.roles:
        return None  # refused by the route's role check (or not signed in): not a query
    return QUERY, route_detail(request.path, request.args.to_dict(flat=False), status)


def _download_entry(status: int) -> tuple[str, dict] | None:
    rule = request.url_rule
    if rule is None or rule.rule in CATCH_ALL_RULES or request.method not in ("GET", "HEAD"):
        return None
    page = page_for_path(request.path)
    if page is None or request.path.rstrip("/") == page.path or not rule.rule.startswith(page.path.rstrip("/") + "/"):
        return None
    if _role() not in ROLES or not page.allows(_role()):
        return None
    return EXPORT, route_detail(request.path, request.args.to_dict(flat=False), status)


def entry_for(status: int) -> tuple[str, dict] | None:
    """(action, detail) of the current request when it is an analyst's or lead's aggregate query
    that the guard admitted, else None. Cheap for everything else: the path decides first."""
    if not g.get(_ADMITTED):
        return None
    path = request.path
    if path == CALLBACK_PATH:
        return _callback_entry(status) if request.method == "POST" else None
    if path.startswith(API_PREFIX):
        return _api_entry(status)
    if path.startswith(("/_dash", "/assets/", "/login", "/logout", "/register", "/manage/", "/r/", "/lost-link")):
        return None
    return _download_entry(status)


def _withheld() -> Response:
    message = "The answer could not be recorded in the audit log, so it is not given. Try again."
    if request.path.startswith(("/api/", "/_dash")):
        response = jsonify(error=message)
    else:
        response = Response(message, mimetype="text/plain")
    response.status_code = 503
    return response


def record_query(response: Response) -> Response:
    """``after_request``: the row for an aggregate query (see the module docstring)."""
    try:
        entry = entry_for(response.status_code)
        if entry is None:
            return response
        action, detail = entry
        with transaction(runtime().sessions) as s:
            audit.record(s, current_user.actor, action, detail=detail)
    except Exception:  # any failure to record withholds the answer
        log.exception("an aggregate query could not be recorded")
        response.close()
        return _withheld()
    return response


def init_query_log(server: Flask) -> None:
    """Record analysts' and leads' aggregate queries. Call after the access guard and the rate
    limiter are registered, so that only what they admit is recorded."""
    server.before_request(_admitted)
    server.after_request(record_query)
