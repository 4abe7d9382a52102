"""The audit log chains each row to the one before; an edit made behind the app's back is found."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import sqlalchemy as sa

from dashboard.registry import audit
from dashboard.registry.database import session_factory
from dashboard.registry.models import AuditEvent

OFFICER = audit.Actor(3, "officer.one", "officer")


def _write_three(engine):
    with session_factory(engine)() as s:
        at = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
        audit.record(s, OFFICER, "search", case_ref="CR-1", reason="burglary", detail={"radius_m": 200}, at=at)
        audit.record(s, OFFICER, "reveal_contact", case_ref="CR-1", reason="burglary", subject_ids=[41], at=at)
        audit.record(s, audit.SYSTEM, "erasure", subject_ids=[41], at=at)
        s.commit()


def test_rows_chain_from_genesis_and_verify(engine):
    secret = "audit-key-for-this-test-" + "x" * 20
    audit.anchor_engine(engine, audit.Anchor.from_secret(secret))
    _write_three(engine)
    with session_factory(engine)() as s:
        rows = s.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [r.action for r in rows] == ["search", "reveal_contact", "erasure"]
        assert rows[0].prev_hash == "0" * 64
        assert [r.prev_hash for r in rows[1:]] == [r.row_hash for r in rows[:-1]]
        # The first hash, recomputed by hand from its documented recipe: an HMAC-SHA-256 under the chain key,
        # itself the HMAC of a fixed label under AUDIT_KEY.
        fields = {
            "occurred_at": "2026-06-01T10:00:00.000000+00:00",
            "user_id": 3,
            "username": "officer.one",
            "role": "officer",
            "action": "search",
            "case_ref": "CR-1",
            "reason": "burglary",
            "subject_ids": None,
            "detail": '{"radius_m":200}',
        }
        chain_key = hmac.new(secret.encode(), b"ccr audit chain v1", hashlib.sha256).digest()
        by_hand = hmac.new(
            chain_key,
            ("0" * 64 + "|" + json.dumps(fields, sort_keys=True, separators=(",", ":"))).encode(),
            hashlib.sha256,
        ).hexdigest()
        assert rows[0].row_hash == by_hand
        assert audit.verify_chain(s) == audit.ChainCheck(rows_checked=3, first_broken_id=None)


def test_an_edited_row_breaks_the_chain_there(engine):
    _write_three(engine)
    # Someone with database access drops the guard and rewrites the reason of the second row.
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        second = conn.execute(sa.text("SELECT id FROM audit_event ORDER BY id LIMIT 1 OFFSET 1")).scalar()
        conn.execute(sa.text("UPDATE audit_event SET reason = 'routine' WHERE id = :id"), {"id": second})
    with session_factory(engine)() as s:
        check = audit.verify_chain(s)
    assert not check.intact and check.first_broken_id == second


def test_concurrent_writers_keep_one_unbroken_chain(engine):
    """Eight threads appending at once (as the web server's threads do) never fork the chain."""
    import threading

    from dashboard.registry.database import transaction

    Session = session_factory(engine)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with transaction(Session) as s:
                    audit.record(s, OFFICER, "search", case_ref=f"CR-{n}", reason=f"burglary {i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session() as s:
        assert audit.verify_chain(s) == audit.ChainCheck(rows_checked=120, first_broken_id=None)
