"""Reviewing the audit log on real databases: filters and paging, the area filter checked against
shapely point-in-polygon on the reference boundaries, the per-user summary, flags read from the
log, the chain check naming an edited or deleted row, the CSV export, and that only auditors may
use any of it. Expected answers are worked out by hand in the comments."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from dash import no_update

from dashboard.core.vocab import ROLES
from dashboard.pages import audit as audit_page
from dashboard.registry import audit
from dashboard.registry.database import session_factory
from dashboard.registry.models import AuditEvent
from dashboard.security import audit_flags, audit_review
from dashboard.security.search_places import SearchPlaces
from tests.dash_requests import post_with_values
from tests.direct_calls import plain, signed_in
from tests.integration.conftest import login

UTC = dt.UTC
OFFICER1 = audit.Actor(1, "officer1", "officer")
OFFICER2 = audit.Actor(6, "officer2", "officer")
AUDITOR = audit.Actor(4, "auditor1", "auditor")
ANALYST = audit.Actor(2, "analyst1", "analyst")
LEAD = audit.Actor(3, "lead1", "lead")
PUBLIC = audit.Actor(None, "public", None)
SPECIFIC = "Burglary at a house in this street overnight"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def search_detail(lat: float, lon: float, results: int = 4) -> dict:
    return {
        "centre": {"lat": lat, "lon": lon},
        "radius_m": 200,
        "incident_at": None,
        "results": results,
        "source": "page",
    }


def cells(res: int, cameras: str) -> dict:
    """A coverage heatmap callback's row detail, as ``query_log`` writes it."""
    return {
        "page": "/coverage",
        "callback": "coverage-cells.data",
        "status": 200,
        "inputs": {"coverage-res": res, "coverage-cameras": cameras},
    }


def cells_export(res: int) -> dict:
    return {"route": "/coverage/export/cells.csv", "params": {"res": str(res)}, "status": 200}


def write(engine, rows: list[tuple]) -> list[int]:
    """Record (actor, action, at, keyword arguments) rows in order; their ids."""
    ids = []
    with session_factory(engine)() as s:
        for actor, action, at, kwargs in rows:
            ids.append(audit.record(s, actor, action, at=at, **kwargs).id)
        s.commit()
    return ids


def ids_of(page: audit_review.LogPage) -> list[int]:
    return [r["id"] for r in page.rows]


# --------------------------------------------------------------------------- filters and paging


def test_filters_pick_rows_by_uk_day_user_role_action_and_case(engine, reference):
    places = SearchPlaces(reference)
    r1, r2, r3, r4, r5, r6, r7 = write(
        engine,
        [
            (
                OFFICER1,
                "search",
                utc("2026-06-30T23:30"),
                {"case_ref": "CR-2026-0001", "reason": SPECIFIC, "detail": search_detail(52.8064, -2.1174)},
            ),  # UK 1 Jul 00:30
            (
                OFFICER1,
                "reveal_contact",
                utc("2026-07-01T10:00"),
                {"case_ref": "CR-2026-0001", "reason": SPECIFIC, "subject_ids": [5, 6]},
            ),
            (OFFICER2, "search", utc("2026-07-01T22:59"), {"case_ref": "CR-2026-0002", "reason": SPECIFIC}),  # UK 23:59
            (OFFICER2, "search", utc("2026-07-01T23:00"), {"case_ref": "CR-2026-0002", "reason": SPECIFIC}),  # UK 2 Jul
            (PUBLIC, "registration_created", utc("2026-07-01T12:00"), {"subject_ids": [9]}),
            (AUDITOR, "login", utc("2026-06-30T22:59"), {}),  # UK 30 Jun 23:59
            (OFFICER1, "brand_new_action", utc("2026-07-01T08:00"), {"detail": {"b": [1, 2], "a": "x"}}),
        ],
    )
    day = {"from": "2026-07-01", "to": "2026-07-01"}
    cases = [
        (day, [r3, r5, r2, r7, r1]),  # newest first, UK day 1 July
        ({**day, "user": "officer1"}, [r2, r7, r1]),
        ({**day, "role": "none"}, [r5]),
        ({**day, "role": "officer", "action": ["search"]}, [r3, r1]),
        ({"from": "2026-07-01", "to": "2026-07-02", "case": " cr-2026-0002 "}, [r4, r3]),
        ({"from": "2026-06-30", "to": "2026-06-30"}, [r6]),
        ({**day, "action": "brand_new_action"}, [r7]),
    ]
    with session_factory(engine)() as s:
        for values, expected in cases:
            page = audit_review.log_page(s, audit_review.parse_filter(values, reference), places)
            assert (ids_of(page), page.total) == (expected, len(expected)), values
        rows = {r["id"]: r for r in audit_review.log_page(s, audit_review.parse_filter(day, reference), places).rows}
    assert rows[r7]["action_label"] == "brand_new_action"
    assert rows[r7]["detail"] == "a: x; b: [1, 2]"  # the detail is stored with its keys sorted
    assert rows[r1]["when"] == "2026-07-01 00:30:00" and rows[r1]["area"] == "Stafford (E01029701)"
    assert rows[r1]["detail"] == "centre 52.8064, -2.1174; radius 200 m; 4 results; from the page"
    # Cameras are shown by their random public ids, and one with no row left as erased (there are no
    # cameras here); a registration by its reference (none here either).
    assert rows[r2]["subjects"] == "erased, erased" and rows[r3]["area"] == "no centre logged"
    assert rows[r5]["subjects"] == "erased"


