"""Reading imported police.uk crimes back for gap analysis (public open data, no personal data)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.registry.models import Crime, CrimeImport

CRIME_COLUMNS = ["crime_id", "month", "crime_type", "lat", "lon", "lsoa_code"]


@dataclass(frozen=True)
class CrimeCatalogue:
    """What has been imported: files, months, crime types (with counts) and rows without coordinates."""

    files: int
    crimes: int
    without_coordinates: int
    months: list[dt.date]
    types: pd.DataFrame  # crime_type, crimes; most common first


def crime_catalogue(session: Session) -> CrimeCatalogue:
    files, without = session.execute(
        sa.select(sa.func.count(CrimeImport.id), sa.func.coalesce(sa.func.sum(CrimeImport.without_coordinates), 0))
    ).one()
    months = session.scalars(sa.select(Crime.month).distinct().order_by(Crime.month)).all()
    types = pd.DataFrame(session.execute(
        sa.select(Crime.crime_type, sa.func.count().label("crimes")).group_by(Crime.crime_type)
        .order_by(sa.func.count().desc(), Crime.crime_type)
    ).all(), columns=["crime_type", "crimes"])
    return CrimeCatalogue(int(files), int(types["crimes"].sum()) if len(types) else 0, int(without), list(months),
                          types.astype({"crimes": "int64"}))


def crimes_in(session: Session, first_month: dt.date | None, last_month: dt.date | None,
              crime_types: Sequence[str] | None) -> tuple[pd.DataFrame, int]:
    """Crimes with coordinates in the months and types chosen (None: all), and how many more
    matched but have no coordinates (police.uk leaves some unplaced)."""
    where = []
    if first_month is not None:
        where.append(Crime.month >= first_month)
    if last_month is not None:
        where.append(Crime.month <= last_month)
    if crime_types is not None:
        where.append(Crime.crime_type.in_(list(crime_types)))
    located = sa.and_(Crime.lat.is_not(None), Crime.lon.is_not(None))
    rows = session.execute(
        sa.select(Crime.id, Crime.month, Crime.crime_type, Crime.lat, Crime.lon, Crime.lsoa_code)
        .where(*where, located).order_by(Crime.id)
    ).all()
    unplaced = session.scalar(sa.select(sa.func.count()).select_from(Crime).where(*where, ~located)) or 0
    frame = pd.DataFrame(rows, columns=CRIME_COLUMNS).astype({"crime_id": "int64", "lat": "float64", "lon": "float64"})
    return frame, int(unplaced)


def latest_import(session: Session) -> int:
    """Id of the newest crime import (0 if none): changes whenever crimes are imported."""
    return int(session.scalar(sa.select(sa.func.max(CrimeImport.id))) or 0)
