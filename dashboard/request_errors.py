"""Requests the app cannot read get a 4xx answer naming the problem, never a 500: JSON nested
too deeply (Python's parser raises RecursionError, not ValueError), a body over the size limit
(413), a made-up file under Dash's component suites (404). JSON on the API and the Dash routes
(the API's ``{"error", "errors"}`` shape under /api/), the error page elsewhere.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from flask import Flask, Request, jsonify, render_template, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

log = logging.getLogger(__name__)
TOO_DEEP = "the JSON is nested too deeply"
CALLBACK_PATH = "/_dash-update-component"
# What a callback raises when a value is of a kind its control never sends (a dict where the page
# sends a string, a number where it sends a list): the request's fault, not the server's.
FORGED_VALUE_ERRORS = (TypeError, KeyError, IndexError, AttributeError, ValueError)
FORGED_VALUES = "This callback was sent values its page never sends; nothing was done."
MAX_BODY_BYTES = 5 * 1024 * 1024


class JSONTooDeep(BadRequest):
    description = f"The request body could not be read: {TOO_DEEP}."


class SafeRequest(Request):
    """Flask's request, with JSON too deep for the parser refused as a 400 (silent or not: the
    body is unreadable, and a caller asking silently must not get None and carry on)."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            raise JSONTooDeep() from None


def loads(data: bytes | str) -> Any:
    """``json.loads`` that raises ValueError (naming the problem) for JSON nested too deeply."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None


def _answer(status: int, message: str):
    if request.path.startswith("/api/"):
        response = jsonify(error=message, errors=[{"field": "request", "message": message}])
    elif request.path.startswith("/_dash"):
        response = jsonify(error=message)
    else:
        return render_template("error.html", status=status, message=message), status
    response.status_code = status
    return response


def init_request_errors(server: Flask) -> None:
    from dash.exceptions import DependencyException

    server.request_class = SafeRequest
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @server.errorhandler(RequestEntityTooLarge)
    def too_large(_exc):
        return _answer(413, f"The request is too large: send at most {MAX_BODY_BYTES // (1024 * 1024)} MB.")

    @server.errorhandler(JSONTooDeep)
    def too_deep(exc):
        return _answer(400, exc.description)

    @server.errorhandler(DependencyException)
    def no_such_file(_exc):
        # Dash's component suites, asked for a library or path it does not serve (e.g. an encoded ..%2f).
        return _answer(404, "No such file.")


def guard_callback_values(server: Flask) -> None:
    """Answer a callback that fails on values its page never sends (a forged request: a dict or a
    list where a control sends text, a huge number) with a 400 and a plain message instead of a
    500. Called once Dash has added its routes. The failure is still logged, with its traceback,
    as a warning: a 400 here that a real page caused would be a bug to fix."""
    rule = next(r for r in server.url_map.iter_rules() if r.rule == CALLBACK_PATH)
    dispatch = server.view_functions[rule.endpoint]

    @functools.wraps(dispatch)  # keeps dash.dash.dispatch's name, which integrations key on
    def checked_dispatch(*args, **kwargs):
        try:
            return dispatch(*args, **kwargs)
        except FORGED_VALUE_ERRORS:
            body = request.get_json(silent=True)
            output = body.get("output") if isinstance(body, dict) else None
            log.warning("callback %r refused: it failed on the values sent", str(output)[:200], exc_info=True)
            response = jsonify(error=FORGED_VALUES)
            response.status_code = 400
            return response

    server.view_functions[rule.endpoint] = checked_dispatch
