"""The owner's response page (/respond/<token>): what it shows, the three answers, the statement,
the receipt, and every way a link can be dead; the owner's own page lists their requests.

The request rows are written by hand here (the officer's side has its own tests): one owner with
two cameras asked about one window, another owner asked in the same case.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import pandas as pd
import pytest
import sqlalchemy as sa

from dashboard.delivery.worker import sender_for
from dashboard.footage import links
from dashboard.registry import registration
from dashboard.registry.database import transaction
from dashboard.registry.models import (
    AuditEvent,
    Camera,
    EvidenceFile,
    FootageRequest,
    FootageResponse,
    Registrant,
    Site,
    User,
    utcnow,
)

UTC = dt.UTC
CASE = "CR-2026-004512"
# 20:30-21:15 UTC on 1 July 2026 is 21:30-22:15 BST (UK summer time): what the owner must read.
START = dt.datetime(2026, 7, 1, 20, 30, tzinfo=UTC)
END = dt.datetime(2026, 7, 1, 21, 15, tzinfo=UTC)
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def _owner(s, ref: str, name: str, address: str) -> tuple[Registrant, list[Camera], str]:
    now = utcnow()
    person = Registrant(
        reference=ref,
        name=name,
        email=f"{ref.lower()}@example.org",
        preferred_channel="email",
        consent_at=now,
        last_confirmed_at=now,
    )
    site = Site(
        registrant=person,
        kind="home",
        address=address,
        postcode="ST16 2AB",
        lat=52.8,
        lon=-2.1,
        easting_m=392000.0,
        northing_m=323000.0,
        district_code="E07000197",
    )
    cams = [
        Camera(
            site=site, kind="doorbell", mount="door", placement="outdoor", recording_mode="motion", retention_days=30
        ),
        Camera(
            site=site, kind="fixed", mount="wall", placement="outdoor", recording_mode="continuous", retention_days=14
        ),
    ]
    s.add_all([person, site, *cams])
    s.flush()
    manage = registration.new_management_token(s, person)
    return person, cams, manage


@pytest.fixture
def asked(runtime):
    """Two owners asked in one case; returns their response tokens, ids and manage tokens."""
    now = utcnow()
    with transaction(runtime.sessions) as s:
        officer = s.scalar(sa.select(User).where(User.username == "officer1"))
        out = {}
        for key, ref, name, address in (
            ("ann", "ANN00001", "Ann Example", "1 High Street"),
            ("bob", "BOB00002", "Bob Other", "99 Secret Lane"),
        ):
            person, cams, manage = _owner(s, ref, name, address)
            response = FootageResponse(
                case_ref=CASE,
                registrant_id=person.id,
                requested_by_id=officer.id,
                shared_detail="A blue van was seen driving off at speed.",
            )
            s.add(response)
            s.flush()
            for cam in cams:
                s.add(
                    FootageRequest(
                        case_ref=CASE,
                        camera_id=cam.id,
                        requested_by_id=officer.id,
                        incident_lat=52.8,
                        incident_lon=-2.1,
                        incident_from=START,
                        incident_to=END,
                        status="sent",
                        sent_at=now,
                        status_changed_at=now,
                        response_id=response.id,
                    )
                )
            token = links.issue(response, now, 7)
            out[key] = {
                "token": token,
                "id": response.id,
                "manage": manage,
                "public_id": response.public_id,
                "cameras": [c.public_id for c in cams],
            }
    return out


def _csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def _statuses(runtime, response_id: int) -> list[str]:
    with runtime.sessions() as s:
        return [
            r.status
            for r in s.scalars(
                sa.select(FootageRequest).where(FootageRequest.response_id == response_id).order_by(FootageRequest.id)
            )
        ]


def _store_file(runtime, response_id: int, state: str = "stored") -> None:
    with transaction(runtime.sessions) as s:
        s.add(
            EvidenceFile(
                response_id=response_id,
                upload_key=f"k{response_id}{state}".ljust(43, "x"),
                original_name="front door.mp4",
                caption="21:40 van",
                declared_size=1234,
                received_bytes=1234 if state == "stored" else 10,
                sha256=SHA if state == "stored" else None,
                state=state,
            )
        )


def test_the_page_says_what_is_asked_in_uk_time_and_nothing_about_anyone_else(app, runtime, asked):
    client = app.server.test_client()
    page = client.get(f"/respond/{asked['ann']['token']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Wednesday 1 July 2026, 21:30 to 22:15" in html  # BST, worked out by hand
    assert "A blue van was seen driving off at speed." in html
    assert "Doorbell camera (outdoor)" in html and "CCTV camera (outdoor)" in html
    assert all(cam in html for cam in asked["ann"]["cameras"])
    for other in ("Bob Other", "99 Secret Lane", "Ann Example", "1 High Street", *asked["bob"]["cameras"]):
        assert other not in html  # not the other owner's details, nor even the owner's own address
    for word in ("staff", "pilot", "colleague", "intranet", "employee"):  # ("Staffordshire" is the force's name)
        assert not re.search(rf"\b{word}\b", html, re.IGNORECASE)
    assert page.headers["Cache-Control"] == "no-store"
    assert '<meta name="referrer" content="no-referrer">' in html  # the link is the key: never sent on
    with runtime.sessions() as s:
        assert s.get(FootageResponse, asked["ann"]["id"]).first_opened_at is not None
        opened = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "response_opened")).all()
    assert len(opened) == 1 and opened[0].case_ref == CASE and asked["ann"]["token"] not in (opened[0].detail or "")


def test_the_force_is_named_as_force_name_says_on_the_page_and_in_the_request_mail(app, runtime, asked):
    client = app.server.test_client()
    html = client.get(f"/respond/{asked['ann']['token']}").get_data(as_text=True)
    assert "Police in Staffordshire are asking" in html  # only the area's name is known
    assert sender_for(runtime).force_name == "Staffordshire"
    named = dataclasses.replace(
        runtime, settings=dataclasses.replace(runtime.settings, force_name="Staffordshire Police")
    )
    app.server.extensions["ccr"] = named
    html = client.get(f"/respond/{asked['bob']['token']}").get_data(as_text=True)
    assert "Staffordshire Police is asking" in html and "Police in Staffordshire" not in html
    assert sender_for(named).force_name == "Staffordshire Police"  # the request's mail and text say it too


def test_nothing_recorded_closes_the_requests_and_spends_the_link(app, runtime, asked):
    client = app.server.test_client()
    path = f"/respond/{asked['ann']['token']}"
    token = _csrf(client, path)
    answer = client.post(path, data={"csrf_token": token, "answer": "nothing"})
    assert answer.status_code == 303
    assert _statuses(runtime, asked["ann"]["id"]) == ["no_relevant_footage", "no_relevant_footage"]
    assert _statuses(runtime, asked["bob"]["id"]) == ["sent", "sent"]  # the other owner's requests untouched
    receipt = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Thank you" in receipt and asked["ann"]["public_id"] in receipt and "Nothing was recorded" in receipt
    again = client.post(path, data={"csrf_token": token, "answer": "declined"})
    assert again.status_code == 410 and "already answered" in again.get_data(as_text=True)
    assert _statuses(runtime, asked["ann"]["id"]) == ["no_relevant_footage", "no_relevant_footage"]
    with runtime.sessions() as s:
        rows = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "response_answered")).all()
    assert len(rows) == 1 and json.loads(rows[0].detail)["answer"] == "nothing"


def test_footage_needs_a_stored_file_and_the_whole_statement_each_problem_named_at_once(app, runtime, asked):
    client = app.server.test_client()
    path = f"/respond/{asked['ann']['token']}"
    token = _csrf(client, path)
    page = client.post(
        path,
        data={
            "csrf_token": token,
            "answer": "footage",
            "clock_direction": "fast",
            "clock_minutes": "0",
            "copy_made_at": "2030-01-01T10:00",
            "signed_name": "",
        },
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for message in (
        "Upload at least one file of footage",
        "Enter how far ahead the clock is",
        "Confirm that you made the copy",
        "The time you made the copy is in the future",
        "Enter your full name",
    ):
        assert message in html
    _store_file(runtime, asked["ann"]["id"], "uploading")
    html = client.post(path, data={"csrf_token": token, "answer": "footage"}).get_data(as_text=True)
    assert "Some files have not finished uploading" in html
    assert _statuses(runtime, asked["ann"]["id"]) == ["sent", "sent"]
    with runtime.sessions() as s:
        assert s.get(FootageResponse, asked["ann"]["id"]).answered_at is None


def test_footage_with_a_statement_is_kept_with_the_clock_difference_and_shown_on_the_receipt(app, runtime, asked):
    client = app.server.test_client()
    path = f"/respond/{asked['ann']['token']}"
    token = _csrf(client, path)
    _store_file(runtime, asked["ann"]["id"])
    answer = client.post(
        path,
        data={
            "csrf_token": token,
            "answer": "footage",
            "clock_direction": "fast",
            "clock_minutes": "3",
            "clock_seconds": "20",
            "copy_made_myself": "yes",
            "copy_made_at": "2026-07-02T09:15",
            "signed_name": "Ann Example",
            "owner_note": "The van came from the left.",
        },
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    with runtime.sessions() as s:
        r = s.get(FootageResponse, asked["ann"]["id"])
        assert (r.answer, r.clock_offset_s, r.copy_made_by_owner, r.signed_name) == (
            "footage",
            200,
            True,
            "Ann Example",
        )
        assert r.copy_made_at == dt.datetime(2026, 7, 2, 8, 15, tzinfo=UTC)  # 09:15 BST
    assert _statuses(runtime, asked["ann"]["id"]) == ["footage_provided", "footage_provided"]
    receipt = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert SHA in receipt and "3 minutes and 20 seconds fast" in receipt and "front door.mp4" in receipt


def test_dead_links_say_why_and_change_nothing(app, runtime, asked):
    client = app.server.test_client()
    missing = client.get("/respond/" + "A" * 43)
    assert missing.status_code == 404 and "does not work" in missing.get_data(as_text=True)
    assert client.get("/respond/short").status_code == 404
    with transaction(runtime.sessions) as s:
        s.get(FootageResponse, asked["bob"]["id"]).link_expires_at = utcnow() - dt.timedelta(minutes=1)
    expired = client.get(f"/respond/{asked['bob']['token']}")
    assert expired.status_code == 410 and "has expired" in expired.get_data(as_text=True)
    token = _csrf(client, f"/respond/{asked['ann']['token']}")
    late = client.post(f"/respond/{asked['bob']['token']}", data={"csrf_token": token, "answer": "declined"})
    assert late.status_code == 410
    assert _statuses(runtime, asked["bob"]["id"]) == ["sent", "sent"]


def test_an_answer_without_the_forms_csrf_token_changes_nothing(app, runtime, asked):
    client = app.server.test_client()
    page = client.post(f"/respond/{asked['ann']['token']}", data={"answer": "declined"})
    assert page.status_code == 400 and "expired" in page.get_data(as_text=True)
    assert _statuses(runtime, asked["ann"]["id"]) == ["sent", "sent"]


def test_the_owners_page_lists_requests_and_gives_a_fresh_link_only_to_their_own(app, runtime, asked):
    client = app.server.test_client()
    manage = f"/manage/{asked['ann']['manage']}"
    html = client.get(manage).get_data(as_text=True)
    assert asked["ann"]["public_id"] in html and "Waiting for your answer" in html
    assert asked["bob"]["public_id"] not in html
    token = _csrf(client, manage)
    # Bob's response through Ann's page: nothing issued
    other = client.post(f"{manage}/requests/{asked['bob']['public_id']}", data={"csrf_token": token})
    assert other.status_code == 303 and "/respond/" not in other.headers["Location"]
    assert client.get(f"/respond/{asked['bob']['token']}").status_code == 200  # Bob's link still works
    fresh = client.post(f"{manage}/requests/{asked['ann']['public_id']}", data={"csrf_token": token})
    assert fresh.status_code == 303 and fresh.headers["Location"].startswith("/respond/")
    assert client.get(fresh.headers["Location"]).status_code == 200
    assert client.get(f"/respond/{asked['ann']['token']}").status_code == 404  # the old link stopped


def test_the_api_shows_the_owner_the_request_and_takes_an_answer_with_the_page_s_checks(app, runtime, asked):
    client = app.server.test_client()
    token = asked["ann"]["token"]
    shown = client.get(f"/api/v1/responses/{token}")
    assert shown.status_code == 200
    body = shown.get_json()
    assert (
        body["reference"] == asked["ann"]["public_id"]
        and body["window_text"] == "Wednesday 1 July 2026, 21:30 to 22:15"
    )
    assert sorted(c["camera_id"] for c in body["cameras"]) == sorted(asked["ann"]["cameras"])
    assert "Bob" not in shown.get_data(as_text=True) and "Ann Example" not in shown.get_data(as_text=True)
    bad = client.post(f"/api/v1/responses/{token}/answer", json={"answer": "footage", "clock_direction": "slow"})
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.get_json()["errors"]}
    assert {"files", "clock_minutes", "copy_made_by_owner", "copy_made_at", "signed_name"} <= fields
    _store_file(runtime, asked["ann"]["id"])
    done = client.post(
        f"/api/v1/responses/{token}/answer",
        json={
            "answer": "footage",
            "clock_direction": "slow",
            "clock_minutes": 1,
            "clock_seconds": 5,
            "copy_made_by_owner": True,
            "copy_made_at": "2026-07-02T08:15:00Z",
            "signed_name": "Ann Example",
        },
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["answer"] == "footage"
    with runtime.sessions() as s:
        assert s.get(FootageResponse, asked["ann"]["id"]).clock_offset_s == -65
    assert client.post(f"/api/v1/responses/{token}/answer", json={"answer": "declined"}).status_code == 410
    assert client.get("/api/v1/responses/" + "B" * 43).status_code == 404


def test_time_to_footage_for_the_uptake_page_runs_to_the_first_stored_file(app, runtime, asked):
    from dashboard.registry import uptake_queries

    stored_at = utcnow() - dt.timedelta(hours=5)
    _store_file(runtime, asked["ann"]["id"])
    with transaction(runtime.sessions) as s:
        s.scalars(sa.select(EvidenceFile)).one().completed_at = stored_at
    client = app.server.test_client()
    path = f"/respond/{asked['ann']['token']}"
    answer = client.post(
        path,
        data={
            "csrf_token": _csrf(client, path),
            "answer": "footage",
            "clock_direction": "right",
            "copy_made_myself": "yes",
            "copy_made_at": "2026-07-02T09:15",
            "signed_name": "Ann Example",
        },
    )
    assert answer.status_code == 303
    with runtime.sessions() as s:
        frame = uptake_queries.requests(s)
    provided = frame[frame["status"] == "footage_provided"]
    assert len(provided) == 2 and (provided["status_changed_at"] == pd.Timestamp(stored_at)).all()


def test_the_openapi_document_describes_the_owners_side(app):
    from tests.integration.conftest import login

    client = app.server.test_client()
    login(client, "officer")
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    assert set(paths["/api/v1/responses/{token}"]) == {"get"} and set(paths["/api/v1/responses/{token}/answer"]) == {
        "post"
    }
    assert {"404", "410"} <= set(paths["/api/v1/responses/{token}"]["get"]["responses"])
    assert set(paths["/respond/{token}/files"]) == {"options", "post"}
    assert set(paths["/respond/{token}/files/{key}"]) == {"head", "patch", "delete"}
    assert {"409", "422", "507"} <= set(paths["/respond/{token}/files/{key}"]["patch"]["responses"])
    assert "files.json" in "".join(paths)
