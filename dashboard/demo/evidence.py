"""The demo's case files, and owners' answers with real footage for the demo officer's latest cases.

Case files: the demo writes its footage requests in bulk (``writer.insert_columns``), past
``casework.create_requests`` and its ``ensure_case_file``, so every (case reference, officer) with
requests gets its ``case_file`` row here: created with the case's first request, open, with a
random ``CSE-`` id drawn from the demo's generator (the same seed, the same ids).

Owners' answers (only when the demo is given an evidence folder): for ``officer.demo``'s most
recent cases in which owners provided footage (at least ``MIN_CASES`` cases and ``MIN_RESPONSES``
answers when the registry has them, at most ``MAX_RESPONSES``), each owner answers through their
link as the response page records it: the link opened, one to three files uploaded, then the
answer 'footage' with the statement a court asks for (how far the camera's clock is from real
time, that they made the copy themselves and when, their name as signature) and a caption per
file. The files are real (``demo.media``: MP4/H.264 clips, a JPEG still, a DVR export ZIP holding a
``.dav`` recording that only downloads), recorded inside the incident window as the camera's clock
shows it, streamed into the real evidence store (content-addressed by SHA-256) and probed with
``footage.probe``, so ``media`` is what the app itself found. The request's 'footage provided'
event becomes the owner's, as ``responses.submit`` writes it. The officer has already triaged
two files: one accepted as an exhibit (the force's format: 'OD/1' for officer.demo), one declined
with a reason; the rest await a decision.

The audit rows of all this (``response_opened``, ``footage_uploaded``, ``response_answered``,
``evidence_viewed``, ``evidence_accepted``, ``evidence_declined``) are returned for the demo's
audit history, with the details the app writes. Everything is deterministic for a given generator.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dashboard.core.digests import token_digest
from dashboard.demo import media, people
from dashboard.footage import probe
from dashboard.footage.storage import CHUNK_BYTES, Store
from dashboard.registry.public_ids import CASE_FILE_PREFIX, EVIDENCE_PREFIX, LENGTH, RESPONSE_PREFIX

UTC = dt.UTC
DEMO_OFFICER = "officer.demo"
MIN_CASES, MIN_RESPONSES, MAX_RESPONSES = 3, 4, 6
MIN_ANSWER_MINUTES = 30  # time to read the request, copy the footage and upload it
OWNER_ANSWERED = "Answered by the owner"  # the event note responses.submit writes
MAX_UNPACKED_BYTES = 1 << 30
CAMERA_WORDS = {
    "doorbell": "Doorbell camera",
    "fixed": "Front camera",
    "dome": "Dome camera",
    "ptz": "Pan-tilt camera",
    "other": "Camera",
}


@dataclass(frozen=True)
class FileScript:
    kind: str  # 'mp4', 'jpeg' or 'dvr_zip'
    seconds: float
    caption: str  # '{camera}' is the camera's words


@dataclass(frozen=True)
class AnswerScript:
    clock_offset_s: int  # camera minus real time (positive: fast)
    note: str | None
    files: tuple[FileScript, ...]


# The answers, in the order the owners sent them. The first file of the first answer is the one
# accepted; the still of the second is the one declined (a copy of a picture in the clip beside it).
SCRIPTS = (
    AnswerScript(
        120,
        "The camera's clock is about two minutes fast: I checked it against my phone.",
        (
            FileScript("mp4", 6, "{camera}: a man in a dark coat walks past the front gate towards the main road"),
            FileScript("mp4", 4, "{camera}: the same man comes back the other way shortly afterwards"),
        ),
    ),
    AnswerScript(
        -45,
        None,
        (
            FileScript("mp4", 5, "{camera}: someone crosses the road and tries the door handles of parked cars"),
            FileScript("jpeg", 0, "Snapshot saved from the camera's app of the person by the cars"),
        ),
    ),
    AnswerScript(
        3600,
        "The recorder still shows summer time, so its clock is an hour ahead. The export is in the "
        "recorder's own format: I could not play it on my computer.",
        (FileScript("dvr_zip", 5, "Export from the recorder, channel 2 (driveway), as it came off the USB stick"),),
    ),
    AnswerScript(
        0,
        "I checked the clock against the radio when I made the copy: it is right.",
        (FileScript("mp4", 3, "{camera}: a car slows down outside the house and drives off"),),
    ),
    AnswerScript(
        95,
        None,
        (
            FileScript("mp4", 4, "{camera}: two people walk past on the far pavement"),
            FileScript("mp4", 3, "{camera}: the street a few minutes later, nobody about"),
        ),
    ),
    AnswerScript(-20, None, (FileScript("mp4", 3, "{camera}: a cyclist rides past on the pavement"),)),
)
ACCEPT = (0, 0)  # (answer, file) accepted as the case's first exhibit
DECLINE = (1, 1, "duplicate", "A still from the clip sent with it; the clip is the better copy.")
VIEW_REASON = "Reviewing the owner's footage for the suspect's route before deciding on exhibits"


@dataclass
class PlannedFile:
    id: int
    public_id: str
    upload_key: str
    kind: str
    seconds: float
    seed: int
    view: int
    recorded_at: dt.datetime  # aware UTC, the camera's clock
    name: str
    caption: str
    created_at: dt.datetime
    completed_at: dt.datetime
    # filled in once stored
    sha256: str | None = None
    size: int | None = None
    media: dict | None = None
    # the officer's decision, if made
    triage: str | None = None
    triaged_at: dt.datetime | None = None
    exhibit_ref: str | None = None
    decline_reason: str | None = None
    decline_note: str | None = None


@dataclass
class PlannedAnswer:
    id: int
    public_id: str
    case_ref: str
    registrant_id: int
    request_indexes: list[int]  # positions in the requests frame
    camera_ids: list[int]
    created_at: dt.datetime
    opened_at: dt.datetime
    answered_at: dt.datetime
    link_expires_at: dt.datetime
    token_hash: str
    clock_offset_s: int
    copy_made_at: dt.datetime
    signed_name: str
    owner_note: str | None
    files: list[PlannedFile] = field(default_factory=list)


@dataclass(frozen=True)
class CaseFiles:
    """``case_file`` columns (ids 1..n) and each (case reference, officer id)'s public id."""

    columns: dict
    public_id: dict[tuple[str, int], str]


