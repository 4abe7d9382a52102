"""Short-lived, per-process caches of aggregate figures (Flask-Caching, in memory).

Only aggregates are cached, never anything about one registrant, so nothing personal lingers
in memory. Each app gets its own store (``init_cache``), so two apps in one process (tests)
never see each other's figures.
"""

from __future__ import annotations

from flask import Flask
from flask_caching import Cache

cache = Cache()

# The overview figures at 1,000,000 cameras take about 1.5 s on SQLite; they change slowly.
OVERVIEW_TTL_S = 30
# Figures keyed by the version of the in-memory register snapshot they were computed from (a
# new version replaces them at once), so they may live long: up to ~5 s each at 1M cameras.
VERSIONED_TTL_S = 3600


def init_cache(server: Flask) -> None:
    cache.init_app(
        server, config={"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": OVERVIEW_TTL_S, "CACHE_THRESHOLD": 200}
    )
