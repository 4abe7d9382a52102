"""Issue 18, "Lost your link?": an owner types their email address and postcode and gets a fresh private
link by email, through a real (local) SMTP server; the old link stops working. The page, its status
and its time are the same whether or not such a registration exists, and so is a refusal at a limit.
A new registration's link is emailed to the address given with it."""

from __future__ import annotations

import re
import statistics
import time

import pytest
import sqlalchemy as sa

from dashboard.config import load_settings
from dashboard.public import duplicates, form
from dashboard.registry.models import AuditEvent
from dashboard.runtime import prepare
from tests.integration.test_duplicate_registration import _free_port, inbox  # noqa: F401 (fixture)
from tests.integration.test_public_pages import _csrf, _form

LINK = re.compile(r"https://cameras\.example/manage/([A-Za-z0-9_-]{43})")


@pytest.fixture(autouse=True)
def quick_mail(monkeypatch):
    monkeypatch.setattr(duplicates, "MAIL_DELAY_S", (0.0, 0.05))


def _client(tmp_path, reference_dir, smtp_port: int | None, **env):
    from dashboard.application import create_app

    settings = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'lost.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "k" * 48,
        "REGISTRATION_RATE_LIMIT": "1000 per hour",
        "MAIL_FROM": "registry@force.example",
        "PUBLIC_BASE_URL": "https://cameras.example",
        "LOST_LINK_RATE_LIMIT": "1000 per hour",
        "LOST_LINK_PAIR_RATE_LIMIT": "1000 per day",
        **env,
    }
    if smtp_port is not None:
        settings["SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    rt = prepare(load_settings(settings))
    return create_app(rt).server.test_client(), rt


def _register(client, postcode: str, **changes) -> str:
    page = client.post("/register", data={"csrf_token": _csrf(client), **_form(postcode, **changes)})
    return re.search(r'/manage/([A-Za-z0-9_-]{43})"', page.get_data(as_text=True)).group(1)


def _ask(client, email: str, postcode: str, times: list | None = None) -> tuple[int, str]:
    token = _csrf(client, "/lost-link")
    started = time.perf_counter()
    answer = client.post("/lost-link", data={"csrf_token": token, "email": email, "postcode": postcode})
    if times is not None:
        times.append(time.perf_counter() - started)
    return answer.status_code, re.sub(r'name="csrf_token" value="[^"]+"', "", answer.get_data(as_text=True))


def _subjects(box) -> list[str]:
    return [m["Subject"] for m in box.messages]


def test_a_lost_link_is_emailed_and_the_old_one_stops_working(tmp_path, reference_dir, reference, inbox):
    box, port = inbox
    client, rt = _client(tmp_path, reference_dir, port)
    postcode = reference.postcodes["postcode"].iloc[3]
    old = _register(client, postcode)
    duplicates.drain()
    # The registration's own link went to the address given with it: the link the page showed.
    assert len(box.messages) == 1 and box.messages[0]["To"] == "alex@example.org"
    assert LINK.search(box.messages[0].get_payload(decode=True).decode()).group(1) == old

    status, page = _ask(client, " ALEX@example.org ", postcode.lower().replace(" ", ""))
    assert status == 200 and "Check your email" in page
    duplicates.drain()
    assert len(box.messages) == 2
    mail = box.messages[1]
    assert mail["To"] == "alex@example.org" and mail["From"] == "registry@force.example"
    assert "new private link" in mail["Subject"]
    new = LINK.search(mail.get_payload(decode=True).decode()).group(1)
    assert new != old
    assert "Alex Formfiller" in client.get(f"/manage/{new}").get_data(as_text=True)
    assert client.get(f"/manage/{old}").status_code == 404
    with rt.sessions() as s:
        rows = s.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action.in_(("management_link_requested", "management_link_resent")))
            .order_by(AuditEvent.id)
        ).all()
        assert [r.action for r in rows] == ["management_link_requested", "management_link_resent"]
        logged = " ".join(f"{r.detail} {r.reason} {r.subject_ids}" for r in rows).lower()
        assert "alex" not in logged and postcode.lower() not in logged and new not in logged
        assert rows[1].detail is not None and "lost_link" in rows[1].detail
    rt.engine.dispose()


def test_every_registration_at_the_address_gets_its_link_in_one_mail(tmp_path, reference_dir, reference, inbox):
    box, port = inbox
    client, rt = _client(tmp_path, reference_dir, port)
    postcode, other = reference.postcodes["postcode"].iloc[[3, 40]]
    first = _register(client, postcode)
    second = _register(client, postcode, name="Alex Second")  # a repeat: kept as its own registration
    elsewhere = _register(client, other)
    duplicates.drain()
    before = len(box.messages)
    _ask(client, "alex@example.org", postcode)
    duplicates.drain()
    assert len(box.messages) == before + 1
    links = LINK.findall(box.messages[-1].get_payload(decode=True).decode())
    assert len(links) == 2
    names = sorted("Alex Second" in client.get(f"/manage/{t}").get_data(as_text=True) for t in links)
    assert names == [False, True]
    assert all(client.get(f"/manage/{t}").status_code == 404 for t in (first, second))
    assert client.get(f"/manage/{elsewhere}").status_code == 200  # another postcode: untouched
    rt.engine.dispose()


