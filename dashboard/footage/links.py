"""The owner's private response link (``/respond/<token>``): made, checked, spent.

One link per ``FootageResponse`` (one owner, one case). The token is 32 random bytes (URL-safe
base64, 43 characters) made when the first message carrying it is sent (``issue``); only its
SHA-256 is stored, so the database alone never opens a link. It works until it expires
(``RESPONSE_LINK_DAYS`` after it was sent, 7 by default) or until the owner has submitted their
answer, whichever comes first; after that it shows only why it no longer works (``resolve``).
Sending the request again (a retry, or an officer's resend) makes a new token: the old one stops.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy.orm import Session

from dashboard.registry.models import FootageResponse

TOKEN_BYTES = 32
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


class LinkError(Exception):
    """The link does not open the response: ``kind`` is 'unknown', 'expired' or 'answered'."""

    def __init__(self, kind: str, message: str, response: FootageResponse | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.response = kind, message, response


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def issue(response: FootageResponse, now: dt.datetime, days: int) -> str:
    """A fresh token for ``response``, valid for ``days`` from ``now``; any earlier one stops working."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    response.token_hash = digest(token)
    response.link_expires_at = now + dt.timedelta(days=days)
    return token


def well_formed(token: object) -> bool:
    return isinstance(token, str) and bool(_TOKEN.match(token))


def resolve(session: Session, token: object, now: dt.datetime, *, answered_ok: bool = False,
            for_update: bool = False) -> FootageResponse:
    """The response ``token`` opens at ``now``; LinkError with a message for the owner otherwise.

    ``answered_ok``: a link whose response was already submitted still resolves (its receipt);
    otherwise it is refused as used. ``for_update`` locks the row (PostgreSQL) for an answer.
    """
    if not well_formed(token):
        raise LinkError("unknown", "This link is not complete. Copy the whole link from the message you were sent.")
    query = session.query(FootageResponse).filter(FootageResponse.token_hash == digest(token))
    if for_update:
        query = query.with_for_update()
    response = query.one_or_none()
    if response is None:
        raise LinkError("unknown", "This link does not work. It may have been replaced by a newer one: use the link "
                                   "in the most recent message you were sent.")
    if response.answered_at is not None and not answered_ok:
        raise LinkError("answered", "You have already answered this request with this link, so it cannot be used "
                                    "again. Your receipt reference is " + response.public_id + ".", response)
    if response.link_expires_at is None or now >= response.link_expires_at:
        if response.answered_at is None:
            raise LinkError("expired", "This link has expired. If you still have footage, contact the officer "
                                       "in charge quoting " + response.public_id + ".", response)
    return response
