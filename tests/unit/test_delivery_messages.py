"""The words sent to owners (dashboard/delivery/messages.py): UK time, escaping, the link and its
lifetime, and nothing that suggests the owner works for the police."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from dashboard.delivery import messages as m
from dashboard.registry.channels import Channels, DeliverySummary, choose, is_mobile

UTC = dt.UTC
LINK = "https://cameras.example/respond/" + "A" * 43
# A police connection, in any letter case, as a whole word ("Staffordshire" is the force's name).
POLICE_CONNECTION = re.compile(r"\b(staff|pilot|colleagues?|intranet|employee|employees|officer|police staff)\b", re.I)


def _facts(**changes) -> m.MessageFacts:
    values = dict(
        force_name="Staffordshire Police",
        owner_name="Ann Example",
        case_ref="CR-2026-004512",
        incident_from=dt.datetime(2026, 12, 1, 21, 30, tzinfo=UTC),
        incident_to=dt.datetime(2026, 12, 1, 22, 15, tzinfo=UTC),
        cameras=(m.OwnerCamera("doorbell", "outdoor", 90), m.OwnerCamera("fixed", None, None)),
        shared_detail=None,
        link=LINK,
        link_expires_at=dt.datetime(2026, 12, 8, 10, 0, tzinfo=UTC),
        link_days=7,
    )
    values.update(changes)
    return m.MessageFacts(**values)


def test_the_window_is_in_uk_time_in_winter():
    assert (
        m.uk_window(dt.datetime(2026, 12, 1, 21, 30, tzinfo=UTC), dt.datetime(2026, 12, 1, 22, 15, tzinfo=UTC))
        == "Tuesday 1 December 2026, 21:30 to 22:15"
    )


def test_the_window_is_in_british_summer_time_in_summer():
    # 20:30 UTC on 2 June 2026 is 21:30 BST; 23:30 UTC is 00:30 BST the next day.
    assert (
        m.uk_window(dt.datetime(2026, 6, 2, 20, 30, tzinfo=UTC), dt.datetime(2026, 6, 2, 21, 15, tzinfo=UTC))
        == "Tuesday 2 June 2026, 21:30 to 22:15"
    )
    assert (
        m.uk_window(dt.datetime(2026, 6, 2, 22, 30, tzinfo=UTC), dt.datetime(2026, 6, 2, 23, 30, tzinfo=UTC))
        == "Tuesday 2 June 2026, 23:30 to Wednesday 3 June 2026, 00:30"
    )


def test_the_request_says_what_is_asked_with_the_link_its_lifetime_and_how_to_say_no():
    email = m.request_email(_facts(shared_detail="A bicycle was taken from a front garden."))
    for body in (email.text, email.html):
        assert "Staffordshire Police" in body and "CR-2026-004512" in body
        assert "Tuesday 1 December 2026, 21:30 to 22:15 (UK time)" in body
        assert "doorbell camera (outdoor, facing east)" in body and "CCTV camera" in body
        assert LINK in body
        assert "works for 7 days, until Tuesday 8 December 2026, 10:00 (UK time)" in body
        assert "rather not" in body
        assert "A bicycle was taken from a front garden." in body
    assert email.subject == "Staffordshire Police: can your camera help? (case CR-2026-004512)"
    assert f'href="{LINK}"' in email.html


def test_without_shared_detail_nothing_is_said_about_the_crime():
    email = m.request_email(_facts(shared_detail=None))
    assert "What happened" not in email.text and "What happened" not in email.html


@pytest.mark.parametrize("build", [m.request_email, m.preservation_email])
def test_nothing_suggests_the_owner_works_for_the_police(build):
    email = build(_facts(shared_detail="Two people were seen."))
    for text in (email.subject, email.text, email.html):
        assert not POLICE_CONNECTION.search(text), POLICE_CONNECTION.search(text)
    for fields in (m.request_personalisation(_facts()), m.preservation_personalisation(_facts())):
        assert not POLICE_CONNECTION.search(" ".join(fields.values()))


def test_html_is_escaped():
    email = m.request_email(
        _facts(owner_name="<script>alert('name')</script>", shared_detail='<img src=x onerror="alert(1)"> & more')
    )
    assert "<script>" not in email.html and "<img" not in email.html
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;" in email.html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; more" in email.html
    assert "<script>alert('name')</script>" in email.text  # plain text stays as typed


def test_the_preservation_notice_is_short_has_the_times_and_no_link():
    email = m.preservation_email(_facts(link=None, link_expires_at=None))
    assert "Please keep any recording from Tuesday 1 December 2026, 21:30 to 22:15 (UK time)" in email.text
    assert "a request with a private link to send it follows" in email.text
    assert "/respond/" not in email.text and len(email.text) < 800


def test_the_text_message_fields():
    fields = m.request_personalisation(_facts(shared_detail="x"))
    assert fields == {
        "name": "Ann Example",
        "force_name": "Staffordshire Police",
        "incident_window": "Tuesday 1 December 2026, 21:30 to 22:15",
        "cameras": "your doorbell camera (outdoor, facing east) and your CCTV camera",
        "shared_detail": "x",
        "link": LINK,
        "link_expires": "Tuesday 8 December 2026, 10:00",
        "case_ref": "CR-2026-004512",
    }


def test_channel_choice():
    both = Channels(email=True, text=True)
    assert choose("email", "a@x.org", "07700900123", both) == "email"
    assert choose("text", "a@x.org", "+44 7700 900123", both) == "text"
    assert choose("text", "a@x.org", "01785 000001", both) == "email"  # a landline cannot take a text
    assert choose("email", None, "07700 900123", both) == "text"
    assert choose("phone", "a@x.org", "07700900123", both) is None
    assert choose("email", "a@x.org", "07700900123", Channels()) is None
    assert is_mobile("07700 900123") and not is_mobile("0800 123 4567")


def test_the_summary_for_the_officer():
    summary = DeliverySummary(recorded=3, email=2, text=1)
    assert summary.text_for_officer() == "3 footage requests recorded: 2 will be emailed, 1 by text message."
    none = DeliverySummary(recorded=1, not_delivered=1, no_service=True)
    assert none.text_for_officer() == (
        "1 footage request recorded. 1 request recorded but not delivered: no email "
        "or text service is set up; ring the owner (show their contact details)."
    )
