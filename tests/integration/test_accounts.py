"""Accounts over the real app: server-side sessions (logout, rotation, disabling, password
reset), the administrator's actions with their audit rows and guard rails."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from dashboard.registry import audit
from dashboard.registry.database import transaction
from dashboard.registry.models import ApiToken, AuditEvent, LoginSession, User
from dashboard.security import accounts
from dashboard.security.accounts import AccountError, authenticate
from tests.integration.conftest import PASSWORD, login


def _user(runtime, username: str) -> User:
    with runtime.sessions() as s:
        user = s.scalar(sa.select(User).where(User.username == username))
        s.expunge(user)
        return user


def _actor(runtime, username: str = "admin1") -> audit.Actor:
    user = _user(runtime, username)
    return audit.Actor(user.id, user.username, user.role)


def _audit_rows(runtime, action: str) -> list[AuditEvent]:
    with runtime.sessions() as s:
        rows = list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        s.expunge_all()
        return rows


def _csrf(client) -> str:
    """The CSRF token of this client's session, from the logout form in the shell's layout."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("props", {}).get("name") == "csrf_token":
                found.append(node["props"]["value"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(client.get("/_dash-layout").get_data(as_text=True)))
    return found[0]


def _refused(client) -> bool:
    page = client.get("/")
    callback = client.post("/_dash-update-component", json={"output": "x", "outputs": [], "inputs": []})
    return page.status_code == 302 and "/login" in page.headers["Location"] and callback.status_code == 401


def test_logout_ends_the_session_on_the_server_so_a_copied_cookie_is_refused(app, runtime):
    client = app.server.test_client()
    login(client, "officer")
    copied = client.get_cookie("session").value
    response = client.post("/logout", data={"csrf_token": _csrf(client)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    replay = app.server.test_client()
    replay.set_cookie("session", copied)
    assert _refused(replay)
    with runtime.sessions() as s:
        assert list(s.scalars(sa.select(LoginSession.end_reason))) == ["logout"]
    assert len(_audit_rows(runtime, "logout")) == 1


def test_each_login_gets_a_new_session_id_and_ends_the_browsers_previous_one(app, runtime):
    client = app.server.test_client()
    login(client, "officer")
    first = client.get_cookie("session").value
    # The same browser posts the login form again (e.g. from a second tab, as someone else).
    again = client.post(
        "/login", data={"username": "analyst1", "password": PASSWORD, "csrf_token": _csrf(client), "next": "/"}
    )
    assert again.status_code == 302
    with runtime.sessions() as s:
        rows = s.execute(sa.select(LoginSession.user_id, LoginSession.end_reason).order_by(LoginSession.id)).all()
    assert [r.end_reason for r in rows] == ["replaced", None]
    assert rows[0].user_id == _user(runtime, "officer1").id and rows[1].user_id == _user(runtime, "analyst1").id
    old = app.server.test_client()
    old.set_cookie("session", first)
    assert _refused(old)
    assert client.get("/coverage").status_code == 200


def test_disabling_a_user_ends_their_session_and_tokens_at_once(app, runtime):
    officer = app.server.test_client()
    login(officer, "officer")
    assert officer.get("/search").status_code == 200
    with transaction(runtime.sessions) as s:
        token = accounts.issue_token(s, "officer1")
    api = {"Authorization": f"Bearer {token}"}
    assert officer.get("/api/v1/requests?case_ref=CR-2026-000777", headers=api).status_code != 401
    with transaction(runtime.sessions) as s:
        ended = accounts.disable_user(s, _actor(runtime), _user(runtime, "officer1").id)
    assert ended == 1
    assert _refused(officer)  # the very next request
    assert "Your account has been disabled" in officer.get("/login").get_data(as_text=True)
    anonymous = app.server.test_client()
    assert anonymous.get("/api/v1/requests?case_ref=CR-2026-000777", headers=api).status_code == 401
    with runtime.sessions() as s:
        assert s.scalar(sa.select(ApiToken.revoked_at)) is not None
        assert authenticate(s, "officer1", PASSWORD) is None
    row = _audit_rows(runtime, "user_disabled")[-1]
    assert row.username == "admin1" and json.loads(row.detail) == {
        "username": "officer1",
        "sessions_ended": 1,
        "tokens_revoked": 1,
    }
    # Re-enabled: can log in again; the revoked token stays revoked.
    with transaction(runtime.sessions) as s:
        accounts.enable_user(s, _actor(runtime), _user(runtime, "officer1").id)
    again = app.server.test_client()
    login(again, "officer")
    assert again.get("/search").status_code == 200
    assert anonymous.get("/api/v1/requests?case_ref=CR-2026-000777", headers=api).status_code == 401


def test_a_password_reset_ends_sessions_and_only_the_new_password_works(app, runtime):
    lead = app.server.test_client()
    login(lead, "lead")
    with transaction(runtime.sessions) as s:
        new = accounts.reset_password(s, _actor(runtime), _user(runtime, "lead1").id)
    assert _refused(lead)
    assert "Your password was reset" in lead.get("/login").get_data(as_text=True)
    with runtime.sessions() as s:
        assert authenticate(s, "lead1", PASSWORD) is None
        assert authenticate(s, "lead1", new) is not None
    assert new not in json.dumps([r.detail for r in _audit_rows(runtime, "password_reset")])


def test_admin_actions_are_logged_with_what_changed(runtime):
    admin = _actor(runtime)
    with transaction(runtime.sessions) as s:
        user, generated = accounts.add_user(s, admin, "New.Officer", "officer")
        new_id = user.id
    assert generated and len(generated) >= 12
    with transaction(runtime.sessions) as s:
        assert authenticate(s, "new.officer", generated) is not None
        accounts.set_role(s, admin, new_id, "analyst")
    with transaction(runtime.sessions) as s:  # the user issues their own token (issue 15)
        token = accounts.issue_own_token(s, audit.Actor(new_id, "new.officer", "analyst"), generated, via="test")
        token_id = s.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == new_id))
    with transaction(runtime.sessions) as s:
        accounts.revoke_token(s, admin, token_id)
    details = {
        r.action: json.loads(r.detail)
        for r in _audit_rows(runtime, "user_created")
        + _audit_rows(runtime, "role_changed")
        + _audit_rows(runtime, "token_issued")
        + _audit_rows(runtime, "token_revoked")
    }
    assert details == {
        "user_created": {"username": "new.officer", "role": "officer", "password": "generated"},
        "role_changed": {"username": "new.officer", "from": "officer", "to": "analyst"},
        "token_issued": {"username": "new.officer", "token_id": token_id, "via": "test"},
        "token_revoked": {"username": "new.officer", "token_id": token_id},
    }
    everything = json.dumps([[r.detail, r.reason] for r in _audit_rows(runtime, "user_created")])
    assert generated not in everything and token not in json.dumps(
        [r.detail for r in _audit_rows(runtime, "token_issued")]
    )


@pytest.mark.parametrize(
    "attempt, message",
    [
        (lambda s, a, ids: accounts.disable_user(s, a, ids["admin1"]), "cannot disable your own account"),
        (lambda s, a, ids: accounts.set_role(s, a, ids["admin1"], "officer"), "cannot change your own role"),
        (lambda s, a, ids: accounts.set_role(s, a, ids["officer1"], "officer"), "already officer"),
        (lambda s, a, ids: accounts.set_role(s, a, ids["officer1"], "superuser"), "role 'superuser' is unknown"),
        (lambda s, a, ids: accounts.enable_user(s, a, ids["officer1"]), "already enabled"),
        (lambda s, a, ids: accounts.disable_user(s, a, 99999), "no user with id 99999"),
        (lambda s, a, ids: accounts.revoke_token(s, a, 424242), "no API token with id 424242"),
        (lambda s, a, ids: accounts.add_user(s, a, "officer1", "officer"), "already exists"),
        (lambda s, a, ids: accounts.add_user(s, a, "x y", "officer"), "is not allowed"),
        (lambda s, a, ids: accounts.add_user(s, a, "newbie", "officer", "password2026!"), "common password"),
        (lambda s, a, ids: accounts.add_user(s, a, "newbie", "officer", "short"), "too short"),
    ],
)
def test_refusals_say_why_and_change_nothing(runtime, attempt, message):
    ids = {name: _user(runtime, name).id for name in ("admin1", "officer1")}
    with runtime.sessions() as s:
        before = s.execute(
            sa.select(User.id, User.username, User.role, User.active, User.password_hash).order_by(User.id)
        ).all()
        audit_before = s.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    with pytest.raises(AccountError) as caught:
        with transaction(runtime.sessions) as s:
            attempt(s, _actor(runtime), ids)
    assert message in str(caught.value)
    with runtime.sessions() as s:
        assert (
            s.execute(
                sa.select(User.id, User.username, User.role, User.active, User.password_hash).order_by(User.id)
            ).all()
            == before
        )
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == audit_before


def test_an_administrator_can_disable_another_and_the_disabled_one_can_no_longer_act(runtime):
    with transaction(runtime.sessions) as s:
        second, _ = accounts.add_user(s, _actor(runtime), "admin2", "admin")
        second_actor = audit.Actor(second.id, second.username, second.role)
    first = _actor(runtime)
    with transaction(runtime.sessions) as s:
        accounts.disable_user(s, second_actor, first.user_id)
    with pytest.raises(AccountError, match="Only an active administrator"):
        with transaction(runtime.sessions) as s:
            accounts.enable_user(s, first, first.user_id)  # a disabled admin cannot re-enable themselves


@pytest.mark.parametrize("role", ["officer", "analyst", "lead", "auditor"])
def test_only_an_administrator_manages_accounts(runtime, role):
    with pytest.raises(AccountError, match="Only an active administrator"):
        with transaction(runtime.sessions) as s:
            accounts.disable_user(s, _actor(runtime, f"{role}1"), _user(runtime, "officer1").id)


def test_a_bearer_token_is_judged_alone_whatever_cookie_comes_with_it(app, runtime):
    with transaction(runtime.sessions) as s:
        token = accounts.issue_token(s, "officer1")
    client = app.server.test_client()
    assert client.get("/register").status_code == 200  # a public form: the browser now holds a session cookie
    assert client.get_cookie("session") is not None
    api = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/requests?case_ref=CR-2026-000777", headers=api).status_code == 200
    # and a logged-in analyst's cookie does not turn an officer's token into the analyst
    login(client, "analyst")
    assert client.get("/api/v1/requests?case_ref=CR-2026-000777", headers=api).status_code == 200
    assert client.get("/api/v1/requests?case_ref=CR-2026-000777").status_code == 403
