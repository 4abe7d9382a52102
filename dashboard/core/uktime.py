"""UK time: the force's calendar days are those of Europe/London (the one definition of it).

Times are stored as UTC; a day, a week or a date shown to people is the UK one: a registration at
23:30 UTC on a summer Sunday is made at 00:30 BST on Monday.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

UK = ZoneInfo("Europe/London")
EPOCH = dt.date(1970, 1, 1)  # a Thursday
NO_DAY = np.iinfo("int64").max // 2  # the day number of "never" (after every calendar end)


def uk_day(when: dt.datetime) -> dt.date:
    """The UK calendar day of an aware instant.

    >>> uk_day(dt.datetime(2026, 7, 5, 23, 30, tzinfo=dt.timezone.utc))
    datetime.date(2026, 7, 6)
    """
    return when.astimezone(UK).date()


def uk_days(when: pd.Series) -> pd.Series:
    """The Europe/London calendar day of each timezone-aware instant, as midnight (datetime64, no
    time zone): vectorised, as the register has a million rows.

    >>> uk_days(pd.Series(pd.to_datetime(["2026-07-05 23:30", "2026-01-04 23:30"], utc=True))).dt.date.tolist()
    [datetime.date(2026, 7, 6), datetime.date(2026, 1, 4)]
    """
    if when.dt.tz is None:
        raise ValueError("instants must be timezone-aware (UTC)")
    return when.dt.tz_convert(UK).dt.tz_localize(None).dt.normalize()


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01.

    >>> day_number(dt.date(1970, 1, 5))
    4
    """
    return (day - EPOCH).days


def day_numbers(values) -> np.ndarray:
    """Days since 1970-01-01 of datetime64 days, dates, or aware instants (their UK day); NO_DAY
    where missing.

    >>> day_numbers(pd.Series([dt.date(1970, 1, 2), None])).tolist() == [1, NO_DAY]
    True
    """
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = uk_days(series)
    elif series.dtype.kind != "M":
        series = pd.to_datetime(series.astype(object), errors="coerce")
    days = series.to_numpy(dtype="datetime64[ns]")
    out = days.astype("datetime64[D]").astype("int64")
    return np.where(np.isnat(days), NO_DAY, out)
