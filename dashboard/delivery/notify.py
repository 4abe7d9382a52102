"""Text messages through GOV.UK Notify, with its official Python client (``notifications-python-client``).

``send_text`` posts one SMS with a template id and its personalisation (the fields are listed in
README.md, 'Text messages') and the outbox message's id as Notify's ``reference``; ``find_sent`` asks
Notify whether a text with that reference was already accepted (used when a sender stopped between
calling Notify and recording the answer, so that the text is not sent twice).
"""

from __future__ import annotations

import datetime as dt

from notifications_python_client import NotificationsAPIClient
from notifications_python_client.errors import APIError

from dashboard.delivery.smtp import SendError, scrub

TIMEOUT_S = 20


def _client(settings) -> NotificationsAPIClient:
    return NotificationsAPIClient(settings.notify_api_key, base_url=settings.notify_base_url, timeout=TIMEOUT_S)


def _error(exc: APIError, what: str) -> SendError:
    status = exc.status_code
    # 400 (a bad number or template), 404: permanent; 403 (the key), 429 (rate limit), 5xx and no answer: retry.
    temporary = status in (403, 429) or status >= 500
    message = (
        exc.message
        if isinstance(exc.message, str)
        else "; ".join(str(e.get("message", e)) for e in exc.message or [] if isinstance(e, dict))
    )
    return SendError(scrub(f"GOV.UK Notify answered {status} to {what}: {str(message)[:120]}"), temporary=temporary)


def send_text(settings, phone_number: str, template_id: str, personalisation: dict[str, str], reference: str) -> str:
    """Send one text message; returns Notify's notification id. Raises SendError."""
    try:
        answer = _client(settings).send_sms_notification(
            phone_number=phone_number, template_id=template_id, personalisation=personalisation, reference=reference
        )
    except APIError as exc:
        raise _error(exc, "the text message") from None
    return str(answer.get("id", ""))[:120]


def find_sent(settings, reference: str, since: dt.datetime) -> str | None:
    """The id of a text Notify accepted with ``reference`` at or after ``since``, or None. Raises SendError."""
    try:
        answer = _client(settings).get_all_notifications(template_type="sms", reference=reference)
    except APIError as exc:
        raise _error(exc, "the question whether the text was sent") from None
    for notification in answer.get("notifications", []):
        created = notification.get("created_at")
        try:
            at = dt.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        except ValueError:
            continue
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        if at >= since - dt.timedelta(seconds=5) and notification.get("reference") == reference:
            return str(notification.get("id", ""))[:120]
    return None
