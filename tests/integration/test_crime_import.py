"""police.uk street-level crime files: the real samples import whole; a malformed file (or one with
an invented crime type) imports nothing and says what is wrong, naming the line; rows without
coordinates are kept and reported; no file twice. Importing is an administrator's action (the
Crime data page, or the command line), logged with the file's name, SHA-256, rows and months;
analysts and leads cannot import by any route."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from dash import no_update

from dashboard.config import PROJECT_ROOT
from dashboard.pages import crime_data
from dashboard.registry import audit
from dashboard.registry.crime_import import (
    COLUMNS,
    CRIME_CATEGORIES,
    CrimeFileError,
    CrimeImportNotAllowed,
    import_crimes,
    parse_police_uk_csv,
)
from dashboard.registry.database import make_engine, migrate, session_factory, transaction
from dashboard.registry.models import AuditEvent, Crime, CrimeImport
from tests.direct_calls import as_text, signed_in
from tests.integration.conftest import login

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


GOOD = [
    "abc123",
    "2025-03",
    "Staffordshire Police",
    "Staffordshire Police",
    "-2.03",
    "52.68",
    "On or near Park Road",
    "E01029359",
    "Cannock Chase 012A",
    "Burglary",
    "Under investigation",
    "",
]


def test_every_real_sample_imports_whole(sqlite_url, samples):
    engine = make_engine(sqlite_url)
    migrate(engine)
    sessions = session_factory(engine)
    expected_total, expected_details = 0, []
    for path in samples:
        rows, without, months = _expected(path)
        parsed = parse_police_uk_csv(path.read_bytes(), path.name)
        assert (len(parsed.rows), parsed.without_coordinates) == (rows, without)
        assert {f"{m:%Y-%m}" for m in parsed.months} == months
        with transaction(sessions) as s:
            done = import_crimes(s, parsed, SYSTEM, None, count=False)
        assert done.rows == rows
        expected_total += rows
        expected_details.append(
            {
                "file": path.name,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "rows": rows,
                "months": sorted(months),
                "without_coordinates": without,
            }
        )
    with sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Crime)) == expected_total
        first = s.scalar(sa.select(Crime).order_by(Crime.id))
        assert first.month == dt.date(2024, 12, 1) and first.lat is not None and first.crime_type
        details = s.scalars(
            sa.select(AuditEvent.detail).where(AuditEvent.action == "crimes_imported").order_by(AuditEvent.id)
        ).all()
        assert [json.loads(d) for d in details] == expected_details
        # every crime has its own record key for the disclosure-control layer
        keys = s.scalars(sa.select(Crime.record_key)).all()
        assert None not in keys and len(set(keys)) > 200


def test_the_official_categories_are_those_of_the_real_files(samples):
    """The 14 police.uk street-level categories, as the real files spell them (read with csv)."""
    seen = set()
    for path in samples:
        with path.open(newline="", encoding="utf-8-sig") as f:
            seen |= {r["Crime type"] for r in csv.DictReader(f)}
    assert len(CRIME_CATEGORIES) == 14 and seen <= set(CRIME_CATEGORIES) and len(seen) >= 12


@pytest.mark.parametrize(
    "data,fragment",
    [
        (b"", "is empty"),
        (_csv([GOOD], header=COLUMNS[:-1]), "missing Context"),
        (_csv([GOOD[:5] + ["north"] + GOOD[6:]]), "line 2: Latitude 'north' is not a number"),
        (_csv([GOOD, GOOD[:5] + ["95.5"] + GOOD[6:]]), "line 3: Latitude 95.5 is out of range"),
        (_csv([GOOD[:1] + ["March 2025"] + GOOD[2:]]), "line 2: Month 'March 2025' is not a month"),
        (_csv([GOOD[:4] + ["", "52.6"] + GOOD[6:]]), "only one of Longitude and Latitude"),
        (_csv([GOOD[:9] + [""] + GOOD[10:]]), "Crime type is empty"),
        (
            _csv([GOOD, GOOD[:9] + ["Probe 17"] + GOOD[10:]]),
            "line 3: Crime type 'Probe 17' is not a police.uk street-level crime category",
        ),
        (_csv([GOOD[:9] + ["burglary"] + GOOD[10:]]), "line 2: Crime type 'burglary' is not a police.uk"),
        (_csv([GOOD, GOOD, GOOD[:9] + ["Other crime (padding)"] + GOOD[10:]]), "line 4: Crime type"),
        (_csv([GOOD[:6]]), "6 values where the layout has 12"),
        # PostgreSQL cannot store a NUL: the import failed there with a database error, not a line
        (_csv([GOOD, GOOD[:6] + ["On or near Main\x00 Street"] + GOOD[7:]]), "line 3: Location contains a control"),
        (_csv([GOOD[:11] + ["see\x1bnote"]]), "line 2: Context contains a control character (U+001B)"),
        (_csv([]), "no records"),
        ("Crime ID,Month\n".encode("utf-16"), "not UTF-8"),
    ],
)
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
        import_crimes(s, parsed, SYSTEM, None, count=False)
    with session_factory(engine)() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Crime).where(Crime.lat.is_(None))) == 1
        assert s.scalar(sa.select(CrimeImport.without_coordinates)) == 1


def _cli(env: dict, *files) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dashboard", "crimes", "import", *map(str, files)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_is_all_or_nothing_and_refuses_a_file_twice(tmp_path, reference_dir, samples):
    import os

    db = tmp_path / "crimes.db"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "k" * 48,
    }
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
        logged = conn.execute(
            sa.text("SELECT username, role, detail FROM audit_event WHERE action = 'crimes_imported' ORDER BY id")
        ).all()
    assert [(u, r) for u, r, _ in logged] == [("command line", None)] * 2
    assert [json.loads(d)["sha256"] for _, _, d in logged] == [
        hashlib.sha256(p.read_bytes()).hexdigest() for p in samples[:2]
    ]
    assert json.loads(logged[0][2])["months"] == sorted(_expected(samples[0])[2])


def test_the_gap_analysis_reads_the_crimes_back_on_either_database(db_url, reference, samples):
    """What the gap analysis and the Crime data page read, on SQLite and PostgreSQL/PostGIS alike."""
    from dashboard.analytics.gap_report import gap_crimes
    from dashboard.registry.crime_queries import crime_catalogue, crime_imports, located_crimes, unlocated_crimes

    engine = make_engine(db_url)
    migrate(engine)
    sessions = session_factory(engine)
    data = _csv([GOOD, GOOD[:4] + ["", ""] + GOOD[6:], GOOD[:1] + ["2025-04"] + GOOD[2:9] + ["Drugs"] + GOOD[10:]])
    with transaction(sessions) as s:
        import_crimes(s, parse_police_uk_csv(samples[0].read_bytes(), samples[0].name), SYSTEM, None, count=False)
        import_crimes(s, parse_police_uk_csv(data, "small.csv"), SYSTEM, None, count=False)
    rows0, without0, months0 = _expected(samples[0])
    with sessions() as s:
        located, unlocated = located_crimes(s), unlocated_crimes(s)
        files, catalogue = crime_imports(s), crime_catalogue(s)
    assert len(located) == rows0 - without0 + 2 and int(unlocated["crimes"].sum()) == without0 + 1
    assert located["record_key"].between(0, 255).all()
    assert sorted(files["filename"]) == sorted([samples[0].name, "small.csv"])
    small = files.set_index("filename").loc["small.csv"]
    assert (small["rows"], small["without_coordinates"], small["months"]) == (3, 1, 2)
    assert (f"{small['first_month']:%Y-%m}", f"{small['last_month']:%Y-%m}") == ("2025-03", "2025-04")
    assert catalogue.crimes == rows0 + 3
    arranged = gap_crimes(reference, located, unlocated)
    assert {f"{m:%Y-%m}" for m in arranged.months} == months0 | {"2025-03", "2025-04"}
    assert int(arranged.cube.sum()) + int(arranged.outside.sum()) == len(located)
    assert int(arranged.unplaced.sum()) == without0 + 1


def test_only_administrators_and_the_command_line_may_import(sqlite_url):
    engine = make_engine(sqlite_url)
    migrate(engine)
    parsed = parse_police_uk_csv(_csv([GOOD]), "one.csv")
    for role in ("analyst", "lead", "officer", "auditor"):
        with pytest.raises(CrimeImportNotAllowed):
            with transaction(session_factory(engine)) as s:
                import_crimes(s, parsed, audit.Actor(1, f"{role}1", role), None, count=False)
    with session_factory(engine)() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Crime)) == 0
    with transaction(session_factory(engine)) as s:
        import_crimes(s, parsed, audit.Actor(None, "command line", None), None, count=False)
    with session_factory(engine)() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Crime)) == 1


def _upload_body(app, name: str, data: bytes, output_ids=("crimes-upload-result",)) -> dict:
    key = next(k for k in app.callback_map if "crimes-upload-result.children" in k)
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in key.strip(".").split("...") if p]
    contents = "data:text/csv;base64," + base64.b64encode(data).decode()
    return {
        "output": key,
        "outputs": outputs,
        "changedPropIds": ["crimes-upload.contents"],
        "inputs": [{"id": "crimes-upload", "property": "contents", "value": contents}],
        "state": [{"id": "crimes-upload", "property": "filename", "value": name}],
    }


def _upload(app, name: str, data: bytes, as_user: str = "admin1") -> dict:
    """The crime data page's upload callback called directly, as the browser would send ``data``."""
    with signed_in(app, as_user):
        return crime_data.import_upload("data:text/csv;base64," + base64.b64encode(data).decode(), name)


