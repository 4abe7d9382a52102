"""My cases' callback functions called directly, as a signed-in officer would have them run: the requests
of a case, changing a request's status, the urgent 'keep your footage' notice, the contact-list export,
and the phone's cards. Two cases of officer1 are seeded as the footage loop leaves them
(tests/evidence_seed.py): one the owner answered with a picture, one still awaiting the owner's answer.
Forged callback bodies for this page are in test_officer_access.py and test_evidence_attacks.py.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa
from dash import no_update

from dashboard.config import load_settings
from dashboard.core.vocab import ROLES
from dashboard.pages import cases
from dashboard.registry import audit, casework
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, FootageRequest, OutboxMessage, User
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user
from tests.direct_calls import as_text, signed_in
from tests.evidence_seed import seed_case
from tests.integration.conftest import PASSWORD
from tests.media import make_jpeg

ANSWERED, WAITING = "CR-2026-000101", "CR-2026-000202"
REASON = "to phone the owners who have not replied yet"


@pytest.fixture
def runtime(tmp_path, reference_dir):
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
            "EVIDENCE_DIR": str(tmp_path / "evidence"),
            "OUTBOX_WORKER": "0",
            "SMTP_URL": "smtp://mail.example.org:25",  # an email service: notices can be queued (none is sent)
        }
    )
    rt = prepare(settings)
    with transaction(rt.sessions) as s:
        for role in ROLES:
            create_user(s, f"{role}1", PASSWORD, role)
        create_user(s, "officer2", PASSWORD, "officer")
    yield rt
    rt.engine.dispose()


@pytest.fixture
def seeded(runtime, tmp_path):
    answered = seed_case(runtime, [(make_jpeg(tmp_path / "still.jpg"), "Still of the van")], case_ref=ANSWERED)
    waiting = seed_case(runtime, [], case_ref=WAITING, answered=False, n=2)
    return answered, waiting


def _events(rt, action: str) -> list[AuditEvent]:
    with rt.sessions() as s:
        return list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _status(rt, public_id: str) -> str:
    with rt.sessions() as s:
        return s.scalar(sa.select(FootageRequest.status).where(FootageRequest.public_id == public_id))


def _searched(rt, username: str, case_ref: str, request_id: str) -> None:
    """A search of ``username``'s in ``case_ref`` that found the camera of ``request_id``."""
    with transaction(rt.sessions) as s:
        camera = s.scalar(sa.select(FootageRequest.camera_id).where(FootageRequest.public_id == request_id))
        user = s.scalar(sa.select(User).where(User.username == username))
        casework.log_search(
            s,
            audit.Actor(user.id, user.username, user.role),
            case_ref=case_ref,
            reason=REASON,
            lat=52.806,
            lon=-2.117,
            radius_m=200,
            incident_at=None,
            result_count=1,
            source="page",
            camera_ids=[camera],
        )


def test_a_case_shows_its_requests_to_its_officer_and_nothing_to_another(app, runtime, seeded):
    answered, _waiting = seeded
    with signed_in(app, "officer1"):
        rows, title = cases.show_case_requests([{"case_id": answered.case_id}])
        by_reference, _ = cases.show_case_requests([{"case_ref": ANSWERED}])  # a row of the user's own case
        nothing = cases.show_case_requests(None)
    assert title == f"Requests in case {ANSWERED}"
    [row] = rows
    # The seed: a doorbell camera, asked two days ago, answered 'footage' yesterday with one stored picture.
    assert (row["request_id"], row["kind"], row["late"], row["files"]) == (
        answered.request_id,
        "Doorbell camera",
        "No",
        1,
    )
    assert row["status"].startswith("Footage provided (") and row["answer"].startswith("Footage (")
    assert row["camera_id"].startswith("CAM-")
    assert by_reference == rows
    assert nothing == ([], "Select a case above")
    with signed_in(app, "officer2"):
        assert cases.show_case_requests([{"case_id": answered.case_id}]) == ([], "Select a case above")
        assert cases.show_case_requests([{"case_ref": ANSWERED}]) == ([], "Select a case above")
        assert cases.refresh_requests(1, [{"case_id": answered.case_id}]) is no_update
    with signed_in(app, "officer1"):
        assert cases.refresh_requests(1, [{"case_id": answered.case_id}]) == rows


def test_changing_a_status_answers_redraws_both_grids_and_is_logged(app, runtime, seeded):
    answered, waiting = seeded
    chosen = [{"request_id": waiting.request_id}]
    case = [{"case_ref": WAITING}]
    with signed_in(app, "officer1"):
        nothing = cases.change_request_status(1, None, "no_response", None, False, case)
        no_status = cases.change_request_status(1, chosen, "sent", None, False, case)
        done = cases.change_request_status(1, chosen, "no_response", "  rang twice, no answer  ", True, case)
        final = cases.change_request_status(1, [{"request_id": answered.request_id}], "declined", None, False, case)
        unknown = cases.change_request_status(1, [{"request_id": "REQ-NOTAREAL"}], "withdrawn", None, False, case)
    assert "Select a request first." in as_text(nothing["message"])
    assert "Choose the new status." in as_text(no_status["message"])
    for refused in (nothing, no_status, final, unknown):
        assert refused["requests"] is no_update and refused["cases"] is no_update
    assert f"Request {waiting.request_id} is now: No response." in as_text(done["message"])
    [row] = done["requests"]
    assert row["request_id"] == waiting.request_id and row["status"].startswith("No response (")
    # Both of officer1's cases, the one just changed first (newest activity); neither awaits a reply now.
    assert [(c["case_ref"], c["officer"], c["requests"], c["open"], c["provided"]) for c in done["cases"]] == [
        (WAITING, "You", 1, 0, 0),
        (ANSWERED, "You", 1, 0, 1),
    ]
    # An answered request's status is final (casework.REQUEST_TRANSITIONS).
    assert "A request that is 'footage provided' cannot become 'declined'." in as_text(final["message"])
    assert "There is no footage request REQ-NOTAREAL among yours." in as_text(unknown["message"])
    assert (_status(runtime, waiting.request_id), _status(runtime, answered.request_id)) == (
        "no_response",
        "footage_provided",
    )
    [logged] = _events(runtime, "request_status")
    assert (logged.username, logged.case_ref, logged.reason) == ("officer1", WAITING, "rang twice, no answer")
    assert json.loads(logged.detail)["to"] == "no_response"


