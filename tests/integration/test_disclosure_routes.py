"""Promise 4, proved route by route: every figure an analyst or a project lead can get passes the one
disclosure-control layer.

The proof: two apps over two different registries (other seeds, other sizes; the same reference data
and the same imported crimes), each with the layer set to publish nothing (``withhold_all``). If
every figure comes through the layer, no answer can depend on the register, so every page, every
callback, every API route and every download these roles can reach must answer the same bytes on
both. A figure computed anywhere else shows up as a difference. As a check on the check, the same
walk with the ordinary layer must find most answers different.

The walk covers every route these roles may reach: the test fails when a route exists that it does
not know how to call (add an example for it below).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
import warnings

import pytest

from dashboard.analytics.disclosure import Disclosure
from dashboard.config import load_settings
from dashboard.core.vocab import ROLES
from dashboard.demo import generate_demo
from dashboard.pages import all_pages, page_for_path
from dashboard.registry import audit
from dashboard.registry.crime_import import import_crimes, parse_police_uk_csv
from dashboard.registry.database import transaction
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user
from tests.dash_requests import callback_body, callback_outputs, component_props, router_body
from tests.integration.conftest import PASSWORD, login

AS_OF = dt.date(2026, 11, 30)
ROLES_UNDER_TEST = ("analyst", "lead")
TODAY = dt.date.today()

# Example arguments for every GET route the walk may meet (path template -> list of concrete paths).
ROUTE_EXAMPLES = {
    "/api/v1/summary": ["/api/v1/summary"],
    "/api/v1/openapi.json": ["/api/v1/openapi.json"],
    "/api/v1/coverage/cells": [
        "/api/v1/coverage/cells?res=7",
        "/api/v1/coverage/cells?res=8&kind=doorbell",
        "/api/v1/coverage/cells?res=9&placement=indoor",
    ],
    "/api/v1/coverage/areas": [
        "/api/v1/coverage/areas?level=district&near_m=100",
        "/api/v1/coverage/areas?level=lsoa&near_m=50",
    ],
    "/api/v1/metrics/uptake": [
        "/api/v1/metrics/uptake?from=2026-04-13&to=2026-11-29",
        "/api/v1/metrics/uptake?from=2026-05-01&to=2026-05-20",
    ],
    "/api/v1/metrics/requests": ["/api/v1/metrics/requests?from=2026-04-13&to=2026-11-29"],
    "/coverage/export/<layer>.<fmt>": [
        f"/coverage/export/{layer}.{fmt}?{args}"
        for layer, args in (("cells", "res=8"), ("cells", "res=9&kind=doorbell"), ("areas", "level=lsoa&near=100"))
        for fmt in ("csv", "geojson", "gpkg")
    ],
    "/gaps/export/<layer>.<fmt>": [
        f"/gaps/export/{layer}.{fmt}?radius=100&level={level}"
        for layer in ("areas", "targets", "deciles")
        for fmt in ("csv", "geojson", "gpkg")
        for level in ("lsoa", "district")
    ],
    "/uptake/report": ["/uptake/report?week=2026-11-16"],
    "/uptake/report/<table>.csv": [
        f"/uptake/report/{t}.csv?week=2026-11-16"
        for t in ("weeks", "districts", "cameras", "campaigns", "requests_by_district", "requests_by_crime", "footage")
    ],
    "/campaigns/<slug>/qr.<fmt>": ["/campaigns/staff-intranet/qr.svg"],
    "/protection/ptable.csv": ["/protection/ptable.csv"],
}
# Routes that are not pages' figures and need no example (the login flow, Dash's own plumbing, the
# public side, plain signed-in routes).
NOT_FIGURES = re.compile(r"^/(login|logout|sources|register|manage|r/|assets|_dash|_favicon|_reload)|^/<path:")


def _runtime(tmp_path, reference, reference_dir, seed: int, registrations: int, withhold: bool):
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
        }
    )
    rt = prepare(settings)
    generate_demo(
        rt.engine,
        reference,
        seed=seed,
        registrations=registrations,
        as_of=AS_OF,
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    with transaction(rt.sessions) as s:
        for role in ROLES:
            create_user(s, f"{role}1", PASSWORD, role)
    for sample in sorted((reference_dir / "police_uk").glob("*-street.csv")):
        with transaction(rt.sessions) as s:
            import_crimes(s, parse_police_uk_csv(sample.read_bytes(), sample.name), audit.SYSTEM, rt.reference)
    _seed_uploads(rt, seed)
    return dataclasses.replace(rt, disclosure=Disclosure(rt.disclosure.ptable, withhold_all=withhold))


def _seed_uploads(rt, seed: int) -> None:
    """Owners' answers with uploaded files for the demo's requests (the demo has none): 3 to 7 files
    each, accepted, declined for a reason or awaiting a decision, so that the footage figures
    (issue 17) differ between the two registries unless they come through the layer."""
    import secrets

    import sqlalchemy as sa

    from dashboard.core.vocab import DECLINE_REASONS
    from dashboard.registry.models import Camera, EvidenceFile, FootageRequest, FootageResponse, Site, User

    reasons = list(DECLINE_REASONS)
    with transaction(rt.sessions) as s:
        officer = s.scalar(sa.select(User.id).where(User.username == "officer1"))
        for request in s.scalars(sa.select(FootageRequest).order_by(FootageRequest.id)).all():
            owner = s.scalar(
                sa.select(Site.registrant_id)
                .join(Camera, Camera.site_id == Site.id)
                .where(Camera.id == request.camera_id)
            )
            answered = request.sent_at + dt.timedelta(days=1 + (request.id * seed) % 6)
            response = FootageResponse(
                case_ref=request.case_ref,
                registrant_id=owner,
                requested_by_id=officer,
                answer="footage",
                answered_at=answered,
                created_at=request.sent_at,
            )
            s.add(response)
            s.flush()
            request.response_id = response.id
            for n in range(3 + (request.id + seed) % 5):
                triage = ("accepted", "declined", None)[(request.id + n * seed) % 3]
                s.add(
                    EvidenceFile(
                        response_id=response.id,
                        upload_key=secrets.token_urlsafe(32),
                        original_name="clip.mp4",
                        declared_size=10,
                        received_bytes=10,
                        sha256=secrets.token_hex(32),
                        state="stored",
                        completed_at=answered - dt.timedelta(hours=n + 1),
                        triage=triage,
                        triaged_at=answered if triage else None,
                        triaged_by_id=officer if triage else None,
                        decline_reason=reasons[(request.id + n) % len(reasons)] if triage == "declined" else None,
                        exhibit_ref=f"AB/{request.id}/{n}" if triage == "accepted" else None,
                    )
                )


def _app(rt):
    from dashboard.application import create_app

    app = create_app(rt)
    app.server.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def registries(tmp_path_factory, reference, reference_dir):
    made = {}
    for name, seed, n in (("small", 5, 1500), ("large", 17, 2600)):
        folder = tmp_path_factory.mktemp(name)
        rt = _runtime(folder, reference, reference_dir, seed, n, withhold=True)
        made[name] = rt
    yield made
    for rt in made.values():
        rt.engine.dispose()


def _callback_bodies(app, props: dict, role: str) -> list[tuple[str, dict]]:
    """A body for every callback of the pages the role may use, with the inputs the page was drawn with."""
    bodies = []
    for key, spec in app.callback_map.items():
        page = next((p for p in all_pages() if callback_outputs(key)[0]["id"].startswith(p.id_prefix)), None)
        if page is not None and page.allows(role):
            bodies.append((key, callback_body(key, spec, props)))
    return bodies


def _routes(app, role: str) -> list[str]:
    """Concrete GET paths for every non-page route the role may reach; fails on an unknown route."""
    paths = []
    for rule in app.server.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or NOT_FIGURES.search(rule.rule):
            continue
        if rule.rule.startswith("/api/"):
            roles = getattr(app.server.view_functions[rule.endpoint], "allowed_roles", ())
            if role not in roles:
                continue
        else:
            page = page_for_path(rule.rule.split("<")[0])
            if page is None or not page.allows(role) or rule.rule == page.path:
                continue
        assert rule.rule in ROUTE_EXAMPLES, f"{rule.rule} is reachable by {role}: add an example to ROUTE_EXAMPLES"
        paths += ROUTE_EXAMPLES[rule.rule]
    return paths


TIMES = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?")


def _normalised(response) -> str:
    if response.mimetype in ("application/geopackage+sqlite3", "application/octet-stream") or response.headers.get(
        "Content-Disposition", ""
    ).endswith('.gpkg"'):
        import geopandas as gpd

        with warnings.catch_warnings():  # an in-memory file has no .gpkg extension
            warnings.simplefilter("ignore", RuntimeWarning)
            frame = gpd.read_file(io.BytesIO(response.get_data()))
        return frame.drop(columns="geometry").to_json()
    return TIMES.sub("<time>", response.get_data(as_text=True))


def _walk(app, role: str) -> dict[str, str]:
    client = app.server.test_client()
    login(client, role)
    answers: dict[str, str] = {}
    props: dict = {}
    for page in all_pages():
        if not page.allows(role):
            continue
        response = client.post("/_dash-update-component", json=router_body(page.path))
        assert response.status_code == 200, page.path
        answers[f"page {page.path}"] = _normalised(response)
        component_props(json.loads(response.get_data(as_text=True)), props)
    for key, body in _callback_bodies(app, props, role):
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code in (200, 204), (key, response.status_code, response.get_data(as_text=True)[:300])
        answers[f"callback {key}"] = _normalised(response)
    for path in _routes(app, role):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:300])
        answers[path] = _normalised(response)
    return answers


def _logged(rt, role: str) -> int:
    import sqlalchemy as sa

    with rt.engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM audit_event WHERE username = :u AND action IN "
                "('aggregate_query', 'aggregate_export')"
            ),
            {"u": f"{role}1"},
        ).scalar()


@pytest.mark.parametrize("role", ROLES_UNDER_TEST)
def test_with_the_layer_withholding_everything_no_answer_depends_on_the_register(registries, role):
    before = _logged(registries["small"], role)
    small = _walk(_app(registries["small"]), role)
    large = _walk(_app(registries["large"]), role)
    assert small.keys() == large.keys()
    assert len(small) > 40
    differing = [where for where in small if small[where] != large[where]]
    assert differing == [], f"answers that depend on the register outside the layer: {differing}"
    # ... and every one of those queries is in the audit log (all but the API's own description).
    asked = [where for where in small if "openapi" not in where]
    assert _logged(registries["small"], role) - before == len(asked)


@pytest.mark.parametrize("role", ROLES_UNDER_TEST)
def test_the_check_itself_sees_the_registers_differ_with_the_ordinary_layer(registries, role):
    ordinary = {
        name: dataclasses.replace(rt, disclosure=Disclosure(rt.disclosure.ptable)) for name, rt in registries.items()
    }
    small = _walk(_app(ordinary["small"]), role)
    large = _walk(_app(ordinary["large"]), role)
    figures = [
        w for w in small if "openapi" not in w and "ptable" not in w and "protection" not in w and "qr." not in w
    ]
    differing = [w for w in figures if small[w] != large[w]]
    assert len(differing) >= 0.6 * len(figures), sorted(set(figures) - set(differing))


def test_the_footage_figures_come_through_the_layer(registries):
    """Issue 17's figures (``footage`` of the requests metrics): with uploads in both registries, the
    ordinary layer gives figures that differ between them; withholding everything leaves none."""
    path = "/api/v1/metrics/requests?from=2026-04-13&to=2026-11-29"
    answers = {}
    for withhold in (True, False):
        for name, rt in registries.items():
            client = _app(
                dataclasses.replace(rt, disclosure=Disclosure(rt.disclosure.ptable, withhold_all=withhold))
            ).server.test_client()
            login(client, "lead")
            answers[(withhold, name)] = client.get(path).get_json()["footage"]
    withheld = answers[(True, "small")]
    assert withheld == answers[(True, "large")]
    assert withheld["files_uploaded"] is None and withheld["median_days_to_first_upload"] is None
    assert all(r["files"] is None for r in withheld["declined_reasons"])
    small, large = answers[(False, "small")], answers[(False, "large")]
    assert small["files_uploaded"] is not None and small["files_accepted"] is not None
    assert small != large
