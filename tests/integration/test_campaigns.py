"""Campaigns: created by leads and admins with a unique link, QR codes only for them, funnel totals."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import numpy as np
import png
import pytest
import sqlalchemy as sa
import zxingcpp

from dashboard.registry import audit, campaigns
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, Campaign
from tests.integration.conftest import login

LEAD = audit.Actor(None, "lead1", "lead")


def test_slugs_are_unique_and_bad_input_names_its_field(runtime):
    with transaction(runtime.sessions) as s:
        first = campaigns.create_campaign(s, LEAD, name="Posters: Stafford town centre (May)", channel="poster")
        second = campaigns.create_campaign(s, LEAD, name="Posters - Stafford town centre, May", channel="leaflet")
    assert (first.slug, second.slug) == ("posters-stafford-town-centre-may", "posters-stafford-town-centre-may-2")
    for name, channel, field in [
        ("ab", "poster", "name"),
        ("Fine name", "carrier pigeon", "channel"),
        ("!!! ???", "poster", "name"),
    ]:
        with pytest.raises(campaigns.CampaignError) as info:
            with transaction(runtime.sessions) as s:
                campaigns.create_campaign(s, LEAD, name=name, channel=channel)
        assert info.value.field == field
    with runtime.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 2
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "campaign_created"))
            == 2
        )


def test_funnel_totals_add_up_the_days(runtime):
    with transaction(runtime.sessions) as s:
        campaigns.create_campaign(s, LEAD, name="Intranet pilot", channel="internal_message")
        campaigns.create_campaign(s, LEAD, name="Leaflets", channel="leaflet")
    monday = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)
    with transaction(runtime.sessions) as s:
        for day, step, times in [(0, "scans", 5), (0, "form_starts", 3), (1, "scans", 2), (1, "completions", 2)]:
            for _ in range(times):
                assert campaigns.count_step(s, "intranet-pilot", step, now=monday + dt.timedelta(days=day))
        assert not campaigns.count_step(s, "nobody-made-this", "scans")
    with runtime.sessions() as s:
        frame = campaigns.campaign_totals(s).set_index("slug")
    assert frame.loc["intranet-pilot", ["scans", "form_starts", "completions"]].tolist() == [7, 3, 2]
    assert frame.loc["leaflets", ["scans", "form_starts", "completions"]].tolist() == [0, 0, 0]


def test_only_leads_and_admins_get_the_qr_codes(app, runtime):
    with transaction(runtime.sessions) as s:
        campaigns.create_campaign(s, LEAD, name="Social media autumn", channel="social_media")
    for role, expected in [("lead", 200), ("admin", 200), ("officer", 403), ("analyst", 403), ("auditor", 403)]:
        client = app.server.test_client()
        login(client, role)
        answer = client.get("/campaigns/social-media-autumn/qr.png")
        assert answer.status_code == expected, role
    client = app.server.test_client()
    assert client.get("/campaigns/social-media-autumn/qr.png").status_code == 302  # to the login page
    login(client, "lead")
    width, height, rows, info = png.Reader(bytes=client.get("/campaigns/social-media-autumn/qr.png").data).asDirect()
    pixels = np.array([list(r) for r in rows], dtype=np.uint8)
    assert width == height == pixels.shape[0] and info["planes"] == 1
    pixels = (pixels * (255 // max(1, int(pixels.max())))).astype(np.uint8)  # 1-bit to 8-bit grey
    decoded = [code.text for code in zxingcpp.read_barcodes(pixels)]
    assert decoded == [f"{runtime.settings.public_base_url}/r/social-media-autumn"]
    svg = ET.fromstring(client.get("/campaigns/social-media-autumn/qr.svg").data)
    assert svg.tag.endswith("svg") and any(el.tag.endswith("path") for el in svg.iter())
    assert client.get("/campaigns/social-media-autumn/qr.gif").status_code == 404
    assert client.get("/campaigns/no-such-campaign/qr.png").status_code == 404


def test_campaign_totals_on_the_page_pass_the_disclosure_layer(app, runtime):
    """Registrations per campaign so far are adjusted with the sum of the days' completion keys (read
    from the rows here; the adjustment from the p-table's rows at the documented lookup column) and
    not shown below K; scans and form starts are exact; leads and admins see the same figures."""
    from dashboard.analytics.disclosure import _SCRAMBLE, Disclosure
    from dashboard.pages import campaigns as page
    from dashboard.registry.models import CampaignDailyCount

    with transaction(runtime.sessions) as s:
        campaigns.create_campaign(s, LEAD, name="Intranet pilot", channel="internal_message")
        campaigns.create_campaign(s, LEAD, name="Leaflets", channel="leaflet")
    monday = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)
    with transaction(runtime.sessions) as s:
        for day in range(3):
            for _ in range(4):
                campaigns.count_step(s, "intranet-pilot", "completions", now=monday + dt.timedelta(days=day))
        for _ in range(5):
            campaigns.count_step(s, "leaflets", "completions", now=monday)
        for _ in range(7):
            campaigns.count_step(s, "leaflets", "scans", now=monday)
    with runtime.sessions() as s:
        keys = s.execute(
            sa.select(Campaign.slug, sa.func.sum(CampaignDailyCount.completion_keys))
            .join(Campaign, Campaign.id == CampaignDailyCount.campaign_id)
            .group_by(Campaign.slug)
        ).all()
    key = dict(keys)["intranet-pilot"] % 256
    ptable = runtime.disclosure.ptable
    expected = 12 + int(ptable.rows[min(12, len(ptable.rows) - 1), _SCRAMBLE[(key + 12 * 167 + 89) % 256]])

    def rows(disclosure=None):
        import dataclasses

        saved = app.server.extensions["ccr"]
        if disclosure is not None:
            app.server.extensions["ccr"] = dataclasses.replace(runtime, disclosure=disclosure)
        try:
            with app.server.app_context():
                grid = page._table().children[0]
        finally:
            app.server.extensions["ccr"] = saved
        return {r["slug"]: r for r in grid.rowData}

    shown = rows()
    assert shown["intranet-pilot"]["registrations"] == f"{expected:,}"
    assert shown["leaflets"]["registrations"] == "fewer than 8"  # 5
    assert (shown["leaflets"]["scans"], shown["leaflets"]["form_starts"]) == (7, 0)
    withheld = rows(Disclosure(ptable, withhold_all=True))
    assert {(r["scans"], r["form_starts"], r["registrations"]) for r in withheld.values()} == {
        (None, None, "fewer than 8")
    }
    for role in ("lead", "admin"):
        client = app.server.test_client()
        login(client, role)
        assert client.get("/campaigns").status_code == 200


def test_the_create_callback_makes_a_campaign_or_marks_the_field_at_fault(app, runtime):
    """The page's create callback called directly as a project lead. By hand: "Posters: Stafford (May)"
    makes the slug posters-stafford-may and the link <PUBLIC_BASE_URL>/r/posters-stafford-may; a
    two-letter name is refused on the name field and a channel not on the list on the channel field."""
    from dash import no_update

    from dashboard.pages import campaigns as page
    from tests.direct_calls import as_text, signed_in

    with signed_in(app, "lead1"):
        made = page.create_campaign(1, "Posters: Stafford (May)", "poster")
        short = page.create_campaign(2, "ab", "poster")
        pigeon = page.create_campaign(3, "Fine name", "carrier pigeon")
    assert runtime.settings.public_base_url == "http://127.0.0.1:8050"
    assert "Campaign created. Its link is " in as_text(made["result"])
    assert "http://127.0.0.1:8050/r/posters-stafford-may" in as_text(made["result"])
    assert {k: made[k] for k in ("name_invalid", "name_msg", "channel_invalid", "channel_msg", "name")} == {
        "name_invalid": False,
        "name_msg": "",
        "channel_invalid": False,
        "channel_msg": "",
        "name": "",
    }
    [row] = made["table"].children[0].rowData
    assert (row["slug"], row["name"], row["link"]) == (
        "posters-stafford-may",
        "Posters: Stafford (May)",
        "http://127.0.0.1:8050/r/posters-stafford-may",
    )
    assert short == {
        "table": no_update,
        "result": "",
        "name_invalid": True,
        "name_msg": "Give the campaign a name of 3 to 120 characters.",
        "channel_invalid": False,
        "channel_msg": "",
        "name": no_update,
    }
    assert (pigeon["name_invalid"], pigeon["channel_invalid"], pigeon["name"], pigeon["table"]) == (
        False,
        True,
        no_update,
        no_update,
    )
    assert pigeon["channel_msg"].startswith("Choose a channel: ")
    with runtime.sessions() as s:
        assert list(
            s.execute(sa.select(AuditEvent.action, AuditEvent.username).where(AuditEvent.action == "campaign_created"))
        ) == [("campaign_created", "lead1")]
        assert list(s.scalars(sa.select(Campaign.slug))) == ["posters-stafford-may"]
