"""Issue 15, item 5: registering again with an email address and postcode already on the register
must not tell anyone that the address's owner has registered cameras there.

A repeat is answered exactly as a first registration (same status, same fields, a reference and a
working private link of the same form, in comparable time); the private link given for a repeat
opens only what was just sent, never the earlier registration; the earlier registration's owner
is emailed a fresh link for it, naming the new registration, after the answer has gone.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time

import pytest
import sqlalchemy as sa

from dashboard.public import duplicates
from dashboard.registry.models import Registrant
from tests.integration.test_duplicate_registration import _client, _free_port, _repeat_mails, _text, inbox  # noqa: F401
from tests.integration.test_public_pages import _csrf, _form
from tests.integration.test_registration import valid

URL = "/api/v1/registrations"
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
REFERENCE = re.compile(r"CCR-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}")


def _shape(answer) -> tuple:
    """What an observer can compare between two answers: status, field names and value forms."""
    body = answer.get_json()
    return (
        answer.status_code,
        sorted(body),
        bool(REFERENCE.fullmatch(str(body.get("reference")))),
        bool(TOKEN.fullmatch(str(body.get("management_token")))),
        body.get("management_url") == f"https://cameras.example/manage/{body.get('management_token')}",
        body.get("cameras"),
        answer.headers.get("Content-Type"),
    )


def _wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def test_a_repeat_through_the_api_is_answered_as_a_first_registration(tmp_path, reference_dir, reference, inbox):
    box, port = inbox
    client, rt = _client(tmp_path, reference_dir, f"smtp://127.0.0.1:{port}")
    postcode = reference.postcodes["postcode"].iloc[7]
    first = client.post(URL, json=valid(postcode, email="victim@example.org", name="Vic Tim"))
    # The attacker: the victim's email and postcode, everything else their own.
    repeat = client.post(
        URL, json=valid(postcode, email="VICTIM@example.org", name="Mallory Probe", address="1 Guess Street")
    )
    fresh = client.post(
        URL, json=valid(postcode, email="nobody.here@example.org", name="Mallory Probe", address="1 Guess Street")
    )
    assert first.status_code == 201
    assert _shape(repeat) == _shape(fresh) == _shape(first)
    ours = repeat.get_json()
    assert ours["reference"] not in (first.get_json()["reference"], fresh.get_json()["reference"])
    # The link given for the repeat works, as a first registration's does, and shows only what was sent.
    page = client.get(f"/manage/{ours['management_token']}").get_data(as_text=True)
    assert "Mallory Probe" in page and "1 Guess Street" in page and ours["reference"] in page
    assert "Vic Tim" not in page and first.get_json()["reference"] not in page
    # The victim's own link still opens only the victim's registration (until the mail replaces it).
    # The owner on file is told, with a fresh link for the earlier registration and the new reference.
    _wait_for(lambda: len(_repeat_mails(box)) == 1)
    message = _repeat_mails(box)[0]
    assert message["To"] == "victim@example.org"
    text = _text(message)
    assert first.get_json()["reference"] in text and ours["reference"] in text
    link = re.search(r"https://cameras\.example/manage/([A-Za-z0-9_-]+)", text).group(1)
    # The worker stores the new link just after the relay took the mail (no transaction is open while
    # it talks to the relay): on a loaded machine the test can read the mail first. A person cannot.
    _wait_for(lambda: client.get(f"/manage/{link}").status_code == 200)
    owner_page = client.get(f"/manage/{link}").get_data(as_text=True)
    assert "Vic Tim" in owner_page and "Mallory Probe" not in owner_page
    assert client.get(f"/manage/{first.get_json()['management_token']}").status_code == 404  # replaced
    with rt.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Registrant)) == 3  # nothing sent was lost
    duplicates.drain()
    rt.engine.dispose()


def test_a_repeat_on_the_form_shows_the_same_page_as_a_first_registration(tmp_path, reference_dir, reference, inbox):
    box, port = inbox
    client, rt = _client(tmp_path, reference_dir, f"smtp://127.0.0.1:{port}")
    postcode = reference.postcodes["postcode"].iloc[8]

    def submit(**changes) -> tuple[int, str]:
        answer = client.post("/register", data={"csrf_token": _csrf(client), **_form(postcode, **changes)})
        page = answer.get_data(as_text=True)
        # The parts that differ between any two registrations: the reference and the link.
        page = REFERENCE.sub("CCR-XXXXXX", page)
        page = re.sub(r"/manage/[A-Za-z0-9_-]{43}", "/manage/TOKEN", page)
        page = re.sub(r'name="csrf_token" value="[^"]+"', "", page)
        return answer.status_code, page

    first = submit()
    repeat = submit(email="Alex@Example.org", name="Mallory Probe")
    fresh = submit(email="someone.else@example.org", name="Mallory Probe")
    assert first[0] == repeat[0] == fresh[0] == 200
    assert repeat[1] == fresh[1] == first[1]
    assert "already registered" not in repeat[1]
    _wait_for(lambda: len(_repeat_mails(box)) == 1)
    assert _repeat_mails(box)[0]["To"] == "alex@example.org"
    duplicates.drain()
    rt.engine.dispose()


class SlowInbox:
    """A relay that takes 80 ms to accept each message: if the answer waited for the mail, a
    repeat would be that much slower than a first registration."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.08)
        self.messages.append(envelope.content)
        return "250 OK"


