"""How many camera searches one officer may run (``SEARCH_RATE_LIMIT``), counted in the registry's
database with the same store as the public rate limits (``limit_store``), so every web worker
process and both the page and the API count against one limit per officer.

A ``SearchQuota`` is called with the officer's user id before each search
(``casework.admit_search``): it counts the search and returns None while the officer is within
every limit, else the limit passed (e.g. "10 per 1 minute"). Fixed windows (the store keeps a count
and an expiry per window); a refused attempt counts too, so hammering keeps the officer refused
until the window ends.

>>> quota = SearchQuota(sessions, secret, "2 per minute")  # doctest: +SKIP
>>> quota(7), quota(7), quota(7)  # doctest: +SKIP
(None, None, '2 per 1 minute')
"""

from __future__ import annotations

from limits import parse_many
from limits.strategies import FixedWindowRateLimiter

from dashboard.security.limit_store import SqlCounterStorage

NAMESPACE = "officer-search"


class SearchQuota:
    def __init__(self, sessions, secret: str, limits_text: str):
        self.limits = parse_many(limits_text)
        self.limiter = FixedWindowRateLimiter(SqlCounterStorage(sessions=sessions, secret=secret.encode("utf-8")))

    def __call__(self, user_id: int) -> str | None:
        passed = None
        for limit in self.limits:  # every window counts the attempt, so none lags behind another
            if not self.limiter.hit(limit, NAMESPACE, str(int(user_id))) and passed is None:
                passed = str(limit)
        return passed
