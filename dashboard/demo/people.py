"""Synthetic contact details for demo registrants: names, e-mail addresses, phone numbers,
registration references and management-token digests.

Nothing here is real personal data. Names come from short built-in lists; e-mail addresses
use only the domains reserved for documentation (RFC 2606: example.org/.com/.net); phone
numbers use only Ofcom's ranges reserved for drama (07700 900000-900999 mobile,
01632 960000-960999 landline), which are never allocated to anyone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

FIRST_NAMES = (
    "Oliver",
    "Amelia",
    "George",
    "Isla",
    "Harry",
    "Ava",
    "Noah",
    "Mia",
    "Jack",
    "Ivy",
    "Leo",
    "Lily",
    "Arthur",
    "Florence",
    "Muhammad",
    "Freya",
    "Oscar",
    "Grace",
    "Charlie",
    "Poppy",
    "Thomas",
    "Emily",
    "James",
    "Sophie",
    "William",
    "Evie",
    "Henry",
    "Ella",
    "Alfie",
    "Rosie",
    "Joshua",
    "Chloe",
    "Daniel",
    "Hannah",
    "Samuel",
    "Lucy",
    "Jacob",
    "Megan",
    "Ethan",
    "Jessica",
    "David",
    "Sarah",
    "Paul",
    "Karen",
    "Mark",
    "Helen",
    "Andrew",
    "Julie",
    "Stephen",
    "Susan",
    "Peter",
    "Angela",
    "Richard",
    "Claire",
    "Gary",
    "Joanne",
    "Ian",
    "Nicola",
    "Simon",
    "Lisa",
    "Priya",
    "Arjun",
    "Aisha",
    "Imran",
    "Fatima",
    "Ravi",
    "Zara",
    "Hassan",
    "Anita",
    "Tomasz",
    "Agnieszka",
    "Piotr",
    "Siobhan",
    "Declan",
    "Niamh",
    "Rhys",
    "Bethan",
    "Kwame",
    "Chidi",
    "Ade",
)
SURNAMES = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Hughes",
    "Edwards",
    "Turner",
    "Harris",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Griffiths",
    "Mitchell",
    "Kelly",
    "Cook",
    "Carter",
    "Richardson",
    "Bailey",
    "Collins",
    "Bell",
    "Shaw",
    "Murphy",
    "Miller",
    "Cox",
    "Richards",
    "Khan",
    "Patel",
    "Ali",
    "Hussain",
    "Begum",
    "Singh",
    "Kaur",
    "Ahmed",
    "Shah",
    "Mahmood",
    "Kowalski",
    "Nowak",
    "Brookes",
    "Plant",
    "Salt",
    "Bloor",
    "Cartlidge",
    "Machin",
    "Beech",
    "Mellor",
)
EMAIL_DOMAINS = ("example.org", "example.com", "example.net")
MOBILE_PREFIX = "07700 900"  # Ofcom drama range 07700 900000-900999
LANDLINE_PREFIX = "01632 960"  # Ofcom drama range 01632 960000-960999

# Letters and digits that cannot be confused when read aloud or copied from paper
# (no 0/O, 1/I/L), for registration references such as "CCR-7KQ2MX".
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_PREFIX = "CCR-"
REFERENCE_LENGTH = 6

# Shares of how people chose to be contacted; a registrant with no e-mail is never "email",
# and "text" needs a mobile number.
SHARE_NO_EMAIL = 0.05
SHARE_WITH_PHONE = 0.62
SHARE_MOBILE = 0.8
SHARE_PREFERS_PHONE = 0.10
SHARE_PREFERS_TEXT = 0.08


@dataclass(frozen=True)
class Contacts:
    """Contact columns for ``n`` registrants, aligned by position (``None`` = not given)."""

    name: list[str]
    email: list[str | None]
    phone: list[str | None]
    preferred_channel: list[str]


def synthetic_contacts(rng: np.random.Generator, n: int) -> Contacts:
    """Names, e-mail addresses, phone numbers and preferred channels for ``n`` people.

    Every active registration has a name and at least one of e-mail or phone, as the schema
    requires. E-mail domains are only ``example.*``; phone numbers only Ofcom drama numbers.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (the only one).
    n : int
        Number of people.

    Returns
    -------
    Contacts

    Examples
    --------
    >>> c = synthetic_contacts(np.random.Generator(np.random.PCG64(1)), 3)
    >>> all(e is None or e.split("@")[1].startswith("example.") for e in c.email)
    True
    """
    first = np.asarray(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), n)]
    last = np.asarray(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), n)]
    names = [f"{f} {s}" for f, s in zip(first.tolist(), last.tolist())]

    has_email = rng.random(n) >= SHARE_NO_EMAIL
    has_phone = (rng.random(n) < SHARE_WITH_PHONE) | ~has_email
    is_mobile = rng.random(n) < SHARE_MOBILE
    style = rng.integers(0, 4, n)
    number = rng.integers(1, 100, n)
    domain = np.asarray(EMAIL_DOMAINS, dtype=object)[rng.choice(len(EMAIL_DOMAINS), n, p=[0.5, 0.3, 0.2])]
    phone_digits = rng.integers(0, 1000, n)

    emails: list[str | None] = []
    for f, s, st, num, dom, ok in zip(
        first.tolist(), last.tolist(), style.tolist(), number.tolist(), domain.tolist(), has_email.tolist()
    ):
        if not ok:
            emails.append(None)
            continue
        f, s = f.lower(), s.lower()
        local = (f"{f}.{s}", f"{f[0]}{s}{num}", f"{f}{num}", f"{s}.{f}")[st]
        emails.append(f"{local}@{dom}")

    phones: list[str | None] = [
        (f"{MOBILE_PREFIX}{d:03d}" if mob else f"{LANDLINE_PREFIX}{d:03d}") if ok else None
        for d, mob, ok in zip(phone_digits.tolist(), is_mobile.tolist(), has_phone.tolist())
    ]

    u = rng.random(n)
    channel = np.where(
        u < SHARE_PREFERS_PHONE, "phone", np.where(u < SHARE_PREFERS_PHONE + SHARE_PREFERS_TEXT, "text", "email")
    )
    channel = np.where(~has_phone, "email", channel)
    channel = np.where((channel == "text") & ~is_mobile, "phone", channel)
    channel = np.where(~has_email & (channel == "email"), np.where(is_mobile, "text", "phone"), channel)
    return Contacts(name=names, email=emails, phone=phones, preferred_channel=channel.tolist())


def unique_references(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct registration references, ``"CCR-"`` plus six unambiguous characters.

    Examples
    --------
    >>> refs = unique_references(np.random.Generator(np.random.PCG64(7)), 5)
    >>> len(set(refs)), refs[0][:4], len(refs[0])
    (5, 'CCR-', 10)
    """
    return unique_codes(rng, n, REFERENCE_PREFIX, REFERENCE_LENGTH)


