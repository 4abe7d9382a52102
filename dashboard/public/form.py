"""The registration form's fields: from a posted form to the API's payload, and back.

No Flask here: ``get``/``getlist`` are the posted form's accessors, so the rules are tested
without a server. Field ids are the API field names, with camera ``i``'s fields as
``cam-<i>-<name>`` (the API's ``cameras.<i>.<name>``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dashboard.core.vocab import CAMERA_KINDS, CONTACT_CHANNELS, MOUNTS, OVERLOOKS, SITE_KINDS
from dashboard.registry.registration import MAX_CAMERAS

COMPASS = [("N", 0), ("NE", 45), ("E", 90), ("SE", 135), ("S", 180), ("SW", 225), ("W", 270), ("NW", 315)]
COMPASS_NAMES = {
    "N": "North",
    "NE": "North-east",
    "E": "East",
    "SE": "South-east",
    "S": "South",
    "SW": "South-west",
    "W": "West",
    "NW": "North-west",
}
CAMERA_FIELDS = ("id", "kind", "placement", "mount", "direction_deg", "overlooks", "recording_mode", "retention_days")
TOP_FIELDS = (
    "name",
    "email",
    "phone",
    "preferred_channel",
    "site_kind",
    "address",
    "postcode",
    "lat",
    "lon",
    "consent",
)
CHOICES = {
    "preferred_channel": CONTACT_CHANNELS,
    "site_kind": SITE_KINDS,
    "kind": CAMERA_KINDS,
    "mount": MOUNTS,
    "overlooks": OVERLOOKS,
}


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
        cams.append(
            {
                "kind": cam.get("kind") or "",
                "placement": cam.get("placement") or "",
                "mount": cam.get("mount") or None,
                "direction_deg": direction,
                "overlooks": list(cam.get("overlooks") or []),
                "recording_mode": cam.get("recording_mode") or "",
                "retention_days": _number_or_text(cam.get("retention_days")),
            }
        )
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
    "email": "Enter an email address like name@example.com.",
    "phone": "Enter a UK phone number, like 07700 900123.",
    "lat": "The pin's position was not understood: show your postcode on the map again and move the pin.",
    "lon": "The pin's position was not understood: show your postcode on the map again and move the pin.",
    "preferred_channel": "Choose how the police should contact you.",
    "site_kind": "Choose whether this is a home, a business or something else.",
    "address": "Enter the house number or name, and the street.",
    "postcode": "Enter the postcode of the site, like {example}.",
    "kind": "Choose the kind of camera {n}.",
    "placement": "Say whether camera {n} is outdoors or indoors.",
    "recording_mode": "Say when camera {n} records.",
    "direction_deg": "Enter camera {n}'s bearing as a whole number from 0 to 359, or leave it empty.",
    "retention_days": "Enter how many days camera {n} keeps footage, a whole number from 0 to 365, or leave it empty.",
    "mount": "Choose what camera {n} is fixed to, or 'Not sure'.",
    "overlooks": "Choose what camera {n} overlooks from the list.",
}
# Messages written by pydantic or its helpers (email-validator) rather than by the register's rules.
_GENERIC = (
    "Give at least",
    "Give at most",
    "Choose one of",
    "This is required",
    "Enter a whole number",
    "Enter a number",
    "Must be at least",
    "Must be at most",
    "Input should",
    "Enter text",
    "Keep it under",
    "Enter a list",
    "Enter true or false",
    "This field is not expected",
    "value is not",
    "Value error",
    "is not valid",
)
# A message still looks technical when it has any of these (a test walks every field for them).
TECHNICAL = (
    "value is not",
    "Input should",
    "type=",
    "[",
    "]",
    "Value error",
    "pydantic",
    "literal",
    "dict",
    "@-sign",
    "Traceback",
    "None",
)


def example_postcode(reference) -> str:
    """A real postcode of the force's area, for "like ..." hints (nothing here names one force)."""
    postcodes = reference.postcodes["postcode"]
    return str(postcodes.iloc[len(postcodes) // 2])


def _plain(fid: str, message: str, example: str = "AB1 2CD") -> str:
    match = re.fullmatch(r"cam-(\d+)-([a-z_]+)", fid)
    key, n = (match.group(2), int(match.group(1)) + 1) if match else (fid, 0)
    if not message.startswith(_GENERIC) and not any(bit in message for bit in TECHNICAL):
        return message
    if key in ("name", "address") and message.startswith("Keep it under"):
        return message
    return _PLAIN.get(key, "Check this answer and try again.").format(n=n, example=example)


def attach_errors(state: FormState, errors: list[dict], example: str = "AB1 2CD") -> None:
    for err in errors:
        fid = field_id(err["field"])
        state.errors.setdefault(fid, _plain(fid, err["message"], example))


# Stand-ins for answers that failed their own rule, so that the rules joining fields can still be
# checked in the same submit (every problem at once); none of them can cause a problem of its own.
_STAND_INS = {
    "name": "Stand In",
    "address": "1 Stand-in Road",
    "site_kind": next(iter(SITE_KINDS)),
    "consent": True,
    "email": "stand.in@example.org",
    "phone": "07700 900000",
}
_STAND_IN_CAMERA = {"kind": next(iter(CAMERA_KINDS)), "placement": "outdoor", "recording_mode": "motion"}


def validate(state: FormState, reference, model, *, context_key: str, field_errors: Callable[[Exception], list[dict]]):
    """Validate the form with ``model`` (RegistrationIn); on failure, every problem of every field
    goes into ``state.errors`` at once, those of the rules joining fields included (``field_errors``
    turns pydantic's errors into ``{"field", "message"}``, as the API reports them). Returns
    (model instance or None, the existing camera id of each camera)."""
    from pydantic import ValidationError

    body, ids = payload(state)
    example = example_postcode(reference)
    try:
        return model.model_validate(body, context={"reference": reference}), ids
    except ValidationError as exc:
        attach_errors(state, field_errors(exc), example)
    failed = set(state.errors)
    stand_in = dict(body, cameras=[_STAND_IN_CAMERA])
    for name, value in _STAND_INS.items():
        if name in failed:
            stand_in[name] = value
    if "postcode" in failed or "lat" in failed or "lon" in failed:
        stand_in["lat"] = stand_in["lon"] = None
        if "postcode" in failed:
            stand_in["postcode"] = example
    if "preferred_channel" in failed:
        stand_in["preferred_channel"] = "email" if stand_in.get("email") else "phone"
    try:
        whole = model.model_validate(stand_in, context={"reference": reference, context_key: True})
    except ValidationError:
        return None, ids  # a problem the stand-ins did not cover: the fields' own problems are listed
    for fid, message in whole.cross_field_problems(reference):
        if fid not in failed and not ({"lat", "lon"} & failed and fid in ("lat", "lon")):
            state.errors.setdefault(fid, message)
    state.errors = dict(sorted(state.errors.items(), key=lambda item: _page_order(item[0])))
    return None, ids


def _page_order(fid: str) -> tuple[int, int, int]:
    """Where a field is on the page, so the error summary lists problems top to bottom."""
    match = re.fullmatch(r"cam-(\d+)-([a-z_]+)", fid)
    if match:
        return (2, int(match.group(1)), CAMERA_FIELDS.index(match.group(2)) if match.group(2) in CAMERA_FIELDS else 99)
    top = ("form",) + TOP_FIELDS[:-1]
    if fid in top:
        return (0, top.index(fid), 0)
    return (1, 0, 0) if fid == "cameras" else (3, 0, 0)


def state_from_registrant(registrant) -> FormState:
    """The management page's form, filled from the stored registration (active cameras only)."""
    site = registrant.site
    state = FormState(
        values={
            "name": registrant.name or "",
            "email": registrant.email or "",
            "phone": registrant.phone or "",
            "preferred_channel": registrant.preferred_channel or "",
            "site_kind": site.kind,
            "address": site.address or "",
            "postcode": site.postcode or "",
            "lat": f"{site.lat:.6f}" if site.lat is not None else "",
            "lon": f"{site.lon:.6f}" if site.lon is not None else "",
            "consent": True,
        }
    )
    state.cameras = [
        {
            "id": str(c.id),
            "kind": c.kind,
            "placement": c.placement,
            "mount": c.mount or "",
            "direction_deg": "" if c.direction_deg is None else str(c.direction_deg),
            "compass": "",
            "overlooks": [o for o in (c.overlooks or "").split(",") if o],
            "recording_mode": c.recording_mode,
            "retention_days": "" if c.retention_days is None else str(c.retention_days),
        }
        for c in sorted(site.cameras, key=lambda c: c.id)
        if c.active
    ] or [{}]
    return state
