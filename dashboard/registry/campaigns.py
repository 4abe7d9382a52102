"""Recruitment campaigns and their funnel, kept only as daily counts per campaign.

A campaign's QR code leads to ``/r/<slug>``; the scan, the start of the form and the completed
registration each add one to that day's count. Nothing about the campaign is stored on the
registration (promise 3: a staff-only campaign must not mark its registrants as staff).

A scan counts at most once per visitor, campaign and UK day (:func:`count_scan`), and the QR route
does the same work and gives the same answer whether or not the campaign exists, so the route
tells nobody which campaigns there are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import re

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dashboard.core.cell_keys import KEY_RANGE, new_record_key
from dashboard.core.uktime import UK
from dashboard.registry.models import Campaign, CampaignDailyCount, RateLimitCounter, utcnow

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
    # An unknown slug (one typed into /r/ or ?c=) does the same kind of work, so a form sent from
    # its page takes no less time than one from a real campaign's.
    _add_one(session, None if campaign is None else campaign.id, step, now or utcnow())
    return campaign is not None


def _add_one(session: Session, campaign_id: int | None, step: str, now: dt.datetime) -> None:
    """One more ``step`` on ``now``'s UK day for the campaign; for None, a statement of the same
    kind that changes nothing (an unknown slug's scan costs what a known one's does)."""
    if campaign_id is None:
        session.execute(sa.update(CampaignDailyCount).where(sa.false()).values(scans=CampaignDailyCount.scans + 1))
        return
    day = now.astimezone(UK).date()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    column = getattr(CampaignDailyCount, step)
    # A completion brings a fresh random key into the day's sum (the disclosure layer's cell key for
    # the day's completions); never the registration's own key, so nothing links the two.
    key = new_record_key() if step == "completions" else 0
    statement = insert(CampaignDailyCount).values(
        campaign_id=campaign_id, day=day, completion_keys=key, **{s: (1 if s == step else 0) for s in FUNNEL_STEPS}
    )
    update = {step: column + 1}
    if key:
        update["completion_keys"] = (CampaignDailyCount.completion_keys + key) % KEY_RANGE
    session.execute(statement.on_conflict_do_update(index_elements=["campaign_id", "day"], set_=update))


SWEEP_CHANCE = 0.01


def count_scan(
    session: Session, slug: str | None, visitor: str, *, secret: bytes, now: dt.datetime | None = None
) -> None:
    """Count a scan of campaign ``slug`` once per ``visitor`` (a string the caller builds from the
    client's address and browser; never stored) and UK day.

    The visitor's mark is an HMAC of the campaign, the day and ``visitor`` with the app's secret,
    kept in the rate-limit store until it expires, so nothing personal is stored. An unknown slug
    does the same work (one look-up, one mark written, under a key shared by every unknown slug so
    that made-up slugs cannot fill the store, and a statement in place of the count that changes
    nothing) and counts nothing, so its time tells as little as its answer.
    """
    now = now or utcnow()
    day = now.astimezone(UK).date()
    campaign_id = (
        session.scalar(sa.select(Campaign.id).where(Campaign.slug == slug))
        if isinstance(slug, str) and SLUG.fullmatch(slug)
        else None
    )
    which = slug if campaign_id is not None else "\x00unknown"
    digest = hmac.new(
        secret, f"campaign-scan\x00{which}\x00{day.isoformat()}\x00{visitor}".encode(), hashlib.sha256
    ).hexdigest()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    expires = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=UK).timestamp()  # the day's end
    # RETURNING, not rowcount: an ORM-enabled INSERT reports no row count on PostgreSQL.
    first = (
        session.execute(
            insert(RateLimitCounter)
            .values(window_digest=digest, count=1, expires_at=expires)
            .on_conflict_do_nothing(index_elements=["window_digest"])
            .returning(RateLimitCounter.window_digest)
        ).first()
        is not None
    )
    if first:
        _add_one(session, campaign_id, "scans", now)
    if random.random() < SWEEP_CHANCE:  # marks of past days, now and then (the limiter sweeps too)
        session.execute(sa.delete(RateLimitCounter).where(RateLimitCounter.expires_at < now.timestamp() - 3600))


class CampaignError(ValueError):
    """A campaign that cannot be created; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def slug_for(name: str) -> str:
    """A short web-safe name: lower case, words joined by hyphens.

    >>> slug_for("Posters: Stafford town centre (May)")
    'posters-stafford-town-centre-may'
    """
    words = re.findall(r"[a-z0-9]+", name.lower())
    return "-".join(words)[:32].strip("-")


def create_campaign(session: Session, actor, *, name: str, channel: str) -> Campaign:
    """Add a campaign with a unique slug (``-2``, ``-3``... when taken) and log it."""
    from dashboard.core.vocab import CAMPAIGN_CHANNELS
    from dashboard.registry import audit

    clean = " ".join((name or "").split())
    if not 3 <= len(clean) <= 120:
        raise CampaignError("name", "Give the campaign a name of 3 to 120 characters.")
    if channel not in CAMPAIGN_CHANNELS:
        raise CampaignError("channel", f"Choose a channel: {', '.join(CAMPAIGN_CHANNELS.values())}.")
    base = slug_for(clean)
    if len(base) < 3:
        raise CampaignError("name", "Use at least three letters or digits in the name.")
    taken = set(session.scalars(sa.select(Campaign.slug).where(Campaign.slug.like(f"{base}%"))))
    slug = base if base not in taken else next(f"{base}-{i}" for i in range(2, 10_000) if f"{base}-{i}" not in taken)
    campaign = Campaign(slug=slug, name=clean, channel=channel, created_at=utcnow())
    session.add(campaign)
    session.flush()
    audit.record(
        session, actor, "campaign_created", subject_ids=[campaign.id], detail={"slug": slug, "channel": channel}
    )
    return campaign


def campaign_totals(session: Session):
    """Every campaign with its funnel totals so far: a frame of slug, name, channel, created_at,
    scans, form_starts, completions and completion_keys (the sum modulo 256 of its days' completion
    keys: the cell key of all its completions, for the disclosure-control layer), ints, newest
    campaign first."""
    import pandas as pd

    steps = (*FUNNEL_STEPS, "completion_keys")
    totals = (
        sa.select(
            CampaignDailyCount.campaign_id, *[sa.func.sum(getattr(CampaignDailyCount, s)).label(s) for s in steps]
        )
        .group_by(CampaignDailyCount.campaign_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(
            Campaign.slug,
            Campaign.name,
            Campaign.channel,
            Campaign.created_at,
            *[sa.func.coalesce(totals.c[s], 0).label(s) for s in steps],
        )
        .outerjoin(totals, totals.c.campaign_id == Campaign.id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    ).all()
    frame = pd.DataFrame(rows, columns=["slug", "name", "channel", "created_at", *steps])
    frame = frame.astype({s: "int64" for s in steps})
    frame["completion_keys"] %= KEY_RANGE
    return frame