# --------------------------------------------------------------------------- case files


def case_files(rng: np.random.Generator, req: pd.DataFrame) -> CaseFiles:
    """One open case file per (case reference, officer) with requests, created with its first request."""
    if req.empty:
        return CaseFiles({}, {})
    first = (
        req.assign(officer=req["requested_by_id"].astype(np.int64))
        .groupby(["case_ref", "officer"], sort=True)["sent_at"]
        .min()
        .reset_index()
    )
    ids = people.unique_codes(rng, len(first), CASE_FILE_PREFIX, LENGTH)
    keys = list(zip(first["case_ref"].tolist(), first["officer"].tolist()))
    return CaseFiles(
        {
            "id": np.arange(1, len(first) + 1),
            "public_id": ids,
            "case_ref": first["case_ref"].tolist(),
            "officer_id": first["officer"].to_numpy(np.int64),
            "created_at": first["sent_at"].to_numpy().astype("datetime64[us]"),
        },
        {k: v for k, v in zip(keys, ids)},
    )


# --------------------------------------------------------------------------- planning answers


def _aware(value) -> dt.datetime:
    return pd.Timestamp(value).tz_localize("UTC").to_pydatetime()


def _next_minute(when: dt.datetime) -> dt.datetime:
    """``when`` rounded up to a whole minute (the owner types the time of the copy to the minute)."""
    down = when.replace(second=0, microsecond=0)
    return down if down == when else down + dt.timedelta(minutes=1)


def _token(rng: np.random.Generator) -> str:
    return base64.urlsafe_b64encode(rng.bytes(32)).rstrip(b"=").decode("ascii")