def test_an_unknown_address_gets_the_identical_page_and_no_mail(tmp_path, reference_dir, reference, inbox):
    box, port = inbox
    client, rt = _client(tmp_path, reference_dir, port)
    postcode, other = reference.postcodes["postcode"].iloc[[3, 40]]
    _register(client, postcode)
    duplicates.drain()
    before = len(box.messages)
    known = _ask(client, "alex@example.org", postcode)
    unknown_email = _ask(client, "nobody@example.org", postcode)
    unknown_postcode = _ask(client, "alex@example.org", other)
    assert known[0] == unknown_email[0] == unknown_postcode[0] == 200
    assert known[1] == unknown_email[1] == unknown_postcode[1]
    duplicates.drain()
    assert len(box.messages) == before + 1 and box.messages[-1]["To"] == "alex@example.org"
    with rt.sessions() as s:  # each request is logged alike, found or not
        assert (
            s.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "management_link_requested")
            )
            == 3
        )
    rt.engine.dispose()


def test_the_limits_refuse_alike_whether_or_not_a_registration_exists(tmp_path, reference_dir, reference, inbox):
    box, port = inbox
    client, rt = _client(
        tmp_path, reference_dir, port, LOST_LINK_PAIR_RATE_LIMIT="2 per day", LOST_LINK_RATE_LIMIT="7 per hour"
    )
    postcode = reference.postcodes["postcode"].iloc[3]
    _register(client, postcode)
    duplicates.drain()
    before = len(box.messages)
    known = [_ask(client, "alex@example.org", postcode) for _ in range(3)]
    unknown = [_ask(client, "nobody@example.org", postcode) for _ in range(3)]
    # The pair's limit is silent: the third request for a pair is answered "check your email" like
    # the first two (a visible refusal would say that someone had asked for that pair today)...
    assert [k[0] for k in known] == [u[0] for u in unknown] == [200, 200, 200]
    assert known[2][1] == unknown[2][1] == known[0][1]
    duplicates.drain()
    assert len(box.messages) == before + 2  # ... and sends nothing: two links for alex, none for nobody
    # Per client address, visibly: the 7th request in the hour passes, the 8th is refused, whatever it asks.
    assert _ask(client, "third@example.org", postcode)[0] == 200
    refused = _ask(client, "fourth@example.org", postcode)
    assert refused[0] == 429 and "Please try again in about" in refused[1]
    with rt.sessions() as s:
        details = s.scalars(
            sa.select(AuditEvent.detail).where(AuditEvent.action == "management_link_requested").order_by(AuditEvent.id)
        ).all()
    # Eight requests logged: two over their pair's limit (3rd of each), one over the address's (8th).
    assert len(details) == 8
    assert [i for i, d in enumerate(details) if d and "rate_limit_pair" in d] == [2, 5]
    assert [i for i, d in enumerate(details) if d and "rate_limit_address" in d] == [7]
    rt.engine.dispose()


def test_bad_input_is_named_plainly_and_asks_nothing(tmp_path, reference_dir, inbox):
    _box, port = inbox
    client, rt = _client(tmp_path, reference_dir, port)
    status, page = _ask(client, "alex@", "ZZ99 9ZZ")
    assert status == 200
    assert "Enter an email address like name@example.com." in page
    example = form.example_postcode(rt.reference)
    assert f"Enter a postcode in the {rt.reference.force_name} area, like {example}." in page
    assert client.post("/lost-link", data={"email": "a@example.org", "postcode": "ST16 2DH"}).status_code == 400
    with rt.sessions() as s:
        assert (
            s.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "management_link_requested")
            )
            == 0
        )
    rt.engine.dispose()


def test_without_a_relay_the_page_says_what_to_do_instead(tmp_path, reference_dir, reference):
    client, rt = _client(tmp_path, reference_dir, None)
    page = client.get("/lost-link").get_data(as_text=True)
    assert "cannot send email" in page and 'id="lost-link-form"' not in page
    token = _csrf(client)
    answer = client.post(
        "/lost-link",
        data={"csrf_token": token, "email": "alex@example.org", "postcode": reference.postcodes["postcode"].iloc[3]},
    )
    assert answer.status_code == 200 and "cannot send email" in answer.get_data(as_text=True)
    rt.engine.dispose()


def test_a_lost_link_request_takes_the_same_time_found_or_not(tmp_path, reference_dir, reference, inbox):
    """Timed many times, interleaved (so load on a shared machine hits both alike), as the repeat
    registration is in test_registration_oracle.py: the medians stay within a generous ratio."""
    box, port = inbox
    client, rt = _client(tmp_path, reference_dir, port)
    postcode = reference.postcodes["postcode"].iloc[3]
    for i in range(3):
        _register(client, postcode, email=f"owner{i}@example.org")
    duplicates.drain()
    for _ in range(3):  # warm up
        _ask(client, "owner0@example.org", postcode)
    found_s, unknown_s = [], []
    for i in range(24):

        def found():
            assert _ask(client, f"owner{i % 3}@example.org", postcode, found_s)[0] == 200

        def unknown():
            assert _ask(client, f"stranger{i}@example.org", postcode, unknown_s)[0] == 200

        for step in (found, unknown) if i % 2 else (unknown, found):
            step()
    duplicates.drain(timeout_s=60)
    ratio = statistics.median(found_s) / statistics.median(unknown_s)
    print(
        f"median found {statistics.median(found_s) * 1000:.1f} ms, unknown "
        f"{statistics.median(unknown_s) * 1000:.1f} ms, ratio {ratio:.2f}"
    )
    assert 0.55 < ratio < 1.8
    assert len(box.messages) >= 3 + 24  # every found request mailed its owner
    rt.engine.dispose()
