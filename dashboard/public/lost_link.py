""" "Lost your link?": an owner types their email address and postcode, and every active registration
made with both gets a fresh private link by email (``duplicates.lost_link``).

Anyone can type anyone's email address and postcode, so the answer must not tell whether such a
registration exists (the register's promise about oracles, issue 15, item 5): the page, its status
and the work done before answering are the same either way. The request only checks the form,
counts the request against two limits, logs it and queues the look-up; the look-up, the mail and
the new link happen in the background worker seconds later.

Limits (``LOST_LINK_RATE_LIMIT`` per client address, ``LOST_LINK_PAIR_RATE_LIMIT`` per email address
and postcode) are counted in the database like every public limit, their keys stored only as an
HMAC; both count whether or not a registration exists, so a refusal tells nothing either.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from limits import parse_many
from limits.strategies import FixedWindowRateLimiter
from pydantic import EmailStr, TypeAdapter, ValidationError

from dashboard.security.limit_store import SqlCounterStorage

EMAIL_MESSAGE = "Enter an email address like name@example.com."
_EMAIL = TypeAdapter(EmailStr)


@dataclass
class Asked:
    """The form as typed (``values``), its problems by field, and the normalised email and postcode."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    email: str | None = None
    postcode: str | None = None

    def error_list(self) -> list[tuple[str, str]]:
        return list(self.errors.items())


def read(get, reference, example: str) -> Asked:
    """Check the posted email address and postcode, written as the register stores them
    (``example``: a postcode of the force's area for the hint).

    >>> class Ref:
    ...     force_name = "Testshire Police"
    ...     def lookup_postcode(self, text):
    ...         return {"postcode": "ST16 2DH"} if text.replace(" ", "").upper() == "ST162DH" else None
    >>> asked = read({"email": " Alex@Example.ORG ", "postcode": "st162dh"}.get, Ref(), "ST16 2DH")
    >>> asked.email, asked.postcode, asked.errors
    ('alex@example.org', 'ST16 2DH', {})
    >>> read({"email": "alex@", "postcode": "XX1"}.get, Ref(), "ST16 2DH").errors["postcode"]
    'Enter a postcode in the Testshire Police area, like ST16 2DH.'
    """
    values = {name: (get(name) or "").strip()[:254] for name in ("email", "postcode")}
    asked = Asked(values)
    try:
        asked.email = _EMAIL.validate_python(values["email"]).lower() if values["email"] else None
    except ValidationError:
        asked.email = None
    if asked.email is None or len(asked.email) > 254:
        asked.email = None
        asked.errors["email"] = EMAIL_MESSAGE
    row = reference.lookup_postcode(values["postcode"][:12]) if values["postcode"] else None
    if row is None:
        asked.errors["postcode"] = f"Enter a postcode in the {reference.force_name} area, like {example}."
    else:
        asked.postcode = str(row["postcode"])
    return asked


class Limits:
    """The two limits of "Lost your link?", counted in the database (keys stored as an HMAC)."""

    def __init__(self, sessions, secret: str, per_address: str, per_pair: str):
        self._limiter = FixedWindowRateLimiter(SqlCounterStorage(sessions=sessions, secret=secret.encode("utf-8")))
        self._address, self._pair = parse_many(per_address), parse_many(per_pair)

    def _hit(self, items, *key: str) -> float | None:
        refused = [item for item in items if not self._limiter.hit(item, *key)]
        if not refused:
            return None
        return max(max(1.0, self._limiter.get_window_stats(item, *key).reset_time - time.time()) for item in refused)

    def address_wait_s(self, address: str) -> float | None:
        """Count one request from ``address``; seconds to wait when it is over its limit, else None."""
        return self._hit(self._address, "lost-link-address", address)

    def pair_wait_s(self, email: str, postcode: str) -> float | None:
        """Count one request for this email address and postcode; seconds to wait when over, else None."""
        return self._hit(self._pair, "lost-link-pair", email, postcode)


def wait_words(seconds: float) -> str:
    """Plain words for a wait.

    >>> wait_words(30), wait_words(600), wait_words(3 * 3600 + 5), wait_words(20 * 3600)
    ('a minute', '10 minutes', '3 hours', '20 hours')
    """
    minutes = max(1, round(seconds / 60))
    if minutes < 2:
        return "a minute"
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{round(minutes / 60)} hours"