def _pick_cases(req: pd.DataFrame, candidates: np.ndarray, registrant: np.ndarray) -> list[list[list[int]]]:
    """The officer's most recent cases with footage answers: per case, the request positions of each
    owner who answered (grouped by registrant), newest case first."""
    rows = np.flatnonzero(candidates)
    if not len(rows):
        return []
    last_sent = req.groupby("case_ref")["sent_at"].max()
    cases = sorted({req["case_ref"].iat[i] for i in rows}, key=lambda c: (last_sent[c], c), reverse=True)
    picked, answers = [], 0
    for case in cases:
        if len(picked) >= MIN_CASES and answers >= MIN_RESPONSES:
            break
        mine = [i for i in rows if req["case_ref"].iat[i] == case]
        owners: dict[int, list[int]] = {}
        for i in mine:
            owners.setdefault(int(registrant[i]), []).append(int(i))
        groups = [owners[k] for k in sorted(owners)][: MAX_RESPONSES - answers]
        if not groups:
            break
        picked.append(groups)
        answers += len(groups)
    return picked


def plan_answers(
    rng: np.random.Generator,
    req: pd.DataFrame,
    *,
    officer_id: int,
    camera_site: np.ndarray,
    camera_kind: list,
    withdrawn: np.ndarray,
    names: list,
    end: np.datetime64,
    link_days: int,
) -> list[PlannedAnswer]:
    """Which owners answer with footage, when, what they say and send (nothing is written)."""
    if req.empty:
        return []
    camera = req["camera_index"].to_numpy(np.int64)
    site = np.asarray(camera_site)[camera]
    sent = req["sent_at"].to_numpy().astype("datetime64[us]")
    changed = req["status_changed_at"].to_numpy().astype("datetime64[us]")
    link = np.timedelta64(link_days * 24 * 3600 - 3600, "s")
    candidates = (
        (req["requested_by_id"].to_numpy(np.int64) == officer_id)
        & (req["status"].to_numpy() == "footage_provided")
        & ~np.asarray(withdrawn)[site]
        & (changed - sent >= np.timedelta64(MIN_ANSWER_MINUTES, "m"))
        & (changed - sent < link)
    )
    groups = [g for case in _pick_cases(req, candidates, site + 1) for g in case]
    groups.sort(key=lambda g: (changed[g].min(), g[0]))  # in the order the owners answered
    groups = groups[: len(SCRIPTS)]
    n_files = sum(len(SCRIPTS[k].files) for k in range(len(groups)))
    response_ids = people.unique_codes(rng, len(groups), RESPONSE_PREFIX, LENGTH)
    file_ids = people.unique_codes(rng, n_files, EVIDENCE_PREFIX, LENGTH)
    incident_from = req["incident_from"].to_numpy().astype("datetime64[us]")
    incident_to = req["incident_to"].to_numpy().astype("datetime64[us]")
    answers: list[PlannedAnswer] = []
    file_no = 0
    for k, g in enumerate(groups):
        script = SCRIPTS[k]
        s_at, a_at = _aware(sent[g].max()), _aware(changed[g].min())
        span = a_at - s_at
        opened = (s_at + span * float(rng.uniform(0.1, 0.5))).replace(microsecond=0)
        # The files go up one after another just before the answer is sent (a minute or three each).
        took = [dt.timedelta(seconds=int(rng.integers(60, 181))) for _ in script.files]
        room = (a_at - opened) * 0.8
        if sum(took, dt.timedelta()) > room:
            took = [room / len(took) for _ in took]
        done, t = [], a_at - dt.timedelta(seconds=30)
        for step in reversed(took):
            done.insert(0, t.replace(microsecond=0))
            t -= step
        starts = [d - step for d, step in zip(done, took)]
        # the copy was made after the owner read the request, shortly before the first upload (to the
        # minute, as typed in the form)
        copy_at = _next_minute(max(opened, starts[0] - dt.timedelta(minutes=int(rng.integers(10, 60)))))
        offset = dt.timedelta(seconds=script.clock_offset_s)
        win_from, win_to = _aware(incident_from[g].min()) + offset, _aware(incident_to[g].max()) + offset
        spacing = [int(rng.integers(60, 121)) for _ in script.files]
        needed = sum(f.seconds for f in script.files) + sum(spacing)
        slack = max(0.0, (win_to - win_from).total_seconds() - needed)
        at = win_from + dt.timedelta(seconds=int(slack * float(rng.uniform(0.05, 0.6))))
        cam_index = int(camera[g[0]])
        words = CAMERA_WORDS.get(str(camera_kind[cam_index]), "Camera")
        answer = PlannedAnswer(
            id=k + 1,
            public_id=response_ids[k],
            case_ref=str(req["case_ref"].iat[g[0]]),
            registrant_id=int(site[g[0]] + 1),
            request_indexes=list(g),
            camera_ids=[int(camera[i]) + 1 for i in g],
            created_at=_aware(sent[g].min()),
            opened_at=opened,
            answered_at=a_at,
            link_expires_at=s_at + dt.timedelta(days=link_days),
            token_hash=token_digest(_token(rng)),
            clock_offset_s=script.clock_offset_s,
            copy_made_at=copy_at,
            signed_name=str(names[int(site[g[0]])]),
            owner_note=script.note,
        )
        still_of = None
        for j, f in enumerate(script.files):
            recorded = still_of + dt.timedelta(seconds=2) if f.kind == "jpeg" and still_of else at
            local = recorded.astimezone(media.UK)
            name = {
                "mp4": f"VID_{local:%Y%m%d_%H%M%S}.mp4",
                "jpeg": f"Snapshot_{local:%Y-%m-%d_%H-%M-%S}.jpg",
                "dvr_zip": f"NVR_export_{local:%Y%m%d}.zip",
            }[f.kind]
            answer.files.append(
                PlannedFile(
                    id=file_no + 1,
                    public_id=file_ids[file_no],
                    upload_key=_token(rng),
                    kind=f.kind,
                    seconds=f.seconds,
                    seed=int(rng.integers(0, 2**31)),
                    view=(k + j) % 4,
                    recorded_at=recorded,
                    name=name,
                    caption=f.caption.format(camera=words),
                    created_at=starts[j].replace(microsecond=0),
                    completed_at=done[j],
                )
            )
            file_no += 1
            if f.kind != "jpeg":
                still_of = recorded
                at = recorded + dt.timedelta(seconds=f.seconds + spacing[j])
        answers.append(answer)
    _triage(rng, answers, end)
    return answers


