"""Issue 15, item 7: the QR landing route ``/r/<slug>``.

A scan is counted at most once per visitor, campaign and UK day (40 hits from one phone are one
scan), without keeping anything personal (the visitor is an HMAC of address and browser in the
rate-limit store, gone after a day), and an unknown slug is answered exactly as a known one (same
status, same redirect, same cookies, in comparable time), so whether a campaign exists cannot be
learned from it. Campaign attribution stays aggregate only (promise 3).
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from pathlib import Path

import sqlalchemy as sa

from dashboard.registry import campaigns
from dashboard.registry.models import (
    AuditEvent,
    Camera,
    Campaign,
    CampaignDailyCount,
    RateLimitCounter,
    Registrant,
    Site,
)
from tests.integration.test_public_pages import _csrf, _form, public  # noqa: F401 (fixture)

KNOWN, UNKNOWN = "poster-stafford", "poster-staffore"  # same length: only existence differs
PHONE = {"REMOTE_ADDR": "203.0.113.9"}
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Zebra-Test-Browser"


def _campaign(rt, slug: str = KNOWN) -> None:
    with rt.sessions() as s:
        s.add(Campaign(slug=slug, name="Posters in Stafford", channel="poster"))
        s.commit()


def _scans(rt) -> int:
    with rt.sessions() as s:
        return int(s.scalar(sa.select(sa.func.coalesce(sa.func.sum(CampaignDailyCount.scans), 0))))


def _hit(client, slug: str, addr: str = "203.0.113.9", ua: str = UA):
    return client.get(f"/r/{slug}", environ_base={"REMOTE_ADDR": addr}, headers={"User-Agent": ua})


def test_forty_hits_from_one_visitor_are_one_scan(public):
    client, rt = public
    _campaign(rt)
    for _ in range(40):
        assert _hit(client, KNOWN).status_code == 302
    assert _scans(rt) == 1
    # Other visitors (another address, or another browser at the same address) each count once.
    _hit(client, KNOWN, addr="198.51.100.7")
    _hit(client, KNOWN, addr="198.51.100.7")
    _hit(client, KNOWN, ua="Mozilla/5.0 (Linux; Android 14) Other-Browser")
    assert _scans(rt) == 3


def test_nothing_personal_is_kept_of_a_visitor(public):
    client, rt = public
    _campaign(rt)
    _hit(client, KNOWN)
    _hit(client, UNKNOWN)
    with rt.sessions() as s:
        rows = s.execute(sa.select(RateLimitCounter.window_digest, RateLimitCounter.expires_at)).all()
    assert rows and all(len(d) == 64 and int(d, 16) >= 0 for d, _ in rows)
    assert all(e <= time.time() + 86_400 + 60 for _, e in rows)  # gone within a day
    db = Path(rt.engine.url.database)
    raw = b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())
    assert raw
    assert b"203.0.113.9" not in raw and b"Zebra-Test-Browser" not in raw


def test_a_visitor_counts_again_on_another_uk_day(engine):
    from dashboard.registry.database import session_factory

    sessions = session_factory(engine)
    with sessions() as s:
        s.add(Campaign(slug=KNOWN, name="Posters in Stafford", channel="poster"))
        s.commit()
    day1 = dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)
    for at in (day1, day1 + dt.timedelta(hours=5), day1 + dt.timedelta(days=1), day1 + dt.timedelta(days=1, hours=1)):
        with sessions() as s:
            campaigns.count_scan(s, KNOWN, "visitor-a", secret=b"s" * 32, now=at)
            s.commit()
    with sessions() as s:
        assert sorted(s.scalars(sa.select(CampaignDailyCount.scans))) == [1, 1]


def _observable(answer, slug: str) -> tuple:
    headers = sorted((k, v.replace(slug, "SLUG")) for k, v in answer.headers.items() if k.lower() != "date")
    return answer.status_code, headers, answer.get_data(as_text=True).replace(slug, "SLUG")


def test_an_unknown_slug_is_answered_exactly_as_a_known_one(public):
    client, rt = public
    _campaign(rt)
    known, unknown = _hit(client, KNOWN), _hit(client, UNKNOWN)
    assert _observable(known, KNOWN) == _observable(unknown, UNKNOWN)
    assert known.headers["Location"] == f"/register?c={KNOWN}"
    # The page the redirect leads to, and the session it starts, are the same too.
    page_known = client.application.test_client().get(known.headers["Location"])
    page_unknown = client.application.test_client().get(unknown.headers["Location"])
    assert page_known.status_code == page_unknown.status_code == 200
    cookie = [h for h in page_known.headers.getlist("Set-Cookie")]
    assert len(cookie) == len(page_unknown.headers.getlist("Set-Cookie"))


def test_known_and_unknown_slugs_take_comparable_time(public):
    """Interleaved, so load on a shared machine hits both alike; each hit is a new visitor (the
    known slug's first scan is its slowest case: it adds to the day's count)."""
    client, rt = public
    _campaign(rt)
    for i in range(5):
        _hit(client, KNOWN, addr=f"192.0.2.{i}")
        _hit(client, UNKNOWN, addr=f"192.0.2.{i}")
    known_s, unknown_s = [], []
    for i in range(60):
        for slug, out in ((KNOWN, known_s), (UNKNOWN, unknown_s))[:: 1 if i % 2 else -1]:
            t = time.perf_counter()
            answer = _hit(client, slug, addr=f"10.{i // 250}.{i % 250}.1")
            out.append(time.perf_counter() - t)
            assert (answer.status_code, answer.headers["Location"]) == (302, f"/register?c={slug}")
    ratio = statistics.median(known_s) / statistics.median(unknown_s)
    print(
        f"median known {statistics.median(known_s) * 1000:.2f} ms, unknown "
        f"{statistics.median(unknown_s) * 1000:.2f} ms, ratio {ratio:.2f}"
    )
    assert 0.5 < ratio < 2.0


def test_campaign_attribution_stays_aggregate(public, reference):
    client, rt = public
    _campaign(rt)
    _hit(client, KNOWN)
    location = f"/register?c={KNOWN}"
    client.get(location)
    token = _csrf(client, location)
    client.post("/register", data={"csrf_token": token, **_form(reference.postcodes["postcode"].iloc[30])})
    with rt.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Registrant)) == 1
        row = s.scalar(sa.select(CampaignDailyCount))
        assert (row.scans, row.form_starts, row.completions) == (1, 1, 1)
        stored = []
        for model in (Registrant, Site, Camera, AuditEvent):
            for obj in s.scalars(sa.select(model)):
                stored += [str(getattr(obj, c.name)) for c in model.__table__.columns]
        assert not any("poster" in v for v in stored)
        events = s.scalars(sa.select(AuditEvent.detail)).all()
        assert not any("campaign" in (d or "") for d in events)
    assert "campaign" not in json.dumps(dict(client.get("/register").headers))
