"""Schemathesis against /api/v1/openapi.json, through the Flask app (WSGI), as each role (bearer
token) and anonymous: every answer is documented (status code, content type, body schema) and
none is a server error, for schema-valid input and for input that breaks the schema.

Its own temporary registry (a small demo), so what the run writes (registrations, requests)
touches no other test. Bounded: a few examples per operation, mode and identity (under a minute
or two on one core)."""

from __future__ import annotations

import datetime as dt

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dashboard.core.vocab import ROLES  # noqa: E402
from dashboard.registry.database import transaction  # noqa: E402
from dashboard.security.accounts import create_user, issue_token  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 10  # per operation, generation mode and identity
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def api(tmp_path_factory, reference_dir, reference):
    """The app over a temp-file registry with a small demo, and a bearer token per role."""
    from dashboard.application import create_app
    from dashboard.config import load_settings
    from dashboard.demo import generate_demo
    from dashboard.runtime import prepare

    folder = tmp_path_factory.mktemp("schemathesis")
    rt = prepare(
        load_settings(
            {
                "DATABASE_URL": f"sqlite:///{folder / 'api.db'}",
                "REFERENCE_DATA_DIR": str(reference_dir),
                "SECRET_KEY": "k" * 48,
                "REGISTRATION_RATE_LIMIT": "100000 per hour",
            }
        )
    )
    generate_demo(
        rt.engine,
        reference,
        seed=5,
        registrations=150,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    tokens = {}
    with transaction(rt.sessions) as s:
        for role in ROLES:
            create_user(s, f"fuzz.{role}", PASSWORD, role)
            tokens[role] = issue_token(s, f"fuzz.{role}")
    app = create_app(rt)
    app.server.config["TESTING"] = True
    yield app.server, tokens
    rt.engine.dispose()


@pytest.fixture(scope="module")
def schema(api):
    server, tokens = api
    return schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", server, headers={"Authorization": f"Bearer {tokens['admin']}"}
    )


def _operations(schema):
    out = []
    for result in schema.get_all_operations():
        out.append(result.ok())  # a schema the tool cannot read fails here, naming the operation
    # The owner's tus endpoints are described in the document but speak tus, not JSON: their own
    # tests (tests/integration/test_footage_uploads.py) drive them with a tus client's requests.
    return [op for op in out if op.path.startswith("/api/")]


@pytest.mark.parametrize("identity", [*ROLES, "anonymous"])
def test_every_answer_is_documented_and_none_is_a_server_error(schema, api, identity):
    _server, tokens = api
    headers = {} if identity == "anonymous" else {"Authorization": f"Bearer {tokens[identity]}"}
    operations = _operations(schema)
    assert {op.label for op in operations} >= {
        "GET /api/v1/summary",
        "GET /api/v1/cameras/near",
        "POST /api/v1/requests",
        "POST /api/v1/registrations",
        "PATCH /api/v1/requests/{request_id}",
        "GET /api/v1/coverage/cells",
        "GET /api/v1/coverage/areas",
    }
    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                case.call_and_validate(headers=headers, checks=CHECKS)

            run()
