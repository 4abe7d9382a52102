"""Pilot uptake and request outcomes (issue 6) as pure functions of data frames, every figure
through the disclosure-control layer (issue 14, ``dashboard.analytics.disclosure``).

Days and weeks are those of the force, Europe/London: a registration at 23:30 UTC on a summer
Sunday is made at 00:30 BST on Monday, in the next week. Weeks start on Monday.

Figures over time (promise 4). Every count over time is a difference of one **fixed-calendar
cumulative series**: the published total at the end of day or week ``d`` is the adjusted count of
the records from the very first one up to ``d`` (:func:`cumulative_by`, :func:`publish_totals`),
whatever range was asked for. A range's count is the published total at its end minus the one just
before its start, and a period's count the difference of consecutive published totals
(:func:`published_differences`; never below K when shown). So moving "from" or "to" by a day
gives no figure that was not already published: the differences an attacker can take are the true count plus the noise of two
independent adjustments. A difference is not shown when its true count is below K, nor when a
total it is drawn from is not shown; a total of 0 (nothing yet) is shown as 0.

The query space is no wider than needed (:func:`resolve_range`): whole UK days only for the whole
force; for a district, a campaign or a channel whole UK weeks (Monday to Sunday), ranges widened to
whole weeks; footage requests in whole weeks always.

Counts of the current register (districts, the camera mix, registrations due to confirm) are
adjusted with the cell key of exactly the records counted. Rates, shares and per-1,000 figures come
from published counts (``Disclosure.rate``). Scans and form starts count page visits, not people:
they pass through ``Disclosure.exact``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.analytics.disclosure import KEY_RANGE, Disclosure
from dashboard.core.uktime import NO_DAY, day_number, day_numbers
from dashboard.core.vocab import (
    CAMERA_KINDS,
    CAMPAIGN_CHANNELS,
    DECLINE_REASONS,
    PLACEMENTS,
    REQUEST_STATUSES,
    RETENTION_LABELS,
)

PERIODS = ("day", "week")
DAYS_FOR_FORCE_ONLY = "Days are shown for the whole force only; choose Week."


# ---------------------------------------------------------------------------------------- days


def _consent_days(registrations: pd.DataFrame) -> np.ndarray:
    if "consent_day" in registrations:
        return registrations["consent_day"].to_numpy(dtype="int64")
    return day_numbers(registrations["consent_at"])


def _weights(registrations: pd.DataFrame) -> np.ndarray | None:
    """How many registrations each row stands for: ``weight`` (the summaries' rows, one per day and
    district), or one each (a row per registration) when there is no such column."""
    return registrations["weight"].to_numpy(dtype="int64") if "weight" in registrations else None


def _owner_withdrawal_days(registrations: pd.DataFrame) -> np.ndarray:
    if "owner_withdrawal_day" in registrations:
        return registrations["owner_withdrawal_day"].to_numpy(dtype="int64")
    withdrawn = day_numbers(registrations["withdrawn_at"])
    return np.where((registrations["end_reason"] == "owner").to_numpy(dtype=bool), withdrawn, NO_DAY)


def period_start(day: dt.date, period: str) -> dt.date:
    """The first day of the day or week (Monday) holding ``day``.

    >>> period_start(dt.date(2026, 7, 12), "week"), period_start(dt.date(2026, 7, 13), "week")
    (datetime.date(2026, 7, 6), datetime.date(2026, 7, 13))
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, got {period!r}")
    return day - dt.timedelta(days=day.weekday()) if period == "week" else day


