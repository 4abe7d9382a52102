"""Security headers on every kind of response, HSTS only over TLS (directly or from a trusted
proxy), session cookie flags, and no stack trace or debugger anywhere.

The expected policy is written out here by hand; the hashes in it are checked against sha256
of the inline scripts found in the served HTML (a second method next to Dash's csp_hashes)."""

from __future__ import annotations

import base64
import hashlib
import json
from html.parser import HTMLParser

import pytest
from flask import request

from dashboard.config import ConfigError, load_settings
from dashboard.runtime import prepare
from tests.integration.conftest import login

# Every directive but script-src, whose hashes come from the page (checked below).
EXPECTED_CSP = {
    "default-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
BOOM = "kaboom-7f3a: internal detail that must not leak"


def _csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no CSP on {response.request.path}"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} twice in {header}"
        directives[name] = sources
    return directives


class _Scripts(HTMLParser):
    """Inline scripts the browser would run, and attributes that would run code."""

    JS_TYPES = frozenset({"", "text/javascript", "application/javascript", "module"})

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.inline: list[str] = []
        self.handlers: list[str] = []
        self._in_script = False
        self._buffer: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.handlers.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and "src" not in attrs and (attrs.get("type") or "").lower() in self.JS_TYPES:
            self._in_script, self._buffer = True, []

    def handle_data(self, data):
        if self._in_script:
            self._buffer.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script:
            self.inline.append("".join(self._buffer))
            self._in_script = False


def _parse(html: str) -> _Scripts:
    parser = _Scripts()
    parser.feed(html)
    parser.close()
    return parser


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode() + "'"


def _boom():
    raise RuntimeError(BOOM)


def _with_address_echo(app):
    """A test-only public route answering with the client address the app believes."""
    app.server.add_url_rule("/register/_test-addr", "test_addr", lambda: request.remote_addr)
    return app


@pytest.fixture
def boom_app(app):
    """The app with two test-only routes that raise: a public page and an API route."""
    server = app.server
    server.add_url_rule("/register/_test-boom", "test_boom_page", _boom)
    server.add_url_rule("/api/v1/_test-boom", "test_boom_api", _boom)
    return app


def _responses(app, reference) -> dict[str, object]:
    officer = app.server.test_client()
    login(officer, "officer")
    anonymous = app.server.test_client()
    js = anonymous.get("/_dash-component-suites/dash/dash-renderer/build/dash_renderer.min.js")
    return {
        "dashboard page": officer.get("/"),
        "dashboard layout (JSON)": officer.get("/_dash-layout"),
        "login page": anonymous.get("/login"),
        "public register page": anonymous.get("/register"),
        "public postcode lookup": anonymous.get(
            f"/register/postcode?postcode={reference.postcodes['postcode'].iloc[3]}"
        ),
        "owner's dead link": anonymous.get("/manage/not-a-real-token"),
        "API JSON": officer.get("/api/v1/summary"),
        "API refusal": anonymous.get("/api/v1/summary"),
        "404 page": officer.get("/no-such-page"),
        "403 page": officer.get("/coverage"),
        "500 page": anonymous.get("/register/_test-boom"),
        "500 from the API": anonymous.get("/api/v1/_test-boom"),
        "static asset": anonymous.get("/assets/app.css"),
        "Dash script": js,
    }


def test_every_kind_of_response_carries_the_headers(boom_app, reference):
    responses = _responses(boom_app, reference)
    statuses = {name: r.status_code for name, r in responses.items()}
    assert statuses == {
        "dashboard page": 200,
        "dashboard layout (JSON)": 200,
        "login page": 200,
        "public register page": 200,
        "public postcode lookup": 200,
        "owner's dead link": 404,
        "API JSON": 200,
        "API refusal": 401,
        "404 page": 404,
        "403 page": 403,
        "500 page": 500,
        "500 from the API": 500,
        "static asset": 200,
        "Dash script": 200,
    }
    for name, r in responses.items():
        csp = _csp(r)
        script_src = csp.pop("script-src")
        assert csp == EXPECTED_CSP, name
        assert script_src[0] == "'self'" and all(s.startswith("'sha256-") for s in script_src[1:]), name
        assert r.headers["X-Frame-Options"] == "DENY", name
        assert r.headers["X-Content-Type-Options"] == "nosniff", name
        assert r.headers["Referrer-Policy"] == "same-origin", name
        assert "Strict-Transport-Security" not in r.headers, f"{name}: HSTS over plain HTTP"
        if r.mimetype in ("text/html", "application/json"):
            assert r.headers["Cache-Control"] == "no-store", name


def test_script_src_is_self_plus_the_hashes_of_the_inline_scripts_actually_served(app):
    client = app.server.test_client()
    login(client, "officer")
    page = client.get("/")
    html = page.get_data(as_text=True)
    parsed = _parse(html)
    assert parsed.inline, "the Dash page has its renderer start-up inline; the parser found none"
    assert parsed.handlers == []
    script_src = _csp(page)["script-src"]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    # Exactly the served inline scripts are allowed: none missing (it would not run), none stale.
    assert sorted(script_src) == sorted(["'self'", *{_sha256(s) for s in parsed.inline}])
    assert any("DashRenderer" in s for s in parsed.inline)


def test_the_server_rendered_pages_have_no_inline_code(boom_app, reference):
    """Login, public and error pages run scripts only from files: no inline script, no on*= handler,
    no javascript: address (the CSP would block them, so they would be broken, not just unsafe)."""
    responses = _responses(boom_app, reference)
    for name in ("login page", "public register page", "owner's dead link", "404 page", "403 page", "500 page"):
        parsed = _parse(responses[name].get_data(as_text=True))
        assert parsed.inline == [] and parsed.handlers == [], name


def _app_with(reference_dir, tmp_path, **env):
    from dashboard.application import create_app

    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}",
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
            **env,
        }
    )
    rt = prepare(settings)
    return create_app(rt), rt


