"""Delivery survives (issue 16's acceptance): 100 requests' messages are queued; ``python -m dashboard
outbox run`` sends them to a real local SMTP server (aiosmtpd) and is killed (SIGKILL) twice: once
while the relay is answering the 30th message's end of DATA (the message was handed over), once just
after the 60th message's RCPT (the message was not). Started again, it finishes: the server holds
exactly 100 messages, one per response, each with its own link, every one of which works."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
import signal
import subprocess
import sys
import time

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from dashboard.config import PROJECT_ROOT
from dashboard.footage import links
from dashboard.registry.database import make_engine, migrate, session_factory, transaction
from dashboard.registry.models import FootageRequest, FootageResponse, OutboxMessage, utcnow
from tests.integration.test_casework import DOORBELL_30D, _seed
from tests.integration.test_delivery import _free_port

LINK = re.compile(r"/respond/([A-Za-z0-9_-]{43})")
TOTAL = 100


class KillingInbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.rcpts = 0
        self.pid: int | None = None
        self.kill_after_data = 30  # SIGKILL the sender while it waits for the answer to this message's end
        self.kill_at_rcpt = 61  # SIGKILL the sender when this RCPT arrives (before its body)

    def _kill(self):
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            self.pid = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpts += 1
        if self.rcpts == self.kill_at_rcpt:
            self._kill()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        if len(self.messages) == self.kill_after_data:
            self._kill()  # the message is kept; the sender dies before reading this 250
        return "250 OK"


def _queue(engine, now) -> None:
    with transaction(session_factory(engine)) as s:
        for i in range(TOTAL):
            response = FootageResponse(case_ref=f"CR-2026-{i:04d}", registrant_id=1, requested_by_id=1, created_at=now)
            s.add(response)
            s.flush()
            s.add(
                FootageRequest(
                    case_ref=response.case_ref,
                    camera_id=DOORBELL_30D,
                    requested_by_id=1,
                    incident_lat=52.8,
                    incident_lon=-2.1,
                    incident_from=now - dt.timedelta(hours=3),
                    incident_to=now - dt.timedelta(hours=2),
                    sent_at=now,
                    status_changed_at=now,
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
                    next_attempt_at=now,
                    created_at=now,
                )
            )


def _run(env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dashboard", "outbox", "run", "--lease-seconds", "1", "--poll-seconds", "0.2"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait(process: subprocess.Popen, until, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not until():
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"timed out; stderr: {process.communicate()[1][-2000:]}")
        time.sleep(0.05)


def _states(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state)).all())


def test_a_killed_sender_restarted_delivers_every_message_exactly_once(tmp_path, reference_dir):
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    engine = make_engine(url)
    migrate(engine)
    _seed(engine)
    _queue(engine, utcnow())
    box = KillingInbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "k" * 48,
        "SMTP_URL": f"smtp://127.0.0.1:{controller.port}",
        "PUBLIC_BASE_URL": "https://cameras.example",
        "MAIL_FROM": "cameras@force.example",
    }
    try:
        first = _run(env)
        box.pid = first.pid
        assert first.wait(60) == -signal.SIGKILL
        assert len(box.messages) == 30 and _states(engine).get("handed_over") == 1  # killed before the 250

        second = _run(env)
        box.pid = second.pid
        assert second.wait(60) == -signal.SIGKILL
        assert len(box.messages) == 60 and _states(engine).get("sending") == 1  # killed before the body

        third = _run(env)
        _wait(third, lambda: _states(engine) == {"sent": TOTAL})
        third.send_signal(signal.SIGTERM)  # stops cleanly
        out, _err = third.communicate(timeout=30)
        assert third.returncode == 0 and "Stopped" in out
    finally:
        controller.stop()

    assert len(box.messages) == TOTAL
    cases = sorted(re.search(r"case (CR-2026-\d{4})", m["Subject"]).group(1) for m in box.messages)
    assert cases == [f"CR-2026-{i:04d}" for i in range(TOTAL)]  # each response's message exactly once
    tokens = [LINK.search(m.get_body(("plain",)).get_content()).group(1) for m in box.messages]
    assert len(set(tokens)) == TOTAL
    with session_factory(engine)() as s:
        opened = {links.resolve(s, t, utcnow()).case_ref for t in tokens}
        unconfirmed = s.scalar(
            sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.last_error.is_not(None))
        )
    assert len(opened) == TOTAL  # every link in the mail works, for its own response
    assert unconfirmed == 1  # the 30th: handed over, its 250 never read; recorded as sent, unconfirmed
    engine.dispose()


def test_outbox_run_without_any_service_says_so_in_one_line(tmp_path, reference_dir):
    from tests.integration.test_cli import assert_one_line_error, run

    env = {k: v for k, v in os.environ.items() if k not in {"SMTP_URL", "NOTIFY_API_KEY"}}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", REFERENCE_DATA_DIR=str(reference_dir), SECRET_KEY="s" * 40
    )
    assert_one_line_error(run(["outbox", "run", "--once"], env), "neither SMTP_URL", "NOTIFY_API_KEY")
    env["SMTP_URL"] = "smtp://127.0.0.1:9"
    assert_one_line_error(run(["outbox", "run", "--lease-seconds", "0"], env), "--lease-seconds")
    done = run(["outbox", "run", "--once"], env)
    assert done.returncode == 0 and "0 message(s) handled" in done.stdout, done.stderr
