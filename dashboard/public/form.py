"""The registration form's fields: from a posted form to the API's payload, and back.

No Flask here: ``get``/``getlist`` are the posted form's accessors, so the rules are tested
without a server. Field ids are the API field names, with camera ``i``'s fields as
``cam-<i>-<name>`` (the API's ``cameras.<i>.<name>``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from dashboard.registry.registration import MAX_CAMERAS
from dashboard.core.vocab import CAMERA_KINDS, CONTACT_CHANNELS, MOUNTS, OVERLOOKS, SITE_KINDS

COMPASS = [("N", 0), ("NE", 45), ("E", 90), ("SE", 135), ("S", 180), ("SW", 225), ("W", 270), ("NW", 315)]
COMPASS_NAMES = {"N": "North", "NE": "North-east", "E": "East", "SE": "South-east", "S": "South",
                 "SW": "South-west", "W": "West", "NW": "North-west"}
CAMERA_FIELDS = ("id", "kind", "placement", "mount", "direction_deg", "overlooks", "recording_mode", "retention_days")
TOP_FIELDS = ("name", "email", "phone", "preferred_channel", "site_kind", "address", "postcode", "lat", "lon", "consent")
CHOICES = {"preferred_channel": CONTACT_CHANNELS, "site_kind": SITE_KINDS, "kind": CAMERA_KINDS, "mount": MOUNTS,
           "overlooks": OVERLOOKS}


@dataclass
class FormState:
    """What the page shows: the values as typed, one dict per camera, and messages by field id."""

    values: dict[str, object] = field(default_factory=dict)
    cameras: list[dict[str, object]] = field(default_factory=lambda: [{}])
    errors: dict[str, str] = field(default_factory=dict)

    def error_list(self) -> list[tuple[str, str]]:
        return list(self.errors.items())


def _text(value: str | None) -> str:
    return (value or "").strip()


def _number_or_text(value: str | None):
    """'' -> None; '12' -> 12; anything else stays text so the rules can say what is wrong."""
    text = _text(value)
    if text == "":
        return None
    if re.fullmatch(r"-?\d{1,9}", text):
        return int(text)
    if re.fullmatch(r"-?\d{1,3}\.\d{1,12}", text):
        return float(text)
    return text


def camera_count(get: Callable[[str], str | None]) -> int:
    raw = _text(get("camera_count"))
    return max(1, min(int(raw), MAX_CAMERAS)) if raw.isdigit() else 1


def read_form(get: Callable[[str], str | None], getlist: Callable[[str], list[str]]) -> FormState:
    """The posted form as typed (for showing it again)."""
    state = FormState(values={name: _text(get(name)) for name in TOP_FIELDS if name != "consent"})
    state.values["consent"] = get("consent") == "yes"
    state.cameras = []
    for i in range(camera_count(get)):
        cam = {name: _text(get(f"cam-{i}-{name}")) for name in CAMERA_FIELDS if name != "overlooks"}
        cam["overlooks"] = [v for v in getlist(f"cam-{i}-overlooks") if v]
        cam["compass"] = _text(get(f"cam-{i}-compass"))
        state.cameras.append(cam)
    return state


def payload(state: FormState) -> tuple[dict, list[int | None]]:
    """The API payload for ``state`` and the existing camera id of each camera (None: new)."""
    v = state.values
    # Blank optional contacts are None; blank required fields stay "" so the rules name them.
    body: dict[str, object] = {name: v.get(name) or None for name in ("email", "phone")}
    body |= {name: v.get(name) or "" for name in ("name", "preferred_channel", "site_kind", "address", "postcode")}
    body["lat"], body["lon"] = _number_or_text(v.get("lat")), _number_or_text(v.get("lon"))
    body["consent"] = bool(v.get("consent"))
    cams, ids = [], []
    for cam in state.cameras:
        direction = _number_or_text(cam.get("direction_deg"))
        if direction is None and cam.get("compass") in dict(COMPASS):
            direction = dict(COMPASS)[cam["compass"]]
        cams.append({
            "kind": cam.get("kind") or "", "placement": cam.get("placement") or "",
            "mount": cam.get("mount") or None, "direction_deg": direction, "overlooks": list(cam.get("overlooks") or []),
            "recording_mode": cam.get("recording_mode") or "", "retention_days": _number_or_text(cam.get("retention_days")),
        })
        raw_id = str(cam.get("id") or "")
        ids.append(int(raw_id) if raw_id.isdigit() else None)
    body["cameras"] = cams
    return body, ids


def field_id(api_field: str) -> str:
    """``cameras.2.direction_deg`` -> ``cam-2-direction_deg``; ``cameras`` stays ``cameras``."""
    match = re.fullmatch(r"cameras\.(\d+)\.([a-z_]+)(?:\.\d+)?", api_field)
    return f"cam-{match.group(1)}-{match.group(2)}" if match else api_field.split(".")[0]


# Plain words for the form where the shared rules' message is generic (missing, too short, not
# one of the choices, not a number). Rules with their own message (postcode, phone...) keep it.
_PLAIN = {
    "name": "Enter your full name.",
    "preferred_channel": "Choose how the police should contact you.",
    "site_kind": "Choose whether this is a home, a business or something else.",
    "address": "Enter the house number or name, and the street.",
    "postcode": "Enter the postcode of the site.",
    "kind": "Choose the kind of camera {n}.",
    "placement": "Say whether camera {n} is outdoors or indoors.",
    "recording_mode": "Say when camera {n} records.",
    "direction_deg": "Enter camera {n}'s bearing as a whole number from 0 to 359, or leave it empty.",
    "retention_days": "Enter how many days camera {n} keeps footage, a whole number from 0 to 365, or leave it empty.",
    "mount": "Choose what camera {n} is fixed to, or 'Not sure'.",
    "overlooks": "Choose what camera {n} overlooks from the list.",
}
_GENERIC = ("Give at least", "Choose one of", "This is required", "Enter a whole number", "Enter a number",
            "Must be at least", "Must be at most", "Input should", "Enter text", "Keep it under")


def _plain(fid: str, message: str) -> str:
    if not message.startswith(_GENERIC):
        return message
    match = re.fullmatch(r"cam-(\d+)-([a-z_]+)", fid)
    key, n = (match.group(2), int(match.group(1)) + 1) if match else (fid, 0)
    if key in ("name", "address") and message.startswith("Keep it under"):
        return message
    return _PLAIN.get(key, message).format(n=n)


def attach_errors(state: FormState, errors: list[dict]) -> None:
    for err in errors:
        fid = field_id(err["field"])
        state.errors.setdefault(fid, _plain(fid, err["message"]))


def state_from_registrant(registrant) -> FormState:
    """The management page's form, filled from the stored registration (active cameras only)."""
    site = registrant.site
    state = FormState(values={
        "name": registrant.name or "", "email": registrant.email or "", "phone": registrant.phone or "",
        "preferred_channel": registrant.preferred_channel or "", "site_kind": site.kind, "address": site.address or "",
        "postcode": site.postcode or "", "lat": f"{site.lat:.6f}" if site.lat is not None else "",
        "lon": f"{site.lon:.6f}" if site.lon is not None else "", "consent": True,
    })
    state.cameras = [{
        "id": str(c.id), "kind": c.kind, "placement": c.placement, "mount": c.mount or "",
        "direction_deg": "" if c.direction_deg is None else str(c.direction_deg), "compass": "",
        "overlooks": [o for o in (c.overlooks or "").split(",") if o], "recording_mode": c.recording_mode,
        "retention_days": "" if c.retention_days is None else str(c.retention_days),
    } for c in sorted(site.cameras, key=lambda c: c.id) if c.active] or [{}]
    return state
