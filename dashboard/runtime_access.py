"""The running app's Runtime, for code that runs inside a request (layouts, callbacks, API)."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from dashboard.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["ccr"]


def search_quota() -> Callable[[int], str | None] | None:
    """Each officer's search limit (SEARCH_RATE_LIMIT, ``dashboard.security.search_limits``, set by
    ``create_app``): called with a user id before each search, None while within it, else the limit passed."""
    return current_app.extensions.get("ccr_search_quota")
