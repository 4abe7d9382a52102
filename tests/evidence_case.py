"""A case with owners' uploaded files, made the way the app makes them (issue 17 tests).

The officer's request rows are written by hand (as tests/integration/test_respond_page.py does); the
owner's files go through the real upload service (``Uploads``: hashed, probed, content-addressed) and
their answer through ``responses.submit`` with a statement; the officer's decisions through
``triage.accept`` / ``triage.decline``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from dashboard.evidence import triage
from dashboard.footage import links, responses
from dashboard.footage.uploads import Uploads
from dashboard.registry import audit, casework
from dashboard.registry.database import transaction
from dashboard.registry.models import Camera, CaseFile, FootageRequest, FootageResponse, Registrant, Site, User

UTC = dt.UTC
# 21:10-21:20 UTC on 30 November 2026 is 21:10-21:20 GMT (UK winter time).
START = dt.datetime(2026, 11, 30, 21, 10, tzinfo=UTC)
END = dt.datetime(2026, 11, 30, 21, 20, tzinfo=UTC)
SENT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ANSWERED = dt.datetime(2026, 12, 1, 18, 30, tzinfo=UTC)
COPY_MADE = "2026-12-01T18:00"  # UK local, as the owner types it (GMT in December)
ACCEPTED = dt.datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
OWNER_EMAIL = "ann.owner@example.org"
OWNER_PHONE = "07700 900123"
OWNER_ADDRESS = "1 Private Lane"


@dataclass
class Answer:
    response_id: str
    request_ids: list[str]
    camera_ids: list[str]
    file_ids: list[str] = field(default_factory=list)
    sha256: list[str] = field(default_factory=list)


def officer_actor(rt, username: str = "officer1") -> audit.Actor:
    with rt.sessions() as s:
        user = s.scalar(sa.select(User).where(User.username == username))
        return audit.Actor(user.id, user.username, user.role)


def ask_owner(rt, case_ref: str, ref: str, *, officer: str = "officer1", cameras: int = 1) -> tuple[str, Answer]:
    """An owner (with email, phone and address: none may reach a bundle) asked about START-END;
    returns their response link's token."""
    with transaction(rt.sessions) as s:
        user = s.scalar(sa.select(User).where(User.username == officer))
        person = Registrant(
            reference=ref,
            name="Ann Owner",
            email=OWNER_EMAIL,
            phone=OWNER_PHONE,
            preferred_channel="email",
            consent_at=SENT,
            last_confirmed_at=SENT,
        )
        site = Site(
            registrant=person,
            kind="home",
            address=OWNER_ADDRESS,
            postcode="ST16 2AB",
            lat=52.8,
            lon=-2.1,
            easting_m=392000.0,
            northing_m=323000.0,
            district_code="E07000197",
        )
        cams = [
            Camera(
                site=site,
                kind="doorbell",
                mount="door",
                placement="outdoor",
                recording_mode="motion",
                retention_days=30,
            )
            for _ in range(cameras)
        ]
        s.add_all([person, site, *cams])
        s.flush()
        casework.ensure_case_file(s, case_ref, user.id)
        response = FootageResponse(
            case_ref=case_ref,
            registrant_id=person.id,
            requested_by_id=user.id,
            shared_detail="A blue van drove off.",
            created_at=SENT,
        )
        s.add(response)
        s.flush()
        requests = [
            FootageRequest(
                case_ref=case_ref,
                camera_id=cam.id,
                requested_by_id=user.id,
                incident_lat=52.8,
                incident_lon=-2.1,
                incident_from=START,
                incident_to=END,
                status="sent",
                sent_at=SENT,
                status_changed_at=SENT,
                response_id=response.id,
            )
            for cam in cams
        ]
        s.add_all(requests)
        s.flush()
        token = links.issue(response, SENT, 14)
        return token, Answer(response.public_id, [q.public_id for q in requests], [c.public_id for c in cams])


def upload(rt, token: str, data: bytes, name: str, caption: str | None = None) -> str:
    """Send one file through the upload service as the owner's browser would; returns its upload key."""
    uploads = Uploads.from_settings(rt.sessions, rt.settings)
    made = uploads.create(token, size=len(data), filename=name, caption=caption, now=SENT + dt.timedelta(hours=8))
    done = uploads.append(
        token,
        made.key,
        0,
        [data[i : i + (1 << 20)] for i in range(0, len(data), 1 << 20)],
        length=len(data),
        now=SENT + dt.timedelta(hours=8, minutes=1),
    )
    assert done.state == "stored", done
    return made.key


def answer(
    rt,
    token: str,
    *,
    clock: str = "fast",
    minutes: int = 2,
    seconds: int = 0,
    note: str | None = None,
    signed_name: str = "Ann Owner",
) -> None:
    form = {
        "clock_direction": clock,
        "clock_minutes": str(minutes),
        "clock_seconds": str(seconds),
        "copy_made_myself": "yes",
        "copy_made_at": COPY_MADE,
        "signed_name": signed_name,
        "owner_note": note or "",
    }
    with transaction(rt.sessions) as s:
        responses.submit(s, token, ANSWERED, "footage", form)


def file_ids(rt, response_public_id: str) -> list[tuple[str, str, str]]:
    """(public id, original name, sha256) of the response's stored files, in upload order."""
    from dashboard.registry.models import EvidenceFile

    with rt.sessions() as s:
        rows = s.execute(
            sa.select(EvidenceFile.public_id, EvidenceFile.original_name, EvidenceFile.sha256)
            .join(FootageResponse, FootageResponse.id == EvidenceFile.response_id)
            .where(FootageResponse.public_id == response_public_id, EvidenceFile.state == "stored")
            .order_by(EvidenceFile.id)
        ).all()
    return [tuple(r) for r in rows]


def accept(rt, file_id: str, *, ref: str | None = None, actor: audit.Actor | None = None) -> str:
    with transaction(rt.sessions) as s:
        f = triage.accept(
            s, actor or officer_actor(rt), file_id, exhibit_ref=ref, now=ACCEPTED, fmt=rt.settings.exhibit_ref_format
        )
        return f.exhibit_ref


def decline(rt, file_id: str, reason: str = "not_relevant", note: str | None = None) -> None:
    with transaction(rt.sessions) as s:
        triage.decline(s, officer_actor(rt), file_id, reason=reason, note=note, now=ACCEPTED)


def case_file(rt, case_ref: str, officer: str = "officer1") -> str:
    with rt.sessions() as s:
        user = s.scalar(sa.select(User).where(User.username == officer))
        return s.scalar(
            sa.select(CaseFile.public_id).where(CaseFile.case_ref == case_ref, CaseFile.officer_id == user.id)
        )
