"""The demo's plan of owners' answers (``dashboard.demo.evidence.plan_answers``) over made-up request
tables of many shapes: whatever the draws, the times an owner leaves behind are in a possible order,
the recordings lie inside the incident window on the camera's clock, and only the demo officer's
most recent footage-provided requests of owners still registered are answered. No files are made."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dashboard.demo import evidence

OFFICER, OTHER = 1, 2
END = np.datetime64("2026-11-29T00:00:00", "us")


def _requests(seed: int, n_cases: int = 14) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Requests as ``footage.build_requests`` returns them (one camera per site per case)."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_cases):
        sent = END - np.timedelta64(int(rng.integers(2, 90)), "D") + np.timedelta64(int(rng.integers(0, 86_400)), "s")
        incident_to = (sent - np.timedelta64(int(rng.integers(60, 3000)), "m")).astype("datetime64[m]")
        incident_from = incident_to - np.timedelta64(int(rng.integers(2, 36)) * 5, "m")
        officer = OFFICER if rng.random() < 0.7 else OTHER
        for site in rng.choice(60, size=int(rng.integers(1, 5)), replace=False):
            status = rng.choice(["footage_provided", "no_relevant_footage", "sent"], p=[0.6, 0.3, 0.1])
            delay = np.timedelta64(int(rng.integers(5 * 60, 10 * 86_400)), "s")
            rows.append(
                {
                    "case_ref": f"CR-2026-{100000 + c}",
                    "camera_index": int(site),
                    "requested_by_id": officer,
                    "incident_from": incident_from.astype("datetime64[us]"),
                    "incident_to": incident_to.astype("datetime64[us]"),
                    "status": status,
                    "sent_at": sent,
                    "status_changed_at": min(sent + delay, END - np.timedelta64(1, "s")) if status != "sent" else sent,
                    "footage_useful": True if status == "footage_provided" else None,
                }
            )
    req = pd.DataFrame(rows).sort_values("sent_at", kind="stable").reset_index(drop=True)
    req["footage_useful"] = pd.array(req["footage_useful"], dtype="boolean")
    camera_site = np.arange(60)  # camera i is at site i
    withdrawn = rng.random(60) < 0.1
    return req, camera_site, withdrawn


def _plan(seed: int):
    req, camera_site, withdrawn = _requests(seed)
    answers = evidence.plan_answers(
        np.random.default_rng(seed + 1000),
        req,
        officer_id=OFFICER,
        camera_site=camera_site,
        camera_kind=["doorbell", "fixed", "dome"] * 20,
        withdrawn=withdrawn,
        names=[f"Owner {i}" for i in range(60)],
        end=END,
        link_days=7,
    )
    evidence.assign_exhibits(answers, "officer.demo", "{initials}/{n}")
    return req, camera_site, withdrawn, answers


def _aware(value) -> dt.datetime:
    return pd.Timestamp(value).tz_localize("UTC").to_pydatetime()


@pytest.mark.parametrize("seed", range(12))
def test_the_owners_times_come_in_a_possible_order(seed):
    req, _, _, answers = _plan(seed)
    end = _aware(END)
    for a in answers:
        mine = req.loc[a.request_indexes]
        sent = _aware(mine["sent_at"].max())
        assert sent < a.opened_at <= a.copy_made_at <= min(f.created_at for f in a.files)
        assert a.copy_made_at.second == 0 and a.copy_made_at >= _aware(mine["incident_to"].max())
        for f in a.files:
            assert f.created_at < f.completed_at < a.answered_at
        assert [f.completed_at for f in a.files] == sorted(f.completed_at for f in a.files)
        assert a.answered_at == _aware(mine["status_changed_at"].min()) < a.link_expires_at
        assert a.answered_at < end
        for f in a.files:
            if f.triage is not None:
                assert a.answered_at < f.triaged_at < end
                assert 8 <= f.triaged_at.astimezone(evidence.media.UK).hour < 18 or f.triaged_at == end


@pytest.mark.parametrize("seed", range(12))
def test_recordings_lie_in_the_incident_window_on_the_cameras_clock(seed):
    req, _, _, answers = _plan(seed)
    for a in answers:
        mine = req.loc[a.request_indexes]
        offset = dt.timedelta(seconds=a.clock_offset_s)
        start, stop = _aware(mine["incident_from"].min()) + offset, _aware(mine["incident_to"].max()) + offset
        for f in a.files:
            assert start <= f.recorded_at and f.recorded_at + dt.timedelta(seconds=f.seconds) <= stop


@pytest.mark.parametrize("seed", range(12))
def test_only_the_officers_latest_answered_requests_of_registered_owners(seed):
    req, camera_site, withdrawn, answers = _plan(seed)
    picked = [i for a in answers for i in a.request_indexes]
    assert len(picked) == len(set(picked)) and len(answers) <= evidence.MAX_RESPONSES
    rows = req.loc[picked]
    assert (rows["requested_by_id"] == OFFICER).all() and (rows["status"] == "footage_provided").all()
    assert not withdrawn[camera_site[rows["camera_index"]]].any()
    assert ((rows["status_changed_at"] - rows["sent_at"]) >= pd.Timedelta(minutes=30)).all()
    # no case of the officer with an answerable request is more recent than a case left out
    ok = (
        (req["requested_by_id"] == OFFICER)
        & (req["status"] == "footage_provided")
        & ~withdrawn[camera_site[req["camera_index"]]]
        & (req["status_changed_at"] - req["sent_at"] >= pd.Timedelta(minutes=30))
        & (req["status_changed_at"] - req["sent_at"] < pd.Timedelta(days=7) - pd.Timedelta(hours=1))
    )
    last = req.groupby("case_ref")["sent_at"].max()
    chosen = set(rows["case_ref"])
    if chosen:
        oldest_chosen = min(last[c] for c in chosen)
        assert all(c in chosen for c in set(req.loc[ok, "case_ref"]) if last[c] > oldest_chosen)
    # each owner answers once per case
    assert len({(a.case_ref, a.registrant_id) for a in answers}) == len(answers)


@pytest.mark.parametrize("seed", range(12))
def test_at_most_one_file_accepted_and_one_declined_with_the_forces_reference(seed):
    _, _, _, answers = _plan(seed)
    files = [f for a in answers for f in a.files]
    accepted = [f for f in files if f.triage == "accepted"]
    declined = [f for f in files if f.triage == "declined"]
    assert len(accepted) <= 1 and len(declined) <= 1
    assert [f.exhibit_ref for f in accepted] == ["OD/1"] * len(accepted)
    assert all(f.decline_reason == "duplicate" and f.exhibit_ref is None for f in declined)
    assert all(f.exhibit_ref is None for f in files if f.triage is None)


def test_the_same_draws_give_the_same_plan():
    a, b = _plan(3)[3], _plan(3)[3]
    assert a == b and a


def test_answers_are_planned_on_these_tables():
    """The shapes above do give answers (a test that never planned one would prove nothing)."""
    counts = [len(_plan(seed)[3]) for seed in range(12)]
    assert sum(c >= evidence.MIN_RESPONSES for c in counts) >= 6, counts
