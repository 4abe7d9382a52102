"""Passwords: hashing (argon2id, argon2-cffi) and the policy a new password must meet.

The policy: at least 12 characters (and at most 128), not one of the 30,000 most common
passwords (the list zxcvbn ships), not a common password with digits or symbols added at the end
(``liverpool2026!``), not mostly one character, and not containing the username.
"""
from __future__ import annotations

import re
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128  # argon2 hashes any length; the cap only stops absurd form posts
MIN_DISTINCT_CHARACTERS = 5
_TRAILING_DIGITS_AND_SYMBOLS = re.compile(r"[\d\W_]+$")

_hasher = PasswordHasher()


class PasswordRejected(ValueError):
    """A password that does not meet the policy; the message says which rule and how to fix it."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords from leaked-password corpora (zxcvbn's list), lower case."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password(password: str, username: str | None = None) -> None:
    """Raise ``PasswordRejected`` unless ``password`` meets the policy.

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
        raise PasswordRejected(f"That password is too long ({len(password)} characters); use at most "
                               f"{MAX_PASSWORD_LENGTH}.")
    lowered = password.lower()
    advice = "choose something less guessable, such as three or four unrelated words."
    if lowered in common_passwords():
        raise PasswordRejected(f"That password is on a list of commonly used passwords; {advice}")
    base = _TRAILING_DIGITS_AND_SYMBOLS.sub("", lowered)
    if base != lowered and len(base) >= 4 and base in common_passwords():
        raise PasswordRejected(f"That password is a common password ({base!r}) with digits or symbols added; {advice}")
    if len(set(lowered)) < MIN_DISTINCT_CHARACTERS:
        raise PasswordRejected(f"That password repeats too few characters (fewer than {MIN_DISTINCT_CHARACTERS} "
                               f"different ones); {advice}")
    if username and len(username) >= 3 and username.lower() in lowered:
        raise PasswordRejected("That password contains the username; choose one that does not.")


def generated_password() -> str:
    """A random password that meets the policy (about 119 bits), for an administrator to pass on."""
    while True:
        candidate = "-".join(secrets.token_urlsafe(6) for _ in range(3))
        try:
            check_password(candidate)
            return candidate
        except PasswordRejected:  # vanishingly rare (e.g. too few distinct characters)
            continue
