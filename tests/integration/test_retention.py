"""The data lifecycle on SQLite and PostgreSQL: erasure on request, the retention run (flag, remind,
erase, unflag) and the auditor's retention summary, with dates worked out by hand.

Policy in these tests: period 12 months, grace 30 days. A registration confirmed 2025-01-10 09:00 UTC
is overdue from 2026-01-10 09:00 (12 calendar months later) and, flagged then, may be erased from
2026-02-09 09:00 (30 days after its flag).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from dashboard.mail import MailError
from dashboard.registry import audit, registration
from dashboard.registry.database import session_factory
from dashboard.registry.models import AuditEvent, Camera, Registrant, Site
from dashboard.registry.retention import (
    AUDIT_KEPT_BECAUSE,
    ErasureError,
    erase_on_request,
    retention_summary,
    run_retention,
)
from dashboard.security.accounts import create_user

UTC = dt.UTC
PERIOD, GRACE = 12, 30
CONFIRMED = dt.datetime(2025, 1, 10, 9, 0, tzinfo=UTC)
OVERDUE_FROM = dt.datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
ERASE_FROM = dt.datetime(2026, 2, 9, 9, 0, tzinfo=UTC)
SECOND = dt.timedelta(seconds=1)
PASSWORD = "correct-horse-battery"

# Personal values distinctive enough to search the whole database for.
PERSON = {
    "name": "Zebedee Quintrell",
    "email": "zq.owner@example.org",
    "phone": "07700 900417",
    "address": "17 Marigold Terrace",
    "postcode": "ST16 2DH",
}
LAT, LON, EASTING, NORTHING = 52.812345, -2.117654, 392512.5, 323044.5


@pytest.fixture
def sessions(engine):
    return session_factory(engine)


@pytest.fixture
def admin(sessions):
    with sessions() as s:
        user = create_user(s, "admin1", PASSWORD, "admin")
        officer = create_user(s, "officer1", PASSWORD, "officer")
        s.commit()
        return audit.Actor(user.id, user.username, "admin"), audit.Actor(officer.id, officer.username, "officer")


def add(
    s,
    reference: str,
    *,
    confirmed: dt.datetime = CONFIRMED,
    flagged: dt.datetime | None = None,
    email: str | None = PERSON["email"],
    phone: str | None = PERSON["phone"],
    cameras: int = 2,
    status: str = "active",
    end_reason: str | None = None,
    token: str | None = None,
) -> Registrant:
    """One registration with ``PERSON``'s details (or erased ones when ``status`` is withdrawn)."""
    ended = status != "active"
    reg = Registrant(
        reference=reference,
        name=None if ended else PERSON["name"],
        email=None if ended else email,
        phone=None if ended else phone,
        preferred_channel=None if ended else ("email" if email else "phone"),
        consent_at=dt.datetime(2024, 12, 1, tzinfo=UTC),
        last_confirmed_at=confirmed,
        status=status,
        end_reason=end_reason,
        withdrawn_at=confirmed + SECOND if ended else None,
        retention_flagged_at=flagged,
        management_token_hash=None if ended else registration.token_digest(token or f"token-of-{reference}"),
        created_at=dt.datetime(2024, 12, 1, tzinfo=UTC),
        updated_at=confirmed,
    )
    reg.site = Site(
        kind="home",
        address=None if ended else PERSON["address"],
        postcode=None if ended else PERSON["postcode"],
        lat=None if ended else LAT,
        lon=None if ended else LON,
        easting_m=None if ended else EASTING,
        northing_m=None if ended else NORTHING,
        district_code="E07000197",
        lsoa_code="E01029600",
        h3_r7="871f1d",
        h3_r8="881f1d",
        h3_r9="891f1d",
        created_at=confirmed,
        updated_at=confirmed,
    )
    for i in range(cameras):
        reg.site.cameras.append(
            Camera(
                kind="doorbell" if i == 0 else "fixed",
                placement="outdoor",
                recording_mode="motion",
                retention_days=30,
                direction_deg=90 * i,
                overlooks="street",
                active=not ended,
                created_at=confirmed,
                updated_at=confirmed,
            )
        )
    s.add(reg)
    s.flush()
    return reg


def by_ref(s, reference: str) -> Registrant:
    return s.scalar(sa.select(Registrant).where(Registrant.reference == reference))


