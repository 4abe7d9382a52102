"""Triage of the footage owners upload: what came in, accept (an exhibit) or decline (a reason).

Every function takes the acting user and checks, through ``evidence.cases``, that they are an
active officer on the case's team (refusals are logged); decisions are written with their audit
event in the caller's unit of work. Times are aware UTC; the page puts them in UK time.

Clock differences: the owner states how far their camera's clock is from the real time
(``FootageResponse.clock_offset_s``, camera minus real; positive: the camera is fast). A time
read from the footage (the recording time embedded in the file, or the clock burnt into the
picture) is corrected to real time by subtracting it; the incident window, in real time, is
found on the camera's own clock by adding it. Both are shown beside each file.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.vocab import DECLINE_REASONS
from dashboard.evidence.cases import (
    CaseSeen,
    Member,
    _seen,
    members,
    require_case,
    require_case_locked,
    require_file_locked,
    responses_of,
)
from dashboard.registry import audit, free_text
from dashboard.registry.casework import CaseworkError
from dashboard.registry.models import Camera, CaseFile, EvidenceFile, FootageRequest, FootageResponse, User

SHOWN_STATES = ("stored", "deleted")
EXHIBIT_MAX = 40
EXHIBIT_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9/ ._-]{0,38}[A-Z0-9]$|^[A-Z0-9]$")
NOTE_MAX = 300
# What a browser plays in the page: (container, codec) as footage/probe.py names them, and pictures.
PLAYABLE_VIDEO = {
    ("mp4", "h264"): "video/mp4",
    ("webm", "vp8"): "video/webm",
    ("webm", "vp9"): "video/webm",
    ("webm", "av1"): "video/webm",
    ("mp4", "av1"): "video/mp4",
}
PICTURES = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}


@dataclass(frozen=True)
class FileView:
    """One uploaded file as the case's team sees it."""

    file_id: str
    name: str
    caption: str | None
    size: int
    sha256: str
    kind: str  # 'video', 'image' or 'archive'
    media: dict
    mime: str | None  # what the browser plays it as; None: download only
    uploaded_at: dt.datetime | None
    recorded_at: dt.datetime | None  # the recording time in the file, on the camera's clock
    duration_s: float | None
    real_start: dt.datetime | None  # recorded_at corrected by the owner's clock difference
    real_end: dt.datetime | None
    triage: str | None
    triaged_at: dt.datetime | None
    triaged_by: str | None
    decline_reason: str | None
    decline_note: str | None
    exhibit_ref: str | None
    state: str
    deleted_at: dt.datetime | None
    check_result: str | None
    checked_at: dt.datetime | None

    @property
    def playable(self) -> bool:
        return self.mime is not None and self.state == "stored"


@dataclass(frozen=True)
class Submission:
    """One owner's answer in the case: their statement, the requests it answers, its files."""

    response_id: str
    answered_at: dt.datetime
    request_ids: list[str]
    camera_ids: list[str]
    incident_from: dt.datetime
    incident_to: dt.datetime
    clock_offset_s: int | None
    copy_made_by_owner: bool | None
    copy_made_at: dt.datetime | None
    signed_name: str | None
    owner_note: str | None
    files: list[FileView] = field(default_factory=list)

    @property
    def camera_window(self) -> tuple[dt.datetime, dt.datetime]:
        """The incident window as the camera's own clock shows it."""
        offset = dt.timedelta(seconds=self.clock_offset_s or 0)
        return self.incident_from + offset, self.incident_to + offset


@dataclass(frozen=True)
class CaseEvidence:
    case: CaseSeen
    submissions: list[Submission]

    @property
    def files(self) -> list[FileView]:
        return [f for s in self.submissions for f in s.files]

    def counts(self) -> dict[str, int]:
        files = [f for f in self.files if f.state == "stored"]
        return {
            "files": len(files),
            "accepted": sum(f.triage == "accepted" for f in files),
            "declined": sum(f.triage == "declined" for f in files),
            "waiting": sum(f.triage is None for f in files),
        }


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def parse_time(text: object) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def mime_for(media: dict | None) -> str | None:
    """The type a browser plays the file as in the page, or None (download only, a player may be needed).

    >>> mime_for({"kind": "video", "container": "mp4", "codec": "h264"}), mime_for({"kind": "image", "format": "png"})
    ('video/mp4', 'image/png')
    >>> mime_for({"kind": "video", "container": "avi", "codec": "mpeg4"}) is None
    True
    """
    media = media or {}
    if media.get("kind") == "video":
        return PLAYABLE_VIDEO.get((str(media.get("container")), str(media.get("codec"))))
    if media.get("kind") == "image":
        return PICTURES.get(str(media.get("format")))
    return None


