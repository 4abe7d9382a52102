"""Rate limits per client on the public endpoints (Flask-Limiter), and the login throttle's
counts per client address.

Counts live in the registry's database (``limit_store``), shared by every web worker process.
Clients are told apart by address (``client_key``): an IPv4 address, or an IPv6 address's /64
network, since every IPv6 line is given at least a /64 and one client can rotate through it. Behind
a proxy that hides clients (a force network's NAT), raise ``REGISTRATION_RATE_LIMIT`` and
``LOGIN_ADDRESS_MAX_FAILURES``.
"""

from __future__ import annotations

import ipaddress
import time

from flask import Flask, jsonify, render_template, request
from flask_limiter import Limiter
from limits import RateLimitItemPerMinute
from limits.strategies import FixedWindowRateLimiter

from dashboard.security.limit_store import SqlCounterStorage

# View functions (Flask endpoint names) that anyone may call and that are limited per client.
PUBLIC_WRITE_ENDPOINTS = (
    "api_v1.create_registration",
    "public.register_submit",
    "public.manage_submit",
    "respond.respond_submit",
    "respond.answer_from_manage",
    "api_v1.answer_response",
)
# An owner's uploads (public/tus.py): starting an upload and removing one are counted per client
# (UPLOAD_RATE_LIMIT); sending bytes (PATCH) and asking how far an upload got (HEAD) are not, as a
# phone on a bad connection resumes many times, and each is bounded by the file's declared size.
UPLOAD_ENDPOINTS = {"tus.create": ["POST"], "tus.upload": ["DELETE"]}


def client_key(address: str | None = None) -> str:
    """Who a request comes from, for counting: the client's IPv4 address, or the /64 network of its
    IPv6 address (``address``: the request's, through TRUSTED_PROXIES' ProxyFix, by default).

    >>> client_key("192.0.2.10"), client_key("::ffff:192.0.2.10")
    ('192.0.2.10', '192.0.2.10')
    >>> client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff:ffff:ffff:ffff")
    True
    >>> client_key("2001:db8:1:2::1"), client_key("2001:db8:1:3::1")
    ('2001:db8:1:2::/64', '2001:db8:1:3::/64')
    >>> client_key("not an address")
    'not an address'
    """
    text = address if address is not None else (request.remote_addr or "unknown")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text  # not an address (a test client, a unix socket): counted as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def init_limits(server: Flask, limit: str, sessions, secret: str, *, upload_limit: str | None = None) -> Limiter:
    """A limiter for this app, counting in the database, applied to every public write endpoint
    (``upload_limit`` to the owner's upload endpoints, when they are registered)."""
    import dashboard.security.limit_store  # noqa: F401  (registers the ccr-sql:// storage)

    limiter = Limiter(
        key_func=client_key,
        app=server,
        storage_uri="ccr-sql://",
        headers_enabled=True,
        storage_options={"sessions": sessions, "secret": secret.encode("utf-8")},
    )
    for endpoint in PUBLIC_WRITE_ENDPOINTS:
        # A missing name is a programming error (a renamed view would silently lose its limit).
        server.view_functions[endpoint] = limiter.limit(limit, methods=["POST"])(server.view_functions[endpoint])
    if upload_limit:
        for endpoint, methods in UPLOAD_ENDPOINTS.items():
            server.view_functions[endpoint] = limiter.limit(upload_limit, methods=methods)(
                server.view_functions[endpoint]
            )

    @server.errorhandler(429)
    def too_many(exc):
        message = f"Too many requests from your connection ({exc.description}); please wait and try again."
        if request.path.startswith("/api/") or request.is_json or request.blueprint == "tus":
            response = jsonify(error=message, errors=[{"field": "request", "message": message}])
            response.status_code = 429
            return response
        return render_template("error.html", status=429, message=message), 429

    return limiter


class LoginThrottle:
    """Failed logins counted per client address, in the database (HMAC'd keys, as every limit).

    Two counts per window of ``window_minutes``: failures from an address across all accounts
    (``address_max`` of them refuse every login from that address: spraying one guess at many
    accounts is no longer free), and whether an address has failed at a given account (the
    account's own limit refuses only such addresses, so an attacker who runs an account up to its
    limit does not lock its owner out: the owner, logging in from their own address, gets in).
    """

    def __init__(self, sessions, secret: str, *, address_max: int, window_minutes: int):
        self._limiter = FixedWindowRateLimiter(SqlCounterStorage(sessions=sessions, secret=secret.encode("utf-8")))
        self._address = RateLimitItemPerMinute(address_max, window_minutes)
        self._pair = RateLimitItemPerMinute(1, window_minutes)

    def address_wait_s(self, address: str) -> float | None:
        """Seconds until this address may try again, or None when it is not over its limit."""
        if self._limiter.test(self._address, "login-address", address):
            return None
        reset = self._limiter.get_window_stats(self._address, "login-address", address).reset_time
        return max(1.0, reset - time.time())

    def failed_from(self, account: str, address: str) -> bool:
        """True when this address has failed a login at this account within the window."""
        return not self._limiter.test(self._pair, "login-pair", account, address)

    def count_failure(self, account: str, address: str) -> None:
        self._limiter.hit(self._address, "login-address", address)
        self._limiter.hit(self._pair, "login-pair", account, address)
