"""The audit log is anchored outside the database: its rows are HMAC-chained under AUDIT_KEY and
signed checkpoints go to a file, so someone who can change the database (the append-only trigger
dropped on a copy) can neither cut rows off the end nor rewrite one and recompute its hash.
``python -m dashboard audit verify`` says what broke, in plain words, and exits non-zero for cron."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from dashboard import cli
from dashboard.config import PROJECT_ROOT, load_settings
from dashboard.registry import audit, audit_checkpoints
from dashboard.registry.database import session_factory, transaction
from dashboard.registry.models import AuditEvent
from dashboard.runtime import open_database

KEY = "audit-key-" + "q" * 40
OFFICER = audit.Actor(3, "officer.one", "officer")


@pytest.fixture
def env(tmp_path, reference_dir, monkeypatch) -> dict:
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "s" * 40,
        "AUDIT_KEY": KEY,
        "AUDIT_CHECKPOINT_FILE": str(tmp_path / "anchor" / "checkpoints.jsonl"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def write_events(engine, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with transaction(session_factory(engine)) as s:
            audit.record(
                s,
                OFFICER,
                "search",
                case_ref="CR-2026-0001",
                reason=f"burglary at no. {i}",
                detail={"radius_m": 200 + i},
            )


def verify(capsys, monkeypatch=None, **env) -> tuple[int, str]:
    if monkeypatch is not None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
    code = cli.main(["audit", "verify"])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture
def live(env):
    """A live registry with 30 events and a checkpoint taken after them."""
    engine = open_database(load_settings())
    write_events(engine, 30)
    assert cli.main(["audit", "checkpoint"]) == 0
    yield engine
    engine.dispose()


def copy_db(src, dst) -> None:
    """A consistent copy of a live SQLite database (its WAL included), as a backup would make."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()


def attacker_copy(env, tmp_path, monkeypatch, statements: list[tuple[str, dict]]) -> None:
    """Copy the database, drop the append-only trigger on the copy, run ``statements``, and point
    the app (and ``audit verify``) at the copy, as a swapped-in database would be."""
    copy = tmp_path / "tampered.db"
    copy_db(tmp_path / "live.db", copy)
    raw = sa.create_engine(f"sqlite:///{copy}")
    with raw.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_update")
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_delete")
        for sql, params in statements:
            conn.execute(sa.text(sql), params)
    raw.dispose()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{copy}")


def test_a_clean_log_verifies_and_exits_zero(live, capsys):
    capsys.readouterr()
    code, text = verify(capsys)
    assert code == 0, text
    assert "30 rows intact" in text and "newest row 30" in text


def test_rows_cut_off_the_end_after_dropping_the_trigger_are_found(live, env, tmp_path, monkeypatch, capsys):
    # Without the checkpoint the shortened chain would verify: every remaining row still links up.
    attacker_copy(env, tmp_path, monkeypatch, [("DELETE FROM audit_event WHERE id > 24", {})])
    with session_factory(open_database(load_settings()))() as s:
        assert audit.verify_chain(s).intact
    code, text = verify(capsys)
    assert code == 1
    assert "rows after row 24 are missing" in text and "records row 30" in text, text


def test_a_rewritten_detail_with_a_recomputed_plain_hash_is_found(live, env, tmp_path, monkeypatch, capsys):
    """The attacker edits row 12's detail and recomputes its hash the way rows were hashed before
    keying (plain SHA-256), then every later row's hash and link: the whole chain is consistent,
    but not under the key."""
    with session_factory(live)() as s:
        rows = s.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    statements, prev = [], None
    for row in rows:
        fields = audit.row_fields(vars(row))
        if row.id == 12:
            fields["detail"] = json.dumps({"radius_m": 5000})
        if row.id >= 12:
            new_hash = audit.row_digest(prev if row.id > 12 else row.prev_hash, fields)
            statements.append(
                (
                    "UPDATE audit_event SET detail = :d, prev_hash = :p, row_hash = :h WHERE id = :id",
                    {"d": fields["detail"], "p": prev if row.id > 12 else row.prev_hash, "h": new_hash, "id": row.id},
                )
            )
            prev = new_hash
        else:
            prev = row.row_hash
    attacker_copy(env, tmp_path, monkeypatch, statements)
    code, text = verify(capsys)
    assert code == 1
    assert "row 12 was rewritten" in text, text
    assert "Traceback" not in text


