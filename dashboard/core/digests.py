"""The digest under which a secret token is stored (the one definition): management links, owners'
response links, API tokens and login session ids are kept only as the SHA-256 of the token, so a copy
of the database opens nothing."""

from __future__ import annotations

import hashlib


def token_digest(token: str) -> str:
    """SHA-256, hex, of the token's UTF-8 bytes.

    >>> token_digest("abc")
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
