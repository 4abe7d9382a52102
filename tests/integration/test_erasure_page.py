"""The administrator's erasure page, its callbacks called directly as the administrator: a
registration quoted by reference is erased and the page says so; a bad reference says why and
changes nothing. Another role cannot reach the callbacks at all (over HTTP)."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from dashboard.pages import erasure
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, Registrant
from tests.direct_calls import as_text, signed_in
from tests.integration.conftest import login
from tests.integration.test_retention import PERSON, add


def _erase(app, reference: str, reason: str) -> str:
    with signed_in(app, "admin1"):
        return as_text(erasure.erase_by_reference(1, reference, reason))


def test_an_admin_erases_a_registration_by_reference(app, runtime):
    with transaction(runtime.sessions) as s:
        add(s, "CCR-7KQ2MX")
        add(s, "CCR-8ZZ9AB")
    client = app.server.test_client()
    login(client, "admin")
    assert client.get("/erasure").status_code == 200
    answer = _erase(app, "ccr-7kq2mx ", "erasure request IG-2026-0412 by letter")
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
    assert "No registration has the reference CCR-7KQ2MY" in _erase(app, "CCR-7KQ2MY", "request IG-2026-1")
    assert "Give the reason" in _erase(app, "CCR-7KQ2MX", "")
    assert "repeats the owner" in _erase(app, "CCR-7KQ2MX", f"letter from {PERSON['name']}")
    with runtime.sessions() as s:
        assert s.scalar(sa.select(Registrant.status).where(Registrant.reference == "CCR-7KQ2MX")) == "active"
        assert (
            s.scalar(
                sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "registration_erased")
            )
            == 0
        )


def _by_contact(app, trigger: str, email: str, postcode: str, reason: str, matches=None) -> dict:
    with signed_in(app, "admin1"):
        answer = erasure.find_or_erase_by_contact(1, 1, email, postcode, reason, matches, trigger=trigger)
    return {key: as_text(value) if key == "message" else value for key, value in answer.items()}


FIND, CONFIRM = erasure.FIND, erasure.CONFIRM_FOUND


def test_an_admin_finds_by_email_and_postcode_sees_only_a_count_and_erases_them(app, runtime):
    with transaction(runtime.sessions) as s:
        add(s, "CCR-7KQ2MX")
        add(s, "CCR-8ZZ9AB")
        add(s, "CCR-9AB2CD", email="someone.else@example.org")
    reason = "erasure request IG-2026-0413 by phone"
    found = _by_contact(app, FIND, " ZQ.Owner@Example.org ", "st162dh", reason)
    assert "2 active registrations match" in found["message"]
    for private in (PERSON["name"], PERSON["address"], PERSON["phone"], "CCR-7KQ2MX", "CCR-8ZZ9AB", "Zebedee"):
        assert private not in str(found)  # nothing of the registrations themselves
    assert (found["erase_disabled"], found["erase_label"]) == (False, "Erase the 2 active registrations")
    # What the page keeps to erase: the count, a key naming exactly the two found (the SHA-256 of their
    # sorted references, 32 hex digits: nothing of them readable), and the address and postcode as typed.
    key = hashlib.sha256(b"CCR-7KQ2MX\nCCR-8ZZ9AB").hexdigest()[:32]
    assert found["matches"] == {"n": 2, "key": key, "email": " ZQ.Owner@Example.org ", "postcode": "st162dh"}
    # The fields changed after Find: Erase still erases what was found.
    done = _by_contact(app, CONFIRM, "other@example.org", "ST1 1AA", reason, found["matches"])
    assert "2 registrations erased; 4 cameras left the register" in done["message"]
    assert (done["erase_disabled"], done["erase_label"], done["matches"]) == (
        True,
        "Erase the registrations found",
        None,
    )
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
    reason = "erasure request IG-2026-0414 by letter"
    assert "Give the email address" in _by_contact(app, FIND, "zq.owner@", "ST16 2DH", reason)["message"]
    assert "is not one" in _by_contact(app, FIND, "zq.owner@example.org", "ZZ99 9ZZ", reason)["message"]
    assert "Give the reason" in _by_contact(app, FIND, "zq.owner@example.org", "ST16 2DH", "")["message"]
    none = _by_contact(app, FIND, "nobody@example.org", "ST16 2DH", reason)
    assert "No active registration" in none["message"] and none["erase_disabled"] is True
    # Erase before anything was found (no matches kept): refused, nothing asked of the registry.
    first = _by_contact(app, CONFIRM, "zq.owner@example.org", "ST16 2DH", reason, None)
    assert "Find the registrations first." in first["message"] and first["erase_disabled"] is True
    # One more registration appeared after Find: nothing is erased until it is found again.
    matches = _by_contact(app, FIND, "zq.owner@example.org", "ST16 2DH", reason)["matches"]
    with transaction(runtime.sessions) as s:
        add(s, "CCR-8ZZ9AB")
    assert "2 registrations match now, not 1" in _by_contact(app, CONFIRM, "", "", reason, matches)["message"]
    refused = _by_contact(app, CONFIRM, "", "", "letter from zq.owner@example.org", matches | {"n": 2})
    assert "repeats the owner" in refused["message"]
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
            "changedPropIds": ["erasure-find.n_clicks"],
            "state": [],
        },
    )
    assert answer.status_code in (401, 403)