def unique_codes(rng: np.random.Generator, n: int, prefix: str, length: int) -> list[str]:
    """``n`` distinct random codes: ``prefix`` and ``length`` characters of ``REFERENCE_ALPHABET``
    (registration references; the random public ids of cameras and requests)."""
    base = len(REFERENCE_ALPHABET)
    space = base**length
    if n > space // 4:
        raise ValueError(f"cannot make {n} distinct codes from a space of {space}")
    codes = rng.choice(space, size=n, replace=False).astype(np.int64)
    alphabet = np.array(list(REFERENCE_ALPHABET), dtype="<U1")
    digits = np.empty((n, length), dtype="<U1")
    for k in range(length):
        digits[:, length - 1 - k] = alphabet[(codes // base**k) % base]
    joined = np.ascontiguousarray(digits).view(f"<U{length}").ravel()
    return [prefix + s for s in joined.tolist()]


def token_digests(rng: np.random.Generator, n: int) -> list[str]:
    """SHA-256 hex digests of ``n`` random 32-byte management tokens drawn from ``rng``.

    The tokens themselves are not kept (as in the product, only digests are stored), so demo
    registrations cannot be managed through a link; the digests only make the rows realistic.
    """
    raw = rng.bytes(32 * n)
    return [hashlib.sha256(raw[i : i + 32]).hexdigest() for i in range(0, 32 * n, 32)]
