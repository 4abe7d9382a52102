"""Controlled vocabularies of the registry and the field-of-view defaults per camera kind.

Codes are what the database stores; labels are what people read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ROLES = ("officer", "analyst", "lead", "auditor", "admin")
ROLE_LABELS = {
    "officer": "Officer",
    "analyst": "Analyst",
    "lead": "Project lead",
    "auditor": "Auditor",
    "admin": "Administrator",
}

CONTACT_CHANNELS = {"email": "Email", "phone": "Phone call", "text": "Text message"}
SITE_KINDS = {"home": "Home", "business": "Business", "other": "Other"}

CAMERA_KINDS = {
    "doorbell": "Doorbell camera",
    "fixed": "Fixed CCTV",
    "dome": "Dome camera",
    "ptz": "Pan-tilt-zoom",
    "other": "Other",
}
# The coverage map's one camera filter (at most one at a time): choice -> what it keeps. The
# register's cell summary (registry.summaries) keeps one row per choice and cell; the page's labels
# are analytics.coverage.CAMERA_CHOICES.
CAMERA_FILTERS: dict[str, dict] = {
    "all": {},
    **{f"kind:{code}": {"kind": code} for code in CAMERA_KINDS},
    "placement:outdoor": {"placement": "outdoor"},
    "placement:indoor": {"placement": "indoor"},
    "direction:known": {"direction_known": True},
    "direction:unknown": {"direction_known": False},
}
MOUNTS = {
    "door": "Door or door frame",
    "wall": "Wall",
    "eaves": "Eaves or soffit",
    "window": "Window",
    "pole": "Pole or post",
    "ceiling": "Ceiling",
    "other": "Other",
}
PLACEMENTS = {"outdoor": "Outdoor", "indoor": "Indoor"}
OVERLOOKS = {
    "street": "Street",
    "driveway": "Driveway",
    "garden": "Garden",
    "shop_front": "Shop front",
    "car_park": "Car park",
}

REQUEST_STATUSES = {
    "sent": "Sent",
    "footage_provided": "Footage provided",
    "no_relevant_footage": "No relevant footage",
    "declined": "Declined",
    "no_response": "No response",
    "withdrawn": "Withdrawn",
}

# Why an officer declined an uploaded file (issue 17): a fixed list, so the reasons can be counted.
DECLINE_REASONS = {
    "not_relevant": "Does not show anything relevant",
    "outside_window": "Outside the time asked for",
    "poor_quality": "Too poor to use",
    "duplicate": "A copy of another file",
    "unplayable": "Cannot be played or opened",
    "other": "Another reason (say which)",
}

MAX_RETENTION_DAYS = 365
# The headline's recent registrations: those of the last RECENT_DAYS whole UK days, today included.
RECENT_DAYS = 7


@dataclass(frozen=True)
class FieldOfView:
    angle_deg: float
    range_m: float


# Typical horizontal field of view and useful recording range per kind, used when the owner
# does not say. Doorbells are wide and short; fixed bullet cameras narrower and longer; a
# pan-tilt-zoom camera can point anywhere, so it is treated as seeing all round.
DEFAULT_FOV = {
    "doorbell": FieldOfView(160.0, 10.0),
    "fixed": FieldOfView(90.0, 25.0),
    "dome": FieldOfView(100.0, 15.0),
    "ptz": FieldOfView(360.0, 40.0),
    "other": FieldOfView(90.0, 10.0),
}


def effective_fov(kind: str, angle_deg: float | None, range_m: float | None) -> FieldOfView:
    """Field of view of a camera: the owner's values where given, the kind's defaults otherwise.

    >>> effective_fov("doorbell", None, 6.0)
    FieldOfView(angle_deg=160.0, range_m=6.0)
    """
    default = DEFAULT_FOV.get(kind, DEFAULT_FOV["other"])
    return FieldOfView(
        angle_deg=float(angle_deg) if angle_deg is not None else default.angle_deg,
        range_m=float(range_m) if range_m is not None else default.range_m,
    )


def join_codes(codes: list[str] | tuple[str, ...] | set[str], allowed: dict[str, str]) -> str:
    """Store a set of vocabulary codes as one sorted, comma-joined string.

    >>> join_codes(["street", "driveway"], OVERLOOKS)
    'driveway,street'
    """
    unknown = sorted(set(codes) - set(allowed))
    if unknown:
        raise ValueError(f"unknown code(s) {unknown}; expected some of {sorted(allowed)}")
    return ",".join(sorted(set(codes)))


CAMPAIGN_CHANNELS = {
    "internal_message": "Internal message",
    "poster": "Poster",
    "social_media": "Social media",
    "leaflet": "Leaflet",
    "press": "Press",
    "other": "Other",
}


# How long owners keep footage, in the classes the project lead's figures count.
RETENTION_BUCKETS = [
    (0, 7, "up to 7 days"),
    (8, 14, "8 to 14 days"),
    (15, 30, "15 to 30 days"),
    (31, 10_000, "more than 30 days"),
]
NOT_GIVEN = "not given"
RETENTION_LABELS = [label for _, _, label in RETENTION_BUCKETS] + [NOT_GIVEN]


def retention_buckets(days: pd.Series) -> np.ndarray:
    """The retention class of every number of days (NaN: not given).

    >>> retention_buckets(pd.Series([0, 7, 8, 30, 31, None], dtype="float64")).tolist()
    ['up to 7 days', 'up to 7 days', '8 to 14 days', '15 to 30 days', 'more than 30 days', 'not given']
    """
    values = days.to_numpy(dtype="float64")
    conditions = [(values >= low) & (values <= high) for low, high, _ in RETENTION_BUCKETS]
    return np.select(conditions, [label for _, _, label in RETENTION_BUCKETS], default=NOT_GIVEN).astype(object)


# The distances the gap analysis offers between a crime and a registered camera, in metres.
GAP_RADII_M = (50, 100, 200, 500)
# The distances the coverage area table offers between a postcode and a registered camera, in metres.
POSTCODE_RADII_M = (50, 100, 200)
# A search lists at most this many cameras, best chances first; the rest within the radius are
# counted, not listed. More than anyone can review (a footage request takes 50), and rarely reached
# with the default 200 m at the full demo's density (about 1M cameras in the force: 1 search in 25). It bounds the answer where
# cameras are dense or the radius wide: a 1 km search in a town finds thousands. What the officer
# is not shown is not logged as found, so it cannot be revealed or requested from that search.
MOST_LISTED = 1_000