def _working_time(when: dt.datetime, minutes: int) -> dt.datetime:
    """``when`` if it falls in an officer's day (08:00-18:00 UK time), else ``minutes`` after 09:00 on
    the next working morning."""
    local = when.astimezone(media.UK)
    if 8 <= local.hour < 18:
        return when
    day = local.date() + dt.timedelta(days=1 if local.hour >= 18 else 0)
    morning = dt.datetime.combine(day, dt.time(9), tzinfo=media.UK) + dt.timedelta(minutes=minutes)
    return morning.astimezone(UTC)


def _triage(rng: np.random.Generator, answers: list[PlannedAnswer], end: np.datetime64) -> None:
    """The officer's two decisions so far, a few working hours after each answer came in (none
    when the answer came too close to the demo's "today")."""
    latest = _aware(end) - dt.timedelta(minutes=30)
    for k, j, decision in ((ACCEPT[0], ACCEPT[1], "accepted"), (DECLINE[0], DECLINE[1], "declined")):
        if k >= len(answers) or j >= len(answers[k].files):
            continue
        when = _working_time(
            answers[k].answered_at + dt.timedelta(minutes=int(rng.integers(60, 6 * 60))), int(rng.integers(0, 90))
        )
        when = min(when, latest).replace(microsecond=0)
        if when <= answers[k].answered_at:
            continue
        f = answers[k].files[j]
        f.triage, f.triaged_at = decision, when
        if decision == "declined":
            f.decline_reason, f.decline_note = DECLINE[2], DECLINE[3]


