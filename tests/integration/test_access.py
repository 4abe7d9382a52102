"""Role by route: every page, Dash callback and API route refuses anyone who may not use it."""

from __future__ import annotations

import pytest
from dash.development.base_component import Component

from dashboard import pages as pages_module
from dashboard.api.endpoints import PUBLIC
from dashboard.core.vocab import ROLES
from dashboard.pages import Page, all_pages
from dashboard.security import site
from tests.integration.conftest import PASSWORD, login

ANONYMOUS = None


def _callback_bodies(app) -> list[tuple[str, dict]]:
    """A request body for every callback the app registered, naming its real outputs."""
    bodies = []
    for key, spec in app.callback_map.items():
        outputs = []
        for part in key.strip(".").split("..."):
            if not part:
                continue
            cid, prop = part.rsplit(".", 1)
            outputs.append({"id": cid, "property": prop})
        body = {
            "output": key,
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": [{"id": i["id"], "property": i["property"], "value": None} for i in spec["inputs"]],
            "changedPropIds": [],
            "state": [{"id": i["id"], "property": i["property"], "value": None} for i in spec["state"]],
        }
        bodies.append((key, body))
    return bodies


def _page_for_output(output_key: str) -> Page | None:
    cid = output_key.strip(".").split("...")[0].rsplit(".", 1)[0]
    return next((p for p in all_pages() if cid.startswith(p.id_prefix)), None)


def test_every_api_route_declares_its_roles(app):
    api_rules = [r for r in app.server.url_map.iter_rules() if r.rule.startswith("/api/")]
    assert api_rules, "the API has routes"
    for rule in api_rules:
        view = app.server.view_functions[rule.endpoint]
        assert getattr(view, "allowed_roles", None), f"{rule.rule} is not declared with @endpoint"


@pytest.mark.parametrize("role", [ANONYMOUS, *ROLES])
def test_pages_callbacks_and_api_by_role(app, role):
    client = app.server.test_client()
    if role is not ANONYMOUS:
        login(client, role)
    # Pages
    for page in all_pages():
        response = client.get(page.path)
        if role is ANONYMOUS:
            assert response.status_code == 302 and "/login" in response.headers["Location"]
        else:
            assert response.status_code == (200 if page.allows(role) else 403), page.path
    # Callbacks
    bodies = _callback_bodies(app)
    assert bodies
    for key, body in bodies:
        response = client.post("/_dash-update-component", json=body)
        page = _page_for_output(key)
        if role is ANONYMOUS:
            assert response.status_code == 401, key
        elif page is not None and not page.allows(role):
            assert response.status_code == 403, key
        else:
            assert response.status_code != 403, key
    # API routes, each with its own method; path parameters filled in
    for rule in (r for r in app.server.url_map.iter_rules() if r.rule.startswith("/api/")):
        allowed = app.server.view_functions[rule.endpoint].allowed_roles
        path = rule.rule.replace("<int:request_id>", "1")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, json={} if method in ("POST", "PATCH") else None)
            body = response.get_data(as_text=True)
            if PUBLIC in allowed and "<token>" in path:  # the owner's response link: a made-up one opens nothing
                assert response.status_code in (404, 422), (method, path)
                assert "camera_id" not in body and "case_ref" not in body
            elif PUBLIC in allowed:  # open to anyone: an empty body is refused on its fields, nothing shown
                assert response.status_code == 422, (method, path)
                assert "camera_id" not in body and "management_token" not in body
            elif role is ANONYMOUS:
                assert response.status_code == 401, (method, path)
                assert "registrations" not in body and "camera_id" not in body
            elif role not in allowed:
                assert response.status_code == 403, (method, path)
                assert "camera_id" not in body
            else:
                assert response.status_code not in (401, 403), (method, path)


def test_a_forged_callback_naming_another_pages_outputs_returns_nothing(app, monkeypatch):
    """A page only admins may use: an officer asking for its outputs gets 403 and no data."""
    restricted = Page(
        path="/restricted",
        title="Restricted",
        roles=frozenset({"admin"}),
        id_prefix="restricted-",
        layout=lambda rt, user: Component(),
    )
    real = all_pages()
    monkeypatch.setattr(pages_module, "all_pages", lambda: (*real, restricted))  # the router's view
    monkeypatch.setattr(site, "_pages", (*real, restricted))  # the guard's, as create_app hands them over
    client = app.server.test_client()
    login(client, "officer")
    forged = {
        "output": "restricted-table.children",
        "outputs": {"id": "restricted-table", "property": "children"},
        "inputs": [{"id": "home-metric", "property": "value", "value": "cameras_per_1000"}],
    }
    response = client.post("/_dash-update-component", json=forged)
    assert response.status_code == 403
    assert "restricted" not in response.get_data(as_text=True).replace("restricted-table", "")
    assert client.get("/restricted").status_code == 403
    # Mixing an allowed output with a forbidden one is refused whole.
    mixed = {
        "output": "..home-legend.children...restricted-table.children..",
        "outputs": [{"id": "home-legend", "property": "children"}, {"id": "restricted-table", "property": "children"}],
        "inputs": [],
    }
    assert client.post("/_dash-update-component", json=mixed).status_code == 403
    # A page's own output under a made-up callback key is refused, not a server error.
    madeup = {"output": "home-legend.children", "outputs": {"id": "home-legend", "property": "children"}, "inputs": []}
    assert client.post("/_dash-update-component", json=madeup).status_code == 400
    # An output no page owns is refused too.
    unknown = {"output": "nobody-x.children", "outputs": {"id": "nobody-x", "property": "children"}, "inputs": []}
    assert client.post("/_dash-update-component", json=unknown).status_code == 403
    admin = app.server.test_client()
    login(admin, "admin")
    assert admin.get("/restricted").status_code == 200


