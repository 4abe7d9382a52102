"""The running app's Runtime and user, for code that runs inside a request (layouts, callbacks, API)."""
from __future__ import annotations

from flask import current_app
from flask_login import current_user

from dashboard.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["ccr"]


def user():
    return current_user
