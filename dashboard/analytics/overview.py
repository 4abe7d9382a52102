"""Figures for the landing page, as pure functions of data frames, through the disclosure-control
layer (promise 4): every count published perturbed by its cell key, hidden below K; rates from
published counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.analytics.disclosure import KEY_RANGE, Disclosure
from dashboard.core.vocab import RECENT_DAYS

COUNT_COLUMNS = ("registrations", "registrations_key", "cameras", "cameras_key")
# "Registered in the last 7 days": the last 7 whole UK days, today included.
LEVELS_NOTE = (
    "Each figure is adjusted on its own, so the districts need not add up exactly to the totals: adding up "
    "or subtracting adjusted figures gives only noise, never a hidden count."
)


def district_table(by_district: pd.DataFrame, districts: pd.DataFrame, layer: Disclosure) -> pd.DataFrame:
    """One row per reference district (whatever the register holds) with registrations, cameras
    and rates per 1,000 households.

    Registrations and cameras are ``layer.counts`` with the cell keys of the registrations and of
    the cameras counted; cameras are hidden with the registrations they are drawn from. Rates are
    ``Disclosure.rate`` of the published counts over the households (Census figures about no
    person: ``layer.exact``). No secondary suppression: with perturbed figures a total minus the
    shown parts gives the hidden part plus the noise of every figure involved.

    Parameters
    ----------
    by_district : columns district_code, registrations, registrations_key, cameras, cameras_key
        (true counts and their cell keys; ``registrations_by_area``)
    districts : columns code, name, households (reference geography)
    layer : the disclosure-control layer

    Examples
    --------
    >>> from dashboard.analytics.disclosure import PTable
    >>> layer = Disclosure(PTable.build(8, 0, 0.0))  # no adjustment: the rules alone
    >>> reg = pd.DataFrame({"district_code": ["A", "B", "C"], "registrations": [50, 3, 9],
    ...                     "registrations_key": [0, 0, 0], "cameras": [80, 4, 9], "cameras_key": [0, 0, 0]})
    >>> ref = pd.DataFrame({"code": ["A", "B", "C"], "name": ["Ay", "Bee", "Cee"], "households": [10_000, 2_000, 900]})
    >>> district_table(reg, ref, layer)[["code", "registrations", "registrations_per_1000"]].to_dict("list")
    {'code': ['A', 'B', 'C'], 'registrations': [50, None, 9], 'registrations_per_1000': [5.0, None, 10.0]}
    """
    if not isinstance(layer, Disclosure):
        raise TypeError(
            f"district_table needs the disclosure-control layer (runtime().disclosure), not {type(layer).__name__}"
        )
    missing = [c for c in ("district_code", *COUNT_COLUMNS) if c not in by_district.columns]
    if missing:
        raise ValueError(f"district_table needs the columns {', '.join(missing)} (true counts and their cell keys)")
    merged = districts[["code", "name", "households"]].merge(
        by_district[["district_code", *COUNT_COLUMNS]].rename(columns={"district_code": "code"}), on="code", how="left"
    )
    merged[list(COUNT_COLUMNS)] = merged[list(COUNT_COLUMNS)].fillna(0).astype("int64")
    registrations = layer.counts(merged["registrations"].to_numpy(), merged["registrations_key"].to_numpy())
    cameras = layer.counts(merged["cameras"].to_numpy(), merged["cameras_key"].to_numpy())
    cameras[np.asarray(registrations.isna())] = pd.NA
    households = pd.array(layer.exact(merged["households"].to_numpy(dtype="float64")), dtype="Float64")
    out = merged[["code", "name"]].copy()
    out["households"] = households
    out["registrations"] = registrations
    out["cameras"] = cameras
    out["registrations_per_1000"] = layer.rate(registrations, households, 1000, 2)
    out["cameras_per_1000"] = layer.rate(cameras, households, 1000, 2)
    return out.reset_index(drop=True)


def districts_covered(table: pd.DataFrame) -> int:
    """Districts whose published registrations are shown (``district_table``'s output): a count of
    published figures, so it tells no more than the table.

    >>> districts_covered(pd.DataFrame({"registrations": pd.array([8, None, 90], dtype="Int64")}))
    2
    """
    return int(table["registrations"].notna().sum())


@dataclass(frozen=True)
class Headline:
    """The overview's headline figures as published (None: not shown)."""

    active_registrations: int | None
    active_cameras: int | None
    registrations_last_7_days: int | None
    first_recent_day: dt.date


def headline(summary, layer: Disclosure) -> Headline:
    """Active registrations and cameras, and registrations of the last 7 UK days still active,
    from ``registry_summary``'s true counts and keys.

    The recent figure is a difference of the cumulative series of active registrations by UK day
    of registration (design rule 5): published total today minus the published total up to the
    day before the window, ``T'(today) - T'(today - 7)``, where ``T'(today)`` is the published
    number of active registrations itself. The same figure each day whenever it is asked, and
    nothing new from moving the window. Shown when at least K (a small difference is not an
    estimate worth reading); an earlier total of exactly 0 counts as 0.

    >>> from types import SimpleNamespace
    >>> from dashboard.analytics.disclosure import PTable
    >>> layer = Disclosure(PTable.build(8, 0, 0.0))
    >>> s = SimpleNamespace(active_registrations=100, registrations_key=3, active_cameras=160, cameras_key=7,
    ...                     registered_before_recent=88, before_recent_key=9, today=dt.date(2026, 11, 29))
    >>> headline(s, layer)
    Headline(active_registrations=100, active_cameras=160, registrations_last_7_days=12, \
first_recent_day=datetime.date(2026, 11, 23))
    """
    registrations = layer.count(summary.active_registrations, summary.registrations_key)
    cameras = None if registrations is None else layer.count(summary.active_cameras, summary.cameras_key)
    if layer.present([summary.registered_before_recent])[0]:
        before = layer.count(summary.registered_before_recent, summary.before_recent_key)
    else:
        before = 0  # nothing registered before the window (or nothing published at all: then no total either)
    recent = None if registrations is None or before is None else registrations - before
    if recent is not None and recent < layer.k:
        recent = None
    return Headline(registrations, cameras, recent, summary.today - dt.timedelta(days=RECENT_DAYS - 1))


def key_sum(keys) -> int:
    """A cell key from summed record keys (modulo 256).

    >>> key_sum([255, 2])
    1
    """
    return int(np.asarray(keys, dtype="int64").sum() % KEY_RANGE)
