"""Recruitment campaigns and their funnel, kept only as daily counts per campaign.

A campaign's QR code leads to ``/r/<slug>``; the scan, the start of the form and the completed
registration each add one to that day's count. Nothing about the campaign is stored on the
registration (promise 3: a staff-only campaign must not mark its registrants as staff).
"""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dashboard.registry.models import Campaign, CampaignDailyCount, utcnow

UK = ZoneInfo("Europe/London")
FUNNEL_STEPS = ("scans", "form_starts", "completions")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")


def campaign_by_slug(session: Session, slug: str | None) -> Campaign | None:
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        return None
    return session.scalar(sa.select(Campaign).where(Campaign.slug == slug))


def count_step(session: Session, slug: str | None, step: str, *, now: dt.datetime | None = None) -> bool:
    """Add one to ``step`` of today's (UK date) count for campaign ``slug``; False if no such campaign."""
    if step not in FUNNEL_STEPS:
        raise ValueError(f"unknown funnel step {step!r}; expected one of {FUNNEL_STEPS}")
    campaign = campaign_by_slug(session, slug)
    if campaign is None:
        return False
    day = (now or utcnow()).astimezone(UK).date()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    column = getattr(CampaignDailyCount, step)
    statement = insert(CampaignDailyCount).values(
        campaign_id=campaign.id, day=day, **{s: (1 if s == step else 0) for s in FUNNEL_STEPS})
    session.execute(statement.on_conflict_do_update(
        index_elements=["campaign_id", "day"], set_={step: column + 1}))
    return True
