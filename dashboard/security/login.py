"""Login and logout (Flask-Login): the login form, sessions, bearer tokens, and the audit of each attempt."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from urllib.parse import urlparse

import sqlalchemy as sa
from flask import Blueprint, Flask, redirect, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf

from dashboard.core.vocab import ROLE_LABELS
from dashboard.registry import audit
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, User, utcnow
from dashboard.runtime_access import runtime
from dashboard.security import sessions
from dashboard.security.accounts import authenticate, user_for_token
from dashboard.security.headers import STATIC_PREFIXES  # they never read the user
from dashboard.security.limits import LoginThrottle, client_key

blueprint = Blueprint("login", __name__)


@dataclass(frozen=True)
class SessionUser:
    """What a request knows about its user; a plain value, detached from any database session."""

    id: int
    username: str
    role: str
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor(self.id, self.username, self.role)


def _as_session_user(user: User | None) -> SessionUser | None:
    if user is None or not user.active:
        return None
    return SessionUser(user.id, user.username, user.role)


def _load_user(user_id: str) -> SessionUser | None:
    """The user of this request's login session, read on every request so that logging out,
    disabling a user or changing a role takes effect at once. A session that has ended on the
    server is dropped from the cookie, with the reason kept for the login page."""
    sid = session.get("sid")
    # The absolute limit is also kept by the server's own record of when the session began,
    # whatever times the cookie carries.
    oldest = utcnow() - dt.timedelta(hours=runtime().settings.session_max_hours)
    with runtime().sessions() as s:
        live = sessions.live_user(s, sid, started_after=oldest)
        if live is not None and str(live.user_id) == user_id:
            return SessionUser(live.user_id, live.username, live.role)
        reason = sessions.why_ended(s, sid)
        if reason is None and sessions.live_user(s, sid) is not None:
            reason = "max"
    session.clear()
    session["ended"] = reason if reason in ENDED else "expired"
    return None


def _load_from_bearer(req) -> SessionUser | None:
    header = req.headers.get("Authorization", "")
    if not req.path.startswith("/api/") or not header.lower().startswith("bearer "):
        return None
    engine = runtime().engine
    if engine.dialect.name == "postgresql":
        # One read (and, once a minute, the token's last use): each statement commits by itself,
        # so no BEGIN and COMMIT round trips on every API request.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return _as_session_user(user_for_token(conn, header[7:].strip()))
    with engine.begin() as conn:
        return _as_session_user(user_for_token(conn, header[7:].strip()))


class ApiAwareSessionInterface(SecureCookieSessionInterface):
    """The JSON API is stateless: it authenticates each request (bearer token or the browser's
    existing session) and never sets or changes a session cookie itself. A request with a bearer
    token is judged by the token alone: a cookie it also carries (say, a CSRF cookie from a
    public form) is not read, so it can neither add a login nor trip session protection."""

    def open_session(self, app, request):
        if request.path.startswith("/api/") and request.headers.get("Authorization", "").lower().startswith("bearer "):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if request.path.startswith("/api/"):
            return None
        return super().save_session(app, session, response)


def init_login(server: Flask) -> None:
    server.session_interface = ApiAwareSessionInterface()
    manager = LoginManager()
    manager.session_protection = "strong"
    manager.user_loader(_load_user)
    manager.request_loader(_load_from_bearer)
    manager.init_app(server)
    server.before_request(end_stale_session)
    server.register_blueprint(blueprint)


SEEN_RESOLUTION_S = 60


def end_stale_session() -> None:
    """Flask ``before_request`` hook, before the access guard: a login session unused for
    ``SESSION_IDLE_MINUTES``, or older than ``SESSION_MAX_HOURS``, ends here (the guard then asks
    for a login); otherwise the session's last use is moved on.

    Every path that accepts the session cookie is judged, the JSON API included (a request with a
    bearer token carries no session here: ``ApiAwareSessionInterface``). Only static files are
    left out, as they never look at the user. The API never rewrites the cookie, so API calls
    alone do not move the idle clock on: a script's use of a browser session ends with the
    browser's own idle limit."""
    if "_user_id" not in session or request.path.startswith(STATIC_PREFIXES):
        return None
    settings = runtime().settings
    now = time.time()
    started, seen = session.get("started_at"), session.get("seen_at")
    if not isinstance(started, (int, float)) or not isinstance(seen, (int, float)):
        ended = "expired"  # a session from before timeouts were kept, or tampered with
    elif now - seen > settings.session_idle_minutes * 60:
        ended = "idle"
    elif now - started > settings.session_max_hours * 3600:
        ended = "max"
    else:
        if now - seen > SEEN_RESOLUTION_S:
            # Written at most once a minute: a session cookie rewritten on every request lets the
            # page's concurrent requests overwrite each other's changes (the CSRF token among them).
            session["seen_at"] = now
        return None
    if ended != "expired":
        with transaction(runtime().sessions) as s:
            sessions.end_session(s, session.get("sid"), ended)
    logout_user()
    session.clear()
    session["ended"] = ended
    return None


ENDED = {
    "idle": "You were logged out after {idle} minutes without activity. Please log in again.",
    "max": "Your session reached its {hours}-hour limit. Please log in again.",
    "disabled": "Your account has been disabled. Ask an administrator if you need access.",
    "password": "Your password was reset by an administrator. Log in with the new password.",
    "expired": "Your session has ended. Please log in again.",
}


UNKNOWN_PREFIX = "unknown-"


