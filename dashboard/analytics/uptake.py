"""Pilot uptake and request outcomes (issue 6) as pure functions of data frames.

Days and weeks are those of the force, Europe/London: a registration at 23:30 UTC on a summer
Sunday is made at 00:30 BST on Monday, in the next week. Weeks start on Monday.

Suppression (promise 4). A count drawn from fewer than K registrations is not shown. A running
total is the one place where hiding single periods is not enough: with the totals before and
after a hidden week published, its count is their difference. So :func:`running_total` publishes
the total only where it has grown by at least K since the last published point; the periods in
between show neither their own count nor the total.
"""
from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from dashboard.analytics.gaps import registrations_per_area
from dashboard.analytics.suppression import shown_mask, suppress
from dashboard.registry.registration import confirmation_cutoff

LONDON = ZoneInfo("Europe/London")
PERIODS = ("day", "week")


def uk_days(when: pd.Series) -> pd.Series:
    """The Europe/London calendar day of each timezone-aware instant, as midnight (datetime64, no
    time zone): vectorised, as the register has a million rows.

    >>> uk_days(pd.Series(pd.to_datetime(["2026-07-05 23:30", "2026-01-04 23:30"], utc=True))).dt.date.tolist()
    [datetime.date(2026, 7, 6), datetime.date(2026, 1, 4)]
    """
    if when.dt.tz is None:
        raise ValueError("instants must be timezone-aware (UTC)")
    return when.dt.tz_convert(LONDON).dt.tz_localize(None).dt.normalize()


def in_days(days: pd.Series, first: dt.date, last: dt.date) -> pd.Series:
    """Which of ``uk_days`` fall from ``first`` to ``last`` (both included)."""
    return days.between(pd.Timestamp(first), pd.Timestamp(last))


def period_start(day: dt.date, period: str) -> dt.date:
    """The first day of the day or week (Monday) holding ``day``.

    >>> period_start(dt.date(2026, 7, 12), "week"), period_start(dt.date(2026, 7, 13), "week")
    (datetime.date(2026, 7, 6), datetime.date(2026, 7, 13))
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, got {period!r}")
    return day - dt.timedelta(days=day.weekday()) if period == "week" else day


def _day_numbers(days: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 (a Thursday) from datetime64 days or date objects."""
    values = days.to_numpy()
    if values.dtype.kind != "M":
        values = pd.to_datetime(pd.Series(values, dtype=object)).to_numpy()
    return values.astype("datetime64[D]").astype("int64")


def per_period(days: pd.Series, first: dt.date, last: dt.date, period: str, weights: pd.Series | None = None
               ) -> pd.DataFrame:
    """Counts (or sums of ``weights``) per day or week from the period holding ``first`` to the one
    holding ``last``, every period present (zeros included), and the count before ``first``'s
    period as ``before`` (for running totals). ``days`` are ``uk_days`` (or dates).

    >>> days = pd.Series([dt.date(2026, 7, 6), dt.date(2026, 7, 8), dt.date(2026, 7, 20), dt.date(2026, 6, 1)])
    >>> out = per_period(days, dt.date(2026, 7, 7), dt.date(2026, 7, 21), "week")
    >>> out["start"].tolist() == [dt.date(2026, 7, 6), dt.date(2026, 7, 13), dt.date(2026, 7, 20)], out["count"].tolist()
    (True, [2, 0, 1])
    >>> out.attrs["before"]
    1
    """
    if first > last:
        raise ValueError(f"first ({first}) is after last ({last})")
    start, end = period_start(first, period), period_start(last, period)
    step = 7 if period == "week" else 1
    epoch = dt.date(1970, 1, 1)
    number = _day_numbers(days)
    if period == "week":
        number = number - (number + 3) % 7  # back to Monday (1970-01-01 was a Thursday)
    index = (number - (start - epoch).days) // step
    n = (end - start).days // step + 1
    values = np.ones(len(number), dtype="int64") if weights is None else weights.to_numpy(dtype="int64")
    inside = (index >= 0) & (index < n)
    counts = np.bincount(index[inside], weights=values[inside], minlength=n).astype("int64")
    starts = [start + dt.timedelta(days=step * i) for i in range(n)]
    out = pd.DataFrame({"start": starts, "count": counts})
    out.attrs["before"] = int(values[index < 0].sum())
    return out


