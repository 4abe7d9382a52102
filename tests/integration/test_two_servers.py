"""Issue 19's acceptance test: two app servers (separate OS processes, gunicorn as `python app.py`
serves) on one PostgreSQL database. A registration, a camera change and a withdrawal made through
server A are in server B's very next officer search, very next coverage cells, and very next uptake
district table and coverage area table.

Server B answers first (its caches are warm with the register as it was), then each change is made
through A's public API or the owner's own page, and B is asked at once: no sleep, no retry. What B
must answer is worked out independently each time: which cameras are mine (a plain SQL read of the
rows the registration made) and, for the cells, the true counts and record-key sums of the site's
cell read with plain SQL from the register's own rows (never from the summary table), turned into
published figures by the perturbation table.

Why the perturbation table and not exact counts: the settings cannot switch the disclosure layer off
(K_MIN is at least 2, DISCLOSURE_MAX_PERTURBATION at least 1), so the servers run with the smallest
values allowed (K = 2, adjustments of at most 1) and the expected figure is the true count plus the
table's adjustment for its cell key. Every step is chosen so that a server answering from stale
state cannot pass by chance:

- the registration adds 4 cameras to a cell, and two published camera counts 4 apart can never be
  equal when each is moved by at most 1;
- the camera change gives the cell a second registration with a camera of a kind that only one
  registration there had: the cell is missing from B's kind-filtered cells (fewer than K) before, and
  listed after;
- the withdrawal puts back exactly the records of before the registration, so the same records give
  the same answer: B's cells must equal, cell for cell, what B answered before the registration
  (the state just before the withdrawal is 4 cameras off in the unfiltered cells and lists the cell
  in the filtered ones).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import h3
import pandas as pd
import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.analytics.area_report import from_summaries as areas_from_summaries
from dashboard.analytics.disclosure import Disclosure, PTable
from dashboard.analytics.rounding import rounded_json
from dashboard.config import PROJECT_ROOT, load_settings
from dashboard.demo import generate_demo
from dashboard.registry.database import transaction
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user, issue_token
from tests.integration.conftest import PASSWORD

pytestmark = pytest.mark.postgres

K = 2  # the smallest K_MIN allowed
MAX_PERTURBATION = 1  # the smallest DISCLOSURE_MAX_PERTURBATION allowed
VARIANCE = 0.5  # below 1 x 2 / 3, as the settings require for an adjustment of at most 1
KINDS_FEW = ("ptz", "other")  # kinds the test looks for a cell with just one registration of
REASON = "Burglary reported at a house in this street overnight"
HTTP_TIMEOUT_S = 120  # a first request waits for the worker to finish starting


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- the shared database


def _env(database_url: str, reference_dir: Path, folder: Path) -> dict:
    """What both servers (and the set-up here) are configured with: the same database and keys."""
    return {
        "DATABASE_URL": database_url,
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "two-servers-secret-" + "s" * 40,
        "AUDIT_KEY": "two-servers-audit-" + "a" * 40,
        "K_MIN": str(K),
        "DISCLOSURE_MAX_PERTURBATION": str(MAX_PERTURBATION),
        "DISCLOSURE_VARIANCE": str(VARIANCE),
        "REGISTRATION_RATE_LIMIT": "1000 per hour",
        "SEARCH_RATE_LIMIT": "1000 per minute",
        "EVIDENCE_DIR": str(folder / "evidence"),  # a folder every server shares
        "AUDIT_CHECKPOINT_FILE": str(folder / "setup-audit-checkpoints.jsonl"),
    }


@dataclass(frozen=True)
class Place:
    """Where the test registers: a demo site's position in an r9 cell with other registrations,
    where exactly one registration has a camera of kind ``few``."""

    cell: str
    lat: float
    lon: float
    postcode: str
    few: str


def _choose_place(conn) -> Place:
    rows = conn.execute(
        sa.text(
            "SELECT s.h3_r9, r.id, c.kind FROM camera c JOIN site s ON s.id = c.site_id "
            "JOIN registrant r ON r.id = s.registrant_id "
            "WHERE c.active AND r.status = 'active' AND s.h3_r9 IS NOT NULL"
        )
    ).all()
    registrations: dict[str, set] = {}
    with_kind: dict[tuple[str, str], set] = {}
    for cell, rid, kind in rows:
        registrations.setdefault(cell, set()).add(rid)
        with_kind.setdefault((cell, kind), set()).add(rid)
    fitting = sorted(
        (-len(registrations[cell]), cell, kind)
        for (cell, kind), rids in with_kind.items()
        if kind in KINDS_FEW and len(rids) == 1 and len(registrations[cell]) >= 4
    )
    assert fitting, "the demo has no busy r9 cell with a single ptz or 'other' registration"
    _, cell, few = fitting[0]
    lat, lon, postcode = conn.execute(
        sa.text(
            "SELECT s.lat, s.lon, s.postcode FROM site s JOIN registrant r ON r.id = s.registrant_id "
            "WHERE s.h3_r9 = :cell AND r.status = 'active' AND s.postcode IS NOT NULL ORDER BY s.id LIMIT 1"
        ),
        {"cell": cell},
    ).one()
    return Place(cell, float(lat), float(lon), postcode, few)


@pytest.fixture
def shared_database(pg_url, reference_dir, reference, tmp_path):
    """A fresh PostgreSQL database with a 1,500-registration demo register, an officer and an
    analyst with API tokens, and the place to register at."""
    env = _env(pg_url, reference_dir, tmp_path)
    rt = prepare(load_settings(env))
    try:
        generate_demo(
            rt.engine,
            reference,
            seed=19,
            registrations=1500,
            as_of=dt.date(2026, 11, 29),
            pilot_start=dt.date(2026, 4, 13),
            public_launch=dt.date(2026, 7, 6),
        )
        with transaction(rt.sessions) as s:
            create_user(s, "officer1", PASSWORD, "officer")
            create_user(s, "analyst1", PASSWORD, "analyst")
            create_user(s, "lead1", PASSWORD, "lead")
        with transaction(rt.sessions) as s:
            officer, analyst, lead = issue_token(s, "officer1"), issue_token(s, "analyst1"), issue_token(s, "lead1")
        with rt.engine.connect() as conn:
            place = _choose_place(conn)
    finally:
        rt.engine.dispose()
    engine = sa.create_engine(pg_url)  # the test's own plain reads of the register
    yield {
        "env": env,
        "reference": reference,
        "engine": engine,
        "place": place,
        "officer": {"Authorization": f"Bearer {officer}"},
        "analyst": {"Authorization": f"Bearer {analyst}"},
        "lead": {"Authorization": f"Bearer {lead}"},
    }
    engine.dispose()


# --------------------------------------------------------------------------- two servers


@contextlib.contextmanager
def _servers(env: dict, folder: Path, names: tuple[str, ...], timeout_s: float = 180) -> Iterator[dict[str, str]]:
    """One `python app.py` (gunicorn, one worker) per name, all started at once, each on its own port
    with its own audit checkpoint file; yields their addresses once each serves a page, and stops
    every one of them afterwards (also when starting fails)."""
    procs: dict[str, tuple[subprocess.Popen, str, Path]] = {}
    try:
        for name in names:
            port = _free_port()
            log_path = folder / f"server-{name}.log"
            own = {
                **os.environ,
                **env,
                "PORT": str(port),
                "HOST": "127.0.0.1",
                "WEB_WORKERS": "1",
                "WEB_THREADS": "2",
                "OUTBOX_WORKER": "false",
                "AUDIT_CHECKPOINT_FILE": str(folder / f"server-{name}-audit-checkpoints.jsonl"),
            }
            own.pop("DEMO", None)
            own.pop("TILE_URL", None)
            with open(log_path, "w") as log:
                proc = subprocess.Popen(
                    [sys.executable, "app.py", "--no-demo"],
                    cwd=PROJECT_ROOT,
                    env=own,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            procs[name] = (proc, f"http://127.0.0.1:{port}", log_path)
        deadline = time.monotonic() + timeout_s
        for name, (proc, url, log_path) in procs.items():
            while True:  # until the worker answers a public page (the port opens before it is ready)
                if proc.poll() is not None:
                    pytest.fail(f"server {name} exited with {proc.returncode}: {log_path.read_text()[-3000:]}")
                try:
                    if requests.get(f"{url}/register", timeout=HTTP_TIMEOUT_S).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"server {name} did not start: {log_path.read_text()[-3000:]}")
                time.sleep(0.3)  # waiting for a process to start, not for a change to show
        yield {name: url for name, (_, url, _) in procs.items()}
    finally:
        for proc, _, _ in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc, _, _ in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


# --------------------------------------------------------------------------- what B answers


def _search(url: str, auth: dict, place: Place, case_ref: str) -> dict[str, str]:
    """Server ``url``'s officer search at the place: public camera id -> kind."""
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat(timespec="seconds")
    answer = requests.get(
        f"{url}/api/v1/cameras/near",
        headers=auth,
        params={"lat": place.lat, "lon": place.lon, "radius_m": 200, "at": at, "case_ref": case_ref, "reason": REASON},
        timeout=HTTP_TIMEOUT_S,
    )
    assert answer.status_code == 200, answer.text[:500]
    body = answer.json()
    assert body["count"] == len(body["cameras"])
    return {c["camera_id"]: c["kind"] for c in body["cameras"]}


