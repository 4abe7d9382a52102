"""Calling a page's callback functions directly, as a logged-in user, rather than over HTTP.

The pages' callbacks are module-level functions (``dashboard.pages.audit.show_log`` and so on); a test
calls one inside ``signed_in(app, role)``, which gives it the request context it reads the runtime and
``current_user`` from. The access guard, the query log and Dash's own checks are not in the way: the tests
that forge HTTP bodies (tests/adversary, test_access.py and the like) cover those.
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
def signed_in(app, role: str, username: str | None = None) -> Iterator[SessionUser]:
    """A request to ``app`` by the user ``username`` (default ``{role}1``, as the integration tests'
    registries have one per role), logged in; yields that user."""
    rt = app.server.extensions["ccr"]
    name = username or f"{role}1"
    with rt.sessions() as s:
        user = s.scalars(sa.select(User).where(User.username == name)).one()
        found = SessionUser(user.id, user.username, user.role)
    assert found.role == role, (name, found.role)
    with app.server.test_request_context("/"):
        login_user(found)
        yield found


def plain(value):
    """A callback's answer as the browser receives it (components as {"type", "namespace", "props"}
    dicts, figures as plain JSON), for walking and searching as text."""
    return json.loads(to_json(value))
