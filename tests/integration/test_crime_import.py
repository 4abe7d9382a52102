"""police.uk street-level crime files: the real samples import whole; a malformed file imports
nothing and says what is wrong; rows without coordinates are kept and reported; no file twice."""
from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from dashboard.config import PROJECT_ROOT
from dashboard.registry.crime_import import COLUMNS, CrimeFileError, import_crimes, parse_police_uk_csv
from dashboard.registry.database import make_engine, migrate, session_factory, transaction
from dashboard.registry.models import AuditEvent, Crime, CrimeImport
from dashboard.security import audit

SYSTEM = audit.SYSTEM


@pytest.fixture(scope="module")
def samples(reference_dir) -> list[Path]:
    files = sorted((reference_dir / "police_uk").glob("*-street.csv"))
    assert len(files) >= 12
    return files


def _expected(path: Path) -> tuple[int, int, set[str]]:
    """Rows, rows without coordinates and months, read independently with the csv module."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    return len(rows), sum(1 for r in rows if not r["Longitude"] or not r["Latitude"]), {r["Month"] for r in rows}


def _csv(rows: list[list[str]], header=COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


GOOD = ["abc123", "2025-03", "Staffordshire Police", "Staffordshire Police", "-2.03", "52.68", "On or near Park Road",
        "E01029359", "Cannock Chase 012A", "Burglary", "Under investigation", ""]


def test_every_real_sample_imports_whole(sqlite_url, samples):
    engine = make_engine(sqlite_url)
    migrate(engine)
    sessions = session_factory(engine)
    expected_total = 0
    for path in samples:
        rows, without, months = _expected(path)
        parsed = parse_police_uk_csv(path.read_bytes(), path.name)
        assert (len(parsed.rows), parsed.without_coordinates) == (rows, without)
        assert {f"{m:%Y-%m}" for m in parsed.months} == months
        with transaction(sessions) as s:
            done = import_crimes(s, parsed, SYSTEM)
        assert done.rows == rows
        expected_total += rows
    with sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Crime)) == expected_total
        first = s.scalar(sa.select(Crime).order_by(Crime.id))
        assert first.month == dt.date(2024, 12, 1) and first.lat is not None and first.crime_type
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "crimes_imported")) == len(samples)


@pytest.mark.parametrize("data,fragment", [
    (b"", "is empty"),
    (_csv([GOOD], header=COLUMNS[:-1]), "missing Context"),
    (_csv([GOOD[:5] + ["north"] + GOOD[6:]]), "line 2: Latitude 'north' is not a number"),
    (_csv([GOOD, GOOD[:5] + ["95.5"] + GOOD[6:]]), "line 3: Latitude 95.5 is out of range"),
    (_csv([GOOD[:1] + ["March 2025"] + GOOD[2:]]), "line 2: Month 'March 2025' is not a month"),
    (_csv([GOOD[:4] + ["", "52.6"] + GOOD[6:]]), "only one of Longitude and Latitude"),
    (_csv([GOOD[:9] + [""] + GOOD[10:]]), "Crime type is empty"),
    (_csv([GOOD[:6]]), "6 values where the layout has 12"),
    (_csv([]), "no records"),
    ("Crime ID,Month\n".encode("utf-16"), "not UTF-8"),
])
def test_a_malformed_file_says_what_is_wrong(data, fragment):
    with pytest.raises(CrimeFileError) as info:
        parse_police_uk_csv(data, "upload.csv")
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_rows_without_coordinates_are_kept_and_counted(sqlite_url):
    engine = make_engine(sqlite_url)
    migrate(engine)
    data = _csv([GOOD, GOOD[:4] + ["", ""] + GOOD[6:], ["", "2025-03", *GOOD[2:9], "Anti-social behaviour", "", ""]])
    parsed = parse_police_uk_csv(data, "mixed.csv")
    assert (len(parsed.rows), parsed.without_coordinates) == (3, 1)
    with transaction(session_factory(engine)) as s:
        import_crimes(s, parsed, SYSTEM)
    with session_factory(engine)() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Crime).where(Crime.lat.is_(None))) == 1
        assert s.scalar(sa.select(CrimeImport.without_coordinates)) == 1


def _cli(env: dict, *files) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", "crimes", "import", *map(str, files)], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_the_command_is_all_or_nothing_and_refuses_a_file_twice(tmp_path, reference_dir, samples):
    import os

    db = tmp_path / "crimes.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "REFERENCE_DATA_DIR": str(reference_dir),
           "SECRET_KEY": "k" * 48}
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv([GOOD[:1] + ["2025-13"] + GOOD[2:]]))
    refused = _cli(env, samples[0], bad)
    assert refused.returncode == 2 and "bad.csv" in refused.stderr and "Nothing was imported" in refused.stderr
    assert "Traceback" not in refused.stderr
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)  # the refused command checked the files before it touched the database
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM crime")).scalar() == 0
    done = _cli(env, samples[0], samples[1])
    assert done.returncode == 0, done.stderr
    rows0 = _expected(samples[0])[0]
    assert f"{rows0:,} crimes" in done.stdout and "0 without coordinates" in done.stdout
    again = _cli(env, samples[1])
    assert again.returncode == 2 and "already imported" in again.stderr
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM crime")).scalar() == rows0 + _expected(samples[1])[0]
