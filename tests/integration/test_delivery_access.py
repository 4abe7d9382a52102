"""The officer's view of delivery over the API and the pages (issue 16), attacked as another officer
would: bearer tokens on another's request ids, forged Dash callback bodies for the urgent-notice
button. Also: the API's answer to a new request says how it reaches the owners, in the OpenAPI
document too."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from dashboard.config import load_settings
from dashboard.delivery import outbox
from dashboard.registry import audit, casework
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, Camera, OutboxMessage, Registrant, Site, User, utcnow
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user, issue_token
from tests.dash_requests import post_with_values
from tests.integration.conftest import PASSWORD
from tests.integration.test_delivery import Inbox, _free_port

CASE = "CR-2026-016001"
REASON = "Burglary reported at a house in this street overnight"


@pytest.fixture
def relay():
    from aiosmtpd.controller import Controller

    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield box, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


def _runtime(tmp_path, reference_dir, **env):
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
            "PUBLIC_BASE_URL": "https://cameras.example",
            "OUTBOX_WORKER": "0",
            **env,
        }
    )
    rt = prepare(settings)
    with transaction(rt.sessions) as s:
        for name in ("officer1", "officer2"):
            create_user(s, name, PASSWORD, "officer")
        owner = Registrant(
            reference="CCR-AAAAAA",
            name="Ann <b>Example</b>",
            email="ann@example.org",
            phone="01785 000001",
            preferred_channel="email",
            consent_at=utcnow(),
            last_confirmed_at=utcnow(),
        )
        s.add(owner)
        s.flush()
        site = Site(
            registrant_id=owner.id, kind="home", address="1 High Street", postcode="ST16 2AA", district_code="E07000197"
        )
        s.add(site)
        s.flush()
        s.add(Camera(site_id=site.id, kind="doorbell", placement="outdoor", retention_days=30, active=True))
    return rt


def _app(rt):
    from dashboard.application import create_app

    app = create_app(rt)
    app.server.config["TESTING"] = True
    return app


def _login(client, username: str) -> None:
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert answer.status_code == 302


def _bearer(rt, username: str) -> dict:
    with transaction(rt.sessions) as s:
        return {"Authorization": f"Bearer {issue_token(s, username)}"}


def _request_as_officer1(rt, client, **extra) -> dict:
    with rt.sessions() as s:
        user = s.scalar(sa.select(User).where(User.username == "officer1"))
        camera_id, camera_public = s.execute(sa.select(Camera.id, Camera.public_id)).one()
    with transaction(rt.sessions) as s:
        casework.log_search(
            s,
            audit.Actor(user.id, user.username, "officer"),
            case_ref=CASE,
            reason=REASON,
            lat=52.806,
            lon=-2.117,
            radius_m=200,
            incident_at=None,
            result_count=1,
            source="api",
            camera_ids=[camera_id],
        )
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).replace(microsecond=0)
    answer = client.post(
        "/api/v1/requests",
        headers=_bearer(rt, "officer1"),
        json={
            "case_ref": CASE,
            "reason": REASON,
            "camera_ids": [camera_public],
            "incident_lat": 52.806,
            "incident_lon": -2.117,
            "incident_from": at.isoformat(),
            "incident_to": (at + dt.timedelta(hours=1)).isoformat(),
            **extra,
        },
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _outbox(rt) -> list[OutboxMessage]:
    with rt.sessions() as s:
        return list(s.scalars(sa.select(OutboxMessage)))


def test_without_a_service_the_api_says_the_request_was_not_delivered(tmp_path, reference_dir):
    rt = _runtime(tmp_path, reference_dir)
    client = _app(rt).server.test_client()
    made = _request_as_officer1(rt, client)
    assert made["delivery"]["not_delivered"] == 1 and made["delivery"]["email"] == 0
    assert "recorded but not delivered: no email or text service is set up" in made["delivery"]["message"]
    request_id = made["requests"][0]["request_id"]
    progress = client.get(f"/api/v1/requests/{request_id}/progress", headers=_bearer(rt, "officer1"))
    assert progress.status_code == 200
    assert (progress.get_json()["delivery"], progress.get_json()["not_sent_reason"]) == ("not_sent", "no_channel")
    notice = client.post(f"/api/v1/requests/{request_id}/preservation-notice", headers=_bearer(rt, "officer1"))
    assert notice.status_code == 422 and "No email or text service" in notice.get_json()["error"]
    assert _outbox(rt) == []
    rt.engine.dispose()


def test_another_officer_cannot_see_or_act_on_my_request_through_the_api(tmp_path, reference_dir, relay):
    _box, url = relay
    rt = _runtime(tmp_path, reference_dir, SMTP_URL=url)
    client = _app(rt).server.test_client()
    made = _request_as_officer1(rt, client, shared_detail="A bicycle was taken.")
    assert made["delivery"]["email"] == 1 and "1 will be emailed" in made["delivery"]["message"]
    request_id = made["requests"][0]["request_id"]
    theirs = _bearer(rt, "officer2")
    answers = {}
    for rid in (request_id, "REQ-ZZZZZZZZ"):
        seen = client.get(f"/api/v1/requests/{rid}/progress", headers=theirs)
        acted = client.post(f"/api/v1/requests/{rid}/preservation-notice", headers=theirs)
        assert seen.status_code == acted.status_code == 404
        answers[rid] = (seen.get_json()["error"].replace(rid, "<id>"), acted.get_json()["error"].replace(rid, "<id>"))
    assert answers[request_id] == answers["REQ-ZZZZZZZZ"]  # the same answer as for a request that does not exist
    assert [m.kind for m in _outbox(rt)] == ["request"]  # no notice was queued
    with rt.sessions() as s:
        assert (
            s.scalar(
                sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "preservation_requested")
            )
            == 0
        )

    # The officer's own view follows the message out.
    mine = _bearer(rt, "officer1")
    assert client.get(f"/api/v1/requests/{request_id}/progress", headers=mine).get_json()["delivery"] == "queued"
    outbox.Sender(rt.settings, rt.sessions, rt.reference.force_name).run_once()
    seen = client.get(f"/api/v1/requests/{request_id}/progress", headers=mine).get_json()
    assert (seen["delivery"], seen["channel"], seen["answer"], seen["files_stored"]) == ("sent", "email", None, 0)
    assert client.post(f"/api/v1/requests/{request_id}/preservation-notice", headers=mine).status_code == 201
    assert sorted(m.kind for m in _outbox(rt)) == ["preservation", "request"]
    rt.engine.dispose()


def test_a_forged_urgent_notice_callback_for_another_officers_request_is_refused(tmp_path, reference_dir, relay):
    _box, url = relay
    rt = _runtime(tmp_path, reference_dir, SMTP_URL=url)
    app = _app(rt)
    made = _request_as_officer1(rt, app.server.test_client())
    request_id = made["requests"][0]["request_id"]
    attacker = app.server.test_client()
    _login(attacker, "officer2")
    forged = post_with_values(
        attacker,
        app,
        "cases-preserve-msg.children",
        {
            "cases-requests.selectedRows": [{"request_id": request_id}],
            "cases-list.selectedRows": [{"case_ref": CASE}],
            "cases-preserve.n_clicks": 1,
        },
        "cases-preserve.n_clicks",
    )
    assert forged.status_code == 200
    assert "There is no such footage request among yours" in forged.get_data(as_text=True)
    assert [m.kind for m in _outbox(rt)] == ["request"]
    # ... and the refresh shows officer2 nothing of officer1's case.
    refreshed = post_with_values(
        attacker,
        app,
        "cases-requests.rowData",
        {"cases-refresh.n_intervals": 3, "cases-list.selectedRows": [{"case_ref": CASE}]},
        "cases-refresh.n_intervals",
    )
    body = refreshed.get_data(as_text=True)
    assert request_id not in body
    # The owner of the request can.
    owner = app.server.test_client()
    _login(owner, "officer1")
    done = post_with_values(
        owner,
        app,
        "cases-preserve-msg.children",
        {
            "cases-requests.selectedRows": [{"request_id": request_id}],
            "cases-list.selectedRows": [{"case_ref": CASE}],
            "cases-preserve.n_clicks": 1,
        },
        "cases-preserve.n_clicks",
    )
    assert "is queued and goes by email" in done.get_data(as_text=True)
    rows = post_with_values(
        owner,
        app,
        "cases-requests.rowData",
        {"cases-refresh.n_intervals": 1, "cases-list.selectedRows": [{"case_ref": CASE}]},
        "cases-refresh.n_intervals",
    )
    row = next(iter(json.loads(rows.get_data(as_text=True))["response"].values()))["rowData"][0]
    assert (row["request_id"], row["delivery"], row["notice"]) == (request_id, "Queued (by email)", "Queued")
    rt.engine.dispose()


def test_the_openapi_document_shows_delivery_and_progress(tmp_path, reference_dir):
    rt = _runtime(tmp_path, reference_dir)
    doc = _app(rt).server.test_client().get("/api/v1/openapi.json", headers=_bearer(rt, "officer1")).get_json()
    created = doc["paths"]["/api/v1/requests"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert created == {"$ref": "#/components/schemas/RequestsCreated"}
    assert "delivery" in doc["components"]["schemas"]["RequestsCreated"]["properties"]
    assert "shared_detail" in doc["components"]["schemas"]["RequestCreate"]["properties"]
    progress = doc["paths"]["/api/v1/requests/{request_id}/progress"]["get"]
    assert "404" in progress["responses"] and {"delivery", "opened_at", "answer", "files_stored"} <= set(
        doc["components"]["schemas"]["RequestProgressOut"]["properties"]
    )
    rt.engine.dispose()


def test_the_app_sends_a_new_request_at_once_from_its_background_sender(tmp_path, reference_dir, relay):
    """OUTBOX_WORKER on (the default): the web process's own sender is woken when the request is made."""
    box, url = relay
    rt = _runtime(tmp_path, reference_dir, SMTP_URL=url, OUTBOX_WORKER="1")
    client = _app(rt).server.test_client()
    _request_as_officer1(rt, client)
    deadline = dt.datetime.now() + dt.timedelta(seconds=2)  # well before the 3 s poll: it was woken
    while not box.messages and dt.datetime.now() < deadline:
        __import__("time").sleep(0.02)
    assert len(box.messages) == 1 and box.recipients == ["ann@example.org"]
    from dashboard.delivery import worker

    worker._started.stop()
    rt.engine.dispose()


def test_mail_send_can_send_text_and_html(relay):
    from dashboard.mail import send

    box, url = relay
    send(url, "cameras@force.example", "ann@example.org", "Subject", "Plain words", html="<p>Plain words</p>")
    [message] = box.messages
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("html",)).get_content().strip() == "<p>Plain words</p>"