def audit_rows(s, action: str | None = None) -> list[AuditEvent]:
    query = sa.select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(s.scalars(query))


def run(s, now: dt.datetime, **kw):
    return run_retention(s, now, PERIOD, GRACE, **kw)


# --------------------------------------------------------------------------- the retention run


def test_flagged_at_the_end_of_the_period_and_erased_after_the_grace_period(sessions):
    with sessions() as s:
        add(s, "CCR-AAAAAA")  # confirmed 2025-01-10 09:00
        add(s, "CCR-BBBBBB", confirmed=dt.datetime(2025, 6, 1, tzinfo=UTC))  # current all along
        s.commit()

        early = run(s, OVERDUE_FROM - SECOND)
        assert early.nothing_to_do and (early.flagged, early.erased, early.flags_cleared) == (0, 0, 0)

        first = run(s, OVERDUE_FROM)
        assert (first.flagged, first.erased, first.flags_cleared) == (1, 0, 0)
        assert first.erase_from == ERASE_FROM
        assert not first.mail_configured and first.reminders_sent == 0 and first.reminders_unsent == 1
        assert by_ref(s, "CCR-AAAAAA").retention_flagged_at == OVERDUE_FROM
        assert by_ref(s, "CCR-BBBBBB").retention_flagged_at is None

        again = run(s, OVERDUE_FROM)  # the same run twice: nothing more
        assert again.nothing_to_do and again.flagged == 0

        assert run(s, ERASE_FROM - SECOND).nothing_to_do  # one second short of 30 days

        due = run(s, ERASE_FROM)
        assert (due.flagged, due.erased, due.cameras_switched_off, due.flags_cleared) == (0, 1, 2, 0)
        gone = by_ref(s, "CCR-AAAAAA")
        assert (gone.status, gone.end_reason, gone.withdrawn_at) == ("withdrawn", "retention", ERASE_FROM)
        assert gone.name is None and gone.site.lat is None and not any(c.active for c in gone.site.cameras)
        assert by_ref(s, "CCR-BBBBBB").status == "active"

        assert run(s, ERASE_FROM).nothing_to_do  # safe to run twice
        assert run(s, ERASE_FROM + dt.timedelta(days=5)).nothing_to_do

        erased = audit_rows(s, "registration_erased")
        assert len(erased) == 1 and erased[0].username == "system" and erased[0].user_id is None
        assert json.loads(erased[0].subject_ids) == [str(gone.id)]
        assert json.loads(erased[0].detail)["why"] == "retention"
        flagged = audit_rows(s, "retention_flagged")
        assert len(flagged) == 1 and json.loads(flagged[0].detail)["erase_from"] == "2026-02-09"
        assert audit.verify_chain(s).intact


def test_a_registration_reconfirmed_during_the_grace_period_is_kept_and_unflagged(sessions):
    with sessions() as s:
        add(s, "CCR-CCCCCC")  # reconfirmed by its owner from the management page
        add(s, "CCR-DDDDDD")  # reconfirmed by a path that leaves the flag: the run clears it
        s.commit()
        assert run(s, OVERDUE_FROM).flagged == 2

        owner = by_ref(s, "CCR-CCCCCC")
        registration.reconfirm(s, owner, now=dt.datetime(2026, 1, 20, tzinfo=UTC))
        assert owner.retention_flagged_at is None
        s.execute(
            sa.update(Registrant)
            .where(Registrant.reference == "CCR-DDDDDD")
            .values(last_confirmed_at=dt.datetime(2026, 1, 21, tzinfo=UTC))
        )
        s.commit()

        later = run(s, ERASE_FROM)
        assert (later.flagged, later.erased, later.flags_cleared) == (0, 0, 1)
        for ref in ("CCR-CCCCCC", "CCR-DDDDDD"):
            kept = by_ref(s, ref)
            assert (kept.status, kept.retention_flagged_at, kept.name) == ("active", None, PERSON["name"])
        assert run(s, ERASE_FROM).nothing_to_do
        # 12 months after the reconfirmation the cycle starts again.
        assert run(s, dt.datetime(2027, 1, 20, tzinfo=UTC)).flagged == 1
        cleared = audit_rows(s, "retention_flag_cleared")
        assert [json.loads(r.subject_ids) for r in cleared] == [[str(by_ref(s, "CCR-DDDDDD").id)]]