def test_a_repeat_takes_the_same_time_as_a_first_registration(tmp_path, reference_dir, reference, monkeypatch):
    """Timed many times, interleaved (so load on a shared machine hits both alike): the medians of
    the two paths stay within a generous ratio, and every repeat mails an owner (each repeats a
    different earlier registration, so the 10-minute resend limit does not skip the mail). Both
    paths queue one mail (a first registration's own link; a repeat's, to the earlier owner)."""
    from aiosmtpd.controller import Controller

    monkeypatch.setattr(duplicates, "MAIL_DELAY_S", (0.3, 0.9))  # shorter than in service, still after the answer
    relay = SlowInbox()
    controller = Controller(relay, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        client, rt = _client(tmp_path, reference_dir, f"smtp://127.0.0.1:{controller.port}")
        postcode = reference.postcodes["postcode"].iloc[9]
        for _ in range(3):  # warm up caches and the first database pages
            client.post(URL, json=valid(postcode, email=f"warm{_}@example.org"))
        rounds = 25
        new_s, repeat_s = [], []
        for i in range(rounds):

            def new():
                t = time.perf_counter()
                answer = client.post(URL, json=valid(postcode, email=f"owner{i}@example.org"))
                new_s.append(time.perf_counter() - t)
                assert answer.status_code == 201

            def repeat():
                t = time.perf_counter()
                answer = client.post(URL, json=valid(postcode, email=f"owner{i - 1}@example.org", name="Probe"))
                repeat_s.append(time.perf_counter() - t)
                assert answer.status_code == 201

            if i == 0:
                new()
                continue
            for step in (new, repeat) if i % 2 else (repeat, new):
                step()
        duplicates.drain(timeout_s=60)
        assert sum(b"registered again" in m for m in relay.messages) == rounds - 1
        new_median, repeat_median = statistics.median(new_s[1:]), statistics.median(repeat_s)
        ratio = repeat_median / new_median
        print(f"median new {new_median * 1000:.1f} ms, repeat {repeat_median * 1000:.1f} ms, ratio {ratio:.2f}")
        assert 0.55 < ratio < 1.8, (new_median, repeat_median)
        rt.engine.dispose()
    finally:
        controller.stop()


def test_without_a_relay_a_repeat_is_still_answered_as_a_first(tmp_path, reference_dir, reference):
    client, rt = _client(tmp_path, reference_dir, None)
    postcode = reference.postcodes["postcode"].iloc[5]
    first = client.post(URL, json=valid(postcode))
    repeat = client.post(URL, json=valid(postcode))
    assert _shape(first) == _shape(repeat) and first.status_code == 201
    rt.engine.dispose()


@pytest.mark.parametrize("relay", ["dead"])
def test_a_dead_relay_keeps_the_owners_link_and_the_answer(tmp_path, reference_dir, reference, relay):
    client, rt = _client(tmp_path, reference_dir, f"smtp://127.0.0.1:{_free_port()}")  # nothing listens
    postcode = reference.postcodes["postcode"].iloc[4]
    first = client.post(URL, json=valid(postcode)).get_json()
    repeat = client.post(URL, json=valid(postcode))
    assert repeat.status_code == 201
    duplicates.drain()
    assert client.get(f"/manage/{first['management_token']}").status_code == 200
    rt.engine.dispose()
