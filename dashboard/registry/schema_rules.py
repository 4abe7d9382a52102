"""Names of columns the registry must never have (promises 1 and 3 of DESIGN.md).

Used by the schema tests against the migrated databases, and by ``python -m dashboard check``.
A column is judged by the words of its name (split on ``_``) and by a few stems.
"""

from __future__ import annotations

import re

# Promise 3: nothing records or lets one derive a registrant's link to the police.
POLICE_LINK_WORDS = {
    "employer",
    "employee",
    "employment",
    "employed",
    "staff",
    "cohort",
    "police",
    "officer",
    "workplace",
    "occupation",
    "job",
    "warrant",
    "collar",
    "department",
    "pilot",
    "campaign",
}
POLICE_LINK_STEMS = ("employ", "staff", "cohort", "occupation", "workplace")

# Promise 1: no way in to a camera: no stream address, network address or credential.
CAMERA_ACCESS_WORDS = {
    "url",
    "uri",
    "stream",
    "rtsp",
    "rtmp",
    "hls",
    "onvif",
    "ip",
    "ipv4",
    "ipv6",
    "host",
    "hostname",
    "port",
    "mac",
    "credential",
    "credentials",
    "password",
    "passcode",
    "passphrase",
    "pin",
    "secret",
    "login",
    "username",
    "user",
    "apikey",
    "key",
    "token",
    "feed",
    "live",
    "endpoint",
}
CAMERA_ACCESS_STEMS = ("stream", "rtsp", "credential", "password", "passw", "ipaddr", "ip_addr", "url")

# Staff accounts of the dashboard legitimately have a login; campaigns are aggregate-only tables.
ALLOWED = {
    ("app_user", "username"),
    ("app_user", "password_hash"),
    ("app_user", "last_login_at"),
    ("registrant", "management_token_hash"),  # the registrant's own self-service link, hashed
    ("footage_response", "token_hash"),  # the owner's response link for a footage request, hashed
    ("evidence_file", "upload_key"),  # the random id of the owner's own upload (the tus upload's URL)
    ("api_token", "token_hash"),
    ("api_token", "user_id"),
    ("login_session", "user_id"),  # a staff member's login session
    ("footage_request_event", "by_user_id"),
    ("audit_event", "user_id"),
    ("case_member", "user_id"),  # an officer on a case's team
    ("audit_event", "username"),
    ("campaign", "id"),
    ("campaign", "slug"),
    ("campaign", "name"),
    ("campaign", "channel"),
    ("campaign", "created_at"),
    ("campaign_daily_count", "campaign_id"),
}
# The disclosure-control layer's record keys: random whole numbers 0-255 (integer columns, which
# cannot hold an address or a credential; the schema test checks their type).
RECORD_KEY_COLUMNS = {
    ("registrant", "record_key"),
    ("camera", "record_key"),
    ("footage_request", "record_key"),
    ("crime", "record_key"),
    ("evidence_file", "record_key"),
    ("campaign_daily_count", "completion_keys"),
    ("retired_key", "key_sum"),
    # sums of record keys kept with the register's summary counts (registry.summaries; % 256 when read)
    ("coverage_cell", "registrations_key"),
    ("coverage_cell", "cameras_key"),
    ("register_count", "registrations_key"),
    ("register_count", "cameras_key"),
    ("uptake_day", "registrations_key"),
    ("uptake_day", "cameras_key"),
    ("register_mix", "registrations_key"),
    ("register_mix", "cameras_key"),
    ("gap_reach", "registrations_key"),
    ("postcode_reach", "registrations_key"),
    ("area_view", "registrations_key"),
}
ALLOWED |= RECORD_KEY_COLUMNS
# Tables that describe users of the dashboard, not registrants: exempt from the police-link rule
# (a footage request is made by an officer; that says nothing about any registrant).
STAFF_TABLES = {
    "app_user",
    "api_token",
    "login_session",
    "footage_request",
    "footage_request_event",
    "audit_event",
    "case_file",
    "case_member",
}


def _words(name: str) -> set[str]:
    return {w for w in re.split(r"[_\W]+", name.lower()) if w}


def forbidden_columns(columns: list[tuple[str, str]]) -> list[str]:
    """Explain each (table, column) that breaks promise 1 or 3; an empty list means none.

    >>> forbidden_columns([("camera", "stream_url"), ("registrant", "employer"), ("camera", "kind")])
    ['camera.stream_url: could hold camera access (stream, url)', 'registrant.employer: could show a link to the police (employer)']
    """
    problems = []
    for table, column in columns:
        if (table, column) in ALLOWED:
            continue
        words = _words(column)
        lowered = column.lower()
        access = sorted((words & CAMERA_ACCESS_WORDS) | {s for s in CAMERA_ACCESS_STEMS if s in lowered})
        if access:
            problems.append(f"{table}.{column}: could hold camera access ({', '.join(access)})")
            continue
        if table in STAFF_TABLES:
            continue
        link = words & POLICE_LINK_WORDS or {s for s in POLICE_LINK_STEMS if s in lowered}
        if link:
            problems.append(f"{table}.{column}: could show a link to the police ({', '.join(sorted(link))})")
    return problems