def test_the_upload_says_what_it_imported_and_shows_the_imports_now(app, runtime):
    """Worked out by hand: two crimes in March 2025, one of them without coordinates, and a drugs
    crime in April 2025."""
    data = _csv([GOOD, GOOD[:4] + ["", ""] + GOOD[6:], GOOD[:1] + ["2025-04"] + GOOD[2:9] + ["Drugs"] + GOOD[10:]])
    done = _upload(app, "mixed.csv", data)
    assert as_text(done["result"]).count("Imported 3 crimes from mixed.csv (2025-03, 2025-04). 1 have no ") == 1
    assert done["summary"] == "3 crimes from 1 file(s), March 2025 to April 2025; 1 without coordinates."
    [row] = done["imports"]
    assert (row["filename"], row["months"], row["rows"], row["without_coordinates"], row["imported_by"]) == (
        "mixed.csv",
        "2025-03 to 2025-04 (2 months)",
        3,
        1,
        "admin1",
    )
    # Not a data URL, and the same file again: nothing imported, the summary and table left as they were.
    with signed_in(app, "admin1"):
        unread = crime_data.import_upload("data:text/csv,abc", "plain.csv")
    assert "plain.csv could not be read; choose the file again." in as_text(unread["result"])
    again = _upload(app, "mixed-again.csv", data)
    assert "Nothing was imported" in as_text(again["result"])
    assert (unread["summary"], unread["imports"], again["summary"], again["imports"]) == (no_update,) * 4
    assert _crimes(runtime) == 3


