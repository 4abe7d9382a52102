"""Demo cameras: how many each site has and what they are, as vectorised columns.

Homes mostly have a doorbell camera (often just that); businesses have more cameras, mostly
fixed and dome CCTV on local recorders. Overall shares aim at doorbell ~55%, fixed ~22%,
dome ~12%, PTZ ~4%, other ~7%, and about 1.6 cameras per registration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.core.vocab import DEFAULT_FOV, OVERLOOKS, join_codes

KINDS = ("doorbell", "fixed", "dome", "ptz", "other")
MOUNT_CODES = ("door", "wall", "eaves", "window", "pole", "ceiling", "other")
OVERLOOK_BITS = ("street", "driveway", "garden", "shop_front", "car_park")

# Cameras per site (1, 2, ...) by site kind.
COUNT_P = {
    "home": (0.73, 0.175, 0.058, 0.024, 0.009, 0.004),
    "business": (0.16, 0.22, 0.22, 0.16, 0.1, 0.06, 0.04, 0.04),
    "other": (0.45, 0.3, 0.13, 0.08, 0.04),
}
# Camera kind by site kind; at homes the first camera is special (usually the doorbell).
HOME_FIRST_DOORBELL = 0.84
HOME_EXTRA_DOORBELL = 0.30
HOME_NON_DOORBELL_P = (0.0, 0.52, 0.22, 0.07, 0.19)
BUSINESS_KIND_P = (0.12, 0.40, 0.32, 0.10, 0.06)
OTHER_SITE_KIND_P = (0.25, 0.38, 0.17, 0.08, 0.12)

# Mount by camera kind, in MOUNT_CODES order.
MOUNT_P = {
    "doorbell": (0.9, 0.1, 0, 0, 0, 0, 0),
    "fixed": (0, 0.6, 0.3, 0.03, 0.05, 0, 0.02),
    "dome": (0, 0.25, 0.45, 0, 0, 0.3, 0),
    "ptz": (0, 0.5, 0.2, 0, 0.3, 0, 0),
    "other": (0, 0.2, 0, 0.4, 0, 0.1, 0.3),
}
MOUNT_UNKNOWN_SHARE = 0.03
INDOOR_P = {"doorbell": 0.0, "fixed": 0.07, "dome": 0.25, "ptz": 0.05, "other": 0.45}
DIRECTION_KNOWN_SHARE = 0.70
FOV_ANGLE_GIVEN_SHARE = 0.20
FOV_RANGE_GIVEN_SHARE = 0.15
CONTINUOUS_P = {"doorbell": 0.0, "fixed": 0.55, "dome": 0.55, "ptz": 0.55, "other": 0.3}
RETENTION_UNKNOWN_SHARE = 0.08


@dataclass(frozen=True)
class CameraColumns:
    """Camera columns aligned by position; ``site_index`` is the 0-based position of the site."""

    site_index: np.ndarray
    kind: np.ndarray
    mount: list[str | None]
    placement: np.ndarray
    direction_deg: list[int | None]
    fov_angle_deg: list[int | None]
    fov_range_m: list[int | None]
    recording_mode: np.ndarray
    retention_days: list[int | None]
    overlooks: list[str]


def with_nulls(values: np.ndarray, null: np.ndarray) -> list:
    """Python values with ``None`` where ``null`` is true.

    >>> with_nulls(np.array([1, 2, 3]), np.array([False, True, False]))
    [1, None, 3]
    """
    return [None if m else v for v, m in zip(values.tolist(), null.tolist())]


def cameras_per_site(rng: np.random.Generator, site_kind: np.ndarray) -> np.ndarray:
    """Number of cameras at each site, drawn from the distribution for its kind."""
    counts = np.ones(len(site_kind), dtype=np.int64)
    for kind, p in COUNT_P.items():
        idx = np.flatnonzero(site_kind == kind)
        p = np.asarray(p) / np.sum(p)
        counts[idx] = 1 + rng.choice(len(p), size=len(idx), p=p)
    return counts


def _pick(rng: np.random.Generator, n: int, p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def camera_kinds(rng: np.random.Generator, cam_site_kind: np.ndarray, first_at_site: np.ndarray) -> np.ndarray:
    """Kind code of each camera given its site's kind and whether it is the site's first."""
    kinds = np.asarray(KINDS, dtype=object)
    out = np.empty(len(cam_site_kind), dtype=object)
    home = cam_site_kind == "home"
    door_p = np.where(first_at_site, HOME_FIRST_DOORBELL, HOME_EXTRA_DOORBELL)
    is_door = rng.random(len(out)) < door_p
    other_kind = kinds[_pick(rng, len(out), HOME_NON_DOORBELL_P)]
    out[home] = np.where(is_door, "doorbell", other_kind)[home]
    for site_kind, p in (("business", BUSINESS_KIND_P), ("other", OTHER_SITE_KIND_P)):
        idx = np.flatnonzero(cam_site_kind == site_kind)
        out[idx] = kinds[_pick(rng, len(idx), p)]
    return out


def _by_kind(rng: np.random.Generator, kind: np.ndarray, table: dict[str, float]) -> np.ndarray:
    p = np.array([table[k] for k in KINDS])
    return rng.random(len(kind)) < p[_kind_index(kind)]


def _kind_index(kind: np.ndarray) -> np.ndarray:
    lookup = {k: i for i, k in enumerate(KINDS)}
    return np.fromiter((lookup[k] for k in kind.tolist()), dtype=np.int64, count=len(kind))


def mounts_and_placement(rng: np.random.Generator, kind: np.ndarray) -> tuple[list[str | None], np.ndarray]:
    """Mount (None = not given) and placement of each camera, plausible for its kind."""
    codes = np.asarray(MOUNT_CODES, dtype=object)
    mount = np.empty(len(kind), dtype=object)
    for k in KINDS:
        idx = np.flatnonzero(kind == k)
        mount[idx] = codes[_pick(rng, len(idx), MOUNT_P[k])]
    indoor = _by_kind(rng, kind, INDOOR_P)
    # Indoors there is no eaves or pole: such cameras sit on a ceiling or look out of a window.
    outdoor_only = np.isin(mount, ["eaves", "pole", "door"])
    inside_mount = np.where(rng.random(len(kind)) < 0.5, "ceiling", "window")
    mount = np.where(indoor & outdoor_only, inside_mount, mount)
    unknown = (rng.random(len(kind)) < MOUNT_UNKNOWN_SHARE) & (kind != "doorbell")
    return with_nulls(mount, unknown), np.where(indoor, "indoor", "outdoor")


def fields_of_view(
    rng: np.random.Generator, kind: np.ndarray
) -> tuple[list[int | None], list[int | None], list[int | None]]:
    """Direction (known for ~70%), and field-of-view angle and range given by a minority;
    None means the kind's default applies."""
    n = len(kind)
    direction = rng.integers(0, 360, n)
    no_direction = rng.random(n) >= DIRECTION_KNOWN_SHARE
    ki = _kind_index(kind)
    angle0 = np.array([DEFAULT_FOV[k].angle_deg for k in KINDS])[ki]
    range0 = np.array([DEFAULT_FOV[k].range_m for k in KINDS])[ki]
    angle = np.clip(np.round(angle0 * rng.lognormal(0, 0.15, n) / 5) * 5, 5, 360).astype(np.int64)
    rng_m = np.clip(np.round(range0 * rng.lognormal(0, 0.35, n)), 1, 500).astype(np.int64)
    no_angle = rng.random(n) >= FOV_ANGLE_GIVEN_SHARE
    no_range = rng.random(n) >= FOV_RANGE_GIVEN_SHARE
    return with_nulls(direction, no_direction), with_nulls(angle, no_angle), with_nulls(rng_m, no_range)


