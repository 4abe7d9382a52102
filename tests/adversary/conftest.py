"""The adversary suite: every attack the issue reproduced, run against a demo registry with known
truth. Each test reports, per attack, the share of hidden counts (1..K-1) recovered exactly next to
what an optimal attacker could recover from independent noise (``odds.bayes_exact_rate``); the
figures are printed at the end of the run.

One demo registry serves every attack module (built once per run: the attacks only read it; the
only writes are the audit rows their queries leave): the issue's 24,000-registration demo with the
police.uk sample months imported by the system actor, and a user per role. Two apps run over it:

- ``apps.noisy``: the app as configured (the layer from the settings: K, maximum perturbation,
  variance);
- ``apps.exact``: the same app whose layer adjusts nothing (``PTable.build(K, 0, 0.0)``: threshold
  suppression alone). Each attack is run against it too and must recover (nearly) everything
  there: the proof that the attack works, so that its failing against ``apps.noisy`` is the
  adjustment's doing and the test could fail.

Truth is read straight from the SQLite file (``Truth``), never through the app.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import sqlite3
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest

from dashboard.analytics.disclosure import Disclosure, PTable
from dashboard.config import load_settings
from dashboard.core.vocab import ROLES
from dashboard.demo import generate_demo
from dashboard.registry import audit
from dashboard.registry.crime_import import import_crimes, parse_police_uk_csv
from dashboard.registry.database import transaction
from dashboard.runtime import Runtime, prepare
from dashboard.security.accounts import create_user
from tests.conftest import ADVERSARY_REPORT as REPORT
from tests.integration.conftest import PASSWORD, login

# The demo: 24,000 registrations, the staff pilot from 13 April 2026, public launch 6 July.
REGISTRATIONS = 24_000
SEED = 2026
AS_OF = dt.date(2026, 11, 29)
PILOT_START = dt.date(2026, 4, 13)
PUBLIC_LAUNCH = dt.date(2026, 7, 6)


@pytest.fixture
def report():
    """Write one attack's figures to the run's adversary report (printed at the end: tests/conftest.py)."""

    def add(line: str) -> None:
        REPORT.parent.mkdir(exist_ok=True)
        with REPORT.open("a", encoding="utf-8") as out:
            out.write(line.replace("\n", " ") + "\n")

    return add


class Truth:
    """Read-only SQL on the registry's SQLite file: the truth the attacks are scored against."""

    def __init__(self, path: Path):
        self.path = path

    def frame(self, sql: str, params: tuple = ()) -> pd.DataFrame:
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            return pd.read_sql_query(sql, con, params=params)
        finally:
            con.close()

    def scalar(self, sql: str, params: tuple = ()):
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            return con.execute(sql, params).fetchone()[0]
        finally:
            con.close()


@dataclasses.dataclass(frozen=True)
class Registry:
    rt: Runtime
    truth: Truth
    police_uk: Path  # the public police.uk files the attacker also has

    @property
    def k(self) -> int:
        return self.rt.disclosure.k

    @property
    def table(self) -> PTable:
        return self.rt.disclosure.ptable


@pytest.fixture(scope="session")
def registry(tmp_path_factory, reference_dir) -> Registry:
    folder = tmp_path_factory.mktemp("adversary")
    path = folder / "registry.db"
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{path}",
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
            "PILOT_START": PILOT_START.isoformat(),
            "PUBLIC_LAUNCH": PUBLIC_LAUNCH.isoformat(),
        }
    )
    rt = prepare(settings)
    generate_demo(
        rt.engine,
        rt.reference,
        seed=SEED,
        registrations=REGISTRATIONS,
        as_of=AS_OF,
        pilot_start=PILOT_START,
        public_launch=PUBLIC_LAUNCH,
    )
    with transaction(rt.sessions) as s:
        for role in ROLES:
            create_user(s, f"{role}1", PASSWORD, role)
    police_uk = reference_dir / "police_uk"
    # Crime record keys come from the operating system's generator at import; drawn here from a seeded
    # one instead, so that every run of the suite meets the same perturbation (the demo's own keys are
    # seeded already) and its figures can be compared from run to run.
    keys = random.Random(SEED)
    with mock.patch("dashboard.registry.crime_import.new_record_key", lambda: keys.randrange(256)):
        for sample in sorted(police_uk.glob("*-street.csv")):
            with transaction(rt.sessions) as s:
                import_crimes(s, parse_police_uk_csv(sample.read_bytes(), sample.name), audit.SYSTEM, rt.reference)
    yield Registry(rt, Truth(path), police_uk)
    rt.engine.dispose()


@dataclasses.dataclass(frozen=True)
class Apps:
    noisy: object  # the app as configured
    exact: object  # the same registry, the layer adjusting nothing (threshold suppression only)


def _app(rt: Runtime):
    from dashboard.application import create_app

    app = create_app(rt)
    app.server.config["TESTING"] = True
    return app


@pytest.fixture(scope="session")
def apps(registry) -> Apps:
    exact = dataclasses.replace(registry.rt, disclosure=Disclosure(PTable.build(registry.k, 0, 0.0)))
    return Apps(_app(registry.rt), _app(exact))


def client_for(app, role: str):
    """A logged-in Flask test client of ``app`` as the demo user of ``role``."""
    client = app.server.test_client()
    login(client, role)
    return client


def callback_key(app, output: str) -> str:
    """The callback whose outputs include ``output`` ("component.property")."""
    return next(key for key in app.callback_map if f"{output}" in key)


def callback_body(app, output: str, values: dict, states: dict | None = None) -> dict:
    """A Dash callback request as a browser sends it: ``values`` by input component id (in the
    callback's own order; property ``value`` unless the input says otherwise)."""
    key = callback_key(app, output)
    spec = app.callback_map[key]
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in key.strip(".").split("...") if p]
    states = states or {}
    return {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": [{**i, "value": values.get(i["id"])} for i in spec["inputs"]],
        "state": [{**s, "value": states.get(s["id"])} for s in spec["state"]],
        "changedPropIds": [],
    }


def post_callback(client, app, output: str, values: dict, states: dict | None = None):
    return client.post("/_dash-update-component", json=callback_body(app, output, values, states))


def audit_rows(registry: Registry, username: str) -> int:
    """The analyst's or lead's aggregate queries and downloads in the audit log so far."""
    return int(
        registry.truth.scalar(
            "SELECT count(*) FROM audit_event WHERE username = ? AND action IN ('aggregate_query', 'aggregate_export')",
            (username,),
        )
    )