def running_total(counts: list[int], k: int, before: int = 0) -> tuple[list[int | None], list[int | None]]:
    """Each period's count and the running total as they may be shown.

    The total is published at a period only when it has grown by at least ``k`` since the last
    published total (``before`` counts as published when it is 0 or at least ``k``); a period's own
    count is shown only when it is itself a published step (its total is published and the one
    before it too). Hidden values are None.

    >>> running_total([10, 3, 4, 2, 9, 0, 1], 8)
    ([10, None, None, None, 9, None, None], [10, None, None, 19, 28, None, None])
    >>> running_total([8, 8], 8, before=5)   # 5 before is not shown, so neither is the first week's 8
    ([None, 8], [13, 21])
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    shown_counts: list[int | None] = []
    shown_totals: list[int | None] = []
    total = before
    published = before if before == 0 or before >= k else None
    previous_published = True if published is not None else False
    last_published = published if published is not None else 0
    for count in counts:
        total += int(count)
        publish = total - last_published >= k
        shown_totals.append(total if publish else None)
        shown_counts.append(int(count) if publish and previous_published and count == total - last_published
                            else None)
        if publish:
            last_published = total
        previous_published = publish
    return shown_counts, shown_totals


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


def headline(registrations: pd.DataFrame, first: dt.date, last: dt.date, now: dt.datetime,
             reconfirm_months: int, k: int) -> dict[str, int | None]:
    """Registrations and their cameras made from ``first`` to ``last`` (UK days), owner withdrawals
    in that time (:func:`owner_withdrawals`), and active registrations due to confirm at ``now``:
    last confirmed ``reconfirm_months`` calendar months ago or more (the retention period, the same
    rule: ``dashboard.registry.registration.confirmation_cutoff``); each None when drawn from
    fewer than ``k`` registrations."""
    made = in_days(uk_days(registrations["consent_at"]), first, last)
    withdrawn = in_days(uk_days(owner_withdrawals(registrations)), first, last)
    due = ((registrations["status"] == "active")
           & (registrations["last_confirmed_at"] <= confirmation_cutoff(now, reconfirm_months)))
    return {"registrations": suppress(int(made.sum()), k).value,
            "cameras": suppress(int(registrations.loc[made, "cameras"].sum()), k, basis=int(made.sum())).value,
            "withdrawn": suppress(int(withdrawn.sum()), k).value,
            "due": suppress(int(due.sum()), k).value}


def conversion(numerator: int | None, denominator: int | None) -> float | None:
    """A share rounded to 4 places; None when either side is hidden or the base is 0.

    >>> conversion(3, 8), conversion(None, 8), conversion(2, 0)
    (0.375, None, None)
    """
    if numerator is None or denominator is None or denominator == 0:
        return None
    return round(numerator / denominator, 4)


FUNNEL_COLUMNS = ["campaign", "channel", "scans", "form_starts", "completions", "start_rate", "completion_rate"]


def funnel(daily: pd.DataFrame, first: dt.date, last: dt.date, k: int) -> pd.DataFrame:
    """Scans -> form starts -> completions per campaign over the days chosen, with the conversion
    at each step. Completions are registrations: fewer than ``k`` are hidden, and so is the
    completion rate drawn from them. Scans and starts are counts of page visits, not people's data.

    Parameters
    ----------
    daily : columns campaign, channel, day, scans, form_starts, completions (one row per campaign and day)

    >>> daily = pd.DataFrame({"campaign": ["A", "A", "B"], "channel": ["poster"] * 3,
    ...     "day": [dt.date(2026, 7, 1), dt.date(2026, 7, 2), dt.date(2026, 7, 1)],
    ...     "scans": [100, 60, 40], "form_starts": [30, 20, 10], "completions": [6, 4, 3]})
    >>> funnel(daily, dt.date(2026, 7, 1), dt.date(2026, 7, 31), 8).to_dict("list")["completion_rate"]
    [0.2, None]
    """
    chosen = daily[(daily["day"] >= first) & (daily["day"] <= last)]
    out = chosen.groupby(["campaign", "channel"], as_index=False)[["scans", "form_starts", "completions"]].sum()
    out = out.sort_values(["channel", "campaign"]).reset_index(drop=True)
    completions = [int(c) if c >= k else None for c in out["completions"]]
    out["start_rate"] = pd.array([conversion(int(s), int(n)) for s, n in zip(out["form_starts"], out["scans"])],
                                 dtype="Float64")
    out["completion_rate"] = pd.array([conversion(c, int(s)) for c, s in zip(completions, out["form_starts"])],
                                      dtype="Float64")
    out["completions"] = pd.array(completions, dtype="Int64")
    return out[FUNNEL_COLUMNS]


def completeness(cameras: pd.DataFrame, k: int) -> dict[str, float | None]:
    """Share of cameras with a direction, a retention period and what they overlook filled in;
    None when the cameras come from fewer than ``k`` registrations.

    Parameters
    ----------
    cameras : columns registrant_id, direction_deg, retention_days, overlooks ("" when not given)

    >>> cams = pd.DataFrame({"registrant_id": range(8), "direction_deg": [90, None] * 4,
    ...     "retention_days": [30] * 8, "overlooks": ["street", ""] * 2 + [""] * 4})
    >>> completeness(cams, 8)
    {'direction': 0.5, 'retention': 1.0, 'overlooks': 0.25}
    """
    if cameras["registrant_id"].nunique() < k or len(cameras) == 0:
        return {"direction": None, "retention": None, "overlooks": None}
    given = {"direction": cameras["direction_deg"].notna(), "retention": cameras["retention_days"].notna(),
             "overlooks": cameras["overlooks"].fillna("").str.len() > 0}
    return {name: round(float(mask.mean()), 4) for name, mask in given.items()}


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
    sigma = math.sqrt(float((residual ** 2).sum()) / (n - 2)) if n > 2 else 0.0
    z = _t_quantile(level, n - 2)
    future = np.arange(n, n + weeks_ahead, dtype="float64")
    expected = np.maximum(slope * future + intercept, 0.0)
    spread = z * sigma * np.sqrt(1 + 1 / n + (future - x.mean()) ** 2 / ((x - x.mean()) ** 2).sum())
    low, high = np.maximum(expected - spread, 0.0), expected + spread
    cumulative = np.cumsum(expected)
    band = z * sigma * np.sqrt(np.arange(1, weeks_ahead + 1))
    return pd.DataFrame({"week": np.arange(1, weeks_ahead + 1, dtype="float64"), "expected": expected.round(2),
                         "low": low.round(2), "high": high.round(2), "cumulative": cumulative.round(2),
                         "cumulative_low": np.maximum(cumulative - band, 0).round(2),
                         "cumulative_high": (cumulative + band).round(2)})


def _t_quantile(level: float, dof: int) -> float:
    """Two-sided Student t quantile for ``level`` (normal for many degrees of freedom), from a
    small table: scipy is not a dependency.

    >>> _t_quantile(0.95, 2), _t_quantile(0.95, 1000)
    (4.303, 1.96)
    """
    if level != 0.95:
        raise ValueError("only 95% intervals are tabulated")
    table = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
             12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}
    if dof < 1:
        return table[1]
    fitting = [d for d in sorted(table) if d <= dof]
    return table[fitting[-1]] if dof <= 120 else 1.96


OUTCOMES = ("sent", "footage_provided", "no_relevant_footage", "declined", "no_response", "withdrawn")
ANSWERED = ("footage_provided", "no_relevant_footage", "declined")


def request_outcomes(requests: pd.DataFrame, k: int) -> dict:
    """Footage requests by status, the response rate, time from request to footage (median and
    90th percentile, days), the share where footage was useful, and requests sent after the
    footage was likely overwritten. Everything is hidden (None) when there are fewer than ``k``
    requests; a status count or the too-late count below ``k`` is hidden too (status counts with
    secondary suppression, as they add up to the total). Rates and times are drawn from all the
    requests and stay shown.

    Parameters
    ----------
    requests : columns status, sent_at, status_changed_at (aware), footage_useful (bool or NA),
        footage_likely_overwritten (bool); one row per request

    >>> at = pd.Timestamp("2026-07-01", tz="UTC")
    >>> reqs = pd.DataFrame({"status": ["footage_provided"] * 4 + ["declined", "no_response"] * 2,
    ...     "sent_at": [at] * 8, "status_changed_at": [at + pd.Timedelta(days=d) for d in (1, 2, 3, 10, 1, 9, 2, 9)],
    ...     "footage_useful": [True, True, False, pd.NA, pd.NA, pd.NA, pd.NA, pd.NA],
    ...     "footage_likely_overwritten": [False] * 7 + [True]})
    >>> out = request_outcomes(reqs, 8)
    >>> out["response_rate"], out["median_days_to_footage"], out["useful_share"], out["too_late"]
    (0.75, 2.5, 0.6667, None)
    >>> out["by_status"]["footage_provided"], out["by_status"]["declined"]
    (None, None)
    """
    n = len(requests)
    if n < k:
        return {"requests": None, "by_status": None, "response_rate": None, "median_days_to_footage": None,
                "p90_days_to_footage": None, "useful_share": None, "too_late": None}
    counts = [int((requests["status"] == s).sum()) for s in OUTCOMES]
    by_status = {s: (c if shown else None) for s, c, shown in zip(OUTCOMES, counts, shown_mask(counts, k))}
    closed = requests[requests["status"] != "withdrawn"]
    answered = int(closed["status"].isin(ANSWERED).sum())
    provided = requests[requests["status"] == "footage_provided"]
    days = (provided["status_changed_at"] - provided["sent_at"]).dt.total_seconds() / 86_400
    judged = provided["footage_useful"].dropna()
    return {
        "requests": n,
        "by_status": by_status,
        "response_rate": conversion(answered, len(closed)),
        "median_days_to_footage": round(float(days.median()), 2) if len(days) else None,
        "p90_days_to_footage": round(float(days.quantile(0.9)), 2) if len(days) else None,
        "useful_share": conversion(int(judged.astype(bool).sum()), len(judged)),
        "too_late": suppress(int(requests["footage_likely_overwritten"].sum()), k).value,
    }


RETENTION_BUCKETS = [(0, 7, "up to 7 days"), (8, 14, "8 to 14 days"), (15, 30, "15 to 30 days"),
                     (31, 10_000, "more than 30 days")]
MIX_COLUMNS = ["aspect", "value", "cameras", "registrations", "share"]
ASPECTS = {"kind": "Camera kind", "placement": "Indoors or outdoors", "retention": "Keeps footage for"}


def retention_buckets(days: pd.Series) -> np.ndarray:
    """:func:`retention_bucket` of every value at once.

    >>> retention_buckets(pd.Series([0, 8, 31, None], dtype="float64")).tolist()
    ['up to 7 days', '8 to 14 days', 'more than 30 days', 'not given']
    """
    values = days.to_numpy(dtype="float64")
    conditions = [(values >= low) & (values <= high) for low, high, _ in RETENTION_BUCKETS]
    return np.select(conditions, [label for _, _, label in RETENTION_BUCKETS], default="not given").astype(object)


def retention_bucket(days: float) -> str:
    """The retention class of a number of days (NaN: not given).

    >>> retention_bucket(7), retention_bucket(30), retention_bucket(float("nan"))
    ('up to 7 days', '15 to 30 days', 'not given')
    """
    if days != days:  # NaN
        return "not given"
    return next(label for low, high, label in RETENTION_BUCKETS if low <= days <= high)


def camera_mix(cameras: pd.DataFrame, k: int, labels: dict[str, dict[str, str]]) -> pd.DataFrame:
    """Cameras by kind, by indoors/outdoors and by how long they keep footage, with the share of
    all cameras. Each value's count is drawn from the registrations with such a camera: hidden
    below ``k``, with secondary suppression within each aspect (its total is published).

    Parameters
    ----------
    cameras : columns registrant_id, kind, placement, retention_days
    labels : readable names per aspect and code ({"kind": {"dome": "Dome"}, ...})

    >>> cams = pd.DataFrame({"registrant_id": list(range(10)) + [0], "kind": ["dome"] * 9 + ["ptz", "ptz"],
    ...     "placement": ["outdoor"] * 11, "retention_days": [7.0] * 11})
    >>> mix = camera_mix(cams, 8, {})
    >>> mix[mix["aspect"] == "kind"][["value", "cameras", "share"]].values.tolist()
    [['dome', <NA>, <NA>], ['ptz', <NA>, <NA>]]
    """
    frame = cameras if "retention" in cameras else cameras.assign(retention=retention_buckets(cameras["retention_days"]))
    parts = []
    for aspect, column in (("kind", "kind"), ("placement", "placement"), ("retention", "retention")):
        grouped = _counts_by(frame[column], frame["registrant_id"])
        if aspect == "retention":  # shortest first, "not given" last
            order = [label for _, _, label in RETENTION_BUCKETS] + ["not given"]
            grouped = grouped.sort_values(column, key=lambda v: v.map(order.index)).reset_index(drop=True)
        shown = pd.Series(shown_mask(grouped["registrations"].tolist(), k), index=grouped.index)
        names = labels.get(aspect, {})
        parts.append(pd.DataFrame({
            "aspect": aspect, "value": [names.get(v, v) for v in grouped[column]],
            "cameras": grouped["cameras"].astype("Int64").where(shown),
            "registrations": grouped["registrations"].astype("Int64").where(shown),
            "share": (grouped["cameras"] / max(len(frame), 1)).round(4).astype("Float64").where(shown)}))
    return pd.concat(parts, ignore_index=True)[MIX_COLUMNS] if parts else pd.DataFrame(columns=MIX_COLUMNS)


def _counts_by(values: pd.Series, registrant: pd.Series) -> pd.DataFrame:
    """Cameras and distinct registrations per value (values present only), by integer codes:
    ``groupby(...).nunique()`` took a quarter of a second a column at a million cameras."""
    codes, labels = pd.factorize(values, sort=True)
    cameras = np.bincount(codes[codes >= 0], minlength=len(labels))
    registrations = registrations_per_area(codes, registrant.to_numpy(dtype="int64"), len(labels))
    present = cameras > 0
    return pd.DataFrame({values.name: np.asarray(labels, dtype=object)[present], "cameras": cameras[present],
                         "registrations": registrations[present]})


BREAKDOWN_COLUMNS = ["group", "requests", "answered", "response_rate", "footage_provided", "useful"]


def requests_by(requests: pd.DataFrame, column: str, names: dict[str, str], k: int) -> pd.DataFrame:
    """Requests per district or crime category: how many, answered, the response rate, footage
    provided and judged useful. Groups of fewer than ``k`` requests are hidden, with secondary
    suppression (the total is published); within a shown group, a count below ``k`` is hidden
    and its rate, drawn from all the group's requests, is shown.

    >>> reqs = pd.DataFrame({"district": ["A"] * 9 + ["B"] * 2 + ["C"] * 8,
    ...     "status": ["footage_provided"] * 5 + ["declined"] + ["sent"] * 3 + ["no_response"] * 2 + ["declined"] * 8,
    ...     "footage_useful": [True] * 4 + [pd.NA] * 15})
    >>> requests_by(reqs, "district", {}, 8)[["group", "requests", "response_rate"]].values.tolist()
    [['A', 9, 0.6667], ['B', <NA>, <NA>], ['C', <NA>, <NA>]]
    """
    frame = requests.assign(group=requests[column].fillna("not recorded"))
    grouped = frame.groupby("group").agg(
        requests=("status", "size"),
        answered=("status", lambda s: int(s.isin(ANSWERED).sum())),
        closed=("status", lambda s: int((s != "withdrawn").sum())),
        footage_provided=("status", lambda s: int((s == "footage_provided").sum())),
        useful=("footage_useful", lambda s: int(s.fillna(False).astype(bool).sum())),
    ).reset_index()
    shown = pd.Series(shown_mask(grouped["requests"].tolist(), k), index=grouped.index)
    out = pd.DataFrame({"group": [names.get(g, g) for g in grouped["group"]]})
    out["requests"] = grouped["requests"].astype("Int64").where(shown)
    for column_name in ("answered", "footage_provided", "useful"):  # small counts within a shown group hidden too
        out[column_name] = grouped[column_name].astype("Int64").where(shown & (grouped[column_name] >= k))
    out["response_rate"] = pd.array([conversion(int(a), int(c)) for a, c in zip(grouped["answered"], grouped["closed"])],
                                    dtype="Float64")
    out["response_rate"] = out["response_rate"].where(shown)
    return out[BREAKDOWN_COLUMNS]


SERIES_COLUMNS = ["start", "registrations", "cameras", "total"]


def series(registrations: pd.DataFrame, first: dt.date, last: dt.date, period: str, k: int) -> pd.DataFrame:
    """Registrations and their cameras per day or week with the running total, as they may be
    shown (:func:`running_total`; a period's cameras are shown when its registrations are).

    Parameters
    ----------
    registrations : columns consent_at (aware), cameras; one row per registration ever made
    """
    days = uk_days(registrations["consent_at"])
    counts = per_period(days, first, last, period)
    cameras = per_period(days, first, last, period, weights=registrations["cameras"])
    shown, totals = running_total(counts["count"].tolist(), k, counts.attrs["before"])
    return pd.DataFrame({"start": counts["start"], "registrations": pd.array(shown, dtype="Int64"),
                         "cameras": pd.array([int(c) if s is not None else None for c, s in zip(cameras["count"], shown)],
                                             dtype="Int64"),
                         "total": pd.array(totals, dtype="Int64")})


def district_uptake(registrations: pd.DataFrame, cameras: pd.DataFrame, districts: pd.DataFrame, k: int
                    ) -> pd.DataFrame:
    """Active registrations and cameras per district and per 1,000 households, suppressed as on the
    overview, ranked by registrations per 1,000 households (hidden ones last)."""
    from dashboard.analytics.overview import district_table

    active = registrations[registrations["status"] == "active"]
    by = active.groupby("district_code", observed=True).size().rename("registrations").to_frame().join(
        cameras.groupby("district_code", observed=True).size().rename("cameras")).fillna(0).reset_index()
    by["district_code"] = by["district_code"].astype(object)
    table = district_table(by, districts, k)
    return table.sort_values("registrations_per_1000", ascending=False, na_position="last").reset_index(drop=True)