def test_a_longer_period_clears_flags_that_are_no_longer_due(sessions):
    with sessions() as s:
        add(s, "CCR-EEEEEE")
        s.commit()
        assert run(s, OVERDUE_FROM).flagged == 1
        longer = run_retention(s, ERASE_FROM, 24, GRACE)  # confirmed 13 months ago: not overdue under 24
        assert (longer.flags_cleared, longer.erased, longer.flagged) == (1, 0, 0)
        assert by_ref(s, "CCR-EEEEEE").status == "active"


def test_a_dry_run_counts_what_a_run_would_do_and_changes_nothing(sessions):
    with sessions() as s:
        add(s, "CCR-FFFFFF", flagged=OVERDUE_FROM)  # due at ERASE_FROM: 2 cameras
        add(s, "CCR-GGGGGG", flagged=OVERDUE_FROM, cameras=3)  # due at ERASE_FROM: 3 cameras
        add(s, "CCR-HHHHHH", confirmed=dt.datetime(2025, 2, 1, tzinfo=UTC))  # overdue, to flag
        add(s, "CCR-JJJJJJ", confirmed=dt.datetime(2025, 2, 1, tzinfo=UTC), email=None)  # overdue, phone only
        add(s, "CCR-KKKKKK", confirmed=dt.datetime(2026, 1, 15, tzinfo=UTC), flagged=OVERDUE_FROM)  # reconfirmed
        s.commit()
        before = s.execute(sa.text("SELECT * FROM registrant ORDER BY id")).all()
        audit_before = len(audit_rows(s))

        dry = run(s, ERASE_FROM, dry_run=True)
        assert dry.dry_run
        assert (dry.flagged, dry.erased, dry.cameras_switched_off, dry.flags_cleared) == (2, 2, 5, 1)
        assert (dry.reminders_unsent, dry.without_email) == (1, 1)
        assert s.execute(sa.text("SELECT * FROM registrant ORDER BY id")).all() == before
        assert len(audit_rows(s)) == audit_before

        real = run(s, ERASE_FROM)
        assert (real.flagged, real.erased, real.cameras_switched_off, real.flags_cleared) == (2, 2, 5, 1)
        assert (real.reminders_unsent, real.without_email) == (1, 1)


def test_erasure_works_in_batches_with_one_audit_row_each(sessions):
    with sessions() as s:
        for i in range(5):
            add(s, f"CCR-{'MNPQR'[i] * 6}", flagged=OVERDUE_FROM, cameras=1)
        s.commit()
        done = run(s, ERASE_FROM, batch_size=2)
        assert (done.erased, done.cameras_switched_off) == (5, 5)
        rows = audit_rows(s, "registration_erased")
        assert [len(json.loads(r.subject_ids)) for r in rows] == [2, 2, 1]
        assert sum(json.loads(r.detail)["registrations"] for r in rows) == 5


def test_reminders_carry_a_new_private_link_and_a_failed_send_keeps_the_old_one(sessions):
    sent = []

    def mailer(reminder):
        if reminder.reference == "CCR-TTTTTT":
            raise MailError("the mail relay refused or could not be reached (SMTPRecipientsRefused)")
        sent.append(reminder)

    with sessions() as s:
        add(s, "CCR-SSSSSS", email="s.owner@example.org", token="old-link-of-s-0123456789")
        add(s, "CCR-TTTTTT", email="t.owner@example.org", token="old-link-of-t-0123456789")
        add(s, "CCR-UUUUUU", email=None, token="old-link-of-u-0123456789")  # phone only: cannot be emailed
        s.commit()
        done = run(s, OVERDUE_FROM, mailer=mailer)
        assert (done.flagged, done.reminders_sent, done.reminders_unsent, done.without_email) == (3, 1, 1, 1)
        assert [(r.to, r.reference, r.erase_from) for r in sent] == [
            ("s.owner@example.org", "CCR-SSSSSS", dt.date(2026, 2, 9))
        ]
        assert registration.by_token(s, sent[0].token).reference == "CCR-SSSSSS"  # the new link opens it
        assert registration.by_token(s, "old-link-of-s-0123456789") is None  # and replaces the old one
        assert registration.by_token(s, "old-link-of-t-0123456789").reference == "CCR-TTTTTT"  # not sent: kept
        assert registration.by_token(s, "old-link-of-u-0123456789").reference == "CCR-UUUUUU"
        reminded = audit_rows(s, "retention_reminder_sent")
        assert [json.loads(r.subject_ids) for r in reminded] == [[str(by_ref(s, "CCR-SSSSSS").id)]]
        assert sent[0].token not in json.dumps([r.detail for r in audit_rows(s)])


