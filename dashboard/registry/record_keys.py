"""Record keys of the disclosure-control layer kept past erasure, anonymously.

A registration's record key is erased with its personal data (promise 6). But the registration
still counts in history (registrations made per day, owner withdrawals per day), and those counts
must keep their cell keys, or each erasure would re-draw the adjustment of every historical total
it falls in, and an observer could average the draws. So before the key is erased it is added
(mod 256) to an anonymous sum per UK day and district: ``RetiredKey``. What is left is a sum of
random numbers per day and district, which identifies no one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dashboard.core.cell_keys import KEY_RANGE
from dashboard.core.uktime import uk_day
from dashboard.registry.models import RetiredKey


def retire_keys(
    session: Session, erased: Iterable[tuple[int | None, dt.datetime, str, bool]], withdrawn_at: dt.datetime
) -> None:
    """Fold the keys of registrations being erased into the anonymous daily sums, in the caller's
    transaction: each key joins its registration day's 'registered' sum and, for an owner's
    withdrawal, ``withdrawn_at``'s 'withdrawn' sum.

    Parameters
    ----------
    erased : (record_key, consent_at, district_code, by_owner) per registration erased
    """
    sums: dict[tuple[str, dt.date, str], int] = {}
    for key, consent_at, district, by_owner in erased:
        if key is None:
            continue
        slots = [("registered", uk_day(consent_at))]
        if by_owner:
            slots.append(("withdrawn", uk_day(withdrawn_at)))
        for series, day in slots:
            sums[(series, day, district)] = (sums.get((series, day, district), 0) + int(key)) % KEY_RANGE
    if not sums:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = RetiredKey.__table__
    for (series, day, district), add in sorted(sums.items()):
        statement = insert(table).values(series=series, day=day, district_code=district, key_sum=add)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["series", "day", "district_code"], set_={"key_sum": (table.c.key_sum + add) % KEY_RANGE}
            )
        )


def retired_key_sums(session: Session) -> pd.DataFrame:
    """Every anonymous daily sum: columns series, day (date), district_code, key_sum."""
    rows = session.execute(
        sa.select(RetiredKey.series, RetiredKey.day, RetiredKey.district_code, RetiredKey.key_sum)
    ).all()
    frame = pd.DataFrame(rows, columns=["series", "day", "district_code", "key_sum"])
    return frame.astype({"key_sum": "int64"})
