"""Issue 15, item 6 (promise 1: no live access): stream links, IP addresses and credentials typed
into any free-text field of a registration are refused, with a message naming the field, on the
API, the public form, the owner's management page and the domain function itself; nothing of
them is stored. Ordinary names and addresses still pass.

The owner types free text in two fields: ``name`` and ``address`` (the email is validated as an
email address, the phone as a UK number, the postcode against the offline list, and every camera
field is a choice or a number).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.registry import free_text, registration
from dashboard.registry.models import Registrant, Site
from tests.integration.test_casework import seeded  # noqa: F401 (fixture)
from tests.integration.test_public_pages import _csrf, _form, _register, public  # noqa: F401 (fixture)
from tests.integration.test_registration import URL, reg_app, valid  # noqa: F401 (fixture)

FREE_TEXT_FIELDS = ("name", "address")

# What an owner might paste from their camera's app or a note: each must be refused.
PAYLOADS = [
    "rtsp://admin:Pa55word@192.0.2.10:554/Streaming/Channels/101",
    "12 High St rtsp://cam.local/stream",
    "http://example.com/live",
    "HTTPS://cams.example.org",
    "see www.mycam.co.uk",
    "12 Mill Lane, camera at 192.168.1.64",
    "10.0.0.5:8000 back garden",
    "cam on 2001:db8::10",
    "[fe80::1]:554",
    "admin:Pa55word@home",
    "3 Oak Road password=hunter2",
    "Oak Road pwd: 1234",
    "login admin password 12345",
    "Flat 1 user: admin pass: letmein",
    "Passcode 4455, 2 Elm Close",
    "mycam.ddns.net",
    "onvif 2 Elm Close",
    "ｒｔｓｐ：／／1.2.3.4",  # noqa: RUF001 - full-width letters, as a phone keyboard may give
    "1.2.3.4\u200b",
    "ftp://files.example.net/clips",
]

# Ordinary names and addresses: each must pass.
ORDINARY = [
    "Flat 2, 10 High St.",
    "Unit 1.2, Stafford Enterprise Park",
    "10.5 Mill Lane",
    "St. Mary's Church Hall",
    "The Old Post Office, Church Street",
    "Apartment 3B, 12-14 Market Sq.",
    "1/2 Bridge Street",
    "Dr. A. N. Other",
    "Mary-Jane O'Neill",
    "Plot 4: Meadow View",
    "No. 7 Station Road",
    "Passage Farm",
    "Pinfold Lane",
    "Admiral's Court",
    "Userton House",
    "12:30 Lane",
    "Wwwyatt Close",
]


@pytest.mark.parametrize("text", PAYLOADS)
def test_the_checker_refuses_links_addresses_and_credentials(text):
    with pytest.raises(ValueError) as info:
        free_text.check(text, "address")
    assert "address" in str(info.value)


@pytest.mark.parametrize("text", ORDINARY)
def test_the_checker_passes_ordinary_names_and_addresses(text):
    assert free_text.check(text, "address") == text


@pytest.mark.parametrize("field", FREE_TEXT_FIELDS)
def test_the_api_refuses_every_payload_in_every_free_text_field_and_stores_nothing(reg_app, reference, field):
    client, rt = reg_app
    postcode = reference.postcodes["postcode"].iloc[20]
    for text in PAYLOADS:
        answer = client.post(URL, json=valid(postcode, **{field: text}))
        assert answer.status_code == 422, (field, text)
        errors = answer.get_json()["errors"]
        assert [e["field"] for e in errors] == [field], (text, errors)
        label = "name" if field == "name" else "address"
        assert label in errors[0]["message"] and "stream" in errors[0]["message"], errors[0]["message"]
    with rt.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Registrant)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Site)) == 0


@pytest.mark.parametrize("field", FREE_TEXT_FIELDS)
def test_the_form_shows_the_message_beside_the_field_and_stores_nothing(public, reference, field):
    client, rt = public
    postcode = reference.postcodes["postcode"].iloc[21]
    for text in PAYLOADS[:6]:
        page = client.post("/register", data={"csrf_token": _csrf(client), **_form(postcode, **{field: text})})
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and f'id="{field}-error"' in html, text
        assert "Keep your private link" not in html
    with rt.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Registrant)) == 0


@pytest.mark.parametrize("field", FREE_TEXT_FIELDS)
def test_the_owners_page_refuses_them_too_and_keeps_what_was_there(public, reference, field):
    client, rt = public
    postcode = reference.postcodes["postcode"].iloc[22]
    token = _register(client, postcode)
    for text in PAYLOADS[:6]:
        form = {"csrf_token": _csrf(client, f"/manage/{token}"), **_form(postcode, **{field: text}), "action": "save"}
        html = client.post(f"/manage/{token}", data=form).get_data(as_text=True)
        assert f'id="{field}-error"' in html, text
    with rt.sessions() as s:
        assert s.scalar(sa.select(Registrant.name)) == "Alex Formfiller"
        assert s.scalar(sa.select(Site.address)) == "3 Form Road"


def test_the_domain_function_refuses_them_even_when_validation_was_skipped(reg_app, reference):
    _client, rt = reg_app
    postcode = reference.postcodes["postcode"].iloc[23]
    good = registration.RegistrationIn.model_validate(valid(postcode), context={"reference": reference})
    for field in FREE_TEXT_FIELDS:
        forged = good.model_copy(update={field: PAYLOADS[0]})  # model_copy does not validate
        with rt.sessions() as s:
            with pytest.raises(ValueError):
                registration.register(s, forged, reference, via="api")
            s.rollback()
    with rt.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Registrant)) == 0


def test_an_officers_note_on_a_footage_request_refuses_them_too(seeded):
    """The note an officer records with an owner's answer (page, callback and API all go through
    ``casework.change_status``) keeps no stream link, IP address or login either."""
    from dashboard.registry import casework as cw
    from tests.integration.test_casework import NOW, OFFICER, _create, _refused_without_writing

    (request_id,) = _create(seeded)
    for text in PAYLOADS[:8]:
        refused = _refused_without_writing(
            seeded,
            lambda s: cw.change_status(
                s, OFFICER, request_id=request_id, new_status="footage_provided", note=text, now=NOW
            ),
            "note",
        )
        assert "note" in str(refused) and "stream" in str(refused)
    from dashboard.registry.database import session_factory

    with session_factory(seeded)() as s:
        done = cw.change_status(
            s,
            OFFICER,
            request_id=request_id,
            new_status="footage_provided",
            note="Owner copied 2 clips to a USB stick at 14:30",
            now=NOW,
        )
        assert done.status == "footage_provided"
