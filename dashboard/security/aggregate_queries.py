"""What an analyst's or project lead's aggregate query is, as the audit log keeps it, and how it
reads: the detail written for a Dash callback, a page view, an API call or a download, and the
plain words the auditor's page shows for it. No Flask or Dash here (``query_log`` is the hook
that records them; ``audit_flags`` looks for bursts of near-identical ones).

Details (canonical JSON in the audit row):

* a page's callback (``aggregate_query``): ``{"page": "/coverage", "callback": "coverage-cells.data",
  "inputs": {"coverage-res": 8, "coverage-cameras": "doorbell"}, "status": 200}``; ``callback``
  names the callback by its first output (unique to it), ``inputs`` holds its inputs and states
  by component id (``id.property`` for a property other than ``value``), trimmed (``trim``);
* the page itself, rendered by the shell's router (layouts compute figures too):
  ``{"page": "/coverage", "callback": "page", "inputs": {}, "status": 200}``;
* an API route (``aggregate_query``) or a download (``aggregate_export``):
  ``{"route": "/api/v1/coverage/cells", "params": {"res": "8"}, "status": 200}``.

Page titles come from the pages ``create_app`` hands to ``dashboard.security.site``:

>>> from dashboard.pages import all_pages
>>> from dashboard.security.site import use_pages
>>> use_pages(all_pages())
>>> describe_query("aggregate_query", {"page": "/coverage", "callback": "coverage-cells.data",
...     "inputs": {"coverage-res": 8, "coverage-cameras": "doorbell"}, "status": 200})
'Coverage, cells: res 8, cameras doorbell'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

from dashboard.registry.audit import canonical_json
from dashboard.security.site import page_title

QUERY = "aggregate_query"
EXPORT = "aggregate_export"
ACTIONS = (QUERY, EXPORT)
ROLES = frozenset({"analyst", "lead"})  # whose queries are logged
PAGE_VIEW = "page"  # ``callback`` of the row written when the shell renders a page
MAX_TEXT = 200  # characters of one text value kept
MAX_ITEMS = 20  # items of one list, or keys of one mapping, kept
MAX_DEPTH = 3  # nesting kept inside one value
MAX_DETAIL = 4000  # characters of a row's detail; the longest values give way first
# Properties whose values are never logged: a dcc.Upload's file content is not a query parameter.
UNLOGGED_PROPERTIES = frozenset({"contents"})
# Properties that say "pressed again", not what was asked: left out when queries are compared.
TRIGGER_PROPERTIES = frozenset(
    {
        "n_clicks",
        "n_clicks_timestamp",
        "n_submit",
        "n_submit_timestamp",
        "n_blur",
        "n_blur_timestamp",
        "submit_n_clicks",
        "cancel_n_clicks",
        "n_intervals",
    }
)


def trim(value, depth: int = 0):
    """``value`` made small enough to log: text cut at ``MAX_TEXT`` characters, lists and mappings
    at ``MAX_ITEMS`` entries, nesting at ``MAX_DEPTH``, each cut saying how much was left out.

    >>> trim("x" * 205)[-18:], trim(list(range(25)))[-1], trim({"a": {"b": {"c": {"d": 1}}}})
    ('… (205 characters)', '… and 5 more', {'a': {'b': {'c': '(nested value not logged)'}}})
    """
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else f"{value[:MAX_TEXT]}… ({len(value):,} characters)"
    if isinstance(value, (list, tuple, dict)) and depth >= MAX_DEPTH:
        return "(nested value not logged)"
    if isinstance(value, (list, tuple)):
        kept = [trim(v, depth + 1) for v in value[:MAX_ITEMS]]
        return kept + ([f"… and {len(value) - MAX_ITEMS} more"] if len(value) > MAX_ITEMS else [])
    if isinstance(value, dict):
        items = list(value.items())
        kept = {str(k)[:MAX_TEXT]: trim(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            kept["…"] = f"and {len(items) - MAX_ITEMS} more"
        return kept
    return trim(str(value), depth)


def _component_id(cid) -> str:
    """A component id as text: pattern-matching ids (dicts) as their canonical JSON."""
    return canonical_json(cid) if isinstance(cid, dict) else str(cid)


def _entries(items) -> list[dict]:
    """The ``{id, property, value}`` entries of a callback body's inputs or state (a wildcard
    input is a list of them)."""
    out = []
    for item in items if isinstance(items, list) else []:
        for entry in item if isinstance(item, list) else [item]:
            if isinstance(entry, dict) and "id" in entry:
                out.append(entry)
    return out


def _fit(values: dict) -> dict:
    """``values`` with its longest values replaced by a note until it fits ``MAX_DETAIL``."""
    sizes = {k: len(canonical_json(v)) for k, v in values.items()}
    total = sum(sizes.values()) + sum(len(k) + 4 for k in values)
    for key in sorted(sizes, key=sizes.get, reverse=True):
        if total <= MAX_DETAIL:
            break
        values[key] = f"(not logged: {sizes[key]:,} characters)"
        total -= sizes[key] - len(values[key])
    return values


SECRET_FIELD = re.compile(r"password", re.I)
SECRET_NOT_LOGGED = "(not logged)"


def callback_inputs(body: Mapping) -> dict:
    """A callback request's inputs and states as ``{component id: value}`` (``id.property`` for a
    property other than ``value``), each trimmed; a file's content replaced by its length."""
    values: dict = {}
    for entry in _entries(body.get("inputs")) + _entries(body.get("state")):
        prop = str(entry.get("property", "value"))
        key = _component_id(entry["id"]) + ("" if prop == "value" else f".{prop}")
        value = entry.get("value")
        if prop in UNLOGGED_PROPERTIES and value is not None:
            size = len(value) if isinstance(value, (str, list)) else 1
            value = f"(file content not logged: {size:,} characters)"
        elif SECRET_FIELD.search(key) and value is not None:
            value = SECRET_NOT_LOGGED  # a password typed on the account page never reaches the log
        values[key[:MAX_TEXT]] = trim(value)
    return _fit(values)