def whole_weeks(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The range widened to whole UK weeks: the Monday of ``first``'s week to the Sunday of ``last``'s.

    >>> whole_weeks(dt.date(2026, 7, 8), dt.date(2026, 7, 14))
    (datetime.date(2026, 7, 6), datetime.date(2026, 7, 19))
    """
    if first > last:
        raise ValueError(f"first ({first}) is after last ({last})")
    return period_start(first, "week"), period_start(last, "week") + dt.timedelta(days=6)


def owner_withdrawals(registrations: pd.DataFrame) -> pd.Series:
    """When each registration its owner withdrew (from the management link) ended: ``withdrawn_at``
    where ``end_reason`` is 'owner'. Erasures on request and by the retention check end a
    registration too, but they are not the owner changing their mind, so they are not counted.

    >>> at = pd.Timestamp("2026-07-01 10:00", tz="UTC")
    >>> regs = pd.DataFrame({"withdrawn_at": [at, at, at, pd.NaT], "end_reason": ["owner", "request", "retention", None]})
    >>> owner_withdrawals(regs).index.tolist()
    [0]
    """
    return registrations.loc[registrations["end_reason"] == "owner", "withdrawn_at"].dropna()


# ------------------------------------------------------------------------ the query space


@dataclass(frozen=True)
class UptakeRange:
    """The dates a figure is drawn for, after the query-space rules."""

    first: dt.date
    last: dt.date
    grain: str  # "day" (whole force) or "week"
    widened: bool  # the asked range was widened to whole weeks


def resolve_range(
    first: dt.date, last: dt.date, force_level: bool, period: str = "week"
) -> tuple[UptakeRange | None, str | None]:
    """The range figures are drawn for, or a refusal: whole days at force level; below it (a
    district, a campaign, a channel) whole weeks, the range widened outward, and "per day" refused.

    >>> resolve_range(dt.date(2026, 7, 8), dt.date(2026, 7, 9), True, "day")[0].grain
    'day'
    >>> r, _ = resolve_range(dt.date(2026, 7, 8), dt.date(2026, 7, 9), False, "week")
    >>> (r.first, r.last, r.widened)
    (datetime.date(2026, 7, 6), datetime.date(2026, 7, 12), True)
    >>> resolve_range(dt.date(2026, 7, 8), dt.date(2026, 7, 9), False, "day")
    (None, 'Days are shown for the whole force only; choose Week.')
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, got {period!r}")
    if first > last:
        first, last = last, first
    if force_level:
        return UptakeRange(first, last, "day", False), None
    if period == "day":
        return None, DAYS_FOR_FORCE_ONLY
    monday, sunday = whole_weeks(first, last)
    return UptakeRange(monday, sunday, "week", (monday, sunday) != (first, last)), None


def calendar(first: dt.date, last: dt.date, period: str) -> tuple[list[dt.date], np.ndarray]:
    """The fixed calendar from the period holding ``first`` to the one holding ``last``: each
    period's first day, and the day numbers of the period ends with the end of the period before
    the first prepended (so ``len(ends) == len(starts) + 1``).

    >>> from dashboard.core.uktime import EPOCH
    >>> starts, ends = calendar(dt.date(2026, 7, 8), dt.date(2026, 7, 13), "week")
    >>> starts, [EPOCH + dt.timedelta(days=int(e)) for e in ends]
    ([datetime.date(2026, 7, 6), datetime.date(2026, 7, 13)], [datetime.date(2026, 7, 5), datetime.date(2026, 7, 12), datetime.date(2026, 7, 19)])
    """
    if first > last:
        raise ValueError(f"first ({first}) is after last ({last})")
    start, end = period_start(first, period), period_start(last, period)
    step = 7 if period == "week" else 1
    n = (end - start).days // step + 1
    starts = [start + dt.timedelta(days=step * i) for i in range(n)]
    ends = day_number(start) - 1 + step * np.arange(n + 1, dtype="int64")
    return starts, ends


# ------------------------------------------------------------- the fixed-calendar primitive


def cumulative_by(
    days: np.ndarray,
    ends: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    n_groups: int = 1,
    keys: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    extra_days: np.ndarray | None = None,
    extra_groups: np.ndarray | None = None,
    extra_keys: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """True cumulative counts of records from the very first one up to the end of each day number
    in ``ends`` (ascending), per group, and the cell keys of those sets.

    Parameters
    ----------
    days : the day number of each record (NO_DAY: never)
    groups : each record's group 0..n_groups-1 (-1: none); all in group 0 when not given
    keys : each record's key (its record key, or the sum of its records' keys when it stands for
        several: a registration's cameras, a campaign day's completions); 0 when not given
    weights : how many records each row stands for (1 when not given)
    extra_days, extra_groups, extra_keys : more keys without records (the anonymous sums of erased
        registrations' keys, ``RetiredKey``) joining the cell keys from their day on

    Returns
    -------
    totals, cell_keys : int64 arrays of shape (n_groups, len(ends))

    >>> totals, keys = cumulative_by(np.array([3, 5, 5, 9]), np.array([4, 5, 8]), keys=np.array([200, 50, 10, 7]),
    ...                              extra_days=np.array([1]), extra_keys=np.array([100]))
    >>> totals.tolist(), keys.tolist()  # 200 + 100 = 300 -> 44; + 60 -> 104
    ([[1, 3, 3]], [[44, 104, 104]])
    """
    ends = np.asarray(ends, dtype="int64")
    n = len(ends)
    width = n + 1  # slot n: after the last end

    def sums(day, group, values):
        slot = np.searchsorted(ends, np.asarray(day, dtype="int64"), side="left")
        if group is None:
            index = slot
        else:
            group = np.asarray(group, dtype="int64")
            keep = group >= 0
            index, values = (group * width + slot)[keep], (None if values is None else np.asarray(values)[keep])
        flat = np.bincount(index, weights=values, minlength=n_groups * width)
        return np.rint(flat).astype("int64").reshape(n_groups, width)[:, :n]

    totals = np.cumsum(sums(days, groups, weights), axis=1)
    key_sums = sums(days, groups, keys) if keys is not None else np.zeros((n_groups, n), dtype="int64")
    if extra_days is not None and len(extra_days):
        key_sums = key_sums + sums(extra_days, extra_groups, extra_keys)
    return totals.astype("int64"), (np.cumsum(key_sums, axis=1) % KEY_RANGE).astype("int64")


def publish_totals(layer: Disclosure, true: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Published cumulative totals (float, NaN where not shown): the adjusted count, not shown below
    K; a total of 0 (nothing yet) shown as 0, except when the layer withholds everything."""
    true = np.asarray(true, dtype="int64")
    shape = true.shape
    out = layer.counts(true.ravel(), np.asarray(keys, dtype="int64").ravel()).to_numpy(dtype="float64", na_value=np.nan)
    if not layer.withhold_all:
        out[true.ravel() == 0] = 0.0
    return out.reshape(shape)


def published_differences(published: np.ndarray, true: np.ndarray, k: int) -> np.ndarray:
    """The difference of consecutive published totals along the last axis (float, NaN where not
    shown): shown when both totals are and the true count between them is at least ``k``; as that
    count is at least ``k``, a difference the adjustments took below ``k`` is shown as ``k`` (a
    function of published figures, so it tells nothing more).

    >>> published_differences(np.array([0.0, 9.0, np.nan, 30.0, 41.0, 46.0]), np.array([0, 8, 12, 29, 40, 48]),
    ...                       8).tolist()
    [9.0, nan, nan, 11.0, 8.0]
    """
    published = np.asarray(published, dtype="float64")
    diff = np.maximum(np.diff(published, axis=-1), k)  # NaN stays NaN
    small = np.diff(np.asarray(true, dtype="int64"), axis=-1) < k
    return np.where(small, np.nan, diff)


def as_int64(values) -> pd.arrays.IntegerArray:
    """Float values with NaN as a nullable integer array (NaN -> NA)."""
    return pd.array(np.asarray(values, dtype="float64"), dtype="Float64").astype("Int64")


def _plain(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


@dataclass(frozen=True)
class RangeCount:
    """A count for a range of days: the published total at its end minus the one before its start.
    ``value`` is None when not shown; ``small`` says that what is published shows it to be fewer
    than K (the total at its end is not shown, or both are and their difference is not), rather
    than it being drawn from a total before its start that is not shown."""

    value: int | None
    small: bool

    def text(self, k: int) -> str:
        if self.value is not None:
            return f"{self.value:,}"
        return f"fewer than {k}" if self.small else "not shown"


def _range_counts(published: np.ndarray, true: np.ndarray, k: int) -> list[RangeCount]:
    """RangeCounts from published and true totals of shape (groups, 2): before and at the end."""
    values = published_differences(published, true, k)[:, 0]
    # Not shown and certainly fewer than K: the total at the end is itself not shown (so below K),
    # or both totals are shown and the difference is not.
    small = np.isnan(published[:, 1]) | (~np.isnan(published[:, 0]) & np.isnan(values))
    return [RangeCount(_plain(v), bool(s and np.isnan(v))) for v, s in zip(values, small)]


def range_ends(first: dt.date, last: dt.date) -> np.ndarray:
    """The day numbers a range [first, last] is the difference of: the day before it and its last."""
    return np.array([day_number(first) - 1, day_number(last)], dtype="int64")


# ------------------------------------------------------------------ registrations over time


def _keys(values: pd.Series) -> np.ndarray:
    """Record keys as int64 (a missing key, an erased registration's, is 0: it is in a retired sum)."""
    return pd.to_numeric(values, errors="coerce").fillna(0).to_numpy(dtype="int64")


def retired_sums(
    retired: pd.DataFrame | None, series: str, district: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The day numbers and key sums of one series of ``RetiredKey`` ('registered' or 'withdrawn'),
    for one district or all."""
    if retired is None or not len(retired):
        return np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64")
    chosen = retired[retired["series"] == series]
    if district is not None:
        chosen = chosen[chosen["district_code"] == district]
    days = chosen["day_number"].to_numpy(dtype="int64") if "day_number" in chosen else day_numbers(chosen["day"])
    return days, chosen["key_sum"].to_numpy(dtype="int64")


def only_district(frames: dict[str, pd.DataFrame], district: str | None) -> dict[str, pd.DataFrame]:
    """The registrations, camera mix, registrations due to confirm, requests and uploaded files of
    one district (all when None); the retired sums are chosen per district by :func:`retired_sums`,
    so they are handed on whole with ``district`` noted."""
    if district is None:
        return {**frames, "district": None}
    out = {**frames, "district": district}
    for name in ("registrations", "mix", "due", "requests", "files"):
        if name in frames:
            rows = frames[name]
            out[name] = rows[(rows["district_code"] == district).to_numpy(dtype=bool)]
    return out


SERIES_COLUMNS = ["start", "registrations", "cameras", "total"]


def registrations_series(
    registrations: pd.DataFrame,
    retired: pd.DataFrame | None,
    first: dt.date,
    last: dt.date,
    period: str,
    layer: Disclosure,
    district: str | None = None,
) -> pd.DataFrame:
    """Registrations made and their cameras per day or week, and the published running total, from
    the fixed-calendar series: registrations ever made (erased ones too: their keys are in the
    'registered' retired sums) and the cameras registered with them (their own keys). A period's
    cameras are not shown when its registrations are fewer than K.

    Parameters
    ----------
    registrations : consent_at (or consent_day), cameras, record_key, camera_keys, and ``weight``
        (how many registrations a row stands for; 1 when absent): every registration ever made (of
        the district, when one is chosen)
    district : the district the registrations are of (for its retired sums), None for the force

    ``attrs["before"]`` holds the published total at the end of the period before the first.
    """
    starts, ends = calendar(first, last, period)
    days = _consent_days(registrations)
    extra_days, extra_keys = retired_sums(retired, "registered", district)
    true, keys = cumulative_by(
        days,
        ends,
        keys=_keys(registrations["record_key"]),
        weights=_weights(registrations),
        extra_days=extra_days,
        extra_keys=extra_keys,
    )
    cam_true, cam_keys = cumulative_by(
        days,
        ends,
        keys=registrations["camera_keys"].to_numpy(dtype="int64"),
        weights=registrations["cameras"].to_numpy(dtype="int64"),
    )
    published = publish_totals(layer, true, keys)[0]
    made = published_differences(published, true[0], layer.k)
    cameras = published_differences(publish_totals(layer, cam_true, cam_keys)[0], cam_true[0], layer.k)
    cameras[np.diff(true[0]) < layer.k] = np.nan
    out = pd.DataFrame(
        {
            "start": starts,
            "registrations": as_int64(made),
            "cameras": as_int64(cameras),
            "total": as_int64(published[1:]),
        }
    )
    out.attrs["before"] = _plain(published[0])
    return out[SERIES_COLUMNS]


def withdrawals_series(
    registrations: pd.DataFrame,
    retired: pd.DataFrame | None,
    first: dt.date,
    last: dt.date,
    layer: Disclosure,
    district: str | None = None,
) -> pd.DataFrame:
    """Owner withdrawals per week and their published running total. A withdrawn registration has
    no record key left: the cell keys are the 'withdrawn' retired sums alone."""
    starts, ends = calendar(first, last, "week")
    extra_days, extra_keys = retired_sums(retired, "withdrawn", district)
    true, keys = cumulative_by(
        _owner_withdrawal_days(registrations),
        ends,
        weights=_weights(registrations),
        extra_days=extra_days,
        extra_keys=extra_keys,
    )
    published = publish_totals(layer, true, keys)[0]
    return pd.DataFrame(
        {
            "start": starts,
            "withdrawals": as_int64(published_differences(published, true[0], layer.k)),
            "total": as_int64(published[1:]),
        }
    )


def weekly_for_projection(published_totals: list[int | None]) -> list[int]:
    """The weekly counts a projection is fitted to: differences of consecutive published weekly
    totals, both published (so a function of published figures only), from the first such pair on.

    >>> weekly_for_projection([None, 10, 21, None, 40, 52])
    [11, 12]
    """
    out = []
    for before, after in zip(published_totals, published_totals[1:]):
        if before is not None and after is not None:
            out.append(int(after) - int(before))
    return out


def due_to_confirm(due: pd.DataFrame, layer: Disclosure) -> int | None:
    """The active registrations due to confirm their details, adjusted with their keys, from
    ``due`` (district_code, registrations, registrations_key: rows of one district or all, counted
    by ``uptake_queries.due_to_confirm`` with ``registration.confirmation_cutoff``)."""
    n = int(due["registrations"].sum()) if len(due) else 0
    key = int(due["registrations_key"].sum()) if len(due) else 0
    return layer.count(n, key % KEY_RANGE)


def headline(
    registrations: pd.DataFrame,
    retired: pd.DataFrame | None,
    first: dt.date,
    last: dt.date,
    due: pd.DataFrame,
    layer: Disclosure,
    district: str | None = None,
) -> dict[str, RangeCount | int | None]:
    """Registrations and their cameras made from ``first`` to ``last`` (UK days; the caller widens
    the range to whole weeks below force level), owner withdrawals in that time, each a difference
    of the fixed-calendar series (:class:`RangeCount`), and the active registrations due to confirm
    now (:func:`due_to_confirm` of ``due``)."""
    ends = range_ends(first, last)
    days = _consent_days(registrations)
    weights = _weights(registrations)
    extra_days, extra_keys = retired_sums(retired, "registered", district)
    true, keys = cumulative_by(
        days,
        ends,
        keys=_keys(registrations["record_key"]),
        weights=weights,
        extra_days=extra_days,
        extra_keys=extra_keys,
    )
    made = _range_counts(publish_totals(layer, true, keys), true, layer.k)[0]
    cam_true, cam_keys = cumulative_by(
        days,
        ends,
        keys=registrations["camera_keys"].to_numpy(dtype="int64"),
        weights=registrations["cameras"].to_numpy(dtype="int64"),
    )
    cameras = _range_counts(publish_totals(layer, cam_true, cam_keys), cam_true, layer.k)[0]
    if made.value is None:  # cameras of fewer than K registrations are not shown either
        cameras = RangeCount(None, made.small)
    w_days, w_keys = retired_sums(retired, "withdrawn", district)
    w_true, w_cell = cumulative_by(
        _owner_withdrawal_days(registrations), ends, weights=weights, extra_days=w_days, extra_keys=w_keys
    )
    withdrawn = _range_counts(publish_totals(layer, w_true, w_cell), w_true, layer.k)[0]
    return {
        "registrations": made,
        "cameras": cameras,
        "withdrawn": withdrawn,
        "due": due_to_confirm(due, layer),
    }


def total_so_far(
    registrations: pd.DataFrame,
    retired: pd.DataFrame | None,
    day: dt.date,
    layer: Disclosure,
    district: str | None = None,
) -> int | None:
    """The published total of registrations made up to the end of ``day`` (the fixed-calendar series)."""
    ends = np.array([day_number(day)], dtype="int64")
    extra_days, extra_keys = retired_sums(retired, "registered", district)
    true, keys = cumulative_by(
        _consent_days(registrations),
        ends,
        keys=_keys(registrations["record_key"]),
        weights=_weights(registrations),
        extra_days=extra_days,
        extra_keys=extra_keys,
    )
    return _plain(publish_totals(layer, true, keys)[0, 0])


# ------------------------------------------------------------------------------- projection


def projection(weekly: list[int], weeks_ahead: int = 12, level: float = 0.95) -> pd.DataFrame:
    """Registrations per week for the coming weeks from a straight line fitted to the weeks so far
    (ordinary least squares), with a prediction interval: the method named on the page.

    Returns columns week (1..weeks_ahead after the last), expected, low, high (never below 0), and
    the same for the running total from the last week's (``cumulative``, ``cumulative_low``,
    ``cumulative_high``, the band of the total assuming independent weekly errors).

    >>> out = projection([10, 12, 14, 16], 2)
    >>> out[["week", "expected", "low", "high"]].values.tolist()
    [[1.0, 18.0, 18.0, 18.0], [2.0, 20.0, 20.0, 20.0]]
    """
    y = np.asarray(weekly, dtype="float64")
    n = len(y)
    if n < 3:
        raise ValueError("a projection needs at least 3 weeks of registrations")
    x = np.arange(n, dtype="float64")
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    sigma = math.sqrt(float((residual**2).sum()) / (n - 2)) if n > 2 else 0.0
    z = _t_quantile(level, n - 2)
    future = np.arange(n, n + weeks_ahead, dtype="float64")
    expected = np.maximum(slope * future + intercept, 0.0)
    spread = z * sigma * np.sqrt(1 + 1 / n + (future - x.mean()) ** 2 / ((x - x.mean()) ** 2).sum())
    low, high = np.maximum(expected - spread, 0.0), expected + spread
    cumulative = np.cumsum(expected)
    band = z * sigma * np.sqrt(np.arange(1, weeks_ahead + 1))
    return pd.DataFrame(
        {
            "week": np.arange(1, weeks_ahead + 1, dtype="float64"),
            "expected": expected.round(2),
            "low": low.round(2),
            "high": high.round(2),
            "cumulative": cumulative.round(2),
            "cumulative_low": np.maximum(cumulative - band, 0).round(2),
            "cumulative_high": (cumulative + band).round(2),
        }
    )


def _t_quantile(level: float, dof: int) -> float:
    """Two-sided Student t quantile for ``level`` (normal for many degrees of freedom), from a
    small table: scipy is not a dependency.

    >>> _t_quantile(0.95, 2), _t_quantile(0.95, 1000)
    (4.303, 1.96)
    """
    if level != 0.95:
        raise ValueError("only 95% intervals are tabulated")
    table = {
        1: 12.706,
        2: 4.303,
        3: 3.182,
        4: 2.776,
        5: 2.571,
        6: 2.447,
        7: 2.365,
        8: 2.306,
        9: 2.262,
        10: 2.228,
        12: 2.179,
        15: 2.131,
        20: 2.086,
        25: 2.060,
        30: 2.042,
        40: 2.021,
        60: 2.000,
        120: 1.980,
    }
    if dof < 1:
        return table[1]
    fitting = [d for d in sorted(table) if d <= dof]
    return table[fitting[-1]] if dof <= 120 else 1.96


# -------------------------------------------------------------------------------- campaigns


FUNNEL_COLUMNS = ["campaign", "channel", "scans", "form_starts", "completions", "start_rate", "completion_rate"]


def funnel(
    daily: pd.DataFrame, campaigns: pd.DataFrame, first: dt.date, last: dt.date, layer: Disclosure, by: str = "campaign"
) -> pd.DataFrame:
    """Scans -> form starts -> completions per campaign (``by="campaign"``: every campaign in
    ``campaigns``) or per channel (``by="channel"``: every channel), over the range widened to whole
    UK weeks, with the conversion at each step. Completions (registrations) are the difference of
    each campaign's or channel's fixed-calendar weekly series (keys: the days' ``completion_keys``);
    scans and form starts are page visits (``Disclosure.exact``); rates from published figures.

    Parameters
    ----------
    daily : slug, channel, day, scans, form_starts, completions, completion_keys (a campaign and day a row)
    campaigns : slug, campaign (name), channel: every campaign, in the order to list them
    """
    monday, sunday = whole_weeks(first, last)
    if by == "campaign":
        rows = campaigns.reset_index(drop=True)
        codes = {slug: i for i, slug in enumerate(rows["slug"])}
        group = daily["slug"].map(codes)
        out = pd.DataFrame({"campaign": rows["campaign"].astype(object), "channel": rows["channel"].astype(object)})
    elif by == "channel":
        codes = {c: i for i, c in enumerate(CAMPAIGN_CHANNELS)}
        group = daily["channel"].map(codes)
        out = pd.DataFrame({"campaign": list(CAMPAIGN_CHANNELS), "channel": list(CAMPAIGN_CHANNELS)})
    else:
        raise ValueError(f"by must be 'campaign' or 'channel', got {by!r}")
    n = len(out)
    group = group.fillna(-1).to_numpy(dtype="int64")
    days = day_numbers(daily["day"])
    inside = (days >= day_number(monday)) & (days <= day_number(sunday)) & (group >= 0)
    visits = {
        step: np.bincount(group[inside], weights=daily[step].to_numpy(dtype="float64")[inside], minlength=n).astype(
            "int64"
        )
        for step in ("scans", "form_starts")
    }
    true, keys = cumulative_by(
        days,
        range_ends(monday, sunday),
        groups=group,
        n_groups=n,
        keys=daily["completion_keys"].to_numpy(dtype="int64"),
        weights=daily["completions"].to_numpy(dtype="int64"),
    )
    completions = published_differences(publish_totals(layer, true, keys), true, layer.k)[:, 0]
    scans = pd.array(layer.exact(pd.array(visits["scans"], dtype="Int64")), dtype="Int64")
    starts = pd.array(layer.exact(pd.array(visits["form_starts"], dtype="Int64")), dtype="Int64")
    out["scans"], out["form_starts"], out["completions"] = scans, starts, as_int64(completions)
    out["start_rate"] = Disclosure.rate(starts, scans)
    out["completion_rate"] = Disclosure.share(out["completions"].array, starts)
    out.attrs.update(first=monday, last=sunday)
    return out[FUNNEL_COLUMNS]


def campaign_totals(totals: pd.DataFrame, layer: Disclosure) -> pd.DataFrame:
    """Every campaign's funnel so far (``registry.campaigns.campaign_totals``: scans, form_starts,
    completions, completion_keys) as it may be shown: completions adjusted with the sum of their
    days' keys (the same set, so the same figure, as the end of its weekly series), page visits
    through ``Disclosure.exact``."""
    out = totals.copy()
    out["scans"] = pd.array(layer.exact(pd.array(totals["scans"], dtype="Int64")), dtype="Int64")
    out["form_starts"] = pd.array(layer.exact(pd.array(totals["form_starts"], dtype="Int64")), dtype="Int64")
    out["completions"] = layer.counts(
        totals["completions"].to_numpy(dtype="int64"), totals["completion_keys"].to_numpy(dtype="int64") % KEY_RANGE
    )
    return out.drop(columns=["completion_keys"])


# ------------------------------------------------------------------------------ the register


def district_uptake(counts: pd.DataFrame, districts: pd.DataFrame, layer: Disclosure) -> pd.DataFrame:
    """Active registrations and cameras per district (every reference district, in this order
    first), adjusted with their keys, and registrations per 1,000 households from the published
    count; ranked by that rate (hidden ones last, by name). Cameras are not shown where the
    registrations are fewer than K.

    Parameters
    ----------
    counts : area_code, registrations, registrations_key, cameras, cameras_key (true counts and
        their cell keys per district: ``summaries.area_counts``; districts absent have none)
    districts : code, name, households
    """
    codes = districts["code"].astype(object).tolist()
    by_code = counts.set_index("area_code").reindex(codes)
    column = lambda name: by_code[name].fillna(0).to_numpy(dtype="int64")  # noqa: E731
    reg_true, cam_true = column("registrations"), column("cameras")
    regs = layer.counts(reg_true, column("registrations_key") % KEY_RANGE)
    cams = layer.counts(cam_true, column("cameras_key") % KEY_RANGE)
    cams[reg_true < layer.k] = pd.NA
    households = pd.array(
        layer.exact(pd.array(districts["households"].to_numpy(dtype="float64"), dtype="Float64")), dtype="Float64"
    )
    out = pd.DataFrame(
        {
            "code": codes,
            "name": districts["name"].astype(object).tolist(),
            "households": households,
            "registrations": regs,
            "cameras": cams,
        }
    )
    out["registrations_per_1000"] = Disclosure.rate(regs, households, 1000, 2)
    out["_rate"] = out["registrations_per_1000"].fillna(-1.0)
    out = out.sort_values(["_rate", "name"], ascending=[False, True], kind="stable").drop(columns="_rate")
    return out.reset_index(drop=True)


MIX_COLUMNS = ["aspect", "value", "cameras", "registrations", "share"]
ASPECTS = {"kind": "Camera kind", "placement": "Indoors or outdoors", "retention": "Keeps footage for"}
# Every value each aspect can take, listed whether or not the register has it (promise 4).
ASPECT_VALUES = {"kind": list(CAMERA_KINDS), "placement": list(PLACEMENTS), "retention": RETENTION_LABELS}


def _mix_sums(mix: pd.DataFrame) -> pd.DataFrame:
    """The mix rows (``register_mix``: district_code, aspect, value and the four sums) summed over
    the districts they hold: one row per (aspect, value). A registration is in one district, so
    its distinct counts add up across districts."""
    sums = ["registrations", "registrations_key", "cameras", "cameras_key"]
    return mix.groupby(["aspect", "value"], sort=True)[sums].sum().astype("int64")


def _mix_row(sums: pd.DataFrame, aspect: str, value: str) -> tuple[int, int, int, int]:
    if (aspect, value) not in sums.index:
        return 0, 0, 0, 0
    row = sums.loc[(aspect, value)]
    return int(row["registrations"]), int(row["registrations_key"]), int(row["cameras"]), int(row["cameras_key"])


def camera_mix(mix: pd.DataFrame, layer: Disclosure, labels: dict[str, dict[str, str]]) -> pd.DataFrame:
    """Cameras by kind, by indoors/outdoors and by how long they keep footage (every value of each,
    :data:`ASPECT_VALUES`), adjusted with the cameras' keys, the registrations with such a camera
    (adjusted with theirs), and the share of all cameras from the published counts. A value's
    cameras are not shown when its registrations are fewer than K.

    Parameters
    ----------
    mix : ``register_mix`` rows (district_code, aspect, value, registrations, registrations_key,
        cameras, cameras_key; raw key sums) of one district or all
    labels : readable names per aspect and code ({"kind": {"dome": "Dome"}, ...})
    """
    sums = _mix_sums(mix)
    regs_total, _, cams_total, cams_key = _mix_row(sums, "all", "")
    total = layer.count(cams_total, cams_key % KEY_RANGE) if regs_total >= layer.k else None
    parts = []
    for aspect, values in ASPECT_VALUES.items():
        rows = np.array([_mix_row(sums, aspect, v) for v in values], dtype="int64").reshape(len(values), 4)
        reg_true, reg_keys, cam_true, cam_keys = rows.T
        cams = layer.counts(cam_true, cam_keys % KEY_RANGE)
        cams[reg_true < layer.k] = pd.NA
        names = labels.get(aspect, {})
        parts.append(
            pd.DataFrame(
                {
                    "aspect": aspect,
                    "value": [names.get(v, v) for v in values],
                    "cameras": cams,
                    "registrations": layer.counts(reg_true, reg_keys % KEY_RANGE),
                    "share": Disclosure.share(cams, pd.array([total] * len(values), dtype="Int64")),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[MIX_COLUMNS]


def completeness(mix: pd.DataFrame, layer: Disclosure) -> dict[str, float | None]:
    """Share of cameras with a direction, a retention period and what they overlook filled in, from
    published counts (each adjusted with its cameras' keys); None when the cameras come from fewer
    than K registrations, or a count is not shown.

    Parameters
    ----------
    mix : ``register_mix`` rows of one district or all (aspects 'all' and 'given' are read)
    """
    sums = _mix_sums(mix)
    regs_total, _, cams_total, cams_key = _mix_row(sums, "all", "")
    if regs_total < layer.k:
        return {"direction": None, "retention": None, "overlooks": None}
    total = layer.count(cams_total, cams_key % KEY_RANGE)
    out = {}
    for name in ("direction", "retention", "overlooks"):
        _, _, n, key = _mix_row(sums, "given", name)
        out[name] = Disclosure.share(layer.count(n, key % KEY_RANGE), total)
    return out


# ------------------------------------------------------------------------- footage requests


OUTCOMES = tuple(s for s in REQUEST_STATUSES if s != "sent") + ("sent",)
ANSWERED = ("footage_provided", "no_relevant_footage", "declined")
# The police.uk crime categories (what the officer's request form offers) and a row for the rest:
# a fixed list, as the categories that occur in requests would themselves come from the register.
CRIME_CATEGORIES = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)
NOT_RECORDED = "Not recorded or other"


def _sent_days(requests: pd.DataFrame) -> np.ndarray:
    if "sent_day" in requests:
        return requests["sent_day"].to_numpy(dtype="int64")
    return day_numbers(requests["sent_at"])


def _request_masks(requests: pd.DataFrame) -> dict[str, np.ndarray]:
    status = requests["status"].astype(object).to_numpy()
    useful = requests["footage_useful"].astype(object)
    return {
        "requests": np.ones(len(requests), dtype=bool),
        "answered": np.isin(status, ANSWERED),
        "closed": status != "withdrawn",
        "footage_provided": status == "footage_provided",
        "judged": useful.notna().to_numpy(),
        "useful": useful.fillna(False).astype(bool).to_numpy(),
        "too_late": requests["footage_likely_overwritten"].astype(object).fillna(False).astype(bool).to_numpy(),
        **{f"status:{s}": status == s for s in OUTCOMES},
    }


def _masked_ranges(
    days: np.ndarray,
    keys: np.ndarray,
    masks: dict[str, np.ndarray],
    monday: dt.date,
    sunday: dt.date,
    layer: Disclosure,
    groups: np.ndarray | None = None,
    n_groups: int = 1,
    measures: tuple[str, ...] | None = None,
) -> dict[str, list[RangeCount]]:
    """Counts of the records each mask picks (all masks, or ``measures``) over the weeks, per group:
    each the difference of its own fixed-calendar series (the records' keys)."""
    ends = range_ends(monday, sunday)
    out = {}
    for name, mask in masks.items():
        if measures is not None and name not in measures:
            continue
        true, cell = cumulative_by(
            days[mask], ends, groups=None if groups is None else groups[mask], n_groups=n_groups, keys=keys[mask]
        )
        out[name] = _range_counts(publish_totals(layer, true, cell), true, layer.k)
    return out


def _request_ranges(
    requests: pd.DataFrame,
    monday: dt.date,
    sunday: dt.date,
    layer: Disclosure,
    groups: np.ndarray | None = None,
    n_groups: int = 1,
    measures: tuple[str, ...] | None = None,
) -> dict[str, list[RangeCount]]:
    """Request measures (all, or ``measures``) over the weeks, per group: differences of
    fixed-calendar series."""
    return _masked_ranges(
        _sent_days(requests),
        requests["record_key"].to_numpy(dtype="int64"),
        _request_masks(requests),
        monday,
        sunday,
        layer,
        groups,
        n_groups,
        measures,
    )


# Time from request to footage is published as the band its median (and 90th percentile) falls in,
# found from published counts of "footage within so many days" (cumulative, each with its own cell
# key), never from the waits themselves: an exact median of a range and of the range one week longer
# gave a lone owner's wait to a tenth of a day by differencing (issue 16's attacker). Counts below K
# are not used (taken as none), as they are not shown.
WAIT_EDGES_DAYS = (1, 2, 3, 5, 7, 14, 30)
WAIT_BANDS = (
    "up to 1 day",
    "1 to 2 days",
    "2 to 3 days",
    "3 to 5 days",
    "5 to 7 days",
    "7 to 14 days",
    "14 to 30 days",
    "over 30 days",
)


def wait_bands(waits_days: np.ndarray, keys: np.ndarray, layer: Disclosure) -> tuple[str | None, str | None]:
    """The bands (``WAIT_BANDS``) holding the median and the 90th percentile of ``waits_days``, from
    published cumulative counts; (None, None) when fewer than K waits (or nothing is published).

    >>> from dashboard.analytics.disclosure import PTable
    >>> layer = Disclosure(PTable.build(8, 0, 0.0))  # no adjustment: worked by hand
    >>> wait_bands(np.arange(1.0, 13.0), np.zeros(12, dtype="int64"), layer)  # 1..12 days: 12 in all
    ('7 to 14 days', '7 to 14 days')
    >>> wait_bands(np.array([0.5] * 10 + [4.0] * 10 + [20.0] * 5), np.zeros(25, dtype="int64"), layer)
    ('3 to 5 days', '14 to 30 days')
    """
    waits = np.asarray(waits_days, dtype="float64")
    keys = np.asarray(keys, dtype="int64")
    total = layer.count(len(waits), int(keys.sum() % KEY_RANGE))
    if total is None:
        return None, None
    within = []
    for edge in WAIT_EDGES_DAYS:
        inside = waits <= edge
        within.append(layer.count(int(inside.sum()), int(keys[inside].sum() % KEY_RANGE)) or 0)
    within.append(total)

    def band(share: float) -> str:
        return next(WAIT_BANDS[i] for i, n in enumerate(within) if n >= share * total)

    return band(0.5), band(0.9)


def request_outcomes(requests: pd.DataFrame, first: dt.date, last: dt.date, layer: Disclosure) -> dict:
    """Footage requests sent in the whole UK weeks holding ``first`` to ``last``: how many, by
    status, the response rate (answered of those not withdrawn), time from request to footage
    (the bands, ``WAIT_BANDS``, of its median and 90th percentile, from published counts:
    ``wait_bands``; shown only when at least K requests provided footage), the share where footage was judged useful, and requests sent after the footage was
    likely overwritten. Counts are differences of weekly fixed-calendar series (request keys);
    rates from published counts, hidden when either side is.

    Parameters
    ----------
    requests : status, sent_at, status_changed_at (aware), footage_useful (bool or NA),
        footage_likely_overwritten (bool), record_key; one row per request
    """
    monday, sunday = whole_weeks(first, last)
    ranges = {name: values[0] for name, values in _request_ranges(requests, monday, sunday, layer).items()}
    days = _sent_days(requests)
    inside = (days >= day_number(monday)) & (days <= day_number(sunday))
    provided = requests[inside & (requests["status"].astype(object) == "footage_provided").to_numpy()]
    waits = ((provided["status_changed_at"] - provided["sent_at"]).dt.total_seconds() / 86_400).to_numpy()
    median, p90 = wait_bands(waits, provided["record_key"].to_numpy(dtype="int64"), layer)
    value = lambda name: ranges[name].value  # noqa: E731
    return {
        "from": monday,
        "to": sunday,
        "requests": ranges["requests"],
        "by_status": {s: ranges[f"status:{s}"] for s in OUTCOMES},
        "response_rate": Disclosure.share(value("answered"), value("closed")),
        "median_days_to_footage": median,
        "p90_days_to_footage": p90,
        "useful_share": Disclosure.share(value("useful"), value("judged")),
        "too_late": ranges["too_late"],
    }


BREAKDOWN_COLUMNS = ["group", "requests", "answered", "response_rate", "footage_provided", "useful"]


def requests_by(
    requests: pd.DataFrame,
    column: str,
    groups: list[str],
    names: dict[str, str],
    first: dt.date,
    last: dt.date,
    layer: Disclosure,
) -> pd.DataFrame:
    """Requests per district or crime category over the whole weeks holding ``first`` to ``last``:
    how many, answered, the response rate, footage provided and judged useful. Rows: every one of
    ``groups`` (a fixed list) and :data:`NOT_RECORDED` for the rest; each count a difference of the
    group's weekly fixed-calendar series, the rate from published counts."""
    monday, sunday = whole_weeks(first, last)
    index = {g: i for i, g in enumerate(groups)}
    group = requests[column].astype(object).map(index).fillna(len(groups)).to_numpy(dtype="int64")
    n = len(groups) + 1
    measures = ("requests", "answered", "closed", "footage_provided", "useful")
    ranges = _request_ranges(requests, monday, sunday, layer, group, n, measures)
    values = {name: as_int64([np.nan if r.value is None else r.value for r in ranges[name]]) for name in measures}
    out = pd.DataFrame({"group": [names.get(g, g) for g in groups] + [NOT_RECORDED]})
    for name in ("requests", "answered", "footage_provided", "useful"):
        out[name] = values[name]
    out["response_rate"] = Disclosure.share(values["answered"], values["closed"])
    return out[BREAKDOWN_COLUMNS]


def request_weeks(requests: pd.DataFrame, first: dt.date, last: dt.date, layer: Disclosure) -> pd.DataFrame:
    """Requests sent per week and their published running total (the weekly fixed-calendar series)."""
    starts, ends = calendar(first, last, "week")
    true, keys = cumulative_by(_sent_days(requests), ends, keys=requests["record_key"].to_numpy("int64"))
    published = publish_totals(layer, true, keys)[0]
    return pd.DataFrame(
        {
            "start": starts,
            "requests": as_int64(published_differences(published, true[0], layer.k)),
            "total": as_int64(published[1:]),
        }
    )


# ------------------------------------------------------------------- what became of the footage

# Issue 17's events, for the requests sent in the chosen weeks: how soon owners uploaded, what officers
# decided about the files, why they declined them, and what became of requests sent too late. Every
# count is a difference of its own fixed-calendar weekly series (as every request count above), so a
# range moved by a week, or a week with one more upload, gives the true change plus independent noise;
# files are counted with their own record keys, requests with theirs; the share accepted is worked
# out from the two published counts; the time to the first upload is a band from published counts.
FILE_DECISIONS = ("accepted", "declined", "awaiting")
TOO_LATE_OUTCOMES = OUTCOMES + ("file_accepted",)


def _file_masks(files: pd.DataFrame) -> dict[str, np.ndarray]:
    triage = files["triage"].astype(object).to_numpy()
    reason = files["decline_reason"].astype(object).to_numpy()
    declined = triage == "declined"
    return {
        "files": np.ones(len(files), dtype=bool),
        "accepted": triage == "accepted",
        "declined": declined,
        "awaiting": pd.isna(files["triage"]).to_numpy(dtype=bool),
        **{f"reason:{r}": declined & (reason == r) for r in DECLINE_REASONS},
    }


def _footage_request_masks(requests: pd.DataFrame) -> dict[str, np.ndarray]:
    status = requests["status"].astype(object).to_numpy()
    late = requests["footage_likely_overwritten"].astype(object).fillna(False).astype(bool).to_numpy()
    accepted = requests["file_accepted"].astype(object).fillna(False).astype(bool).to_numpy()
    return {
        "uploaded": requests["first_upload_at"].notna().to_numpy(dtype=bool),
        "too_late": late,
        **{f"too_late:{s}": late & (status == s) for s in OUTCOMES},
        "too_late:file_accepted": late & accepted,
    }


def first_upload_days(requests: pd.DataFrame) -> np.ndarray:
    """Days from each request being sent to its owner's first uploaded file (NaN when none; 0 when the
    file came before the request, as when a second request joined an answer already under way).

    >>> at = pd.Timestamp("2026-07-06 09:00", tz="UTC")
    >>> first_upload_days(pd.DataFrame({"sent_at": [at, at, at], "first_upload_at": [
    ...     at + pd.Timedelta(hours=36), pd.NaT, at - pd.Timedelta(hours=2)]})).tolist()
    [1.5, nan, 0.0]
    """
    waits = ((requests["first_upload_at"] - requests["sent_at"]).dt.total_seconds() / 86_400).to_numpy(dtype="float64")
    return np.where(np.isnan(waits), np.nan, np.maximum(waits, 0.0))


def footage_outcomes(
    requests: pd.DataFrame, files: pd.DataFrame, first: dt.date, last: dt.date, layer: Disclosure
) -> dict:
    """What became of the footage asked for by the requests sent in the whole UK weeks holding
    ``first`` to ``last``:

    - ``uploaded``: requests whose owner uploaded at least one file, and the bands (``WAIT_BANDS``)
      of the median and 90th percentile time from request to the first upload (``wait_bands``: from
      published counts; None unless at least K requests had an upload);
    - ``files``: the files uploaded for them (``uploaded``), accepted, declined and awaiting a
      decision (file keys), and ``accepted_share``: accepted of uploaded, from the two published
      counts (None when either is not shown);
    - ``declined_reasons``: declined files per reason, every reason of ``DECLINE_REASONS``;
    - ``too_late``: requests sent after the footage was likely overwritten, by status now, and
      those where a file was accepted all the same (request keys).

    Every count a :class:`RangeCount`, the difference of its fixed-calendar weekly series.

    Parameters
    ----------
    requests : as :func:`request_outcomes`, with first_upload_at (aware, NaT) and file_accepted (bool)
    files : sent_at (or sent_day: of the request a file answers), triage (None, 'accepted',
        'declined'), decline_reason, record_key; one row per uploaded file
    """
    monday, sunday = whole_weeks(first, last)
    asked = _masked_ranges(
        _sent_days(requests),
        requests["record_key"].to_numpy(dtype="int64"),
        _footage_request_masks(requests),
        monday,
        sunday,
        layer,
    )
    got = _masked_ranges(
        _sent_days(files), files["record_key"].to_numpy(dtype="int64"), _file_masks(files), monday, sunday, layer
    )
    asked = {name: values[0] for name, values in asked.items()}
    got = {name: values[0] for name, values in got.items()}
    days = _sent_days(requests)
    waits = first_upload_days(requests)
    inside = (days >= day_number(monday)) & (days <= day_number(sunday)) & ~np.isnan(waits)
    median, p90 = wait_bands(waits[inside], requests["record_key"].to_numpy(dtype="int64")[inside], layer)
    return {
        "from": monday,
        "to": sunday,
        "uploaded": asked["uploaded"],
        "median_days_to_first_upload": median,
        "p90_days_to_first_upload": p90,
        "files": {name: got[name] for name in ("files",) + FILE_DECISIONS},
        "accepted_share": Disclosure.share(got["accepted"].value, got["files"].value),
        "declined_reasons": {r: got[f"reason:{r}"] for r in DECLINE_REASONS},
        "too_late": asked["too_late"],
        "too_late_outcomes": {o: asked[f"too_late:{o}"] for o in TOO_LATE_OUTCOMES},
    }
