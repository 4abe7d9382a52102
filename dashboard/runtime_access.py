"""The running app's Runtime, for code that runs inside a request (layouts, callbacks, API)."""
from __future__ import annotations

from flask import current_app

from dashboard.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["ccr"]