HSTS = "max-age=31536000; includeSubDomains"


def test_hsts_only_over_tls_from_a_trusted_proxy_or_directly(reference_dir, tmp_path):
    app, rt = _app_with(reference_dir, tmp_path, TRUSTED_PROXIES="1")
    try:
        client = _with_address_echo(app).server.test_client()
        behind_tls = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert behind_tls.status_code == 200 and behind_tls.headers["Strict-Transport-Security"] == HSTS
        plain = client.get("/login")
        assert plain.status_code == 200 and "Strict-Transport-Security" not in plain.headers  # and no redirect
        # The proxy's X-Forwarded-For is the client's address from now on (rate limits count it).
        assert client.get("/register/_test-addr", headers={"X-Forwarded-For": "203.0.113.9"}).text == "203.0.113.9"
    finally:
        rt.engine.dispose()


def test_without_a_trusted_proxy_a_forwarded_header_proves_nothing(app):
    client = _with_address_echo(app).server.test_client()
    spoofed = client.get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert spoofed.status_code == 200 and "Strict-Transport-Security" not in spoofed.headers
    assert client.get("/register/_test-addr", headers={"X-Forwarded-For": "203.0.113.9"}).text == "127.0.0.1"
    direct_tls = app.server.test_client().get("/login", base_url="https://localhost")
    assert direct_tls.headers["Strict-Transport-Security"] == HSTS


def _session_cookie(response) -> list[str]:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1
    return [p.strip().lower() for p in cookies[0].split(";")]