def _cells(url: str, auth: dict, kind: str | None = None) -> dict[str, tuple]:
    """Server ``url``'s published r9 cells (optionally of one kind): cell -> (registrations,
    cameras, suppressed)."""
    params = {"res": 9} | ({"kind": kind} if kind else {})
    answer = requests.get(f"{url}/api/v1/coverage/cells", headers=auth, params=params, timeout=HTTP_TIMEOUT_S)
    assert answer.status_code == 200, answer.text[:500]
    body = answer.json()
    assert body["k"] == K
    return {c["cell"]: (c["registrations"], c["cameras"], c["suppressed"]) for c in body["cells"]}


def _districts(url: str, auth: dict) -> dict[str, tuple]:
    """Server ``url``'s published active registrations and cameras per district, from the lead's
    uptake metrics (the uptake page's district table)."""
    params = {"from": "2026-04-13", "to": "2026-11-29"}
    answer = requests.get(f"{url}/api/v1/metrics/uptake", headers=auth, params=params, timeout=HTTP_TIMEOUT_S)
    assert answer.status_code == 200, answer.text[:500]
    return {r["code"]: (r["registrations"], r["cameras"]) for r in answer.json()["by_district"]}


def _area_rows(url: str, auth: dict, level: str = "district") -> list[dict]:
    params = {"level": level, "near_m": 50}
    answer = requests.get(f"{url}/api/v1/coverage/areas", headers=auth, params=params, timeout=HTTP_TIMEOUT_S)
    assert answer.status_code == 200, answer.text[:500]
    return answer.json()["areas"]


