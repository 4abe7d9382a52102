"""Footage requests reach their owners (issue 16): grouped by owner into responses, queued in the
persistent outbox on the owner's channel, sent through a real local SMTP server (aiosmtpd) and a
local stand-in for GOV.UK Notify, retried with back-off, cancelled on withdrawal, and shown to the
officer. Hand-made rows (tests/integration/test_casework.py's ``_seed``): Ann prefers email (a
landline), the shop prefers to be phoned, Dee prefers text (a mobile, no email)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import socket
import threading

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from dashboard.config import load_settings
from dashboard.delivery import outbox
from dashboard.footage import links
from dashboard.registry import audit
from dashboard.registry import casework as cw
from dashboard.registry.channels import Channels
from dashboard.registry.database import session_factory, transaction
from dashboard.registry.models import AuditEvent, FootageRequest, FootageResponse, OutboxMessage, Registrant
from tests.integration.test_casework import (
    CASE,
    DOORBELL_30D,
    FIXED_UNKNOWN,
    NO_POSITION,
    NOW,
    OFFICER,
    OFFICER2,
    SHOP_7D,
    _request_kwargs,
    _search,
    _seed,
)
from tests.notify_fake import API_KEY, FakeNotify

REQUEST_TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"
PRESERVATION_TEMPLATE = "0b5e7f4e-6b1a-4c39-9a3e-3c1e0d7c2f11"
BOTH = Channels(email=True, text=True)
LINK = re.compile(r"https://cameras\.example/respond/([A-Za-z0-9_-]{43})")
POLICE_CONNECTION = re.compile(r"\b(staff|pilot|colleague|colleagues|intranet|employee|officer)\b", re.I)


class Inbox:
    """A local mail relay's handler: keeps what it accepts; ``refuse_next`` answers the next DATA with
    those replies instead (e.g. '451 4.3.0 try later')."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[str] = []
        self.refuse_next: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_next:
            return self.refuse_next.pop(0)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.recipients.extend(envelope.rcpt_tos)
        return "250 OK queued as 1234"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def relay():
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield box, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


@pytest.fixture
def seeded(engine):
    _seed(engine)
    return engine


def _settings(reference_dir, **env):
    base = {
        "DATABASE_URL": "sqlite:////nonexistent/unused.db",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "k" * 48,
        "PUBLIC_BASE_URL": "https://cameras.example",
        "MAIL_FROM": "cameras@force.example",
    }
    return load_settings({**base, **{k: v for k, v in env.items() if v is not None}})


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _sender(engine, settings, clock=None, lease_s=outbox.LEASE_S):
    return outbox.Sender(
        settings, session_factory(engine), "Staffordshire Police", clock=clock or Clock(NOW), lease_s=lease_s
    )


def _request(engine, actor=OFFICER, channels=BOTH, **overrides):
    kwargs = _request_kwargs(**overrides)
    with transaction(session_factory(engine)) as s:
        _search(s, actor, kwargs["case_ref"], kwargs["camera_ids"])
        batch = cw.create_requests(s, actor, channels=channels, **kwargs)
        return [r.id for r in batch], batch.delivery


def _messages(engine) -> list[OutboxMessage]:
    with session_factory(engine)() as s:
        return list(s.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def _audit(engine, *actions) -> list[AuditEvent]:
    with session_factory(engine)() as s:
        return list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.id)))


# --------------------------------------------------------------------------- requests become messages