def logged_name(s, typed: str, secret: str) -> str:
    """The name a login attempt is logged under: the account's username when one exists, else
    ``unknown-`` and a keyed hash of what was typed. The typed text is never kept (people type
    their password in the username field); the same unknown name always gives the same marker,
    so repeats show in the log and are throttled like a real account's."""
    lowered = typed.strip().lower()
    existing = s.scalar(sa.select(User.username).where(User.username == lowered))
    if existing is not None:
        return existing
    digest = hmac.new(secret.encode("utf-8"), b"login-name:" + lowered.encode("utf-8"), hashlib.sha256)
    return UNKNOWN_PREFIX + digest.hexdigest()[:16]


def _recent_failures(s, username: str, window: dt.timedelta) -> list[dt.datetime]:
    """When this account's failed logins happened within ``window`` (from the audit log)."""
    since = utcnow() - window
    return list(
        s.scalars(
            sa.select(AuditEvent.occurred_at)
            .where(
                AuditEvent.action == "login_failed",
                AuditEvent.username == username.lower(),
                AuditEvent.occurred_at >= since,
            )
            .order_by(AuditEvent.occurred_at)
        )
    )


def login_throttle(settings) -> LoginThrottle:
    return LoginThrottle(
        runtime().sessions,
        settings.secret_key,
        address_max=settings.login_address_max_failures,
        window_minutes=settings.login_window_minutes,
    )


def _safe_next(target: str | None) -> str:
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@blueprint.get("/login")
def login_form():
    if current_user.is_authenticated:
        return redirect("/")
    settings = runtime().settings
    ended = session.pop("ended", None)
    notice = (
        ENDED[ended].format(idle=settings.session_idle_minutes, hours=settings.session_max_hours)
        if ended in ENDED
        else None
    )
    return render_template(
        "login.html", csrf_token=generate_csrf(), next=_safe_next(request.args.get("next")), error=notice, username=""
    )


@blueprint.post("/login")
def login_submit():
    username = (request.form.get("username") or "").strip()[:64]
    password = request.form.get("password") or ""
    target = _safe_next(request.form.get("next"))
    try:
        validate_csrf(request.form.get("csrf_token"))
    except CSRFError:
        return _form_error("Your login form expired. Please try again.", username, target, 400)
    except Exception:  # noqa: BLE001 - flask-wtf raises ValidationError for a missing or bad token
        return _form_error("Your login form expired. Please try again.", username, target, 400)
    if not username or not password:
        return _form_error("Enter your username and password.", username, target, 400)
    settings = runtime().settings
    window = dt.timedelta(minutes=settings.login_window_minutes)
    address = client_key()  # the client's (its /64 on IPv6), through TRUSTED_PROXIES' ProxyFix
    throttle = login_throttle(settings)
    with runtime().sessions() as s:
        name = logged_name(s, username, settings.secret_key)
        failures = _recent_failures(s, name, window)
    refused, limit = None, None
    address_wait = throttle.address_wait_s(address)
    if address_wait is not None:
        # Too many failures from this address across accounts: every login from it waits, a
        # right password included (else a sprayer would learn which guess was right).
        wait = max(1, math.ceil(address_wait / 60))
        refused = f"Too many failed logins from your connection. Wait {wait} minute{'s' if wait != 1 else ''}, then try again."
        limit = "address"
    elif len(failures) >= settings.login_max_failures and throttle.failed_from(name, address):
        # The account's limit holds back only the addresses that have failed at it: its owner,
        # from another address, still logs in (and a fresh address that fails is held back too).
        oldest = failures[-settings.login_max_failures]
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.UTC)
        wait = max(1, math.ceil((oldest + window - utcnow()).total_seconds() / 60))
        refused = (
            f"Too many failed attempts for this account. Wait {wait} minute{'s' if wait != 1 else ''}, "
            "then try again, or ask an administrator."
        )
        limit = "account"
    if refused:
        with transaction(runtime().sessions) as s:
            audit.record(s, audit.Actor(None, name, None), "login_throttled", detail={"limit": limit})
        return _form_error(refused, username, target, 429)
    with transaction(runtime().sessions) as s:
        user = authenticate(s, username, password)
        if user is None:
            audit.record(s, audit.Actor(None, name, None), "login_failed")
            failed = True
        else:
            user.last_login_at = utcnow()
            audit.record(s, audit.Actor(user.id, user.username, user.role), "login")
            session_user = _as_session_user(user)
            sessions.end_session(s, session.get("sid"), "replaced")  # this browser's previous login, if any
            sid = sessions.open_session(s, user.id)
            failed = False
    if failed:
        throttle.count_failure(name, address)
        return _form_error("Username or password not recognised, or the account is disabled.", username, target, 401)
    session.clear()  # a new session at login, with a new id: nothing carried over from before
    session["sid"] = sid
    login_user(session_user)
    session["started_at"] = session["seen_at"] = time.time()
    return redirect(target)


def _form_error(message: str, username: str, target: str, status: int):
    return render_template(
        "login.html", csrf_token=generate_csrf(), next=target, error=message, username=username
    ), status


@blueprint.post("/logout")
def logout():
    try:
        validate_csrf(request.form.get("csrf_token"))
    except Exception:  # noqa: BLE001 - a missing or bad token (flask-wtf's ValidationError)
        return redirect("/")
    if current_user.is_authenticated:
        with transaction(runtime().sessions) as s:
            sessions.end_session(s, session.get("sid"), "logout")
            audit.record(s, current_user.actor, "logout")
    logout_user()
    session.clear()
    return redirect("/login")