def _areas(url: str, auth: dict) -> dict[str, tuple]:
    """Server ``url``'s published active registrations and cameras per district from the coverage
    page's area table (``/api/v1/coverage/areas``)."""
    return {r["code"]: (r["registrations"], r["cameras"]) for r in _area_rows(url, auth)}


def _views(url: str, auth: dict, level: str) -> dict[str, tuple]:
    """Server ``url``'s published cameras, ground in view and share of postcodes with a camera within
    50 m per area of the level (``/api/v1/coverage/areas``: one table, counted per register version)."""
    return {
        r["code"]: (r["cameras"], r["in_view_km2"], r["postcodes_near_share"]) for r in _area_rows(url, auth, level)
    }


def _views_now(db: dict, level: str) -> dict[str, tuple]:
    """The same figures of the register as it is now, published here from the database's area
    summaries through the servers' layer (the summaries are the table counted against the whole
    register: ``test_area_summaries.py``)."""
    layer = Disclosure.from_settings(load_settings(db["env"]))
    with Session(db["engine"]) as s:
        table = areas_from_summaries(s, db["reference"], level, 50, layer)
    return {
        r["code"]: (r["cameras"], r["in_view_km2"], r["postcodes_near_share"])
        for r in rounded_json(
            {
                "areas": [
                    {
                        "code": r.code,
                        "cameras": None if pd.isna(r.cameras) else int(r.cameras),
                        "in_view_km2": None if pd.isna(r.in_view_km2) else float(r.in_view_km2),
                        "postcodes_near_share": None
                        if pd.isna(r.share_postcodes_near)
                        else float(r.share_postcodes_near),
                    }
                    for r in table.itertuples()
                ]
            }
        )["areas"]
    }


# --------------------------------------------------------------------------- what B should answer


