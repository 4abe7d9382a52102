"""Attacks on issue 16's new surfaces (the owner's response link, tus uploads, the officer's view),
by a hostile member of the public, a hostile owner and a curious officer.

Tests marked ``BREAK:`` fail on the code they were written against: each shows a promise or a rule of
issue 16 that does not hold. The others pass: attacks correctly refused, added because nothing
covered them before (answers and upload creations racing each other).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import zipfile

import pytest
import sqlalchemy as sa

from dashboard.footage import links
from dashboard.registry import registration
from dashboard.registry.database import transaction
from dashboard.registry.models import (
    Camera,
    FootageRequest,
    FootageResponse,
    Registrant,
    Site,
    User,
    utcnow,
)
from tests.integration.test_footage_uploads import (  # noqa: F401  (fixtures: evidence_dir, runtime, client)
    MAX_FILES,
    MB,
    TUS,
    client,
    create,
    evidence_dir,
    patch,
    rows,
    runtime,
    send,
    stored_files,
)
from tests.media import make_jpeg, pe_header

UTC = dt.UTC
CASE = "CR-2026-009999"
START = dt.datetime(2026, 7, 1, 20, 30, tzinfo=UTC)
END = dt.datetime(2026, 7, 1, 21, 15, tzinfo=UTC)
STATEMENT = {
    "clock_direction": "right",
    "copy_made_by_owner": True,
    "copy_made_at": "2026-07-02T08:15:00Z",
    "signed_name": "Ann Example",
    "note": "The van came from the left at 21:40.",
}


def asked_owner(
    rt, ref: str = "ANN00001", name: str = "Ann Example", start: dt.datetime = START, end: dt.datetime = END
) -> dict:
    """A registered owner (site, two cameras) asked for footage in CASE: their response link's token,
    the response's id, their management token and the registrant's id."""
    now = utcnow()
    with transaction(rt.sessions) as s:
        officer = s.scalar(sa.select(User).where(User.username == "officer1"))
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
            address="1 High Street",
            postcode="ST16 2AB",
            lat=52.8,
            lon=-2.1,
            easting_m=392000.0,
            northing_m=323000.0,
            district_code="E07000197",
        )
        cams = [
            Camera(
                site=site,
                kind="doorbell",
                mount="door",
                placement="outdoor",
                recording_mode="motion",
                retention_days=30,
            ),
            Camera(
                site=site,
                kind="fixed",
                mount="wall",
                placement="outdoor",
                recording_mode="continuous",
                retention_days=14,
            ),
        ]
        s.add_all([person, site, *cams])
        s.flush()
        manage = registration.new_management_token(s, person)
        response = FootageResponse(case_ref=CASE, registrant_id=person.id, requested_by_id=officer.id)
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
                    incident_from=start,
                    incident_to=end,
                    status="sent",
                    sent_at=now,
                    status_changed_at=now,
                    response_id=response.id,
                )
            )
        token = links.issue(response, now, 7)
        return {"token": token, "id": response.id, "manage": manage, "registrant_id": person.id}


def jpeg_bytes(tmp_path) -> bytes:
    return make_jpeg(tmp_path / "still.jpg").read_bytes()


# --------------------------------------------------------------------------- breaks


def test_an_owner_who_says_no_after_uploading_leaves_no_footage_behind(client, runtime, tmp_path):
    # BREAK: an owner uploads a clip, then thinks better of it and answers "I'd rather not". The answer
    # is recorded as declined, but the clip stays 'stored' in the evidence store, is counted as a stored
    # file in the officer's progress (My cases "Files" column, GET .../progress files_stored), and is
    # never swept (sweep_abandoned only sweeps 'uploading'): the police keep footage its owner refused.
    owner = asked_owner(runtime)
    _, last = send(client, owner["token"], jpeg_bytes(tmp_path), "front.jpg")
    assert last.status_code == 204
    assert [r.state for r in rows(runtime)] == ["stored"] and len(stored_files(runtime)) == 1
    done = client.post(f"/api/v1/responses/{owner['token']}/answer", json={"answer": "declined"})
    assert done.status_code == 200, done.get_json()
    from dashboard.registry import casework

    with runtime.sessions() as s:
        officer_id = s.scalar(sa.select(User.id).where(User.username == "officer1"))
        progress = casework.request_progress(s, officer_id, case_ref=CASE)
    assert {p.answer for p in progress} == {"declined"}
    assert [p.files_stored for p in progress] == [0, 0], "the officer is shown files the owner declined to give"
    assert [r.state for r in rows(runtime)] != ["stored"]
    assert stored_files(runtime) == [], "footage the owner declined to give is kept in the evidence store"


def test_a_picture_that_is_also_a_zip_holding_a_program_is_refused(client, runtime, tmp_path):
    # BREAK: a polyglot. A real JPEG with a ZIP archive appended (a ZIP is read from its end, so the
    # file is both). The ZIP holds a Windows program, which the DVR-archive rules refuse ("a program
    # inside (by name or content)"), but the probe looks only at the first bytes, sees a JPEG, decodes
    # the picture and stores it. Saved as 'export.zip' (its name is the owner's choice and is kept),
    # the officer's machine opens it as an archive with player.exe in it.
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("clip.dav", b"\x00" * 4096)
        z.writestr("player.exe", pe_header() + b"\x00" * 2048)
    data = jpeg_bytes(tmp_path) + inner.getvalue()
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["clip.dav", "player.exe"]  # really a ZIP too
    token = asked_owner(runtime)["token"]
    _, last = send(client, token, data, "export.zip")
    assert last.status_code == 422, f"stored as {[(r.state, r.media) for r in rows(runtime)]}"
    assert stored_files(runtime) == []


@pytest.mark.parametrize(
    "name", ["192.168.1.64_01_20261130211405_20261130212000.mp4", "admin password=Pa55word 10.0.0.7.jpg"]
)
def test_a_file_name_holding_a_camera_address_or_login_is_not_kept(client, runtime, tmp_path, name):
    # BREAK (promise 1): the caption is checked for stream links, IP addresses and logins
    # (free_text), but the file's name is only cleaned of folders and control characters. DVR and NVR
    # exports are commonly named after the recorder's IP address (Hikvision: '<ip>_<channel>_<start>_...'),
    # so camera network addresses (and whatever else a name holds) are stored in evidence_file.original_name,
    # returned by files.json and the API, and shown on the receipt.
    token = asked_owner(runtime)["token"]
    made = create(client, token, 1000, name)
    if made.status_code == 201:
        kept = [r.original_name for r in rows(runtime)]
        listed = json.dumps(client.get(f"/respond/{token}/files.json").get_json())
        for secret in ("192.168.1.64", "10.0.0.7", "Pa55word"):
            assert not any(secret in k for k in kept), f"kept the name {kept!r}"
            assert secret not in listed
    else:
        assert made.status_code == 400


def test_after_the_owner_withdraws_their_response_link_no_longer_opens_or_takes_footage(client, runtime, tmp_path):
    # BREAK (promise 6 / the outbox's own rule): when an owner withdraws, their queued messages are
    # cancelled and no urgent notice can be sent ("The owner has withdrawn from the register"), but
    # the response link itself keeps working: it opens the request page, takes uploads and takes an
    # answer with a signed name, so new personal data is attached to an erased registration.
    owner = asked_owner(runtime)
    with transaction(runtime.sessions) as s:
        registration.withdraw(s, s.get(Registrant, owner["registrant_id"]), via="test")
    token = owner["token"]
    page = client.get(f"/respond/{token}")
    made = create(client, token, len(jpeg_bytes(tmp_path)), "front.jpg")
    api = client.get(f"/api/v1/responses/{token}")
    assert (page.status_code, made.status_code, api.status_code) != (200, 201, 200)
    assert page.status_code in (404, 410)
    assert made.status_code in (404, 410)
    assert api.status_code in (404, 410)


def test_withdrawal_after_answering_erases_the_owners_signed_name_and_note(client, runtime, tmp_path):
    # BREAK (promise 6: "erases the owner's personal data at once, everywhere; what is left is
    # anonymous"): erase() clears the registrant, site and cameras, but not the owner's statement on
    # footage_response: their full name as signature and their free-text note stay, still joined to
    # the (withdrawn) registrant row by registrant_id.
    owner = asked_owner(runtime)
    _, last = send(client, owner["token"], jpeg_bytes(tmp_path), "front.jpg")
    assert last.status_code == 204
    done = client.post(f"/api/v1/responses/{owner['token']}/answer", json={"answer": "footage", **STATEMENT})
    assert done.status_code == 200, done.get_json()
    with transaction(runtime.sessions) as s:
        registration.withdraw(s, s.get(Registrant, owner["registrant_id"]), via="test")
    with runtime.sessions() as s:
        response = s.get(FootageResponse, owner["id"])
        left = (response.signed_name, response.owner_note)
    assert left == (None, None), f"left after withdrawal: {left!r}"


def test_no_footage_is_taken_for_requests_the_officer_has_withdrawn(client, runtime, tmp_path):
    # BREAK: the officer withdraws every request in the response (the owner's own page then says
    # "No longer needed", and the outbox cancels unsent messages as "the requests were withdrawn or
    # closed"), but the link still opens, still takes uploads (stored as evidence) and still takes an
    # answer: uploads.create and responses.submit check the link, never that a request is still open.
    owner = asked_owner(runtime)
    with transaction(runtime.sessions) as s:
        for r in s.scalars(sa.select(FootageRequest).where(FootageRequest.response_id == owner["id"])):
            r.status = "withdrawn"
    data = jpeg_bytes(tmp_path)
    made = create(client, owner["token"], len(data), "front.jpg")
    if made.status_code == 201:
        last = patch(client, made.headers["Location"], 0, data)
        assert last.status_code != 204, "footage was uploaded and stored for withdrawn requests"
    assert not any(r.state == "stored" for r in rows(runtime))
    answered = client.post(f"/api/v1/responses/{owner['token']}/answer", json={"answer": "nothing"})
    assert answered.status_code in (404, 410, 422)


def test_a_file_cannot_be_removed_once_the_answer_listing_it_has_been_sent(client, runtime, tmp_path, monkeypatch):
    # BREAK (race): Uploads.remove checks that the link is still open, then marks the file removed and
    # deletes its bytes, without holding the database's write lock between the two (create() does hold
    # it). The owner presses "Remove" in one tab and "Send" in another: the answer 'footage' is
    # recorded listing the file (its SHA-256 in the audit log, the receipt says it was received), then
    # the removal that had already passed its check goes on and deletes the evidence. Reproduced by
    # running the submit at exactly that moment (after remove's second link check).
    from dashboard.footage import responses
    from dashboard.footage.uploads import Uploads

    owner = asked_owner(runtime)
    url, last = send(client, owner["token"], jpeg_bytes(tmp_path), "front.jpg")
    assert last.status_code == 204
    real_open = Uploads._open
    calls = {"n": 0}
    form = {
        "clock_direction": "right",
        "copy_made_myself": "yes",
        "copy_made_at": "2026-07-02T09:15",
        "signed_name": "Ann Example",
    }

    outcome = {}

    def submit_now():
        try:
            with transaction(runtime.sessions) as other:
                responses.submit(other, owner["token"], utcnow(), "footage", form)
            outcome["answer"] = "sent"
        except responses.StatementError as exc:
            outcome["answer"] = exc.errors

    def open_then_submit(session, token, now, **kw):
        response = real_open(session, token, now, **kw)
        calls["n"] += 1
        if calls["n"] == 2:  # remove(): the check inside its lock, just before it marks the file removed
            # The answer is sent from another tab at exactly this moment (another thread here).
            outcome["thread"] = threading.Thread(target=submit_now)
            outcome["thread"].start()
            outcome["thread"].join(0.5)  # it must wait for the removal, not slip in between
        return response

    monkeypatch.setattr(Uploads, "_open", staticmethod(open_then_submit))
    removed = client.delete(url, headers=TUS)
    monkeypatch.setattr(Uploads, "_open", staticmethod(real_open))
    outcome["thread"].join(30)
    with runtime.sessions() as s:
        answer = s.get(FootageResponse, owner["id"]).answer
    kept = ([r.state for r in rows(runtime)], len(stored_files(runtime)))
    # One or the other, never both: the answer listing the file with the file gone.
    if answer == "footage":
        assert kept == (["stored"], 1), f"a file of a sent answer was removed (states, files in the store): {kept}"
        assert removed.status_code in (410, 423), removed.status_code
    else:
        assert removed.status_code == 204 and kept == (["removed"], 0)
        assert "files" in outcome["answer"], outcome  # the answer was refused: no file left to send


def test_a_copy_made_in_the_repeated_hour_when_the_clocks_go_back_is_kept_at_the_time_given(client, runtime, tmp_path):
    # BREAK (timezone edge): the API takes copy_made_at with a time zone, but turns it into a UK wall-clock
    # string ('%Y-%m-%dT%H:%M') and back, always taking the first of the two 01:xx hours on the night the
    # clocks go back. 01:40 UTC on Sunday 25 October 2026 (01:40 GMT, after the change) becomes 00:40 UTC:
    # an hour early in the owner's signed statement, and here refused as "before the time asked about"
    # for an incident at 01:00-01:20 UTC that night.
    start = dt.datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    owner = asked_owner(runtime, start=start, end=start + dt.timedelta(minutes=20))
    _, last = send(client, owner["token"], jpeg_bytes(tmp_path), "front.jpg")
    assert last.status_code == 204
    done = client.post(
        f"/api/v1/responses/{owner['token']}/answer",
        json={**STATEMENT, "answer": "footage", "copy_made_at": "2026-10-25T01:40:00Z"},
    )
    assert done.status_code == 200, done.get_json()
    with runtime.sessions() as s:
        assert s.get(FootageResponse, owner["id"]).copy_made_at == dt.datetime(2026, 10, 25, 1, 40, tzinfo=UTC)


# --------------------------------------------------------------------------- refused correctly (coverage)


def test_two_answers_sent_at_once_record_exactly_one(app, runtime):
    owner = asked_owner(runtime)
    barrier = threading.Barrier(4)
    codes: list[int] = []

    def answer(choice: str) -> None:
        c = app.server.test_client()
        barrier.wait()
        codes.append(c.post(f"/api/v1/responses/{owner['token']}/answer", json={"answer": choice}).status_code)

    threads = [threading.Thread(target=answer, args=(a,)) for a in ("nothing", "declined", "nothing", "declined")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 410, 410, 410], codes
    with runtime.sessions() as s:
        statuses = {r.status for r in s.scalars(sa.select(FootageRequest))}
        response = s.get(FootageResponse, owner["id"])
        assert len(statuses) == 1 and response.answer in ("nothing", "declined")
        assert statuses == {{"nothing": "no_relevant_footage", "declined": "declined"}[response.answer]}


def test_uploads_started_at_once_never_exceed_the_file_count_limit(app, runtime):
    token = asked_owner(runtime)["token"]
    n = MAX_FILES * 3
    barrier = threading.Barrier(n)
    codes: list[int] = []

    def start(i: int) -> None:
        c = app.server.test_client()
        barrier.wait()
        codes.append(create(c, token, 1000, f"clip{i}.mp4").status_code)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes.count(201) == MAX_FILES, codes
    assert len([r for r in rows(runtime) if r.state == "uploading"]) == MAX_FILES


def test_upload_keys_and_offsets_that_try_to_leave_the_upload_are_refused(client, runtime):
    token = asked_owner(runtime)["token"]
    url = create(client, token, 100).headers["Location"]
    for key in ("..%2F..%2Fapp.db", "%2E%2E", "x" * 65, "..", ".store.lock"):
        answer = client.patch(
            f"/respond/{token}/files/{key}",
            data=b"x",
            headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        )
        assert answer.status_code in (404, 405), (key, answer.status_code)
    for offset in ("-1", "1e3", "99999999999999999999", " 0"):
        assert patch(client, url, 0, b"x", **{"Upload-Offset": offset}).status_code in (400, 409), offset
    for length in ("-5", str(10 * MB * 1024 * 1024 * 1024 * 1024), "0x10"):
        assert client.post(f"/respond/{token}/files", headers={**TUS, "Upload-Length": length}).status_code in (
            400,
            413,
        ), length
    assert [(r.received_bytes, r.state) for r in rows(runtime)] == [(0, "uploading")]


def test_another_owners_response_id_from_my_manage_page_opens_nothing_without_the_forms_token(client, runtime):
    ann, bob = asked_owner(runtime), asked_owner(runtime, "BOB00002", "Bob Other")
    with runtime.sessions() as s:
        bob_public = s.get(FootageResponse, bob["id"]).public_id
        ann_public = s.get(FootageResponse, ann["id"]).public_id
    # No CSRF token: refused, nothing issued, even for the owner's own response
    for public in (ann_public, bob_public):
        answer = client.post(f"/manage/{ann['manage']}/requests/{public}", data={})
        assert answer.status_code == 303 and "/respond/" not in answer.headers["Location"]
    assert client.get(f"/respond/{ann['token']}").status_code == 200
    assert client.get(f"/respond/{bob['token']}").status_code == 200


@pytest.mark.parametrize(
    "member", ["../../../../Users/Public/Desktop/clip.dav", "/etc/cron.d/clip.dav", "C:\\Windows\\Temp\\clip.dav"]
)
def test_a_dvr_archive_whose_member_names_leave_the_folder_it_is_unpacked_in_is_refused(client, runtime, member):
    # BREAK (zip trick, "zip slip"): the archive rules look only at each member's last name part
    # (PurePosixPath(...).name), so a member named '../../../../Users/Public/Desktop/clip.dav' or with an
    # absolute path passes as footage. No DVR writes such names; an officer's unzip tool that trusts them
    # writes outside the folder chosen.
    from tests.media import dvr_zip

    data = dvr_zip(runtime.settings.evidence_dir.parent / "slip.zip", {member: b"DHAV" + b"\x00" * 4092}).read_bytes()
    token = asked_owner(runtime)["token"]
    _, last = send(client, token, data, "export.zip")
    assert last.status_code == 422, f"stored as {[(r.state, r.media) for r in rows(runtime)]}"
    assert stored_files(runtime) == []


def test_an_answered_link_stops_showing_the_signed_statement_once_its_time_is_up(client, runtime, tmp_path):
    # BREAK: links.py says the link works "until it expires ... or until the owner has submitted their
    # answer, whichever comes first; after that it shows only why it no longer works". But an answered
    # link never expires: resolve() skips the expiry check once answered, and the page, the API and
    # files.json show the receipt (the owner's signed full name, their note, file names and captions)
    # for ever, to anyone the email is forwarded to or who finds it in a mailbox years later.
    owner = asked_owner(runtime)
    _, last = send(client, owner["token"], jpeg_bytes(tmp_path), "front.jpg")
    assert last.status_code == 204
    done = client.post(f"/api/v1/responses/{owner['token']}/answer", json={"answer": "footage", **STATEMENT})
    assert done.status_code == 200
    with transaction(runtime.sessions) as s:  # a year on
        response = s.get(FootageResponse, owner["id"])
        response.link_expires_at = utcnow() - dt.timedelta(days=365)
    page = client.get(f"/respond/{owner['token']}")
    shown = {
        "page": page.status_code,
        "api": client.get(f"/api/v1/responses/{owner['token']}").status_code,
        "files.json": client.get(f"/respond/{owner['token']}/files.json").status_code,
        "name on the page": "Ann Example" in page.get_data(as_text=True),
    }
    assert shown == {"page": 410, "api": 410, "files.json": 410, "name on the page": False}, shown