@pytest.mark.parametrize(
    "values, message",
    [
        ({"to": "2026-07-01"}, "choose the first date of the period"),
        ({"from": "2026-07-02", "to": "2026-07-01"}, "the period ends (2026-07-01) before it starts (2026-07-02)"),
        ({"from": "1 July", "to": "2026-07-01"}, "the first date must be a date like 2026-09-01, got '1 July'"),
        ({"from": "2026-07-01", "to": "2026-07-01", "role": "superuser"}, "role must be one of"),
        (
            {"from": "2026-07-01", "to": "2026-07-01", "action": ["search", "DROP TABLE"]},
            "'DROP TABLE' is not an action",
        ),
        ({"from": "2026-07-01", "to": "2026-07-01", "area": "E07000197"}, "an area needs its level"),
        (
            {"from": "2026-07-01", "to": "2026-07-01", "level": "district", "area": "E99999999"},
            "is not a district code",
        ),
        ({"from": "2026-07-01", "to": "2026-07-01", "level": "ward", "area": "x"}, "level must be district or lsoa"),
        ({"from": "2026-07-01", "to": "2026-07-01", "case": "X" * 41}, "longer than 40 characters"),
        ({"from": ["2026-07-01", "2026-07-02"], "to": "2026-07-03"}, "give from once"),
    ],
)
def test_filter_values_that_cannot_be_used_are_refused_by_name(reference, values, message):
    with pytest.raises(audit_review.FilterError) as err:
        audit_review.parse_filter(values, reference)
    assert message in str(err.value)


def test_the_log_is_paged_newest_first_and_a_page_past_the_end_shows_the_last(engine, reference):
    base = utc("2026-07-01T09:00")
    ids = write(engine, [(OFFICER1, "login", base + dt.timedelta(minutes=i), {}) for i in range(250)])
    f = audit_review.parse_filter({"from": "2026-07-01", "to": "2026-07-01"}, reference)
    places = SearchPlaces(reference)
    with session_factory(engine)() as s:
        first, last, beyond = (audit_review.log_page(s, f, places, p) for p in (0, 2, 9))
    assert ids_of(first) == ids[::-1][:100] and (first.first, first.last, first.pages) == (1, 100, 3)
    assert ids_of(last) == ids[:50][::-1] and (last.first, last.last) == (201, 250)
    assert (beyond.page, ids_of(beyond)) == (2, ids_of(last))


# --------------------------------------------------------------------------- the area filter