def test_the_urgent_notice_is_queued_once_for_an_owner_who_has_not_answered(app, runtime, seeded):
    answered, waiting = seeded
    case = [{"case_ref": WAITING}]
    with signed_in(app, "officer1"):
        nothing = cases.ask_owner_to_keep_footage(1, [], case)
        message, rows = cases.ask_owner_to_keep_footage(1, [{"request_id": waiting.request_id}], case)
        twice = cases.ask_owner_to_keep_footage(2, [{"request_id": waiting.request_id}], case)
        too_late = cases.ask_owner_to_keep_footage(3, [{"request_id": answered.request_id}], case)
    with signed_in(app, "officer2"):
        theirs = cases.ask_owner_to_keep_footage(1, [{"request_id": waiting.request_id}], case)
    assert "Select a request first." in as_text(nothing[0]) and nothing[1] is no_update
    # The seeded owner has an email address and no preference; the email service is set up: by email.
    assert (
        f"The urgent notice for request {waiting.request_id} is queued and goes by email before anything else"
        in as_text(message)
    )
    [row] = rows
    assert row["notice"] == "Queued"
    assert "already been queued or sent" in as_text(twice[0]) and twice[1] is no_update
    assert f"Request {answered.request_id} is footage provided: no notice is needed." in as_text(too_late[0])
    assert "There is no such footage request among yours." in as_text(theirs[0]) and theirs[1] is no_update
    with runtime.sessions() as s:
        kinds = list(s.scalars(sa.select(OutboxMessage.kind)))
    assert kinds.count("preservation") == 1


def test_the_contact_list_export_needs_a_case_and_a_reason_and_is_logged(app, runtime, seeded):
    with signed_in(app, "officer1"):
        no_case = cases.export_contact_list(1, None, REASON)
        no_reason = cases.export_contact_list(1, [{"case_ref": ANSWERED}], "")
        unsearched = cases.export_contact_list(1, [{"case_ref": ANSWERED}], REASON)
    _searched(runtime, "officer1", ANSWERED, seeded[0].request_id)
    with signed_in(app, "officer1"):
        download, message = cases.export_contact_list(1, [{"case_ref": ANSWERED}], REASON)
    with signed_in(app, "officer2"):
        refused = cases.export_contact_list(1, [{"case_ref": ANSWERED}], REASON)
    assert no_case[0] is no_update and "Select a case first." in as_text(no_case[1])
    assert no_reason[0] is no_update and "reason" in as_text(no_reason[1]).lower()
    # The seed asked the owner without a search of officer1's in the case: the contacts stay closed.
    assert unsearched[0] is no_update and "was not found by your searches in case" in as_text(unsearched[1])
    assert refused[0] is no_update
    assert f"You have no footage requests in case {ANSWERED} to export" in as_text(refused[1])
    assert download["filename"] == f"{ANSWERED}-contacts.csv" and download["type"] == "text/csv"
    assert f"Downloaded {ANSWERED}-contacts.csv; the export has been recorded." in as_text(message)
    [contact] = list(csv.DictReader(io.StringIO(download["content"])))
    # The seeded owner 1 (tests/evidence_seed.py).
    assert contact["request_id"] == seeded[0].request_id
    assert "owner1@example.org" in download["content"] and "1 Example Street" in download["content"]
    [logged] = _events(runtime, "export")
    assert (logged.username, logged.case_ref, logged.reason) == ("officer1", ANSWERED, REASON)
    assert [(e.username, e.case_ref) for e in _events(runtime, "export_refused")] == [
        ("officer1", ANSWERED),
        ("officer2", ANSWERED),
    ]


def test_the_phone_cards_list_the_valid_rows_of_each_grid(app, runtime, seeded):
    answered, _ = seeded
    with signed_in(app, "officer1"):
        rows, _ = cases.show_case_requests([{"case_id": answered.case_id}])
    [card] = cases.request_card_options(rows + [{"request_id": 7}, "not a row"])
    assert card["value"] == answered.request_id and "Doorbell camera" in as_text(card["label"])
    assert cases.request_card_options(None) == [] and cases.case_card_options("x") == []
    [case_card] = cases.case_card_options(
        [{"case_id": answered.case_id, "case_ref": ANSWERED, "state": "Open", "officer": "You", "to_triage": 1}]
    )
    assert case_card["value"] == answered.case_id
    assert "Requests 0 · awaiting reply 0 · footage provided 0 · files to triage 1" in as_text(case_card["label"])
