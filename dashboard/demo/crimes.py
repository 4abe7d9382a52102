"""The demo's crime data: the real police.uk months shipped with the reference data
(``REFERENCE_DATA_DIR/police_uk/*.csv``), imported as the demo administrator's import, so the gap
analysis has data on first run.

It is the same import as the Crime data page and ``python -m dashboard crimes import``
(:mod:`dashboard.registry.crime_import`): every file checked whole first, a random record key per
crime, one ``crimes_imported`` audit row per file with its SHA-256, by ``admin.demo``. A file whose
SHA-256 is already imported is left alone, so serving the demo again imports nothing twice. A
force whose reference folder has no ``police_uk`` folder gets a demo without crimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from dashboard.registry import audit, summaries
from dashboard.registry.crime_import import CrimeFileError, Imported, ParsedCrimes, import_crimes, parse_police_uk_csv
from dashboard.registry.database import transaction
from dashboard.registry.models import CrimeImport, User

CRIME_FOLDER = "police_uk"
DEMO_ADMIN = "admin.demo"


class DemoCrimesError(ValueError):
    """A demo crime file cannot be imported; the message is one line naming it."""


@dataclass(frozen=True)
class DemoCrimes:
    imported: list[tuple[str, Imported]]  # (file name, what was stored), in file-name order
    already: list[str]  # files whose SHA-256 was imported before: left alone

    @property
    def rows(self) -> int:
        return sum(done.rows for _, done in self.imported)


def sample_files(reference_dir: Path) -> list[Path]:
    """The police.uk files the demo imports: ``police_uk/*.csv`` in the reference folder, by name."""
    folder = Path(reference_dir) / CRIME_FOLDER
    return sorted(p for p in folder.glob("*.csv") if p.is_file()) if folder.is_dir() else []


def parse_samples(files: list[Path]) -> list[ParsedCrimes]:
    """Check every file whole before anything is built; raise :class:`DemoCrimesError` naming the first bad one."""
    parsed = []
    for path in files:
        try:
            parsed.append(parse_police_uk_csv(path.read_bytes(), path.name))
        except (CrimeFileError, OSError) as exc:
            raise DemoCrimesError(f"the demo's crime file {path} cannot be imported: {exc}") from None
    return parsed


def import_samples(sessions: sessionmaker[Session], parsed: list[ParsedCrimes], ref) -> DemoCrimes:
    """Import the files not imported yet as ``admin.demo``'s import, in one transaction (all or none),
    and count the gap analysis's summaries for them (``summaries.rebuild_gap``, with the reference
    geography ``ref``)."""
    imported, already = [], []
    with transaction(sessions) as s:
        admin = s.scalar(sa.select(User).where(User.username == DEMO_ADMIN))
        if admin is None:
            raise DemoCrimesError(f"the demo's crime data is imported by {DEMO_ADMIN}, and there is no such account")
        actor = audit.Actor(admin.id, admin.username, admin.role)
        for p in parsed:
            if s.scalar(sa.select(CrimeImport.id).where(CrimeImport.file_sha256 == p.sha256)) is not None:
                already.append(p.filename)
                continue
            imported.append((p.filename, import_crimes(s, p, actor, ref, count=False)))
        if imported:
            summaries.rebuild_gap(s, ref)
    return DemoCrimes(imported, already)
