"""Outgoing email through the force's mail relay (``SMTP_URL``), for the few messages the
register sends to owners about their private link: the link of a new registration, a fresh link
when their email address registers the same postcode again or when they ask for one ("Lost your
link?"), and a reminder with a fresh link when a registration has not been confirmed for the
retention period.

Footage requests and urgent notices to owners are not sent from here: they go through the persistent
outbox (``dashboard/delivery``), which sends them in two phases so that a crash never sends one twice.

``SMTP_URL`` is ``smtp://[user:password@]host[:port]`` (plain, e.g. an internal relay) or
``smtp+starttls://...``. Without it the register sends nothing.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit


class MailError(RuntimeError):
    """The message could not be handed to the relay."""


def check_smtp_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtp+starttls") or not parts.hostname:
        raise ValueError("use smtp://host:port or smtp+starttls://user:password@host:port")
    return url


def send(
    smtp_url: str, sender: str, to: str, subject: str, body: str, *, html: str | None = None, timeout_s: float = 10.0
) -> None:
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


def registered_message(reference: str, cameras: int, url: str, force_name: str) -> tuple[str, str]:
    """To the email address given with a new registration ``reference``: its private link, as the
    page showed it once. Whoever typed someone else's address has given that person the way to
    withdraw what was sent in their name."""
    subject = f"Your camera registration {reference}: your private link"
    body = (
        f"Thank you for registering {cameras} camera{'' if cameras == 1 else 's'} with the {force_name} Community "
        f"Camera Registry. Your reference is {reference}.\n\n"
        f"This is your private link to see, change or withdraw your registration:\n\n{url}\n\n"
        "Keep this email. Anyone with the link can change your registration, so do not share it. If you lose it, "
        'ask for a new one from "Lost your link?" on the registration page.\n\n'
        'If you did not register: someone typed your email address. Open the link and choose "Withdraw": '
        "everything that was sent is deleted at once.\n"
    )
    return subject, body


def repeat_registration_message(
    earlier: str, new: str, url: str, force_name: str, new_url: str | None = None
) -> tuple[str, str]:
    """To the owner of registration ``earlier`` when a registration ``new`` is made with the same
    email address at the same postcode: both are kept (the one who sent the form was answered as
    for any registration, so that nobody learns who has registered where); ``url`` is a fresh
    private link for ``earlier``, ``new_url`` the private link of ``new`` (it went to this address)."""
    subject = f"Your camera registration {earlier}: registered again at the same address"
    new_link = (
        f" with its own link:\n\n{new_url}\n\n"
        if new_url
        else f" from its own link ({new}'s link was shown when it was sent), "
    )
    body = (
        f"Cameras were registered again with the {force_name} Community Camera Registry, with this email address "
        f"and the postcode of your registration {earlier}. They were kept as a new registration, {new}, so "
        "nothing that was sent is lost.\n\n"
        f"Here is a new private link to see, change or withdraw registration {earlier}:\n\n{url}\n\n"
        "Your previous link for it no longer works.\n\n"
        f"If it was you: you now have two registrations. Keep the one you want; withdraw the other{new_link}"
        f"or change {earlier} with the link above and withdraw {new}.\n"
        f"If it was not you: your registration {earlier} is unchanged. Withdraw {new} from its link, or ask the "
        f"{force_name} to erase registration {new}, quoting its reference.\n"
    )
    return subject, body


@dataclass(frozen=True)
class LinkFor:
    """One registration in a "Lost your link?" answer: its reference, when it was made, its cameras
    and its fresh private link."""

    reference: str
    registered_on: dt.date
    cameras: int
    url: str


def lost_link_message(links: list[LinkFor], postcode: str, force_name: str) -> tuple[str, str]:
    """To an email address that asked "Lost your link?" with a postcode: a fresh private link for each
    registration it has there. Sent only when there is one (the page said the same either way)."""
    several = len(links) > 1
    subject = "Your camera registration: your new private link" + ("s" if several else "")
    items = "\n\n".join(
        f"Registration {link.reference} (registered {link.registered_on.day} {link.registered_on:%B %Y}, "
        f"{link.cameras} camera{'' if link.cameras == 1 else 's'}):\n{link.url}"
        for link in links
    )
    body = (
        f"Someone asked the {force_name} Community Camera Registry for a new private link for the registration"
        f"{'s' if several else ''} made with this email address at {postcode}.\n\n{items}\n\n"
        f"Use {'each' if several else 'the'} link to see, change or withdraw that registration. "
        f"Your previous link{'s' if several else ''} no longer work{'' if several else 's'}. "
        "Keep this email, and do not share the link: anyone with it can change your registration.\n\n"
        "If you did not ask: nothing has changed except the link; you can ignore this email.\n"
    )
    return subject, body


def retention_reminder_message(
    reference: str, url: str, force_name: str, months: int, erase_from: dt.date
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