# --------------------------------------------------------------------------- erasure: the same for every reason


def _row(s, table: str, where: str, value) -> dict:
    return dict(
        s.execute(sa.text(f"SELECT * FROM {table} WHERE {where} = :v ORDER BY id"), {"v": value}).mappings().first()
    )


def test_owner_withdrawal_request_and_retention_leave_exactly_the_same_columns(sessions, admin):
    admin_actor, _ = admin
    with sessions() as s:
        for ref in ("CCR-WWWWWW", "CCR-XXXXXX", "CCR-YYYYYY"):
            add(s, ref)
        s.commit()
        assert run(s, OVERDUE_FROM).flagged == 3  # all three flagged at the same instant
        registration.withdraw(s, by_ref(s, "CCR-WWWWWW"), via="form", now=ERASE_FROM)
        done = erase_on_request(
            s, admin_actor, "ccr-xxxxxx ", "Ticket DP-2026-0042: owner asked by phone", now=ERASE_FROM
        )
        assert (done.reference, done.cameras_switched_off, done.erased_at) == ("CCR-XXXXXX", 2, ERASE_FROM)
        s.commit()
        assert run(s, ERASE_FROM).erased == 1  # only CCR-YYYYYY was still active
        ids = {ref: by_ref(s, ref).id for ref in ("CCR-WWWWWW", "CCR-XXXXXX", "CCR-YYYYYY")}

        personal = {
            "registrant": {"name", "email", "phone", "preferred_channel", "management_token_hash"},
            "site": {
                "address",
                "postcode",
                "lat",
                "lon",
                "easting_m",
                "northing_m",
                # what locates or describes the home: its kind, small area and H3 cells
                "kind",
                "lsoa_code",
                "h3_r7",
                "h3_r8",
                "h3_r9",
            },
        }
        differ = {"id", "reference", "end_reason", "updated_at", "registrant_id", "site_id", "geom"}
        owner = {
            "registrant": _row(s, "registrant", "id", ids["CCR-WWWWWW"]),
            "site": _row(s, "site", "registrant_id", ids["CCR-WWWWWW"]),
        }
        assert owner["registrant"]["end_reason"] == "owner"
        for ref, reason in (("CCR-XXXXXX", "request"), ("CCR-YYYYYY", "retention")):
            other = {
                "registrant": _row(s, "registrant", "id", ids[ref]),
                "site": _row(s, "site", "registrant_id", ids[ref]),
            }
            assert other["registrant"]["end_reason"] == reason
            for table in ("registrant", "site"):
                assert owner[table].keys() == other[table].keys()
                for column, value in owner[table].items():
                    if column in personal.get(table, ()):
                        assert value is None and other[table][column] is None, (table, column)
                    elif column not in differ:
                        assert other[table][column] == value, (ref, table, column)
            # Of each camera only that it existed is left: switched off, its description gone.
            cams = (
                s.execute(
                    sa.text(
                        "SELECT * FROM camera c WHERE c.site_id IN (SELECT id FROM site WHERE "
                        "registrant_id = :r) ORDER BY c.id"
                    ),
                    {"r": ids[ref]},
                )
                .mappings()
                .all()
            )
            assert len(cams) == 2
            # public_id: random, it says nothing; the officer's request history names the camera by it
            kept = {"id", "public_id", "site_id", "active", "record_key", "created_at", "updated_at"}
            for cam in cams:
                assert cam["active"] in (False, 0)
                assert {k for k, v in cam.items() if v is not None} <= kept, {
                    k: v for k, v in cam.items() if v is not None and k not in kept
                }
        assert {r.status for r in s.scalars(sa.select(Registrant))} == {"withdrawn"}


