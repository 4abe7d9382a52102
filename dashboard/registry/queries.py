"""Read-only queries the dashboard pages and the API share.

Counts come out with their cell keys (the sum of the counted records' keys modulo 256, for the
disclosure-control layer); what may be shown is decided by the layer, never here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.cell_keys import KEY_RANGE
from dashboard.core.uktime import UK
from dashboard.core.vocab import RECENT_DAYS
from dashboard.registry.models import Camera, Registrant, Site

AREA_COUNT_COLUMNS = ["area_code", "registrations", "registrations_key", "cameras", "cameras_key"]


@dataclass(frozen=True)
class RegistrySummary:
    """True counts of the active register and their cell keys (never shown as they are: publish
    through ``analytics.overview``)."""

    active_registrations: int
    registrations_key: int
    active_cameras: int
    cameras_key: int
    # Active registrations made before the last RECENT_DAYS whole UK days (today included).
    registered_before_recent: int
    before_recent_key: int
    today: dt.date  # the UK date of ``now``
    by_district: pd.DataFrame  # district_code, registrations, registrations_key, cameras, cameras_key (active only)


def _key(total) -> int:
    return int(total or 0) % KEY_RANGE


def registry_summary(session: Session, now: dt.datetime) -> RegistrySummary:
    """Headline counts of the active register at ``now`` (an aware datetime), with their keys.
    Every site has a district, so the totals are the districts' sums (the same records, so the
    same keys)."""
    today = now.astimezone(UK).date()
    window_start = dt.datetime.combine(today - dt.timedelta(days=RECENT_DAYS - 1), dt.time(), tzinfo=UK)
    before, before_key = session.execute(
        sa.select(sa.func.count(), sa.func.sum(sa.func.coalesce(Registrant.record_key, 0)))
        .select_from(Registrant)
        .where(Registrant.status == "active", Registrant.consent_at < window_start.astimezone(dt.UTC))
    ).one()
    by_district = registrations_by_area(session, "district").rename(columns={"area_code": "district_code"})
    return RegistrySummary(
        active_registrations=int(by_district["registrations"].sum()),
        registrations_key=_key(by_district["registrations_key"].sum()),
        active_cameras=int(by_district["cameras"].sum()),
        cameras_key=_key(by_district["cameras_key"].sum()),
        registered_before_recent=int(before or 0),
        before_recent_key=_key(before_key),
        today=today,
        by_district=by_district,
    )


def registrations_by_area(session: Session, level: str) -> pd.DataFrame:
    """Active registrations and their active cameras per district or small area (LSOA), with the
    cell keys of each: columns ``AREA_COUNT_COLUMNS`` (keys 0..255; areas without a registration
    are absent)."""
    column = {"district": Site.district_code, "lsoa": Site.lsoa_code}.get(level)
    if column is None:
        raise ValueError(f"unknown area level {level!r}; use 'district' or 'lsoa'")
    # Two passes, each over an index that carries the keys (revision 0008): registrations per area,
    # and active cameras per area straight from the camera rows. Grouping the cameras by site first
    # and joining that to the sites builds a 600,000-row temporary index at 1,000,000 cameras.
    active = (Registrant.status == "active", column.is_not(None))
    registrations = dict(
        (r[0], (r[1], r[2]))
        for r in session.execute(
            sa.select(column, sa.func.count(Site.id), sa.func.sum(sa.func.coalesce(Registrant.record_key, 0)))
            .join(Registrant, Registrant.id == Site.registrant_id)
            .where(*active)
            .group_by(column)
        )
    )
    cameras = dict(
        (r[0], (r[1], r[2]))
        for r in session.execute(
            sa.select(column, sa.func.count(Camera.id), sa.func.sum(sa.func.coalesce(Camera.record_key, 0)))
            .select_from(Camera)
            .join(Site, Site.id == Camera.site_id)
            .join(Registrant, Registrant.id == Site.registrant_id)
            .where(Camera.active.is_(True), *active)
            .group_by(column)
        )
    )
    rows = [(code, n, key or 0, *cameras.get(code, (0, 0))) for code, (n, key) in registrations.items()]
    frame = pd.DataFrame([tuple(r) for r in rows], columns=AREA_COUNT_COLUMNS)
    frame = frame.astype({c: "int64" for c in AREA_COUNT_COLUMNS[1:]})
    for c in ("registrations_key", "cameras_key"):
        frame[c] = frame[c] % KEY_RANGE
    return frame
