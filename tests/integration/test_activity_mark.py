"""The lead's request, footage and campaign figures are read again as soon as what they count changes
(the mark of those tables is read with every request), not after a fixed half-minute: a request
answered through one server is in the next figures any other server shows."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from dashboard.registry import uptake_queries
from dashboard.registry.database import transaction
from dashboard.registry.models import CampaignDailyCount, FootageRequest, FootageRequestEvent

DEMO = {
    "seed": 3,
    "registrations": 500,
    "as_of": dt.date(2026, 11, 29),
    "pilot_start": dt.date(2026, 4, 13),
    "public_launch": dt.date(2026, 7, 6),
}
NOW = dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC)


def _mark(rt) -> tuple[str, ...]:
    with rt.sessions() as s:
        return uptake_queries.activity_mark(s)


def test_every_kind_of_activity_change_moves_the_mark(runtime, demo_of):
    demo_of(runtime, **DEMO)
    marks = [_mark(runtime)]
    assert _mark(runtime) == marks[0]  # reading changes nothing

    def changed(what: str, statement) -> None:
        with transaction(runtime.sessions) as s:
            s.execute(statement)
        marks.append(_mark(runtime))
        assert marks[-1] != marks[-2], what

    with runtime.sessions() as s:
        request = s.scalars(
            sa.select(FootageRequest).where(FootageRequest.status != "no_relevant_footage").limit(1)
        ).one()
        day = s.scalars(sa.select(CampaignDailyCount).limit(1)).one()
    changed(
        "a request answered",
        sa.update(FootageRequest)
        .where(FootageRequest.id == request.id)
        .values(status="no_relevant_footage", status_changed_at=NOW),
    )
    changed(
        "an event on a request",
        sa.insert(FootageRequestEvent).values(request_id=request.id, at=NOW, status="no_relevant_footage"),
    )
    changed(
        "a QR code scanned",
        sa.update(CampaignDailyCount)
        .where(CampaignDailyCount.campaign_id == day.campaign_id, CampaignDailyCount.day == day.day)
        .values(scans=CampaignDailyCount.scans + 1),
    )


def test_the_requests_frame_follows_an_answer_at_once(runtime, demo_of, app):
    from dashboard import figures

    demo_of(runtime, **DEMO)
    with app.server.app_context():
        before = figures.uptake_frames()["requests"]
        with runtime.sessions() as s:
            request_id = s.scalar(sa.select(FootageRequest.id).where(FootageRequest.status != "declined").limit(1))
        with transaction(runtime.sessions) as s:
            s.execute(
                sa.update(FootageRequest)
                .where(FootageRequest.id == request_id)
                .values(status="declined", status_changed_at=NOW)
            )
        after = figures.uptake_frames()["requests"]
    counted = {s: int((frame["status"] == "declined").sum()) for s, frame in (("before", before), ("after", after))}
    assert counted["after"] == counted["before"] + 1
    assert len(after) == len(before)


def test_the_home_pages_headline_follows_the_register_at_once(runtime, demo_of, app, reference):
    """Ten registrations move the true count by 10, more than two adjustments of at most 3 apart:
    the published headline must move at the next load (it used to be kept for half a minute)."""
    from dashboard.pages import home
    from dashboard.registry import registration
    from tests.integration.test_registration import valid

    demo_of(runtime, **DEMO)
    with app.server.app_context():
        _, before = home._district_figures()
        for i in range(10):
            data = registration.RegistrationIn.model_validate(
                valid(reference.postcodes["postcode"].iloc[100 + i], email=f"owner{i}@example.org"),
                context={"reference": reference},
            )
            with transaction(runtime.sessions) as s:
                registration.register(s, data, reference, via="api")
        _, after = home._district_figures()
    assert after.active_registrations - before.active_registrations >= 10 - 2 * 3
    assert after.active_registrations != before.active_registrations