def test_the_area_filter_places_searches_as_shapely_does_on_the_reference_boundaries(engine, reference):
    rng = np.random.default_rng(11)
    sample = reference.postcodes.iloc[rng.choice(len(reference.postcodes), 80, replace=False)]
    points = [
        (float(lat) + rng.normal(0, 0.002), float(lon) + rng.normal(0, 0.002))
        for lat, lon in zip(sample["lat"], sample["lon"])
    ]
    rows = [
        (
            OFFICER1,
            "search",
            utc("2026-07-01T10:00") + dt.timedelta(minutes=i),
            {"case_ref": f"CR-2026-{i:04d}", "reason": SPECIFIC, "detail": search_detail(round(lat, 5), round(lon, 5))},
        )
        for i, (lat, lon) in enumerate(points)
    ]
    rows += [
        (
            OFFICER1,
            "search",
            utc("2026-07-01T12:00"),
            {"case_ref": "CR-2026-9998", "reason": SPECIFIC, "detail": search_detail(51.5007, -0.1246)},
        ),  # London
        (OFFICER1, "search", utc("2026-07-01T12:01"), {"case_ref": "CR-2026-9999", "reason": SPECIFIC}),
        (
            OFFICER1,
            "reveal_contact",
            utc("2026-07-01T12:02"),
            {"case_ref": "CR-2026-0001", "reason": SPECIFIC, "subject_ids": [1]},
        ),
    ]
    ids = write(engine, rows)
    centres = {i: (round(lat, 5), round(lon, 5)) for i, (lat, lon) in zip(ids, points)}

    def by_shapely(layer, code):  # the second method: Polygon.contains on the boundary itself
        polygon = layer.loc[layer["code"] == code, "geometry"].iloc[0]
        return sorted(i for i, (lat, lon) in centres.items() if polygon.contains(shapely.Point(lon, lat)))

    places = SearchPlaces(reference)
    day = {"from": "2026-07-01", "to": "2026-07-01"}
    with session_factory(engine)() as s:
        table, missing = audit_review.searches_by_area(s, audit_review.parse_filter(day, reference), places, "district")
        for code in reference.districts["code"]:
            expected = by_shapely(reference.districts, code)
            f = audit_review.parse_filter({**day, "level": "district", "area": code}, reference)
            assert sorted(ids_of(audit_review.log_page(s, f, places, page_size=500))) == expected, code
            assert int(table.loc[table["code"] == code, "searches"].iloc[0]) == len(expected), code
        with_searches = [code for code in reference.small_areas["code"] if by_shapely(reference.small_areas, code)]
        assert len(with_searches) >= 20
        empty = next(c for c in reference.small_areas["code"] if c not in with_searches)
        for code in [*with_searches[:25], empty]:
            f = audit_review.parse_filter({**day, "level": "lsoa", "area": code}, reference)
            assert sorted(ids_of(audit_review.log_page(s, f, places, page_size=500))) == by_shapely(
                reference.small_areas, code
            ), code
    force = shapely.union_all(reference.districts.geometry.to_numpy())
    outside = sum(1 for lat, lon in centres.values() if not force.contains(shapely.Point(lon, lat)))
    assert int(table["searches"].sum()) == 80 - outside
    assert missing == {"outside": outside + 1, "no_centre": 1}  # and the one in London


# --------------------------------------------------------------------------- summary


def test_activity_per_user_is_counted_by_hand(engine, reference):
    at = utc("2026-07-01T10:00")
    step = iter(range(100))

    def row(actor, action, **kwargs):
        return (actor, action, at + dt.timedelta(minutes=next(step)), kwargs)

    case = {"case_ref": "CR-2026-0001", "reason": SPECIFIC}
    write(
        engine,
        [
            row(OFFICER1, "login"),
            *[row(OFFICER1, "search", **case) for _ in range(3)],
            *[row(OFFICER1, "reveal_contact", **case) for _ in range(2)],
            row(OFFICER1, "request_created", **case),
            *[row(OFFICER1, "request_status", case_ref="CR-2026-0001") for _ in range(2)],
            row(OFFICER1, "export", **case),
            *[row(audit.Actor(None, "officer1", None), "login_failed") for _ in range(2)],
            row(AUDITOR, "audit_export"),
            row(ANALYST, "login"),
            *[row(ANALYST, "aggregate_query", detail=cells(8, "all")) for _ in range(4)],
            *[row(ANALYST, "aggregate_export", detail=cells_export(8)) for _ in range(2)],
        ],
    )
    f = audit_review.parse_filter({"from": "2026-07-01", "to": "2026-07-01"}, reference)
    with session_factory(engine)() as s:
        table = audit_review.user_summary(s, f, SearchPlaces(reference))
    none = {"aggregate_queries": 0, "aggregate_exports": 0}
    assert table.to_dict("records") == [
        {
            "username": "officer1",
            "roles": "officer",
            "searches": 3,
            "reveals": 2,
            "exports": 1,
            "requests_created": 1,
            "status_changes": 2,
            "failed_logins": 2,
            **none,
            "other": 1,
            "total": 12,
            "last_activity": "2026-07-01 11:11:00",
        },
        # the analyst: a login (other), 4 queries and 2 downloads, the last at 10:00 + 19 minutes = 11:19 UK
        {
            "username": "analyst1",
            "roles": "analyst",
            "searches": 0,
            "reveals": 0,
            "exports": 0,
            "requests_created": 0,
            "status_changes": 0,
            "failed_logins": 0,
            "aggregate_queries": 4,
            "aggregate_exports": 2,
            "other": 1,
            "total": 7,
            "last_activity": "2026-07-01 11:19:00",
        },
        {
            "username": "auditor1",
            "roles": "auditor",
            "searches": 0,
            "reveals": 0,
            "exports": 1,
            "requests_created": 0,
            "status_changes": 0,
            "failed_logins": 0,
            **none,
            "other": 0,
            "total": 1,
            "last_activity": "2026-07-01 11:12:00",
        },
    ]


