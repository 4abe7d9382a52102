"""Retention of owners' footage (issue 17): which files go and when, with dates worked out by hand;
a second run changes nothing; nothing of a deleted file's caption, name or content, nor of the
owner's statement, is left in the database, its file or the audit log; shared content stays for
the file that still needs it; a run stopped half-way is finished by the next.

Rules under test (defaults): a declined file goes 30 days after the decision; every file of a
closed case goes 90 days after the case was closed; accepted exhibits and files awaiting a decision
stay while their case is open.

Hand-worked instants:
- closed 2026-09-01 10:00 UTC + 90 days = 2026-11-30 10:00 UTC (September 29 days left + October 31
  + November 30 = 90): a run at 10:00 deletes, one at 09:59 does not.
- declined 2026-10-01 12:00 UTC + 30 days = 2026-10-31 12:00 UTC (the UK clocks going back on
  25 October changes nothing: periods are counted in UTC instants).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from dashboard.evidence import cases, triage
from dashboard.evidence.retention import (
    CLOSED_CASE,
    DECLINED,
    DELETED_NAME,
    Periods,
    Tally,
    plan,
    run_footage_retention,
)
from dashboard.footage.storage import Store
from dashboard.registry import audit
from dashboard.registry.casework import ensure_case_file
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, CaseFile, EvidenceFile, FootageResponse, Registrant, User, utcnow
from tests.integration.test_footage_attacks import CASE, STATEMENT, asked_owner
from tests.integration.test_footage_uploads import (  # noqa: F401  (fixtures: evidence_dir, runtime, client)
    client,
    evidence_dir,
    runtime,
    send,
)
from tests.media import make_jpeg

UTC = dt.UTC
P = Periods(30, 90)
CLOSED = dt.datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
CLOSED_DUE = dt.datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
DECIDED = dt.datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
DECLINED_DUE = dt.datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
ONE_MIN = dt.timedelta(minutes=1)
SIGNED = "Philippa Quarrendon-Statement"
NOTE = "Van came past the hollyhocks at 21:40"


def store_of(rt) -> Store:
    return Store(rt.settings.evidence_dir, 0)


def officer(s, username: str = "officer1") -> User:
    return s.scalar(sa.select(User).where(User.username == username))


def actor(s, username: str = "officer1") -> audit.Actor:
    user = officer(s, username)
    return audit.Actor(user.id, user.username, user.role)


_owners = iter(range(1, 10_000))


def seed(
    rt,
    case_ref: str,
    files: list[dict],
    *,
    closed_at: dt.datetime | None = None,
    answer: str = "footage",
    username: str = "officer1",
) -> dict:
    """An owner's answer in ``case_ref`` (its case file closed at ``closed_at``) with ``files``: each
    {"name", "caption", "content", "triage": None|'accepted'|'declined', "at": decision time,
    "state": 'stored' by default}. The bytes go into the store under their SHA-256, as an upload would."""
    n = next(_owners)
    store = store_of(rt)
    with transaction(rt.sessions) as s:
        who = officer(s, username)
        owner = Registrant(
            reference=f"RET{n:05d}",
            name=f"Owner {n}",
            email=f"owner{n}@example.org",
            consent_at=CLOSED - dt.timedelta(days=200),
            status="active",
            last_confirmed_at=CLOSED - dt.timedelta(days=200),
        )
        s.add(owner)
        s.flush()
        case = ensure_case_file(s, case_ref, who.id)
        if closed_at is not None:
            case.closed_at, case.closed_by_id = closed_at, who.id
        response = FootageResponse(
            case_ref=case_ref,
            registrant_id=owner.id,
            requested_by_id=who.id,
            answer=answer,
            answered_at=CLOSED - dt.timedelta(days=40),
            signed_name=SIGNED if answer == "footage" else None,
            owner_note=NOTE,
            clock_offset_s=200 if answer == "footage" else None,
            copy_made_by_owner=True if answer == "footage" else None,
            copy_made_at=CLOSED - dt.timedelta(days=41) if answer == "footage" else None,
        )
        s.add(response)
        s.flush()
        made = []
        for i, spec in enumerate(files):
            content = spec["content"]
            sha = hashlib.sha256(content).hexdigest()
            state = spec.get("state", "stored")
            f = EvidenceFile(
                response_id=response.id,
                upload_key=f"ret{n:05d}x{i:02d}".ljust(43, "k"),
                original_name=spec["name"],
                caption=spec.get("caption"),
                declared_size=len(content),
                received_bytes=len(content),
                sha256=sha,
                state=state,
                media={
                    "kind": "video",
                    "container": "mp4",
                    "codec": "h264",
                    "duration_s": 12.5,
                    "width": 1280,
                    "height": 720,
                    "recorded_at": "2026-07-01T21:40:00",
                },
                created_at=CLOSED - dt.timedelta(days=42),
                completed_at=CLOSED - dt.timedelta(days=42),
            )
            if spec.get("triage") == "accepted":
                f.triage, f.triaged_at, f.triaged_by_id, f.exhibit_ref = "accepted", spec["at"], who.id, spec["ref"]
            elif spec.get("triage") == "declined":
                f.triage, f.triaged_at, f.triaged_by_id = "declined", spec["at"], who.id
                f.decline_reason, f.exhibit_ref = "not_relevant", spec.get("ref")
            s.add(f)
            s.flush()
            made.append(f)
            if state == "stored":
                path = store.path_for(sha)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
        return {
            "response": response.id,
            "response_public": response.public_id,
            "case": case.public_id,
            "files": [f.id for f in made],
            "public": [f.public_id for f in made],
            "shas": [f.sha256 for f in made],
        }


def content(label: str, size: int = 40_000) -> bytes:
    """Distinct bytes per label (not compressible into anything shorter)."""
    seed_block = hashlib.sha256(label.encode()).digest()
    blocks = (hashlib.sha256(seed_block + i.to_bytes(4, "big")).digest() for i in range(size // 32 + 1))
    return b"".join(blocks)[:size]


def state_of(rt, file_id: int) -> EvidenceFile:
    with rt.sessions() as s:
        return s.get(EvidenceFile, file_id)


def on_disk(rt, sha: str) -> bool:
    return store_of(rt).path_for(sha).is_file()


def actions(rt, *names: str) -> list[AuditEvent]:
    with rt.sessions() as s:
        return list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action.in_(names)).order_by(AuditEvent.id)))


def run(rt, now: dt.datetime, **kw):
    return run_footage_retention(rt.sessions, store_of(rt), now, P, **kw)


def snapshot(rt) -> tuple:
    """Every row of the footage tables and the audit log, and the files on the disk."""
    with rt.sessions() as s:
        tables = tuple(
            tuple(tuple(r) for r in s.execute(sa.select(t).order_by(t.c.id)).all())
            for t in (EvidenceFile.__table__, FootageResponse.__table__, CaseFile.__table__, AuditEvent.__table__)
        )
    files = sorted(str(p) for p in Path(rt.settings.evidence_dir).rglob("*") if p.is_file())
    return tables, files


# --------------------------------------------------------------------------- closed cases


def test_files_of_a_closed_case_go_90_days_after_closing_to_the_minute(runtime):
    made = seed(
        runtime,
        "CR-2026-000101",
        [
            {
                "name": "porch.mp4",
                "caption": "porch camera",
                "content": content("a"),
                "triage": "accepted",
                "at": CLOSED - dt.timedelta(days=10),
                "ref": "JO/1",
            },
            {"name": "drive.mp4", "caption": "drive", "content": content("b")},  # never decided
        ],
        closed_at=CLOSED,
    )

    early = run(runtime, CLOSED_DUE - ONE_MIN)  # 09:59
    assert early.files == Tally() and early.statements_erased == 0
    assert all(state_of(runtime, i).state == "stored" for i in made["files"])
    assert all(on_disk(runtime, sha) for sha in made["shas"])
    assert actions(runtime, "evidence_deleted", "evidence_statement_erased") == []

    done = run(runtime, CLOSED_DUE)  # 10:00
    assert done.deleted == {CLOSED_CASE: Tally(2, 80_000)}
    assert done.freed == Tally(2, 80_000) and done.kept_shared == 0 and done.statements_erased == 1
    for file_id, sha in zip(made["files"], made["shas"]):
        f = state_of(runtime, file_id)
        assert (f.state, f.deleted_at, f.caption, f.original_name) == ("deleted", CLOSED_DUE, None, DELETED_NAME)
        assert f.sha256 == sha and f.declared_size == 40_000  # kept for the record
        assert f.media == {
            "kind": "video",
            "container": "mp4",
            "codec": "h264",
            "duration_s": 12.5,
            "width": 1280,
            "height": 720,
        }  # no recording time
        assert not on_disk(runtime, sha)
    accepted = state_of(runtime, made["files"][0])
    assert (accepted.triage, accepted.exhibit_ref) == ("accepted", "JO/1")
    logged = actions(runtime, "evidence_deleted")
    assert [(e.case_ref, e.username, json.loads(e.detail)["rule"]) for e in logged] == [
        ("CR-2026-000101", "system", "closed_case")
    ] * 2
    first = json.loads(logged[0].detail)
    assert first == {
        "file_id": made["public"][0],
        "case_id": made["case"],
        "response_id": made["response_public"],
        "sha256": made["shas"][0],
        "size": 40_000,
        "exhibit_ref": "JO/1",
        "triage": "accepted",
        "rule": "closed_case",
        "due_at": "2026-11-30T10:00:00+00:00",
        "period_days": 90,
    }
    with runtime.sessions() as s:
        r = s.get(FootageResponse, made["response"])
        assert (r.signed_name, r.owner_note, r.copy_made_at, r.copy_made_by_owner, r.clock_offset_s) == (None,) * 5
        assert r.answer == "footage"  # what the owner answered stays: it identifies nobody
    erased = actions(runtime, "evidence_statement_erased")
    assert len(erased) == 1 and json.loads(erased[0].detail)["rule"] == "files_deleted"

    before = snapshot(runtime)
    again = run(runtime, CLOSED_DUE)
    later = run(runtime, dt.datetime(2027, 6, 1, tzinfo=UTC))
    for second in (again, later):
        assert second.files == Tally() and second.freed == Tally() and second.statements_erased == 0
        assert second.finished == Tally() and second.compacted is None
    assert snapshot(runtime) == before


def test_a_reopened_case_keeps_its_files_and_closing_again_restarts_the_clock(runtime):
    made = seed(
        runtime,
        "CR-2026-000102",
        [
            {
                "name": "a.mp4",
                "caption": None,
                "content": content("r1"),
                "triage": "accepted",
                "at": CLOSED,
                "ref": "JO/1",
            },
            {"name": "b.mp4", "caption": None, "content": content("r2")},
        ],
    )
    with transaction(runtime.sessions) as s:
        cases.close_case(s, actor(s), made["case"], CLOSED)
    with transaction(runtime.sessions) as s:
        cases.reopen_case(s, actor(s), made["case"], CLOSED + dt.timedelta(days=30))
    assert run(runtime, CLOSED_DUE).files == Tally()
    assert run(runtime, dt.datetime(2027, 12, 1, tzinfo=UTC)).files == Tally()
    assert all(state_of(runtime, i).state == "stored" for i in made["files"])
    # Closed again on 2026-12-01 09:00 UTC: due 2027-03-01 09:00 UTC (30 + 31 + 28 = 89 days to
    # 2027-02-28, plus one).
    again = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with transaction(runtime.sessions) as s:
        cases.close_case(s, actor(s), made["case"], again)
    assert run(runtime, dt.datetime(2027, 3, 1, 8, 59, tzinfo=UTC)).files == Tally()
    assert run(runtime, dt.datetime(2027, 3, 1, 9, 0, tzinfo=UTC)).deleted == {CLOSED_CASE: Tally(2, 80_000)}


# --------------------------------------------------------------------------- declined files, open cases


def test_a_declined_file_goes_30_days_after_the_decision_and_an_accepted_exhibit_stays(runtime):
    made = seed(
        runtime,
        "CR-2026-000103",
        [
            {
                "name": "kept.mp4",
                "caption": "kept",
                "content": content("k"),
                "triage": "accepted",
                "at": DECIDED,
                "ref": "JO/1",
            },
            {
                "name": "gone.mp4",
                "caption": "gone",
                "content": content("g", 5_000),
                "triage": "declined",
                "at": DECIDED,
            },
            {"name": "wait.mp4", "caption": "wait", "content": content("w")},
        ],
    )
    assert run(runtime, DECLINED_DUE - dt.timedelta(seconds=1)).files == Tally()
    assert state_of(runtime, made["files"][1]).state == "stored"
    done = run(runtime, DECLINED_DUE)
    assert done.deleted == {DECLINED: Tally(1, 5_000)} and done.freed == Tally(1, 5_000)
    assert done.statements_erased == 0  # the accepted file is still kept: so is the statement about it
    assert state_of(runtime, made["files"][1]).state == "deleted"
    assert json.loads(actions(runtime, "evidence_deleted")[0].detail)["due_at"] == "2026-10-31T12:00:00+00:00"
    # Years later, the case still open: the exhibit and the file awaiting a decision stay.
    assert run(runtime, dt.datetime(2031, 1, 1, tzinfo=UTC)).files == Tally()
    assert [state_of(runtime, i).state for i in made["files"]] == ["stored", "deleted", "stored"]
    assert on_disk(runtime, made["shas"][0]) and on_disk(runtime, made["shas"][2])
    with runtime.sessions() as s:
        assert s.get(FootageResponse, made["response"]).signed_name == SIGNED


def test_a_file_declined_in_a_closed_case_goes_by_whichever_rule_comes_first(runtime):
    # Declined 2026-08-20 10:00 (due 2026-09-19 10:00) in a case closed 2026-09-01 10:00 (due 2026-11-30).
    made = seed(
        runtime,
        "CR-2026-000104",
        [
            {"name": "x.mp4", "content": content("x"), "triage": "declined", "at": CLOSED - dt.timedelta(days=12)},
        ],
        closed_at=CLOSED,
    )
    assert run(runtime, dt.datetime(2026, 9, 19, 9, 59, tzinfo=UTC)).files == Tally()
    assert run(runtime, dt.datetime(2026, 9, 19, 10, 0, tzinfo=UTC)).deleted == {DECLINED: Tally(1, 40_000)}
    assert state_of(runtime, made["files"][0]).state == "deleted"


# --------------------------------------------------------------------------- shared content


def test_shared_content_stays_for_the_file_that_still_needs_it(runtime):
    same = content("shared")
    first = seed(runtime, "CR-2026-000105", [{"name": "one.mp4", "content": same, "triage": "declined", "at": DECIDED}])
    second = seed(runtime, "CR-2026-000106", [{"name": "two.mp4", "content": same}])
    sha = first["shas"][0]
    assert second["shas"][0] == sha
    with runtime.sessions() as s:
        forecast = plan(s, DECLINED_DUE, P)
    assert forecast.by_rule == {DECLINED: Tally(1, 40_000)} and forecast.freed == Tally() and forecast.kept_shared == 1
    done = run(runtime, DECLINED_DUE)
    assert done.deleted == {DECLINED: Tally(1, 40_000)} and done.freed == Tally() and done.kept_shared == 1
    assert state_of(runtime, first["files"][0]).state == "deleted"
    assert on_disk(runtime, sha) and store_of(runtime).path_for(sha).read_bytes() == same
    # Now the second goes too (its case closed 2026-09-01): the bytes leave with it.
    with transaction(runtime.sessions) as s:
        s.execute(sa.update(CaseFile).where(CaseFile.public_id == second["case"]).values(closed_at=CLOSED))
    done = run(runtime, CLOSED_DUE)
    assert done.deleted == {CLOSED_CASE: Tally(1, 40_000)} and done.freed == Tally(1, 40_000)
    assert not on_disk(runtime, sha)


def test_bytes_of_an_upload_still_arriving_with_the_same_hash_are_kept(runtime):
    # An upload hashed and renamed into the store but not yet marked stored ('uploading' with its
    # SHA-256 set) holds the bytes as much as a stored file does.
    same = content("arriving")
    gone = seed(runtime, "CR-2026-000107", [{"name": "a.mp4", "content": same, "triage": "declined", "at": DECIDED}])
    seed(runtime, "CR-2026-000108", [{"name": "b.mp4", "content": same, "state": "uploading"}])
    done = run(runtime, DECLINED_DUE)
    assert done.deleted == {DECLINED: Tally(1, 40_000)} and done.freed == Tally() and done.kept_shared == 1
    assert on_disk(runtime, gone["shas"][0])


# --------------------------------------------------------------------------- statements


def test_an_answer_without_files_loses_its_note_once_the_closed_case_period_has_passed(runtime):
    nothing = seed(runtime, "CR-2026-000109", [], closed_at=CLOSED, answer="nothing")
    removed = seed(
        runtime,
        "CR-2026-000109",
        [
            {
                "name": "taken back by Philippa.mp4",
                "caption": "oops wrong camera",
                "content": content("rm"),
                "state": "removed",
            }
        ],
        closed_at=CLOSED,
        answer="declined",
    )
    assert run(runtime, CLOSED_DUE - ONE_MIN).statements_erased == 0
    with runtime.sessions() as s:
        assert s.get(FootageResponse, nothing["response"]).owner_note == NOTE
    done = run(runtime, CLOSED_DUE)
    assert done.files == Tally() and done.statements_erased == 2
    with runtime.sessions() as s:
        assert s.get(FootageResponse, nothing["response"]).owner_note is None
        f = s.get(EvidenceFile, removed["files"][0])
        assert (f.state, f.caption, f.original_name, f.media) == ("removed", None, DELETED_NAME, None)
    rules = [json.loads(e.detail) for e in actions(runtime, "evidence_statement_erased")]
    assert [(r["rule"], r["other_files_blanked"]) for r in rules] == [("closed_case", 0), ("closed_case", 1)]
    assert run(runtime, CLOSED_DUE + dt.timedelta(days=5)).statements_erased == 0


def test_an_open_case_keeps_an_answer_without_files(runtime):
    seed(runtime, "CR-2026-000110", [], answer="nothing")
    assert run(runtime, dt.datetime(2030, 1, 1, tzinfo=UTC)).statements_erased == 0


# --------------------------------------------------------------------------- dry run, crash


def test_a_dry_run_changes_nothing_and_says_what_a_run_would_do(runtime):
    seed(runtime, "CR-2026-000111", [{"name": "a.mp4", "content": content("d1"), "triage": "declined", "at": DECIDED}])
    seed(runtime, "CR-2026-000112", [{"name": "b.mp4", "content": content("d2", 1_000)}], closed_at=CLOSED)
    before = snapshot(runtime)
    dry = run(runtime, CLOSED_DUE, dry_run=True)
    assert dry.dry_run and dry.deleted == {DECLINED: Tally(1, 40_000), CLOSED_CASE: Tally(1, 1_000)}
    assert dry.freed == Tally(2, 41_000) and dry.statements_erased == 2
    assert dry.plan.first_due == {DECLINED: DECLINED_DUE, CLOSED_CASE: CLOSED_DUE}
    assert snapshot(runtime) == before


def test_the_plan_lists_coming_deletions_by_uk_day(runtime):
    seed(
        runtime, "CR-2026-000113", [{"name": "a.mp4", "content": content("c1"), "triage": "declined", "at": DECIDED}]
    )  # due 2026-10-31 12:00 UTC = 12:00 GMT
    seed(
        runtime,
        "CR-2026-000114",
        [{"name": "b.mp4", "content": content("c2", 2_000)}],
        closed_at=dt.datetime(2026, 8, 2, 23, 30, tzinfo=UTC),
    )  # due 2026-10-31 23:30 UTC = 23:30 GMT
    seed(
        runtime,
        "CR-2026-000115",
        [{"name": "c.mp4", "content": content("c3", 3_000)}],
        closed_at=dt.datetime(2026, 7, 15, 22, 30, tzinfo=UTC),
    )  # due 2026-10-13 22:30 UTC = 23:30 BST
    with runtime.sessions() as s:
        ahead = plan(s, dt.datetime(2026, 10, 10, tzinfo=UTC), P)
    assert ahead.files == Tally()
    assert [(c.day, c.rule, c.files, c.bytes) for c in ahead.coming] == [
        (dt.date(2026, 10, 13), CLOSED_CASE, 1, 3_000),
        (dt.date(2026, 10, 31), CLOSED_CASE, 1, 2_000),
        (dt.date(2026, 10, 31), DECLINED, 1, 40_000),
    ]


def test_a_run_stopped_after_its_commit_is_finished_by_the_next(runtime, monkeypatch):
    made = seed(
        runtime, "CR-2026-000116", [{"name": "a.mp4", "content": content("crash"), "triage": "declined", "at": DECIDED}]
    )

    def killed(self, sha):
        raise KeyboardInterrupt("the process was stopped here")

    monkeypatch.setattr(Store, "delete_content", killed)
    with pytest.raises(KeyboardInterrupt):
        run(runtime, DECLINED_DUE)
    monkeypatch.undo()
    f = state_of(runtime, made["files"][0])
    assert f.state == "deleted" and f.original_name == DELETED_NAME  # the row first ...
    assert on_disk(runtime, made["shas"][0])  # ... the bytes were still there when it stopped
    assert len(actions(runtime, "evidence_deleted")) == 1
    resumed = run(runtime, DECLINED_DUE + dt.timedelta(days=1))
    assert resumed.finished == Tally(1, 40_000) and resumed.files == Tally()
    assert not on_disk(runtime, made["shas"][0])
    assert len(actions(runtime, "evidence_deleted")) == 1  # logged once


# --------------------------------------------------------------------------- nothing left behind


def test_nothing_of_a_deleted_file_or_the_statement_is_left_anywhere(client, runtime, tmp_path):
    """The whole loop: an owner uploads through tus with a caption, answers with a statement, the
    officer declines the file; 30 days later nothing of the caption, name, signature, note or bytes
    is in any column, the audit log, the SQLite file (and its log) or the evidence folder."""
    name, caption = "Zanzibar-hollyhock-porch.jpg", "Quixotic marmalade doorstep"
    now = utcnow()
    owner = asked_owner(runtime)
    token, response_id = owner["token"], owner["id"]
    with transaction(runtime.sessions) as s:
        ensure_case_file(s, CASE, officer(s).id)
    picture = make_jpeg(tmp_path / "p.jpg").read_bytes()
    _, last = send(client, token, picture, name, caption=caption)
    assert last.status_code == 204
    answered = client.post(
        f"/api/v1/responses/{token}/answer",
        json={"answer": "footage", **STATEMENT, "signed_name": SIGNED, "note": NOTE},
    )
    assert answered.status_code == 200, answered.get_json()
    with transaction(runtime.sessions) as s:
        f = s.scalar(sa.select(EvidenceFile).where(EvidenceFile.response_id == response_id))
        assert (f.original_name, f.caption, f.state) == (name, caption, "stored")
        file_public, sha = f.public_id, f.sha256
        triage.decline(s, actor(s), file_public, reason="not_relevant", now=now)
    with runtime.sessions() as s:
        assert s.get(FootageResponse, response_id).signed_name == SIGNED
    secrets = [name, caption, SIGNED, NOTE, "Zanzibar", "Quixotic", "Quarrendon", "hollyhocks"]
    database = Path(str(runtime.engine.url.database))
    raw_before = b"".join(p.read_bytes() for p in (database, Path(f"{database}-wal")) if p.exists())
    assert caption.encode() in raw_before or name.encode() in raw_before  # the search below can find them

    done = run(runtime, now + dt.timedelta(days=30))
    assert done.deleted == {DECLINED: Tally(1, len(picture))} and done.statements_erased == 1
    assert done.compacted is True
    assert not on_disk(runtime, sha)

    with runtime.sessions() as s:
        for table in (EvidenceFile.__table__, FootageResponse.__table__, AuditEvent.__table__):
            for row in s.execute(sa.select(table)).all():
                text = json.dumps([str(v) for v in row], ensure_ascii=False)
                for secret in secrets:
                    assert secret not in text, (table.name, secret)
        kept = s.scalar(sa.select(EvidenceFile).where(EvidenceFile.public_id == file_public))
        assert (kept.state, kept.sha256, kept.declared_size, kept.triage) == ("deleted", sha, len(picture), "declined")
    raw = b"".join(
        p.read_bytes() for p in database.parent.iterdir() if p.name.startswith(database.name) and p.is_file()
    )
    for secret in secrets:
        assert secret.encode() not in raw, secret
    middle = picture[len(picture) // 2 : len(picture) // 2 + 64]
    assert middle not in raw
    for path in Path(runtime.settings.evidence_dir).rglob("*"):
        if path.is_file():
            assert middle not in path.read_bytes(), path


# --------------------------------------------------------------------------- the nightly command


def test_the_retention_command_prints_the_footage_lines(runtime, monkeypatch, capsys):
    from dashboard.cli import main

    for name in ("SMTP_URL", "EVIDENCE_DECLINED_DAYS", "EVIDENCE_CLOSED_CASE_DAYS", "AUDIT_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", str(runtime.engine.url.render_as_string(hide_password=False)))
    monkeypatch.setenv("REFERENCE_DATA_DIR", str(runtime.settings.reference_data_dir))
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    monkeypatch.setenv("EVIDENCE_DIR", str(runtime.settings.evidence_dir))
    mb = 1 << 20
    made = seed(
        runtime,
        "CR-2026-000118",
        [
            {"name": "a.mp4", "content": content("cli-a", 3 * mb), "triage": "accepted", "at": CLOSED, "ref": "JO/1"},
            {"name": "b.mp4", "content": content("cli-b", 3 * mb // 2)},
        ],
        closed_at=CLOSED,
    )

    def cli(*args):
        code = main(["retention", "run", *args])
        out, err = capsys.readouterr()
        return code, out.splitlines(), err

    code, out, err = cli("--dry-run", "--as-of", "2026-11-30")
    assert code == 0 and err == ""
    assert (
        "Footage: declined files are deleted 30 days after the decision, files of closed cases 90 days after "
        "closing; accepted exhibits are kept while their case is open."
    ) in out
    assert "  files of closed cases would be deleted: 2 files (4.5 MB)" in out
    assert "  declined files would be deleted: 0 files (0 MB)" in out
    assert "  disk space that would be freed: 4.5 MB (2 stored contents)" in out
    assert "  owners' statements would be erased: 1" in out
    assert all(state_of(runtime, i).state == "stored" for i in made["files"])

    code, out, _ = cli("--dry-run", "--as-of", "2026-11-15")  # 15 days before: listed as coming
    assert "  files of closed cases would be deleted: 0 files (0 MB)" in out
    assert "  due in the 30 days after: 2 files (4.5 MB), the first on 2026-11-30" in out

    code, out, _ = cli("--as-of", "2026-11-29")
    assert code == 0 and "  files of closed cases deleted: 0 files (0 MB)" in out
    code, out, _ = cli("--as-of", "2026-11-30")  # acts at the end of that UK day, after 10:00 UTC
    assert code == 0
    assert "  files of closed cases deleted: 2 files (4.5 MB)" in out
    assert "  disk space freed: 4.5 MB (2 stored contents)" in out
    assert "  owners' statements erased: 1" in out
    assert [state_of(runtime, i).state for i in made["files"]] == ["deleted", "deleted"]
    code, out, _ = cli("--as-of", "2026-11-30")
    assert "  files of closed cases deleted: 0 files (0 MB)" in out and "  owners' statements erased: 0" in out
