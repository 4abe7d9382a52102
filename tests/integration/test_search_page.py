"""The search page's callbacks called directly as an officer: the incident point from typed text, a
map click or a new radius; a search refused with every reason and nothing logged as a search; the
urgent-notice offer only for cameras whose footage may be gone within 48 hours."""

from __future__ import annotations

import sqlalchemy as sa
from dash import no_update

from dashboard.components.maps import radius_bounds
from dashboard.pages import search
from dashboard.registry.models import AuditEvent
from tests.direct_calls import as_text, signed_in


def test_the_incident_point_from_a_grid_reference_a_map_click_and_a_new_radius(app):
    with signed_in(app, "officer1"):
        # SJ 88 45: the 1 km square 88 km east and 45 km north of SJ's corner (300000, 300000), at its centre.
        typed = search.place_incident(1, None, None, 200, "SJ 88 45", None, trigger=search.LOCATE)
        clicked = search.place_incident(
            1, None, {"latlng": {"lat": 52.8064, "lng": -2.1174}}, 200, "SJ 88 45", None, trigger=search.MAP
        )
        london = search.place_incident(
            1, None, {"latlng": {"lat": 51.5007, "lng": -0.1246}}, 200, None, None, trigger=search.MAP
        )
        wider = search.place_incident(1, None, None, 1000, "ignored", typed["point"], trigger=search.RADIUS)
    point = typed["point"]
    assert (point["easting_m"], point["northing_m"]) == (388500.0, 345500.0)
    assert typed["message"] == f"Incident point: {point['label']}" and typed["invalid"] is False
    assert typed["radius_label"] == "200 m" and typed["incident"]
    # The map is fitted to the circle and a margin (200 m and 15 %) around the typed point.
    assert typed["viewport"]["bounds"] == radius_bounds(point["lat"], point["lon"], 230.0)
    # A click is taken where it is (Stafford's district), and the map is not moved under the pointer.
    assert (clicked["point"]["lat"], clicked["point"]["lon"], clicked["point"]["district"]) == (
        52.8064,
        -2.1174,
        "E07000197",
    )
    assert clicked["viewport"] is no_update and clicked["invalid"] is False
    # Outside the force area: the point is cleared, the field marked, the reason given.
    assert (london["point"], london["invalid"], london["incident"], london["viewport"]) == (None, True, [], no_update)
    assert "outside" in as_text(london["message"]).lower()
    # A new radius redraws the circle and refits the map; the point and the message stay.
    assert (wider["point"], wider["message"], wider["invalid"]) == (no_update, no_update, no_update)
    assert wider["radius_label"] == "1,000 m"
    assert wider["viewport"]["bounds"] == radius_bounds(point["lat"], point["lon"], 1150.0)


def test_a_search_without_a_point_case_or_reason_names_each_and_is_not_run(app, runtime):
    with signed_in(app, "officer1"):
        refused = search.search_cameras(1, None, "2026-11-20T21:30", 200, "", "")
    summary = as_text(refused["summary"])
    assert "The search was not run:" in summary
    assert "Where: Set the incident point: click the map or type a postcode" in summary
    assert "Case reference: " in summary and "Reason: " in summary and "When: " not in summary
    assert (refused["case_invalid"], refused["reason_invalid"], refused["when_invalid"]) == (True, True, False)
    assert refused["case_msg"] and refused["reason_msg"] and refused["when_msg"] == ""
    assert (refused["rows"], refused["markers"], refused["context"], refused["contacts"], refused["selected"]) == (
        [],
        [],
        None,
        None,
        [],
    )
    with runtime.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "search")) == 0


def test_contacts_and_requests_need_a_search_and_a_selection(app, runtime):
    context = {"search_id": 1, "case_ref": "CR-2026-000001", "lat": 52.8, "lon": -2.1, "at": "2026-11-20T21:30"}
    with signed_in(app, "officer1"):
        assert "Search first" in as_text(search.show_contacts(1, [{"camera_id": "CAM-X"}], None))
        assert "Select one or more cameras" in as_text(search.show_contacts(1, [], context))
        assert "Search first" in as_text(search.send_footage_requests(1, [], None, None, 30, 30, None, False))
        asked = [
            as_text(search.send_footage_requests(1, [{"camera_id": "CAM-X"}], context, None, b, a, None, False))
            for b, a in (("ten", 30), (30, 721), (-1, 0))
        ]
    assert "must be whole numbers" in asked[0]
    assert "between 0 and 720" in asked[1] and "between 0 and 720" in asked[2]
    with runtime.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_the_urgent_notice_is_offered_only_for_footage_at_risk():
    at_risk, gone = search.views.RETENTION_LABELS["at_risk"], search.views.RETENTION_LABELS["overwritten"]
    assert search.hide_preservation_notice(None) is True
    assert search.hide_preservation_notice([{"retention": "Available"}, {"retention": "Unknown"}]) is True
    assert search.hide_preservation_notice([{"retention": "Available"}, {"retention": at_risk}]) is False
    assert search.hide_preservation_notice([{"retention": gone}]) is False
    assert search.hide_preservation_notice(["CAM-X", {"retention": "at_risk"}]) is True  # labels, not keys
