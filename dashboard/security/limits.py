"""Rate limits per client on the public endpoints (Flask-Limiter).

Counts live in the registry's database (``limit_store``), shared by every web worker process.
Clients are told apart by address: behind a proxy that hides them (a force network's NAT),
raise ``REGISTRATION_RATE_LIMIT``.
"""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# View functions (Flask endpoint names) that anyone may call and that are limited per client.
PUBLIC_WRITE_ENDPOINTS = ("api_v1.create_registration", "public.register_submit", "public.manage_submit")


def init_limits(server: Flask, limit: str, sessions, secret: str) -> Limiter:
    """A limiter for this app, counting in the database, applied to every public write endpoint."""
    import dashboard.security.limit_store  # noqa: F401  (registers the ccr-sql:// storage)

    limiter = Limiter(key_func=get_remote_address, app=server, storage_uri="ccr-sql://", headers_enabled=True,
                      storage_options={"sessions": sessions, "secret": secret.encode("utf-8")})
    for endpoint in PUBLIC_WRITE_ENDPOINTS:
        # A missing name is a programming error (a renamed view would silently lose its limit).
        server.view_functions[endpoint] = limiter.limit(limit, methods=["POST"])(server.view_functions[endpoint])

    @server.errorhandler(429)
    def too_many(exc):
        message = f"Too many requests from your connection ({exc.description}); please wait and try again."
        if request.path.startswith("/api/") or request.is_json:
            response = jsonify(error=message, errors=[{"field": "request", "message": message}])
            response.status_code = 429
            return response
        return render_template("error.html", status=429, message=message), 429

    return limiter
