"""Outgoing email through the force's mail relay (``SMTP_URL``), for the few messages the
register sends to owners: a fresh private link when their email address registers the same
postcode again, and a reminder with a fresh link when a registration has not been confirmed for
the retention period.

Footage requests and urgent notices to owners are not sent from here: they go through the persistent
outbox (``dashboard/delivery``), which sends them in two phases so that a crash never sends one twice.

``SMTP_URL`` is ``smtp://[user:password@]host[:port]`` (plain, e.g. an internal relay) or
``smtp+starttls://...``. Without it the register sends nothing.
"""
from __future__ import annotations

import datetime as dt
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit


class MailError(RuntimeError):
    """The message could not be handed to the relay."""


def check_smtp_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtp+starttls") or not parts.hostname:
        raise ValueError("use smtp://host:port or smtp+starttls://user:password@host:port")
    return url


def send(smtp_url: str, sender: str, to: str, subject: str, body: str, *, html: str | None = None,
         timeout_s: float = 10.0) -> None:
    """Send one message at once (plain text; with ``html``, multipart text + HTML). Footage requests
    go through the outbox instead (dashboard/delivery), which survives a crash mid-send."""
    parts = urlsplit(smtp_url)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    try:
        with smtplib.SMTP(parts.hostname, parts.port or 25, timeout=timeout_s) as relay:
            if parts.scheme == "smtp+starttls":
                relay.starttls()
            if parts.username:
                relay.login(unquote(parts.username), unquote(parts.password or ""))
            relay.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"the mail relay refused or could not be reached ({type(exc).__name__})") from None


def repeat_registration_message(earlier: str, new: str, url: str, force_name: str) -> tuple[str, str]:
    """To the owner of registration ``earlier`` when a registration ``new`` is made with the same
    email address at the same postcode: both are kept (the one who sent the form was answered as
    for any registration, so that nobody learns who has registered where); ``url`` is a fresh
    private link for ``earlier``."""
    subject = f"Your camera registration {earlier}: registered again at the same address"
    body = (
        f"Cameras were registered again with the {force_name} Community Camera Registry, with this email address "
        f"and the postcode of your registration {earlier}. They were kept as a new registration, {new}, so "
        "nothing that was sent is lost.\n\n"
        f"Here is a new private link to see, change or withdraw registration {earlier}:\n\n{url}\n\n"
        "Your previous link for it no longer works.\n\n"
        f"If it was you: you now have two registrations. Keep the one you want; withdraw the other from its own "
        f"link ({new}'s link was shown when it was sent), or change {earlier} with the link above and withdraw "
        f"{new}.\n"
        f"If it was not you: your registration {earlier} is unchanged. Ask the {force_name} to erase registration "
        f"{new}, quoting its reference.\n"
    )
    return subject, body


def retention_reminder_message(reference: str, url: str, force_name: str, months: int, erase_from: dt.date
                               ) -> tuple[str, str]:
    subject = f"Your camera registration {reference}: confirm it or it will be deleted"
    body = (
        f"You registered cameras with the {force_name} Community Camera Registry (registration {reference}), "
        f"and they have not been confirmed for {months} months. We keep registrations only while their owners "
        "confirm them.\n\n"
        f"To keep it, open this private link and confirm (or change) your details:\n\n{url}\n\n"
        f"If you do nothing, your registration and your details will be deleted on or after "
        f"{erase_from.day} {erase_from:%B %Y}. You can also withdraw it from the same link.\n\n"
        "Your previous link no longer works.\n"
    )
    return subject, body
