"""Read-only queries the dashboard pages and the API share."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.registry.models import Camera, Registrant, Site


@dataclass(frozen=True)
class RegistrySummary:
    active_registrations: int
    active_cameras: int
    registrations_last_7_days: int
    by_district: pd.DataFrame  # district_code, registrations, cameras (active only)


def registry_summary(session: Session, now: dt.datetime) -> RegistrySummary:
    """Headline counts of the active register at ``now`` (an aware datetime)."""
    active = Registrant.status == "active"
    week_ago = now - dt.timedelta(days=7)
    registrations = session.scalar(sa.select(sa.func.count()).select_from(Registrant).where(active)) or 0
    recent = session.scalar(
        sa.select(sa.func.count()).select_from(Registrant).where(
            active, Registrant.consent_at >= week_ago, Registrant.consent_at < now)
    ) or 0
    cams_per_site = (
        sa.select(Camera.site_id, sa.func.count().label("n"))
        .where(Camera.active.is_(True))
        .group_by(Camera.site_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(
            Site.district_code,
            sa.func.count(Site.id).label("registrations"),
            sa.func.coalesce(sa.func.sum(cams_per_site.c.n), 0).label("cameras"),
        )
        .join(Registrant, Registrant.id == Site.registrant_id)
        .outerjoin(cams_per_site, cams_per_site.c.site_id == Site.id)
        .where(active)
        .group_by(Site.district_code)
    ).all()
    by_district = pd.DataFrame(rows, columns=["district_code", "registrations", "cameras"]).astype(
        {"registrations": "int64", "cameras": "int64"})
    return RegistrySummary(
        active_registrations=int(registrations),
        active_cameras=int(by_district["cameras"].sum()) if len(by_district) else 0,
        registrations_last_7_days=int(recent),
        by_district=by_district,
    )


def registrations_by_area(session: Session, level: str) -> pd.DataFrame:
    """Active registrations and their active cameras per district or small area (LSOA):
    columns area_code, registrations, cameras (the overview's definitions, per area)."""
    column = {"district": Site.district_code, "lsoa": Site.lsoa_code}.get(level)
    if column is None:
        raise ValueError(f"unknown area level {level!r}; use 'district' or 'lsoa'")
    cams_per_site = (
        sa.select(Camera.site_id, sa.func.count().label("n")).where(Camera.active.is_(True))
        .group_by(Camera.site_id).subquery()
    )
    rows = session.execute(
        sa.select(column.label("area_code"), sa.func.count(Site.id).label("registrations"),
                  sa.func.coalesce(sa.func.sum(cams_per_site.c.n), 0).label("cameras"))
        .join(Registrant, Registrant.id == Site.registrant_id)
        .outerjoin(cams_per_site, cams_per_site.c.site_id == Site.id)
        .where(Registrant.status == "active", column.is_not(None))
        .group_by(column)
    ).all()
    return pd.DataFrame(rows, columns=["area_code", "registrations", "cameras"]).astype(
        {"registrations": "int64", "cameras": "int64"})

