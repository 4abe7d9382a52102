"""Sending one email through the force's relay (``SMTP_URL``) in two phases, so that the outbox can
record "handed over" between the message's body and the end of DATA.

An SMTP server takes responsibility for a message only when it has received the final
``<CRLF>.<CRLF>`` of DATA and answered 250; a connection that drops before that terminator is a
message the server discards. ``send_two_phase`` therefore speaks the protocol itself (smtplib's
low-level ``putcmd``/``getreply``/``send``): EHLO (STARTTLS, AUTH), MAIL FROM, RCPT TO, DATA, waits
for 354, sends the body (dot-stuffed, CRLF line ends) WITHOUT the terminator, calls ``before_commit()``,
and only if that returns True sends the terminator and reads the reply. If it returns False (the
message is no longer ours to send) the connection is dropped and the server discards the body.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from dashboard.delivery.messages import Email

_BARE_EOL = re.compile(rb"(?:\r\n|\n|\r(?!\n))")
_ADDRESS = re.compile(r"<?[^\s<>]+@[^\s<>]+>?")
_NUMBER = re.compile(r"\+?\d[\d ]{6,}\d")


def scrub(text: str) -> str:
    """An error text without any email address or phone number in it (it is shown and logged).

    >>> scrub("550 5.1.1 <ann@example.org>: Recipient address rejected; call 07700 900123")
    '550 5.1.1 (address): Recipient address rejected; call (number)'
    """
    return _NUMBER.sub("(number)", _ADDRESS.sub("(address)", text))


class SendError(Exception):
    """The relay did not take the message. ``temporary``: worth trying again later (4xx replies,
    connection failures); False for a permanent refusal (5xx). ``after_handover``: the error came
    after the body was handed over (the reply to the terminator)."""

    def __init__(self, message: str, *, temporary: bool, after_handover: bool = False) -> None:
        super().__init__(message)
        self.temporary, self.after_handover = temporary, after_handover


class Abandoned(Exception):
    """``before_commit`` said no: the message was not finished, and the server discarded it."""


def build(sender: str, to: str, email: Email) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no automatic replies to it
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


def body_bytes(message: EmailMessage) -> bytes:
    """The message as DATA carries it: CRLF line ends, leading dots doubled, ending in CRLF
    (the terminator ``.<CRLF>`` is sent separately)."""
    data = _BARE_EOL.sub(b"\r\n", message.as_bytes(policy=SMTP_POLICY))
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


def _reply_error(what: str, code: int, text: bytes, *, after_handover: bool = False) -> SendError:
    said = text.decode("utf-8", "replace")[:120] if isinstance(text, bytes) else str(text)[:120]
    return SendError(
        scrub(f"the mail relay answered {code} to {what}: {said}"),
        temporary=not 500 <= code < 600,
        after_handover=after_handover,
    )


def send_two_phase(
    smtp_url: str, sender: str, to: str, email: Email, before_commit: Callable[[], bool], *, timeout_s: float = 30.0
) -> str:
    """Send ``email`` to ``to``; returns the relay's final reply text (its queue id, often).

    Raises SendError (nothing was handed over, or the relay refused the finished message) or
    Abandoned (``before_commit`` returned False; nothing was handed over)."""
    parts = urlsplit(smtp_url)
    data = body_bytes(build(sender, to, email))
    try:
        relay = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=timeout_s)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"the mail relay could not be reached ({type(exc).__name__})", temporary=True) from None
    handed_over = False
    try:
        relay.ehlo_or_helo_if_needed()
        if parts.scheme == "smtp+starttls":
            relay.starttls()
            relay.ehlo()
        if parts.username:
            relay.login(unquote(parts.username), unquote(parts.password or ""))
        code, text = relay.mail(sender)
        if code != 250:
            raise _reply_error("MAIL FROM", code, text)
        code, text = relay.rcpt(to)
        if code not in (250, 251):
            raise _reply_error("RCPT TO", code, text)
        relay.putcmd("data")
        code, text = relay.getreply()
        if code != 354:
            raise _reply_error("DATA", code, text)
        relay.send(data)
        if not before_commit():
            raise Abandoned()
        handed_over = True
        relay.send(b".\r\n")
        code, text = relay.getreply()
        if code != 250:
            raise _reply_error("the end of the message", code, text, after_handover=True)
        try:
            relay.quit()
        except (OSError, smtplib.SMTPException):
            pass
        return text.decode("utf-8", "replace")[:120] if isinstance(text, bytes) else str(text)[:120]
    except smtplib.SMTPResponseException as exc:
        raise _reply_error("the message", exc.smtp_code, exc.smtp_error, after_handover=handed_over) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(
            f"the mail relay connection failed ({type(exc).__name__})", temporary=True, after_handover=handed_over
        ) from None
    finally:
        relay.close()
