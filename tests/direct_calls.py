"""Calling a page's callback functions directly, as a signed-in user, for behaviour tests.

The attack tests still forge ``/_dash-update-component`` bodies (that is their point); behaviour tests
call the module-level callbacks as plain functions instead, inside a request of the app as its user.
Callbacks that depend on which input fired take it as a ``trigger`` argument (the page registers them
through a thin wrapper that passes ``dash.ctx.triggered_id``), so no Dash callback context is needed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from dash._utils import to_json
from flask_login import login_user

from dashboard.registry.models import User
from dashboard.security.login import SessionUser


@contextmanager
def signed_in(app, username: str) -> Iterator[None]:
    """Run the body inside a request of ``app`` (a Dash app from ``create_app``) with ``username``
    logged in, as the login page would have logged them in (``current_user`` is that user)."""
    with app.server.test_request_context("/"):
        with app.server.extensions["ccr"].sessions() as s:
            user = s.scalar(sa.select(User).where(User.username == username))
        assert user is not None, f"no user {username}"
        login_user(SessionUser(user.id, user.username, user.role))
        yield


def as_text(value) -> str:
    """A callback's answer as the browser receives it (its components as JSON, without the escapes of
    ``/`` and ``<`` the wire adds): for assertions on what is shown."""
    return json.dumps(json.loads(to_json(value)), ensure_ascii=False)
