"""The registration form's fields, read from a posted form and turned into the API's payload."""

from __future__ import annotations

from dashboard.public import form


def _posted(fields: dict):
    def get(name):
        value = fields.get(name)
        return value[0] if isinstance(value, list) else value

    def getlist(name):
        value = fields.get(name)
        return value if isinstance(value, list) else ([] if value is None else [value])

    return get, getlist


def test_compass_choice_becomes_degrees_and_exact_bearing_wins():
    state = form.read_form(
        *_posted(
            {
                "camera_count": "3",
                "cam-0-compass": "SW",
                "cam-1-compass": "N",
                "cam-1-direction_deg": "12",
                "cam-2-compass": "",
            }
        )
    )
    body, ids = form.payload(state)
    assert [c["direction_deg"] for c in body["cameras"]] == [225, 12, None]
    assert ids == [None, None, None]


def test_numbers_blanks_and_text_are_kept_apart():
    state = form.read_form(
        *_posted(
            {
                "camera_count": "1",
                "cam-0-retention_days": " 30 ",
                "lat": "52.806259",
                "lon": "",
                "cam-0-direction_deg": "ten",
            }
        )
    )
    body, _ = form.payload(state)
    assert body["cameras"][0]["retention_days"] == 30
    assert body["cameras"][0]["direction_deg"] == "ten"  # left as typed, so the rules can say what is wrong
    assert (body["lat"], body["lon"]) == (52.806259, None)


def test_camera_count_is_bounded_and_ids_come_back():
    get, _getlist = _posted({"camera_count": "99", "cam-0-id": "41", "cam-1-id": "x"})
    assert form.camera_count(get) == 20
    state = form.read_form(*_posted({"camera_count": "2", "cam-0-id": "41", "cam-1-id": "x"}))
    assert form.payload(state)[1] == [41, None]
    assert form.camera_count(_posted({"camera_count": "-3"})[0]) == 1


def test_overlooks_are_a_list_and_consent_must_be_ticked():
    state = form.read_form(*_posted({"camera_count": "1", "cam-0-overlooks": ["street", "garden"], "consent": "yes"}))
    body, _ = form.payload(state)
    assert body["cameras"][0]["overlooks"] == ["street", "garden"] and body["consent"] is True
    assert form.payload(form.read_form(*_posted({"camera_count": "1"})))[0]["consent"] is False


def test_errors_land_on_the_form_field_in_plain_words():
    state = form.FormState()
    form.attach_errors(
        state,
        [
            {"field": "cameras.1.kind", "message": "Choose one of: 'doorbell', 'fixed'."},
            {"field": "cameras.0.overlooks.2", "message": "Choose one of: 'street'."},
            {"field": "postcode", "message": "'ZZ1 1ZZ' is not a postcode in the Staffordshire area; check it."},
            {"field": "name", "message": "Give at least 1 characters."},
        ],
    )
    assert state.errors == {
        "cam-1-kind": "Choose the kind of camera 2.",
        "cam-0-overlooks": "Choose what camera 1 overlooks from the list.",
        "postcode": "'ZZ1 1ZZ' is not a postcode in the Staffordshire area; check it.",
        "name": "Enter your full name.",
    }