def _crimes(runtime) -> int:
    with runtime.sessions() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Crime))


def test_an_administrator_imports_on_the_crime_data_page(app, runtime, reference_dir):
    client = app.server.test_client()
    login(client, "admin")
    page = client.post(
        "/_dash-update-component",
        json={
            "output": "shell-content.children",
            "outputs": {"id": "shell-content", "property": "children"},
            "inputs": [{"id": "shell-url", "property": "pathname", "value": "/crime-data"}],
            "changedPropIds": [],
            "state": [],
        },
    )
    assert page.status_code == 200 and "crimes-upload" in page.get_data(as_text=True)
    assert "No crime data imported yet" in page.get_data(as_text=True)

    sample = reference_dir / "police_uk" / "2025-02-staffordshire-street.csv"
    done = _upload(app, sample.name, sample.read_bytes())
    rows = _expected(sample)[0]
    assert f"Imported {rows:,} crimes from {sample.name} (2025-02)" in as_text(done["result"])
    table = done["imports"]
    assert [(r["filename"], r["rows"], r["months"], r["imported_by"]) for r in table] == [
        (sample.name, rows, "2025-02", "admin1")
    ]
    assert table[0]["sha256"] == hashlib.sha256(sample.read_bytes()).hexdigest()
    assert _crimes(runtime) == rows

    invented = _upload(app, "probes.csv", _csv([GOOD, GOOD[:9] + ["Probe 1"] + GOOD[10:]]))
    assert "Nothing was imported" in as_text(invented["result"])
    assert "line 3: Crime type 'Probe 1'" in as_text(invented["result"])
    assert (invented["summary"], invented["imports"]) == (no_update, no_update)  # the table is left as it was
    assert _crimes(runtime) == rows
    with runtime.sessions() as s:
        event = s.execute(
            sa.select(AuditEvent.username, AuditEvent.role, AuditEvent.detail).where(
                AuditEvent.action == "crimes_imported"
            )
        ).one()
    assert event.username == "admin1" and event.role == "admin"
    assert json.loads(event.detail) == {
        "file": sample.name,
        "sha256": hashlib.sha256(sample.read_bytes()).hexdigest(),
        "rows": rows,
        "months": ["2025-02"],
        "without_coordinates": 0,
    }


