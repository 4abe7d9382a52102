"""Reading imported police.uk crimes back for the gap analysis and the crime data page (public
open data, no personal data; the crimes' record keys are for the disclosure-control layer only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.registry.models import Crime, CrimeImport, User


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
    types = pd.DataFrame(
        session.execute(
            sa.select(Crime.crime_type, sa.func.count().label("crimes"))
            .group_by(Crime.crime_type)
            .order_by(sa.func.count().desc(), Crime.crime_type)
        ).all(),
        columns=["crime_type", "crimes"],
    )
    return CrimeCatalogue(
        int(files),
        int(types["crimes"].sum()) if len(types) else 0,
        int(without),
        list(months),
        types.astype({"crimes": "int64"}),
    )


def latest_import(session: Session) -> int:
    """Id of the newest crime import (0 if none): changes whenever crimes are imported."""
    return int(session.scalar(sa.select(sa.func.max(CrimeImport.id))) or 0)


LOCATED_COLUMNS = ["month", "crime_type", "lat", "lon", "lsoa_code", "record_key"]


def located_crimes(session: Session) -> pd.DataFrame:
    """Every imported crime with coordinates: columns ``LOCATED_COLUMNS`` (``record_key`` is the
    disclosure-control key, never shown)."""
    rows = session.execute(
        sa.select(
            Crime.month, Crime.crime_type, Crime.lat, Crime.lon, Crime.lsoa_code, sa.func.coalesce(Crime.record_key, 0)
        )
        .where(Crime.lat.is_not(None), Crime.lon.is_not(None))
        .order_by(Crime.id)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=LOCATED_COLUMNS).astype(
        {"lat": "float64", "lon": "float64", "record_key": "int64"}
    )


def unlocated_crimes(session: Session) -> pd.DataFrame:
    """Imported crimes police.uk gave no coordinates, counted by month and type: columns month,
    crime_type, crimes."""
    rows = session.execute(
        sa.select(Crime.month, Crime.crime_type, sa.func.count())
        .where(sa.or_(Crime.lat.is_(None), Crime.lon.is_(None)))
        .group_by(Crime.month, Crime.crime_type)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["month", "crime_type", "crimes"]).astype({"crimes": "int64"})


IMPORT_COLUMNS = [
    "filename",
    "sha256",
    "rows",
    "without_coordinates",
    "first_month",
    "last_month",
    "months",
    "imported_at",
    "imported_by",
]


def crime_imports(session: Session) -> pd.DataFrame:
    """Every crime file imported, newest first: columns ``IMPORT_COLUMNS`` (``imported_by`` is the
    administrator's username, or "command line")."""
    months = (
        sa.select(
            Crime.import_id,
            sa.func.min(Crime.month).label("first"),
            sa.func.max(Crime.month).label("last"),
            sa.func.count(sa.distinct(Crime.month)).label("n"),
        )
        .group_by(Crime.import_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(
            CrimeImport.filename,
            CrimeImport.file_sha256,
            CrimeImport.rows,
            CrimeImport.without_coordinates,
            months.c.first,
            months.c.last,
            months.c.n,
            CrimeImport.imported_at,
            User.username,
        )
        .outerjoin(months, months.c.import_id == CrimeImport.id)
        .outerjoin(User, User.id == CrimeImport.imported_by_id)
        .order_by(CrimeImport.imported_at.desc(), CrimeImport.id.desc())
    ).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=IMPORT_COLUMNS)
    frame["imported_by"] = frame["imported_by"].fillna("command line")
    return frame.astype({"rows": "int64", "without_coordinates": "int64"})
