"""The same email address registering the same postcode again: offer the existing registration.

The page cannot show it (anyone can type an email address), so a new private link is sent to
the address on file, at most once per ``RESEND_COOLDOWN``; the old link stops working. Without
a mail relay (``SMTP_URL``) the owner is pointed to the link they already have.
"""
from __future__ import annotations

import datetime as dt

from dashboard.mail import MailError, management_link_message, send
from dashboard.registry import registration
from dashboard.registry.database import transaction

RESEND_COOLDOWN = dt.timedelta(minutes=10)
NO_MAIL = registration.DUPLICATE_MESSAGE


def offer_existing(rt, email: str, postcode: str) -> str:
    """Send the existing registration's owner a fresh private link; the message to show."""
    if rt.settings.smtp_url is None:
        return NO_MAIL
    sent = (f"This email address has already registered cameras at this postcode. We have emailed a new private "
            f"link for that registration to {email}: open it to make changes. Your earlier link no longer works.")
    with transaction(rt.sessions) as s:
        existing = registration.existing_registration(s, email, postcode)
        if existing is None:
            return NO_MAIL
        if registration.link_resent_recently(s, existing, RESEND_COOLDOWN):
            return sent
        token = registration.new_management_token(s, existing)
        subject, body = management_link_message(existing.reference, f"{rt.settings.public_base_url}/manage/{token}",
                                                rt.reference.force_name)
        try:
            send(rt.settings.smtp_url, rt.settings.mail_from, email, subject, body)
        except MailError:
            s.rollback()
            return ("This email address has already registered cameras at this postcode. We could not send a new "
                    "private link just now; try again later, or open the link you were given.")
    return sent