@pytest.mark.parametrize("role", ["analyst", "lead"])
def test_analysts_and_leads_cannot_import_by_any_route(app, runtime, reference_dir, role):
    client = app.server.test_client()
    login(client, role)
    data = (reference_dir / "police_uk" / "2025-03-staffordshire-street.csv").read_bytes()
    # the page, and anything under it
    assert client.get("/crime-data").status_code == 403
    assert client.get("/crime-data/anything").status_code == 403
    # the gap analysis page no longer offers an upload
    gaps = client.post(
        "/_dash-update-component",
        json={
            "output": "shell-content.children",
            "outputs": {"id": "shell-content", "property": "children"},
            "inputs": [{"id": "shell-url", "property": "pathname", "value": "/gaps"}],
            "changedPropIds": [],
            "state": [],
        },
    )
    assert gaps.status_code == 200 and "Upload" not in gaps.get_data(as_text=True)
    assert not any(k.startswith("gaps-upload") or "..gaps-upload" in k for k in app.callback_map)
    # the upload callback, forged with the upload component's ids
    forged = client.post("/_dash-update-component", json=_upload_body(app, "mine.csv", data))
    assert forged.status_code == 403
    # the same, its outputs renamed to the gap page's (which this role may use): no such callback
    body = _upload_body(app, "mine.csv", data)
    body["outputs"] = [{**o, "id": o["id"].replace("crimes-", "gaps-")} for o in body["outputs"]]
    body["output"] = body["output"].replace("crimes-", "gaps-")
    assert client.post("/_dash-update-component", json=body).status_code in (400, 403)
    # the old upload's ids on the gap page
    old = {
        "output": "..gaps-upload-result.children...gaps-version.data..",
        "outputs": [{"id": "gaps-upload-result", "property": "children"}, {"id": "gaps-version", "property": "data"}],
        "inputs": [
            {
                "id": "gaps-upload",
                "property": "contents",
                "value": "data:text/csv;base64," + base64.b64encode(data).decode(),
            }
        ],
        "state": [{"id": "gaps-upload", "property": "filename", "value": "mine.csv"}],
        "changedPropIds": [],
    }
    assert client.post("/_dash-update-component", json=old).status_code == 400
    # the gap analysis's file routes take no uploads
    for path in ("/gaps/export/areas.csv", "/gaps/export/areas.csv?period=all"):
        assert client.post(path, data=data, content_type="text/csv").status_code in (400, 405)
        assert client.put(path, data=data, content_type="text/csv").status_code in (400, 405)
    assert _crimes(runtime) == 0