# --------------------------------------------------------------------------- flags from the log


def test_flags_are_read_from_the_log_and_narrowed_by_user_and_case(engine, reference):
    june = utc("2026-06-10T09:00")  # 10:00 UK
    cams = {"subject_ids": list(range(1, 26))}
    write(
        engine,
        [
            # officer1, CR-A: a vague reason, 25 cameras revealed, and no request within 14 days
            (
                OFFICER1,
                "search",
                june,
                {"case_ref": "CR-2026-000A", "reason": "enquiries", "detail": search_detail(52.8064, -2.1174)},
            ),
            (OFFICER1, "reveal_contact", june, {"case_ref": "CR-2026-000A", "reason": "enquiries", **cams}),
            # officer2: three searches within 30 m in two cases, each followed by a request; one at 03:00 UK
            *[
                (
                    OFFICER2,
                    "search",
                    june + dt.timedelta(days=k, hours=-8 if k == 2 else 0),
                    {
                        "case_ref": f"CR-2026-000{'B' if k else 'C'}",
                        "reason": SPECIFIC,
                        "detail": search_detail(52.8064 + k * 0.0001, -2.1174),
                    },
                )
                for k in range(3)
            ],
            *[
                (
                    OFFICER2,
                    "request_created",
                    june + dt.timedelta(days=k, hours=1),
                    {"case_ref": f"CR-2026-000{'B' if k else 'C'}", "reason": SPECIFIC},
                )
                for k in range(3)
            ],
        ],
    )
    f = audit_review.parse_filter({"from": "2026-06-01", "to": "2026-06-30"}, reference)
    now = utc("2026-08-01T00:00")
    places = SearchPlaces(reference)
    with session_factory(engine)() as s:
        every = audit_flags.review_flags(s, f, now, places)
        kinds = sorted((fl.kind, fl.users, fl.case_refs) for fl in every.flags)
        assert kinds == [
            ("many_reveals", ("officer1",), ("CR-2026-000A",)),
            ("no_follow_up", ("officer1",), ("CR-2026-000A",)),
            ("off_hours", ("officer2",), ("CR-2026-000B",)),  # 12 Jun 01:00 UTC = 02:00 UK
            ("repeated_point", ("officer2",), ("CR-2026-000B", "CR-2026-000C")),
            ("vague_reason", ("officer1",), ("CR-2026-000A",)),
        ]
        off = next(fl for fl in every.flags if fl.kind == "off_hours")
        assert "1 search at 02:00 on Fri 12 Jun 2026" in off.why and "the fixed default" in off.why
        only2 = audit_flags.review_flags(
            s,
            audit_review.parse_filter({"from": "2026-06-01", "to": "2026-06-30", "user": "officer2"}, reference),
            now,
            places,
        )
        assert {fl.kind for fl in only2.flags} == {"off_hours", "repeated_point"}
        case_c = audit_flags.review_flags(
            s,
            audit_review.parse_filter({"from": "2026-06-01", "to": "2026-06-30", "case": "CR-2026-000C"}, reference),
            now,
            places,
        )
        assert [fl.kind for fl in case_c.flags] == ["repeated_point"]


