"""API endpoints declared once: roles, request schema, response schema, and the OpenAPI
document generated from those same pydantic models.

``@endpoint`` wraps a Flask view so that, in this order, it
1. refuses an anonymous request (401) or a role not listed (403),
2. validates the query string or JSON body against the pydantic model (422 with field errors),
3. calls the view with the parsed model, and serialises what it returns through the response model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

import orjson
from flask import Response, request
from flask_login import current_user
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import BadRequest

from dashboard.api.schemas import validation_context
from dashboard.request_errors import TOO_DEEP, JSONTooDeep
from dashboard.runtime_access import runtime


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # OpenAPI form, e.g. /api/v1/requests/{request_id}
    summary: str
    roles: frozenset[str]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    path_params: tuple[str, ...] = field(default_factory=tuple)
    limited: bool = False  # a per-user limit applies (429 when exceeded)
    more_responses: tuple[tuple[int, str], ...] = ()  # other answers it gives: (status, what it means)


REGISTRY: list[Endpoint] = []
# Path parameters with a known form (the OpenAPI document says so).
PATH_PARAMETERS = {
    "token": {
        "type": "string",
        "pattern": "^[A-Za-z0-9_-]{43}$",
        "description": "The private response link's token (43 characters)",
    }
}
PUBLIC = "public"  # in ``roles``: no login needed


class ApiError(Exception):
    """A refusal the API reports as JSON: status and field errors."""

    def __init__(self, status: int, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.status = status
        self.errors = errors or []


def _json(status: int, payload: dict) -> Response:
    # orjson: a search answer can hold a few thousand cameras; the standard encoder spent more
    # time on them than the search did.
    return Response(orjson.dumps(payload), status=status, mimetype="application/json")


def _message(err: dict) -> str:
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    plain = {
        "missing": "This is required.",
        "float_parsing": "Enter a number.",
        "float_type": "Enter a number.",
        "int_parsing": "Enter a whole number.",
        "int_type": "Enter a whole number.",
        "int_from_float": "Enter a whole number.",
        "datetime_parsing": "Enter a date and time such as 2026-11-28T21:30.",
        "datetime_from_date_parsing": "Enter a date and time such as 2026-11-28T21:30.",
        "datetime_type": "Enter a date and time such as 2026-11-28T21:30.",
        "bool_parsing": "Enter true or false.",
        "list_type": "Enter a list.",
        "string_type": "Enter text.",
        "literal_error": f"Choose one of: {ctx.get('expected', '')}.",
        "too_short": f"Give at least {ctx.get('min_length', 1)}.",
        "too_long": f"Give at most {ctx.get('max_length', '')}.",
        "string_too_long": f"Keep it under {ctx.get('max_length', '')} characters.",
        "string_too_short": f"Give at least {ctx.get('min_length', 1)} characters.",
        "greater_than_equal": f"Must be at least {ctx.get('ge')}.",
        "less_than_equal": f"Must be at most {ctx.get('le')}.",
        "extra_forbidden": "This field is not expected.",
    }
    if kind in plain:
        return plain[kind]
    message = err.get("msg", "is not valid")
    return message[len("Value error, ") :] if message.startswith("Value error, ") else message


# A rule checked on the whole model names its field as a "[field] " prefix of its message.
_FIELD_PREFIX = re.compile(r"^\[([a-z_][a-z_.0-9]*)\] (.*)$", re.S)


def field_errors(exc: ValidationError) -> list[dict]:
    """Pydantic errors as [{"field": "radius_m", "message": "Must be at least 50."}], one per problem."""
    out = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query")]
        field, message = ".".join(loc) or "request", _message(err)
        named = _FIELD_PREFIX.match(message)
        if named:
            field, message = named.group(1), named.group(2)
        out.append({"field": field, "message": message})
    return out


def _parse(model: type[BaseModel], source: str) -> BaseModel:
    if source == "query":
        data: Any = {k: v for k, v in request.args.items()}
    else:
        if not request.is_json:
            raise ApiError(
                415,
                "Send the request body as JSON (Content-Type: application/json).",
                [{"field": "request", "message": "expected Content-Type: application/json"}],
            )
        try:
            data = request.get_json()
        except JSONTooDeep:
            raise ApiError(
                400, f"The request body could not be read: {TOO_DEEP}.", [{"field": "request", "message": TOO_DEEP}]
            ) from None
        except BadRequest:
            raise ApiError(
                400, "The request body is not valid JSON.", [{"field": "request", "message": "not valid JSON"}]
            ) from None
        if not isinstance(data, dict):
            raise ApiError(
                422,
                "The request body is not a JSON object.",
                [{"field": "request", "message": "expected a JSON object"}],
            )
    try:
        rt = runtime()
        return model.model_validate(data, context=validation_context(rt.settings) | {"reference": rt.reference})
    except ValidationError as exc:
        raise ApiError(422, "Some fields are not valid.", field_errors(exc)) from None


def endpoint(
    method: str,
    path: str,
    *,
    summary: str,
    roles: tuple[str, ...],
    query=None,
    body=None,
    response=None,
    status: int = 200,
    path_params: tuple[str, ...] = (),
    limited: bool = False,
    more_responses: tuple[tuple[int, str], ...] = (),
) -> Callable:
    spec = Endpoint(
        method.upper(),
        path,
        summary,
        frozenset(roles),
        query,
        body,
        response,
        status,
        path_params,
        limited,
        more_responses,
    )
    REGISTRY.append(spec)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if PUBLIC in spec.roles:
                pass  # open to anyone (public registration); rate-limited where it is declared
            elif not current_user.is_authenticated:
                refused = _json(
                    401, {"error": "Authentication required: log in or send 'Authorization: Bearer <token>'."}
                )
                refused.headers["WWW-Authenticate"] = 'Bearer realm="registry"'
                return refused
            elif current_user.role not in spec.roles:
                return _json(403, {"error": f"This needs one of the roles: {', '.join(sorted(spec.roles))}."})
            try:
                parsed = {}
                if spec.query is not None:
                    parsed["query"] = _parse(spec.query, "query")
                if spec.body is not None:
                    parsed["body"] = _parse(spec.body, "body")
                result = view(*args, **kwargs, **parsed)
            except ApiError as exc:
                return _json(exc.status, {"error": str(exc), "errors": exc.errors})
            if isinstance(result, Response):
                return result
            payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
            return _json(spec.status, payload)

        wrapped.allowed_roles = spec.roles  # read by the role-by-route tests
        wrapped.endpoint_spec = spec
        return wrapped

    return decorate


def _query_parameters(model: type[BaseModel]) -> list[dict]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": prop.get("description", ""),
            "schema": {k: v for k, v in prop.items() if k != "description"},
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def openapi_document(title: str, version: str) -> dict:
    """OpenAPI 3.1 for every registered endpoint, built from its pydantic models."""
    components: dict[str, dict] = {}

    def ref(model: type[BaseModel]) -> dict:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            components[name] = definition
        components[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    error_schema = {
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
            },
        },
    }
    paths: dict[str, dict] = {}
    for spec in REGISTRY:
        op: dict[str, Any] = {
            "summary": spec.summary,
            "description": f"Roles: {', '.join(sorted(spec.roles))}.",
            "security": [{"bearerAuth": []}, {"sessionCookie": []}],
            "responses": {
                str(spec.status): {
                    "description": "OK",
                    "content": {
                        "application/json": {"schema": ref(spec.response) if spec.response else {"type": "object"}}
                    },
                },
                "401": {
                    "description": "Not logged in and no valid bearer token",
                    "content": {"application/json": {"schema": error_schema}},
                },
                "403": {
                    "description": "The user's role may not use this",
                    "content": {"application/json": {"schema": error_schema}},
                },
            },
        }
        if PUBLIC in spec.roles:
            op["description"] = "Public: no login. Rate-limited per client (429 when exceeded)."
            op["security"] = []
            del op["responses"]["401"], op["responses"]["403"]
            op["responses"]["429"] = {
                "description": "Too many requests from this client; try again later",
                "content": {"application/json": {"schema": error_schema}},
            }
        if spec.limited:
            op["responses"]["429"] = {
                "description": "More than this user's limit; try again later (logged)",
                "content": {"application/json": {"schema": error_schema}},
            }
        params = [
            {"name": p, "in": "path", "required": True, "schema": PATH_PARAMETERS.get(p, {"type": "string"})}
            for p in spec.path_params
        ]
        if spec.query is not None:
            params += _query_parameters(spec.query)
            op["responses"]["422"] = {
                "description": "Invalid parameters, with field errors",
                "content": {"application/json": {"schema": error_schema}},
            }
        if spec.path_params:
            op["responses"]["404"] = {
                "description": "No such item (or not yours)",
                "content": {"application/json": {"schema": error_schema}},
            }
        if spec.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(spec.body)}}}
            for code, what in (
                ("400", "The body is not valid JSON, or is nested too deeply"),
                ("413", "The body is larger than the limit (5 MB)"),
                ("415", "The body is not sent as application/json"),
                ("422", "Invalid body, with field errors"),
            ):
                op["responses"][code] = {"description": what, "content": {"application/json": {"schema": error_schema}}}
        for code, what in spec.more_responses:
            op["responses"][str(code)] = {
                "description": what,
                "content": {"application/json": {"schema": error_schema}},
            }
        if params:
            op["parameters"] = params
        paths.setdefault(spec.path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=False)
