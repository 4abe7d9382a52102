"""Random public identifiers of cameras and footage requests: what every user sees and types.

The integer primary keys are sequential: the first few hundred cameras were exactly the staff
pilot's registrations, so an id shown to an officer or auditor would tell who registered early
(promise 3). Every camera and footage request therefore also has a random ``public_id`` such as
``CAM-7K3QX9P2`` or ``REQ-M4T8WZ2C``: a prefix that says what it names, and eight characters of
the registration references' alphabet (no 0/O or 1/I/L, so it can be read out on the phone),
drawn from ``secrets`` (31**8, about 8.5e11 codes). It carries no order and no time.

The integer ids stay inside: joins, the search index, the audit log's ``subject_ids`` (an
append-only hash chain). Pages and the API translate at their edges with the batch look-ups
here; an id that no longer maps (its row erased) is shown as ``ERASED``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # as registration references: no 0/O, 1/I/L
LENGTH = 8
CAMERA_PREFIX = "CAM-"
REQUEST_PREFIX = "REQ-"
RESPONSE_PREFIX = "FTG-"  # an owner's answer to a case's requests: the reference on their receipt
EVIDENCE_PREFIX = "EVF-"  # a file an owner uploaded (its exhibit reference, once accepted, is separate)
CASE_FILE_PREFIX = "CSE-"  # one officer's case file (a case reference as that officer works it)
MAX_CHARS = len(CAMERA_PREFIX) + LENGTH
ERASED = "erased"
_CHUNK = 900  # bound parameters per IN (...): under SQLite's old limit of 999
_CODE = f"[{ALPHABET}]{{{LENGTH}}}"
CAMERA_PATTERN = f"^{CAMERA_PREFIX}{_CODE}$"
REQUEST_PATTERN = f"^{REQUEST_PREFIX}{_CODE}$"
EVIDENCE_PATTERN = f"^{EVIDENCE_PREFIX}{_CODE}$"
CASE_FILE_PATTERN = f"^{CASE_FILE_PREFIX}{_CODE}$"


def _code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def new_camera_id() -> str:
    """A fresh random camera id (the model's default); ``fresh_ids`` also checks the table."""
    return CAMERA_PREFIX + _code()


def new_request_id() -> str:
    return REQUEST_PREFIX + _code()


def new_response_id() -> str:
    return RESPONSE_PREFIX + _code()


def new_evidence_id() -> str:
    return EVIDENCE_PREFIX + _code()


def new_case_file_id() -> str:
    return CASE_FILE_PREFIX + _code()


def random_ids(prefix: str, n: int, taken: Iterable[str] = ()) -> list[str]:
    """``n`` distinct random ids with ``prefix``, none of them in ``taken``."""
    seen = set(taken)
    out: list[str] = []
    while len(out) < n:
        candidate = prefix + _code()
        if candidate not in seen:
            seen.add(candidate)
            out.append(candidate)
    return out


_PREFIX_OF_TABLE = {
    "camera": CAMERA_PREFIX,
    "footage_request": REQUEST_PREFIX,
    "case_file": CASE_FILE_PREFIX,
    "evidence_file": EVIDENCE_PREFIX,
}


def fresh_ids(session: Session, model, n: int) -> list[str]:
    """``n`` random public ids for new rows of ``model`` (Camera, FootageRequest, CaseFile or
    EvidenceFile) that no row has yet: a collision (about one in a million at a million rows) is
    drawn again."""
    prefix = _PREFIX_OF_TABLE[model.__tablename__]
    ids = random_ids(prefix, n)
    while True:
        clash = set(session.scalars(sa.select(model.public_id).where(model.public_id.in_(ids))))
        if not clash:
            return ids
        ids = [i for i in ids if i not in clash] + random_ids(prefix, len(clash), taken=set(ids) | clash)


def normalise(value: object, prefix: str) -> str | None:
    """A typed public id in its stored form (spaces trimmed, upper case; the prefix may be left
    out), or None when it cannot be one.

    >>> normalise(" cam-7k3qx9p2 ", CAMERA_PREFIX), normalise("7K3QX9P2", CAMERA_PREFIX), normalise(12, CAMERA_PREFIX)
    ('CAM-7K3QX9P2', 'CAM-7K3QX9P2', None)
    """
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    if not text.startswith(prefix):
        text = prefix + text
    return text if re.fullmatch(f"{re.escape(prefix)}{_CODE}", text) else None


_WHOLE_TABLE = 20_000  # more ids than this: read the whole mapping once rather than in chunks


def _lookup(session: Session, key, value, wanted: list) -> dict:
    found: dict = {}
    if len(wanted) > _WHOLE_TABLE:
        keep = set(wanted)
        return {k: v for k, v in session.execute(sa.select(key, value)).tuples() if k in keep}
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        found.update(session.execute(sa.select(key, value).where(key.in_(chunk))).tuples().all())
    return found


def cameras_to_public(session: Session, camera_ids: Iterable[int]) -> dict[int, str]:
    """Public id by internal camera id (ids with no camera left are missing from the answer)."""
    from dashboard.registry.models import Camera

    wanted = list(dict.fromkeys(int(i) for i in camera_ids))
    return {int(k): v for k, v in _lookup(session, Camera.id, Camera.public_id, wanted).items()}


def cameras_to_internal(session: Session, public_ids: Iterable[str]) -> dict[str, int]:
    """Internal camera id by public id (unknown ones missing)."""
    from dashboard.registry.models import Camera

    wanted = list(dict.fromkeys(public_ids))
    return {k: int(v) for k, v in _lookup(session, Camera.public_id, Camera.id, wanted).items()}


def requests_to_public(session: Session, request_ids: Iterable[int]) -> dict[int, str]:
    from dashboard.registry.models import FootageRequest

    wanted = list(dict.fromkeys(int(i) for i in request_ids))
    return {int(k): v for k, v in _lookup(session, FootageRequest.id, FootageRequest.public_id, wanted).items()}


def requests_to_internal(session: Session, public_ids: Iterable[str]) -> dict[str, int]:
    from dashboard.registry.models import FootageRequest

    wanted = list(dict.fromkeys(public_ids))
    return {k: int(v) for k, v in _lookup(session, FootageRequest.public_id, FootageRequest.id, wanted).items()}


def shown_cameras(session: Session, camera_ids: Iterable[int]) -> list[str]:
    """The cameras as a user sees them: public ids, ``ERASED`` for one with no row left."""
    ids = [int(i) for i in camera_ids]
    public = cameras_to_public(session, ids)
    return [public.get(i, ERASED) for i in ids]


def names_text(session: Session, camera_ids: Iterable[int]) -> str:
    """Cameras named for a message: their public ids, comma-separated."""
    return ", ".join(shown_cameras(session, camera_ids))


def registrants_to_public(session: Session, registrant_ids: Iterable[int]) -> dict[int, str]:
    """Registration reference (random, ``registration.REFERENCE_ALPHABET``) by internal registrant id."""
    from dashboard.registry.models import Registrant

    wanted = list(dict.fromkeys(int(i) for i in registrant_ids))
    return {int(k): v for k, v in _lookup(session, Registrant.id, Registrant.reference, wanted).items()}