def test_no_erased_value_is_left_anywhere_and_the_audit_log_names_none(sessions, engine, admin):
    admin_actor, _ = admin
    with sessions() as s:
        add(s, "CCR-222222", flagged=OVERDUE_FROM)
        add(s, "CCR-333333")
        add(s, "CCR-444444")
        s.commit()
        run(s, ERASE_FROM)  # erases CCR-222222, flags the others
        erase_on_request(s, admin_actor, "CCR-333333", "Request REQ-77 received by post on 2 Feb", now=ERASE_FROM)
        registration.withdraw(s, by_ref(s, "CCR-444444"), via="form", now=ERASE_FROM)
        s.commit()

        events = {
            (e.action, e.username, e.role, e.reason, e.detail)
            for e in audit_rows(s)
            if e.action in ("registration_erased", "registration_withdrawn")
        }
        assert events == {
            (
                "registration_erased",
                "system",
                None,
                None,
                json.dumps(
                    {
                        "as_of": "2026-02-09T09:00:00+00:00",
                        "cameras_switched_off": 2,
                        "grace_days": 30,
                        "period_months": 12,
                        "registrations": 1,
                        "why": "retention",
                    },
                    separators=(",", ":"),
                ),
            ),
            (
                "registration_erased",
                "admin1",
                "admin",
                "Request REQ-77 received by post on 2 Feb",
                json.dumps(
                    {"cameras_switched_off": 2, "reference": "CCR-333333", "why": "request"}, separators=(",", ":")
                ),
            ),
            ("registration_withdrawn", "public", None, None, '{"via":"form"}'),
        }
    values = [
        *PERSON.values(),
        PERSON["phone"].replace(" ", ""),
        "Quintrell",
        "Marigold",
        "ST162DH",
        str(LAT),
        str(LON),
        str(EASTING),
        str(NORTHING),
        "52.8123",
        "392512",
        *(registration.token_digest(f"token-of-CCR-{c * 6}") for c in "234"),
    ]
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            if table == "spatial_ref_sys":
                continue
            text = json.dumps([[str(v) for v in row] for row in conn.execute(sa.text(f'SELECT * FROM "{table}"'))])
            found = [v for v in values if v.lower() in text.lower()]
            assert not found, (table, found)


# --------------------------------------------------------------------------- erasure on request: refusals


@pytest.mark.parametrize(
    "reference, reason, message",
    [
        ("CCR-9ZZZZZ", "Ticket DP-2026-0042", "No registration has the reference CCR-9ZZZZZ"),
        ("CCR-12", "Ticket DP-2026-0042", "'CCR-12' is not a registration reference; references look like CCR-7KQ2MX"),
        ("", "Ticket DP-2026-0042", "Give the registration's reference"),
        ("CCR-555555", "", "Give the reason for the erasure"),
        ("CCR-555555", "   ", "Give the reason for the erasure"),
        ("CCR-555555", "asked", "too short"),
        ("CCR-555555", "x" * 501, "keep it to 500"),
        ("CCR-555555", "Ticket 9\x07", "control characters"),
        ("CCR-555555", "Mr Zebedee Quintrell phoned", "repeats the owner's details"),
        ("CCR-555555", "email from ZQ.Owner@example.org", "repeats the owner's details"),
        ("CCR-555555", "called from 07700900417", "repeats the owner's details"),
        ("CCR-555555", "lives at st16 2dh, ticket 5", "repeats the owner's details"),
        ("CCR-666666", "Ticket DP-2026-0042", "already withdrawn by its owner on 10 January 2025"),
    ],
)
def test_erasure_on_request_refuses_with_a_clear_message_and_changes_nothing(
    sessions, admin, reference, reason, message
):
    admin_actor, _ = admin
    with sessions() as s:
        add(s, "CCR-555555")
        add(s, "CCR-666666", status="withdrawn", end_reason="owner")
        s.commit()
        count = len(audit_rows(s))
        with pytest.raises(ErasureError, match=None) as refused:
            erase_on_request(s, admin_actor, reference, reason, now=ERASE_FROM)
        assert message in str(refused.value)
        s.rollback()
        assert by_ref(s, "CCR-555555").name == PERSON["name"] and len(audit_rows(s)) == count


