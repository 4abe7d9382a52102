"""The administrator's erasure page, through its real Dash callback: a registration quoted by
reference is erased and the page says so; a bad reference says why and changes nothing."""
from __future__ import annotations

import sqlalchemy as sa

from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, Registrant
from tests.integration.conftest import login
from tests.integration.test_retention import PERSON, add


def _erase(client, reference: str, reason: str):
    body = {"output": "..erasure-result.children...erasure-reference.value...erasure-reason.value..",
            "outputs": [{"id": "erasure-result", "property": "children"},
                        {"id": "erasure-reference", "property": "value"},
                        {"id": "erasure-reason", "property": "value"}],
            "inputs": [{"id": "erasure-confirm", "property": "submit_n_clicks", "value": 1}],
            "changedPropIds": ["erasure-confirm.submit_n_clicks"],
            "state": [{"id": "erasure-reference", "property": "value", "value": reference},
                      {"id": "erasure-reason", "property": "value", "value": reason}]}
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_data(as_text=True)


def test_an_admin_erases_a_registration_by_reference(app, runtime):
    with transaction(runtime.sessions) as s:
        add(s, "CCR-7KQ2MX")
        add(s, "CCR-8ZZ9AB")
    client = app.server.test_client()
    login(client, "admin")
    assert client.get("/erasure").status_code == 200
    answer = _erase(client, "ccr-7kq2mx ", "erasure request IG-2026-0412 by letter")
    assert "Registration CCR-7KQ2MX erased; 2 cameras left the register" in answer
    with runtime.sessions() as s:
        gone = s.scalar(sa.select(Registrant).where(Registrant.reference == "CCR-7KQ2MX"))
        kept = s.scalar(sa.select(Registrant).where(Registrant.reference == "CCR-8ZZ9AB"))
        assert (gone.status, gone.end_reason, gone.name, gone.email, gone.phone) == ("withdrawn", "request", None,
                                                                                     None, None)
        assert (kept.status, kept.name) == ("active", PERSON["name"])
        row = s.scalar(sa.select(AuditEvent).where(AuditEvent.action == "registration_erased"))
        assert (row.username, row.reason) == ("admin1", "erasure request IG-2026-0412 by letter")


def test_a_bad_request_says_why_and_erases_nothing(app, runtime):
    with transaction(runtime.sessions) as s:
        add(s, "CCR-7KQ2MX")
    client = app.server.test_client()
    login(client, "admin")
    assert "No registration has the reference CCR-7KQ2MY" in _erase(client, "CCR-7KQ2MY", "request IG-2026-1")
    assert "Give the reason" in _erase(client, "CCR-7KQ2MX", "")
    assert "repeats the owner" in _erase(client, "CCR-7KQ2MX", f"letter from {PERSON['name']}")
    with runtime.sessions() as s:
        assert s.scalar(sa.select(Registrant.status).where(Registrant.reference == "CCR-7KQ2MX")) == "active"
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "registration_erased")) == 0
