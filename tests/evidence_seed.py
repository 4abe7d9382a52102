"""A case with an owner's answer and uploaded files, written as the footage loop leaves them.

The files are real media (tests/media.py), probed with the product's probe and put in the real
content-addressed store under their SHA-256, exactly where an upload leaves them; the rows are the
ones an answered response has (registrant, site, camera, request, response with the owner's
statement, stored evidence files, the officer's case file).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from dashboard.footage.probe import probe
from dashboard.footage.storage import Store
from dashboard.registry.casework import ensure_case_file
from dashboard.registry.database import transaction
from dashboard.registry.models import Camera, EvidenceFile, FootageRequest, FootageResponse, Registrant, Site, User

# The incident: 21:10 to 21:20 UTC on 30 November 2026 (GMT: UK time is UTC then).
INCIDENT_FROM = dt.datetime(2026, 11, 30, 21, 10, tzinfo=dt.UTC)
INCIDENT_TO = dt.datetime(2026, 11, 30, 21, 20, tzinfo=dt.UTC)


@dataclass
class Seeded:
    case_id: str  # CSE-...
    case_ref: str
    response_id: str  # FTG-...
    request_id: str  # REQ-...
    file_ids: list[str]
    sha256: list[str]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def store_file(store: Store, path: Path) -> str:
    """Put ``path`` into the store as a finished upload leaves it; returns its SHA-256."""
    sha = sha256_of(path)
    target = store.path_for(sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        shutil.copyfile(path, target)
        target.chmod(0o400)
    return sha


def seed_case(
    rt,
    files: list[tuple[Path, str | None]],
    *,
    officer: str = "officer1",
    case_ref: str = "CR-2026-000101",
    clock_offset_s: int | None = 120,
    answered: bool = True,
    n: int = 1,
    now: dt.datetime | None = None,
) -> Seeded:
    """One owner (``n`` makes their details unique) asked for footage in ``case_ref`` by ``officer``,
    who answered 'footage' with ``files`` ((path, caption) pairs) and a statement: camera
    ``clock_offset_s`` seconds fast, copy made by the owner, signed 'Alex Owner<n>'."""
    now = now or dt.datetime.now(dt.UTC)
    store = Store(rt.settings.evidence_dir)
    store.ensure()
    with transaction(rt.sessions) as s:
        who = s.scalar(sa.select(User).where(User.username == officer))
        owner = Registrant(
            reference=f"SEED{n:05d}",
            name=f"Alex Owner{n}",
            email=f"owner{n}@example.org",
            phone="07700 900123",
            consent_at=now - dt.timedelta(days=30),
            status="active",
            last_confirmed_at=now - dt.timedelta(days=30),
        )
        s.add(owner)
        s.flush()
        site = Site(
            registrant_id=owner.id,
            address=f"{n} Example Street",
            postcode="ST16 2AA",
            lat=52.806,
            lon=-2.117,
            easting_m=392000.0,
            northing_m=323000.0,
            district_code="E07000197",
        )
        s.add(site)
        s.flush()
        camera = Camera(site_id=site.id, kind="doorbell", retention_days=30)
        s.add(camera)
        s.flush()
        response = FootageResponse(
            case_ref=case_ref, registrant_id=owner.id, requested_by_id=who.id, created_at=now - dt.timedelta(days=2)
        )
        if answered:
            response.answer, response.answered_at = "footage", now - dt.timedelta(days=1)
            response.clock_offset_s, response.copy_made_by_owner = clock_offset_s, True
            response.copy_made_at = now - dt.timedelta(days=1, hours=1)
            response.signed_name = f"Alex Owner{n}"
        s.add(response)
        s.flush()
        request = FootageRequest(
            case_ref=case_ref,
            camera_id=camera.id,
            requested_by_id=who.id,
            incident_lat=52.806,
            incident_lon=-2.117,
            incident_from=INCIDENT_FROM,
            incident_to=INCIDENT_TO,
            status="footage_provided" if answered else "sent",
            sent_at=now - dt.timedelta(days=2),
            status_changed_at=now - dt.timedelta(days=1),
            response_id=response.id,
        )
        s.add(request)
        case = ensure_case_file(s, case_ref, who.id)
        ids, shas = [], []
        for i, (path, caption) in enumerate(files):
            sha = store_file(store, path)
            size = path.stat().st_size
            row = EvidenceFile(
                response_id=response.id,
                upload_key=f"seed{n:04d}x{i:04d}" + "k" * 24,
                original_name=path.name,
                caption=caption,
                declared_size=size,
                received_bytes=size,
                sha256=sha,
                state="stored",
                media=probe(path, max_unpacked_bytes=1 << 30).as_json(),
                created_at=now - dt.timedelta(days=1, minutes=30 - i),
                completed_at=now - dt.timedelta(days=1, minutes=20 - i),
            )
            s.add(row)
            s.flush()
            ids.append(row.public_id)
            shas.append(sha)
        s.flush()
        return Seeded(case.public_id, case_ref, response.public_id, request.public_id, ids, shas)
