"""Login throttling (at most LOGIN_MAX_FAILURES failed attempts per account per window, every
attempt logged) and session timeouts (idle and absolute), over the real app and audit log."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import sqlalchemy as sa

from dashboard.registry import audit
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, utcnow
from tests.integration.conftest import PASSWORD, login


def _post_login(client, username: str, password: str):
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"})


def _actions(runtime, username: str) -> list[str]:
    with runtime.sessions() as s:
        return list(
            s.scalars(sa.select(AuditEvent.action).where(AuditEvent.username == username).order_by(AuditEvent.id))
        )


def test_ten_failures_lock_the_account_for_the_window_and_every_attempt_is_logged(app, runtime):
    client = app.server.test_client()
    for _ in range(10):
        assert _post_login(client, "officer1", "wrong-password-123").status_code == 401
    refused = _post_login(client, "officer1", PASSWORD)  # even the right password, now
    assert refused.status_code == 429
    assert "Too many failed attempts for this account. Wait 15 minutes" in refused.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in
    assert _actions(runtime, "officer1") == ["login_failed"] * 10 + ["login_throttled"]
    # another account is not affected
    other = app.server.test_client()
    assert _post_login(other, "analyst1", PASSWORD).status_code == 302


def test_failures_older_than_the_window_do_not_count(app, runtime):
    with transaction(runtime.sessions) as s:
        for _ in range(10):
            audit.record(s, audit.Actor(None, "lead1", None), "login_failed", at=utcnow() - dt.timedelta(minutes=16))
        for _ in range(9):
            audit.record(s, audit.Actor(None, "lead1", None), "login_failed")
    client = app.server.test_client()
    assert _post_login(client, "LEAD1", PASSWORD).status_code == 302  # 9 in the window: still allowed
    assert client.get("/").status_code == 200


def _age_session(client, *, idle_s: float = 0, age_s: float = 0) -> None:
    with client.session_transaction() as sess:
        sess["seen_at"] = time.time() - idle_s
        sess["started_at"] = time.time() - age_s


def test_an_idle_session_ends_and_says_why(app):
    client = app.server.test_client()
    login(client, "analyst")
    assert client.get("/coverage").status_code == 200
    _age_session(client, idle_s=29 * 60, age_s=29 * 60)
    assert client.get("/coverage").status_code == 200  # 29 minutes idle: still in
    _age_session(client, idle_s=31 * 60, age_s=31 * 60)
    response = client.get("/coverage")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "logged out after 30 minutes without activity" in client.get("/login").get_data(as_text=True)
    assert client.get("/coverage").status_code == 302


def test_a_session_ends_after_its_absolute_limit_even_when_busy(app):
    client = app.server.test_client()
    login(client, "analyst")
    _age_session(client, idle_s=10, age_s=12 * 3600 + 60)
    callback = client.post("/_dash-update-component", json={"output": "x", "outputs": [], "inputs": []})
    assert callback.status_code == 401
    assert "12-hour limit" in client.get("/login").get_data(as_text=True)


def test_a_session_without_times_is_not_trusted(app):
    client = app.server.test_client()
    login(client, "analyst")
    with client.session_transaction() as sess:
        del sess["started_at"]
    assert client.get("/coverage").status_code == 302


def _search(client):
    return client.get(
        "/api/v1/cameras/near?lat=52.8&lon=-2.1&radius_m=100&at=2026-11-20T10:00:00Z"
        "&case_ref=CR-2026-004512&reason=Burglary%20enquiry%20at%20the%20scene"
    )


def _searches(runtime) -> int:
    with runtime.sessions() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "search"))


def test_an_idle_session_cookie_no_longer_reaches_the_api(app, runtime):
    """Idle 150 s with a one-minute idle limit: the API refuses the session cookie, the search is
    not run, and the session has ended on the server (the dashboard refuses it too)."""
    # SESSION_IDLE_MINUTES=1 (the runtime is frozen; the app reads its settings on each request)
    object.__setattr__(runtime, "settings", dataclasses.replace(runtime.settings, session_idle_minutes=1))
    client = app.server.test_client()
    login(client, "officer")
    assert _search(client).status_code == 200  # fresh: the cookie works on the API
    before = _searches(runtime)
    _age_session(client, idle_s=150, age_s=150)
    refused = _search(client)
    assert refused.status_code == 401 and refused.is_json
    assert _searches(runtime) == before  # nothing was searched
    with client.session_transaction() as sess:  # even with fresh times in the cookie, the session is over
        sess["seen_at"] = sess["started_at"] = time.time()
    assert _search(client).status_code == 401
    assert client.get("/search").status_code == 302


def test_a_session_cookie_past_its_absolute_limit_no_longer_reaches_the_api(app, runtime):
    client = app.server.test_client()
    login(client, "officer")
    _age_session(client, idle_s=10, age_s=12 * 3600 + 60)
    assert _search(client).status_code == 401
    assert client.get("/api/v1/summary").status_code == 401


def test_the_absolute_limit_is_kept_by_the_server_whatever_the_cookie_says(app, runtime):
    """The session row began 13 hours ago; the cookie's own times say it is fresh."""
    from dashboard.registry.models import LoginSession

    client = app.server.test_client()
    login(client, "officer")
    with transaction(runtime.sessions) as s:
        s.execute(sa.update(LoginSession).values(started_at=utcnow() - dt.timedelta(hours=13)))
    assert _search(client).status_code == 401
    assert client.get("/search").status_code == 302
    assert "12-hour limit" in client.get("/login").get_data(as_text=True)


# --------------------------------------------------------------------------- per address, and the real user


def _from(client, address: str):
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_spraying_many_accounts_from_one_address_is_limited(app, runtime):
    """30 failed logins from one address, each at a different account (one guess each, so no
    account reaches its own limit): the address is refused, even a right password; others are not."""
    sprayer = _from(app.server.test_client(), "198.51.100.9")
    for i in range(30):
        assert _post_login(sprayer, f"staff{i:02d}", "Summer2026!!").status_code == 401
    refused = _post_login(sprayer, "officer1", PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed logins from your connection" in refused.get_data(as_text=True)
    assert _post_login(sprayer, "analyst1", PASSWORD).status_code == 429
    assert sprayer.get("/").status_code == 302  # not logged in
    elsewhere = _from(app.server.test_client(), "203.0.113.7")
    assert _post_login(elsewhere, "officer1", PASSWORD).status_code == 302
    with runtime.sessions() as s:
        throttled = s.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "login_throttled")
        )
    assert throttled == 2  # each refusal is logged


def test_an_attacker_locking_an_account_does_not_lock_out_its_owner(app, runtime):
    attacker = _from(app.server.test_client(), "198.51.100.9")
    for _ in range(10):
        assert _post_login(attacker, "officer1", "wrong-password-123").status_code == 401
    assert _post_login(attacker, "officer1", PASSWORD).status_code == 429  # the guessing address: refused
    owner = _from(app.server.test_client(), "203.0.113.7")
    assert _post_login(owner, "officer1", PASSWORD).status_code == 302  # the owner, from their own address
    assert owner.get("/search").status_code == 200
    # a fresh address may still try once while the account is over its limit; once it fails, it is refused too
    second = _from(app.server.test_client(), "192.0.2.44")
    assert _post_login(second, "officer1", "another-wrong-guess").status_code == 401
    assert _post_login(second, "officer1", PASSWORD).status_code == 429
    assert _actions(runtime, "officer1") == (
        ["login_failed"] * 10 + ["login_throttled", "login"] + ["login_failed", "login_throttled"]
    )