def test_the_wrong_key_is_found(live, capsys, monkeypatch):
    code, text = verify(capsys, monkeypatch, AUDIT_KEY="a-different-key-" + "z" * 40)
    assert code == 1
    assert "checkpoint signature wrong" in text and "row 1 was rewritten" in text, text
    assert "is signed with this AUDIT_KEY: the key is wrong" in text


def test_an_edited_checkpoint_file_is_found(live, env, capsys):
    path = audit_checkpoints.read(load_settings().audit_checkpoint_file).path
    line = json.loads(path.read_text().splitlines()[-1])
    line["last_id"], line["count"] = 20, 20  # trying to make a truncation to row 20 look expected
    with open(path, "a") as out:
        out.write(json.dumps(line) + "\n")
    code, text = verify(capsys)
    assert code == 1 and "checkpoint signature wrong on line 2" in text, text


def test_checkpoints_are_written_every_n_events_after_commit_only(env, monkeypatch):
    monkeypatch.setenv("AUDIT_CHECKPOINT_EVERY", "10")
    settings = load_settings()
    engine = open_database(settings)
    write_events(engine, 25)
    with pytest.raises(RuntimeError):  # the 30th row is rolled back: no checkpoint may vouch for it
        with transaction(session_factory(engine)) as s:
            for _i in range(5):
                audit.record(s, OFFICER, "search", case_ref="CR-2026-0001", reason="never kept")
            raise RuntimeError("rolled back")
    found = audit_checkpoints.read(settings.audit_checkpoint_file)
    assert [(c.last_id, c.count) for c in found.checkpoints] == [(10, 10), (20, 20)]
    key = audit.Anchor.from_settings(settings).checkpoint_key
    assert all(c.signed_by(key) for c in found.checkpoints)
    with session_factory(engine)() as s:
        assert audit.verify_log(s).intact
    engine.dispose()


def test_rows_chained_before_keying_are_kept_and_anchored(env, tmp_path, monkeypatch, capsys):
    """An existing log (rows 1-8 chained with plain SHA-256 before this change) is taken over as it
    is: the first checkpoint says 'rows 1..8 chained before keying', later rows are keyed, and a
    rewrite of an old row, its plain hashes recomputed through row 8, is still found."""
    engine = open_database(load_settings())
    at = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
    prev = audit.GENESIS_HASH
    with engine.begin() as conn:
        for i in range(1, 9):
            row = {
                "occurred_at": at,
                "user_id": 3,
                "username": "officer.one",
                "role": "officer",
                "action": "search",
                "case_ref": "CR-1",
                "reason": f"old {i}",
                "subject_ids": None,
                "detail": None,
                "prev_hash": prev,
            }
            row["row_hash"] = prev = audit.row_digest(prev, audit.row_fields(row))  # the old, unkeyed recipe
            conn.execute(AuditEvent.__table__.insert(), row)
    audit.checkpoint_quietly(engine)  # as at the first start-up after the upgrade
    write_events(engine, 4)
    first = audit_checkpoints.read(load_settings().audit_checkpoint_file).checkpoints[0]
    assert (first.last_id, first.unkeyed_through) == (8, 8)
    code, text = verify(capsys)
    assert code == 0 and "rows 1 to 8 were chained before the log was keyed" in text, text
    engine.dispose()

    # Rewrite old row 3 and recompute the plain chain through row 8: row 9 (keyed) no longer follows.
    with session_factory(open_database(load_settings()))() as s:
        rows = s.scalars(sa.select(AuditEvent).where(AuditEvent.id <= 8).order_by(AuditEvent.id)).all()
    statements, prev = [], rows[1].row_hash
    for row in rows[2:]:
        fields = {**audit.row_fields(vars(row)), **({"reason": "routine"} if row.id == 3 else {})}
        new_hash = audit.row_digest(prev, fields)
        statements.append(
            (
                "UPDATE audit_event SET reason = :r, prev_hash = :p, row_hash = :h WHERE id = :id",
                {"r": fields["reason"], "p": prev, "h": new_hash, "id": row.id},
            )
        )
        prev = new_hash
    attacker_copy(env, tmp_path, monkeypatch, statements)
    code, text = verify(capsys)
    assert code == 1
    assert "row 8 was rewritten" in text and "row 9 does not follow row 8" in text, text


