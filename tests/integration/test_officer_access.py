"""Issue 15, officers and contact details, attacked as a penetration tester would: requests,
reveals and exports only for cameras the same officer's own searches in the same case returned;
cases belong to their officer; every refusal logged. Over the API with bearer tokens and through
forged Dash callback bodies (POST /_dash-update-component), on a small demo registry."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from dashboard.registry import audit, casework
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, Camera, FootageRequest, Registrant, Site, User, utcnow
from dashboard.security.accounts import issue_token
from tests.dash_requests import post_with_values
from tests.integration.conftest import login

REASON = "Burglary reported at a house in this street overnight"
CASE = "CR-2026-015001"


@pytest.fixture
def demo(runtime, demo_of):
    """The app over a 400-registration demo (its officers' cases and requests) plus officer1 of
    the conftest, with a bearer token for officer1."""
    from dashboard.application import create_app

    demo_of(
        runtime,
        seed=11,
        registrations=400,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    with transaction(runtime.sessions) as s:
        token = issue_token(s, "officer1")
    app = create_app(runtime)
    app.server.config["TESTING"] = True
    return app, {"Authorization": f"Bearer {token}"}


def _active_cameras(runtime, n: int) -> list[int]:
    with runtime.sessions() as s:
        return list(
            s.scalars(
                sa.select(Camera.id)
                .join(Site, Site.id == Camera.site_id)
                .join(Registrant, Registrant.id == Site.registrant_id)
                .where(Registrant.status == "active", Camera.active.is_(True), Site.lat.is_not(None))
                .order_by(Camera.id)
                .limit(n)
            )
        )


def _public(runtime, camera_ids: list[int]) -> list[str]:
    """The cameras' public ids: what the API and the pages show and take (integer ids are internal)."""
    with runtime.sessions() as s:
        shown = dict(s.execute(sa.select(Camera.id, Camera.public_id).where(Camera.id.in_(camera_ids))).tuples().all())
    return [shown[i] for i in camera_ids]


def _internal(runtime, public_ids: list[str]) -> list[int]:
    with runtime.sessions() as s:
        found = dict(
            s.execute(sa.select(Camera.public_id, Camera.id).where(Camera.public_id.in_(public_ids))).tuples().all()
        )
    return [found[p] for p in public_ids]


def _site(runtime) -> tuple[float, float]:
    with runtime.sessions() as s:
        return s.execute(sa.select(Site.lat, Site.lon).where(Site.lat.is_not(None)).order_by(Site.id).limit(1)).one()


def _actor(runtime, username: str) -> audit.Actor:
    with runtime.sessions() as s:
        user = s.scalar(sa.select(User).where(User.username == username))
        return audit.Actor(user.id, user.username, user.role)


def _events(runtime, action: str) -> list[AuditEvent]:
    with runtime.sessions() as s:
        return list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _requests_of(runtime, username: str) -> int:
    with runtime.sessions() as s:
        return s.scalar(
            sa.select(sa.func.count())
            .select_from(FootageRequest)
            .join(User, User.id == FootageRequest.requested_by_id)
            .where(User.username == username)
        )


def _request_body(camera_ids, lat, lon, case=CASE) -> dict:
    return {
        "case_ref": case,
        "reason": REASON,
        "camera_ids": camera_ids,
        "incident_lat": lat,
        "incident_lon": lon,
        "incident_from": "2026-11-20T21:00",
        "incident_to": "2026-11-20T22:00",
    }


def _callback(client, app, output_prefix: str, values: dict, trigger: str):
    return post_with_values(client, app, output_prefix, values, trigger)


# --------------------------------------------------------------------------- 1. contacts without a search


def test_api_requests_for_cameras_no_search_of_mine_found_are_refused_logged_and_disclose_nothing(demo, runtime):
    app, auth = demo
    client = app.server.test_client()
    cameras = _active_cameras(runtime, 5)
    lat, lon = _site(runtime)

    # The issue's attack: arbitrary camera ids, no search, under a fresh case reference. Internal ids
    # are not taken at all; public ids (had the officer seen them before) are refused and logged.
    internal = client.post("/api/v1/requests", headers=auth, json=_request_body(cameras, lat, lon))
    assert internal.status_code == 422 and "not camera ids" in internal.get_json()["errors"][0]["message"]
    answer = client.post("/api/v1/requests", headers=auth, json=_request_body(_public(runtime, cameras), lat, lon))
    assert answer.status_code == 403, answer.get_json()
    message = answer.get_json()["errors"][0]["message"]
    assert message.startswith(
        f"Cameras {', '.join(_public(runtime, cameras))} were not found by your searches in case {CASE}"
    )
    assert _requests_of(runtime, "officer1") == 0
    [refused] = _events(runtime, "request_refused")
    assert (refused.username, refused.case_ref, refused.reason) == ("officer1", CASE, REASON)
    assert json.loads(refused.subject_ids) == [str(c) for c in cameras]
    assert json.loads(refused.detail)["not_searched"] == cameras
    # ... and the case's CSV holds nobody's contact details.
    export = _callback(
        app.server.test_client(),
        app,
        "cases-download.data",
        {"cases-list.selectedRows": [{"case_ref": CASE}], "cases-export-reason.value": REASON},
        "cases-export.n_clicks",
    )
    assert "ann" not in export.get_data(as_text=True).lower()

    # A search in another case does not open this one; another officer's search in this case neither.
    near = client.get(
        "/api/v1/cameras/near",
        headers=auth,
        query_string={
            "lat": lat,
            "lon": lon,
            "radius_m": 300,
            "at": "2026-11-20T21:30",
            "case_ref": "CR-2026-015999",
            "reason": REASON,
        },
    ).get_json()
    found = [c["camera_id"] for c in near["cameras"]][:3]
    assert found
    with transaction(runtime.sessions) as s:
        casework.log_search(
            s,
            _actor(runtime, "officer.demo"),
            case_ref=CASE,
            reason=REASON,
            lat=lat,
            lon=lon,
            radius_m=300,
            incident_at=None,
            result_count=len(found),
            source="api",
            camera_ids=_internal(runtime, found),
        )
    again = client.post("/api/v1/requests", headers=auth, json=_request_body(found, lat, lon))
    assert again.status_code == 403 and _requests_of(runtime, "officer1") == 0
    assert len(_events(runtime, "request_refused")) == 2

    # The honest path: search in this case, then ask the owners of what it found.
    near = client.get(
        "/api/v1/cameras/near",
        headers=auth,
        query_string={
            "lat": lat,
            "lon": lon,
            "radius_m": 300,
            "at": "2026-11-20T21:30",
            "case_ref": CASE,
            "reason": REASON,
        },
    )
    found = [c["camera_id"] for c in near.get_json()["cameras"]][:3]
    made = client.post("/api/v1/requests", headers=auth, json=_request_body(found, lat, lon))
    assert made.status_code == 201, made.get_json()
    assert _requests_of(runtime, "officer1") == len(found)
    # One camera more than the search found is refused whole.
    outside = sorted(
        set(_public(runtime, _active_cameras(runtime, 400))) - set(c["camera_id"] for c in near.get_json()["cameras"])
    )[0]
    mixed = client.post("/api/v1/requests", headers=auth, json=_request_body([outside], lat, lon))
    assert mixed.status_code == 403 and str(outside) in mixed.get_json()["errors"][0]["message"]


def test_a_search_older_than_the_validity_period_no_longer_opens_contacts(demo, runtime):
    cameras = _active_cameras(runtime, 2)
    officer = _actor(runtime, "officer1")
    with transaction(runtime.sessions) as s:
        casework.log_search(
            s,
            officer,
            case_ref=CASE,
            reason=REASON,
            lat=52.8,
            lon=-2.1,
            radius_m=200,
            incident_at=None,
            result_count=2,
            source="api",
            camera_ids=cameras,
        )
    later = utcnow() + dt.timedelta(days=casework.SEARCH_VALID_DAYS, hours=1)
    with runtime.sessions() as s, pytest.raises(casework.CaseworkRefused, match="in the last 30 days"):
        casework.reveal_contacts(s, officer, case_ref=CASE, reason=REASON, camera_ids=cameras, now=later)
    kwargs = dict(
        case_ref=CASE,
        reason=REASON,
        camera_ids=cameras,
        incident_lat=52.8,
        incident_lon=-2.1,
        incident_district_code=None,
        crime_category=None,
        incident_from=later - dt.timedelta(hours=2),
        incident_to=later - dt.timedelta(hours=1),
        now=later,
    )
    with runtime.sessions() as s, pytest.raises(casework.CaseworkRefused):
        casework.create_requests(s, officer, **kwargs)
    assert [e.action for e in _events(runtime, "reveal_refused") + _events(runtime, "request_refused")] == [
        "reveal_refused",
        "request_refused",
    ]
    # A longer configured period lets the same search serve.
    with transaction(runtime.sessions) as s:
        shown = casework.reveal_contacts(
            s, officer, case_ref=CASE, reason=REASON, camera_ids=cameras, now=later, search_valid_days=60
        )
        assert shown["camera_id"].tolist() == cameras
        assert len(casework.create_requests(s, officer, search_valid_days=60, **kwargs)) == 2


def test_forged_reveal_and_request_callbacks_are_refused_and_logged(demo, runtime):
    app, _auth = demo
    client = app.server.test_client()
    login(client, "officer")
    cameras = _active_cameras(runtime, 3)
    with runtime.sessions() as s:  # a search by another officer, whose id an attacker puts in the page's store
        theirs = s.scalar(
            sa.select(AuditEvent.id)
            .where(AuditEvent.action == "search", AuditEvent.username == "officer.demo")
            .limit(1)
        )
    rows = [{"camera_id": c} for c in _public(runtime, cameras)]
    context = {
        "search_id": theirs,
        "case_ref": CASE,
        "lat": 52.8,
        "lon": -2.1,
        "district": None,
        "at": "2026-11-20T21:30:00+00:00",
    }
    reveal = _callback(
        client,
        app,
        "search-contacts.children",
        {"search-grid.selectedRows": rows, "search-context.data": context, "search-reveal.n_clicks": 1},
        "search-reveal.n_clicks",
    )
    assert reveal.status_code == 200
    text = reveal.get_data(as_text=True)
    assert "That search is not one of yours" in text and "@" not in text  # no email address shown
    ask = _callback(
        client,
        app,
        "search-request-msg.children",
        {"search-grid.selectedRows": rows, "search-context.data": context, "search-request.n_clicks": 1},
        "search-request.n_clicks",
    )
    assert "That search is not one of yours" in ask.get_data(as_text=True)
    assert _requests_of(runtime, "officer1") == 0
    assert [
        (e.username, json.loads(e.subject_ids), json.loads(e.detail)["why"])
        for e in _events(runtime, "reveal_refused") + _events(runtime, "request_refused")
    ] == [("officer1", [str(c) for c in cameras], "not_your_search")] * 2
    assert not _events(runtime, "reveal_contact") or all(
        e.username != "officer1" for e in _events(runtime, "reveal_contact")
    )


# --------------------------------------------------------------------------- 2. another officer's case


def test_a_forged_download_of_another_officers_case_is_refused_like_an_unknown_case_and_logged(demo, runtime):
    app, _auth = demo
    client = app.server.test_client()
    login(client, "officer")
    with runtime.sessions() as s:
        theirs = s.scalar(
            sa.select(FootageRequest.case_ref)
            .join(User, User.id == FootageRequest.requested_by_id)
            .where(User.username == "officer.demo")
            .limit(1)
        )
    assert theirs
    answers = {}
    for case in (theirs, "CR-2026-999999"):
        response = _callback(
            client,
            app,
            "cases-download.data",
            {"cases-list.selectedRows": [{"case_ref": case}], "cases-export-reason.value": REASON},
            "cases-export.n_clicks",
        )
        assert response.status_code == 200
        body = response.get_json()["response"]
        assert "cases-download" not in body  # no file
        answers[case] = json.dumps(body).replace(case, "<case>")
    assert answers[theirs] == answers["CR-2026-999999"]  # the answer does not tell which case exists
    assert "You have no footage requests in case <case> to export" in answers[theirs]
    refused = _events(runtime, "export_refused")
    assert [(e.username, e.case_ref, e.reason, json.loads(e.detail)["why"]) for e in refused] == [
        ("officer1", theirs, REASON, "no_case"),
        ("officer1", "CR-2026-999999", REASON, "no_case"),
    ]
    assert all(e.username != "officer1" for e in _events(runtime, "export"))


def test_an_officer_exports_only_their_own_requests_in_a_shared_case_reference(demo, runtime):
    cameras = _active_cameras(runtime, 3)
    now = utcnow()
    made = {}
    for username, mine in (("officer1", cameras[:2]), ("officer.demo", cameras[2:])):
        actor = _actor(runtime, username)
        with transaction(runtime.sessions) as s:
            casework.log_search(
                s,
                actor,
                case_ref=CASE,
                reason=REASON,
                lat=52.8,
                lon=-2.1,
                radius_m=200,
                incident_at=None,
                result_count=len(mine),
                source="page",
                camera_ids=mine,
            )
            made[username] = [
                r.id
                for r in casework.create_requests(
                    s,
                    actor,
                    case_ref=CASE,
                    reason=REASON,
                    camera_ids=mine,
                    incident_lat=52.8,
                    incident_lon=-2.1,
                    incident_district_code=None,
                    crime_category=None,
                    incident_from=now - dt.timedelta(hours=2),
                    incident_to=now - dt.timedelta(hours=1),
                    now=now,
                )
            ]
    with transaction(runtime.sessions) as s:
        text = casework.export_case_csv(s, _actor(runtime, "officer1"), case_ref=CASE, reason=REASON)
    exported = [line.split(",")[0] for line in text.strip().splitlines()[1:]]
    with runtime.sessions() as s:
        shown = dict(s.execute(sa.select(FootageRequest.id, FootageRequest.public_id)).tuples().all())
    assert exported == [shown[i] for i in made["officer1"]]


# --------------------------------------------------------------------------- 3. search volume and reasons


def _near(client, auth, lat, lon, reason, case=CASE, radius=1000):
    return client.get(
        "/api/v1/cameras/near",
        headers=auth,
        query_string={
            "lat": lat,
            "lon": lon,
            "radius_m": radius,
            "at": "2026-11-20T21:30",
            "case_ref": case,
            "reason": reason,
        },
    )


def _flags(runtime, reference):
    from dashboard.security import audit_flags
    from dashboard.security.audit_review import UK, AuditFilter
    from dashboard.security.search_places import SearchPlaces

    today = dt.datetime.now(UK).date()
    with runtime.sessions() as s:
        return audit_flags.review_flags(
            s, AuditFilter(today - dt.timedelta(days=1), today), utcnow(), SearchPlaces(reference)
        ).flags


def test_the_issues_thirty_junk_searches_are_refused_logged_and_flagged(demo, runtime, reference):
    app, auth = demo
    client = app.server.test_client()
    lat, lon = _site(runtime)
    answers = [_near(client, auth, lat, lon, "aaaaaaaaaa") for _ in range(30)]
    assert {a.status_code for a in answers} == {422}
    assert answers[0].get_json()["errors"] == [
        {
            "field": "reason",
            "message": (
                "Write the reason in words, at least 3 of them: say what happened and why these cameras may help."
            ),
        }
    ]
    assert not [e for e in _events(runtime, "search") if e.username == "officer1"]
    refused = [e for e in _events(runtime, "search_refused") if e.username == "officer1"]  # the demo has its own
    assert len(refused) == 30 and {(e.username, e.case_ref, e.reason) for e in refused} == {
        ("officer1", CASE, "aaaaaaaaaa")
    }
    assert {json.loads(e.detail)["why"] for e in refused} == {"reason"}
    [flag] = [f for f in _flags(runtime, reference) if f.kind == "refused" and "officer1" in f.users]
    assert flag.users == ("officer1",) and flag.case_refs == (CASE,) and len(flag.row_ids) == 30
    assert "was refused 30 searches" in flag.why and "a reason that says nothing (30)" in flag.why


def test_searches_past_the_officers_limit_are_refused_with_429_logged_and_flagged(demo, runtime, reference):
    app, auth = demo
    client = app.server.test_client()
    lat, lon = _site(runtime)
    assert runtime.settings.search_rate_limit == "10 per minute; 60 per hour"
    answers = [_near(client, auth, lat, lon, REASON).status_code for _ in range(12)]
    assert answers == [200] * 10 + [429] * 2
    # The page counts against the same limit: its search callback is refused too, with the message.
    page = app.server.test_client()
    login(page, "officer")
    point = {"lat": lat, "lon": lon, "easting_m": 0.0, "northing_m": 0.0, "district": None, "label": "here"}
    shown = _callback(
        page,
        app,
        "search-grid.rowData",
        {
            "search-point.data": point,
            "search-when.value": "2026-11-20T21:30",
            "search-radius.value": 200,
            "search-case.value": CASE,
            "search-reason.value": REASON,
        },
        "search-submit.n_clicks",
    )
    assert shown.status_code == 200
    assert "You have reached the limit of 10 per 1 minute searches" in shown.get_data(as_text=True)
    # Another officer has their own limit.
    with transaction(runtime.sessions) as s:
        other = {"Authorization": f"Bearer {issue_token(s, 'officer.demo')}"}
    assert _near(client, other, lat, lon, REASON).status_code == 200
    refused = [e for e in _events(runtime, "search_refused") if e.username == "officer1"]
    assert [(e.username, json.loads(e.detail)["why"], json.loads(e.detail)["limit"]) for e in refused] == [
        ("officer1", "rate_limit", "10 per 1 minute")
    ] * 3
    assert len([e for e in _events(runtime, "search") if e.username == "officer1"]) == 10
    [flag] = [f for f in _flags(runtime, reference) if f.kind == "refused" and "officer1" in f.users]
    assert flag.users == ("officer1",) and "over the search limit (3)" in flag.why
    doc = client.get("/api/v1/openapi.json", headers=auth).get_json()
    assert "429" in doc["paths"]["/api/v1/cameras/near"]["get"]["responses"]


# --------------------------------------------------------------------------- 4. tokens minted for others


def test_no_one_can_issue_a_token_for_someone_else_and_a_token_is_issued_only_on_its_owners_password(app, runtime):
    from dashboard.security import accounts
    from tests.dash_requests import component_props, router_body
    from tests.integration.conftest import PASSWORD

    # The administrator's page has no way to mint an officer's token any more, nor has the domain.
    admin = app.server.test_client()
    login(admin, "admin")
    drawn = component_props(admin.post("/_dash-update-component", json=router_body("/accounts")).get_json())
    assert "accounts-issue" not in drawn and not hasattr(accounts, "issue_token_for")

    # An officer issues their own token on their account page, after typing their password again.
    officer = app.server.test_client()
    login(officer, "officer")
    assert officer.get("/account").status_code == 200
    wrong = _callback(
        officer,
        app,
        "account-issue-msg.children",
        {"account-issue.n_clicks": 1, "account-password.value": "not-my-password-at-all"},
        "account-issue.n_clicks",
    )
    assert "That is not your password; no token was issued." in wrong.get_data(as_text=True)
    right = _callback(
        officer,
        app,
        "account-issue-msg.children",
        {"account-issue.n_clicks": 2, "account-password.value": PASSWORD},
        "account-issue.n_clicks",
    )
    token = re.search(r"ccr_[A-Za-z0-9_-]+", right.get_data(as_text=True)).group(0)
    issued = _events(runtime, "token_issued")
    assert [(e.user_id, e.username, json.loads(e.detail)["via"]) for e in issued] == [
        (_actor(runtime, "officer1").user_id, "officer1", "account page")
    ]
    assert [(e.username, json.loads(e.detail)["why"]) for e in _events(runtime, "token_refused")] == [
        ("officer1", "wrong_password")
    ]
    listed = app.server.test_client().get(
        "/api/v1/requests", headers={"Authorization": f"Bearer {token}"}, query_string={"case_ref": CASE}
    )
    assert listed.status_code == 200  # the token acts as its owner, an officer

    # An administrator's own token is theirs: it cannot search as an officer.
    admin_token = _callback(
        admin,
        app,
        "account-issue-msg.children",
        {"account-issue.n_clicks": 1, "account-password.value": PASSWORD},
        "account-issue.n_clicks",
    )
    assert "ccr_" in admin_token.get_data(as_text=True)
    with runtime.sessions() as s:
        owners = (
            s.execute(
                sa.select(User.username)
                .join(accounts.ApiToken, accounts.ApiToken.user_id == User.id)
                .order_by(accounts.ApiToken.id)
            )
            .scalars()
            .all()
        )
    assert owners == ["officer1", "admin1"]


def test_wrong_passwords_for_a_token_are_throttled(runtime):
    from dashboard.security import accounts
    from tests.integration.conftest import PASSWORD

    officer = _actor(runtime, "officer1")
    for _ in range(accounts.TOKEN_MAX_FAILURES):
        with runtime.sessions() as s, pytest.raises(accounts.TokenRefused, match="not your password"):
            accounts.issue_own_token(s, officer, "a-wrong-guess-here", via="test")
    with runtime.sessions() as s, pytest.raises(accounts.TokenRefused, match="Too many wrong passwords"):
        accounts.issue_own_token(s, officer, PASSWORD, via="test")  # even the right one, for now
    assert [json.loads(e.detail)["why"] for e in _events(runtime, "token_refused")] == (
        ["wrong_password"] * accounts.TOKEN_MAX_FAILURES + ["throttled"]
    )


@pytest.mark.parametrize("role", ["analyst", "lead", "officer"])
def test_a_password_typed_on_the_account_page_never_reaches_the_audit_log(app, runtime, role):
    """Analysts' and leads' callbacks are logged with their inputs (issue 14): not the password."""
    from tests.integration.conftest import PASSWORD

    client = app.server.test_client()
    login(client, role)
    for typed in (PASSWORD, "a-wrong-one-typed-here"):
        answer = _callback(
            client,
            app,
            "account-issue-msg.children",
            {"account-issue.n_clicks": 1, "account-password.value": typed},
            "account-issue.n_clicks",
        )
        assert answer.status_code == 200
    with runtime.sessions() as s:
        logged = json.dumps([[e.detail, e.reason, e.subject_ids] for e in s.scalars(sa.select(AuditEvent))])
    assert PASSWORD not in logged and "a-wrong-one-typed-here" not in logged
    assert [e.username for e in _events(runtime, "token_issued")] == [f"{role}1"]
