"""How a footage request reaches its owner: which channel, and what the officer is told.

The register knows each owner's preferred way to be contacted (email, text message or phone) and the
force configures which services it can send through (email through ``SMTP_URL``, text messages
through GOV.UK Notify's ``NOTIFY_API_KEY``). ``choose`` picks the channel a message goes by:

- preferred ``email``: email when the email service is set up and the owner gave an address, else a
  text message when that is set up and the owner gave a mobile number;
- preferred ``text``: a text message when that is set up and the owner gave a mobile number, else email
  when that is set up and they gave an address;
- preferred ``phone``: no message at all (the owner asked to be phoned: the officer rings them);
- otherwise (no usable channel): no message; the request is recorded but not delivered.

``DeliverySummary`` is what the officer is told after sending ("3 footage requests recorded: 2 will be
emailed, 1 by text message. ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# UK mobile numbers: 07xxx xxxxxx, +44 7xxx xxxxxx or 0044 7xxx ... (what Notify accepts for UK texts).
_MOBILE = re.compile(r"^(?:\+?44|0044|0)7\d{9}$")

# Why a request was not delivered (``no_channel_reason``).
PHONE_PREFERRED = "phone_preferred"
NO_SERVICE = "no_service"
NO_USABLE_CONTACT = "no_usable_contact"


@dataclass(frozen=True)
class Channels:
    """The services the force has set up: email (``SMTP_URL``) and text messages (``NOTIFY_API_KEY``)."""

    email: bool = False
    text: bool = False

    @classmethod
    def from_settings(cls, settings) -> Channels:
        return cls(email=settings.smtp_url is not None, text=settings.notify_api_key is not None)

    @property
    def any(self) -> bool:
        return self.email or self.text


NONE = Channels()


def is_mobile(phone: str | None) -> bool:
    """A UK mobile number (a text message can reach it).

    >>> is_mobile("07700 900123"), is_mobile("+44 7700 900123"), is_mobile("01785 000001"), is_mobile(None)
    (True, True, False, False)
    """
    if not phone:
        return False
    return bool(_MOBILE.match(re.sub(r"[\s()\-.]", "", phone)))


def choose(preferred: str | None, email: str | None, phone: str | None, channels: Channels) -> str | None:
    """'email', 'text' or None (see the module docstring).

    >>> both = Channels(email=True, text=True)
    >>> choose("email", "a@example.org", "07700900123", both), choose("text", "a@example.org", "07700900123", both)
    ('email', 'text')
    >>> choose("text", "a@example.org", "01785000001", both), choose("phone", "a@example.org", None, both)
    ('email', None)
    >>> choose("email", "a@example.org", "07700900123", Channels(text=True)), choose("email", "a@x.org", None, NONE)
    ('text', None)
    """
    can_email = channels.email and bool(email)
    can_text = channels.text and is_mobile(phone)
    if preferred == "phone":
        return None
    order = ("text", "email") if preferred == "text" else ("email", "text")
    for channel in order:
        if (channel == "email" and can_email) or (channel == "text" and can_text):
            return channel
    return None


def no_channel_reason(preferred: str | None, channels: Channels) -> str:
    if preferred == "phone":
        return PHONE_PREFERRED
    if not channels.any:
        return NO_SERVICE
    return NO_USABLE_CONTACT


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


@dataclass
class DeliverySummary:
    """What happened to a batch of new footage requests, counted by request."""

    recorded: int = 0
    email: int = 0
    text: int = 0
    joined: int = 0  # added to a request to the same owner in the same case that is already on its way
    phone_preferred: int = 0
    not_delivered: int = 0  # no email or text service, or no usable contact for the ones set up
    phone_owners: int = 0  # the owners behind ``phone_preferred``
    undelivered_owners: int = 0  # the owners behind ``not_delivered``
    no_service: bool = False
    preservation: int = 0  # urgent "please keep your footage" notices queued (one per owner)
    preservation_not_at_risk: bool = False  # asked for, but no footage was at risk within 48 h
    by_request: dict = field(default_factory=dict)  # request id -> 'email' | 'text' | 'joined' | reason

    @property
    def undelivered(self) -> int:
        return self.phone_preferred + self.not_delivered

    def as_dict(self) -> dict:
        return {
            "recorded": self.recorded,
            "email": self.email,
            "text": self.text,
            "joined": self.joined,
            "phone_preferred": self.phone_preferred,
            "not_delivered": self.not_delivered,
            "preservation_notices": self.preservation,
            "message": self.text_for_officer(),
        }

    def text_for_officer(self) -> str:
        """One paragraph for the officer, e.g. "3 footage requests recorded: 2 will be emailed, 1 by text
        message. 1 owner asked to be phoned: not sent, ring them."."""
        head = f"{_count(self.recorded, 'footage request')} recorded"
        parts = []
        if self.email:
            parts.append(f"{self.email} will be emailed")
        if self.text:
            parts.append(f"{self.text} by text message" if self.email else f"{self.text} will be sent by text message")
        if self.joined:
            parts.append(f"{self.joined} added to a request already on its way to the same owner")
        sentences = [head + (": " + ", ".join(parts) if parts else "") + "."]
        if self.preservation:
            sentences.append(
                f"An urgent 'please keep your footage' notice goes first to {_count(self.preservation, 'owner')}."
            )
        elif self.preservation_not_at_risk:
            sentences.append("No urgent notice was needed: no footage is at risk of being overwritten within 48 hours.")
        if self.phone_preferred:
            owners = self.phone_owners or self.phone_preferred
            sentences.append(
                f"{_count(owners, 'owner')} asked to be phoned: not sent, ring them (show their contact details)."
            )
        if self.not_delivered:
            owners = self.undelivered_owners or self.not_delivered
            why = (
                "no email or text service is set up"
                if self.no_service
                else f"{'the owner has' if owners == 1 else 'these owners have'} no email address or mobile number "
                "for the services set up"
            )
            to = "" if owners == self.not_delivered else f" to {_count(owners, 'owner')}"
            sentences.append(
                f"{_count(self.not_delivered, 'request')}{to} recorded but not delivered: {why}; ring "
                f"{'the owner' if owners == 1 else 'them'} (show their contact details)."
            )
        return " ".join(sentences)
