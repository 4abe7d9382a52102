"""Read-only queries the dashboard pages and the API share.

Counts come out with their cell keys (the sum of the counted records' keys modulo 256, for the
disclosure-control layer); what may be shown is decided by the layer, never here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from dashboard.core.cell_keys import KEY_RANGE
from dashboard.core.uktime import UK
from dashboard.core.vocab import RECENT_DAYS
from dashboard.registry import summaries


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
    """Headline counts of the active register at ``now`` (an aware datetime), with their keys, from
    the register's summary table (a few small reads, whatever the register's size). Every site has
    a district, so the totals are the districts' sums (the same records, so the same keys)."""
    today = now.astimezone(UK).date()
    before, before_key = summaries.registered_before(session, today - dt.timedelta(days=RECENT_DAYS - 1))
    by_district = registrations_by_area(session, "district").rename(columns={"area_code": "district_code"})
    return RegistrySummary(
        active_registrations=int(by_district["registrations"].sum()),
        registrations_key=_key(by_district["registrations_key"].sum()),
        active_cameras=int(by_district["cameras"].sum()),
        cameras_key=_key(by_district["cameras_key"].sum()),
        registered_before_recent=before,
        before_recent_key=_key(before_key),
        today=today,
        by_district=by_district,
    )


def registrations_by_area(session: Session, level: str) -> pd.DataFrame:
    """Active registrations and their active cameras per district or small area (LSOA), with the
    cell keys of each: columns ``summaries.AREA_COUNT_COLUMNS`` (keys 0..255; areas without a registration
    are absent), from the register's summary table."""
    return summaries.area_counts(session, level)
