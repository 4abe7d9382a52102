"""Calling a page's callback functions directly, as a signed-in user, for behaviour tests.

The pages' callbacks are module-level functions (``dashboard.pages.audit.show_log`` and so on); a
behaviour test calls one inside ``signed_in(app, ...)``, which gives it the request it reads the runtime
and ``current_user`` from. Callbacks that depend on which input fired take it as a ``trigger`` argument
(the page registers them through a thin wrapper passing ``dash.ctx.triggered_id``), so no Dash callback
context is needed. The access guard, the query log and Dash's own checks are not in the way here: the
attack tests, which forge ``/_dash-update-component`` bodies over HTTP (tests/adversary, test_access.py
and the like), cover those.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from dash._utils import to_json
from flask_login import login_user

from dashboard.core.vocab import ROLES
from dashboard.registry.models import User
from dashboard.security.login import SessionUser


@contextmanager
def signed_in(app, who: str, username: str | None = None) -> Iterator[SessionUser]:
    """A callback request to ``app`` (a Dash app from ``create_app``) with a user logged in, as the login
    page would have logged them in; yields that user.

    ``who`` is a username ("officer2"), or a role ("auditor") meaning that role's user in the integration
    tests' registries ("auditor1"); with ``username``, ``who`` is the role that user must have."""
    role = who if (username or who in ROLES) else None
    name = username or (f"{who}1" if who in ROLES else who)
    with app.server.extensions["ccr"].sessions() as s:
        user = s.scalar(sa.select(User).where(User.username == name))
        assert user is not None and user.active, f"no active user {name}"
        found = SessionUser(user.id, user.username, user.role)
    assert role is None or found.role == role, (name, found.role)
    with app.server.test_request_context("/_dash-update-component", method="POST"):
        login_user(found)
        yield found


def as_text(value) -> str:
    """A callback's answer as the JSON the browser receives (components, ``no_update`` and all), with
    Python's spacing and without the escapes of ``/`` and ``<`` the wire adds: for assertions on text."""
    return json.dumps(json.loads(to_json(value)), ensure_ascii=False)


def plain(value):
    """A callback's answer as the browser receives it (components as {"type", "namespace", "props"}
    dicts, figures as plain JSON), for walking and searching."""
    return json.loads(to_json(value))
