"""``python -m dashboard retention run`` and ``registration erase`` through ``dashboard.cli.main``,
over a SQLite file, with dates worked out by hand.

``--as-of D`` acts as at the end of the UK day D. A registration confirmed 2025-01-10 09:00 UTC is
overdue from 2026-01-10 09:00: the run as of 2026-01-10 flags it at 2026-01-10 23:59:59.999999 (GMT =
UTC in January), so it may be erased from 2026-02-09 23:59:59.999999, i.e. by the run as of 2026-02-09.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from dashboard.cli import main
from dashboard.registry.database import make_engine, migrate, session_factory
from dashboard.registry.models import AuditEvent, Registrant
from tests.integration.test_retention import PERSON, add

UTC = dt.UTC


@pytest.fixture
def db(tmp_path, reference_dir, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for name in ("SMTP_URL", "RETENTION_MONTHS", "RETENTION_GRACE_DAYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REFERENCE_DATA_DIR", str(reference_dir))
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    engine = make_engine(url)
    migrate(engine)
    with session_factory(engine)() as s:
        add(s, "CCR-AAAAAA")  # confirmed 2025-01-10 09:00 UTC, 2 cameras
        add(s, "CCR-BBBBBB", confirmed=dt.datetime(2025, 6, 1, tzinfo=UTC))
        s.commit()
    yield session_factory(engine)
    engine.dispose()


def cli(capsys, *args: str) -> tuple[int, list[str], list[str]]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out.splitlines(), [line for line in err.splitlines() if line.strip()]


def status(sessions, reference: str) -> tuple:
    with sessions() as s:
        r = s.scalar(sa.select(Registrant).where(Registrant.reference == reference))
        return r.status, r.end_reason, r.retention_flagged_at


def test_retention_run_flags_then_erases_and_says_so(db, capsys):
    code, out, err = cli(capsys, "retention", "run", "--as-of", "2026-01-09")
    assert code == 0 and err == []
    assert "Nothing to do: no registration to flag, erase or unflag." in out

    code, out, _ = cli(capsys, "retention", "run", "--as-of", "2026-01-10")
    assert code == 0
    assert out[0] == (
        "Retention check as of 2026-01-10 23:59 UTC: registrations unconfirmed for 12 months are "
        "flagged, and erased 30 days later unless confirmed."
    )
    assert "  flagged as unconfirmed: 1 (erasure on or after 2026-02-09)" in out
    assert (
        "  reminders with a new private link: not sent: mail is not configured (SMTP_URL); 1 owners not reminded"
    ) in out
    assert "  erased after the grace period: 0 (0 cameras switched off)" in out
    flagged_at = dt.datetime(2026, 1, 10, 23, 59, 59, 999999, tzinfo=UTC)
    assert status(db, "CCR-AAAAAA") == ("active", None, flagged_at)
    assert status(db, "CCR-BBBBBB") == ("active", None, None)

    code, out, _ = cli(capsys, "retention", "run", "--as-of", "2026-01-10")  # again: nothing
    assert code == 0 and "Nothing to do: no registration to flag, erase or unflag." in out

    code, out, _ = cli(capsys, "retention", "run", "--as-of", "2026-02-08")
    assert code == 0 and "Nothing to do: no registration to flag, erase or unflag." in out

    code, out, _ = cli(capsys, "retention", "run", "--dry-run", "--as-of", "2026-02-09")
    assert code == 0 and out[0].startswith("Dry run: nothing was changed. ")
    assert "  erased after the grace period: 1 would be (2 cameras would be switched off)" in out
    assert status(db, "CCR-AAAAAA") == ("active", None, flagged_at)

    code, out, _ = cli(capsys, "retention", "run", "--as-of", "2026-02-09")
    assert code == 0 and "  erased after the grace period: 1 (2 cameras switched off)" in out
    assert status(db, "CCR-AAAAAA") == ("withdrawn", "retention", flagged_at)
    code, out, _ = cli(capsys, "retention", "run", "--as-of", "2026-02-09")
    assert code == 0 and "Nothing to do: no registration to flag, erase or unflag." in out


def test_a_later_day_than_today_needs_dry_run(db, capsys):
    later = "2099-01-15"  # after today; GMT, so the end of the UK day is 23:59 UTC
    code, out, err = cli(capsys, "retention", "run", "--as-of", later)
    assert code == 2 and out == [] and len(err) == 1
    assert err[0].startswith(f"error: --as-of {later} is after today") and "--dry-run" in err[0]
    assert status(db, "CCR-AAAAAA") == ("active", None, None)
    code, out, _ = cli(capsys, "retention", "run", "--as-of", later, "--dry-run")
    assert code == 0 and out[0].startswith(f"Dry run: nothing was changed. Retention check as of {later} 23:59 UTC")
    assert "  flagged as unconfirmed: 2 would be (erasure" in " ".join(out)
    assert status(db, "CCR-AAAAAA") == ("active", None, None)


def test_registration_erase_at_the_console(db, capsys):
    code, out, err = cli(capsys, "registration", "erase", "ccr-aaaaaa", "--reason", "Ticket DP-2026-0042 by phone")
    assert code == 0 and err == []
    assert out == [
        "erased registration CCR-AAAAAA: the owner's personal data is deleted and 2 camera(s) switched "
        "off; logged with your reason"
    ]
    assert status(db, "CCR-AAAAAA")[:2] == ("withdrawn", "request")
    with db() as s:
        event = s.scalar(sa.select(AuditEvent).where(AuditEvent.action == "registration_erased"))
        assert event.username.startswith("command line (") and event.role == "admin" and event.user_id is None
        assert event.reason == "Ticket DP-2026-0042 by phone"
        assert json.loads(event.detail) == {"why": "request", "reference": "CCR-AAAAAA", "cameras_switched_off": 2}

    code, out, err = cli(capsys, "registration", "erase", "CCR-AAAAAA", "--reason", "Ticket DP-2026-0042 again")
    assert code == 2 and out == [] and len(err) == 1
    assert err[0].startswith("error: Registration CCR-AAAAAA was already erased on request on ")
    code, out, err = cli(capsys, "registration", "erase", "CCR-9ZZZZZ", "--reason", "Ticket DP-2026-0043")
    assert code == 2 and err == [
        "error: No registration has the reference CCR-9ZZZZZ; check it against the owner's request. Nothing was erased."
    ]
    code, out, err = cli(capsys, "registration", "erase", "CCR-BBBBBB", "--reason", f"re {PERSON['email']}")
    assert code == 2 and "repeats the owner's details" in err[0]
    assert status(db, "CCR-BBBBBB")[0] == "active"


def test_registration_erase_needs_a_reason(db, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["registration", "erase", "CCR-AAAAAA"])
    assert stopped.value.code == 2 and "--reason" in capsys.readouterr().err
    assert status(db, "CCR-AAAAAA")[0] == "active"


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("RETENTION_MONTHS", "0", "RETENTION_MONTHS=0 is out of range; set it to a number from 1 to 120."),
        (
            "RETENTION_MONTHS",
            "twelve",
            "RETENTION_MONTHS='twelve' is not a whole number; set it to a number from 1 to 120.",
        ),
        ("RETENTION_GRACE_DAYS", "-1", "RETENTION_GRACE_DAYS=-1 is out of range; set it to a number from 1 to 365."),
    ],
)
def test_bad_retention_settings_stop_with_one_line(db, capsys, monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    code, out, err = cli(capsys, "retention", "run", "--dry-run")
    assert code == 2 and out == [] and err == [f"error: {message}"]


def test_retention_settings_change_the_period(db, capsys, monkeypatch):
    # 6 months: CCR-BBBBBB (confirmed 2025-06-01) is overdue by 2025-12-01 too; grace 10 days.
    monkeypatch.setenv("RETENTION_MONTHS", "6")
    monkeypatch.setenv("RETENTION_GRACE_DAYS", "10")
    code, out, _ = cli(capsys, "retention", "run", "--as-of", "2025-12-01")
    assert code == 0 and "  flagged as unconfirmed: 2 (erasure on or after 2025-12-11)" in out
    assert "registrations unconfirmed for 6 months are flagged, and erased 10 days later" in out[0]


def test_reminders_go_through_a_real_mail_relay_with_a_working_link(db, capsys, monkeypatch):
    from aiosmtpd.controller import Controller

    from dashboard.registry import registration
    from tests.integration.test_duplicate_registration import Inbox, _free_port

    box = Inbox()
    relay = Controller(box, hostname="127.0.0.1", port=_free_port())
    relay.start()
    try:
        monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{relay.port}")
        monkeypatch.setenv("MAIL_FROM", "registry@force.example")
        monkeypatch.setenv("PUBLIC_BASE_URL", "https://cameras.example")
        code, out, err = cli(capsys, "retention", "run", "--as-of", "2026-01-10")
    finally:
        relay.stop()
    assert code == 0 and err == []
    assert "  reminders with a new private link: 1 sent" in out
    assert len(box.messages) == 1
    message = box.messages[0]
    assert message["To"] == PERSON["email"] and message["From"] == "registry@force.example"
    assert message["Subject"] == "Your camera registration CCR-AAAAAA: confirm it or it will be deleted"
    body = message.get_payload(decode=True).decode()
    assert "deleted on or after 9 February 2026" in body
    token = body.split("https://cameras.example/manage/")[1].split()[0]
    with db() as s:
        assert registration.by_token(s, token).reference == "CCR-AAAAAA"
        assert registration.by_token(s, "token-of-CCR-AAAAAA") is None  # the old link stopped working
        sent = s.scalar(sa.select(AuditEvent).where(AuditEvent.action == "retention_reminder_sent"))
        assert sent.username == "system" and token not in (sent.detail or "") + (sent.subject_ids or "")