def test_session_cookie_is_httponly_and_lax_and_secure_when_set(app, reference_dir, tmp_path):
    flags = _session_cookie(app.server.test_client().get("/login"))
    assert "httponly" in flags and "samesite=lax" in flags and "secure" not in flags
    secure_app, rt = _app_with(reference_dir, tmp_path, SESSION_COOKIE_SECURE="true")
    try:
        flags = _session_cookie(secure_app.server.test_client().get("/login", base_url="https://localhost"))
        assert "httponly" in flags and "samesite=lax" in flags and "secure" in flags
    finally:
        rt.engine.dispose()


def test_tile_server_is_allowed_for_images_only(reference_dir, tmp_path):
    app, rt = _app_with(reference_dir, tmp_path, TILE_URL="https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    try:
        csp = _csp(app.server.test_client().get("/login"))
        assert csp["img-src"] == ["'self'", "data:", "blob:", "https://*.tiles.example.org"]
        assert "tiles.example.org" not in " ".join(v for k, vs in csp.items() if k != "img-src" for v in vs)
    finally:
        rt.engine.dispose()


def test_proxy_and_cookie_settings_are_validated(reference_dir):
    base = {"REFERENCE_DATA_DIR": str(reference_dir), "SECRET_KEY": "z" * 40}
    defaults = load_settings(base)
    assert (defaults.trusted_proxies, defaults.session_cookie_secure, defaults.debug) == (0, False, False)
    assert load_settings({**base, "TRUSTED_PROXIES": "2"}).trusted_proxies == 2
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_settings({**base, "TRUSTED_PROXIES": "one"})
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_settings({**base, "TRUSTED_PROXIES": "-1"})
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECURE"):
        load_settings({**base, "SESSION_COOKIE_SECURE": "maybe"})


# --------------------------------------------------------------------------- no debug page


def _assert_no_trace(text: str) -> None:
    for leak in ("Traceback", "RuntimeError", BOOM, "__debugger__", "Werkzeug Debugger", 'File "', '.py"'):
        assert leak not in text, leak


def test_an_error_shows_the_plain_error_page_and_no_trace(boom_app):
    client = boom_app.server.test_client()
    page = client.get("/register/_test-boom")
    assert page.status_code == 500 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "Something went wrong" in text and "It has been logged" in text
    _assert_no_trace(text)
    api = client.get("/api/v1/_test-boom")
    assert api.status_code == 500 and api.mimetype == "application/json"
    assert api.get_json() == {"error": "The request could not be completed. It has been logged."}
    _assert_no_trace(api.get_data(as_text=True))


def test_debug_mode_mounts_no_debugger_and_shows_no_tracebacks(monkeypatch, tmp_path, reference_dir):
    """DEBUG=true serves with Dash's reloader but without the Werkzeug debugger or Dash's error UI."""
    import argparse

    import dash

    from dashboard import cli

    seen = {}
    monkeypatch.setattr(dash.Dash, "run", lambda self, **kw: seen.update(kw))
    for name, value in {
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'debug.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "d" * 48,
    }.items():
        monkeypatch.setenv(name, value)
    assert cli.cmd_serve(argparse.Namespace(no_demo=True)) == 0
    assert seen["debug"] is True and seen["use_debugger"] is False and seen["dev_tools_ui"] is False


def test_no_debugger_is_mounted(boom_app):
    server = boom_app.server
    assert server.debug is False and boom_app.server.config["PROPAGATE_EXCEPTIONS"] is False
    client = server.test_client()
    login(client, "admin")
    console = client.get("/console")
    assert console.status_code == 404
    _assert_no_trace(console.get_data(as_text=True))
    resource = client.get("/register/_test-boom?__debugger__=yes&cmd=resource&f=debugger.js")
    assert resource.status_code == 500
    _assert_no_trace(resource.get_data(as_text=True))
    # Dash's dev tools (error pop-ups with tracebacks, hot reload) are off in the page's config.
    html = client.get("/").get_data(as_text=True)
    config = json.loads(html.split('<script id="_dash-config" type="application/json">')[1].split("</script>")[0])
    assert config["ui"] is False and config["props_check"] is False and "hot_reload" not in config