def test_a_burst_of_near_identical_figure_queries_is_flagged_from_the_log(engine, reference):
    at = utc("2026-06-10T09:00")  # 10:00 UK
    uptake = [
        (
            LEAD,
            "aggregate_query",
            at + dt.timedelta(minutes=2 * i),
            {
                "detail": {
                    "route": "/api/v1/metrics/uptake",
                    "status": 200,
                    "params": {"from": "2026-05-01", "to": f"2026-05-{i + 2:02d}"},
                }
            },
        )
        for i in range(20)
    ]
    # the analyst: 19 heatmap queries a minute apart switching cameras between all and cctv (one short of a
    # burst on their own), then 5 more of the same view with cameras all: 24 queries within 34 minutes that
    # differ in cameras only
    heatmap = [
        (ANALYST, "aggregate_query", at + dt.timedelta(minutes=i), {"detail": cells(8, ["all", "cctv"][i % 2])})
        for i in range(19)
    ]
    again = [
        (ANALYST, "aggregate_query", at + dt.timedelta(minutes=30 + i), {"detail": cells(8, "all")}) for i in range(5)
    ]
    ids = write(engine, uptake + heatmap + again)
    f = audit_review.parse_filter({"from": "2026-06-01", "to": "2026-06-30"}, reference)
    with session_factory(engine)() as s:
        report = audit_flags.review_flags(s, f, utc("2026-07-01T00:00"), SearchPlaces(reference))
        rows = audit_review.rows_by_id(s, ids[:1], SearchPlaces(reference))
        case = audit_flags.review_flags(
            s,
            audit_review.parse_filter({"from": "2026-06-01", "to": "2026-06-30", "case": "CR-2026-0001"}, reference),
            utc("2026-07-01T00:00"),
            SearchPlaces(reference),
        )
    bursts = sorted((fl.users, fl.row_ids) for fl in report.flags if fl.kind == "query_burst")
    # lead1: 20 in 38 minutes, only 'to' moving; analyst1: 24 within 34 minutes, only 'cameras' changing
    assert bursts == [(("analyst1",), tuple(ids[20:44])), (("lead1",), tuple(ids[:20]))]
    lead = next(fl for fl in report.flags if fl.users == ("lead1",))
    assert lead.why.startswith("lead1 made 20 queries of 'API metrics/uptake' in 38 minutes")
    assert rows[0]["action_label"] == "Figures asked for"
    assert rows[0]["detail"] == "API metrics/uptake: from 2026-05-01, to 2026-05-02"
    assert case.flags == []  # no case: a case filter leaves them out


# --------------------------------------------------------------------------- the chain check


