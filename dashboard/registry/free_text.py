"""Free text that must not hold a way into a camera (promise 1: no live access).

The register has no field for a camera's stream, network address or login, but people paste what
their camera's app shows into whatever box is in front of them: an address of
``rtsp://admin:Pa55word@192.0.2.10:554/...`` would be stored and shown to officers. Every free-text
field the public fills in (a registration's ``name`` and ``address``) goes through :func:`check`,
from the shared pydantic model (the form and the API) and again in the domain functions that store
it (``registration.register`` and ``registration.update``). An officer's note on a footage request
(``casework.change_status``: page, callback and API alike) is checked too, as an owner's answer may
quote what their camera's app shows.

Refused, in any letter case, after Unicode compatibility folding (full-width ``ｒｔｓｐ：／／``) and with
invisible format characters removed:

- links: any ``scheme://``, the words rtsp, rtmp, onvif, http(s), ftp, ssh, telnet, ``www.``,
  and host names under common top-level domains (``mycam.ddns.net``, ``cams.example.co.uk``);
- IP addresses: IPv4 (``192.168.1.64``, with or without a port) and IPv6 (``2001:db8::10``);
- credentials: ``user:secret@``, a login word followed by ``:`` or ``=`` (``password=``, ``pwd:``,
  ``user:``, ``pin:``), ``admin/...``, and the words password, passwd, passcode, passphrase,
  pwd, username and credentials anywhere.

Ordinary names and addresses pass: ``Flat 2, 10 High St.``, ``Unit 1.2``, ``10.5 Mill Lane``,
``St. Mary's``, ``Plot 4: Meadow View``, ``Passage Farm``, ``Pinfold Lane``.

>>> check("Flat 2, 10 High St.", "address")
'Flat 2, 10 High St.'
>>> check("rtsp://admin:Pa55word@192.0.2.10:554/", "address")
Traceback (most recent call last):
...
ValueError: The address looks like it holds a web or stream link. ...
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Any

# The free-text fields of a registration (``registration.RegistrationIn``), with the words used
# for them in messages.
REGISTRATION_FIELDS = {"name": "name", "address": "address"}

_WHY = (
    "The register never keeps a camera's stream links, network addresses, logins or passwords (nobody "
    "gets live access to a camera through it): remove it and send the form again."
)

# Top-level domains of camera hosts and dynamic-DNS names; not words that follow a full stop in
# an address typed without a space ("Church St.Site 4", "Smith & Co.").
_TLDS = "com|net|org|uk|io|info|biz|tv|cc|xyz|cloud|online|local|lan|arpa"
_LINK = re.compile(
    r"[a-z][a-z0-9+.\-]{0,15}\s*:\s*//"  # any scheme://
    r"|\b(?:rtsps?|rtmps?|onvif|https?|s?ftp|ssh|telnet)\b"
    r"|\bwww\d{0,3}\s*\."
    r"|\b[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.(?:" + _TLDS + r")\b"
    r"(?!['\u2019])"
)
_IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\s*\.\s*\d{1,3}){3}(?![\d])")
_IPV6 = re.compile(r"[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:%\w+)?")
_CREDENTIALS = re.compile(
    r"[^\s:@/]+:[^\s@/]+@"  # user:secret@
    r"|\b(?:pass(?:word|wd|code|phrase|key)?|pwd|pw|pin|log-?in|user(?:name)?|uname|admin|root|"
    r"credentials?)\s*[:=]"
    r"|\b(?:admin|root)\s*/\s*\S"
    r"|\b(?:password|passwd|passcode|passphrase|pwd|username|credentials?)\b"
)


def _folded(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").lower()


def _has_ip(text: str) -> bool:
    for match in _IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(re.sub(r"\s", "", match.group(0)))
            return True
        except ValueError:
            pass
    for match in _IPV6.finditer(text):
        candidate = match.group(0).split("%")[0]
        if candidate.count(":") >= 2:
            try:
                ipaddress.IPv6Address(candidate)
                return True
            except ValueError:
                pass
    return False


def problem(text: str) -> str | None:
    """What ``text`` holds that the register must not keep, in words, or None."""
    folded = _folded(text)
    if _LINK.search(folded):
        return "a web or stream link"
    if _has_ip(folded):
        return "an IP address"
    if _CREDENTIALS.search(folded):
        return "a login or password"
    return None


def check(text: str, what: str) -> str:
    """``text`` unchanged, or ValueError naming the field (``what``) and what was found."""
    found = problem(text) if isinstance(text, str) else None
    if found:
        raise ValueError(f"The {what} looks like it holds {found}. {_WHY}")
    return text


def check_fields(data: Any, fields: dict[str, str] = REGISTRATION_FIELDS) -> None:
    """:func:`check` every named attribute of ``data`` (a validated model, checked again where it
    is stored, so that a model built without validation cannot carry a stream link in)."""
    for attribute, what in fields.items():
        value = getattr(data, attribute, None)
        if value is not None:
            check(value, what)
