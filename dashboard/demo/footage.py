"""Demo footage requests: cases after the public launch, each asking the owners of one to a
few registered cameras near the incident for footage, with a plausible outcome mix and one
event per status the request passed through.

Only active cameras (whose registration was made before the request) are asked; incident
points lie within 250 m of every requested camera's site (measured in EPSG:27700 metres).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from dashboard.core.crs import WGS84
from dashboard.demo.places import to_wgs84
from dashboard.demo.story import US_PER_DAY, US_PER_S, Phases, local_to_utc

MAX_REQUESTS = 3000
MIN_REQUESTS = 10
REQUESTS_PER_REGISTRATION = 0.01
ANCHOR_OFFSET_M = 180.0
NEIGHBOUR_RADIUS_M = 240.0  # a little under 250 m, so rounding never pushes a site out
CAMERAS_PER_CASE_P = (0.55, 0.25, 0.12, 0.08)  # 1, 2, 3, 4 cameras asked per case
NO_RESPONSE_AFTER_DAYS = 14
US_PER_MIN = 60 * US_PER_S

CRIME_CATEGORIES = (
    ("Burglary", 0.20),
    ("Vehicle crime", 0.18),
    ("Criminal damage and arson", 0.12),
    ("Anti-social behaviour", 0.12),
    ("Violence and sexual offences", 0.12),
    ("Other theft", 0.10),
    ("Theft from the person", 0.04),
    ("Robbery", 0.04),
    ("Bicycle theft", 0.04),
    ("Shoplifting", 0.04),
)
OUTCOMES = ("footage_provided", "no_relevant_footage", "declined", "no_response", "withdrawn", "sent")
OUTCOME_P = (0.42, 0.20, 0.06, 0.22, 0.05, 0.05)
OUTCOME_P_OVERWRITTEN = (0.12, 0.50, 0.05, 0.25, 0.05, 0.03)
# Median days from sending to the outcome being recorded, per outcome (lognormal spread).
OUTCOME_DELAY_DAYS = {"footage_provided": 1.5, "no_relevant_footage": 1.0, "declined": 0.6, "withdrawn": 3.0}
OUTCOME_NOTES = {
    "sent": "Request sent to the camera owner.",
    "footage_provided": "Owner shared footage; exhibited.",
    "no_relevant_footage": "Owner checked: nothing relevant recorded.",
    "declined": "Owner declined to share footage.",
    "no_response": f"No reply after {NO_RESPONSE_AFTER_DAYS} days; closed.",
    "withdrawn": "Request withdrawn: no longer needed for the case.",
}
USEFUL_SHARE = 0.6


@dataclass(frozen=True)
class SiteFacts:
    """What request generation needs to know of each site (aligned arrays, site order)."""

    easting_m: np.ndarray
    northing_m: np.ndarray
    district_code: np.ndarray
    consent_at: np.ndarray  # naive UTC datetime64[us], sorted ascending
    active: np.ndarray  # bool


@dataclass(frozen=True)
class CameraFacts:
    site_index: np.ndarray  # sorted ascending (cameras grouped by site)
    retention_days: np.ndarray  # float, NaN = unknown


def request_count(registrations: int) -> int:
    """How many footage requests a registry of this size has had: ~1 per 100 registrations,
    at least 10 and at most 3,000.

    >>> request_count(620_000), request_count(24_000), request_count(500)
    (3000, 240, 10)
    """
    return int(min(MAX_REQUESTS, max(MIN_REQUESTS, round(REQUESTS_PER_REGISTRATION * registrations))))


def _case_sent_times(rng: np.random.Generator, n_cases: int, phases: Phases, consent_at: np.ndarray) -> np.ndarray:
    """Case send times after the launch, more as the registry grows, in officers' hours."""
    days = np.arange(np.datetime64(phases.public_launch, "D") + 2, np.datetime64(phases.as_of, "D"))
    if len(days) == 0:
        days = np.array([np.datetime64(phases.as_of, "D") - 1])
    registered = np.searchsorted(consent_at, days.astype("datetime64[us]")).astype(float) + 1.0
    pick = rng.choice(len(days), size=n_cases, p=registered / registered.sum())
    hour = rng.integers(8, 21, n_cases)
    second = rng.integers(0, 3600, n_cases)
    local = days[pick].astype("datetime64[s]") + (hour * 3600 + second).astype("timedelta64[s]")
    return np.sort(local_to_utc(local))


