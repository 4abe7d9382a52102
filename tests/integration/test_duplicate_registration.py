"""Registering the same site with the same email again: the owner is sent a fresh private link
through a real (local) SMTP server and the old link stops working; what was sent again is kept as
its own registration and answered as any (tests/integration/test_registration_oracle.py)."""

from __future__ import annotations

import email
import re
import socket

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from dashboard.config import ConfigError, load_settings
from dashboard.public import duplicates
from dashboard.registry.models import AuditEvent, Registrant
from dashboard.runtime import prepare
from tests.integration.test_public_pages import _csrf, _form


class Inbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox():
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


def _text(message) -> str:
    return message.get_payload(decode=True).decode("utf-8")


def _repeat_mails(box) -> list:
    return [m for m in box.messages if "registered again" in m["Subject"]]


def _client(tmp_path, reference_dir, smtp_url: str | None):
    from dashboard.application import create_app

    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'dup.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "k" * 48,
        "REGISTRATION_RATE_LIMIT": "1000 per hour",
        "MAIL_FROM": "registry@force.example",
        "PUBLIC_BASE_URL": "https://cameras.example",
    }
    if smtp_url:
        env["SMTP_URL"] = smtp_url
    rt = prepare(load_settings(env))
    return create_app(rt).server.test_client(), rt


def _register(client, postcode: str, **changes) -> str:
    token = _csrf(client)
    return client.post("/register", data={"csrf_token": token, **_form(postcode, **changes)}).get_data(as_text=True)


def test_a_second_registration_sends_a_fresh_link_to_the_address_on_file(tmp_path, reference_dir, reference, inbox):
    box, port = inbox
    client, rt = _client(tmp_path, reference_dir, f"smtp://127.0.0.1:{port}")
    postcode = reference.postcodes["postcode"].iloc[3]
    first = re.search(r"/manage/([A-Za-z0-9_-]+)", _register(client, postcode)).group(1)
    # Its link's mail goes first (each mail has its own thread and random delay: a repeat within those
    # seconds may be mailed first, and then the first mail, whose link the repeat's replaced, is not sent).
    duplicates.drain()
    again_page = _register(client, postcode, email="ALEX@example.org", name="Alex Again")
    again = re.search(r"/manage/([A-Za-z0-9_-]+)", again_page).group(1)
    assert "Keep your private link" in again_page and "already registered" not in again_page  # as for anyone
    duplicates.drain()
    repeats = _repeat_mails(box)
    assert len(repeats) == 1
    message = repeats[0]
    assert message["To"] == "alex@example.org" and message["From"] == "registry@force.example"
    links = re.findall(r"https://cameras\.example/manage/([A-Za-z0-9_-]+)", _text(message))
    # A fresh link for the earlier registration, then the new registration's own link (as the page showed it).
    link = links[0]
    assert links[1:] == [again]
    assert "Alex Formfiller" in client.get(f"/manage/{link}").get_data(as_text=True)
    assert client.get(f"/manage/{first}").status_code == 404  # the old link no longer works
    # Asking again at once sends no second fresh link (an inbox cannot be flooded), only the new
    # registration's own; the earlier registration's link stays valid.
    _register(client, postcode)
    duplicates.drain()
    assert len(_repeat_mails(box)) == 1 and client.get(f"/manage/{link}").status_code == 200
    assert [m["Subject"].endswith("your private link") for m in box.messages] == [True, False, True]
    with rt.sessions() as s:
        # What each form sent is kept, as its own registration; the earlier one is unchanged.
        names = s.scalars(sa.select(Registrant.name).order_by(Registrant.created_at)).all()
        assert names == ["Alex Formfiller", "Alex Again", "Alex Formfiller"]
        resent = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "management_link_resent")).all()
        assert len(resent) == 1 and link not in (resent[0].detail or "") and "alex" not in str(resent[0].detail)
    rt.engine.dispose()


def test_a_dead_relay_keeps_the_old_link(tmp_path, reference_dir, reference):
    client, rt = _client(tmp_path, reference_dir, f"smtp://127.0.0.1:{_free_port()}")  # nothing listens there
    postcode = reference.postcodes["postcode"].iloc[4]
    first = re.search(r"/manage/([A-Za-z0-9_-]+)", _register(client, postcode)).group(1)
    from tests.integration.test_registration import valid

    answer = client.post("/api/v1/registrations", json=valid(postcode, email="alex@example.org"))
    assert answer.status_code == 201
    duplicates.drain()
    assert client.get(f"/manage/{first}").status_code == 200
    with rt.sessions() as s:
        assert not s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "management_link_resent")).all()
    rt.engine.dispose()


def test_a_bad_smtp_url_stops_start_up_with_one_line(reference_dir):
    with pytest.raises(ConfigError) as info:
        load_settings({"REFERENCE_DATA_DIR": str(reference_dir), "SECRET_KEY": "k" * 48, "SMTP_URL": "http://mail"})
    assert "SMTP_URL" in str(info.value) and "\n" not in str(info.value)


def test_a_repeat_within_the_first_mails_delay_still_leaves_a_working_link_for_each(
    tmp_path, reference_dir, reference, inbox
):
    """The mails go on their own threads after random delays, so a repeat made seconds after the first
    registration may be mailed before it. Whatever the order, the owner ends with a mailed link that
    works for each registration."""
    box, port = inbox
    client, rt = _client(tmp_path, reference_dir, f"smtp://127.0.0.1:{port}")
    postcode = reference.postcodes["postcode"].iloc[3]
    _register(client, postcode)
    _register(client, postcode, name="Alex Again")  # no wait: both mails are pending together
    duplicates.drain()
    mailed = [
        link for m in box.messages for link in re.findall(r"https://cameras\.example/manage/([A-Za-z0-9_-]+)", _text(m))
    ]
    pages = {link: client.get(f"/manage/{link}") for link in mailed}
    working = {link for link, page in pages.items() if page.status_code == 200}
    names = {re.search(r"Alex (Formfiller|Again)", pages[link].get_data(as_text=True)).group(0) for link in working}
    assert names == {"Alex Formfiller", "Alex Again"}
    assert len(_repeat_mails(box)) == 1
    rt.engine.dispose()
