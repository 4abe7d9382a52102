"""Passwords: hashing (argon2id, argon2-cffi) and the policy a new password must meet.

The policy: at least 12 characters (and at most 128), not one of the 30,000 most common
passwords (the list zxcvbn ships), not a common password with digits or symbols added at the end
(``liverpool2026!``), not mostly one character, not containing the username, and hard to guess:
zxcvbn's strength score at least ``MIN_STRENGTH_SCORE`` (3: about 10^8 guesses or more), with the
username, its parts, the force's name and this service's own words counted as known words
(``Staffordshire1`` is refused). A refusal says why in plain words, from zxcvbn's analysis.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from functools import cache, lru_cache

from argon2 import PasswordHasher, Type, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import Parameters

from dashboard.config import password_hash_profile

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128  # argon2 hashes any length; the cap only stops absurd form posts
MIN_DISTINCT_CHARACTERS = 5
_TRAILING_DIGITS_AND_SYMBOLS = re.compile(r"[\d\W_]+$")
# zxcvbn's score: 0-2 fall to an online or fast offline attack; 3 is "safely unguessable" for a
# slow hash (argon2id here) behind login throttling, about 10^8 guesses or more.
MIN_STRENGTH_SCORE = 3
# Words anyone would try against this service, whatever the force.
SERVICE_WORDS = ("camera", "cameras", "cctv", "registry", "register", "police", "community", "doorbell")
_KEYBOARDS = ("qwerty", "dvorak", "keypad", "mac_keypad")
_NAME_LISTS = ("english_wikipedia", "us_tv_and_film", "surnames", "female_names", "male_names")

# argon2id's parameters per PASSWORD_HASH_PROFILE. "strong", the only one a deployment uses: RFC 9106's
# second recommended option (argon2-cffi's default), 3 passes over 64 MiB in 4 lanes. "test", set by the
# test suite's conftest only: one pass over 1 MiB in one lane (the same hash format, about 1/200 of the
# work), so thousands of test accounts and logins do not cost minutes of CPU. A stored hash carries its
# own parameters, so verifying never depends on the profile.
HASH_PARAMETERS: dict[str, Parameters] = {
    "strong": profiles.RFC_9106_LOW_MEMORY,
    "test": Parameters(
        type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=1024, parallelism=1
    ),
}


@cache
def _hasher_for(profile: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(HASH_PARAMETERS[profile])


def _hasher() -> PasswordHasher:
    return _hasher_for(password_hash_profile())


class PasswordRejected(ValueError):
    """A password that does not meet the policy; the message says which rule and how to fix it."""


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash_for(profile: str) -> str:
    return _hasher_for(profile).hash("not-a-real-password-" + secrets.token_hex(8))


def dummy_hash() -> str:
    """A hash of a random password with the current parameters: checking a password against it costs
    as much as checking a real account's, so timing does not tell which usernames exist."""
    return _dummy_hash_for(password_hash_profile())


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords from leaked-password corpora (zxcvbn's list), lower case."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _known_words(username: str | None, context: Sequence[str]) -> list[str]:
    """The words an attacker would try first: the username and its parts, the force's name (and
    other context) and its parts, and the service's own words."""
    words: list[str] = []
    for text in (username or "", *context):
        text = text.strip().lower()
        if text:
            words.append(text)
            words.extend(part for part in re.split(r"[^a-z0-9]+", text) if len(part) >= 3 and part != text)
    return [*dict.fromkeys([*words, *SERVICE_WORDS])]


def _is_keyboard_run(token: str) -> bool:
    from zxcvbn.matching import spatial_match

    return any(m["token"].lower() == token.lower() and m["graph"] in _KEYBOARDS for m in spatial_match(token))


def _weaknesses(sequence: list[dict], username: str | None, context: Sequence[str]) -> list[str]:
    """zxcvbn's analysis (the parts it found) in plain words, most telling first, without repeats."""
    user_parts = set(_known_words(username, ()))
    context_parts = set(_known_words(None, context)) - set(SERVICE_WORDS)
    found: list[str] = []
    for match in sequence:
        pattern, token = match["pattern"], match["token"]
        if pattern == "spatial" or (pattern == "dictionary" and _is_keyboard_run(token)):
            found.append("a common keyboard pattern")
        elif pattern == "dictionary" and match.get("dictionary_name") == "user_inputs":
            word = match.get("matched_word", token.lower())
            found.append(
                "the username"
                if word in user_parts
                else "the force's name"
                if word in context_parts
                else "a word about this service"
            )
        elif pattern == "dictionary" and match.get("dictionary_name") == "passwords":
            found.append("a commonly used password")
        elif pattern == "dictionary" and match.get("dictionary_name") in _NAME_LISTS and len(token) >= 4:
            found.append("a common word or name")
        elif pattern == "sequence":
            found.append("a sequence like abc or 123")
        elif pattern == "repeat":
            found.append("repeated characters")
        elif pattern in ("date", "regex"):
            found.append("a date or year")
    return [*dict.fromkeys(found)]


def check_strength(password: str, username: str | None = None, context: Sequence[str] = ()) -> None:
    """Raise ``PasswordRejected`` when zxcvbn scores ``password`` below ``MIN_STRENGTH_SCORE``,
    naming what makes it guessable."""
    from zxcvbn import zxcvbn

    result = zxcvbn(password, user_inputs=_known_words(username, context))
    if result["score"] >= MIN_STRENGTH_SCORE:
        return
    found = _weaknesses(result["sequence"], username, context)
    why = ", ".join(found) if found else "too few unpredictable characters"
    raise PasswordRejected(
        f"That password is too easy to guess: {why}; choose something less guessable, such as "
        "three or four unrelated words."
    )


def check_password(password: str, username: str | None = None, context: Sequence[str] = ()) -> None:
    """Raise ``PasswordRejected`` unless ``password`` meets the policy. ``context``: other words
    an attacker would try, such as the force's name.

    >>> check_password("correct-horse-battery")
    >>> check_password("password2026!")
    Traceback (most recent call last):
    ...
    dashboard.security.passwords.PasswordRejected: That password is a common password ('password') with digits or symbols added; choose something less guessable, such as three or four unrelated words.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        n = len(password) if isinstance(password, str) else 0
        raise PasswordRejected(f"That password is too short ({n} characters); use at least {MIN_PASSWORD_LENGTH}.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(
            f"That password is too long ({len(password)} characters); use at most {MAX_PASSWORD_LENGTH}."
        )
    lowered = password.lower()
    advice = "choose something less guessable, such as three or four unrelated words."
    if lowered in common_passwords():
        raise PasswordRejected(f"That password is on a list of commonly used passwords; {advice}")
    base = _TRAILING_DIGITS_AND_SYMBOLS.sub("", lowered)
    if base != lowered and len(base) >= 4 and base in common_passwords():
        raise PasswordRejected(f"That password is a common password ({base!r}) with digits or symbols added; {advice}")
    if len(set(lowered)) < MIN_DISTINCT_CHARACTERS:
        raise PasswordRejected(
            f"That password repeats too few characters (fewer than {MIN_DISTINCT_CHARACTERS} different ones); {advice}"
        )
    if username and len(username) >= 3 and username.lower() in lowered:
        raise PasswordRejected("That password contains the username; choose one that does not.")
    check_strength(password, username, context)


def generated_password() -> str:
    """A random password that meets the policy (about 119 bits), for an administrator to pass on."""
    while True:
        candidate = "-".join(secrets.token_urlsafe(6) for _ in range(3))
        try:
            check_password(candidate)
            return candidate
        except PasswordRejected:  # vanishingly rare (e.g. too few distinct characters)
            continue