def test_requests_are_grouped_by_owner_and_queued_on_each_owners_channel(seeded):
    ids, summary = _request(seeded, camera_ids=[DOORBELL_30D, FIXED_UNKNOWN, SHOP_7D, NO_POSITION])
    with session_factory(seeded)() as s:
        responses = {r.registrant_id: r for r in s.scalars(sa.select(FootageResponse))}
        requests = {r.camera_id: r for r in s.scalars(sa.select(FootageRequest))}
    assert sorted(responses) == [1, 2, 4]  # Ann (two cameras, one response), the shop, Dee
    assert requests[DOORBELL_30D].response_id == requests[FIXED_UNKNOWN].response_id == responses[1].id
    assert requests[SHOP_7D].response_id == responses[2].id and requests[NO_POSITION].response_id == responses[4].id
    assert all(r.requested_by_id == 1 and r.case_ref == CASE for r in responses.values())
    queued = [(m.response_id, m.kind, m.channel, m.priority, m.state) for m in _messages(seeded)]
    assert queued == [
        (responses[1].id, "request", "email", 1, "queued"),
        (responses[4].id, "request", "text", 1, "queued"),
    ]  # the shop asked to be phoned
    assert (summary.recorded, summary.email, summary.text, summary.phone_preferred) == (4, 2, 1, 1)
    assert summary.text_for_officer() == (
        "4 footage requests recorded: 2 will be emailed, 1 by text message. 1 owner asked to be phoned: not sent, "
        "ring them (show their contact details)."
    )
    detail = __import__("json").loads(_audit(seeded, "request_created")[0].detail)
    assert detail["delivery"] == ["email", "email", "phone_preferred", "text"]  # in the order of request_ids
    assert detail["request_ids"] == ids


def test_without_any_service_the_officer_is_told_nothing_was_delivered(seeded):
    _ids, summary = _request(seeded, channels=Channels(), camera_ids=[DOORBELL_30D, NO_POSITION])
    assert _messages(seeded) == []
    assert summary.text_for_officer() == (
        "2 footage requests recorded. 2 requests recorded but not delivered: no "
        "email or text service is set up; ring them (show their contact "
        "details)."
    )
    with session_factory(seeded)() as s:
        progress = cw.request_progress(s, 1, case_ref=CASE)
    assert [(p.delivery, p.not_sent_reason) for p in progress] == [("not_sent", "no_channel")] * 2


def test_an_owner_falls_back_to_the_other_service_only_with_a_usable_contact(seeded):
    # Only text is set up: Ann prefers email and has only a landline (no text); Dee has a mobile.
    _ids, summary = _request(seeded, channels=Channels(text=True), camera_ids=[DOORBELL_30D, NO_POSITION])
    assert [(m.channel, m.kind) for m in _messages(seeded)] == [("text", "request")]
    assert (summary.text, summary.not_delivered) == (1, 1)
    assert "the owner has no email address or mobile number for the services set up" in summary.text_for_officer()


def test_a_later_request_to_the_same_owner_in_the_case_joins_the_first(seeded):
    _request(seeded, camera_ids=[DOORBELL_30D])
    _ids, summary = _request(seeded, camera_ids=[FIXED_UNKNOWN])
    assert len(_messages(seeded)) == 1 and summary.joined == 1
    with session_factory(seeded)() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(FootageResponse)) == 1
        assert len(set(s.scalars(sa.select(FootageRequest.response_id)))) == 1


def test_an_urgent_notice_goes_first_only_where_footage_is_at_risk(seeded):
    # Ann's doorbell keeps 30 days: footage from 29 days ago is overwritten within 48 hours.
    start = NOW - dt.timedelta(days=29)
    _ids, summary = _request(
        seeded,
        camera_ids=[DOORBELL_30D, NO_POSITION],
        preservation=True,
        incident_from=start,
        incident_to=start + dt.timedelta(minutes=45),
    )
    assert [(m.kind, m.channel, m.priority) for m in _messages(seeded)] == [
        ("preservation", "email", 0),
        ("request", "email", 1),
        ("request", "text", 1),
    ]  # Dee keeps 60 days
    assert summary.preservation == 1 and "notice goes first to 1 owner" in summary.text_for_officer()


def test_no_urgent_notice_when_nothing_is_at_risk(seeded):
    _ids, summary = _request(seeded, camera_ids=[NO_POSITION], preservation=True)
    assert [m.kind for m in _messages(seeded)] == ["request"]
    assert "No urgent notice was needed" in summary.text_for_officer()


@pytest.mark.parametrize(
    "detail, field_message",
    [
        ("see rtsp://admin:pw@192.0.2.1/stream", "link"),
        ("x" * 301, "at most 300"),
    ],
)
def test_what_the_officer_shares_is_checked_and_nothing_is_written(seeded, detail, field_message):
    with pytest.raises(cw.CaseworkError) as caught:
        _request(seeded, camera_ids=[DOORBELL_30D], shared_detail=detail)
    assert caught.value.field == "shared_detail" and field_message in caught.value.message
    with session_factory(seeded)() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(FootageRequest)) == 0
    assert _messages(seeded) == []


