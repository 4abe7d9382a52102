"""How a camera and a time are put into words for its owner: the same in the messages sent to them
(``delivery/messages.py``) and on their response page (``footage/responses.py``). A camera is named
by what it is, never where it is; times are UK time (GMT or BST as it was on the day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dashboard.core.uktime import UK
from dashboard.core.vocab import PLACEMENTS

_KIND_WORDS = {
    "doorbell": "doorbell camera",
    "fixed": "CCTV camera",
    "dome": "dome camera",
    "ptz": "pan-tilt-zoom camera",
}
_COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


@dataclass(frozen=True)
class OwnerCamera:
    kind: str | None
    placement: str | None = None
    direction_deg: int | None = None


def uk_datetime(value: dt.datetime) -> str:
    """'Tuesday 1 December 2026, 21:30' in UK time (GMT or BST as it was on the day)."""
    local = value.astimezone(UK)
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}"


def uk_window(start: dt.datetime, end: dt.datetime) -> str:
    """'Tuesday 1 December 2026, 21:30 to 22:15', or with both dates when it crosses midnight (UK time).

    >>> t = dt.datetime(2026, 12, 1, 21, 30, tzinfo=dt.timezone.utc)
    >>> uk_window(t, t + dt.timedelta(minutes=45))
    'Tuesday 1 December 2026, 21:30 to 22:15'
    """
    a, b = start.astimezone(UK), end.astimezone(UK)
    if a.date() == b.date():
        return f"{uk_datetime(a)} to {b:%H:%M}"
    return f"{uk_datetime(a)} to {uk_datetime(b)}"


def camera_words(camera: OwnerCamera) -> str:
    """'doorbell camera (outdoor, facing east)': what it is, never where."""
    name = _KIND_WORDS.get(camera.kind or "", "camera")
    extra = []
    if camera.placement in PLACEMENTS:
        extra.append(PLACEMENTS[camera.placement].lower())
    if camera.direction_deg is not None:
        extra.append("facing " + _COMPASS[round(camera.direction_deg / 45) % 8])
    return name + (f" ({', '.join(extra)})" if extra else "")
