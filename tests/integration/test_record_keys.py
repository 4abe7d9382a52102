"""Record keys (the disclosure-control layer's inputs) on SQLite and PostgreSQL: drawn when rows are
stored, erased with the personal data, and kept only inside anonymous daily sums so that a
historical figure's cell key does not change when someone in it is erased."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from dashboard.registry import audit, campaigns, registration
from dashboard.registry.crime_import import import_crimes, parse_police_uk_csv
from dashboard.registry.database import session_factory
from dashboard.registry.models import Camera, CampaignDailyCount, Crime, Registrant, RetiredKey
from dashboard.registry.record_keys import retired_key_sums
from tests.integration.test_retention import add, by_ref

UTC = dt.UTC
DISTRICT = "E07000197"  # the district test_retention.add uses


def _keys_made_on(s, day: dt.date) -> int:
    """The cell key of "registrations made on ``day``" in DISTRICT, worked out from the rows: keys of
    the registrations still holding one, plus the anonymous sum of those erased."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=UTC)  # GMT in December: UK day = UTC day
    live = s.scalars(
        sa.select(Registrant.record_key).where(
            Registrant.consent_at >= start,
            Registrant.consent_at < start + dt.timedelta(days=1),
            Registrant.record_key.is_not(None),
        )
    ).all()
    retired = (
        s.scalar(
            sa.select(RetiredKey.key_sum).where(
                RetiredKey.series == "registered", RetiredKey.day == day, RetiredKey.district_code == DISTRICT
            )
        )
        or 0
    )
    return (sum(live) + retired) % 256


def test_every_stored_row_gets_a_key_and_erasure_keeps_history_stable(engine):
    sessions = session_factory(engine)
    with sessions() as s:
        regs = [add(s, f"CCR-KEY00{i}") for i in range(4)]  # all made on 2024-12-01 (test_retention.add)
        s.commit()
        keys = {r.reference: r.record_key for r in regs}
        assert all(0 <= k < 256 for k in keys.values())
        cams = s.scalars(sa.select(Camera.record_key)).all()
        assert len(cams) == 8 and all(k is not None and 0 <= k < 256 for k in cams)
        before = _keys_made_on(s, dt.date(2024, 12, 1))
        assert before == sum(keys.values()) % 256

        # The owner withdraws one, an administrator erases another on request, retention none.
        when = dt.datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # 00:30 BST on 1 July: withdrawn on a UK 1 July
        registration.withdraw(s, by_ref(s, "CCR-KEY000"), via="form", now=when)
        registration.erase(s, [by_ref(s, "CCR-KEY001").id], why="request", now=when)
        s.commit()
        assert by_ref(s, "CCR-KEY000").record_key is None and by_ref(s, "CCR-KEY001").record_key is None
        sums = retired_key_sums(s).set_index(["series", "day", "district_code"])["key_sum"].to_dict()
        assert sums == {
            ("registered", dt.date(2024, 12, 1), DISTRICT): (keys["CCR-KEY000"] + keys["CCR-KEY001"]) % 256,
            ("withdrawn", dt.date(2026, 7, 1), DISTRICT): keys["CCR-KEY000"],  # only the owner's withdrawal
        }
        # The historical set "registrations made on 1 December 2024" keeps its cell key.
        assert _keys_made_on(s, dt.date(2024, 12, 1)) == before
        # Erasing again changes nothing more.
        registration.erase(s, [by_ref(s, "CCR-KEY000").id], why="request", now=when)
        s.commit()
        assert retired_key_sums(s)["key_sum"].tolist() == list(sums.values())
        assert _keys_made_on(s, dt.date(2024, 12, 1)) == before


def test_a_completion_adds_a_fresh_key_to_its_day_and_a_scan_does_not(engine):
    sessions = session_factory(engine)
    with sessions() as s:
        actor = audit.SYSTEM
        campaigns.create_campaign(s, actor, name="Posters in Stafford", channel="poster")
        now = dt.datetime(2026, 7, 10, 12, tzinfo=UTC)
        campaigns.count_step(s, "posters-in-stafford", "scans", now=now)
        s.commit()
        row = s.scalar(sa.select(CampaignDailyCount))
        assert (row.scans, row.completions, row.completion_keys) == (1, 0, 0)
        seen = set()
        for _ in range(12):
            campaigns.count_step(s, "posters-in-stafford", "completions", now=now)
            s.commit()
            s.refresh(row)
            assert 0 <= row.completion_keys < 256
            seen.add(row.completion_keys)
        assert row.completions == 12 and len(seen) > 6  # it moves with each completion


def test_imported_crimes_get_keys(engine, reference_dir):
    sessions = session_factory(engine)
    sample = sorted((reference_dir / "police_uk").glob("*-street.csv"))[0]
    with sessions() as s:
        import_crimes(s, parse_police_uk_csv(sample.read_bytes(), sample.name), audit.SYSTEM, None, count=False)
        s.commit()
        keys = s.scalars(sa.select(Crime.record_key)).all()
    assert len(keys) > 100 and all(k is not None and 0 <= k < 256 for k in keys)
    expected_distinct = 256 * (1 - (255 / 256) ** len(keys))  # uniform draws
    assert len(set(keys)) > 0.8 * expected_distinct
