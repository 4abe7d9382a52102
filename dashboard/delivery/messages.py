"""The words of the messages to owners: a footage request and an urgent "please keep your footage"
notice, as an email (plain text and HTML) or as a GOV.UK Notify text message's personalisation.

Written for a member of the public who registered their camera: plain English, the force's name, the
incident window in UK time, which of their cameras, what is asked, the private link and how long it
lasts, how to say no, and only what the officer chose to share about the incident. Nothing here
names or describes anyone else (no other owner, no address) and nothing suggests that the owner works
for the police. Every value put into the HTML is escaped.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from dashboard.footage.wording import UK, OwnerCamera, camera_words, uk_datetime, uk_window


@dataclass(frozen=True)
class MessageFacts:
    """What a message says, read from the register when it is sent (nothing is stored in the outbox)."""

    force_name: str
    owner_name: str
    case_ref: str
    incident_from: dt.datetime
    incident_to: dt.datetime
    cameras: tuple[OwnerCamera, ...]
    shared_detail: str | None = None
    link: str | None = None  # the request's private link (not in a preservation notice)
    link_expires_at: dt.datetime | None = None
    link_days: int | None = None


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def camera_text(camera: OwnerCamera) -> str:
    """'your doorbell camera (outdoor, facing east)'."""
    return "your " + camera_words(camera)


def cameras_text(cameras: tuple[OwnerCamera, ...]) -> str:
    texts = [camera_text(c) for c in cameras] or ["your camera"]
    if len(texts) == 1:
        return texts[0]
    return ", ".join(texts[:-1]) + " and " + texts[-1]


def _greeting(facts: MessageFacts) -> str:
    return f"Dear {facts.owner_name}," if facts.owner_name else "Hello,"


def request_email(facts: MessageFacts) -> Email:
    """The footage request: multipart text and HTML, the same words in both."""
    window = uk_window(facts.incident_from, facts.incident_to)
    cams = cameras_text(facts.cameras)
    expires = uk_datetime(facts.link_expires_at) if facts.link_expires_at else ""
    days = facts.link_days or 7
    subject = f"{facts.force_name}: can your camera help? (case {facts.case_ref})"
    paragraphs = [
        _greeting(facts),
        f"You registered your cameras with the {facts.force_name} Community Camera Registry. Something happened "
        "nearby, and your recordings may help.",
        ("WHEN", f"{window} (UK time)"),
        ("WHICH CAMERAS", cams[0].upper() + cams[1:]),
        *([("WHAT HAPPENED", facts.shared_detail)] if facts.shared_detail else []),
        (
            "WHAT WE ASK",
            "Please look at your recordings from that time. If you have any, send us a copy through "
            "the private link below. If nothing was recorded, you can tell us that from the same link.",
        ),
        ("YOUR PRIVATE LINK", facts.link or ""),
        f"The link works for {days} days, until {expires} (UK time), or until you have answered. Please do "
        "not share it.",
        'Helping is your choice. If you would rather not, open the same link and choose "I\'d rather not". You '
        "do not need to give a reason.",
        f"Case reference: {facts.case_ref}. Please quote it if you contact us.",
        f"{facts.force_name}, Community Camera Registry",
    ]
    return Email(subject, _plain(paragraphs), _html(subject, paragraphs, link=facts.link))


def preservation_email(facts: MessageFacts) -> Email:
    """The short urgent notice: keep the recording; a request with a link follows."""
    start = uk_datetime(facts.incident_from)
    end = (
        uk_datetime(facts.incident_to)
        if facts.incident_from.astimezone(UK).date() != facts.incident_to.astimezone(UK).date()
        else facts.incident_to.astimezone(UK).strftime("%H:%M")
    )
    subject = f"{facts.force_name}: please keep your camera's recording from {start}"
    cams = cameras_text(facts.cameras)
    paragraphs = [
        _greeting(facts),
        f"Please keep any recording from {start} to {end} (UK time) on {cams}. It may be deleted or recorded "
        "over soon, and it may help with something that happened nearby.",
        "If your camera or its app lets you save or download a clip, please do that now. You do not need to send "
        "anything yet: a request with a private link to send it follows.",
        f"Case reference: {facts.case_ref}.",
        f"{facts.force_name}, Community Camera Registry",
    ]
    return Email(subject, _plain(paragraphs), _html(subject, paragraphs, link=None))


def _plain(paragraphs: list) -> str:
    out = []
    for p in paragraphs:
        out.append(
            f"{p[0].capitalize()}: {p[1]}"
            if isinstance(p, tuple) and p[0] != "YOUR PRIVATE LINK"
            else (f"Your private link:\n{p[1]}" if isinstance(p, tuple) else p)
        )
    return "\n\n".join(out) + "\n"


def _html(subject: str, paragraphs: list, *, link: str | None) -> str:
    e = html.escape
    body = []
    for p in paragraphs:
        if isinstance(p, tuple):
            label, value = p
            if label == "YOUR PRIVATE LINK":
                body.append(
                    f'<p style="margin:24px 0"><a href="{e(value, quote=True)}" style="background:#12284c;'
                    "color:#ffffff;padding:12px 20px;text-decoration:none;border-radius:4px;"
                    'font-weight:bold">Open your private link</a></p>'
                    f'<p style="font-size:14px;color:#444">Or copy this address: {e(value)}</p>'
                )
            else:
                body.append(f"<p><strong>{e(label.capitalize())}:</strong> {e(value)}</p>")
        else:
            body.append(f"<p>{e(p)}</p>")
    return (
        '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{e(subject)}</title></head>"
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#111;'
        'max-width:600px">\n' + "\n".join(body) + "\n</body></html>\n"
    )


def request_personalisation(facts: MessageFacts) -> dict[str, str]:
    """The request template's fields in GOV.UK Notify (README: 'Text messages')."""
    return {
        "name": facts.owner_name or "",
        "force_name": facts.force_name,
        "incident_window": uk_window(facts.incident_from, facts.incident_to),
        "cameras": cameras_text(facts.cameras),
        "shared_detail": facts.shared_detail or "",
        "link": facts.link or "",
        "link_expires": uk_datetime(facts.link_expires_at) if facts.link_expires_at else "",
        "case_ref": facts.case_ref,
    }


def preservation_personalisation(facts: MessageFacts) -> dict[str, str]:
    """The preservation template's fields in GOV.UK Notify."""
    return {
        "name": facts.owner_name or "",
        "force_name": facts.force_name,
        "incident_window": uk_window(facts.incident_from, facts.incident_to),
        "cameras": cameras_text(facts.cameras),
        "case_ref": facts.case_ref,
    }