def retention(rng: np.random.Generator, kind: np.ndarray) -> list[int | None]:
    """Days of footage kept: doorbell cloud plans mostly 30 days (some 60 or 7), local
    recorders 7 to 31 days, some only 1 to 3 days; ~8% unknown (None)."""
    n = len(kind)
    cloud = np.array([30, 60, 7, 14, 180])[_pick(rng, n, (0.62, 0.13, 0.15, 0.07, 0.03))]
    common = np.array([7, 14, 28, 30, 31])[_pick(rng, n, (0.22, 0.22, 0.18, 0.24, 0.14))]
    local = np.where(rng.random(n) < 0.25, rng.integers(8, 28, n), common)
    days = np.where(kind == "doorbell", cloud, local)
    short = rng.random(n) < np.where(kind == "doorbell", 0.05, 0.10)
    days = np.where(short, rng.integers(1, 4, n), days)
    unknown = rng.random(n) < RETENTION_UNKNOWN_SHARE
    return with_nulls(days, unknown)


def overlook_codes(
    rng: np.random.Generator, kind: np.ndarray, cam_site_kind: np.ndarray, indoor: np.ndarray
) -> list[str]:
    """What each camera overlooks, comma-joined codes (street is the most common)."""
    n = len(kind)
    # Probabilities of each code (OVERLOOK_BITS order) for four situations.
    situations = {
        "home_doorbell": (0.82, 0.45, 0.03, 0.0, 0.0),
        "home_other": (0.35, 0.5, 0.45, 0.0, 0.02),
        "business": (0.45, 0.05, 0.0, 0.55, 0.45),
        "other_site": (0.4, 0.05, 0.3, 0.0, 0.4),
    }
    sit = np.where(
        cam_site_kind == "business",
        "business",
        np.where(cam_site_kind == "other", "other_site", np.where(kind == "doorbell", "home_doorbell", "home_other")),
    )
    probs = np.zeros((n, len(OVERLOOK_BITS)))
    for name, p in situations.items():
        probs[sit == name] = p
    probs[indoor] *= 0.3
    bits = rng.random((n, len(OVERLOOK_BITS))) < probs
    primary = np.select([sit == "home_doorbell", sit == "home_other", sit == "business"], [0, 1, 3], default=4)
    fill = (~bits.any(axis=1)) & ~indoor & (rng.random(n) < 0.9)
    bits[np.flatnonzero(fill), primary[fill]] = True
    mask = bits.astype(np.int64) @ (1 << np.arange(len(OVERLOOK_BITS)))
    table = np.array(
        [
            join_codes([c for b, c in enumerate(OVERLOOK_BITS) if m >> b & 1], OVERLOOKS)
            for m in range(1 << len(OVERLOOK_BITS))
        ],
        dtype=object,
    )
    return table[mask].tolist()


