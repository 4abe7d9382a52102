"""The audit row's canonical form and its hash: the one definition that the audit writer and checker
(``dashboard.registry.audit``) and the demo's bulk writer (``dashboard.demo.audit_history``) share, so
that a log written by either verifies with the same code.

A row's hash is an HMAC-SHA-256 under the chain key (plain SHA-256 for rows written before the log was
keyed) of ``prev_hash + "|" + text``, where ``text`` is the canonical JSON of the row's nine fields:
sorted keys, no spaces, UTF-8 kept, ``occurred_at`` as UTC ISO 8601 with microseconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

GENESIS_HASH = "0" * 64
FIELDS = ("occurred_at", "user_id", "username", "role", "action", "case_ref", "reason", "subject_ids", "detail")

# The canonical JSON of a row's fields (and of its detail): sorted keys, no spaces, UTF-8 kept.
canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode

_STR = json.encoder.encode_basestring  # json's own string encoder when ensure_ascii is off (as canonical_json)
# The canonical JSON of the nine fields, keys in sorted order, filled with values already in JSON form.
_ROW = (
    '{{"action":{},"case_ref":{},"detail":{},"occurred_at":"{}","reason":{},"role":{},"subject_ids":{},'
    '"user_id":{},"username":{}}}'
).format


def time_text(when: dt.datetime) -> str:
    """``occurred_at`` as it is hashed: UTC, ISO 8601, microseconds.

    >>> time_text(dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    '2026-07-01T09:00:00.000000+00:00'
    """
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds")


def row_fields(row: dict) -> dict:
    """The hashed content of a row given as column values (``occurred_at`` an aware datetime)."""
    return {name: time_text(row[name]) if name == "occurred_at" else row[name] for name in FIELDS}


def json_text(value: str | None) -> str:
    """A text field (or None) as ``canonical_json`` writes it."""
    return "null" if value is None else _STR(value)


def encoded_row(
    occurred_at: str,
    user_id: str,
    username: str,
    role: str,
    action: str,
    case_ref: str,
    reason: str,
    subject_ids: str,
    detail: str,
) -> str:
    """The canonical text of a row from its fields already in JSON form (texts through :func:`json_text`,
    ``user_id`` as digits or ``null``; ``occurred_at`` as :func:`time_text` gives it, unquoted): for
    writers of many rows, which encode each distinct value once."""
    return _ROW(action, case_ref, detail, occurred_at, reason, role, subject_ids, user_id, username)


def canonical_row(occurred_at: str, user_id, username, role, action, case_ref, reason, subject_ids, detail) -> str:
    """The row's fields as ``canonical_json`` writes them, built directly rather than through a dict.

    >>> fields = dict(occurred_at="2026-07-01T09:00:00.000000+00:00", user_id=3, username="Zoë \\"O\\"",
    ...               role=None, action="search", case_ref="AB/1", reason="é\\n", subject_ids='["1"]', detail=None)
    >>> canonical_row(**fields) == canonical_json(fields)
    True
    """
    return encoded_row(
        occurred_at,
        "null" if user_id is None else str(int(user_id)),
        json_text(username),
        json_text(role),
        json_text(action),
        json_text(case_ref),
        json_text(reason),
        json_text(subject_ids),
        json_text(detail),
    )


def chain_hash(prev_hash: str, text: str, key: bytes | None = None) -> str:
    """The hash of a row whose canonical text is ``text``, chained to ``prev_hash``: HMAC-SHA-256 under
    ``key``; without a key, the plain SHA-256 that rows written before the log was keyed carry."""
    message = (prev_hash + "|" + text).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.digest(key, message, "sha256").hex()


def row_digest(prev_hash: str, fields: dict, key: bytes | None = None) -> str:
    """:func:`chain_hash` of the canonical JSON of ``fields``."""
    return chain_hash(prev_hash, canonical_json(fields), key)