def corrected(
    recorded_at: dt.datetime | None, duration_s: float | None, clock_offset_s: int | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Real start and end of a file recorded from ``recorded_at`` (camera clock) for ``duration_s``.

    >>> t = dt.datetime(2026, 11, 30, 21, 14, 5, tzinfo=dt.timezone.utc)
    >>> [x.strftime("%H:%M:%S") for x in corrected(t, 90.0, 120)]
    ['21:12:05', '21:13:35']
    """
    if recorded_at is None:
        return None, None
    start = recorded_at - dt.timedelta(seconds=clock_offset_s or 0)
    return start, start + dt.timedelta(seconds=duration_s or 0)


def _file_view(f: EvidenceFile, offset: int | None, names: dict[int, str]) -> FileView:
    media = dict(f.media or {})
    recorded = parse_time(media.get("recorded_at"))
    duration = media.get("duration_s") if isinstance(media.get("duration_s"), (int, float)) else None
    start, end = corrected(recorded, duration, offset)
    return FileView(
        file_id=f.public_id,
        name=f.original_name,
        caption=f.caption,
        size=int(f.declared_size),
        sha256=f.sha256 or "",
        kind=str(media.get("kind") or "file"),
        media=media,
        mime=mime_for(media),
        uploaded_at=as_utc(f.completed_at),
        recorded_at=recorded,
        duration_s=duration,
        real_start=start,
        real_end=end,
        triage=f.triage,
        triaged_at=as_utc(f.triaged_at),
        triaged_by=names.get(f.triaged_by_id or 0),
        decline_reason=f.decline_reason,
        decline_note=f.decline_note,
        exhibit_ref=f.exhibit_ref,
        state=f.state,
        deleted_at=as_utc(f.deleted_at),
        check_result=f.check_result,
        checked_at=as_utc(f.checked_at),
    )


def case_evidence(session: Session, actor: audit.Actor, case_public_id: object) -> CaseEvidence:
    """The owners' answers with footage in the case and their files (stored, or deleted under the
    retention rules), oldest answer first. Files of answers not yet sent are not shown: the owner
    may still remove them."""
    case = require_case(session, actor, case_public_id, "see the evidence")
    return _evidence(session, case, actor.user_id)


def _evidence(session: Session, case: CaseFile, user_id: int | None) -> CaseEvidence:
    responses = session.scalars(
        sa.select(FootageResponse)
        .where(FootageResponse.id.in_(responses_of(case)), FootageResponse.answer == "footage")
        .order_by(FootageResponse.answered_at, FootageResponse.id)
    ).all()
    ids = [r.id for r in responses]
    files = (
        session.scalars(
            sa.select(EvidenceFile)
            .where(EvidenceFile.response_id.in_(ids), EvidenceFile.state.in_(SHOWN_STATES))
            .order_by(EvidenceFile.completed_at, EvidenceFile.id)
        ).all()
        if ids
        else []
    )
    names = dict(
        session.execute(
            sa.select(User.id, User.username).where(User.id.in_({f.triaged_by_id for f in files if f.triaged_by_id}))
        )
        .tuples()
        .all()
    )
    requests = (
        session.execute(
            sa.select(
                FootageRequest.response_id,
                FootageRequest.public_id,
                Camera.public_id,
                FootageRequest.incident_from,
                FootageRequest.incident_to,
            )
            .join(Camera, Camera.id == FootageRequest.camera_id)
            .where(FootageRequest.response_id.in_(ids))
            .order_by(FootageRequest.id)
        ).all()
        if ids
        else []
    )
    out = []
    for r in responses:
        mine = [q for q in requests if q[0] == r.id]
        start = min((as_utc(q[3]) for q in mine), default=as_utc(r.created_at))
        end = max((as_utc(q[4]) for q in mine), default=as_utc(r.created_at))
        out.append(
            Submission(
                response_id=r.public_id,
                answered_at=as_utc(r.answered_at),
                request_ids=[q[1] for q in mine],
                camera_ids=[q[2] for q in mine],
                incident_from=start,
                incident_to=end,
                clock_offset_s=r.clock_offset_s,
                copy_made_by_owner=r.copy_made_by_owner,
                copy_made_at=as_utc(r.copy_made_at),
                signed_name=r.signed_name,
                owner_note=r.owner_note,
                files=[_file_view(f, r.clock_offset_s, names) for f in files if f.response_id == r.id],
            )
        )
    return CaseEvidence(_seen(session, case, user_id), out)


# --------------------------------------------------------------------------- decisions


def initials(username: str) -> str:
    """An officer's initials from their username: 'jane.officer' -> 'JO', 'smith' -> 'SM'.

    >>> initials("jane.officer"), initials("a-b_c.d"), initials("smith"), initials("x")
    ('JO', 'ABC', 'SM', 'X')
    """
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", username or "") if p]
    if len(parts) >= 2:
        return "".join(p[0] for p in parts[:3]).upper()
    word = parts[0] if parts else "X"
    return word[:2].upper()


def _taken_refs(session: Session, case: CaseFile) -> set[str]:
    return {
        ref.upper()
        for ref in session.scalars(
            sa.select(EvidenceFile.exhibit_ref).where(
                EvidenceFile.response_id.in_(responses_of(case)), EvidenceFile.exhibit_ref.is_not(None)
            )
        )
    }


def next_exhibit_ref(session: Session, case: CaseFile, username: str, fmt: str) -> str:
    """The next exhibit reference in ``fmt`` (``Settings.exhibit_ref_format``) that the case has not
    used: {n} counts up from 1 past every reference already given in it (never reused, even when
    the file was later declined)."""
    taken = _taken_refs(session, case)
    n = 1
    while True:
        ref = " ".join(fmt.format(initials=initials(username), case=case.case_ref, n=n).upper().split())
        if ref not in taken:
            break
        n += 1
    if len(ref) > EXHIBIT_MAX or not EXHIBIT_PATTERN.match(ref):
        raise CaseworkError(
            "exhibit_ref",
            f"The force's exhibit reference format makes {ref[:60]!r} for this case, "
            "which is not a usable reference: type one, e.g. JO/1.",
        )
    return ref


def _exhibit_ref(value: object, session: Session, case: CaseFile, file: EvidenceFile) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise CaseworkError("exhibit_ref", "The exhibit reference must be text.")
    ref = " ".join(value.split()).upper()
    if len(ref) > EXHIBIT_MAX or not EXHIBIT_PATTERN.match(ref):
        raise CaseworkError(
            "exhibit_ref",
            f"An exhibit reference is 1 to {EXHIBIT_MAX} letters, digits and / . - _ "
            "(starting and ending with a letter or digit), e.g. JO/1.",
        )
    if ref in _taken_refs(session, case) and (file.exhibit_ref or "").upper() != ref:
        raise CaseworkError("exhibit_ref", f"Exhibit {ref} is already used in this case; choose another reference.")
    return ref


def _open_case(case: CaseFile) -> None:
    if case.closed_at is not None:
        raise CaseworkError("case", "This case is closed: reopen it to change decisions on its evidence.")


def _answered(session: Session, file: EvidenceFile) -> FootageResponse:
    response = session.get(FootageResponse, file.response_id)
    if response is None or response.answer != "footage":
        raise CaseworkError("file", "The owner has not sent their answer with this file yet.")
    return response


def _record(
    session: Session,
    actor: audit.Actor,
    action: str,
    case: CaseFile,
    file: EvidenceFile,
    response: FootageResponse,
    **detail,
) -> None:
    audit.record(
        session,
        actor,
        action,
        case_ref=case.case_ref,
        reason=None,
        detail={
            "case_id": case.public_id,
            "file_id": file.public_id,
            "response_id": response.public_id,
            "sha256": file.sha256,
            "size": int(file.declared_size),
            **detail,
        },
    )


def accept(
    session: Session,
    actor: audit.Actor,
    file_public_id: object,
    *,
    exhibit_ref: object = None,
    now: dt.datetime,
    fmt: str,
) -> EvidenceFile:
    """Accept a file as an exhibit of the case: ``exhibit_ref`` as given (checked: unique in the case)
    or the next in the force's format. A declined file may be accepted after all; an accepted one
    keeps its reference (give another one to change it). Logged (``evidence_accepted``)."""
    file, case = require_file_locked(session, actor, file_public_id, "accept a file")
    _open_case(case)
    response = _answered(session, file)
    ref = _exhibit_ref(exhibit_ref, session, case, file)
    if ref is None:
        ref = (
            file.exhibit_ref
            if file.triage == "accepted" and file.exhibit_ref
            else next_exhibit_ref(session, case, actor.username or "", fmt)
        )
    if file.triage == "accepted" and file.exhibit_ref == ref:
        raise CaseworkError("file", f"This file is already exhibit {ref}.")
    previous, previous_ref = file.triage, file.exhibit_ref
    file.triage, file.triaged_at, file.triaged_by_id = "accepted", now, actor.user_id
    file.exhibit_ref, file.decline_reason, file.decline_note = ref, None, None
    session.flush()
    _record(
        session,
        actor,
        "evidence_accepted",
        case,
        file,
        response,
        exhibit_ref=ref,
        previous=previous,
        previous_exhibit_ref=previous_ref,
        at=now.isoformat(),
    )
    return file


def decline(
    session: Session,
    actor: audit.Actor,
    file_public_id: object,
    *,
    reason: object,
    note: object = None,
    now: dt.datetime,
) -> EvidenceFile:
    """Decline a file (not evidence): ``reason`` a key of ``DECLINE_REASONS`` ('other' needs a note).
    A declined file's content is deleted after the declined-file period. An exhibit declined
    after all keeps its reference on record (references are never reused). Logged."""
    file, case = require_file_locked(session, actor, file_public_id, "decline a file")  # access first: logged
    if reason not in DECLINE_REASONS:
        raise CaseworkError("decline_reason", "Choose why the file is declined.")
    text = None
    if note is not None and not isinstance(note, str):
        raise CaseworkError("decline_note", "The note must be text.")
    if isinstance(note, str) and note.strip():
        text = " ".join(note.split())
        if len(text) > NOTE_MAX:
            raise CaseworkError("decline_note", f"The note has {len(text)} characters; at most {NOTE_MAX} are allowed.")
        found = free_text.problem(text)
        if found:
            raise CaseworkError("decline_note", f"The note looks like it holds {found}; describe the file instead.")
    if reason == "other" and text is None:
        raise CaseworkError("decline_note", "Say in the note why the file is declined.")
    _open_case(case)
    response = _answered(session, file)
    if file.triage == "declined" and file.decline_reason == reason and file.decline_note == text:
        raise CaseworkError("file", "This file is already declined for that reason.")
    previous = file.triage
    file.triage, file.triaged_at, file.triaged_by_id = "declined", now, actor.user_id
    file.decline_reason, file.decline_note = reason, text
    session.flush()
    _record(
        session,
        actor,
        "evidence_declined",
        case,
        file,
        response,
        decline_reason=reason,
        previous=previous,
        exhibit_ref=file.exhibit_ref,
        at=now.isoformat(),
    )
    return file


def accept_remaining(
    session: Session, actor: audit.Actor, case_public_id: object, *, now: dt.datetime, fmt: str
) -> list[EvidenceFile]:
    """Accept every stored file of the case still awaiting a decision (of answers the owners have
    sent), in the order they arrived, each with the next exhibit reference. Logged per file."""
    case = require_case_locked(session, actor, case_public_id, "accept the remaining files")
    _open_case(case)
    files = session.scalars(
        sa.select(EvidenceFile)
        .join(FootageResponse, FootageResponse.id == EvidenceFile.response_id)
        .where(
            EvidenceFile.response_id.in_(responses_of(case)),
            EvidenceFile.state == "stored",
            EvidenceFile.triage.is_(None),
            FootageResponse.answer == "footage",
        )
        .order_by(EvidenceFile.completed_at, EvidenceFile.id)
    ).all()
    if not files:
        raise CaseworkError("case", "No file in this case is waiting for a decision.")
    for file in files:
        ref = next_exhibit_ref(session, case, actor.username or "", fmt)
        file.triage, file.triaged_at, file.triaged_by_id, file.exhibit_ref = "accepted", now, actor.user_id, ref
        session.flush()
        _record(
            session,
            actor,
            "evidence_accepted",
            case,
            file,
            session.get(FootageResponse, file.response_id),
            exhibit_ref=ref,
            previous=None,
            previous_exhibit_ref=None,
            at=now.isoformat(),
            remaining=True,
        )
    return files


def case_page(
    session: Session, actor: audit.Actor, case_public_id: object, fmt: str
) -> tuple[CaseEvidence, list[Member], str]:
    """What My cases shows of a case, behind one access check: its evidence, its team, and the exhibit
    reference the next accepted file would get."""
    case = require_case(session, actor, case_public_id, "see the evidence")
    return (
        _evidence(session, case, actor.user_id),
        members(session, case),
        next_exhibit_ref(session, case, actor.username or "", fmt),
    )


def awaiting_by_case(session: Session, case_file_ids: list[int]) -> dict[int, int]:
    """Files awaiting a decision (stored, in answers the owners sent) per case file id."""
    if not case_file_ids:
        return {}
    rows = session.execute(
        sa.select(CaseFile.id, sa.func.count(EvidenceFile.id))
        .join(
            FootageResponse,
            sa.and_(
                FootageResponse.case_ref == CaseFile.case_ref, FootageResponse.requested_by_id == CaseFile.officer_id
            ),
        )
        .join(EvidenceFile, EvidenceFile.response_id == FootageResponse.id)
        .where(
            CaseFile.id.in_(case_file_ids),
            FootageResponse.answer == "footage",
            EvidenceFile.state == "stored",
            EvidenceFile.triage.is_(None),
        )
        .group_by(CaseFile.id)
    ).all()
    return {int(i): int(n) for i, n in rows}