def _district_published(engine, code: str) -> tuple:
    """The district's active registrations and their active cameras counted from the register's
    rows, published as the table says (the key sums modulo 256 as cell keys)."""
    with engine.connect() as conn:
        regs, reg_keys = conn.execute(
            sa.text(
                "SELECT count(*), coalesce(sum(r.record_key), 0) FROM registrant r JOIN site s "
                "ON s.registrant_id = r.id WHERE r.status = 'active' AND s.district_code = :code"
            ),
            {"code": code},
        ).one()
        cams, cam_keys = conn.execute(
            sa.text(
                "SELECT count(*), coalesce(sum(c.record_key), 0) FROM camera c JOIN site s ON s.id = c.site_id "
                "JOIN registrant r ON r.id = s.registrant_id "
                "WHERE c.active AND r.status = 'active' AND s.district_code = :code"
            ),
            {"code": code},
        ).one()
    assert regs >= K
    return (
        int(TABLE.published([int(regs)], [int(reg_keys) % 256])[0]),
        int(TABLE.published([int(cams)], [int(cam_keys) % 256])[0]),
    )


@dataclass(frozen=True)
class Truth:
    """One cell's true figures for one camera choice, counted from the register's rows."""

    registrations: int
    registrations_key: int
    cameras: int
    cameras_key: int
    left_out: int  # registrations with a camera the choice leaves out


def _truth(engine, cell: str, kind: str | None = None) -> Truth:
    """Counted in Python from a plain read of the active cameras of active registrations in the cell."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT r.id, r.record_key, c.record_key, c.kind FROM camera c JOIN site s ON s.id = c.site_id "
                "JOIN registrant r ON r.id = s.registrant_id "
                "WHERE c.active AND r.status = 'active' AND s.h3_r9 = :cell"
            ),
            {"cell": cell},
        ).all()
    kept = [r for r in rows if kind is None or r[3] == kind]
    keys = {rid: int(key) for rid, key, _, _ in kept}
    return Truth(
        registrations=len(keys),
        registrations_key=sum(keys.values()),
        cameras=len(kept),
        cameras_key=sum(int(r[2]) for r in kept),
        left_out=len({r[0] for r in rows if kind is not None and r[3] != kind}),
    )


TABLE = PTable.build(K, MAX_PERTURBATION, VARIANCE)


def _published(truth: Truth) -> tuple | None:
    """The cell as the r9 cells must list it: None (not listed: fewer than K registrations), or
    (registrations, cameras, suppressed) with each count moved by the table's adjustment for its
    cell key (the key sum modulo 256)."""
    if truth.registrations < K:
        return None
    if 1 <= truth.left_out < K:  # a filtered view hides a cell whose left-out part is below K
        return (None, None, True)
    regs = int(TABLE.published([truth.registrations], [truth.registrations_key % 256])[0])
    cams = int(TABLE.published([truth.cameras], [truth.cameras_key % 256])[0])
    assert abs(regs - truth.registrations) <= MAX_PERTURBATION and abs(cams - truth.cameras) <= MAX_PERTURBATION
    return (regs, cams, False)


# --------------------------------------------------------------------------- the owner's page


class _FormReader(HTMLParser):
    """The fields one form sends as a browser would: text and hidden inputs, checked boxes and
    radios, selected options (the form is picked by its id)."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, []
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type", "text") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "form":
            self.inside = False


def _manage_form(owner: requests.Session, url: str) -> list[tuple[str, str]]:
    page = owner.get(url, timeout=HTTP_TIMEOUT_S)
    assert page.status_code == 200, page.text[:500]
    reader = _FormReader("manage-form")
    reader.feed(page.text)
    return reader.fields


def _csrf(owner: requests.Session, url: str) -> str:
    return dict(_manage_form(owner, url))["csrf_token"]


# --------------------------------------------------------------------------- the test


def _my_cameras(engine, reference: str) -> list[tuple[int, str, str, bool]]:
    """(id, public id, kind, active) of the registration's cameras, in the order they were made."""
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT c.id, c.public_id, c.kind, c.active FROM camera c JOIN site s ON s.id = c.site_id "
                    "JOIN registrant r ON r.id = s.registrant_id WHERE r.reference = :ref ORDER BY c.id"
                ),
                {"ref": reference},
            ).all()
        ]


