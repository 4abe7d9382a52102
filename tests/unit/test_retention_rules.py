"""The retention period as calendar months, who is due to confirm, and what counts as a withdrawal
on the uptake page, with answers worked out by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.analytics import uptake
from dashboard.config import ConfigError, load_settings
from dashboard.mail import retention_reminder_message
from dashboard.registry.models import Registrant
from dashboard.registry.registration import confirmation_cutoff, due_for_reconfirmation

UTC = dt.UTC


@pytest.mark.parametrize(
    "now, months, cutoff",
    [
        (dt.datetime(2026, 1, 10, 9, tzinfo=UTC), 12, dt.datetime(2025, 1, 10, 9, tzinfo=UTC)),
        (dt.datetime(2026, 3, 31, tzinfo=UTC), 1, dt.datetime(2026, 2, 28, tzinfo=UTC)),  # no 31 February
        (dt.datetime(2028, 2, 29, tzinfo=UTC), 12, dt.datetime(2027, 2, 28, tzinfo=UTC)),  # leap day
        (dt.datetime(2026, 7, 15, tzinfo=UTC), 18, dt.datetime(2025, 1, 15, tzinfo=UTC)),
    ],
)
def test_the_period_is_calendar_months(now, months, cutoff):
    assert confirmation_cutoff(now, months) == cutoff


@pytest.mark.parametrize("months", [0, -1, 1.5, "12"])
def test_the_period_must_be_whole_months(months):
    with pytest.raises(ValueError, match="whole number of months"):
        confirmation_cutoff(dt.datetime(2026, 1, 1, tzinfo=UTC), months)


def _reg(confirmed: dt.datetime, flagged: dt.datetime | None = None, status: str = "active") -> Registrant:
    return Registrant(status=status, last_confirmed_at=confirmed, retention_flagged_at=flagged)


def test_due_to_confirm_after_the_period_or_once_flagged():
    now = dt.datetime(2026, 1, 10, 9, tzinfo=UTC)
    assert due_for_reconfirmation(_reg(dt.datetime(2025, 1, 10, 9, tzinfo=UTC)), now)  # exactly 12 months
    assert not due_for_reconfirmation(_reg(dt.datetime(2025, 1, 10, 9, 1, tzinfo=UTC)), now)
    assert due_for_reconfirmation(_reg(dt.datetime(2025, 7, 10, 9, tzinfo=UTC)), now, months=6)
    # Flagged under a shorter RETENTION_MONTHS than this page knows: still due.
    assert due_for_reconfirmation(_reg(dt.datetime(2025, 7, 1, tzinfo=UTC), flagged=now), now)
    assert not due_for_reconfirmation(_reg(dt.datetime(2024, 1, 1, tzinfo=UTC), status="withdrawn"), now)


def _frame() -> pd.DataFrame:
    t = lambda *a: pd.Timestamp(dt.datetime(*a, tzinfo=UTC))  # noqa: E731
    rows = [
        # consent, status, withdrawn_at, end_reason, last_confirmed
        (t(2025, 1, 5), "active", None, None, t(2025, 1, 5)),  # due under 12 months (and 6)
        (t(2025, 1, 6), "active", None, None, t(2025, 1, 6)),  # due under 12 months (and 6)
        (t(2025, 5, 1), "active", None, None, t(2025, 5, 1)),  # due under 6 months only
        (t(2025, 9, 1), "active", None, None, t(2025, 9, 1)),  # due under neither
        (t(2025, 2, 1), "withdrawn", t(2025, 10, 1), "owner", t(2025, 2, 1)),
        (t(2025, 2, 2), "withdrawn", t(2025, 10, 2), "owner", t(2025, 2, 2)),
        (t(2025, 2, 3), "withdrawn", t(2025, 10, 3), "request", t(2025, 2, 3)),
        (t(2025, 2, 4), "withdrawn", t(2025, 10, 4), "retention", t(2025, 2, 4)),
        (t(2025, 2, 5), "withdrawn", t(2025, 12, 1), "owner", t(2025, 2, 5)),  # outside the window
    ]
    frame = pd.DataFrame(rows, columns=["consent_at", "status", "withdrawn_at", "end_reason", "last_confirmed_at"])
    frame["withdrawn_at"] = pd.to_datetime(frame["withdrawn_at"], utc=True)
    frame["cameras"] = 1
    frame["camera_keys"] = 0
    frame["record_key"] = pd.array([None if s == "withdrawn" else 1 for s in frame["status"]], dtype="Int64")
    return frame.astype({"status": "category", "end_reason": "category"})


def test_headline_counts_owner_withdrawals_only():
    from dashboard.analytics.disclosure import Disclosure, PTable

    exact = Disclosure(PTable.build(1, 0, 0.0))  # K = 1, no adjustment: what is counted
    no_due = pd.DataFrame({"district_code": [], "registrations": [], "registrations_key": []})
    figures = uptake.headline(_frame(), None, dt.date(2025, 9, 1), dt.date(2025, 10, 31), no_due, exact)
    assert figures["withdrawn"].value == 2  # 'request' and 'retention' are erasures, not withdrawals
    assert uptake.owner_withdrawals(_frame()).index.tolist() == [4, 5, 8]


def test_retention_settings_defaults_and_errors(reference_dir):
    base = {"REFERENCE_DATA_DIR": str(reference_dir), "SECRET_KEY": "k" * 40}
    settings = load_settings(base)
    assert (settings.retention_months, settings.retention_grace_days) == (12, 30)
    assert load_settings({**base, "RETENTION_MONTHS": "24", "RETENTION_GRACE_DAYS": "14"}).retention_months == 24
    for name, value, message in [
        ("RETENTION_MONTHS", "0", "RETENTION_MONTHS=0 is out of range; set it to a number from 1 to 120."),
        ("RETENTION_MONTHS", "1.5", "RETENTION_MONTHS='1.5' is not a whole number"),
        ("RETENTION_GRACE_DAYS", "0", "RETENTION_GRACE_DAYS=0 is out of range; set it to a number from 1 to 365."),
    ]:
        with pytest.raises(ConfigError) as bad:
            load_settings({**base, name: value})
        assert str(bad.value).startswith(message)


def test_the_reminder_names_the_link_the_period_and_the_day():
    subject, body = retention_reminder_message(
        "CCR-7KQ2MX", "https://cameras.example/manage/abc", "Staffordshire", 12, dt.date(2026, 2, 9)
    )
    assert subject == "Your camera registration CCR-7KQ2MX: confirm it or it will be deleted"
    assert "https://cameras.example/manage/abc" in body and "not been confirmed for 12 months" in body
    assert "deleted on or after 9 February 2026" in body
