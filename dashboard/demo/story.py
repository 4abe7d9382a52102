"""The timeline of the demo pilot: when people registered, withdrew and reconfirmed, and the
daily funnel counts of the recruitment campaigns.

The story: an internal staff pilot starts on ``pilot_start`` (an intranet article, then a
staff newsletter) and runs six weeks with a few hundred registrations; then a quiet gap; then
the public launch on ``public_launch`` (posters, social media, local press, later doorstep
leaflets) with a launch spike and steady growth, more at weekends and in the evenings.
Times are drawn in UK local time (Europe/London) and stored as UTC.

All times in this module are ``numpy.datetime64[us]`` arrays holding naive UTC instants
(the writer turns them into what each database expects). Campaign days are UK local dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.core.uktime import UK

PILOT_DAYS = 42
PILOT_MAX = 400
PILOT_SHARE = 0.02
WITHDRAWN_SHARE = 0.04
RECONFIRMED_SHARE = 0.15
RECONFIRM_MIN_AGE_DAYS = 30
COMPLETION_SHARE = 0.75  # share of a day's registrations that came through a campaign QR code
START_RATE = 0.6  # completions / form starts
SCAN_RATE = 0.7  # form starts / scans

US_PER_S = 1_000_000
US_PER_DAY = 86_400 * US_PER_S

# Relative registrations by hour of day (local time), 0..23.
HOURS_PUBLIC_WEEKDAY = np.array(
    [
        0.3,
        0.15,
        0.1,
        0.08,
        0.08,
        0.15,
        0.5,
        1.2,
        1.8,
        2.0,
        2.1,
        2.3,
        2.8,
        2.6,
        2.2,
        2.2,
        2.5,
        3.0,
        3.8,
        4.6,
        4.8,
        4.2,
        2.8,
        1.2,
    ]
)
HOURS_PUBLIC_WEEKEND = np.array(
    [
        0.5,
        0.3,
        0.15,
        0.1,
        0.08,
        0.1,
        0.3,
        0.8,
        1.8,
        2.8,
        3.4,
        3.6,
        3.6,
        3.4,
        3.3,
        3.2,
        3.2,
        3.4,
        3.8,
        4.2,
        4.2,
        3.6,
        2.4,
        1.2,
    ]
)
# Staff register at work or in the evening, never in the small hours (so no pilot
# registration can fall before pilot_start in UTC either).
HOURS_PILOT = np.array(
    [0, 0, 0, 0, 0, 0, 0, 1.0, 2.5, 3.2, 3.0, 2.6, 3.2, 3.0, 2.6, 2.4, 2.2, 1.6, 1.4, 1.6, 1.8, 1.6, 1.0, 0.4]
)
# Relative registrations by day of week, Monday first.
WEEK_PUBLIC = np.array([0.9, 0.85, 0.85, 0.9, 0.95, 1.35, 1.4])
WEEK_PILOT = np.array([1.0, 1.0, 1.0, 1.0, 0.9, 0.35, 0.3])


@dataclass(frozen=True)
class CampaignSpec:
    """A recruitment campaign: when it starts (days after its phase starts) and how its pull
    decays (``peak * exp(-days / decay_days) + floor``)."""

    slug: str
    name: str
    channel: str
    phase: str  # "pilot" or "public"
    start_day: int
    peak: float
    decay_days: float
    floor: float


CAMPAIGNS = (
    CampaignSpec("staff-intranet", "Staff intranet article", "internal_message", "pilot", 0, 3.0, 5.0, 0.3),
    CampaignSpec("staff-newsletter", "Staff newsletter", "internal_message", "pilot", 14, 2.0, 4.0, 0.3),
    CampaignSpec("station-posters", "Police station posters", "poster", "public", 0, 0.6, 10.0, 0.7),
    CampaignSpec("social-media", "Force social media", "social_media", "public", 0, 4.0, 5.0, 0.8),
    CampaignSpec("local-press", "Local press and radio", "press", "public", 0, 6.0, 3.0, 0.2),
    CampaignSpec("doorstep-leaflets", "Doorstep leaflets", "leaflet", "public", 21, 1.5, 10.0, 0.6),
)


@dataclass(frozen=True)
class Phases:
    """Day ranges of the story as UK local dates (end exclusive)."""

    pilot_start: dt.date
    pilot_end: dt.date
    public_launch: dt.date
    as_of: dt.date

    @property
    def end_utc(self) -> np.datetime64:
        """The first instant not in the demo: local midnight starting ``as_of``, in UTC."""
        return local_midnight_utc(self.as_of)


@dataclass(frozen=True)
class Timeline:
    """Per-registration times (naive UTC ``datetime64[us]``), sorted by ``consent_at``."""

    consent_at: np.ndarray
    pilot: np.ndarray  # bool: registered during the staff pilot
    withdrawn: np.ndarray  # bool
    withdrawn_at: np.ndarray  # NaT where not withdrawn
    last_confirmed_at: np.ndarray
    updated_at: np.ndarray


def plan_phases(pilot_start: dt.date, public_launch: dt.date, as_of: dt.date) -> Phases:
    """Check the three dates and derive the pilot's end (six weeks, or the launch if sooner).

    >>> plan_phases(dt.date(2026, 4, 13), dt.date(2026, 7, 6), dt.date(2026, 11, 29)).pilot_end
    datetime.date(2026, 5, 25)
    """
    if not pilot_start < public_launch < as_of:
        raise ValueError(
            f"dates out of order: need pilot_start < public_launch < as_of, got {pilot_start}, {public_launch}, {as_of}"
        )
    pilot_end = min(pilot_start + dt.timedelta(days=PILOT_DAYS), public_launch)
    return Phases(pilot_start, pilot_end, public_launch, as_of)


def pilot_size(registrations: int) -> int:
    """Registrations made in the staff pilot: 2% of the total, at most 400, at least 1.

    >>> pilot_size(620_000), pilot_size(1000), pilot_size(10)
    (400, 20, 1)
    """
    return int(max(1, min(PILOT_MAX, round(PILOT_SHARE * registrations))))


def local_midnight_utc(day: dt.date) -> np.datetime64:
    """Local (UK) midnight at the start of ``day`` as a naive UTC ``datetime64[us]``.

    >>> local_midnight_utc(dt.date(2026, 7, 1))
    np.datetime64('2026-06-30T23:00:00.000000')
    """
    ts = pd.Timestamp(day).tz_localize(UK).tz_convert("UTC").tz_localize(None)
    return np.datetime64(ts.to_datetime64(), "us")


def local_to_utc(local: np.ndarray) -> np.ndarray:
    """Naive UK local times to naive UTC (``datetime64[us]``); clocks-back hours are read as
    GMT and clocks-forward gaps are shifted forward."""
    s = pd.Series(pd.DatetimeIndex(local.astype("datetime64[us]")))
    utc = s.dt.tz_localize(UK, ambiguous=np.zeros(len(s), dtype=bool), nonexistent="shift_forward")
    return utc.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")


def utc_to_local_day(utc: np.ndarray) -> np.ndarray:
    """The UK local date (``datetime64[D]``) of naive UTC instants."""
    s = pd.Series(pd.DatetimeIndex(utc.astype("datetime64[us]"))).dt.tz_localize("UTC").dt.tz_convert(UK)
    return s.dt.tz_localize(None).to_numpy().astype("datetime64[D]")


def _days(start: dt.date, end: dt.date) -> np.ndarray:
    return np.arange(np.datetime64(start, "D"), np.datetime64(end, "D"))


def _weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 for ``datetime64[D]`` values (1970-01-01 was a Thursday)."""
    return (days.astype(np.int64) + 3) % 7