def test_a_keyed_row_replaced_by_a_plain_one_after_keying_is_found(env, capsys):
    """Plain (pre-keying) hashes are accepted only before the first keyed row."""
    engine = open_database(load_settings())
    write_events(engine, 3)
    with engine.begin() as conn:  # a plain-hashed row appended behind the app's back
        prev = conn.execute(sa.text("SELECT row_hash FROM audit_event ORDER BY id DESC LIMIT 1")).scalar()
        row = {
            "occurred_at": dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
            "user_id": None,
            "username": "x",
            "role": None,
            "action": "search",
            "case_ref": None,
            "reason": None,
            "subject_ids": None,
            "detail": None,
            "prev_hash": prev,
        }
        row["row_hash"] = audit.row_digest(prev, audit.row_fields(row))
        conn.execute(AuditEvent.__table__.insert(), row)
    with session_factory(engine)() as s:
        check = audit.verify_chain(s)
    assert (check.first_broken_id, check.problem) == (4, audit.BROKEN_CONTENT)
    engine.dispose()


def test_audit_verify_from_the_shell_for_cron(live, env, tmp_path):
    """The real command: exit 0 on the clean log, non-zero with the break on standard error."""
    base = {**os.environ, **env}
    ok = subprocess.run(
        [sys.executable, "-m", "dashboard", "audit", "verify"],
        cwd=PROJECT_ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    copy = tmp_path / "cut.db"
    copy_db(tmp_path / "live.db", copy)
    with sa.create_engine(f"sqlite:///{copy}").begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_delete")
        conn.exec_driver_sql("DELETE FROM audit_event WHERE id > 27")
    cut = subprocess.run(
        [sys.executable, "-m", "dashboard", "audit", "verify"],
        cwd=PROJECT_ROOT,
        env={**base, "DATABASE_URL": f"sqlite:///{copy}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cut.returncode == 1
    assert "rows after row 27 are missing" in cut.stderr and "Traceback" not in cut.stderr


def test_audit_key_settings_are_validated(env, reference_dir):
    from dashboard.config import ConfigError

    base = {"REFERENCE_DATA_DIR": str(reference_dir), "SECRET_KEY": "s" * 40}
    with pytest.raises(ConfigError, match="AUDIT_KEY is too weak"):
        load_settings({**base, "AUDIT_KEY": "short"})
    with pytest.raises(ConfigError, match="AUDIT_KEY must differ from SECRET_KEY"):
        load_settings({**base, "AUDIT_KEY": "s" * 40})
    with pytest.raises(ConfigError, match="AUDIT_CHECKPOINT_FILE"):
        load_settings({**base, "AUDIT_KEY": KEY, "AUDIT_CHECKPOINT_FILE": str(reference_dir)})
    with pytest.raises(ConfigError, match="AUDIT_CHECKPOINT_EVERY"):
        load_settings({**base, "AUDIT_KEY": KEY, "AUDIT_CHECKPOINT_EVERY": "0"})


def test_the_pages_integrity_check_finds_rows_cut_off_the_end(app, runtime):
    """The auditor's 'Check the log's integrity' button checks the checkpoints too."""
    from tests.integration.conftest import login
    from tests.integration.test_audit_review import callback

    write_events(runtime.engine, 6)
    audit.write_checkpoint(runtime.engine)
    client = app.server.test_client()
    login(client, "auditor")
    ok = json.dumps(callback(client, app, "audit-check-result.children", {"audit-check.n_clicks": 1}).get_json())
    assert "The chain is intact." in ok and "signed checkpoint" in ok
    with runtime.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")
        newest = conn.execute(sa.text("SELECT max(id) FROM audit_event")).scalar()
        conn.execute(sa.text("DELETE FROM audit_event WHERE id > :n"), {"n": newest - 3})
    broken = json.dumps(callback(client, app, "audit-check-result.children", {"audit-check.n_clicks": 2}).get_json())
    assert "The log does not match its checkpoints." in broken
    assert f"rows after row {newest - 3} are missing" in broken


def _append_many(path: str, worker: int) -> None:
    key = audit.Anchor.from_secret(KEY).checkpoint_key
    for i in range(40):
        audit_checkpoints.append(
            Path(path), key, last_id=worker * 1000 + i, last_hash="ab" * 32, count=i, unkeyed_through=0
        )


def test_several_processes_append_checkpoints_without_losing_or_mixing_lines(tmp_path):
    import multiprocessing

    path = tmp_path / "shared.jsonl"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_append_many, args=(str(path), w)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0] * 4
    found = audit_checkpoints.read(path)
    key = audit.Anchor.from_secret(KEY).checkpoint_key
    assert found.unreadable == () and len(found.checkpoints) == 160
    assert all(c.signed_by(key) for c in found.checkpoints)
    assert sorted(c.last_id for c in found.checkpoints) == sorted(w * 1000 + i for w in range(4) for i in range(40))