def test_only_an_active_administrator_may_erase_on_request(sessions, admin):
    admin_actor, officer_actor = admin
    with sessions() as s:
        add(s, "CCR-777777")
        s.commit()
        with pytest.raises(
            ErasureError, match="Only an administrator can erase a registration on request; officer1 is an officer"
        ):
            erase_on_request(s, officer_actor, "CCR-777777", "Ticket DP-2026-0042")
        # A role claimed by the caller does not count: the account's own role does.
        with pytest.raises(ErasureError, match="officer1 is an officer"):
            erase_on_request(s, audit.Actor(officer_actor.user_id, "officer1", "admin"), "CCR-777777", "Ticket 42 x")
        s.execute(sa.text("UPDATE app_user SET active = false WHERE username = 'admin1'"))
        with pytest.raises(ErasureError, match="admin1 is not an active user"):
            erase_on_request(s, admin_actor, "CCR-777777", "Ticket DP-2026-0042")
        s.rollback()
        assert by_ref(s, "CCR-777777").status == "active"
        assert audit_rows(s, "registration_erased") == []


# --------------------------------------------------------------------------- the auditor's summary


def test_retention_summary_counts_each_registration_once_by_hand(sessions):
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # period cutoff 2025-03-01 12:00; grace cutoff 2026-01-30 12:00
    with sessions() as s:
        add(s, "CCR-R1R1R1", confirmed=dt.datetime(2025, 6, 1, tzinfo=UTC))  # current
        add(s, "CCR-R2R2R2", confirmed=dt.datetime(2025, 2, 1, tzinfo=UTC))  # overdue, not flagged yet
        add(
            s,
            "CCR-R3R3R3",
            confirmed=dt.datetime(2025, 1, 15, tzinfo=UTC),
            flagged=dt.datetime(2026, 2, 10, tzinfo=UTC),
        )  # in grace until 2026-03-12
        add(
            s, "CCR-R4R4R4", confirmed=dt.datetime(2025, 1, 1, tzinfo=UTC), flagged=dt.datetime(2026, 1, 5, tzinfo=UTC)
        )  # grace over on 2026-02-04: due
        add(
            s,
            "CCR-R5R5R5",
            confirmed=dt.datetime(2026, 1, 25, tzinfo=UTC),
            flagged=dt.datetime(2026, 1, 20, tzinfo=UTC),
        )  # reconfirmed after its flag: current
        add(s, "CCR-R6R6R6", status="withdrawn", end_reason="owner")
        add(s, "CCR-R7R7R7", status="withdrawn", end_reason="owner")
        add(s, "CCR-R8R8R8", status="withdrawn", end_reason="request")
        add(s, "CCR-R9R9R9", status="withdrawn", end_reason="retention")
        audit.record(s, audit.SYSTEM, "test_event")
        s.commit()

        before = retention_summary(s, now, PERIOD, GRACE)
        assert (before.active, before.current, before.overdue_unflagged, before.in_grace, before.due_now) == (
            5,
            2,
            1,
            1,
            1,
        )
        assert before.first_erasure_at == dt.datetime(2026, 3, 12, tzinfo=UTC)
        assert (
            before.ended_by_owner,
            before.erased_on_request,
            before.erased_by_retention,
            before.ended_reason_unknown,
            before.ended,
        ) == (2, 1, 1, 0, 4)
        assert before.audit_rows == 1 and "s.62" in before.audit_kept_because
        assert before.audit_kept_because == AUDIT_KEPT_BECAUSE

        done = run(s, now)  # flags R2, erases R4, clears R5's flag: one audit row each
        assert (done.flagged, done.erased, done.flags_cleared) == (1, 1, 1)

        after = retention_summary(s, now, PERIOD, GRACE)
        assert (after.active, after.current, after.overdue_unflagged, after.in_grace, after.due_now) == (4, 2, 0, 2, 0)
        assert after.first_erasure_at == dt.datetime(2026, 3, 12, tzinfo=UTC)  # R3's; R2's is 2026-03-31 12:00
        assert (after.erased_by_retention, after.ended) == (2, 5)
        assert after.audit_rows == 1 + 3


def test_policy_values_are_checked(sessions):
    with sessions() as s:
        with pytest.raises(ValueError, match="whole number of months, at least 1, got 0"):
            run_retention(s, OVERDUE_FROM, 0, GRACE)
        with pytest.raises(ValueError, match="whole number of days, at least 1, got -3"):
            retention_summary(s, OVERDUE_FROM, PERIOD, -3)
        with pytest.raises(ValueError, match="timezone-aware"):
            run_retention(s, OVERDUE_FROM.replace(tzinfo=None), PERIOD, GRACE)