def assign_exhibits(answers: list[PlannedAnswer], username: str, fmt: str) -> None:
    """Exhibit references for the accepted files, in the force's format, counted per case (as
    ``triage.next_exhibit_ref`` gives them)."""
    from dashboard.evidence.triage import initials

    count: dict[str, int] = {}
    for a in sorted(answers, key=lambda a: a.answered_at):
        for f in a.files:
            if f.triage == "accepted":
                count[a.case_ref] = count.get(a.case_ref, 0) + 1
                f.exhibit_ref = fmt.format(initials=initials(username), case=a.case_ref, n=count[a.case_ref]).upper()


# --------------------------------------------------------------------------- requests and events


def owner_answered(
    req: pd.DataFrame, events: pd.DataFrame, answers: list[PlannedAnswer]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The requests with ``response_id`` (None where no owner answered through a link) and the owner's
    answer as their 'footage provided' event (by nobody: the owner, as ``responses.submit`` writes it);
    an owner's answer says nothing of usefulness, so ``footage_useful`` is left unset."""
    req = req.copy()
    events = events.copy()
    response = pd.array([pd.NA] * len(req), dtype="Int64")
    by = pd.array(events["by_user_id"].to_numpy(np.int64), dtype="Int64")
    note = events["note"].to_numpy(dtype=object).copy()
    for a in answers:
        for i in a.request_indexes:
            response[i] = a.id
            req.loc[i, "status_changed_at"] = np.datetime64(a.answered_at.replace(tzinfo=None), "us")
            req.loc[i, "footage_useful"] = pd.NA
            hit = ((events["request_index"] == i) & (events["status"] == "footage_provided")).to_numpy()
            by[hit] = pd.NA
            note[hit] = OWNER_ANSWERED
    req["response_id"] = response
    events["by_user_id"] = by
    events["note"] = note
    return req, events


# --------------------------------------------------------------------------- files


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            yield block


def _make(f: PlannedFile, path: Path) -> Path:
    if f.kind == "mp4":
        return media.mp4_clip(path, recorded_at=f.recorded_at, seconds=f.seconds, seed=f.seed, view=f.view)
    if f.kind == "jpeg":
        return media.jpeg_still(path, taken_at=f.recorded_at, seed=f.seed, view=f.view)
    return media.dvr_export_zip(path, recorded_at=f.recorded_at, seconds=f.seconds, seed=f.seed, view=f.view)


def store_files(answers: list[PlannedAnswer], store: Store) -> None:
    """Make each planned file and put it in the evidence store as an upload gets there: streamed
    into a part file and hashed on the way, probed, then moved in under its SHA-256 (kept once when
    the store already holds those bytes). Fills in each file's ``sha256``, ``size`` and ``media``."""
    store.ensure()
    with tempfile.TemporaryDirectory(prefix="demo-footage-") as work:
        for a in answers:
            for f in a.files:
                made = _make(f, Path(work) / f.name)
                size = made.stat().st_size
                store.create_part(f.upload_key)
                with store.locked(f.upload_key):
                    done = store.append(f.upload_key, 0, _chunks(made), hashlib.sha256(), size)
                    if done.end != size or done.hasher is None:
                        raise OSError(f"could not write demo footage into {store.root} ({done.stopped})")
                    sha = done.hasher.hexdigest()
                    found = probe.probe(store.part_path(f.upload_key), max_unpacked_bytes=MAX_UNPACKED_BYTES)
                    with store.content_lock():
                        store.commit(f.upload_key, sha)
                f.sha256, f.size, f.media = sha, size, found.as_json()


# --------------------------------------------------------------------------- rows


def response_rows(answers: list[PlannedAnswer], officer_id: int) -> list[dict]:
    return [
        {
            "id": a.id,
            "public_id": a.public_id,
            "case_ref": a.case_ref,
            "registrant_id": a.registrant_id,
            "requested_by_id": officer_id,
            "shared_detail": None,
            "token_hash": a.token_hash,
            "link_expires_at": a.link_expires_at,
            "created_at": a.created_at,
            "first_opened_at": a.opened_at,
            "answer": "footage",
            "answered_at": a.answered_at,
            "clock_offset_s": a.clock_offset_s,
            "copy_made_by_owner": True,
            "copy_made_at": a.copy_made_at,
            "signed_name": a.signed_name,
            "owner_note": a.owner_note,
        }
        for a in answers
    ]


def file_rows(answers: list[PlannedAnswer], officer_id: int) -> list[dict]:
    return [
        {
            "id": f.id,
            "public_id": f.public_id,
            "response_id": a.id,
            "upload_key": f.upload_key,
            "original_name": f.name,
            "caption": f.caption,
            "declared_size": f.size,
            "received_bytes": f.size,
            "sha256": f.sha256,
            "state": "stored",
            "refusal": None,
            "media": f.media,
            "created_at": f.created_at,
            "completed_at": f.completed_at,
            "triage": f.triage,
            "triaged_at": f.triaged_at,
            "triaged_by_id": officer_id if f.triage else None,
            "decline_reason": f.decline_reason,
            "decline_note": f.decline_note,
            "exhibit_ref": f.exhibit_ref,
            "deleted_at": None,
            "checked_at": None,
            "check_result": None,
            # The disclosure-control layer's key (as the model's random default, but from the demo's seed).
            "record_key": (f.seed >> 8) % 256,
        }
        for a in answers
        for f in a.files
    ]


def _us(when: dt.datetime) -> int:
    return int(pd.Timestamp(when).value // 1000)


def audit_rows(answers: list[PlannedAnswer], officer_id: int, cases: CaseFiles) -> list[tuple]:
    """(µs, user id or None for the owner, action, case reference, reason, subject ids, detail) per
    row, as the response page, the upload flow and triage write them."""
    rows: list[tuple] = []
    for a in answers:
        request_ids = [i + 1 for i in a.request_indexes]
        rows.append(
            (
                _us(a.opened_at),
                None,
                "response_opened",
                a.case_ref,
                None,
                a.camera_ids,
                {"response": a.public_id, "first": True, "answered": False},
            )
        )
        for f in a.files:
            rows.append(
                (
                    _us(f.completed_at),
                    None,
                    "footage_uploaded",
                    a.case_ref,
                    None,
                    None,
                    {"response": a.public_id, "sha256": f.sha256, "size": f.size, "kind": (f.media or {}).get("kind")},
                )
            )
        rows.append(
            (
                _us(a.answered_at),
                None,
                "response_answered",
                a.case_ref,
                None,
                a.camera_ids,
                {
                    "response": a.public_id,
                    "answer": "footage",
                    "request_ids": request_ids,
                    "files": [{"sha256": f.sha256, "bytes": f.size} for f in a.files],
                    "clock_offset_s": a.clock_offset_s,
                },
            )
        )
        case_id = cases.public_id[(a.case_ref, officer_id)]
        for f in a.files:
            if f.triage is None:
                continue
            seen = f.triaged_at - dt.timedelta(minutes=4)
            rows.append(
                (
                    _us(seen),
                    officer_id,
                    "evidence_viewed",
                    a.case_ref,
                    VIEW_REASON,
                    None,
                    {"case_id": case_id, "file_id": f.public_id, "sha256": f.sha256, "exhibit_ref": None},
                )
            )
            common = {
                "case_id": case_id,
                "file_id": f.public_id,
                "response_id": a.public_id,
                "sha256": f.sha256,
                "size": f.size,
                "previous": None,
                "at": f.triaged_at.isoformat(),
            }
            if f.triage == "accepted":
                rows.append(
                    (
                        _us(f.triaged_at),
                        officer_id,
                        "evidence_accepted",
                        a.case_ref,
                        None,
                        None,
                        {**common, "exhibit_ref": f.exhibit_ref, "previous_exhibit_ref": None},
                    )
                )
            else:
                rows.append(
                    (
                        _us(f.triaged_at),
                        officer_id,
                        "evidence_declined",
                        a.case_ref,
                        None,
                        None,
                        {**common, "decline_reason": f.decline_reason, "exhibit_ref": None},
                    )
                )
    return rows
