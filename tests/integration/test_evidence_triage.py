"""Evidence triage in My cases (issue 17): decisions, exhibit references, the case's team, playing and
downloading through logged links, and every refusal logged: the domain functions, the page's callback
functions called directly as a signed-in officer, the file routes over HTTP, and forged callback bodies
over HTTP as an attacker would send them, against a real app and a real SQLite file.

The case is seeded as the footage loop leaves it (tests/evidence_seed.py): one owner's answer with a
real H.264 MP4 and a real JPEG in the content-addressed store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
import sqlalchemy as sa
from dash import no_update

from dashboard.components import evidence_views as ev
from dashboard.config import load_settings
from dashboard.core.vocab import ROLES
from dashboard.evidence import triage
from dashboard.pages import case_evidence
from dashboard.registry import audit
from dashboard.registry.casework import CaseworkError
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, CaseFile, EvidenceFile
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user
from tests.direct_calls import as_text, signed_in
from tests.evidence_seed import seed_case
from tests.integration.conftest import PASSWORD
from tests.media import make_jpeg, make_video

NOW = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def runtime(tmp_path, reference_dir):
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
            "EVIDENCE_DIR": str(tmp_path / "evidence"),
            "OUTBOX_WORKER": "0",
        }
    )
    rt = prepare(settings)
    with transaction(rt.sessions) as s:
        for role in ROLES:
            create_user(s, f"{role}1", PASSWORD, role)
        create_user(s, "officer2", PASSWORD, "officer")
        create_user(s, "sam.jones", PASSWORD, "officer")
    yield rt
    rt.engine.dispose()


@pytest.fixture
def seeded(runtime, tmp_path):
    video = make_video(tmp_path / "front-door.mp4", seconds=2.0)
    picture = make_jpeg(tmp_path / "still.jpg")
    return seed_case(runtime, [(video, "Front door, man in grey hoodie"), (picture, "Still of the van")])


def actor(rt, username: str) -> audit.Actor:
    with rt.sessions() as s:
        from dashboard.registry.models import User

        u = s.scalar(sa.select(User).where(User.username == username))
        return audit.Actor(u.id, u.username, u.role)


def events(rt, action: str) -> list[AuditEvent]:
    with rt.sessions() as s:
        return list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def file_row(rt, public_id: str) -> EvidenceFile:
    with rt.sessions() as s:
        return s.scalar(sa.select(EvidenceFile).where(EvidenceFile.public_id == public_id))


def client_for(app, username: str):
    client = app.server.test_client()
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert done.status_code == 302
    return client


def pattern_body(
    app,
    output_start: str,
    trigger: dict,
    prop: str = "n_clicks",
    value=1,
    states: dict | None = None,
    selected_case: str | None = None,
) -> dict:
    """A callback body as the browser sends it for a pattern-matching trigger (one matching component)."""
    key = next(k for k in app.callback_map if k.strip(".").startswith(output_start))
    spec = app.callback_map[key]
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in key.strip(".").split("...")]
    states = states or {}

    def item(dep, as_state: bool):
        raw = dep["id"]
        if raw.startswith("{"):
            pattern = json.loads(raw)
            ident = {k: (trigger.get(k) if v == ["ALL"] else v) for k, v in pattern.items()}
            if not as_state and pattern.get("type") != trigger.get("type"):
                return []
            v = value if not as_state else states.get(pattern.get("type"))
            return [{"id": ident, "property": dep["property"], "value": v}]
        if raw == "cases-list":
            return {
                "id": raw,
                "property": dep["property"],
                "value": [{"case_id": selected_case}] if selected_case else None,
            }
        return {"id": raw, "property": dep["property"], "value": states.get(raw)}

    changed = json.dumps(trigger, sort_keys=True, separators=(",", ":")) + "." + prop
    return {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": [item(d, False) for d in spec["inputs"]],
        "state": [item(d, True) for d in spec["state"]],
        "changedPropIds": [changed],
    }


def plain_body(app, output_start: str, values: dict, trigger: str) -> dict:
    key = next(k for k in app.callback_map if k.strip(".").startswith(output_start))
    spec = app.callback_map[key]
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in key.strip(".").split("...")]

    def fill(items):
        out = []
        for d in items:
            if d["id"].startswith("{"):
                out.append([])
            else:
                out.append(
                    {"id": d["id"], "property": d["property"], "value": values.get(f"{d['id']}.{d['property']}")}
                )
        return out

    return {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": fill(spec["inputs"]),
        "state": fill(spec["state"]),
        "changedPropIds": [trigger],
    }


def text_of(response) -> str:
    return json.dumps(response.get_json())


# --------------------------------------------------------------------------- the domain


def test_the_case_officer_sees_each_file_with_its_facts_and_the_corrected_times(runtime, seeded):
    with runtime.sessions() as s:
        evidence = triage.case_evidence(s, actor(runtime, "officer1"), seeded.case_id)
    [sub] = evidence.submissions
    video, picture = sub.files
    assert [f.file_id for f in sub.files] == seeded.file_ids
    assert video.sha256 == seeded.sha256[0] and len(video.sha256) == 64
    assert (video.kind, video.media["container"], video.media["codec"], video.mime) == (
        "video",
        "mp4",
        "h264",
        "video/mp4",
    )
    assert picture.mime == "image/jpeg" and picture.kind == "image"
    # tests/media.py writes creation_time 2026-11-30T21:14:05Z; the camera is 120 s fast (seeded statement),
    # so the real start is 21:12:05 and the 2 s clip ends at 21:12:07.
    assert video.recorded_at == dt.datetime(2026, 11, 30, 21, 14, 5, tzinfo=dt.UTC)
    assert video.real_start == dt.datetime(2026, 11, 30, 21, 12, 5, tzinfo=dt.UTC)
    assert round((video.real_end - video.real_start).total_seconds()) == 2
    # The incident 21:10-21:20 real time reads 21:12-21:22 on a camera 2 minutes fast.
    assert sub.camera_window == (
        dt.datetime(2026, 11, 30, 21, 12, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 30, 21, 22, tzinfo=dt.UTC),
    )
    assert evidence.counts() == {"files": 2, "accepted": 0, "declined": 0, "waiting": 2}


def test_accept_gives_exhibit_references_in_the_force_format_never_reused(runtime, seeded, tmp_path):
    officer = actor(runtime, "officer1")
    fmt = runtime.settings.exhibit_ref_format  # "{initials}/{n}"; officer1 -> initials "OF"
    with transaction(runtime.sessions) as s:
        first = triage.accept(s, officer, seeded.file_ids[0], now=NOW, fmt=fmt)
        assert first.exhibit_ref == "OF/1"
    with transaction(runtime.sessions) as s:
        # Declined after all: the reference stays on record and is not given again.
        triage.decline(s, officer, seeded.file_ids[0], reason="duplicate", now=NOW)
    with transaction(runtime.sessions) as s:
        second = triage.accept(s, officer, seeded.file_ids[1], now=NOW, fmt=fmt)
        assert second.exhibit_ref == "OF/2"
    with transaction(runtime.sessions) as s, pytest.raises(CaseworkError, match="already used"):
        triage.accept(s, officer, seeded.file_ids[0], exhibit_ref="of/2", now=NOW, fmt=fmt)
    with transaction(runtime.sessions) as s:
        again = triage.accept(s, officer, seeded.file_ids[0], exhibit_ref=" pc 123/ab 1 ", now=NOW, fmt=fmt)
        assert again.exhibit_ref == "PC 123/AB 1"
    row = file_row(runtime, seeded.file_ids[0])
    assert (row.triage, row.triaged_by_id is not None, row.decline_reason) == ("accepted", True, None)
    logged = events(runtime, "evidence_accepted")
    assert [json.loads(e.detail)["exhibit_ref"] for e in logged] == ["OF/1", "OF/2", "PC 123/AB 1"]
    assert all(e.case_ref == seeded.case_ref and e.username == "officer1" for e in logged)


def test_decline_needs_a_listed_reason_and_a_note_for_other(runtime, seeded):
    officer = actor(runtime, "officer1")
    for reason, note, message in [
        (None, None, "Choose why"),
        ("made-up", None, "Choose why"),
        ("other", "  ", "Say in the note"),
        ("other", "see rtsp://admin:pw@192.0.2.1/live", "looks like it holds"),
    ]:
        with transaction(runtime.sessions) as s, pytest.raises(CaseworkError, match=message):
            triage.decline(s, officer, seeded.file_ids[0], reason=reason, note=note, now=NOW)
    assert file_row(runtime, seeded.file_ids[0]).triage is None  # nothing changed
    with transaction(runtime.sessions) as s:
        triage.decline(s, officer, seeded.file_ids[0], reason="other", note="Shows next door's garden only", now=NOW)
    row = file_row(runtime, seeded.file_ids[0])
    assert (row.triage, row.decline_reason, row.decline_note) == ("declined", "other", "Shows next door's garden only")


def test_accept_remaining_takes_only_the_undecided_files_in_arrival_order(runtime, seeded):
    officer = actor(runtime, "officer1")
    fmt = runtime.settings.exhibit_ref_format
    with transaction(runtime.sessions) as s:
        triage.decline(s, officer, seeded.file_ids[0], reason="poor_quality", now=NOW)
    with transaction(runtime.sessions) as s:
        done = triage.accept_remaining(s, officer, seeded.case_id, now=NOW, fmt=fmt)
        assert [(f.public_id, f.exhibit_ref) for f in done] == [(seeded.file_ids[1], "OF/1")]
    with transaction(runtime.sessions) as s, pytest.raises(CaseworkError, match="No file"):
        triage.accept_remaining(s, officer, seeded.case_id, now=NOW, fmt=fmt)
    assert file_row(runtime, seeded.file_ids[0]).triage == "declined"


def test_a_closed_case_takes_no_decisions_until_reopened(runtime, seeded):
    from dashboard.evidence import cases

    officer = actor(runtime, "officer1")
    with transaction(runtime.sessions) as s:
        cases.close_case(s, officer, seeded.case_id, NOW)
    with transaction(runtime.sessions) as s, pytest.raises(CaseworkError, match="closed"):
        triage.accept(s, officer, seeded.file_ids[0], now=NOW, fmt="{initials}/{n}")
    with transaction(runtime.sessions) as s:
        cases.reopen_case(s, officer, seeded.case_id, NOW)
    with transaction(runtime.sessions) as s:
        assert triage.accept(s, officer, seeded.file_ids[0], now=NOW, fmt="{initials}/{n}").exhibit_ref == "OF/1"
    assert [e.action for e in events(runtime, "case_closed")] == ["case_closed"]


def test_the_team_sees_the_case_and_nobody_else_does_and_each_refusal_is_logged(runtime, seeded):
    from dashboard.evidence import cases

    officer, other, colleague = actor(runtime, "officer1"), actor(runtime, "officer2"), actor(runtime, "sam.jones")
    refusals_before = len(events(runtime, "evidence_refused"))
    for who in (
        other,
        colleague,
        actor(runtime, "analyst1"),
        actor(runtime, "lead1"),
        actor(runtime, "admin1"),
        actor(runtime, "auditor1"),
    ):
        with transaction(runtime.sessions) as s, pytest.raises(CaseworkError, match="no such case"):
            triage.case_evidence(s, who, seeded.case_id)
        with transaction(runtime.sessions) as s, pytest.raises(CaseworkError, match="no such file"):
            triage.accept(s, who, seeded.file_ids[0], now=NOW, fmt="{initials}/{n}")
    assert len(events(runtime, "evidence_refused")) == refusals_before + 12
    with transaction(runtime.sessions) as s:
        cases.add_member(s, officer, seeded.case_id, "SAM.JONES", NOW)
    with runtime.sessions() as s:
        assert len(triage.case_evidence(s, colleague, seeded.case_id).files) == 2
    # A team member triages but does not run the team or close the case.
    with transaction(runtime.sessions) as s:
        assert triage.accept(s, colleague, seeded.file_ids[0], now=NOW, fmt="{initials}/{n}").exhibit_ref == "SJ/1"
    for act in (
        lambda s: cases.add_member(s, colleague, seeded.case_id, "officer2", NOW),
        lambda s: cases.close_case(s, colleague, seeded.case_id, NOW),
    ):
        with transaction(runtime.sessions) as s, pytest.raises(CaseworkError, match="Only the case's own officer"):
            act(s)
    with transaction(runtime.sessions) as s:
        cases.remove_member(s, officer, seeded.case_id, "sam.jones")
    with transaction(runtime.sessions) as s, pytest.raises(CaseworkError, match="no such case"):
        triage.case_evidence(s, colleague, seeded.case_id)
    # Adding someone who is not an active officer is refused with one answer.
    for name in ("analyst1", "nobody.here"):
        with transaction(runtime.sessions) as s, pytest.raises(CaseworkError, match="no active officer"):
            cases.add_member(s, officer, seeded.case_id, name, NOW)
    assert [json.loads(e.detail)["username"] for e in events(runtime, "case_team_added")] == ["sam.jones"]


def test_another_officer_using_the_same_case_reference_sees_nothing_of_it(runtime, seeded, tmp_path):
    """Case references are easy to guess: the same reference used by another officer is another case file."""
    other_case = seed_case(
        runtime, [(make_jpeg(tmp_path / "b.jpg", 320, 240), None)], officer="officer2", case_ref=seeded.case_ref, n=2
    )
    assert other_case.case_id != seeded.case_id
    with runtime.sessions() as s:
        mine = triage.case_evidence(s, actor(runtime, "officer1"), seeded.case_id)
        theirs = triage.case_evidence(s, actor(runtime, "officer2"), other_case.case_id)
    assert [f.file_id for f in mine.files] == seeded.file_ids
    assert [f.file_id for f in theirs.files] == other_case.file_ids


def test_files_of_an_answer_not_yet_sent_are_not_shown_or_decided(runtime, tmp_path):
    pending = seed_case(runtime, [(make_jpeg(tmp_path / "p.jpg"), None)], answered=False, case_ref="CR-2026-000555")
    with runtime.sessions() as s:
        assert triage.case_evidence(s, actor(runtime, "officer1"), pending.case_id).files == []
    with transaction(runtime.sessions) as s, pytest.raises(CaseworkError, match="no such file"):
        triage.accept(s, actor(runtime, "officer1"), pending.file_ids[0], now=NOW, fmt="{initials}/{n}")


# --------------------------------------------------------------------------- the page's callbacks


def test_the_page_callbacks_triage_and_refuse_forged_bodies(app, runtime, seeded):
    with signed_in(app, "officer1"):
        message, version = case_evidence.decide_on_file(
            3, "JO/7", trigger={"type": ev.ACCEPT, "file": seeded.file_ids[0]}, clicks=1
        )
    assert "accepted as exhibit JO/7" in as_text(message) and version == 4
    assert file_row(runtime, seeded.file_ids[0]).exhibit_ref == "JO/7"
    accept = pattern_body(
        app,
        "cases-ev-msg.children",
        {"type": "cases-ev-accept", "file": seeded.file_ids[0]},
        states={"cases-ev-ref": "JO/8"},
    )

    # Another officer forges the same body, and one for declining: refused, nothing changes, both logged.
    other = client_for(app, "officer2")
    before = len(events(runtime, "evidence_refused"))
    answer = other.post(
        "/_dash-update-component",
        json=pattern_body(
            app,
            "cases-ev-msg.children",
            {"type": "cases-ev-decline", "file": seeded.file_ids[0]},
            states={"cases-ev-why": "poor_quality"},
        ),
    )
    assert answer.status_code == 200 and "no such file" in text_of(answer)
    answer = other.post(
        "/_dash-update-component",
        json=plain_body(
            app,
            "cases-ev-title.children",
            {"cases-list.selectedRows": [{"case_id": seeded.case_id}]},
            "cases-list.selectedRows",
        ),
    )
    assert "no such case" in text_of(answer) and seeded.file_ids[0] not in text_of(answer)
    assert len(events(runtime, "evidence_refused")) == before + 2
    assert file_row(runtime, seeded.file_ids[0]).triage == "accepted"

    # Roles without access are refused by the guard, and that is logged too.
    for role in ("analyst", "lead", "auditor", "admin"):
        c = client_for(app, f"{role}1")
        before = len(events(runtime, "evidence_refused"))
        answer = c.post("/_dash-update-component", json=accept)
        assert answer.status_code == 403
        assert len(events(runtime, "evidence_refused")) == before + 1
    anonymous = app.server.test_client()
    before = len(events(runtime, "evidence_refused"))
    assert anonymous.post("/_dash-update-component", json=accept).status_code == 401
    assert len(events(runtime, "evidence_refused")) == before + 1


def test_the_evidence_card_shows_the_case_to_its_team_and_refuses_anyone_else(app, runtime, seeded):
    with signed_in(app, "officer1"):
        nothing = case_evidence.show_case_evidence(None, 0, 0)
        shown = case_evidence.show_case_evidence([{"case_id": seeded.case_id}], 0, 0)
    # No case selected: the prompt, the controls hidden and disabled, the scopes and button left alone.
    assert nothing["title"] == "Footage sent by owners" and "Select a case above" in as_text(nothing["body"])
    assert (nothing["team"], nothing["hide_controls"], nothing["close_disabled"], nothing["add_disabled"]) == (
        [],
        True,
        True,
        True,
    )
    assert nothing["scopes"] is no_update and nothing["close_label"] is no_update
    # The case officer: the case's title, both files, and every control (seeded: one answer to one request).
    assert shown["title"] == f"Footage sent by owners: case {seeded.case_ref}"
    assert all(f in as_text(shown["body"]) for f in seeded.file_ids)
    assert shown["scopes"] == [
        {"label": "Whole case", "value": "case"},
        {"label": f"Request {seeded.request_id}", "value": seeded.request_id},
    ]
    assert (shown["hide_controls"], shown["close_label"], shown["close_note"]) == (False, "Close case", "")
    assert (shown["close_disabled"], shown["add_disabled"]) == (False, False)
    assert "officer1 (case officer, you)" in as_text(shown["team"])

    # Added to the team, a colleague sees the case but may not run the team or close it.
    with signed_in(app, "officer1"):
        added = case_evidence.manage_case(
            "sam.jones", [{"case_id": seeded.case_id}], 5, trigger=case_evidence.TEAM_ADD, clicks=1
        )
    assert "sam.jones is now on the case's team." in as_text(added["message"])
    assert (added["version"], added["team_user"]) == (6, "")
    with signed_in(app, "sam.jones"):
        theirs = case_evidence.show_case_evidence([{"case_id": seeded.case_id}], 6, 0)
    assert theirs["close_note"] == "Only the case officer can change the team or close the case."
    assert (theirs["hide_controls"], theirs["close_disabled"], theirs["add_disabled"]) == (False, True, True)
    assert "sam.jones (you), added by officer1" in as_text(theirs["team"])

    # Another officer: the same answer as for a case that does not exist, and the refusal logged.
    before = len(events(runtime, "evidence_refused"))
    with signed_in(app, "officer2"):
        refused = case_evidence.show_case_evidence([{"case_id": seeded.case_id}], 0, 0)
    assert "no such case" in as_text(refused["body"]) and seeded.file_ids[0] not in as_text(refused)
    assert (refused["title"], refused["hide_controls"], refused["add_disabled"]) == (
        "Footage sent by owners",
        True,
        True,
    )
    assert len(events(runtime, "evidence_refused")) == before + 1


def test_closing_reopening_and_the_team_from_the_card(app, runtime, seeded):
    case = [{"case_id": seeded.case_id}]
    with signed_in(app, "officer1"):
        idle = case_evidence.manage_case("sam.jones", case, 0, trigger=case_evidence.TEAM_ADD, clicks=0)
        closed = case_evidence.manage_case(None, case, 0, trigger=case_evidence.CLOSE, clicks=1)
        reopened = case_evidence.manage_case(None, case, 1, trigger=case_evidence.CLOSE, clicks=2)
        added = case_evidence.manage_case(" Sam.Jones ", case, 2, trigger=case_evidence.TEAM_ADD, clicks=1)
        removed = case_evidence.manage_case(
            None, case, 3, trigger={"type": case_evidence.TEAM_REMOVE, "user": "sam.jones"}, clicks=1
        )
        wrong = case_evidence.manage_case("analyst1", case, 4, trigger=case_evidence.TEAM_ADD, clicks=1)
    assert all(v is no_update for v in idle.values())  # a button drawn, not clicked: nothing
    # The default EVIDENCE_CLOSED_CASE_DAYS is 90.
    assert "Case closed. Its footage will be deleted 90 days from now unless you reopen it." in as_text(closed)
    assert closed["version"] == 1 and closed["team_user"] is no_update
    assert "Case reopened." in as_text(reopened["message"]) and reopened["version"] == 2
    assert "sam.jones is now on the case's team." in as_text(added["message"]) and added["team_user"] == ""
    assert "sam.jones is no longer on the case's team." in as_text(removed["message"]) and removed["version"] == 4
    # Refused: a message, no new version, the username kept for correcting.
    assert "no active officer" in as_text(wrong["message"])
    assert wrong["version"] is no_update and wrong["team_user"] is no_update
    assert [e.action for e in events(runtime, "case_closed")] == ["case_closed"]
    assert [json.loads(e.detail)["username"] for e in events(runtime, "case_team_added")] == ["sam.jones"]


def test_declining_one_file_then_accepting_the_rest_from_the_card(app, runtime, seeded):
    first, second = seeded.file_ids
    case = [{"case_id": seeded.case_id}]
    with signed_in(app, "officer1"):
        unclicked = case_evidence.decide_on_file(0, trigger={"type": ev.DECLINE, "file": first}, clicks=0)
        no_reason = case_evidence.decide_on_file(0, trigger={"type": ev.DECLINE, "file": first}, clicks=1)
        declined = case_evidence.decide_on_file(
            0, None, "poor_quality", None, trigger={"type": ev.DECLINE, "file": first}, clicks=1
        )
        rest = case_evidence.accept_remaining_files(1, case, 1)
        again = case_evidence.accept_remaining_files(2, case, 2)
    assert unclicked == (no_update, no_update)
    assert "Choose why" in as_text(no_reason[0]) and no_reason[1] is no_update
    assert f"{first} declined." in as_text(declined[0]) and declined[1] == 1
    # officer1's initials are OF and no reference has been given in this force yet: OF/1.
    assert "1 file accepted: exhibits OF/1." in as_text(rest[0]) and rest[1] == 2
    assert "No file" in as_text(again[0]) and again[1] is no_update
    assert (file_row(runtime, first).triage, file_row(runtime, first).decline_reason) == ("declined", "poor_quality")
    assert (file_row(runtime, second).triage, file_row(runtime, second).exhibit_ref) == ("accepted", "OF/1")


def _play_link(
    app,
    username: str,
    file_id: str,
    kind: str = "play",
    reason="reviewing the front door footage for suspects",
    case_id: str | None = None,
) -> dict:
    """The play or download callback's answer for ``username`` clicking the file's button."""
    with signed_in(app, username):
        return case_evidence.play_or_download_file(
            reason,
            [{"case_id": case_id}] if case_id else None,
            trigger={"type": ev.PLAY if kind == "play" else ev.DOWNLOAD, "file": file_id},
            clicks=1,
        )


def test_playing_and_downloading_are_logged_once_with_the_reason_and_served_with_ranges(app, runtime, seeded, tmp_path):
    me = client_for(app, "officer1")
    # No reason, or one that says nothing: refused with a message, nothing logged as viewed.
    for reason in (None, "", "asdf qwer"):
        answer = _play_link(app, "officer1", seeded.file_ids[0], reason=reason, case_id=seeded.case_id)
        assert "reason" in as_text(answer["message"]).lower() and "/cases/evidence/play/" not in as_text(answer)
    assert events(runtime, "evidence_viewed") == []

    answer = _play_link(app, "officer1", seeded.file_ids[0], case_id=seeded.case_id)
    src = as_text(answer["player"]).split('"src": "')[1].split('"')[0]
    assert src.startswith("/cases/evidence/play/")
    [viewed] = events(runtime, "evidence_viewed")
    assert (viewed.username, viewed.case_ref, viewed.reason) == (
        "officer1",
        seeded.case_ref,
        "reviewing the front door footage for suspects",
    )
    whole = me.get(src)
    assert whole.status_code == 200 and whole.mimetype == "video/mp4"
    assert hashlib.sha256(whole.get_data()).hexdigest() == seeded.sha256[0]
    assert "no-store" in whole.headers["Cache-Control"]
    part = me.get(src, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.get_data()) == 100
    assert len(events(runtime, "evidence_viewed")) == 1  # the player's many requests are one viewing

    # The same link is no one else's: another officer, an analyst, anonymous: refused and logged.
    before = len(events(runtime, "evidence_refused"))
    assert client_for(app, "officer2").get(src).status_code == 403
    assert client_for(app, "analyst1").get(src).status_code == 403
    assert app.server.test_client().get(src).status_code == 401
    assert len(events(runtime, "evidence_refused")) == before + 3
    # A tampered or made-up link is refused.
    assert me.get(src[:-3] + "AAA").status_code == 403
    assert me.get("/cases/evidence/play/not-a-token").status_code == 403
    assert me.get("/cases/evidence/other/x").status_code == 404

    answer = _play_link(app, "officer1", seeded.file_ids[1], kind="download", case_id=seeded.case_id)
    url = answer["link"]["url"]
    got = me.get(url)
    assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
    assert hashlib.sha256(got.get_data()).hexdigest() == seeded.sha256[1]
    assert len(events(runtime, "evidence_downloaded")) == 1


def test_a_link_stops_working_when_its_officer_leaves_the_team_or_it_expires(app, runtime, seeded):
    from dashboard.evidence import cases, viewing

    officer = actor(runtime, "officer1")
    with transaction(runtime.sessions) as s:
        cases.add_member(s, officer, seeded.case_id, "sam.jones", NOW)
    colleague = client_for(app, "sam.jones")
    answer = _play_link(app, "sam.jones", seeded.file_ids[0], case_id=seeded.case_id)
    src = as_text(answer["player"]).split('"src": "')[1].split('"')[0]
    assert colleague.get(src).status_code == 200
    with transaction(runtime.sessions) as s:
        cases.remove_member(s, officer, seeded.case_id, "sam.jones")
    assert colleague.get(src).status_code == 403
    # Expiry: a link older than EVIDENCE_LINK_MINUTES is refused (checked with a zero-minute allowance).
    token = src.rsplit("/", 1)[1]
    with transaction(runtime.sessions) as s, pytest.raises(CaseworkError):
        import time

        time.sleep(1.1)
        viewing.redeem(s, officer, token, "play", runtime.settings.secret_key, 0)


def test_my_cases_lists_shared_cases_with_their_officer(app, runtime, seeded):
    from dashboard.evidence import cases

    with transaction(runtime.sessions) as s:
        cases.add_member(s, actor(runtime, "officer1"), seeded.case_id, "sam.jones", NOW)
    colleague = client_for(app, "sam.jones")
    page = colleague.post(
        "/_dash-update-component",
        json={
            "output": "shell-content.children",
            "outputs": {"id": "shell-content", "property": "children"},
            "inputs": [{"id": "shell-url", "property": "pathname", "value": "/cases"}],
            "changedPropIds": ["shell-url.pathname"],
            "state": [],
        },
    )
    text = text_of(page)
    assert seeded.case_id in text and '"officer": "officer1"' in text
    # The case officer's own list says "You" and counts the files awaiting a decision.
    mine = client_for(app, "officer1").post(
        "/_dash-update-component",
        json={
            "output": "shell-content.children",
            "outputs": {"id": "shell-content", "property": "children"},
            "inputs": [{"id": "shell-url", "property": "pathname", "value": "/cases"}],
            "changedPropIds": ["shell-url.pathname"],
            "state": [],
        },
    )
    assert '"officer": "You"' in text_of(mine) and '"to_triage": 2' in text_of(mine)
    with runtime.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(CaseFile)) == 1


def _export_link(app, username: str, case_id: str, reason="handing the front door footage to the evidence team"):
    """The export callback's answer (link, message) for ``username`` exporting the whole case."""
    with signed_in(app, username):
        return case_evidence.export_evidence(1, "case", reason, [{"case_id": case_id}])


