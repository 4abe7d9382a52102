"""The owner's answer to a case's footage requests, from their private response link.

What the owner can do at ``/respond/<token>`` (the page is ``dashboard/public/respond.py``):
see what is asked in plain words (``view``), upload files (``footage/uploads.py``), and answer once
(``submit``): "I have footage" (their uploaded files and a statement), "Nothing was recorded", or
"I'd rather not". The answer moves each of the response's requests on (footage provided / no
relevant footage / declined, as an event by the owner, no user), spends the link, and is written
to the audit log; so is every opening of the page.

The statement is what a UK court asks of whoever produces CCTV footage: how far the camera's
clock is from real time, that they made the copy themselves and when, and their name as a
signature. It is kept with the files.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from dashboard.footage import links, wording
from dashboard.registry import audit, free_text
from dashboard.registry.casework import REQUEST_TRANSITIONS
from dashboard.registry.database import hold_write_lock
from dashboard.registry.models import FootageRequestEvent, FootageResponse
from dashboard.registry.registration import PUBLIC

UK = wording.UK
ANSWERS = {"footage": "I have footage", "nothing": "Nothing was recorded", "declined": "I'd rather not"}
REQUEST_STATUS_FOR = {"footage": "footage_provided", "nothing": "no_relevant_footage", "declined": "declined"}
CLOCK_DIRECTIONS = {
    "right": "It shows the right time",
    "fast": "It is fast (ahead of the real time)",
    "slow": "It is slow (behind the real time)",
}
MAX_CLOCK_MINUTES = 527_040  # a year: the schema's bound; anything further is a typing slip
NAME_MAX, NOTE_MAX = 120, 500
FUTURE_SLACK = dt.timedelta(minutes=10)  # the owner's phone clock may be a little ahead of ours


class StatementError(ValueError):
    """The answer cannot be accepted: ``errors`` maps each form field to a message for the owner."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class CameraShown:
    public_id: str
    label: str


@dataclass(frozen=True)
class FileShown:
    upload_key: str
    name: str
    caption: str
    size: int
    received: int
    state: str
    sha256: str | None
    refusal: str | None
    media: dict | None


@dataclass
class ResponseView:
    """What the owner's page shows: nothing about anyone else, nothing about the owner's work."""

    public_id: str
    case_ref: str
    shared_detail: str | None
    window_from: dt.datetime
    window_to: dt.datetime
    cameras: list[CameraShown]
    link_expires_at: dt.datetime | None
    answer: str | None
    answered_at: dt.datetime | None
    statement: dict
    files: list[FileShown] = field(default_factory=list)

    @property
    def window_text(self) -> str:
        return window_text(self.window_from, self.window_to)

    @property
    def stored_files(self) -> list[FileShown]:
        return [f for f in self.files if f.state == "stored"]


uk_time = wording.uk_datetime  # 'Tuesday 1 December 2026, 21:30' (UK time), as in the messages
window_text = wording.uk_window  # 'Tuesday 1 December 2026, 21:30 to 22:15'


def camera_label(camera) -> str:
    """'Doorbell camera (outdoor, facing east)', as the messages name it (never where it is)."""
    if camera is None or camera.kind is None:
        return "A camera that is no longer registered"
    words = wording.camera_words(wording.OwnerCamera(camera.kind, camera.placement, camera.direction_deg))
    return words[0].upper() + words[1:]


def clock_text(offset_s: int | None) -> str:
    """How the owner described their camera's clock, in words."""
    if offset_s is None:
        return "not stated"
    if offset_s == 0:
        return "shows the right time"
    minutes, seconds = divmod(abs(offset_s), 60)
    amount = " and ".join(
        p
        for p in (
            f"{minutes} minute{'s' * (minutes != 1)}" if minutes else "",
            f"{seconds} second{'s' * (seconds != 1)}" if seconds else "",
        )
        if p
    )
    return f"{amount} {'fast' if offset_s > 0 else 'slow'}"


def view(response: FootageResponse) -> ResponseView:
    requests = [r for r in response.requests if r.status != "withdrawn"] or list(response.requests)
    start = min(r.incident_from for r in requests)
    end = max(r.incident_to for r in requests)
    cameras = [CameraShown(r.camera.public_id if r.camera else "", camera_label(r.camera)) for r in requests]
    files = [
        FileShown(
            f.upload_key,
            f.original_name,
            f.caption or "",
            f.declared_size,
            f.received_bytes,
            f.state,
            f.sha256,
            f.refusal,
            f.media,
        )
        for f in response.files
        if f.state != "removed"
    ]
    statement = {
        "clock": clock_text(response.clock_offset_s),
        "copy_made_at": uk_time(response.copy_made_at) if response.copy_made_at else None,
        "signed_name": response.signed_name,
        "note": response.owner_note,
    }
    return ResponseView(
        response.public_id,
        response.case_ref,
        response.shared_detail,
        start,
        end,
        cameras,
        response.link_expires_at,
        response.answer,
        response.answered_at,
        statement,
        files,
    )


