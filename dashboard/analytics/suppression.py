"""Small-number suppression (promise 4): a count drawn from fewer than K registrations is not shown."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Shown:
    """A count as it may be shown: ``value`` is None when suppressed."""

    value: int | None
    k: int

    @property
    def suppressed(self) -> bool:
        return self.value is None

    def text(self) -> str:
        """'1,234', or 'fewer than 8' when suppressed.

        >>> Shown(1234, 8).text(), Shown(None, 8).text()
        ('1,234', 'fewer than 8')
        """
        return f"fewer than {self.k}" if self.value is None else f"{self.value:,}"


def suppress(count: int, k: int, *, basis: int | None = None) -> Shown:
    """Hide ``count`` when the number of registrations it is drawn from (``basis``, by default the
    count itself) is below ``k``. Zero is drawn from fewer than k registrations, so it is hidden too.

    >>> suppress(7, 8).value, suppress(8, 8).value, suppress(3, 8, basis=20).value
    (None, 8, 3)
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    drawn_from = count if basis is None else basis
    return Shown(None if drawn_from < k else int(count), k)


def shown_mask(counts: Sequence[int], k: int) -> list[bool]:
    """Which of a set of counts that add up to a published total may be shown.

    Primary suppression hides every count below ``k``. Because the total is published, the
    hidden counts could be recovered by subtraction when only one is hidden, or when the hidden
    ones add up to fewer than ``k``; so the smallest shown counts are hidden too (secondary
    suppression) until at least two are hidden and they add up to at least ``k``.

    >>> shown_mask([200, 7, 50], 8)     # 7 alone could be recovered from the total: hide 50 too
    [True, False, False]
    >>> shown_mask([200, 3, 4, 90], 8)  # 3 + 4 = 7 < 8: hide 90 too
    [True, False, False, False]
    >>> shown_mask([100, 90], 8)
    [True, True]
    """
    values = [int(c) for c in counts]
    shown = [v >= k for v in values]
    if all(shown):
        return shown

    def hidden_ok() -> bool:
        hidden = [v for v, s in zip(values, shown) if not s]
        return len(hidden) >= 2 and sum(hidden) >= k

    for i in sorted((i for i, s in enumerate(shown) if s), key=lambda i: (values[i], i)):
        if hidden_ok():
            break
        shown[i] = False
    return shown