# --------------------------------------------------------------------------- email through a real relay


def test_an_email_reaches_the_owner_once_with_a_working_link(seeded, relay, reference_dir):
    box, url = relay
    _request(seeded, camera_ids=[DOORBELL_30D, FIXED_UNKNOWN], shared_detail="A <b>bicycle</b> was taken")
    sender = _sender(seeded, _settings(reference_dir, SMTP_URL=url))
    assert sender.run_once() == 1
    assert sender.run_once() == 0  # nothing more to send: exactly one message per response
    assert len(box.messages) == 1 and box.recipients == ["ann@example.org"]
    message = box.messages[0]
    assert message.is_multipart() and message.get_content_type() == "multipart/alternative"
    assert message["Message-ID"].endswith("@force.example>") and message["Date"] and message["Auto-Submitted"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Staffordshire Police" in text and CASE in text
    assert "A &lt;b&gt;bicycle&lt;/b&gt; was taken" in html and "<b>bicycle" not in html
    token = LINK.search(text).group(1)
    assert LINK.search(html).group(1) == token
    with session_factory(seeded)() as s:
        response = links.resolve(s, token, NOW + dt.timedelta(days=6))
        assert response.registrant_id == 1 and response.link_expires_at == NOW + dt.timedelta(days=7)
    assert [m.state for m in _messages(seeded)] == ["sent"]
    sent = _audit(seeded, "message_sent")
    assert len(sent) == 1 and (sent[0].case_ref, sent[0].username, sent[0].reason) == (
        CASE,
        "system",
        "Footage request to the owner by email",
    )
    with session_factory(seeded)() as s:
        assert audit.verify_chain(s).intact
    every_row = " ".join(
        f"{r.detail} {r.reason} {r.subject_ids}" for r in _audit(seeded, "message_sent", "request_created", "search")
    )
    assert "ann@example.org" not in every_row and "01785" not in every_row


def test_the_urgent_notice_is_sent_before_the_request(seeded, relay, reference_dir):
    box, url = relay
    start = NOW - dt.timedelta(days=29, hours=1)
    _request(
        seeded,
        camera_ids=[DOORBELL_30D],
        preservation=True,
        incident_from=start,
        incident_to=start + dt.timedelta(minutes=30),
    )
    _sender(seeded, _settings(reference_dir, SMTP_URL=url)).run_once()
    assert [m["Subject"].startswith("Staffordshire Police: please keep") for m in box.messages] == [True, False]
    notice = box.messages[0].get_body(("plain",)).get_content()
    assert "a request with a private link to send it follows" in notice and not LINK.search(notice)


def test_a_refusing_relay_is_retried_with_back_off_and_the_old_link_stops(seeded, relay, reference_dir):
    box, url = relay
    _request(seeded, camera_ids=[DOORBELL_30D])
    clock = Clock(NOW)
    sender = _sender(seeded, _settings(reference_dir, SMTP_URL=url), clock)
    box.refuse_next = ["451 4.3.0 Try again later", "451 4.3.0 Try again later"]
    sender.run_once()
    [m] = _messages(seeded)
    assert (m.state, m.attempts, m.next_attempt_at) == ("queued", 1, NOW + dt.timedelta(minutes=1))
    assert "451" in m.last_error
    with session_factory(seeded)() as s:
        first = s.execute(sa.select(FootageResponse.token_hash)).scalar()
    assert sender.run_once() == 0  # not due yet
    clock.now = NOW + dt.timedelta(minutes=1)
    sender.run_once()
    [m] = _messages(seeded)
    assert (m.state, m.attempts, m.next_attempt_at) == ("queued", 2, clock.now + dt.timedelta(minutes=2))
    clock.now += dt.timedelta(minutes=2)
    sender.run_once()
    [m] = _messages(seeded)
    assert (m.state, m.attempts, m.last_error) == ("sent", 3, None)
    assert len(box.messages) == 1
    token = LINK.search(box.messages[0].get_body(("plain",)).get_content()).group(1)
    with session_factory(seeded)() as s:
        assert links.resolve(s, token, clock.now).registrant_id == 1
        assert s.execute(sa.select(FootageResponse.token_hash)).scalar() != first  # a new token per attempt
    assert [a.action for a in _audit(seeded, "message_sent", "message_retry")] == [
        "message_retry",
        "message_retry",
        "message_sent",
    ]


def test_a_permanent_refusal_fails_and_the_officer_sees_why(seeded, relay, reference_dir):
    box, url = relay
    ids, _ = _request(seeded, camera_ids=[DOORBELL_30D])
    box.refuse_next = ["550 5.1.1 <ann@example.org>: Recipient address rejected"]
    _sender(seeded, _settings(reference_dir, SMTP_URL=url)).run_once()
    [m] = _messages(seeded)
    assert m.state == "failed" and "550" in m.last_error and "ann@example.org" not in m.last_error
    with session_factory(seeded)() as s:
        [p] = cw.request_progress(s, 1, request_ids=ids)
    assert (p.delivery, p.channel) == ("failed", "email") and "Recipient address rejected" in p.error
    [failed] = _audit(seeded, "message_failed")
    assert failed.case_ref == CASE and "ann@example.org" not in failed.detail


def test_after_the_gave_up_limit_the_message_fails(seeded, reference_dir):
    _request(seeded, camera_ids=[DOORBELL_30D])
    clock = Clock(NOW)
    sender = _sender(seeded, _settings(reference_dir, SMTP_URL=f"smtp://127.0.0.1:{_free_port()}"), clock)
    for _ in range(outbox.MAX_ATTEMPTS):
        sender.run_once()
        clock.now += dt.timedelta(hours=1)
    [m] = _messages(seeded)
    assert (m.state, m.attempts) == ("failed", outbox.MAX_ATTEMPTS) and "could not be reached" in m.last_error


def test_an_owner_who_withdraws_before_sending_gets_nothing(seeded, relay, reference_dir):
    box, url = relay
    _request(seeded, camera_ids=[DOORBELL_30D])
    with transaction(session_factory(seeded)) as s:  # as an erasure leaves it (registry/retention.py)
        s.execute(
            sa.update(Registrant)
            .where(Registrant.id == 1)
            .values(status="withdrawn", name=None, email=None, phone=None, withdrawn_at=NOW, end_reason="request")
        )
    _sender(seeded, _settings(reference_dir, SMTP_URL=url)).run_once()
    assert box.messages == [] and [m.state for m in _messages(seeded)] == ["cancelled"]
    assert len(_audit(seeded, "message_cancelled")) == 1


def test_a_sender_whose_claim_was_taken_over_does_not_finish_the_message(seeded, relay, reference_dir):
    box, url = relay
    _request(seeded, camera_ids=[DOORBELL_30D])
    settings = _settings(reference_dir, SMTP_URL=url)
    slow = _sender(seeded, settings, Clock(NOW), lease_s=10)
    first = outbox.claim(slow.sessions, NOW, 10)
    assert outbox.claim(slow.sessions, NOW + dt.timedelta(seconds=5), 10) is None  # still held
    later = Clock(NOW + dt.timedelta(seconds=11))
    other = _sender(seeded, settings, later)
    second = outbox.claim(other.sessions, later.now, 120)
    assert second is not None and second.was_sending
    assert slow.deliver(first) == "abandoned"  # body sent, then dropped before the terminator
    assert other.deliver(second) == "sent"
    assert len(box.messages) == 1


def test_two_senders_at_once_send_each_message_once(seeded, relay, reference_dir):
    box, url = relay
    with transaction(session_factory(seeded)) as s:  # 30 owners' responses, as if from 30 requests
        for i in range(30):
            response = FootageResponse(case_ref=f"CR-2026-{i:04d}", registrant_id=1, requested_by_id=1, created_at=NOW)
            s.add(response)
            s.flush()
            s.add(
                FootageRequest(
                    case_ref=response.case_ref,
                    camera_id=DOORBELL_30D,
                    requested_by_id=1,
                    incident_lat=52.8,
                    incident_lon=-2.1,
                    incident_from=NOW - dt.timedelta(hours=2),
                    incident_to=NOW - dt.timedelta(hours=1),
                    sent_at=NOW,
                    status_changed_at=NOW,
                    response_id=response.id,
                )
            )
            s.add(
                OutboxMessage(
                    response_id=response.id,
                    kind="request",
                    channel="email",
                    priority=1,
                    state="queued",
                    attempts=0,
                    next_attempt_at=NOW,
                    created_at=NOW,
                )
            )
    settings = _settings(reference_dir, SMTP_URL=url)
    senders = [_sender(seeded, settings) for _ in range(3)]
    threads = [threading.Thread(target=s.run_once) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(box.messages) == 30
    cases = sorted(re.search(r"case (CR-2026-\d{4})", m["Subject"]).group(1) for m in box.messages)
    assert cases == [f"CR-2026-{i:04d}" for i in range(30)]


# --------------------------------------------------------------------------- text messages through Notify


def _notify_settings(reference_dir, fake):
    return _settings(
        reference_dir,
        NOTIFY_API_KEY=API_KEY,
        NOTIFY_BASE_URL=fake.url,
        NOTIFY_REQUEST_TEMPLATE_ID=REQUEST_TEMPLATE,
        NOTIFY_PRESERVATION_TEMPLATE_ID=PRESERVATION_TEMPLATE,
    )


def test_a_text_goes_through_notify_with_the_template_and_a_signed_token(seeded, reference_dir):
    _request(seeded, camera_ids=[NO_POSITION], shared_detail="A car was damaged")
    with FakeNotify() as fake:
        _sender(seeded, _notify_settings(reference_dir, fake)).run_once()
    [sent] = fake.sent
    [m] = _messages(seeded)
    assert (sent["phone_number"], sent["template_id"], sent["reference"]) == (
        "07700 900004",
        REQUEST_TEMPLATE,
        str(m.id),
    )
    fields = sent["personalisation"]
    assert set(fields) == {
        "name",
        "force_name",
        "incident_window",
        "cameras",
        "shared_detail",
        "link",
        "link_expires",
        "case_ref",
    }
    assert (fields["name"], fields["force_name"], fields["case_ref"], fields["shared_detail"]) == (
        "Dee NoPin",
        "Staffordshire Police",
        CASE,
        "A car was damaged",
    )
    # NOW - 2 days = 18 November 2026, 12:00 UTC = 12:00 GMT
    assert fields["incident_window"] == "Wednesday 18 November 2026, 12:00 to 13:00"
    token = LINK.fullmatch(fields["link"]).group(1)
    with session_factory(seeded)() as s:
        assert links.resolve(s, token, NOW).registrant_id == 4
    assert fake.claims[0]["iss"] == "26785a09-ab16-4eb0-8407-a37497a57506"
    assert (m.state, m.provider_ref) == ("sent", sent["id"])


@pytest.mark.parametrize("status", [500, 429])
def test_notify_failing_is_retried(seeded, reference_dir, status):
    _request(seeded, camera_ids=[NO_POSITION])
    clock = Clock(NOW)
    with FakeNotify() as fake:
        fake.fail_next = [status]
        sender = _sender(seeded, _notify_settings(reference_dir, fake), clock)
        sender.run_once()
        [m] = _messages(seeded)
        assert (m.state, str(status) in m.last_error) == ("queued", True)
        clock.now += dt.timedelta(minutes=1)
        sender.run_once()
    assert len(fake.sent) == 1 and [m.state for m in _messages(seeded)] == ["sent"]


def test_a_bad_number_at_notify_fails_at_once(seeded, reference_dir):
    _request(seeded, camera_ids=[NO_POSITION])
    with FakeNotify() as fake:
        fake.fail_next = [400]
        _sender(seeded, _notify_settings(reference_dir, fake)).run_once()
    assert [m.state for m in _messages(seeded)] == ["failed"]


def test_a_text_whose_sender_stopped_mid_call_is_not_sent_twice(seeded, reference_dir):
    """The sender called Notify and stopped before recording it: the next one asks Notify first."""
    _request(seeded, camera_ids=[NO_POSITION])
    with FakeNotify() as fake:
        settings = _notify_settings(reference_dir, fake)
        crashed = _sender(seeded, settings, Clock(NOW), lease_s=5)
        taken = outbox.claim(crashed.sessions, NOW, 5)
        original = outbox.Sender._finish
        outbox.Sender._finish = lambda *a, **k: "killed"  # stops before recording the answer
        try:
            crashed.deliver(taken)
        finally:
            outbox.Sender._finish = original
        assert len(fake.sent) == 1 and [m.state for m in _messages(seeded)] == ["sending"]
        _sender(seeded, settings, Clock(NOW + dt.timedelta(seconds=6))).run_once()
    assert len(fake.sent) == 1 and [m.state for m in _messages(seeded)] == ["sent"]


# --------------------------------------------------------------------------- the officer's urgent notice later


def test_an_officer_sends_an_urgent_notice_for_their_own_request_only(seeded):
    ids, _ = _request(seeded, camera_ids=[DOORBELL_30D])
    with transaction(session_factory(seeded)) as s:
        with pytest.raises(cw.CaseworkError) as other:
            cw.send_preservation_notice(s, OFFICER2, request_id=ids[0], now=NOW, channels=BOTH)
    assert other.value.field == "request_id" and "no such footage request among yours" in other.value.message
    with transaction(session_factory(seeded)) as s:
        cw.send_preservation_notice(s, OFFICER, request_id=ids[0], now=NOW, channels=BOTH)
    with transaction(session_factory(seeded)) as s:
        with pytest.raises(cw.CaseworkError, match="already been queued"):
            cw.send_preservation_notice(s, OFFICER, request_id=ids[0], now=NOW, channels=BOTH)
    assert [(m.kind, m.priority) for m in _messages(seeded)] == [("request", 1), ("preservation", 0)]
    assert len(_audit(seeded, "preservation_requested")) == 1


def test_progress_shows_what_the_owner_did(seeded, relay, reference_dir):
    _box, url = relay
    _ids, _ = _request(seeded, camera_ids=[DOORBELL_30D, SHOP_7D])
    _sender(seeded, _settings(reference_dir, SMTP_URL=url)).run_once()
    with transaction(session_factory(seeded)) as s:
        response = s.scalars(sa.select(FootageResponse).where(FootageResponse.registrant_id == 1)).one()
        response.first_opened_at = NOW + dt.timedelta(minutes=5)
        response.answer, response.answered_at = "nothing", NOW + dt.timedelta(minutes=6)
    with session_factory(seeded)() as s:
        ann, shop = cw.request_progress(s, 1, case_ref=CASE)
        assert cw.request_progress(s, 2, case_ref=CASE) == []  # another officer sees none of them
    assert (ann.delivery, ann.channel, ann.sent_at, ann.opened_at, ann.answer) == (
        "sent",
        "email",
        NOW,
        NOW + dt.timedelta(minutes=5),
        "nothing",
    )
    assert (shop.delivery, shop.not_sent_reason) == ("not_sent", "phone_preferred")


def test_a_message_whose_senders_keep_dying_is_given_up(seeded, relay, reference_dir):
    box, url = relay
    _request(seeded, camera_ids=[DOORBELL_30D])
    clock = Clock(NOW)
    for _ in range(outbox.MAX_ATTEMPTS):  # each claim's sender dies before doing anything
        assert outbox.claim(session_factory(seeded), clock.now, 5) is not None
        clock.now += dt.timedelta(seconds=6)
    _sender(seeded, _settings(reference_dir, SMTP_URL=url), clock).run_once()
    [m] = _messages(seeded)
    assert (m.state, m.attempts) == ("failed", outbox.MAX_ATTEMPTS + 1) and "gave up" in m.last_error
    assert box.messages == []


def test_notify_refuses_a_wrong_key_and_the_text_waits(seeded, reference_dir):
    _request(seeded, camera_ids=[NO_POSITION])
    with FakeNotify(secret="00000000-0000-0000-0000-000000000000") as fake:  # not the key's secret
        _sender(seeded, _notify_settings(reference_dir, fake)).run_once()
    [m] = _messages(seeded)
    assert fake.sent == [] and m.state == "queued" and "403" in m.last_error


def test_an_urgent_notice_can_follow_a_request_already_on_its_way(seeded):
    _request(seeded, camera_ids=[FIXED_UNKNOWN])  # Ann, retention unknown: no notice needed
    start = NOW - dt.timedelta(days=29)
    _ids, summary = _request(
        seeded,
        camera_ids=[DOORBELL_30D],
        preservation=True,
        incident_from=start,
        incident_to=start + dt.timedelta(minutes=30),
    )
    assert summary.joined == 1 and summary.preservation == 1
    assert [(m.kind, m.priority) for m in _messages(seeded)] == [("request", 1), ("preservation", 0)]
