"""Colour classes for choropleths: a sequential palette readable on a plain background."""

from __future__ import annotations

import math

# ColorBrewer "Blues" 5-class, light to dark.
BLUES = ("#dbe9f6", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
NO_DATA = "#bfbfbf"  # neutral grey, distinct from every blue class


def class_breaks(values: list[float], n: int = len(BLUES)) -> list[float]:
    """Upper bounds of ``n`` equal-width classes over the finite values (empty if none).

    >>> class_breaks([0.0, 10.0], 5)
    [2.0, 4.0, 6.0, 8.0, 10.0]
    """
    finite = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not finite:
        return []
    lo, hi = min(finite), max(finite)
    if hi == lo:
        return [hi]
    step = (hi - lo) / n
    return [round(lo + step * (i + 1), 6) for i in range(n)]


def class_colours(breaks: list[float]) -> list[str]:
    """The colour of each class, in the order of ``breaks`` (one class: the darkest).

    >>> class_colours([1.0]), len(class_colours([1.0, 2.0, 3.0]))
    (['#08519c'], 3)
    """
    if len(breaks) == 1:
        return [BLUES[-1]]
    return [BLUES[min(i, len(BLUES) - 1)] for i in range(len(breaks))]


def colour_for(value: float | None, breaks: list[float]) -> str:
    index = class_index(value, breaks)
    return NO_DATA if index < 0 else class_colours(breaks)[index]


def class_index(value: float | None, breaks: list[float]) -> int:
    """Index into ``class_colours(breaks)`` of the class holding ``value`` (-1: no value or no classes).

    >>> class_index(3, [1.0, 3.0, 5.0]), class_index(9, [1.0, 3.0, 5.0]), class_index(None, [1.0])
    (1, 2, -1)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or not breaks:
        return -1
    return next((i for i, upper in enumerate(breaks) if value <= upper), len(breaks) - 1)


def quantile_breaks(values: list[float], n: int = len(BLUES)) -> list[float]:
    """Upper bounds of up to ``n`` classes holding about equal numbers of values (for skewed
    counts, where equal-width classes would put nearly everything in the first class).

    >>> quantile_breaks([1, 1, 2, 3, 4, 5, 8, 13, 40, 100], 5)
    [1.0, 3.0, 5.0, 13.0, 100.0]
    """
    finite = sorted(float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v)))
    if not finite:
        return []
    out: list[float] = []
    for i in range(1, n + 1):
        upper = finite[min(len(finite) - 1, math.ceil(i * len(finite) / n) - 1)]
        if not out or upper > out[-1]:
            out.append(upper)
    return out


def legend_breaks(values: list[float], min_step: int) -> list[float]:
    """Upper bounds of the colour classes of counts: about equal numbers of cells per class
    (``quantile_breaks``), with classes merged until the bounds are at least ``min_step`` apart,
    so that a count moved by at most ``min_step`` (the layer's largest adjustment) changes colour
    by at most one class.

    >>> legend_breaks([8, 9, 10, 11, 12, 13, 20, 30, 40, 300], 3)
    [9.0, 13.0, 30.0, 300.0]
    >>> legend_breaks([], 3)
    []
    """
    kept: list[float] = []
    breaks = quantile_breaks(values)
    for i, upper in enumerate(breaks):
        if not kept or upper - kept[-1] >= min_step:
            kept.append(upper)
        elif i == len(breaks) - 1:
            kept[-1] = upper  # the last class must reach the largest value
    return kept
