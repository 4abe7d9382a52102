"""Issue 18, the form on a phone: one submit reports every problem of every field (at the top and
beside each field), in plain words; "Add another camera" comes back at the new camera with what
was typed kept."""

from __future__ import annotations

import html
import re

import pytest

from dashboard.api.endpoints import field_errors
from dashboard.public import form
from dashboard.registry.registration import CROSS_CHECKS_LATER, RegistrationIn
from tests.integration.test_public_pages import _csrf, _form, public  # noqa: F401 (fixture)

GOOD = {
    "name": "Alex Formfiller",
    "email": "alex@example.org",
    "phone": "",
    "preferred_channel": "email",
    "site_kind": "home",
    "address": "3 Form Road",
    "consent": True,
}
GOOD_CAMERA = {"kind": "doorbell", "placement": "outdoor", "recording_mode": "motion"}
# Bad answers for every field of the form, as a person (or a tampered form) might send them.
BAD_TOP = {
    "name": ["", "x" * 200, "Alex\x01"],
    "email": ["alex@", "a@b", "@@", "alex example.org", "x" * 300 + "@example.org", "alex@exa mple.org", "alex@.org"],
    "phone": ["123", "+1 212 555 0100", "abc", "0" * 40, "07700"],
    "preferred_channel": ["", "pigeon"],
    "site_kind": ["", "castle"],
    "address": ["", "ab", "x" * 300, "rtsp://192.168.1.20/stream", "Flat\x02 1"],
    "postcode": ["", "ZZ", "ZZ99 9ZZ", "x" * 20, "SW1A 1AA"],
    "lat": ["x", "91", "52.0", "1e400"],
    "lon": ["x", "-181"],
    "consent": [False],
}
BAD_CAMERA = {
    "kind": ["", "robot"],
    "placement": ["", "roof"],
    "mount": ["wall?"],
    "direction_deg": ["400", "-1", "4.5", "north"],
    "retention_days": ["abc", "-1", "1000", "2.5"],
    "recording_mode": ["", "sometimes"],
    "overlooks": [["moon"]],
    "compass": ["Q"],
}
TECHNICAL = (
    "value is not",
    "Input should",
    "type=",
    "[",
    "]",
    "Value error",
    "pydantic",
    "literal_error",
    "@-sign",
    "Traceback",
    "None",
    "Field required",
    "valid email address",
    "dict",
)


def _errors(reference, values: dict, cameras: list[dict]) -> dict[str, str]:
    state = form.FormState(
        values={k: (v if isinstance(v, bool) else str(v)) for k, v in values.items()},
        cameras=[dict(c) for c in cameras],
    )
    model, _ = form.validate(
        state, reference, RegistrationIn, context_key=CROSS_CHECKS_LATER, field_errors=field_errors
    )
    assert model is None
    return state.errors


def test_every_field_with_bad_input_gets_a_plain_message(reference):
    postcode = form.example_postcode(reference)
    seen = []
    for field, values in BAD_TOP.items():
        for value in values:
            errors = _errors(reference, {**GOOD, "postcode": postcode, field: value}, [GOOD_CAMERA])
            assert errors, (field, value)
            seen += [(field, value, m) for m in errors.values()]
    for field, values in BAD_CAMERA.items():
        for value in values:
            errors = _errors(
                reference, {**GOOD, "postcode": postcode, "consent": False}, [{**GOOD_CAMERA, field: value}]
            )
            if field != "compass":  # an unknown compass point is ignored (the bearing stays empty)
                assert any(k.startswith("cam-0-") for k in errors), (field, value, errors)
            seen += [(field, value, m) for m in errors.values()]
    technical = [(f, v, m) for f, v, m in seen if any(bit in m for bit in TECHNICAL)]
    assert technical == []
    messages = {m for _, _, m in seen}
    assert "Enter an email address like name@example.com." in messages
    assert f"Enter the postcode of the site, like {postcode}." in messages
    assert any(m.startswith("Enter a UK phone number") for m in messages)


def test_the_rules_joining_fields_are_reported_with_every_other_problem(reference):
    postcode = form.example_postcode(reference)
    # Email chosen but none given (a rule on two fields), and a camera with two bad answers.
    errors = _errors(
        reference, {**GOOD, "postcode": postcode, "email": ""}, [{**GOOD_CAMERA, "kind": "", "retention_days": "1000"}]
    )
    assert errors == {
        "email": "Give an email address or a phone number, so the police can ask you.",
        "cam-0-kind": "Choose the kind of camera 1.",
        "cam-0-retention_days": "Enter how many days camera 1 keeps footage, a whole number from 0 to 365, or "
        "leave it empty.",
    }
    # Texts to a landline, a bad address and no consent: all three at once, top to bottom.
    errors = _errors(
        reference,
        {
            **GOOD,
            "postcode": postcode,
            "phone": "01632 960123",
            "preferred_channel": "text",
            "address": "",
            "consent": False,
        },
        [GOOD_CAMERA],
    )
    assert list(errors) == ["preferred_channel", "address", "consent"]
    assert errors["preferred_channel"] == "Texts need a mobile number; give one, or choose a call."


def test_one_submit_shows_every_problem_at_the_top_and_beside_each_field(public, reference):
    client, _ = public
    postcode = form.example_postcode(reference)
    data = _form(
        postcode, email="", phone="", **{"cam-0-kind": "", "cam-1-retention_days": "lots", "address": "", "consent": ""}
    )
    page = client.post("/register", data={"csrf_token": _csrf(client), **data}).get_data(as_text=True)
    summary = re.search(r'<div class="alert alert-danger error-summary".*?</div>', page, re.S).group(0)
    expected = {
        "email": "Give an email address or a phone number, so the police can ask you.",
        "address": "Enter the house number or name, and the street.",
        "cam-0-kind": "Choose the kind of camera 1.",
        "cam-1-retention_days": "Enter how many days camera 2 keeps footage, a whole number from 0 to 365, or leave "
        "it empty.",
        "consent": "Tick the box to agree to be contacted; the register exists only for that.",
    }
    assert "There are 5 problems" in summary
    for fid, message in expected.items():
        assert f'href="#{fid}">{html.escape(message)}</a>' in summary
        beside = f'id="{fid}-error"><span class="visually-hidden">Error:</span> {html.escape(message)}'
        assert beside in page, fid


def test_adding_a_camera_comes_back_at_the_new_camera_with_what_was_typed(public, reference):
    client, _ = public
    postcode = form.example_postcode(reference)
    data = _form(postcode, action="add", name="Typed Name")
    answer = client.post("/register", data={"csrf_token": _csrf(client), **data})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "error-summary" not in page  # adding is not a submit: no errors yet
    assert 'id="cam-2"' in page and 'formaction="#cam-3"' in page  # the next add opens at camera 4
    assert 'value="Typed Name"' in page and 'id="cam-1-kind"' in page
    assert re.search(r'<option value="dome" selected>', page)


@pytest.mark.parametrize(
    "bad",
    [
        "value is not a valid email address: The part after the @-sign is not valid.",
        "Input should be 'a' or 'b' [type=literal_error]",
    ],
)
def test_a_technical_message_never_reaches_the_page(bad):
    assert form._plain("email", bad) == "Enter an email address like name@example.com."
    assert form._plain("cam-1-kind", bad) == "Choose the kind of camera 2."