def campaign_pull(spec: CampaignSpec, phases: Phases, days: np.ndarray) -> np.ndarray:
    """How strongly a campaign draws registrations on each day (0 when it is not running).

    Pilot campaigns run from their start to the pilot's end; public ones to ``as_of``.
    """
    origin = np.datetime64(phases.pilot_start if spec.phase == "pilot" else phases.public_launch, "D")
    end = np.datetime64(phases.pilot_end if spec.phase == "pilot" else phases.as_of, "D")
    start = origin + np.timedelta64(spec.start_day, "D")
    since = (days - start).astype(np.int64).astype(float)
    running = (days >= start) & (days < end)
    return np.where(running, spec.peak * np.exp(-np.clip(since, 0, None) / spec.decay_days) + spec.floor, 0.0)


def day_intensity(rng: np.random.Generator, phases: Phases, days: np.ndarray, phase: str) -> np.ndarray:
    """Relative registrations per day within one phase: campaign pull plus a baseline, times
    the weekly rhythm and a little day-to-day noise."""
    pull = sum(campaign_pull(c, phases, days) for c in CAMPAIGNS if c.phase == phase)
    if phase == "pilot":
        base = 0.2 + pull
        week = WEEK_PILOT
    else:
        progress = np.linspace(0.0, 1.0, len(days)) if len(days) > 1 else np.zeros(len(days))
        base = 0.35 + 0.9 * progress + pull  # word of mouth grows steadily
        week = WEEK_PUBLIC
    noise = rng.lognormal(0.0, 0.12, len(days))
    return base * week[_weekday(days)] * noise


