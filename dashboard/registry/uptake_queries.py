"""Reads for the project lead's uptake page: registrations, cameras, campaign counts and footage
requests as plain frames (no names, contact details, addresses or positions).

Large reads go through the DBAPI cursor (``camera_queries._rows``): at a million cameras the ORM
made the Python objects slowly. Only constants are rendered into those statements.
"""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.registry.camera_queries import _rows, on_active_register
from dashboard.registry.models import Camera, Campaign, CampaignDailyCount, FootageRequest, Registrant, Site

REGISTRATION_COLUMNS = ["registrant_id", "consent_at", "status", "withdrawn_at", "end_reason", "last_confirmed_at",
                        "district_code", "cameras"]
CAMERA_COLUMNS = ["registrant_id", "district_code", "kind", "placement", "retention_days", "direction_deg", "overlooks"]
REQUEST_COLUMNS = ["status", "sent_at", "status_changed_at", "footage_useful", "footage_likely_overwritten",
                   "district_code", "crime_category"]


def _utc(values: pd.Series) -> pd.Series:
    """Stored naive-UTC datetimes (text on SQLite, datetimes on PostgreSQL) as aware UTC."""
    return pd.to_datetime(values, format="ISO8601", utc=True)


def registrations(session: Session) -> pd.DataFrame:
    """Every registration ever made (ended ones too) with its dates, why it ended (``end_reason``:
    'owner', 'request' or 'retention'; None while active), district and number of cameras
    registered (switched-off ones included): ``REGISTRATION_COLUMNS``."""
    cameras = sa.select(Camera.site_id, sa.func.count().label("n")).group_by(Camera.site_id).subquery()
    statement = (
        sa.select(Registrant.id, Registrant.consent_at, Registrant.status, Registrant.withdrawn_at,
                  Registrant.end_reason, Registrant.last_confirmed_at, Site.district_code, sa.func.coalesce(cameras.c.n, 0))
        .outerjoin(Site, Site.registrant_id == Registrant.id).outerjoin(cameras, cameras.c.site_id == Site.id)
    )
    frame = pd.DataFrame(_rows(session, statement), columns=REGISTRATION_COLUMNS)
    for column in ("consent_at", "withdrawn_at", "last_confirmed_at"):
        frame[column] = _utc(frame[column])
    return frame.astype({"registrant_id": "int64", "cameras": "int64"})


def register_cameras(session: Session) -> pd.DataFrame:
    """The cameras on the active register with what they can provide: ``CAMERA_COLUMNS``."""
    statement = (
        sa.select(Site.registrant_id, Site.district_code, Camera.kind, Camera.placement, Camera.retention_days,
                  Camera.direction_deg, Camera.overlooks)
        .join(Site, Site.id == Camera.site_id).join(Registrant, Registrant.id == Site.registrant_id)
        .where(*on_active_register())
    )
    frame = pd.DataFrame(_rows(session, statement), columns=CAMERA_COLUMNS)
    return frame.astype({"registrant_id": "int64", "retention_days": "float64", "direction_deg": "float64"})


def campaign_days(session: Session) -> pd.DataFrame:
    """Daily scans, form starts and completions per campaign: campaign, channel, day, scans,
    form_starts, completions."""
    rows = session.execute(
        sa.select(Campaign.name, Campaign.channel, CampaignDailyCount.day, CampaignDailyCount.scans,
                  CampaignDailyCount.form_starts, CampaignDailyCount.completions)
        .join(Campaign, Campaign.id == CampaignDailyCount.campaign_id)
    ).all()
    return pd.DataFrame(rows, columns=["campaign", "channel", "day", "scans", "form_starts", "completions"])


def requests(session: Session) -> pd.DataFrame:
    """Footage requests with their outcome, timing, district and crime category: ``REQUEST_COLUMNS``."""
    rows = session.execute(
        sa.select(FootageRequest.status, FootageRequest.sent_at, FootageRequest.status_changed_at,
                  FootageRequest.footage_useful, FootageRequest.footage_likely_overwritten,
                  FootageRequest.incident_district_code, FootageRequest.crime_category)
    ).all()
    frame = pd.DataFrame(rows, columns=REQUEST_COLUMNS)
    for column in ("sent_at", "status_changed_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def register_frames(session: Session) -> dict[str, pd.DataFrame]:
    """``registrations`` and ``register_cameras`` with their text columns as categories (grouping a
    million rows by text took most of a second a time) and each camera's retention class."""
    from dashboard.analytics.uptake import retention_buckets

    regs = registrations(session).astype({"status": "category", "end_reason": "category", "district_code": "category"})
    cams = register_cameras(session)
    cams["retention"] = retention_buckets(cams["retention_days"])
    cams = cams.astype({c: "category" for c in ("district_code", "kind", "placement", "overlooks", "retention")})
    return {"registrations": regs, "cameras": cams}