def _unguard(conn) -> None:
    """What someone with database access would do first: drop the append-only guard."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update")
    else:
        conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")


def _five(engine) -> list[int]:
    at = utc("2026-07-01T10:00")
    return write(
        engine,
        [
            (
                OFFICER1,
                "search",
                at,
                {"case_ref": "CR-2026-0001", "reason": SPECIFIC, "detail": search_detail(52.8, -2.1)},
            ),
            (OFFICER1, "reveal_contact", at, {"case_ref": "CR-2026-0001", "reason": SPECIFIC, "subject_ids": [3]}),
            (OFFICER2, "search", at, {"case_ref": "CR-2026-0002", "reason": SPECIFIC}),
            (
                OFFICER2,
                "export",
                at + dt.timedelta(microseconds=7),  # odd text: hashed as written
                {"case_ref": "CR-2026-0002", "reason": 'Café "quoted" \\ back\nslash ✓ ="1"'},
            ),
            (AUDITOR, "login", at, {}),
        ],
    )


def test_an_intact_chain_reports_rows_time_and_newest_row(engine):
    ids = _five(engine)
    with session_factory(engine)() as s:
        check = audit.verify_chain(s, batch=2)  # several batches
    assert (check.intact, check.rows_checked, check.last_id, check.problem) == (True, 5, ids[-1], None)
    assert check.elapsed_s > 0 and check.rows_per_s > 0


def test_a_row_edited_in_the_database_is_named_as_edited(engine):
    ids = _five(engine)
    with engine.begin() as conn:
        _unguard(conn)
        conn.execute(sa.text("UPDATE audit_event SET reason = 'routine' WHERE id = :id"), {"id": ids[1]})
    with session_factory(engine)() as s:
        check = audit.verify_chain(s)
    assert (check.first_broken_id, check.problem, check.rows_checked) == (ids[1], audit.BROKEN_CONTENT, 2)
    assert (check.broken_username, check.broken_action, check.broken_at) == (
        "officer1",
        "reveal_contact",
        utc("2026-07-01T10:00"),
    )


def test_a_deleted_row_breaks_the_link_of_the_next_one(engine):
    ids = _five(engine)
    with engine.begin() as conn:
        _unguard(conn)
        conn.execute(sa.text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[2]})
    with session_factory(engine)() as s:
        check = audit.verify_chain(s)
    assert (check.first_broken_id, check.problem, check.previous_id) == (ids[3], audit.BROKEN_LINK, ids[1])
    assert check.rows_checked == 3  # rows 1, 2 and the broken 4th


def test_a_row_rewritten_with_a_fresh_hash_breaks_the_next_rows_link(engine):
    ids = _five(engine)
    with session_factory(engine)() as s:  # the new hash, by the recipe record() uses, key and all (an insider)
        row = s.get(AuditEvent, ids[1])
        new_hash = audit.row_digest(
            row.prev_hash, {**audit.row_fields(vars(row)), "reason": "routine"}, audit.anchor_for(s).chain_key
        )
    with engine.begin() as conn:
        _unguard(conn)
        conn.execute(
            sa.text("UPDATE audit_event SET reason = 'routine', row_hash = :h WHERE id = :id"),
            {"h": new_hash, "id": ids[1]},
        )
    with session_factory(engine)() as s:
        check = audit.verify_chain(s)
    assert (check.first_broken_id, check.problem, check.previous_id) == (ids[2], audit.BROKEN_LINK, ids[1])


# --------------------------------------------------------------------------- the page, its export and who may use them


def callback(client, app, output_prefix: str, values: dict):
    return post_with_values(client, app, output_prefix, values)


AUDIT_OUTPUTS = (
    "audit-log.rowData",
    "audit-summary.rowData",
    "audit-map-layer.data",
    "audit-flags.rowData",
    "audit-flag-rows.rowData",
    "audit-check-result.children",
    "audit-area.options",
    "audit-evidence-result.children",
)


@pytest.mark.parametrize("role", [None, *ROLES])
def test_only_auditors_reach_the_page_its_callbacks_and_its_export(app, role):
    client = app.server.test_client()
    if role:
        login(client, role)
    export = client.get("/audit/export.csv?from=2026-07-01&to=2026-07-01")
    page = client.get("/audit")
    statuses = [callback(client, app, out, {}).status_code for out in AUDIT_OUTPUTS]
    if role is None:
        assert page.status_code == 302 and "/login" in page.headers["Location"]
        assert export.status_code == 302 and "/login" in export.headers["Location"]
        assert statuses == [401] * len(AUDIT_OUTPUTS)
    elif role != "auditor":
        assert (page.status_code, export.status_code) == (403, 403)
        assert statuses == [403] * len(AUDIT_OUTPUTS)
        assert "row_hash" not in export.get_data(as_text=True)
    else:
        assert (page.status_code, export.status_code) == (200, 200)
        assert all(s == 200 or s == 204 for s in statuses), statuses


def test_the_export_is_safe_for_spreadsheets_and_is_itself_logged(app, runtime):
    ids = write(
        runtime.engine,
        [
            (
                OFFICER1,
                "search",
                utc("2026-07-01T10:00"),
                {"case_ref": "CR-2026-0001", "reason": '=HYPERLINK("x")', "detail": search_detail(52.8064, -2.1174)},
            ),
            (
                OFFICER1,
                "reveal_contact",
                utc("2026-07-01T10:05"),
                {"case_ref": "CR-2026-0001", "reason": "+44 rang", "subject_ids": [5]},
            ),
            (OFFICER2, "search", utc("2026-07-02T10:00"), {"case_ref": "CR-2026-0002", "reason": SPECIFIC}),
        ],
    )
    client = app.server.test_client()
    login(client, "auditor")
    response = client.get("/audit/export.csv?from=2026-07-01&to=2026-07-01&case=CR-2026-0001")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "audit-log-2026-07-01-to-2026-07-01.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [int(r["id"]) for r in rows] == ids[:2]  # oldest first; the other case and day left out
    assert rows[0]["reason"] == '\'=HYPERLINK("x")' and rows[1]["reason"] == "'+44 rang"
    assert rows[0]["occurred_at_uk"] == "2026-07-01 11:00:00" and rows[0]["search_district"] == "E07000197"
    assert rows[0]["search_lsoa"] == "E01029701" and rows[1]["search_district"] == ""
    with runtime.sessions() as s:
        logged = s.execute(sa.select(AuditEvent).where(AuditEvent.action == "audit_export")).scalars().all()
        rows_then = {r.row_hash for r in s.scalars(sa.select(AuditEvent).where(AuditEvent.id.in_(ids[:2])))}
    assert [(e.username, json.loads(e.detail)) for e in logged] == [
        (
            "auditor1",
            {
                "filters": {"from": "2026-07-01", "to": "2026-07-01", "case": "CR-2026-0001"},
                "rows": 2,
                "upto_id": ids[1],
            },
        )
    ]
    assert {r["row_hash"] for r in rows} == rows_then
    # By area: only the search centred in Stafford; the reveal has no place and the other search no centre.
    by_area = client.get("/audit/export.csv?from=2026-07-01&to=2026-07-02&level=district&area=E07000197")
    assert [int(r["id"]) for r in csv.DictReader(io.StringIO(by_area.get_data(as_text=True)))] == ids[:1]


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2026-07-01", "Cannot export: choose the last date of the period."),
        ("from=2026-07-02&to=2026-07-01", "Cannot export: the period ends (2026-07-01) before it starts (2026-07-02)."),
        ("from=2026-07-01&to=2026-07-01&rows=all", "Cannot export: unknown argument 'rows'; use from, to, user, role"),
        (
            "from=2026-07-01&to=2026-07-01&level=district&area=nowhere",
            "Cannot export: 'nowhere' is not a district code",
        ),
        ("from=2026-07-01&to=2026-07-01&from=2026-06-01", "Cannot export: give from once, not 2 times."),
    ],
)
def test_bad_export_arguments_are_refused_and_nothing_is_logged(app, runtime, query, message):
    client = app.server.test_client()
    login(client, "auditor")
    response = client.get(f"/audit/export.csv?{query}")
    assert response.status_code == 400 and response.get_data(as_text=True).startswith(message)
    with runtime.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "audit_export")) == 0


def test_the_auditor_sees_who_searched_where_but_the_map_shows_areas_only(app, runtime, reference):
    write(
        runtime.engine,
        [
            (
                OFFICER1,
                "search",
                utc("2026-07-01T10:00") + dt.timedelta(minutes=k),
                {
                    "case_ref": "CR-2026-0001",
                    "reason": SPECIFIC,
                    "detail": search_detail(round(52.80641 + k * 1e-5, 5), -2.11743),
                },
            )
            for k in range(3)
        ],
    )
    day = {"from": "2026-07-01", "to": "2026-07-01"}
    with signed_in(app, "auditor"):
        log = audit_page.show_log("2026-07-01", "2026-07-01", *[None] * 9)
        answer = plain(audit_page.map_searches(day, "district"))
    assert [r["detail"].split(";")[0] for r in log["rows"] if r["action"] == "search"] == [
        "centre 52.80643, -2.11743",
        "centre 52.80642, -2.11743",
        "centre 52.80641, -2.11743",
    ]
    assert log["filter"] == day and log["export"] == "/audit/export.csv?from=2026-07-01&to=2026-07-01"
    features = answer["layer"]["features"]
    assert len(features) == len(reference.districts)
    assert {f["geometry"]["type"] for f in features} <= {"Polygon", "MultiPolygon"}
    assert {f["properties"]["code"]: f["properties"]["tooltip"] for f in features}[
        "E07000197"
    ] == "Stafford: 3 searches by 1 user in 1 case"
    assert all(set(f["properties"]) == {"code", "name", "fill", "tooltip"} for f in features)
    vertices = {
        tuple(v) for f in features for v in np.asarray(shapely.get_coordinates(shapely.geometry.shape(f["geometry"])))
    }
    assert not vertices & {(-2.11743, 52.80641), (-2.11743, 52.80642), (-2.11743, 52.80643)}  # no search's point
    assert "3 searches placed by their centres in 1 of 9 areas" in answer["note"]


def test_a_bad_period_on_the_page_says_why_and_shows_nothing(app):
    with signed_in(app, "auditor"):
        answer = audit_page.show_log("2026-07-02", "2026-07-01", *[None] * 9)
    assert answer["rows"] == [] and answer["filter"] is None and answer["showing"] == ""
    assert answer["newer_disabled"] and answer["older_disabled"]
    assert "the period ends (2026-07-01) before it starts (2026-07-02)" in json.dumps(plain(answer["message"]))


def test_the_log_pages_older_and_newer_and_a_new_filter_starts_at_the_newest(app, runtime):
    at = utc("2026-07-01T09:00")
    ids = write(
        runtime.engine,
        [
            (OFFICER1, "search", at + dt.timedelta(minutes=k), {"case_ref": "CR-2026-0001", "reason": "test"})
            for k in range(150)
        ],
    )
    day = ("2026-07-01", "2026-07-01", None, None, None, None, None, None)
    with signed_in(app, "auditor"):
        first = audit_page.show_log(*day, None, None, None)
        older = audit_page.show_log(*day, None, 1, 0, trigger=audit_page.OLDER)
        newer = audit_page.show_log(*day, 1, 1, 1, trigger=audit_page.NEWER)
        refiltered = audit_page.show_log(*day, 1, 1, 1, trigger=audit_page.CASE)
    # 150 rows, 100 a page, newest first: the first page is rows 150 down to 51, the second 50 down to 1.
    assert [r["id"] for r in first["rows"]] == ids[::-1][:100]
    assert (first["showing"], first["page"], first["newer_disabled"], first["older_disabled"]) == (
        "Rows 1–100 of 150, newest first",
        0,
        True,
        False,
    )
    assert first["filter"] == {"from": "2026-07-01", "to": "2026-07-01"}
    assert [r["id"] for r in older["rows"]] == ids[49::-1]
    assert (older["showing"], older["page"], older["newer_disabled"], older["older_disabled"]) == (
        "Rows 101–150 of 150, newest first",
        1,
        False,
        True,
    )
    assert older["filter"] is no_update  # turning the page leaves the summary, map and flags as they are
    assert newer["page"] == 0 and [r["id"] for r in newer["rows"]] == ids[::-1][:100] and newer["filter"] is no_update
    assert refiltered["page"] == 0 and refiltered["filter"] == first["filter"]


def test_the_chain_check_on_the_page_is_logged_and_names_an_edited_row(app, runtime):
    ids = _five(runtime.engine)
    with signed_in(app, "auditor"):
        ok = json.dumps(plain(audit_page.verify_chain(1)))
    assert "The chain is intact." in ok and "5 rows checked" in ok  # the five rows; no login (no HTTP here)
    with runtime.engine.begin() as conn:
        _unguard(conn)
        conn.execute(sa.text("UPDATE audit_event SET reason = 'nothing to see' WHERE id = :id"), {"id": ids[2]})
    with signed_in(app, "auditor"):
        broken = json.dumps(plain(audit_page.verify_chain(2)))
    assert f"First broken row: {ids[2]}" in broken and "this row was edited after it was written" in broken
    assert "officer2, search" in broken and "Previous check:" in broken and "5 rows, intact" in broken
    with runtime.sessions() as s:
        checks = [
            json.loads(d)
            for d in s.scalars(
                sa.select(AuditEvent.detail).where(AuditEvent.action == "audit_verified").order_by(AuditEvent.id)
            )
        ]
    assert [(c["rows_checked"], c["intact"], c["first_broken_id"], c["problem"]) for c in checks] == [
        (5, True, None, None),
        (3, False, ids[2], "content"),
    ]


def test_the_flag_rows_callback_shows_the_rows_behind_a_flag(app, runtime):
    ids = write(
        runtime.engine,
        [
            (
                OFFICER1,
                "search",
                utc("2026-07-01T10:00"),
                {"case_ref": "CR-2026-0001", "reason": "test", "detail": search_detail(52.8, -2.1)},
            )
        ],
    )
    with signed_in(app, "auditor"):
        rows, title = audit_page.show_flag_rows([{"row_ids": ids + [True, "x"]}])
    assert [r["id"] for r in rows] == ids
    assert title == "Rows behind the flag (1)"  # True and "x" are not row ids: one id asked for, one row found


def test_the_chain_check_on_the_page_names_the_row_after_a_deleted_one(app, runtime):
    ids = _five(runtime.engine)
    with runtime.engine.begin() as conn:
        _unguard(conn)
        conn.execute(sa.text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[1]})
    with signed_in(app, "auditor"):
        broken = json.dumps(plain(audit_page.verify_chain(1)))
    assert f"First broken row: {ids[2]}" in broken and "2 rows checked" in broken  # row 1, then row 3
    assert f"Its link to the previous row (row {ids[0]}) does not match that row's hash: a row was deleted" in broken
    assert "this row was edited" not in broken and "Previous check" not in broken
