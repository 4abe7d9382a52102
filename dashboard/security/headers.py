"""Security headers on every response (Flask-Talisman): a strict Content-Security-Policy,
X-Frame-Options, nosniff, a referrer policy, and HSTS on requests that arrived over TLS.

The app runs on plain HTTP inside a force network unless a TLS proxy sits in front, so nothing
here redirects to HTTPS. Behind such a proxy, ``TRUSTED_PROXIES`` (the number of proxies in
front) makes werkzeug's ProxyFix believe their ``X-Forwarded-*`` headers; a request the proxy
marks ``X-Forwarded-Proto: https`` is then secure and gets HSTS. Without trusted proxies the
header is ignored (a client could send it itself).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import dash
from flask import Flask, request
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard.config import Settings

HSTS_MAX_AGE_S = 365 * 24 * 3600
# Paths that serve only the app's own files (scripts, styles, images, the favicon, the maps'
# orientation tiles drawn from the open reference data): the same for everyone, so they may be
# cached. Every other answer may carry personal or per-user data.
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico", "/tiles/")


def no_store(response):
    """Flask ``after_request`` hook: no browser or proxy keeps a copy of anything but static files
    (pages, JSON, exports, QR codes, CSVs, the weekly report)."""
    if not request.path.startswith(STATIC_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
    return response


def tile_source(tile_url: str | None) -> str | None:
    """The CSP source for the optional map tile server, or None when tiles are same-origin or off.

    >>> tile_source("https://{s}.tile.example.org/{z}/{x}/{y}.png")
    'https://*.tile.example.org'
    >>> tile_source("/tiles/{z}/{x}/{y}.png") is None
    True
    """
    if not tile_url or tile_url.startswith("/"):
        return None
    parts = urlsplit(tile_url)
    # Leaflet fills {s} with a subdomain (a, b, c...): allow any subdomain of the rest.
    host = parts.netloc.replace("{s}", "*")
    return f"{parts.scheme}://{host}"


def content_security_policy(script_hashes: list[str], tile_url: str | None) -> dict[str, list[str]]:
    """The policy for every response: everything from this server, nothing inline but the
    scripts whose hashes are given (Dash's own inline start-up script)."""
    images = ["'self'", "data:", "blob:"]  # Leaflet's and Plotly's generated images
    tiles = tile_source(tile_url)
    if tiles:
        images.append(tiles)
    return {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        # 'unsafe-inline' for styles only. Dash's component bundles (AG Grid's theme, Plotly, the dcc
        # components) insert <style> elements at run time; without it every dashboard page logs
        # "Applying inline style violates ... style-src" and loses them (tried in Chromium). The
        # weekly report also carries its stylesheet inline, as it is saved as one file. Styles run no
        # code: scripts stay locked to this server plus the hashed inline ones.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": images,
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


class _Talisman(Talisman):
    """Talisman, but HSTS only on requests that are really secure.

    Talisman also sends HSTS when the raw ``X-Forwarded-Proto`` header says https, whoever sent
    it; here that header counts only through ProxyFix, i.e. from a trusted proxy."""

    def _set_hsts_headers(self, headers):
        if request.is_secure:
            headers["Strict-Transport-Security"] = f"max-age={HSTS_MAX_AGE_S}; includeSubDomains"


def init_headers(server: Flask, dash_app: dash.Dash, settings: Settings) -> Talisman:
    """Put the headers on every response of ``server``. Call once, after every callback is
    registered (the CSP carries the hashes of Dash's inline scripts, clientside callbacks among them)."""
    server.config["SESSION_COOKIE_SECURE"] = settings.session_cookie_secure
    server.after_request(no_store)
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n)
    return _Talisman(
        server,
        force_https=False,
        strict_transport_security=True,
        content_security_policy=content_security_policy(list(dash_app.csp_hashes()), settings.tile_url),
        frame_options="DENY",
        referrer_policy="same-origin",
        session_cookie_secure=settings.session_cookie_secure,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
        permissions_policy={"browsing-topics": "()", "camera": "()", "microphone": "()", "geolocation": "()"},
        x_content_type_options=True,
    )