def test_wrong_password_and_disabled_user_cannot_log_in(app, runtime):
    import sqlalchemy as sa

    from dashboard.registry.models import AuditEvent, User

    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    bad = client.post("/login", data={"username": "officer1", "password": "wrong-password-xx", "csrf_token": token})
    assert bad.status_code == 401 and "not recognised" in bad.get_data(as_text=True)
    with runtime.sessions() as s:
        s.execute(sa.update(User).where(User.username == "analyst1").values(active=False))
        s.commit()
    disabled = client.post("/login", data={"username": "analyst1", "password": PASSWORD, "csrf_token": token})
    assert disabled.status_code == 401
    no_csrf = client.post("/login", data={"username": "officer1", "password": PASSWORD})
    assert no_csrf.status_code == 400
    with runtime.sessions() as s:
        actions = s.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["login_failed", "login_failed"]


def test_disabling_a_logged_in_user_ends_their_access_at_once(app, runtime):
    import sqlalchemy as sa

    from dashboard.registry.models import User

    client = app.server.test_client()
    login(client, "lead")
    assert client.get("/").status_code == 200
    with runtime.sessions() as s:
        s.execute(sa.update(User).where(User.username == "lead1").values(active=False))
        s.commit()
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/summary").status_code == 401


def test_bearer_token_reaches_the_api_but_not_pages(app, runtime):
    from dashboard.registry.database import transaction
    from dashboard.security.accounts import issue_token

    with transaction(runtime.sessions) as s:
        token = issue_token(s, "analyst1")
    client = app.server.test_client()
    ok = client.get("/api/v1/summary", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.get_json()["k_min"] == 8
    assert "Set-Cookie" not in ok.headers  # the API is stateless
    again = client.get("/api/v1/summary", headers={"Authorization": f"Bearer {token}"})  # a client keeping cookies
    assert again.status_code == 200
    assert client.get("/api/v1/summary", headers={"Authorization": "Bearer ccr_forged"}).status_code == 401
    assert client.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 302


def test_sources_page_needs_login_and_shows_the_licences(app):
    client = app.server.test_client()
    assert client.get("/sources").status_code == 302
    login(client, "analyst")
    response = client.get("/sources")
    assert response.status_code == 200 and "Open Government Licence" in response.get_data(as_text=True)


def _find_prop(node, name: str):
    """The value of the first component in a Dash layout tree whose ``name`` prop is ``name``."""
    if isinstance(node, dict):
        props = node.get("props", {})
        if props.get("name") == name:
            return props.get("value")
        children = list(props.values()) if props else list(node.values())
        return next((v for v in (_find_prop(c, name) for c in children) if v), None)
    if isinstance(node, list):
        return next((v for v in (_find_prop(c, name) for c in node) if v), None)
    return None


def test_logout_ends_the_session(app):
    client = app.server.test_client()
    login(client, "auditor")
    page = client.get("/login?next=/")  # logged in: redirected away from the form
    assert page.status_code == 302
    # The logout form carries the CSRF token of the session; without it nothing happens.
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 200
    token = _find_prop(client.get("/_dash-layout").get_json(), "csrf_token")
    assert token, "the shell's logout form carries a CSRF token"
    assert client.post("/logout", data={"csrf_token": token}).headers["Location"].endswith("/login")
    assert client.get("/").status_code == 302


def test_a_fresh_worker_serves_every_component_script_under_concurrent_first_requests(app, runtime):
    """A browser fetches the page's ~30 scripts at once, possibly from a worker process that has
    served nothing yet. Dash finishes its first-request set-up in one thread while it lets the
    others through, so the app must be set up before it serves anything."""
    import re
    import threading

    from dashboard.application import create_app

    with app.server.test_request_context("/"):
        index = app.index()
    scripts = re.findall(r'src="(/_dash-component-suites/[^"]+)"', index)
    assert len(scripts) > 10
    for _ in range(3):
        fresh = create_app(runtime).server  # another "worker": no request served yet
        statuses: dict[str, int] = {}
        start = threading.Barrier(len(scripts))

        def fetch(url: str) -> None:
            client = fresh.test_client()
            start.wait()
            statuses[url] = client.get(url).status_code

        threads = [threading.Thread(target=fetch, args=(url,)) for url in scripts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert set(statuses.values()) == {200}, statuses