def test_a_change_through_one_server_is_in_the_other_servers_very_next_search_and_cells(shared_database, tmp_path):
    db = shared_database
    engine, place, officer, analyst, lead = db["engine"], db["place"], db["officer"], db["analyst"], db["lead"]
    few = place.few
    assert h3.latlng_to_cell(place.lat, place.lon, 9) == place.cell  # the pin lies in the chosen cell

    with _servers(db["env"], tmp_path, ("A", "B")) as url:
        a, b = url["A"], url["B"]

        # ---- before: B answers (and caches) the register as the demo left it.
        found_before = _search(b, officer, place, "CR-2026-001901")
        all_before, few_before = _cells(b, analyst), _cells(b, analyst, few)
        truth_all_0, truth_few_0 = _truth(engine, place.cell), _truth(engine, place.cell, few)
        assert truth_all_0.registrations >= 4 and truth_few_0.registrations == 1  # as chosen
        assert all_before.get(place.cell) == _published(truth_all_0)
        assert all_before.get(place.cell) is not None
        assert few_before.get(place.cell) is None  # one registration with that kind: under K, not listed
        districts_before = _districts(b, lead)
        areas_before = _areas(b, analyst)
        assert areas_before == districts_before  # the same records, so the same published figures
        views_before = {level: _views(b, analyst, level) for level in ("district", "lsoa")}
        assert views_before == {level: _views_now(db, level) for level in ("district", "lsoa")}

        # ---- 1. A registration through A's API: 4 cameras, none of the rare kind.
        cameras_in = [
            {"kind": "doorbell", "placement": "outdoor", "direction_deg": 350, "recording_mode": "motion"},
            {"kind": "fixed", "placement": "outdoor", "recording_mode": "continuous", "retention_days": 14},
            {"kind": "dome", "placement": "indoor", "recording_mode": "motion"},
            {"kind": "fixed", "placement": "outdoor", "direction_deg": 90, "recording_mode": "continuous"},
        ]
        body = {
            "name": "Sam Twoservers",
            "email": "sam.twoservers@example.org",
            "phone": "07700 900123",
            "preferred_channel": "email",
            "site_kind": "home",
            "address": "19 Scale Street",
            "postcode": place.postcode,
            "lat": place.lat,
            "lon": place.lon,
            "consent": True,
            "cameras": cameras_in,
        }
        made = requests.post(f"{a}/api/v1/registrations", json=body, timeout=HTTP_TIMEOUT_S)
        assert made.status_code == 201, made.text[:500]
        made = made.json()
        assert made["cameras"] == 4
        mine = _my_cameras(engine, made["reference"])
        assert [(kind, active) for _, _, kind, active in mine] == [(c["kind"], True) for c in cameras_in]
        public = [p for _, p, _, _ in mine]

        # B, at once: the search finds the four, each with its kind; nothing found before is lost.
        found = _search(b, officer, place, "CR-2026-001902")
        assert {p: found.get(p) for p in public} == {p: c["kind"] for p, c in zip(public, cameras_in)}
        assert found_before.items() <= found.items()
        assert set(found) - set(found_before) == set(public)
        # B's cells, at once: the site's cell holds one registration and four cameras more (counted
        # from the rows), published as the table says; no other cell moved.
        truth_all_1 = _truth(engine, place.cell)
        assert (truth_all_1.registrations, truth_all_1.cameras) == (
            truth_all_0.registrations + 1,
            truth_all_0.cameras + 4,
        )
        all_1 = _cells(b, analyst)
        assert all_1.get(place.cell) == _published(truth_all_1)
        assert all_1[place.cell][1] != all_before[place.cell][1]  # 4 apart, each moved by at most 1
        assert {c: v for c, v in all_1.items() if c != place.cell} == {
            c: v for c, v in all_before.items() if c != place.cell
        }
        assert _cells(b, analyst, few) == few_before  # none of the new cameras is of that kind
        # B's uptake district table, at once: one registration and four cameras more in the site's
        # district (as before: counted from the rows), the other districts as they were.
        with engine.connect() as conn:
            district = conn.scalar(
                sa.text(
                    "SELECT s.district_code FROM site s JOIN registrant r ON r.id = s.registrant_id "
                    "WHERE r.reference = :ref"
                ),
                {"ref": made["reference"]},
            )
        districts_1 = _districts(b, lead)
        assert districts_1[district] == _district_published(engine, district)
        assert districts_1[district][1] != districts_before[district][1]  # 4 apart, each moved by at most 1
        assert {c: v for c, v in districts_1.items() if c != district} == {
            c: v for c, v in districts_before.items() if c != district
        }
        # And the coverage page's area table, at once: the same district figures, and per small area
        # the cameras (4 more in the site's: moved, each by at most 1), ground in view and postcodes
        # near of the register as it is now.
        assert _areas(b, analyst) == districts_1
        views_1 = {level: _views(b, analyst, level) for level in ("district", "lsoa")}
        assert views_1 == {level: _views_now(db, level) for level in ("district", "lsoa")}
        assert views_1["lsoa"] != views_before["lsoa"]

        # ---- 2. The owner changes a camera's kind on A's management page: the second camera (fixed)
        # becomes the rare kind, every other field as the page shows it.
        owner = requests.Session()
        manage = f"{a}/manage/{made['management_token']}"
        fields = _manage_form(owner, manage)
        shown = dict(fields)
        assert [shown[f"cam-{i}-id"] for i in range(4)] == [str(i) for i, _, _, _ in mine]
        assert shown["cam-1-kind"] == "fixed"
        changed = [(k, few if k == "cam-1-kind" else v) for k, v in fields] + [("action", "save")]
        saved = owner.post(manage, data=changed, allow_redirects=False, timeout=HTTP_TIMEOUT_S)
        assert saved.status_code == 303, saved.text[:2000]
        kinds_now = [c["kind"] for c in cameras_in]
        kinds_now[1] = few
        after_change = _my_cameras(engine, made["reference"])
        assert [(p, kind, active) for _, p, kind, active in after_change] == [
            (p, k, True) for p, k in zip(public, kinds_now)
        ]

        # B, at once: the search shows the camera's new kind.
        found = _search(b, officer, place, "CR-2026-001903")
        assert {p: found.get(p) for p in public} == dict(zip(public, kinds_now))
        # B's cells of that kind, at once: a second registration with the kind, so the cell is listed now.
        truth_few_2 = _truth(engine, place.cell, few)
        assert (truth_few_2.registrations, truth_few_2.cameras) == (2, truth_few_0.cameras + 1)
        few_2 = _cells(b, analyst, few)
        assert few_2.get(place.cell) == _published(truth_few_2)
        assert few_2.get(place.cell) is not None  # listed now, where before it was not
        assert {c: v for c, v in few_2.items() if c != place.cell} == {
            c: v for c, v in few_before.items() if c != place.cell
        }
        # The unfiltered cell counts the same records (a kind is not a count).
        truth_all_2 = _truth(engine, place.cell)
        assert truth_all_2 == truth_all_1
        assert _cells(b, analyst) == all_1
        # A kind has its own field of view: the area table's ground in view is the register's now.
        assert {level: _views(b, analyst, level) for level in ("district", "lsoa")} == {
            level: _views_now(db, level) for level in ("district", "lsoa")
        }

        # ---- 3. The owner withdraws on A's management page (asked, then confirmed).
        asked = owner.post(
            manage, data={"csrf_token": _csrf(owner, manage), "action": "withdraw"}, timeout=HTTP_TIMEOUT_S
        )
        assert asked.status_code == 200 and "withdraw-confirmed" in asked.text
        token = asked.text.split('name="csrf_token" value="')[1].split('"')[0]
        gone = owner.post(manage, data={"csrf_token": token, "action": "withdraw-confirmed"}, timeout=HTTP_TIMEOUT_S)
        assert gone.status_code == 200, gone.text[:500]
        with engine.connect() as conn:
            status = conn.scalar(
                sa.text("SELECT status FROM registrant WHERE reference = :ref"), {"ref": made["reference"]}
            )
        assert status != "active"

        # B, at once: none of the four is found; everything found before the registration still is.
        found = _search(b, officer, place, "CR-2026-001904")
        assert not set(public) & set(found)
        assert found == found_before
        # B's cells, at once: the same records as before the registration, so the same answer, cell for cell.
        assert _truth(engine, place.cell) == truth_all_0
        assert _truth(engine, place.cell, few) == truth_few_0
        assert _cells(b, analyst) == all_before
        assert _cells(b, analyst, few) == few_before
        assert _districts(b, lead) == districts_before
        assert _areas(b, analyst) == areas_before
        assert {level: _views(b, analyst, level) for level in ("district", "lsoa")} == views_before