def _spread_over_days(rng: np.random.Generator, n: int, days: np.ndarray, weights: np.ndarray) -> np.ndarray:
    counts = rng.multinomial(n, weights / weights.sum())
    return np.repeat(days, counts)


def _times_in_day(rng: np.random.Generator, days: np.ndarray, profiles: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Local naive times within ``days``: hour from the chosen profile, then a uniform second."""
    cdf = np.cumsum(profiles, axis=1)
    cdf = cdf / cdf[:, -1:]
    u = rng.random(len(days))
    hour = (u[:, None] >= cdf[which]).sum(axis=1)
    hour = np.minimum(hour, 23)
    second = rng.integers(0, 3600, len(days))
    offset_s = hour.astype(np.int64) * 3600 + second
    return days.astype("datetime64[s]") + offset_s.astype("timedelta64[s]")


def registration_times(rng: np.random.Generator, registrations: int, phases: Phases) -> tuple[np.ndarray, np.ndarray]:
    """Consent times (naive UTC, sorted) of all registrations and which were in the pilot.

    Every time lies on or after local 07:00 of ``pilot_start`` and strictly before local
    midnight starting ``as_of``; no one registers in the gap between pilot and launch.
    """
    n_pilot = min(pilot_size(registrations), registrations - 1)
    pilot_days = _days(phases.pilot_start, phases.pilot_end)
    public_days = _days(phases.public_launch, phases.as_of)
    day_p = _spread_over_days(rng, n_pilot, pilot_days, day_intensity(rng, phases, pilot_days, "pilot"))
    day_q = _spread_over_days(
        rng, registrations - n_pilot, public_days, day_intensity(rng, phases, public_days, "public")
    )
    days = np.concatenate([day_p, day_q])
    pilot = np.zeros(len(days), dtype=bool)
    pilot[:n_pilot] = True
    weekend = _weekday(days) >= 5
    which = np.where(pilot, 2, np.where(weekend, 1, 0))
    profiles = np.vstack([HOURS_PUBLIC_WEEKDAY, HOURS_PUBLIC_WEEKEND, HOURS_PILOT])
    local = _times_in_day(rng, days, profiles, which)
    utc = local_to_utc(local)
    order = np.argsort(utc, kind="stable")
    return utc[order], pilot[order]


def build_timeline(rng: np.random.Generator, registrations: int, phases: Phases) -> Timeline:
    """Consent, withdrawal, reconfirmation and last-update times for every registration."""
    consent, pilot = registration_times(rng, registrations, phases)
    n = len(consent)
    end = phases.end_utc - np.timedelta64(1, "s")
    room_us = (end - consent).astype(np.int64)

    withdrawn = rng.random(n) < WITHDRAWN_SHARE
    frac = rng.beta(0.9, 2.2, n)
    delay_us = np.maximum(600 * US_PER_S, (frac * room_us).astype(np.int64))
    delay_us = np.where(delay_us >= room_us, room_us // 2, delay_us)
    withdrawn_at = (consent + delay_us.astype("timedelta64[us]")).astype("datetime64[s]").astype("datetime64[us]")
    withdrawn_at = np.where(withdrawn, withdrawn_at, np.datetime64("NaT", "us"))

    old_enough = room_us > RECONFIRM_MIN_AGE_DAYS * US_PER_DAY
    reconfirm = (rng.random(n) < RECONFIRMED_SHARE) & old_enough
    min_us = RECONFIRM_MIN_AGE_DAYS * US_PER_DAY
    span = np.maximum(room_us - min_us, 1)
    re_delay = min_us + (rng.random(n) * span).astype(np.int64)
    reconfirmed_at = (consent + re_delay.astype("timedelta64[us]")).astype("datetime64[s]").astype("datetime64[us]")
    reconfirm &= ~withdrawn | (reconfirmed_at < withdrawn_at)
    last_confirmed = np.where(reconfirm, reconfirmed_at, consent)
    updated = np.where(withdrawn, withdrawn_at, last_confirmed)
    return Timeline(
        consent_at=consent,
        pilot=pilot,
        withdrawn=withdrawn,
        withdrawn_at=withdrawn_at,
        last_confirmed_at=last_confirmed,
        updated_at=updated,
    )


def registrations_per_day(consent_at: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Registrations on each of ``days``, counting a registration on its UK local date *and*
    on its UTC date and keeping the smaller count, so a share of it is never more than the
    registrations of that day whichever convention a reader uses."""
    local = utc_to_local_day(consent_at)
    utc = consent_at.astype("datetime64[D]")
    lo = np.searchsorted(np.sort(local), days, side="left")
    hi = np.searchsorted(np.sort(local), days, side="right")
    lo_u = np.searchsorted(np.sort(utc), days, side="left")
    hi_u = np.searchsorted(np.sort(utc), days, side="right")
    return np.minimum(hi - lo, hi_u - lo_u)


def campaign_daily_counts(rng: np.random.Generator, phases: Phases, consent_at: np.ndarray) -> pd.DataFrame:
    """Aggregate funnel counts per campaign and day on which the campaign ran.

    About 75% of each day's registrations (never more) are completions through a campaign
    QR code, split between the campaigns running that day in proportion to their pull;
    form starts are about completions / 0.6 and scans about starts / 0.7, with noise.

    Returns
    -------
    pandas.DataFrame
        ``campaign_index`` (position in ``CAMPAIGNS``), ``day`` (``datetime64[D]``),
        ``scans``, ``form_starts``, ``completions``; ordered by campaign then day.
    """
    days = _days(phases.pilot_start, phases.as_of)
    pull = np.vstack([campaign_pull(c, phases, days) for c in CAMPAIGNS])  # (campaigns, days)
    regs = registrations_per_day(consent_at, days)
    total = rng.binomial(regs, COMPLETION_SHARE)
    running = pull.sum(axis=0) > 0
    total = np.where(running, total, 0)
    share = np.divide(pull, pull.sum(axis=0), out=np.zeros_like(pull), where=running)
    completions = np.zeros_like(pull, dtype=np.int64)
    for j in np.flatnonzero(total):
        completions[:, j] = rng.multinomial(total[j], share[:, j])
    start_rate = np.clip(START_RATE * rng.lognormal(0.0, 0.1, pull.shape), 0.3, 0.95)
    scan_rate = np.clip(SCAN_RATE * rng.lognormal(0.0, 0.1, pull.shape), 0.3, 0.95)
    starts = completions + rng.poisson(completions * (1 / start_rate - 1) + 0.2 * (pull > 0))
    scans = starts + rng.poisson(starts * (1 / scan_rate - 1) + 0.5 * (pull > 0))
    c_idx, d_idx = np.nonzero(pull > 0)
    return pd.DataFrame(
        {
            "campaign_index": c_idx,
            "day": days[d_idx],
            "scans": scans[c_idx, d_idx],
            "form_starts": starts[c_idx, d_idx],
            "completions": completions[c_idx, d_idx],
        }
    )
