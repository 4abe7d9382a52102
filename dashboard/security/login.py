"""Login and logout (Flask-Login): the login form, sessions, bearer tokens, and the audit of each attempt."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from flask import Blueprint, Flask, redirect, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf

from dashboard.registry.database import transaction
from dashboard.registry.models import User, utcnow
from dashboard.registry.vocab import ROLE_LABELS
from dashboard.runtime_access import runtime
from dashboard.security import audit
from dashboard.security.accounts import authenticate, user_for_token

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
    # Read on every request so that disabling a user or changing a role takes effect at once.
    if not user_id.isdigit():
        return None
    with runtime().sessions() as s:
        return _as_session_user(s.get(User, int(user_id)))


def _load_from_bearer(req) -> SessionUser | None:
    header = req.headers.get("Authorization", "")
    if not req.path.startswith("/api/") or not header.lower().startswith("bearer "):
        return None
    with transaction(runtime().sessions) as s:
        return _as_session_user(user_for_token(s, header[7:].strip()))


class ApiAwareSessionInterface(SecureCookieSessionInterface):
    """The JSON API is stateless: it authenticates each request (bearer token or the browser's
    existing session) and never sets or changes a session cookie itself."""

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
    server.register_blueprint(blueprint)


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
    return render_template("login.html", csrf_token=generate_csrf(), next=_safe_next(request.args.get("next")),
                           error=None, username="")


@blueprint.post("/login")
def login_submit():
    username = (request.form.get("username") or "").strip()[:64]
    password = request.form.get("password") or ""
    target = _safe_next(request.form.get("next"))
    try:
        validate_csrf(request.form.get("csrf_token"))
    except CSRFError:
        return _form_error("Your login form expired. Please try again.", username, target, 400)
    except Exception:  # flask-wtf raises ValidationError for a missing or bad token
        return _form_error("Your login form expired. Please try again.", username, target, 400)
    if not username or not password:
        return _form_error("Enter your username and password.", username, target, 400)
    with transaction(runtime().sessions) as s:
        user = authenticate(s, username, password)
        if user is None:
            audit.record(s, audit.Actor(None, username.lower(), None), "login_failed")
            failed = True
        else:
            user.last_login_at = utcnow()
            audit.record(s, audit.Actor(user.id, user.username, user.role), "login")
            session_user = _as_session_user(user)
            failed = False
    if failed:
        return _form_error("Username or password not recognised, or the account is disabled.", username, target, 401)
    session.clear()  # a new session at login: nothing carried over from before
    login_user(session_user)
    return redirect(target)


def _form_error(message: str, username: str, target: str, status: int):
    return render_template("login.html", csrf_token=generate_csrf(), next=target, error=message,
                           username=username), status


@blueprint.post("/logout")
def logout():
    try:
        validate_csrf(request.form.get("csrf_token"))
    except Exception:
        return redirect("/")
    if current_user.is_authenticated:
        with transaction(runtime().sessions) as s:
            audit.record(s, current_user.actor, "logout")
    logout_user()
    session.clear()
    return redirect("/login")
