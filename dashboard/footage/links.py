"""The owner's private response link (``/respond/<token>``): made, checked, spent.

One link per ``FootageResponse`` (one owner, one case). The token is 32 random bytes (URL-safe
base64, 43 characters) made when the first message carrying it is sent (``issue``); only its
SHA-256 is stored, so the database alone never opens a link. It works until it expires
(``RESPONSE_LINK_DAYS`` after it was sent, 7 by default) or until the owner has submitted their
answer, whichever comes first; after the answer it shows only its receipt, until it would have
expired. It stops at once when the owner withdraws their registration, and takes nothing once
the officer has withdrawn every request in it. ``resolve`` says why a link does not open.
Sending the request again (a retry, or an officer's resend) makes a new token: the old one stops.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.digests import token_digest
from dashboard.registry.models import FootageResponse, Registrant

TOKEN_BYTES = 32
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


class LinkError(Exception):
    """The link does not open the response: ``kind`` is 'unknown', 'expired', 'answered', 'withdrawn'
    (its owner withdrew their registration) or 'closed' (every request in it was withdrawn)."""

    def __init__(self, kind: str, message: str, response: FootageResponse | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.response = kind, message, response


def issue(response: FootageResponse, now: dt.datetime, days: int) -> str:
    """A fresh token for ``response``, valid for ``days`` from ``now``; any earlier one stops working."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    response.token_hash = token_digest(token)
    response.link_expires_at = now + dt.timedelta(days=days)
    return token


OPEN_STATUSES = ("sent", "no_response")  # a request the owner may still answer


def has_open_request(response: FootageResponse) -> bool:
    return any(r.status in OPEN_STATUSES for r in response.requests)


def well_formed(token: object) -> bool:
    return isinstance(token, str) and bool(_TOKEN.match(token))


def resolve(
    session: Session, token: object, now: dt.datetime, *, answered_ok: bool = False, for_update: bool = False
) -> FootageResponse:
    """The response ``token`` opens at ``now``; LinkError with a message for the owner otherwise.

    ``answered_ok``: a link whose response was already submitted still resolves (its receipt);
    otherwise it is refused as used. ``for_update`` locks the row (PostgreSQL) for an answer.
    """
    if not well_formed(token):
        raise LinkError("unknown", "This link is not complete. Copy the whole link from the message you were sent.")
    query = session.query(FootageResponse).filter(FootageResponse.token_hash == token_digest(token))
    if for_update:
        query = query.with_for_update()
    response = query.one_or_none()
    if response is None:
        raise LinkError(
            "unknown",
            "This link does not work. It may have been replaced by a newer one: use the link "
            "in the most recent message you were sent.",
        )
    owner_active = session.scalar(sa.select(Registrant.status).where(Registrant.id == response.registrant_id))
    if owner_active != "active":  # withdrawn or erased: nothing more is taken, nothing is shown
        raise LinkError(
            "withdrawn",
            "This link no longer works: the registration it was sent to has been withdrawn and its details deleted.",
            response,
        )
    expired = response.link_expires_at is None or now >= response.link_expires_at
    if response.answered_at is not None:
        if not answered_ok:
            raise LinkError(
                "answered",
                "You have already answered this request with this link, so it cannot be used "
                "again. Your receipt reference is " + response.public_id + ".",
                response,
            )
        if expired:  # the receipt is shown while the link lasts, no longer
            raise LinkError(
                "expired",
                "This link has expired, so your answer's receipt is no longer shown here. Your "
                "reference is " + response.public_id + ".",
                response,
            )
        return response
    if expired:
        raise LinkError(
            "expired",
            "This link has expired. If you still have footage, contact the officer "
            "in charge quoting " + response.public_id + ".",
            response,
        )
    if response.requests and not has_open_request(response):
        raise LinkError(
            "closed",
            "This request is no longer needed: the officer has closed it. Thank you for "
            "looking; there is nothing more to do.",
            response,
        )
    return response
