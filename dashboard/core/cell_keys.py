"""The record key every registration (and every other counted record) carries for the
disclosure-control layer (``dashboard.analytics.disclosure``): a random number 0..255 whose sum
modulo ``KEY_RANGE`` over a cell's records is that cell's key. Here so that the registry, which
stores the keys, need not import the analytics that use them."""

from __future__ import annotations

import secrets

KEY_RANGE = 256


def new_record_key() -> int:
    """A fresh random record key, 0..255, from the operating system's secure generator."""
    return secrets.randbelow(KEY_RANGE)