def answerable(response: FootageResponse) -> bool:
    """Still waiting for the owner: not answered, and some request in it still open."""
    return response.answered_at is None and links.has_open_request(response)


def state_text(response: FootageResponse, now: dt.datetime) -> str:
    """Where a request stands, for the owner's own page."""
    if response.answered_at is not None:
        return {
            "footage": "You sent footage",
            "nothing": "You told us nothing was recorded",
            "declined": "You said you would rather not",
        }[response.answer] + f" ({uk_time(response.answered_at)})"
    if not answerable(response):
        return "No longer needed"
    if response.link_expires_at is None:
        return "Waiting to be sent to you"
    return "Waiting for your answer"


def for_registrant(session: Session, registrant_id: int) -> list[FootageResponse]:
    return (
        session.query(FootageResponse)
        .filter(FootageResponse.registrant_id == registrant_id)
        .order_by(FootageResponse.created_at.desc())
        .all()
    )


def open_page(session: Session, token: object, now: dt.datetime) -> FootageResponse:
    """The response ``token`` opens (answered ones too: their receipt), the opening logged.

    Raises ``links.LinkError`` for a link that does not open anything, or has expired unanswered.
    """
    response = links.resolve(session, token, now, answered_ok=True)
    first = response.first_opened_at is None
    if first:
        response.first_opened_at = now
    audit.record(
        session,
        PUBLIC,
        "response_opened",
        case_ref=response.case_ref,
        at=now,
        subject_ids=[r.camera_id for r in response.requests],
        detail={"response": response.public_id, "first": first, "answered": response.answered_at is not None},
    )
    return response


def _whole(value: object, lo: int, hi: int) -> int | None:
    text = str(value if value is not None else "").strip()
    if not re.fullmatch(r"\d{1,7}", text):
        return None
    number = int(text)
    return number if lo <= number <= hi else None


