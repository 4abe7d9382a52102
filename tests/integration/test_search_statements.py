"""Issue 19 step 2: an officer's search on PostgreSQL costs few round trips, and its candidate
query is one prepared statement.

Every statement the app sends is counted at the driver (psycopg's ``Cursor.execute``, which
SQLAlchemy's own statements, the pool's pings and the raw candidate cursor all go through), with
whether it began a transaction (the connection was idle before it). Today's code sent the
candidates with their numbers written into the SQL (a new text, parsed and planned per search),
in a session of their own, and looked the public ids up in one more statement.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa
from psycopg.pq import TransactionStatus

from dashboard.config import load_settings
from dashboard.registry.database import transaction
from dashboard.registry.models import Site
from dashboard.runtime import prepare
from dashboard.security.accounts import issue_token

REASON = "Burglary reported at a house in this street overnight"
# Per search: the token and its user; the officer checked (admit_search); the officer's search
# counter (one UPDATE that returns the count); the candidates; the officer checked again, the
# audit chain's lock, head and new row (log_search). No pings of connections just used, no
# public-id look-up, no read of the counter after its update.
MOST_STATEMENTS = 8
# The search itself. The token read and the search counter (committed even when the search then
# fails) commit statement by statement, with no BEGIN and COMMIT round trips.
MOST_TRANSACTIONS = 1


@pytest.fixture
def pg_app(pg_url, reference_dir, reference):
    from dashboard.application import create_app
    from dashboard.demo import generate_demo

    settings = load_settings(
        {
            "DATABASE_URL": pg_url,
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
            "SEARCH_RATE_LIMIT": "1000/minute",
        }
    )
    rt = prepare(settings)
    generate_demo(
        rt.engine,
        reference,
        seed=15,
        registrations=300,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    with transaction(rt.sessions) as s:
        token = issue_token(s, "officer.demo")
    yield rt, create_app(rt), {"Authorization": f"Bearer {token}"}
    rt.engine.dispose()


class Statements:
    """Every statement sent through psycopg while counting: (SQL text, began a transaction)."""

    def __init__(self):
        self.sent: list[tuple[str, bool]] = []

    def wrap(self, execute):
        counter = self

        def counted(cursor, query, params=None, **kwargs):
            conn = cursor.connection
            began = not conn.autocommit and conn.pgconn.transaction_status == TransactionStatus.IDLE
            counter.sent.append((query if isinstance(query, str) else repr(query), began))
            return execute(cursor, query, params, **kwargs)

        return counted


def _search(app, auth, lat, lon, case_ref):
    response = app.server.test_client().get(
        "/api/v1/cameras/near",
        headers=auth,
        query_string={
            "lat": lat,
            "lon": lon,
            "radius_m": 400,
            "at": "2026-11-20T21:30",
            "case_ref": case_ref,
            "reason": REASON,
        },
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.postgres
def test_a_postgresql_search_is_few_statements_and_its_candidate_query_is_prepared(pg_app, monkeypatch):
    rt, app, auth = pg_app
    with rt.sessions() as s:  # two registered sites: each search finds cameras (checked below)
        points = s.execute(sa.select(Site.lat, Site.lon).where(Site.lat.is_not(None)).order_by(Site.id).limit(2)).all()
    _search(app, auth, *points[0], "CR-2026-001400")  # warm: pool, token cache, compiled statements
    statements = Statements()
    monkeypatch.setattr(psycopg.Cursor, "execute", statements.wrap(psycopg.Cursor.execute))
    per_search = []
    answers = []
    for n, (lat, lon) in enumerate(list(points) * 2):
        before = len(statements.sent)
        answers.append(_search(app, auth, lat, lon, f"CR-2026-0014{n + 10}"))
        per_search.append(statements.sent[before:])
    assert all(a["count"] > 0 for a in answers), [a["count"] for a in answers]
    # The same point gives the same answer (the public ids come with the candidates).
    assert answers[0]["cameras"] == answers[2]["cameras"] and answers[1]["cameras"] == answers[3]["cameras"]
    for sent in per_search:
        # Statements that come only by the clock, not by the search: the ping of a connection idle
        # over PING_AFTER_IDLE_S (a loaded machine can leave each of the search's three checkouts idle
        # that long), and the token's last-used time, written at most once a minute.
        pings = [q for q, _ in sent if q.strip() == ";"]
        token_use = [q for q, _ in sent if q.lstrip().upper().startswith("UPDATE API_TOKEN")]
        # and, by chance (limit_store.EXPIRED_SWEEP_CHANCE), the sweep of rate-limit windows long over
        sweeps = [q for q, _ in sent if q.lstrip().upper().startswith("DELETE FROM RATE_LIMIT_COUNTER")]
        assert len(pings) <= 3 and len(token_use) <= 1 and len(sweeps) <= 1, (pings, token_use, sweeps)
        by_clock = pings + token_use + sweeps
        sent = [(q, b) for q, b in sent if q not in by_clock]
        assert len(sent) <= MOST_STATEMENTS, [q[:70] for q, _ in sent]
        assert sum(began for _, began in sent) <= MOST_TRANSACTIONS, [(q[:50], b) for q, b in sent]
        # No separate look-up of the cameras' public ids
        assert not [q for q, _ in sent if "camera.public_id" in q and "ST_DWithin" not in q], sent
    candidates = [q for sent in per_search for q, _ in sent if "ST_DWithin" in q]
    assert len(candidates) == len(per_search), "one candidate query per search"
    # One SQL text for every point: PostgreSQL parses and plans it once per connection
    assert len(set(candidates)) == 1, candidates


@pytest.mark.postgres
def test_a_search_after_the_server_dropped_idle_connections_still_answers(pg_app, monkeypatch):
    """Connections are pinged only after being idle (``PING_AFTER_IDLE_S``): one the server has
    dropped meanwhile is replaced before use, so the search answers."""
    from dashboard.registry import database

    rt, app, auth = pg_app
    with rt.sessions() as s:
        lat, lon = s.execute(sa.select(Site.lat, Site.lon).where(Site.lat.is_not(None)).limit(1)).one()
    first = _search(app, auth, lat, lon, "CR-2026-001420")
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)
    # The server ends every other session of this database (as a restart or an idle timeout would).
    with rt.engine.connect() as conn:
        dropped = conn.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).scalar()
    assert dropped >= 1
    again = _search(app, auth, lat, lon, "CR-2026-001421")
    assert again["cameras"] == first["cameras"]


@pytest.mark.postgres
def test_postgresql_and_sqlite_find_the_same_cameras_ranked_the_same(pg_url, tmp_path, reference_dir, reference):
    """One demo on each backend: every search gives the same ranked results (the exact geodesic
    filter over PostGIS's candidates), and those are the cameras pyproj's Geod puts in the radius;
    on PostgreSQL each result comes with its own public id."""
    from pyproj import Geod

    from dashboard.demo import generate_demo
    from dashboard.registry import camera_queries, public_ids
    from dashboard.registry.camera_search import SearchRequest

    finders = {}
    for name, url in (("sqlite", f"sqlite:///{tmp_path / 'same.db'}"), ("postgresql", pg_url)):
        rt = prepare(
            load_settings({"DATABASE_URL": url, "REFERENCE_DATA_DIR": str(reference_dir), "SECRET_KEY": "k" * 48})
        )
        generate_demo(
            rt.engine,
            reference,
            seed=21,
            registrations=400,
            as_of=dt.date(2026, 11, 29),
            pilot_start=dt.date(2026, 4, 13),
            public_launch=dt.date(2026, 7, 6),
        )
        finders[name] = rt
    try:
        pg, lite = finders["postgresql"], finders["sqlite"]
        with lite.sessions() as s:
            everything = camera_queries.active_camera_frame(s)
            centres = s.execute(
                sa.select(Site.lat, Site.lon, Site.easting_m, Site.northing_m)
                .where(Site.lat.is_not(None))
                .order_by(Site.id)
                .limit(6)
            ).all()
        incident = dt.datetime(2026, 11, 20, 21, 30, tzinfo=dt.UTC)
        now = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
        geod = Geod(ellps="WGS84")
        found = 0
        for lat, lon, e, n in centres:
            for radius in (50, 200, 1000):
                req = SearchRequest(lat, lon, e, n, radius, incident, "CR-2026-001430", REASON)
                with lite.sessions() as s:
                    on_sqlite = lite.finder.find(req, now, s)
                with pg.sessions() as s:
                    on_pg = pg.finder.find(req, now, s)
                    shown = public_ids.cameras_to_public(s, on_pg["camera_id"])
                assert on_pg["public_id"].tolist() == [shown[int(i)] for i in on_pg["camera_id"]]
                pd.testing.assert_frame_equal(
                    on_pg.drop(columns="public_id"), on_sqlite, check_dtype=False, check_categorical=False
                )
                _, _, metres = geod.inv(
                    everything["lon"].to_numpy(),
                    everything["lat"].to_numpy(),
                    np.full(len(everything), lon),
                    np.full(len(everything), lat),
                )
                assert set(on_pg["camera_id"]) == set(everything["camera_id"][metres <= radius])
                found += len(on_pg)
        assert found > 0
    finally:
        for rt in finders.values():
            rt.engine.dispose()