def _incident_district(ref, lon: np.ndarray, lat: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """District containing each incident point (first match), else the anchor site's district."""
    districts = ref.districts if ref.districts.crs.to_string() == WGS84 else ref.districts.to_crs(WGS84)
    out = fallback.astype(object).copy()
    found = np.zeros(len(lon), dtype=bool)
    for code, geom in zip(districts["code"].tolist(), districts.geometry.tolist()):
        hit = shapely.contains_xy(geom, lon, lat) & ~found
        out[hit] = code
        found |= hit
    return out


def build_requests(
    rng: np.random.Generator,
    ref,
    phases: Phases,
    sites: SiteFacts,
    cameras: CameraFacts,
    officer_ids: list[int],
    registrations: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Footage requests and their events.

    Returns
    -------
    (requests, events) : tuple of pandas.DataFrame
        ``requests`` has the ``footage_request`` columns (times as naive UTC
        ``datetime64[us]``, ``camera_index`` as the 0-based camera position) ordered by
        ``sent_at``; ``events`` has ``request_index``, ``status``, ``at``, ``by_user_id``,
        ``note`` ordered by time.
    """
    end = phases.end_utc - np.timedelta64(1, "s")
    target = request_count(registrations)
    ks = 1 + np.arange(len(CAMERAS_PER_CASE_P))
    n_cases = max(1, round(target / float(np.dot(ks, CAMERAS_PER_CASE_P))))
    case_sent = _case_sent_times(rng, n_cases, phases, sites.consent_at)
    case_k = 1 + rng.choice(len(CAMERAS_PER_CASE_P), size=n_cases, p=CAMERAS_PER_CASE_P)
    officer_p = np.array([0.65] + [0.35 / max(1, len(officer_ids) - 1)] * (len(officer_ids) - 1))
    case_officer = np.asarray(officer_ids)[rng.choice(len(officer_ids), size=n_cases, p=officer_p / officer_p.sum())]
    cats = np.array([c for c, _ in CRIME_CATEGORIES], dtype=object)
    cat_p = np.array([p for _, p in CRIME_CATEGORIES])
    case_cat = cats[rng.choice(len(cats), size=n_cases, p=cat_p / cat_p.sum())]
    duration_min = np.round(np.exp(rng.uniform(np.log(10), np.log(180), n_cases)) / 5) * 5
    lag_min = np.clip(rng.lognormal(np.log(36 * 60), 1.0, n_cases), 60, 40 * 24 * 60)
    case_to = case_sent - (lag_min * US_PER_MIN).astype("timedelta64[us]")
    case_to = case_to.astype("datetime64[m]").astype("datetime64[us]")
    case_from = case_to - (duration_min.astype(np.int64) * US_PER_MIN).astype("timedelta64[us]")
    serials = np.sort(rng.choice(np.arange(1000, 999_999), size=n_cases, replace=False))

    active_idx = np.flatnonzero(sites.active)
    by_e = active_idx[np.argsort(sites.easting_m[active_idx], kind="stable")]
    e_sorted = sites.easting_m[by_e]
    cam_start = np.searchsorted(cameras.site_index, np.arange(len(sites.active)), side="left")
    cam_count = np.searchsorted(cameras.site_index, np.arange(len(sites.active)), side="right") - cam_start

    rows: list[dict] = []
    for c in range(n_cases):
        registered = int(np.searchsorted(active_idx, np.searchsorted(sites.consent_at, case_sent[c]), side="left"))
        if registered == 0:
            continue
        anchor = int(active_idx[rng.integers(0, registered)])
        r = ANCHOR_OFFSET_M * np.sqrt(rng.random())
        theta = rng.random() * 2 * np.pi
        ie = sites.easting_m[anchor] + r * np.cos(theta)
        inn = sites.northing_m[anchor] + r * np.sin(theta)
        lo, hi = np.searchsorted(e_sorted, [ie - NEIGHBOUR_RADIUS_M, ie + NEIGHBOUR_RADIUS_M])
        cand = by_e[lo:hi]
        d = np.hypot(sites.easting_m[cand] - ie, sites.northing_m[cand] - inn)
        cand = cand[(d <= NEIGHBOUR_RADIUS_M) & (sites.consent_at[cand] < case_sent[c]) & (cand != anchor)]
        extra = rng.choice(cand, size=min(len(cand), int(case_k[c]) - 1), replace=False) if len(cand) else cand
        chosen = [anchor] + sorted(int(s) for s in extra)
        for j, site in enumerate(chosen):
            camera = int(cam_start[site] + rng.integers(0, cam_count[site]))
            rows.append(
                {
                    "case": c,
                    "site": site,
                    "camera_index": camera,
                    "ie": ie,
                    "in": inn,
                    "sent_at": case_sent[c] + np.timedelta64(int(j * rng.integers(2, 15)) * 60, "s"),
                }
            )
    req = pd.DataFrame(rows)
    if req.empty:
        return _empty_requests(), _empty_events()
    case = req["case"].to_numpy()
    lon, lat = to_wgs84(req["ie"].to_numpy(float), req["in"].to_numpy(float))
    req["incident_lat"] = lat
    req["incident_lon"] = lon
    req["incident_district_code"] = _incident_district(ref, lon, lat, sites.district_code[req["site"].to_numpy()])
    req["crime_category"] = case_cat[case]
    req["incident_from"] = case_from[case]
    req["incident_to"] = case_to[case]
    req["requested_by_id"] = case_officer[case]
    year = pd.DatetimeIndex(case_sent[case]).year.to_numpy()
    req["case_ref"] = [f"CR-{y}-{s:06d}" for y, s in zip(year.tolist(), serials[case].tolist())]
    req["sent_at"] = np.minimum(req["sent_at"].to_numpy().astype("datetime64[us]"), end)
    req = req.sort_values(["sent_at", "case", "camera_index"], kind="stable").reset_index(drop=True)

    retention = cameras.retention_days[req["camera_index"].to_numpy()]
    keep_until = req["incident_from"].to_numpy() + (np.nan_to_num(retention) * US_PER_DAY).astype(np.int64).astype(
        "timedelta64[us]"
    )
    req["footage_likely_overwritten"] = ~np.isnan(retention) & (req["sent_at"].to_numpy() > keep_until)
    _assign_outcomes(rng, req, end)
    events = _events(req)
    return req, events


def _assign_outcomes(rng: np.random.Generator, req: pd.DataFrame, end: np.datetime64) -> None:
    """Set ``status``, ``status_changed_at`` and ``footage_useful`` in place."""
    n = len(req)
    over = req["footage_likely_overwritten"].to_numpy()
    u = rng.random(n)
    cdf_a, cdf_b = np.cumsum(OUTCOME_P), np.cumsum(OUTCOME_P_OVERWRITTEN)
    pick = np.where(over, np.searchsorted(cdf_b / cdf_b[-1], u), np.searchsorted(cdf_a / cdf_a[-1], u))
    status = np.asarray(OUTCOMES, dtype=object)[np.minimum(pick, len(OUTCOMES) - 1)]
    sent = req["sent_at"].to_numpy().astype("datetime64[us]")
    delay_us = np.zeros(n, dtype=np.int64)
    for outcome, median_days in OUTCOME_DELAY_DAYS.items():
        m = status == outcome
        delay_us[m] = (rng.lognormal(np.log(median_days), 0.7, int(m.sum())) * US_PER_DAY).astype(np.int64)
    m = status == "no_response"
    delay_us[m] = NO_RESPONSE_AFTER_DAYS * US_PER_DAY + rng.integers(0, 3 * US_PER_DAY, int(m.sum()))
    delay_us = np.maximum(delay_us, 5 * US_PER_MIN)
    changed = sent + delay_us.astype("timedelta64[us]")
    changed = changed.astype("datetime64[s]").astype("datetime64[us]")
    pending = (status == "sent") | (changed >= end)
    status = np.where(pending, "sent", status)
    changed = np.where(pending, sent, changed)
    useful = rng.random(n) < USEFUL_SHARE
    req["status"] = status
    req["status_changed_at"] = changed
    req["footage_useful"] = pd.array(np.where(status == "footage_provided", useful, False), dtype="boolean")
    req.loc[status != "footage_provided", "footage_useful"] = pd.NA


def _events(req: pd.DataFrame) -> pd.DataFrame:
    first = pd.DataFrame(
        {
            "request_index": np.arange(len(req)),
            "status": "sent",
            "at": req["sent_at"].to_numpy(),
            "by_user_id": req["requested_by_id"].to_numpy(),
        }
    )
    closed = req["status"].to_numpy() != "sent"
    second = pd.DataFrame(
        {
            "request_index": np.flatnonzero(closed),
            "status": req["status"].to_numpy()[closed],
            "at": req["status_changed_at"].to_numpy()[closed],
            "by_user_id": req["requested_by_id"].to_numpy()[closed],
        }
    )
    ev = pd.concat([first, second], ignore_index=True)
    ev["note"] = ev["status"].map(OUTCOME_NOTES)
    return ev.sort_values(["at", "request_index", "status"], kind="stable").reset_index(drop=True)


def _empty_requests() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "case_ref",
            "camera_index",
            "requested_by_id",
            "incident_lat",
            "incident_lon",
            "incident_district_code",
            "crime_category",
            "incident_from",
            "incident_to",
            "status",
            "sent_at",
            "status_changed_at",
            "footage_likely_overwritten",
            "footage_useful",
        ]
    )


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame(columns=["request_index", "status", "at", "by_user_id", "note"])
