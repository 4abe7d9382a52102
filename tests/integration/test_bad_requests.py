"""Bad input gets a 4xx answer naming the problem (JSON on the API and the Dash routes), never a 500:
JSON nested too deeply, forged callback values, encoded ``..%2f`` paths, oversized bodies, wrong
methods and content types."""

from __future__ import annotations

import pytest

from dashboard.core.vocab import ROLES
from dashboard.pages import page_for_component
from tests.dash_requests import callback_outputs
from tests.integration.conftest import login

DEEP = "[" * 100_000


def assert_json_error(response, status: int, *fragments: str) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:300]
    payload = response.get_json()
    text = str(payload)
    for fragment in fragments:
        assert fragment in text, text
    return payload


def test_deeply_nested_json_to_the_api_is_a_400_naming_the_problem(app):
    client = app.server.test_client()
    response = client.post("/api/v1/registrations", data=DEEP, content_type="application/json")
    payload = assert_json_error(response, 400, "nested too deeply")
    assert set(payload) == {"error", "errors"}  # the API's error shape
    assert payload["errors"] == [{"field": "request", "message": payload["errors"][0]["message"]}]


def test_malformed_json_to_the_api_is_a_400_naming_the_problem(app):
    response = app.server.test_client().post(
        "/api/v1/registrations", data='{"email": ', content_type="application/json"
    )
    assert_json_error(response, 400, "not valid JSON")


@pytest.mark.parametrize("role", [None, "analyst"])
def test_deeply_nested_json_to_the_dash_callback_route_is_a_400(app, role):
    client = app.server.test_client()
    if role:
        login(client, role)
    response = client.post("/_dash-update-component", data=DEEP, content_type="application/json")
    assert response.status_code == (400 if role else 401)
    if role:
        assert_json_error(response, 400, "nested too deeply")


@pytest.mark.parametrize(
    "path",
    [
        "/_dash-component-suites/..%2f..%2fapp.py",
        "/_dash-component-suites/dash/..%2f..%2fconfig.py",
        "/_dash-component-suites/dash/deps/..%2f..%2f..%2fdash%2f__init__.py",
        "/_dash-component-suites/dash/%2e%2e%2f%2e%2e%2fREADME.md",
    ],
)
def test_encoded_dot_dot_under_the_component_suites_is_a_404(app, path):
    client = app.server.test_client()
    login(client, "analyst")
    assert_json_error(client.get(path), 404, "No such file")


def test_a_body_over_the_size_limit_is_a_json_413_on_the_api_and_dash_routes(app):
    client = app.server.test_client()
    big = b"x" * (6 * 1024 * 1024)
    payload = assert_json_error(
        client.post("/api/v1/registrations", data=big, content_type="application/json"), 413, "too large", "5 MB"
    )
    assert set(payload) == {"error", "errors"}
    login(client, "analyst")
    assert_json_error(
        client.post("/_dash-update-component", data=big, content_type="application/json"), 413, "too large"
    )


def test_a_wrong_method_on_an_api_route_says_which_methods_are_allowed(app):
    client = app.server.test_client()
    response = client.delete("/api/v1/requests")
    assert_json_error(response, 405, "not allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert "DELETE" not in response.headers["Allow"]
    response = client.put("/api/v1/summary")
    assert_json_error(response, 405)
    assert "GET" in response.headers["Allow"] and "PUT" not in response.headers["Allow"]


def test_every_documented_refusal_is_in_the_openapi_document(app):
    client = app.server.test_client()
    login(client, "analyst")
    doc = client.get("/api/v1/openapi.json").get_json()
    post = doc["paths"]["/api/v1/registrations"]["post"]["responses"]
    assert {"201", "400", "413", "415", "422", "429"} <= set(post)
    assert client.post("/api/v1/registrations", data="x=1").status_code == 415
    patch = doc["paths"]["/api/v1/requests/{request_id}"]["patch"]["responses"]
    assert {"200", "400", "401", "403", "404", "413", "415", "422"} <= set(patch)


def test_registered_by_is_refused_as_a_json_422_naming_it(app):
    client = app.server.test_client()
    login(client, "analyst")
    payload = assert_json_error(client.get("/api/v1/coverage/cells?registered_by=0"), 422, "registered_by")
    assert payload["errors"][0]["field"] == "registered_by"


FORGED = [{"$ne": 1}, ["a", {"$gt": ""}], "../../etc/passwd", 1e308, -1, True]


def test_forged_values_in_every_callback_are_refused_or_ignored_never_a_500(app):
    """Every callback, as every role its page allows, with all its inputs and states replaced by
    one forged value at a time (``{"$ne": 1}``, an injection probe, once made the coverage page's
    filters answer with a 500; a list, a path, a huge number, a negative one, a boolean)."""
    checked, failures = 0, []
    for role in ROLES:
        client = app.server.test_client()
        login(client, role)
        for key, spec in app.callback_map.items():
            outputs = callback_outputs(key)
            pages = [page_for_component(o["id"]) for o in outputs]
            if any(p is None or not p.allows(role) for p in pages):
                continue
            for value in FORGED:

                def forged(items):
                    return [{**i, "value": value} for i in items]

                body = {
                    "output": key,
                    "outputs": outputs if len(outputs) > 1 else outputs[0],
                    "inputs": forged(spec["inputs"]),
                    "state": forged(spec["state"]),
                    "changedPropIds": [f"{i['id']}.{i['property']}" for i in spec["inputs"][:1]],
                }
                response = client.post("/_dash-update-component", json=body)
                if response.status_code >= 500:
                    failures.append((role, key, value))
                checked += 1
    assert failures == []
    assert checked > 15 * len(FORGED)