def _local_time(value: object) -> dt.datetime | None:
    """A ``datetime-local`` form value (UK local time, 'YYYY-MM-DDTHH:MM') as aware UTC; an aware
    datetime (the API's, which says its own offset) as it is."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC) if value.tzinfo else None
    text = str(value or "").strip()
    try:
        naive = dt.datetime.strptime(text[:16], "%Y-%m-%dT%H:%M")
    except ValueError:
        return None
    return naive.replace(tzinfo=UK).astimezone(dt.UTC)


def _free(value: object, name: str, label: str, max_len: int, errors: dict, *, required: bool) -> str | None:
    text = " ".join(str(value or "").split())
    if not text:
        if required:
            errors[name] = f"Enter {label}."
        return None
    if len(text) > max_len:
        errors[name] = f"{label[0].upper()}{label[1:]} must be {max_len} characters or fewer."
        return None
    try:
        free_text.check(text, name)
    except ValueError as exc:
        errors[name] = str(exc)
        return None
    return text


def parse_statement(form: dict, response: FootageResponse, now: dt.datetime) -> dict:
    """The statement fields from the form, checked; StatementError listing every problem at once."""
    errors: dict[str, str] = {}
    direction = form.get("clock_direction")
    offset = None
    if direction not in CLOCK_DIRECTIONS:
        errors["clock_direction"] = "Say whether your camera's clock is right, fast or slow."
    elif direction == "right":
        offset = 0
    else:
        minutes = _whole(form.get("clock_minutes") or "0", 0, MAX_CLOCK_MINUTES)
        seconds = _whole(form.get("clock_seconds") or "0", 0, 59)
        if minutes is None:
            errors["clock_minutes"] = "Enter the minutes as a whole number, like 3."
        if seconds is None:
            errors["clock_seconds"] = "Enter the seconds as a whole number from 0 to 59."
        if minutes is not None and seconds is not None:
            if minutes == 0 and seconds == 0:
                errors["clock_minutes"] = (
                    f"Enter how far {'ahead' if direction == 'fast' else 'behind'} the clock "
                    "is, or choose 'It shows the right time'."
                )
            else:
                offset = (minutes * 60 + seconds) * (1 if direction == "fast" else -1)
    if form.get("copy_made_myself") not in ("yes", "on", "true", True):
        errors["copy_made_myself"] = "Confirm that you made the copy of the footage yourself."
    made_at = _local_time(form.get("copy_made_at"))
    earliest = min(r.incident_from for r in response.requests) if response.requests else None
    if made_at is None:
        errors["copy_made_at"] = "Enter when you made the copy, as a date and time."
    elif made_at > now + FUTURE_SLACK:
        errors["copy_made_at"] = "The time you made the copy is in the future: check the date and time."
    elif earliest is not None and made_at < earliest:
        errors["copy_made_at"] = (
            f"The copy cannot have been made before the time asked about "
            f"({uk_time(earliest)}): check the date and time."
        )
    name = _free(form.get("signed_name"), "signed_name", "your full name", NAME_MAX, errors, required=True)
    if name is not None and len(name) < 2:
        errors["signed_name"] = "Enter your full name."
    note = _free(form.get("owner_note"), "owner_note", "the note", NOTE_MAX, errors, required=False)
    if errors:
        raise StatementError(errors)
    return {
        "clock_offset_s": offset,
        "copy_made_by_owner": True,
        "copy_made_at": made_at,
        "signed_name": name,
        "owner_note": note,
    }


def submit(
    session: Session, token: object, now: dt.datetime, answer: object, form: dict
) -> tuple[FootageResponse, list[tuple[str, str | None]]]:
    """Record the owner's ``answer`` ('footage', 'nothing' or 'declined') for the response ``token``
    opens, at ``now``; the link is spent. LinkError for a link that is dead or already used;
    StatementError (nothing written) for a footage answer without stored files, with uploads still
    running, or with statement problems. Returns the response and the files an answer other than
    footage let go of (``(upload_key, sha256)``: marked removed; their bytes are the caller's to drop).
    """
    hold_write_lock(session)  # one answer per link, even when two tabs submit at once (SQLite)
    response = links.resolve(session, token, now, for_update=True)
    hold_write_lock(session, f"footage-response-{response.id}")  # and against removing a file (PostgreSQL)
    if answer not in ANSWERS:
        raise StatementError({"answer": "Choose one of the three answers."})
    statement: dict = {
        "clock_offset_s": None,
        "copy_made_by_owner": None,
        "copy_made_at": None,
        "signed_name": None,
        "owner_note": None,
    }
    files = [f for f in response.files if f.state in ("stored", "uploading")]
    if answer == "footage":
        errors: dict[str, str] = {}
        if any(f.state == "uploading" for f in files):
            errors["files"] = (
                "Some files have not finished uploading. Wait for them to finish, or remove "
                "them, then send your answer."
            )
        elif not files:
            errors["files"] = "Upload at least one file of footage, or choose another answer."
        try:
            statement = parse_statement(form, response, now)
        except StatementError as exc:
            errors.update(exc.errors)
        if errors:
            raise StatementError(errors)
    else:
        errors = {}
        note = _free(form.get("owner_note"), "owner_note", "the note", NOTE_MAX, errors, required=False)
        if errors:
            raise StatementError(errors)
        statement["owner_note"] = note
    for name, value in statement.items():
        setattr(response, name, value)
    response.answer, response.answered_at = answer, now
    new_status = REQUEST_STATUS_FOR[answer]
    moved = []
    for request in response.requests:
        if new_status in REQUEST_TRANSITIONS.get(request.status, ()):
            request.status, request.status_changed_at = new_status, max(now, request.status_changed_at)
            request.events.append(
                FootageRequestEvent(
                    status=new_status, at=request.status_changed_at, by_user_id=None, note="Answered by the owner"
                )
            )
            moved.append(request.id)
    stored = [f for f in response.files if f.state == "stored"] if answer == "footage" else []
    # An owner who says no keeps nothing here: files they had uploaded are let go of (the caller
    # deletes their bytes once this is committed: ``uploads.drop_files(uploads, let_go)``).
    let_go: list[tuple[str, str | None]] = []
    if answer != "footage":
        for f in response.files:
            if f.state in ("stored", "uploading"):
                let_go.append((f.upload_key, f.sha256 if f.state == "stored" else None))
                f.state = "removed"
                audit.record(
                    session,
                    PUBLIC,
                    "footage_removed",
                    case_ref=response.case_ref,
                    at=now,
                    detail={"response": response.public_id, "sha256": f.sha256, "why": f"answered {answer}"},
                )
    session.flush()
    audit.record(
        session,
        PUBLIC,
        "response_answered",
        case_ref=response.case_ref,
        at=now,
        subject_ids=[r.camera_id for r in response.requests],
        detail={
            "response": response.public_id,
            "answer": answer,
            "request_ids": moved,
            "files": [{"sha256": f.sha256, "bytes": f.declared_size} for f in stored],
            "clock_offset_s": response.clock_offset_s,
        },
    )
    return response, let_go