def first_output(body: Mapping) -> str:
    """The callback's first output as ``id.property`` (an output belongs to one callback only)."""
    outputs = body.get("outputs")
    first = outputs[0] if isinstance(outputs, list) and outputs else outputs
    if isinstance(first, list):  # pattern-matching outputs nest lists
        first = first[0] if first else None
    if isinstance(first, dict):
        return f"{_component_id(first.get('id'))}.{first.get('property')}"[:MAX_TEXT]
    return str(body.get("output", ""))[:MAX_TEXT]


def callback_detail(page_path: str, body: Mapping, status: int) -> dict:
    return {"page": page_path, "callback": first_output(body), "inputs": callback_inputs(body), "status": status}


def page_view_detail(page_path: str, status: int) -> dict:
    return {"page": page_path, "callback": PAGE_VIEW, "inputs": {}, "status": status}


def route_detail(path: str, args: Mapping[str, list[str]], status: int) -> dict:
    """An API call's or download's route and query arguments (one value as itself, several as a list)."""
    params = {str(k)[:MAX_TEXT]: trim(v[0] if len(v) == 1 else list(v)) for k, v in list(args.items())[:MAX_ITEMS]}
    return {"route": path[:MAX_TEXT], "params": _fit(params), "status": status}


# --------------------------------------------------------------------------- comparing queries


def parse(detail) -> dict:
    """A row's detail as a dict (text from the log, or a dict already); {} when it is neither."""
    if isinstance(detail, dict):
        return detail
    try:
        data = json.loads(detail) if detail else {}
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def query_shape(action: str, detail) -> tuple[tuple, dict[str, str]]:
    """What a query asked, for comparing queries: (the view it asked, {parameter: value as JSON}).

    The view is the action with the page and callback, or the route; parameters are the callback's
    inputs (leaving out button presses, ``TRIGGER_PROPERTIES``) or the route's arguments.

    >>> query_shape("aggregate_query", {"route": "/api/v1/coverage/cells", "params": {"res": "8"}})
    (('aggregate_query', '/api/v1/coverage/cells'), {'res': '"8"'})
    """
    data = parse(detail)
    if "route" in data:
        target: tuple = (action, str(data["route"]))
        params = data.get("params")
    else:
        target = (action, str(data.get("page")), str(data.get("callback")))
        params = data.get("inputs")
    params = params if isinstance(params, dict) else {}
    return target, {
        str(k): canonical_json(v) for k, v in params.items() if str(k).rsplit(".", 1)[-1] not in TRIGGER_PROPERTIES
    }


# --------------------------------------------------------------------------- in words


def _name(key: str, prefix: str) -> str:
    """A component id as a short name: without its page's prefix, hyphens as spaces, a property
    other than ``value`` after it (``gaps-upload.filename`` -> ``upload filename``)."""
    cid, _, prop = key.partition(".") if not key.startswith("{") else (key, "", "")
    if prefix and cid.startswith(prefix):
        cid = cid[len(prefix) :]
    return " ".join(p for p in (cid.replace("-", " ").replace("_", " ").strip(), prop.replace("_", " ")) if p)


def value_text(value) -> str:
    """A logged value in words: none, yes/no, lists joined.

    >>> value_text(None), value_text(True), value_text(["Burglary", "Robbery"]), value_text([])
    ('none', 'yes', 'Burglary + Robbery', 'none')
    """
    if value is None or value == [] or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return " + ".join(value_text(v) for v in value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} {value_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def view_text(action: str, detail) -> str:
    """The view a query asked for, in words: ``Coverage, cells``; ``Coverage: page opened``;
    ``API coverage/cells``; ``Download /coverage/export/cells.csv``."""
    data = parse(detail)
    if "route" in data:
        route = str(data["route"])
        if route.startswith("/api/v1/"):
            return f"API {route[len('/api/v1/') :]}"
        return f"Download {route}"
    title, prefix = page_title(str(data.get("page")))
    callback = str(data.get("callback", ""))
    if callback == PAGE_VIEW:
        return f"{title}: page opened"
    return f"{title}, {_name(callback.rsplit('.', 1)[0], prefix)}"


def parameter_name(action: str, detail, key: str) -> str:
    """A parameter's short name as ``describe_query`` shows it."""
    data = parse(detail)
    if "route" in data:
        return key
    return _name(key, page_title(str(data.get("page")))[1])


def describe_query(action: str, detail) -> str:
    """An aggregate query's row in plain words: the view, its parameters, and the answer's status
    when it was not a plain success.

    >>> describe_query("aggregate_query", {"route": "/api/v1/metrics/uptake",
    ...                                    "params": {"from": "2026-05-01", "to": "2026-05-08"}, "status": 200})
    'API metrics/uptake: from 2026-05-01, to 2026-05-08'
    >>> describe_query("aggregate_export", {"route": "/coverage/export/cells.csv", "params": {}, "status": 400})
    'Download /coverage/export/cells.csv (answered 400)'
    """
    data = parse(detail)
    params = data.get("params") if "route" in data else data.get("inputs")
    parts = [f"{parameter_name(action, data, str(k))} {value_text(v)}" for k, v in (params or {}).items()]
    text = view_text(action, data) + (": " + ", ".join(parts) if parts else "")
    status = data.get("status")
    if isinstance(status, int) and not 200 <= status < 300:
        text += f" (answered {status})"
    return text[:600]
