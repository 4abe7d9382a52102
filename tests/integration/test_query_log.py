"""Analysts' and project leads' aggregate queries in the audit log (issue 14, "probing is
visible"), through the real app: page views, page callbacks, API routes and downloads each leave
one row with their parameters and status; refused requests, other roles' use of the same pages
and the public side leave none; the chain still verifies; an answer that cannot be recorded is
withheld; and a file's content is never logged."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from dashboard.pages import all_pages
from dashboard.registry import audit
from dashboard.registry.models import AuditEvent
from dashboard.security import audit_review, query_log
from dashboard.security.aggregate_queries import callback_inputs
from tests.dash_requests import callback_body, callback_outputs, component_props, router_body
from tests.integration.conftest import login

AGGREGATE = ("aggregate_query", "aggregate_export")


def _bodies(app, prefix: str, props: dict) -> list[dict]:
    """A request body for every callback whose outputs start with ``prefix``, with the values the
    page was drawn with."""
    return [
        callback_body(key, spec, props)
        for key, spec in app.callback_map.items()
        if callback_outputs(key)[0]["id"].startswith(prefix) and "callback" in spec
    ]


def _new_rows(runtime, after: int) -> list:
    with runtime.sessions() as s:
        return s.execute(
            sa.select(
                AuditEvent.id,
                AuditEvent.username,
                AuditEvent.role,
                AuditEvent.action,
                AuditEvent.case_ref,
                AuditEvent.reason,
                AuditEvent.detail,
            )
            .where(AuditEvent.id > after)
            .order_by(AuditEvent.id)
        ).all()


def _newest(runtime) -> int:
    with runtime.sessions() as s:
        return s.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0


def _expected_inputs(body: dict) -> dict:
    """The inputs as the log keeps them, worked out here from the body: id for ``value``, else id.property."""
    out = {}
    for entry in body["inputs"] + body["state"]:
        key = entry["id"] if entry["property"] == "value" else f"{entry['id']}.{entry['property']}"
        # a password field (the account page's) is never logged, whatever was typed
        out[key] = "(not logged)" if "password" in key and entry["value"] is not None else entry["value"]
    return out


@pytest.mark.parametrize("role", ["analyst", "lead"])
def test_every_page_callback_route_and_download_of_an_analyst_or_lead_is_one_row(app, runtime, role):
    client = app.server.test_client()
    login(client, role)
    before = _newest(runtime)
    sent: list[tuple[str, dict, int]] = []  # (action, expected detail without status, status)

    pages = [p for p in all_pages() if p.allows(role)]
    assert "/coverage" in {p.path for p in pages}
    for page in pages:
        response = client.post("/_dash-update-component", json=router_body(page.path))
        sent.append(("aggregate_query", {"page": page.path, "callback": "page", "inputs": {}}, response.status_code))
        props = component_props(json.loads(response.get_data(as_text=True)), {})
        for body in _bodies(app, page.id_prefix, props):
            answer = client.post("/_dash-update-component", json=body)
            first = body["outputs"] if isinstance(body["outputs"], dict) else body["outputs"][0]
            sent.append(
                (
                    "aggregate_query",
                    {
                        "page": page.path,
                        "callback": f"{first['id']}.{first['property']}",
                        "inputs": _expected_inputs(body),
                    },
                    answer.status_code,
                )
            )
    assert any(d.get("callback", "").startswith("coverage-") and d["inputs"] for _, d, _ in sent)

    routes = [
        ("/api/v1/coverage/cells", {"res": "8"}),
        ("/api/v1/summary", {}),
        ("/api/v1/coverage/areas", {"level": "district"}),
    ]
    if role == "lead":
        routes.append(("/api/v1/metrics/uptake", {"from": "2026-05-04", "to": "2026-05-10"}))
    for path, params in routes:
        response = client.get(path, query_string=params)
        sent.append(("aggregate_query", {"route": path, "params": params}, response.status_code))
    downloads = [("/coverage/export/cells.csv", {"res": "8"}), ("/coverage/export/areas.geojson", {"level": "lsoa"})]
    if role == "lead":
        downloads += [("/uptake/report", {})]
    for path, params in downloads:
        response = client.get(path, query_string=params)
        response.close()
        sent.append(("aggregate_export", {"route": path, "params": params}, response.status_code))

    rows = _new_rows(runtime, before)
    assert [r.action for r in rows] == [a for a, _, _ in sent]
    for row, (_action, want, status) in zip(rows, sent):
        detail = json.loads(row.detail)
        assert (row.username, row.role, row.case_ref, row.reason) == (f"{role}1", role, None, None)
        assert detail == {**want, "status": status}, (want, detail)
    assert {s for _, _, s in sent} <= {200, 204}  # every page, callback and route answered
    assert any(a == "aggregate_query" and "route" in d and d["route"] == "/api/v1/coverage/cells" for a, d, _ in sent)
    with runtime.sessions() as s:
        assert audit.verify_chain(s).intact


@pytest.mark.parametrize("role", ["analyst", "lead"])
def test_refused_requests_the_shell_and_the_api_document_leave_no_row(app, runtime, role):
    client = app.server.test_client()
    login(client, role)
    before = _newest(runtime)
    refused = [
        client.post("/_dash-update-component", json=router_body("/search")),  # "not available to your role"
        client.post("/_dash-update-component", json=router_body("/no-such-page")),
        client.get("/api/v1/cameras/near", query_string={"lat": 52.8, "lon": -2.1}),
        client.get("/api/v1/openapi.json"),
        client.get("/audit/export.csv?from=2026-07-01&to=2026-07-01"),
        client.get("/api/v1/no-such-route"),
        client.get("/_dash-layout"),
        client.get("/coverage"),
        client.get("/sources"),
    ]
    for body in _bodies(app, "audit-", {}):  # the auditor's callbacks: the guard refuses them
        refused.append(client.post("/_dash-update-component", json=body))
    if role == "analyst":  # the uptake page, its API and its report are the lead's
        refused += [
            client.get("/api/v1/metrics/uptake"),
            client.get("/uptake/report"),
            *[client.post("/_dash-update-component", json=b) for b in _bodies(app, "uptake-", {})],
        ]
    assert [r.status_code for r in refused if r.status_code in (401, 403, 404)]
    assert _new_rows(runtime, before) == []


@pytest.mark.parametrize("role", ["officer", "admin", "auditor"])
def test_other_roles_use_of_pages_and_the_api_writes_no_aggregate_rows(app, runtime, role):
    client = app.server.test_client()
    login(client, role)
    before = _newest(runtime)
    for page in all_pages():
        if not page.allows(role) or page.path in ("/audit", "/search", "/cases"):  # those log their own actions
            continue
        response = client.post("/_dash-update-component", json=router_body(page.path))
        assert response.status_code == 200
        props = component_props(json.loads(response.get_data(as_text=True)), {})
        for body in _bodies(app, page.id_prefix, props):
            if page.path in ("/accounts", "/erasure", "/campaigns"):
                continue  # administration: pressing its buttons changes things (and is logged as such)
            client.post("/_dash-update-component", json=body)
    client.get("/api/v1/summary")
    with runtime.sessions() as s:
        actions = s.scalars(sa.select(AuditEvent.action).where(AuditEvent.id > before)).all()
    assert not set(actions) & set(AGGREGATE)


def test_an_answer_that_cannot_be_recorded_is_withheld(app, runtime, monkeypatch):
    client = app.server.test_client()
    login(client, "analyst")
    before = _newest(runtime)

    def broken(*_args, **_kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(query_log.audit, "record", broken)
    api = client.get("/api/v1/coverage/cells", query_string={"res": "8"})
    export = client.get("/coverage/export/cells.csv", query_string={"res": "8"})
    page = client.post("/_dash-update-component", json=router_body("/coverage"))
    assert [r.status_code for r in (api, export, page)] == [503, 503, 503]
    assert "cells" not in api.get_json() and "could not be recorded" in api.get_json()["error"]
    assert export.get_data(as_text=True).startswith("The answer could not be recorded")
    assert _new_rows(runtime, before) == []


def test_a_files_content_is_never_logged_only_its_length():
    content = "data:text/csv;base64," + "QUJD" * 5000
    body = {
        "inputs": [{"id": "gaps-upload", "property": "contents", "value": content}],
        "state": [
            {"id": "gaps-upload", "property": "filename", "value": "crimes.csv"},
            {"id": "gaps-types", "property": "value", "value": [f"type {i}" for i in range(30)]},
            {"id": "gaps-note", "property": "value", "value": "x" * 500},
        ],
    }
    logged = callback_inputs(body)
    assert logged["gaps-upload.contents"] == f"(file content not logged: {len(content):,} characters)"
    assert logged["gaps-upload.filename"] == "crimes.csv"
    assert logged["gaps-types"][:2] == ["type 0", "type 1"] and logged["gaps-types"][-1] == "… and 10 more"
    assert len(logged["gaps-types"]) == 21
    assert logged["gaps-note"] == "x" * 200 + "… (500 characters)"
    assert "QUJD" not in json.dumps(logged)


def test_the_rows_read_in_plain_words_on_the_auditors_page(app, runtime, reference):
    client = app.server.test_client()
    login(client, "lead")
    client.get("/api/v1/metrics/uptake", query_string={"from": "2026-05-04", "to": "2026-05-10"})
    client.get("/coverage/export/cells.csv", query_string={"res": "8"})
    client.get("/api/v1/coverage/cells", query_string={"res": "12"})  # refused by the API: 422, still a query
    client.post("/_dash-update-component", json=router_body("/coverage"))
    with runtime.sessions() as s:
        rows = s.execute(
            sa.select(AuditEvent.action, AuditEvent.detail)
            .where(AuditEvent.action.in_(AGGREGATE))
            .order_by(AuditEvent.id)
        ).all()
    texts = [audit_review.describe(r.action, r.detail) for r in rows]
    assert texts == [
        "API metrics/uptake: from 2026-05-04, to 2026-05-10",
        "Download /coverage/export/cells.csv: res 8",
        "API coverage/cells: res 12 (answered 422)",
        "Coverage: page opened",
    ]
    assert audit_review.ACTION_LABELS["aggregate_export"] == "Figures exported"
