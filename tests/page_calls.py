"""Calling a page's callback functions directly, as the signed-in user a request would carry."""

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
def signed_in(app, username: str) -> Iterator[SessionUser]:
    """A request context of ``app`` with ``username`` logged in (``current_user``, ``runtime()`` work):
    what a callback has when the access guard lets a request through."""
    with app.server.test_request_context("/_dash-update-component", method="POST"):
        with app.server.extensions["ccr"].sessions() as s:
            user = s.scalar(sa.select(User).where(User.username == username))
            assert user is not None and user.active, username
            who = SessionUser(user.id, user.username, user.role)
        login_user(who)
        yield who


def as_json(value) -> str:
    """A callback's answer as the JSON the browser would receive (components, ``no_update`` and all), with
    Python's spacing and without Plotly's escaping of ``/`` (``{"src": "/cases/..."}``)."""
    return json.dumps(json.loads(to_json(value)), ensure_ascii=False)
