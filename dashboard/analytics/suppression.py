"""Small-number suppression (promise 4): a count drawn from fewer than K registrations is not shown."""
from __future__ import annotations

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