def test_the_export_is_logged_once_streams_for_its_officer_only_and_its_links_keep_to_their_kind(app, runtime, seeded):
    import io
    import zipfile

    officer = actor(runtime, "officer1")
    me = client_for(app, "officer1")
    # Nothing accepted yet: refused with a message, nothing logged as exported.
    assert "nothing to hand on" in as_text(_export_link(app, "officer1", seeded.case_id))
    with transaction(runtime.sessions) as s:
        triage.accept(s, officer, seeded.file_ids[0], now=NOW, fmt="{initials}/{n}")
    # Another officer (forging the case id), and one without a reason: refused.
    other = client_for(app, "officer2")
    assert "no such case" in as_text(_export_link(app, "officer2", seeded.case_id))
    assert "reason" in as_text(_export_link(app, "officer1", seeded.case_id, reason="")).lower()
    assert events(runtime, "evidence_exported") == []

    link, _message = _export_link(app, "officer1", seeded.case_id)
    url = link["url"]
    assert url.startswith("/cases/evidence/export/")
    [exported] = events(runtime, "evidence_exported")
    assert exported.reason == "handing the front door footage to the evidence team"
    got = me.get(url)
    assert got.status_code == 200 and got.mimetype == "application/zip"
    assert int(got.headers["Content-Length"]) == len(got.get_data())
    with zipfile.ZipFile(io.BytesIO(got.get_data())) as z:
        names = z.namelist()
        [member] = [n for n in names if n.startswith("files/")]
        assert hashlib.sha256(z.read(member)).hexdigest() == seeded.sha256[0]
        assert {"manifest.json", "manifest.csv", "continuity-statement.html"} <= set(names)
        text = " ".join(z.read(n).decode("utf-8", "replace") for n in names if not n.startswith("files/"))
    for contact in ("owner1@example.org", "07700 900123", "1 Example Street", "ST16 2AA"):
        assert contact not in text  # the owner's contact details never leave with the evidence
    # The export link is nobody else's, and a play or download link is not an export link (nor the reverse).
    before = len(events(runtime, "evidence_refused"))
    assert other.get(url).status_code == 403
    assert app.server.test_client().get(url).status_code == 401
    token = url.rsplit("/", 1)[1]
    assert me.get(f"/cases/evidence/play/{token}").status_code == 403
    assert me.get(f"/cases/evidence/download/{token}").status_code == 403
    play = _play_link(app, "officer1", seeded.file_ids[0], case_id=seeded.case_id)
    play_token = as_text(play["player"]).split('"src": "')[1].split('"')[0].rsplit("/", 1)[1]
    assert me.get(f"/cases/evidence/export/{play_token}").status_code == 403
    assert me.get(f"/cases/evidence/download/{play_token}").status_code == 403
    assert len(events(runtime, "evidence_refused")) == before + 6
    assert len(events(runtime, "evidence_exported")) == 1  # following the link is not another export