def build_cameras(rng: np.random.Generator, site_kind: np.ndarray) -> CameraColumns:
    """All camera columns for sites of the given kinds, cameras ordered by site.

    Examples
    --------
    >>> cams = build_cameras(np.random.Generator(np.random.PCG64(3)), np.array(["home"] * 50, dtype=object))
    >>> int(cams.site_index.max()) <= 49 and set(cams.kind) <= set(KINDS)
    True
    """
    counts = cameras_per_site(rng, site_kind)
    site_index = np.repeat(np.arange(len(site_kind)), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    first = np.zeros(len(site_index), dtype=bool)
    first[starts] = True
    cam_site_kind = site_kind[site_index]
    kind = camera_kinds(rng, cam_site_kind, first)
    mount, placement = mounts_and_placement(rng, kind)
    direction, angle, range_m = fields_of_view(rng, kind)
    cont = _by_kind(rng, kind, CONTINUOUS_P)
    recording = np.where(cont, "continuous", "motion")
    return CameraColumns(
        site_index=site_index,
        kind=kind,
        mount=mount,
        placement=placement,
        direction_deg=direction,
        fov_angle_deg=angle,
        fov_range_m=range_m,
        recording_mode=recording,
        retention_days=retention(rng, kind),
        overlooks=overlook_codes(rng, kind, cam_site_kind, placement == "indoor"),
    )
