"""Dash callback requests as a browser sends them, for tests that drive callbacks over HTTP."""

from __future__ import annotations


def router_body(path: str) -> dict:
    """The shell's router callback rendering the page at ``path``."""
    return {
        "output": "shell-content.children",
        "outputs": {"id": "shell-content", "property": "children"},
        "inputs": [{"id": "shell-url", "property": "pathname", "value": path}],
        "changedPropIds": ["shell-url.pathname"],
        "state": [],
    }


def component_props(tree, found: dict | None = None) -> dict:
    """Every component's props in a rendered layout (a callback's JSON answer), by id."""
    found = {} if found is None else found
    if isinstance(tree, dict):
        props = tree.get("props")
        if isinstance(props, dict) and isinstance(props.get("id"), str):
            found[props["id"]] = props
        for value in tree.values():
            component_props(value, found)
    elif isinstance(tree, list):
        for value in tree:
            component_props(value, found)
    return found


def callback_outputs(key: str) -> list[dict]:
    """The outputs named by a ``callback_map`` key."""
    return [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in key.strip(".").split("...") if p]


def callback_body(key: str, spec: dict, props: dict) -> dict:
    """A request body for the callback ``key``, its inputs and states read from ``props`` (the values
    the page was drawn with)."""
    outputs = callback_outputs(key)

    def fill(items):
        return [{**i, "value": props.get(i["id"], {}).get(i["property"])} for i in items]

    return {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": fill(spec["inputs"]),
        "state": fill(spec["state"]),
        "changedPropIds": [],
    }


def post_with_values(client, app, output_prefix: str, values: dict, trigger: str | None = None):
    """POST the callback whose first output starts with ``output_prefix``, its inputs and states from
    ``values`` ("id.property" -> value; missing ones None), as changed by ``trigger`` (default: the
    callback's first input)."""
    key = next(k for k in app.callback_map if k.strip(".").startswith(output_prefix))
    spec = app.callback_map[key]
    outputs = callback_outputs(key)

    def fill(items):
        return [
            {"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")} for i in items
        ]

    first = spec["inputs"][0]
    body = {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": fill(spec["inputs"]),
        "state": fill(spec["state"]),
        "changedPropIds": [trigger or f"{first['id']}.{first['property']}"],
    }
    return client.post("/_dash-update-component", json=body)
