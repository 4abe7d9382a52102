"""Import police.uk street-level crime CSVs (the official layout) for gap analysis.

A data-management action for administrators only (the "Crime data" page, or the command line
``python -m dashboard crimes import``): an analyst who could add crimes of their own could place
probe points next to a house and read the gap analysis's answer for them (issue 14).

A file is checked whole before anything is stored: a malformed file gets one clear message
naming the line and the problem, and imports nothing. Only the official layout is accepted, with
the official street-level crime categories (:data:`CRIME_CATEGORIES`): an invented ``Crime type``
is refused. Rows without coordinates are kept (counted in totals) and reported, never silently
dropped. The same file twice is refused. Every import is in the audit log with the file's name,
SHA-256, rows and months. Each crime gets a random record key for the disclosure-control layer.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.cell_keys import new_record_key
from dashboard.registry import audit
from dashboard.registry.bulk_copy import copies, copy_columns
from dashboard.registry.models import Crime, CrimeImport, utcnow

COLUMNS = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)
MAX_BYTES = 50 * 1024 * 1024
LIMITS = {
    "Crime ID": 80,
    "Reported by": 80,
    "Falls within": 80,
    "Location": 200,
    "LSOA code": 9,
    "LSOA name": 80,
    "Crime type": 60,
    "Last outcome category": 120,
    "Context": 500,
}
# The police.uk street-level crime categories (data.police.uk/docs/method/crime-street/ and
# /api/crime-categories), as they are spelt in the CSV files' "Crime type" column.
CRIME_CATEGORIES = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)
_CATEGORY_SET = frozenset(CRIME_CATEGORIES)
# Who may import: administrators, and the operator's command line (an actor without a role).
IMPORT_ROLES = frozenset({"admin", None})


class CrimeFileError(ValueError):
    """The file is not a police.uk street-level crime CSV that can be imported; nothing was stored."""


class CrimeImportNotAllowed(PermissionError):
    """Only administrators (and the command line) import crime data."""


@dataclass(frozen=True)
class ParsedCrimes:
    filename: str
    sha256: str
    rows: list[dict]
    without_coordinates: int

    @property
    def months(self) -> list[dt.date]:
        return sorted({r["month"] for r in self.rows})


@dataclass(frozen=True)
class Imported:
    import_id: int
    rows: int
    without_coordinates: int
    months: list[dt.date]


def _month(text: str, line: int) -> dt.date:
    try:
        return dt.datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise CrimeFileError(f"line {line}: Month {text!r} is not a month like 2025-01.") from None


def _coordinate(text: str, name: str, low: float, high: float, line: int) -> float | None:
    text = text.strip()
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise CrimeFileError(f"line {line}: {name} {text!r} is not a number.") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise CrimeFileError(f"line {line}: {name} {value} is out of range ({low:g} to {high:g}).")
    return value


def parse_police_uk_csv(data: bytes, filename: str) -> ParsedCrimes:
    """Check and read one file; raise :class:`CrimeFileError` with one line if anything is wrong."""
    if not data.strip():
        raise CrimeFileError(f"{filename} is empty.")
    if len(data) > MAX_BYTES:
        raise CrimeFileError(f"{filename} is larger than {MAX_BYTES // (1024 * 1024)} MB; split it by month.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CrimeFileError(f"{filename} is not UTF-8 text; download it again from data.police.uk.") from None
    try:
        return _parse_rows(csv.reader(io.StringIO(text, newline="")), data, filename)
    except csv.Error as exc:
        raise CrimeFileError(f"{filename} is not readable as CSV ({exc}).") from None
    except CrimeFileError as exc:
        if str(exc).startswith("line "):  # name the file as well as the line
            raise CrimeFileError(f"{filename}, {exc}") from None
        raise


def _parse_rows(reader, data: bytes, filename: str) -> ParsedCrimes:
    header = [h.strip() for h in next(reader)]
    if tuple(header) != COLUMNS:
        missing = [c for c in COLUMNS if c not in header]
        detail = f"missing {', '.join(missing)}" if missing else f"columns are {', '.join(header)}"
        raise CrimeFileError(
            f"{filename} is not in the police.uk street-level layout ({detail}); expected: {', '.join(COLUMNS)}."
        )
    rows, without = [], 0
    for line, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(COLUMNS):
            raise CrimeFileError(f"line {line}: {len(values)} values where the layout has {len(COLUMNS)}.")
        record = dict(zip(COLUMNS, (v.strip() for v in values)))
        for column, value in record.items():
            # NUL and other control characters (a tab or a line break inside a quoted value is kept):
            # PostgreSQL cannot store a NUL, and no real value has one.
            bad = next((c for c in value if (ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127), None)
            if bad is not None:
                raise CrimeFileError(f"line {line}: {column} contains a control character (U+{ord(bad):04X}).")
        for column, limit in LIMITS.items():
            if len(record[column]) > limit:
                raise CrimeFileError(f"line {line}: {column} is longer than {limit} characters.")
        if not record["Crime type"]:
            raise CrimeFileError(f"line {line}: Crime type is empty.")
        if record["Crime type"] not in _CATEGORY_SET:
            raise CrimeFileError(
                f"line {line}: Crime type {record['Crime type']!r} is not a police.uk street-level "
                "crime category (one of: " + ", ".join(CRIME_CATEGORIES) + ")."
            )
        lon = _coordinate(record["Longitude"], "Longitude", -180, 180, line)
        lat = _coordinate(record["Latitude"], "Latitude", -90, 90, line)
        if (lon is None) != (lat is None):
            raise CrimeFileError(f"line {line}: only one of Longitude and Latitude is given.")
        without += lon is None
        rows.append(
            {
                "crime_ref": record["Crime ID"] or None,
                "month": _month(record["Month"], line),
                "reported_by": record["Reported by"],
                "falls_within": record["Falls within"],
                "lon": lon,
                "lat": lat,
                "location": record["Location"],
                "lsoa_code": record["LSOA code"] or None,
                "lsoa_name": record["LSOA name"] or None,
                "crime_type": record["Crime type"],
                "last_outcome": record["Last outcome category"],
                "context": record["Context"],
            }
        )
    if not rows:
        raise CrimeFileError(f"{filename} has the right columns but no records.")
    return ParsedCrimes(filename, hashlib.sha256(data).hexdigest(), rows, without)


def import_crimes(session: Session, parsed: ParsedCrimes, actor: audit.Actor, ref, *, count: bool = True) -> Imported:
    """Store a parsed file in the caller's transaction; refuse a file imported before, and any
    actor but an administrator or the command line (:class:`CrimeImportNotAllowed`). Then place the
    crimes with the reference geography ``ref`` and count the gap analysis's summaries of the
    register near them again (``summaries.rebuild_gap``: seconds at a million cameras); ``count``
    False leaves that to the caller, who imports several files and counts once after them."""
    if actor.role not in IMPORT_ROLES:
        raise CrimeImportNotAllowed("Only administrators import crime data.")
    earlier = session.scalar(sa.select(CrimeImport).where(CrimeImport.file_sha256 == parsed.sha256))
    if earlier is not None:
        raise CrimeFileError(
            f"{parsed.filename} was already imported on {earlier.imported_at:%Y-%m-%d} (as {earlier.filename})."
        )
    batch = CrimeImport(
        filename=parsed.filename[:200],
        file_sha256=parsed.sha256,
        rows=len(parsed.rows),
        without_coordinates=parsed.without_coordinates,
        imported_at=utcnow(),
        imported_by_id=actor.user_id,
    )
    session.add(batch)
    session.flush()
    conn = session.connection()
    if copies(conn):  # PostgreSQL: the rows by COPY, column by column, in this transaction
        columns = {name: [r[name] for r in parsed.rows] for name in parsed.rows[0]}
        keys = [new_record_key() for _ in parsed.rows]
        copy_columns(conn, Crime.__table__, {**columns, "import_id": [batch.id] * len(keys), "record_key": keys})
    else:
        session.execute(
            sa.insert(Crime), [{**r, "import_id": batch.id, "record_key": new_record_key()} for r in parsed.rows]
        )
    audit.record(
        session,
        actor,
        "crimes_imported",
        subject_ids=[batch.id],
        detail={
            "file": parsed.filename[:200],
            "sha256": parsed.sha256,
            "rows": len(parsed.rows),
            "months": [f"{m:%Y-%m}" for m in parsed.months],
            "without_coordinates": parsed.without_coordinates,
        },
    )
    if count:
        from dashboard.registry import summaries  # here: summaries reads this module's categories

        summaries.rebuild_gap(session, ref)
    return Imported(batch.id, len(parsed.rows), parsed.without_coordinates, parsed.months)
