"""What the login log, caches, cookies and Dash's dependency list give away (issue 15, item 11):
a username typed wrong is not kept, files and figures carry ``Cache-Control: no-store``, the login
cookie is ``Secure`` when the public address is https, and ``/_dash-dependencies`` lists only the
callbacks of the pages the signed-in role may use."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from dashboard.config import load_settings
from dashboard.core.vocab import ROLES
from dashboard.registry import audit
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent
from dashboard.runtime import prepare
from tests.integration.conftest import login


def _post_login(client, username: str, password: str):
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"})


def _failed_rows(runtime) -> list[tuple]:
    with runtime.sessions() as s:
        return s.execute(
            sa.select(AuditEvent.username, AuditEvent.detail, AuditEvent.reason)
            .where(AuditEvent.action == "login_failed")
            .order_by(AuditEvent.id)
        ).all()


# --------------------------------------------------------------------------- the login log


def test_a_password_typed_as_the_username_is_not_kept_in_the_log(app, runtime):
    client = app.server.test_client()
    assert _post_login(client, "Tr0ub4dor&3-horse-staple", "anything-at-all").status_code == 401
    assert _post_login(client, "officer1", "wrong-password-123").status_code == 401  # an existing account
    rows = _failed_rows(runtime)
    assert len(rows) == 2
    unknown, known = rows
    everything = json.dumps([list(r) for r in rows]).lower()
    assert "tr0ub4dor" not in everything and "horse" not in everything and "staple" not in everything
    assert unknown[0] is not None and unknown[0].startswith("unknown")
    assert known[0] == "officer1"
    # The same unknown name gives the same marker (the auditor sees repeats), another name another one.
    assert _post_login(client, "tr0ub4dor&3-horse-staple", "x" * 12).status_code == 401
    assert _post_login(client, "someone-else", "x" * 12).status_code == 401
    markers = [r[0] for r in _failed_rows(runtime)]
    assert markers[2] == markers[0] and markers[3] not in (markers[0], "officer1")
    with runtime.sessions() as s:
        assert audit.verify_chain(s).intact


def test_an_unknown_username_is_throttled_like_a_real_one(app, runtime):
    """The marker is counted per typed name, so the answers do not tell real accounts apart."""
    client = app.server.test_client()
    statuses = {
        name: [_post_login(client, name, "wrong-password-123").status_code for _ in range(11)]
        for name in ("officer1", "no-such-user")
    }
    assert statuses["officer1"] == statuses["no-such-user"] == [401] * 10 + [429]


# --------------------------------------------------------------------------- caches


@pytest.fixture
def files_app(app, runtime):
    from dashboard.registry import campaigns

    with transaction(runtime.sessions) as s:
        slug = campaigns.create_campaign(
            s, audit.Actor(None, "lead1", "lead"), name="Spring leaflets", channel="leaflet"
        ).slug
    return app, slug


def test_files_and_figures_are_never_cached(files_app):
    app, slug = files_app
    clients = {}
    for role in ROLES:
        clients[role] = app.server.test_client()
        login(clients[role], role)
    asked = {
        ("lead", f"/campaigns/{slug}/qr.png"): "image/png",
        ("lead", f"/campaigns/{slug}/qr.svg"): "image/svg+xml",
        ("analyst", "/coverage/export/cells.csv?res=7"): "text/csv",
        ("analyst", "/coverage/export/areas.geojson?level=district&near=100"): None,
        ("auditor", "/audit/export.csv?from=2026-11-01&to=2026-12-31"): "text/csv",
        ("auditor", "/protection/ptable.csv"): "text/csv",
        ("lead", "/uptake/report/weeks.csv"): "text/csv",
        ("officer", "/_dash-dependencies"): "application/json",
        ("officer", "/sources"): None,
    }
    for (role, path), mimetype in asked.items():
        response = clients[role].get(path)
        assert response.status_code == 200, (path, response.status_code)
        if mimetype:
            assert response.mimetype == mimetype, path
        assert response.headers.get("Cache-Control") == "no-store", path
    static = app.server.test_client().get("/assets/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


# --------------------------------------------------------------------------- the session cookie


def _app_with(reference_dir, tmp_path, **env):
    from dashboard.application import create_app

    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
            **env,
        }
    )
    rt = prepare(settings)
    return create_app(rt), rt


def _session_cookie_flags(response) -> list[str]:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1
    return [p.strip().lower() for p in cookies[0].split(";")]


def test_the_login_cookie_is_secure_by_default_when_the_public_address_is_https(reference_dir, tmp_path):
    base = {"REFERENCE_DATA_DIR": str(reference_dir), "SECRET_KEY": "z" * 40}
    assert load_settings({**base, "PUBLIC_BASE_URL": "https://cameras.example.police.uk"}).session_cookie_secure
    assert not load_settings({**base, "PUBLIC_BASE_URL": "http://127.0.0.1:8050"}).session_cookie_secure
    # an explicit setting still wins either way
    assert not load_settings(
        {**base, "PUBLIC_BASE_URL": "https://cameras.example.police.uk", "SESSION_COOKIE_SECURE": "false"}
    ).session_cookie_secure
    app, rt = _app_with(reference_dir, tmp_path, PUBLIC_BASE_URL="https://cameras.example.police.uk")
    try:
        flags = _session_cookie_flags(app.server.test_client().get("/login", base_url="https://localhost"))
        assert "secure" in flags and "httponly" in flags
    finally:
        rt.engine.dispose()


# --------------------------------------------------------------------------- Dash's dependency list


def _output_ids(callback: dict) -> list[str]:
    out = callback["output"]
    parts = out[2:-2].split("...") if out.startswith("..") else [out]
    ids = []
    for part in parts:
        cid = part.rsplit(".", 1)[0]
        if cid.startswith("{"):
            cid = json.loads(cid)["type"]
        ids.append(cid)
    return ids


# Which id prefixes each role's pages own (written out from the README's page list, not from the code);
# every role has its own account page ("My account": its own API token).
SEEN_BY = {
    "officer": {"shell-", "home-", "search-", "cases-", "protection-", "account-"},
    "analyst": {"shell-", "home-", "coverage-", "gaps-", "protection-", "account-"},
    "lead": {"shell-", "home-", "coverage-", "gaps-", "uptake-", "campaigns-", "protection-", "account-"},
    "auditor": {"shell-", "home-", "audit-", "protection-", "account-"},
    "admin": {
        "shell-",
        "home-",
        "campaigns-",
        "accounts-",
        "erasure-",
        "crimes-",
        "storage-",
        "protection-",
        "account-",
    },
}


def _prefix(cid: str, known: set[str]) -> str:
    return next((p for p in sorted(known, key=len, reverse=True) if cid.startswith(p)), cid)


def test_the_dependency_list_holds_only_the_callbacks_of_the_roles_own_pages(app):
    everything = {callback["output"] for callback in app._callback_list}
    all_prefixes = set().union(*SEEN_BY.values())
    seen_outputs = set()
    for role in ROLES:
        client = app.server.test_client()
        login(client, role)
        response = client.get("/_dash-dependencies")
        assert response.status_code == 200
        callbacks = response.get_json()
        prefixes = {_prefix(cid, all_prefixes) for cb in callbacks for cid in _output_ids(cb)}
        assert prefixes <= SEEN_BY[role], (role, prefixes - SEEN_BY[role])
        # each of the role's own pages keeps its callbacks (the router and the pages' own)
        assert prefixes >= SEEN_BY[role] - {"protection-"}, (role, SEEN_BY[role] - prefixes)
        # nothing of the callback is altered: each listed entry is Dash's own
        originals = {cb["output"]: cb for cb in json.loads(json.dumps(app._callback_list))}
        assert all(originals[cb["output"]] == cb for cb in callbacks)
        seen_outputs |= {cb["output"] for cb in callbacks}
    assert seen_outputs == everything  # every callback is still served to some role
    assert app.server.test_client().get("/_dash-dependencies").status_code == 401
