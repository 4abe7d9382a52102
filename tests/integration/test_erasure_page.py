"""The administrator's erasure page, through its real Dash callback: a registration quoted by
reference is erased and the page says so; a bad reference says why and changes nothing."""

from __future__ import annotations

import json

import sqlalchemy as sa

from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, Registrant
from tests.integration.conftest import login
from tests.integration.test_retention import PERSON, add


def _erase(client, reference: str, reason: str):
    body = {
        "output": "..erasure-result.children...erasure-reference.value...erasure-reason.value..",
        "outputs": [
            {"id": "erasure-result", "property": "children"},
            {"id": "erasure-reference", "property": "value"},
            {"id": "erasure-reason", "property": "value"},
        ],
        "inputs": [{"id": "erasure-confirm", "property": "submit_n_clicks", "value": 1}],
        "changedPropIds": ["erasure-confirm.submit_n_clicks"],
        "state": [
            {"id": "erasure-reference", "property": "value", "value": reference},
            {"id": "erasure-reason", "property": "value", "value": reason},
        ],
    }
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
        assert (gone.status, gone.end_reason, gone.name, gone.email, gone.phone) == (
            "withdrawn",
            "request",
            None,
            None,
            None,
        )
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
        assert (
            s.scalar(
                sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "registration_erased")
            )
            == 0
        )


def _by_contact(client, trigger: str, email: str, postcode: str, reason: str, matches=None):
    body = {
        "output": "..erasure-found.children...erasure-erase-found.disabled...erasure-erase-found.children..."
        "erasure-matches.data..",
        "outputs": [
            {"id": "erasure-found", "property": "children"},
            {"id": "erasure-erase-found", "property": "disabled"},
            {"id": "erasure-erase-found", "property": "children"},
            {"id": "erasure-matches", "property": "data"},
        ],
        "inputs": [
            {"id": "erasure-find", "property": "n_clicks", "value": 1},
            {"id": "erasure-confirm-found", "property": "submit_n_clicks", "value": 1},
        ],
        "changedPropIds": [trigger],
        "state": [
            {"id": "erasure-email", "property": "value", "value": email},
            {"id": "erasure-postcode", "property": "value", "value": postcode},
            {"id": "erasure-by-reason", "property": "value", "value": reason},
            {"id": "erasure-matches", "property": "data", "value": matches},
        ],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["response"]


FIND, CONFIRM = "erasure-find.n_clicks", "erasure-confirm-found.submit_n_clicks"


def test_an_admin_finds_by_email_and_postcode_sees_only_a_count_and_erases_them(app, runtime):
    with transaction(runtime.sessions) as s:
        add(s, "CCR-7KQ2MX")
        add(s, "CCR-8ZZ9AB")
        add(s, "CCR-9AB2CD", email="someone.else@example.org")
    client = app.server.test_client()
    login(client, "admin")
    reason = "erasure request IG-2026-0413 by phone"
    found = _by_contact(client, FIND, " ZQ.Owner@Example.org ", "st162dh", reason)
    text = str(found["erasure-found"])
    assert "2 active registrations match" in text
    for private in (PERSON["name"], PERSON["address"], PERSON["phone"], "CCR-7KQ2MX", "CCR-8ZZ9AB", "Zebedee"):
        assert private not in str(found)  # nothing of the registrations themselves
    assert found["erasure-erase-found"] == {"disabled": False, "children": "Erase the 2 active registrations"}
    matches = found["erasure-matches"]["data"]
    # The fields changed after Find: Erase still erases what was found.
    done = _by_contact(client, CONFIRM, "other@example.org", "ST1 1AA", reason, matches)
    assert "2 registrations erased; 4 cameras left the register" in str(done["erasure-found"])
    with runtime.sessions() as s:
        statuses = dict(s.execute(sa.select(Registrant.reference, Registrant.status)).all())
        assert statuses == {"CCR-7KQ2MX": "withdrawn", "CCR-8ZZ9AB": "withdrawn", "CCR-9AB2CD": "active"}
        rows = s.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action.in_(("erasure_lookup", "registration_erased")))
            .order_by(AuditEvent.id)
        ).all()
        assert [(r.action, r.username, r.reason) for r in rows] == [
            ("erasure_lookup", "admin1", reason),
            ("registration_erased", "admin1", reason),
        ]
        logged = " ".join(f"{r.detail}" for r in rows).lower()
        assert "zq.owner" not in logged and "st16" not in logged.replace(" ", "")
        assert json.loads(rows[0].detail) == {"matches": 2} and "CCR-7KQ2MX" in rows[1].detail


def test_finding_by_email_and_postcode_refuses_what_it_cannot_do(app, runtime):
    with transaction(runtime.sessions) as s:
        add(s, "CCR-7KQ2MX")
    client = app.server.test_client()
    login(client, "admin")
    reason = "erasure request IG-2026-0414 by letter"
    assert "Give the email address" in str(_by_contact(client, FIND, "zq.owner@", "ST16 2DH", reason))
    assert "is not one" in str(_by_contact(client, FIND, "zq.owner@example.org", "ZZ99 9ZZ", reason))
    assert "Give the reason" in str(_by_contact(client, FIND, "zq.owner@example.org", "ST16 2DH", ""))
    none = _by_contact(client, FIND, "nobody@example.org", "ST16 2DH", reason)
    assert "No active registration" in str(none) and none["erasure-erase-found"]["disabled"] is True
    # One more registration appeared after Find: nothing is erased until it is found again.
    matches = _by_contact(client, FIND, "zq.owner@example.org", "ST16 2DH", reason)["erasure-matches"]["data"]
    with transaction(runtime.sessions) as s:
        add(s, "CCR-8ZZ9AB")
    assert "2 registrations match now, not 1" in str(_by_contact(client, CONFIRM, "", "", reason, matches))
    refused = _by_contact(client, CONFIRM, "", "", "letter from zq.owner@example.org", matches | {"n": 2})
    assert "repeats the owner" in str(refused)
    with runtime.sessions() as s:
        assert set(s.scalars(sa.select(Registrant.status))) == {"active"}
    # Another role cannot use it at all.
    officer = app.server.test_client()
    login(officer, "officer")
    answer = officer.post(
        "/_dash-update-component",
        json={
            "output": "erasure-found.children",
            "outputs": {"id": "erasure-found", "property": "children"},
            "inputs": [{"id": "erasure-find", "property": "n_clicks", "value": 1}],
            "changedPropIds": [FIND],
            "state": [],
        },
    )
    assert answer.status_code in (401, 403)
