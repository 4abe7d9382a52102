"""The overview's, coverage's and accounts' callbacks and the shell's router, called directly as a
logged-in user (tests/direct_calls.py) over a new registry: one user per role, no registrations. The
answers are worked out by hand from that: with nothing registered every figure is under k, so hidden."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from dash import no_update

from dashboard.application import route
from dashboard.pages import accounts as accounts_page
from dashboard.pages import coverage as coverage_page
from dashboard.pages import home as home_page
from dashboard.registry.models import AuditEvent, User
from tests.direct_calls import plain, signed_in

DISTRICTS = 9  # Staffordshire's districts and Stoke-on-Trent in the reference data


def _text(answer) -> str:
    return json.dumps(plain(answer))


# --------------------------------------------------------------------------- the shell's router


def test_the_router_shows_a_page_only_to_its_roles_and_says_when_there_is_none(app):
    with signed_in(app, "analyst"):
        refused = _text(route("/storage"))
        missing = _text(route("/no-such-page"))
        home = _text(route(None))  # no path yet: the overview
    assert "Not available to your role" in refused and "Evidence storage" not in refused
    assert "Page not found" in missing and "There is no page at this address." in missing
    assert "home-stat-registrations" in home
    with signed_in(app, "admin"):
        assert "Evidence storage" in _text(route("/storage"))


# --------------------------------------------------------------------------- the overview


def test_the_overview_map_of_an_empty_register_colours_no_district(app, runtime):
    k = runtime.disclosure.k
    with signed_in(app, "analyst"):
        answer = plain(home_page.recolour("cameras_per_1000"))
        forged = plain(home_page.recolour("anything else"))
    features = answer["districts"]["features"]
    assert len(features) == DISTRICTS
    stafford = next(f["properties"] for f in features if f["properties"]["code"] == "E07000197")
    assert (
        stafford["tooltip"]
        == f"<strong>Stafford</strong><br>Cameras per 1,000 households: fewer than {k} registrations"
    )
    assert len({f["properties"]["fill"] for f in features}) == 1  # all the "no figure" colour
    # The legend has no classes, only the hidden ones' swatch.
    assert "Cameras per 1,000 households" in json.dumps(answer["legend"])
    assert json.dumps(answer["legend"]).count("legend-swatch") == 1
    # A metric the page does not offer is the default one.
    assert "Registrations per 1,000 households" in json.dumps(forged["legend"])


# --------------------------------------------------------------------------- coverage


def test_coverage_of_an_empty_register_draws_no_cell_and_hides_every_area(app, runtime):
    k = runtime.disclosure.k
    with signed_in(app, "analyst"):
        cells = plain(coverage_page.redraw_cells("12", "forged:choice"))  # forged: medium cells, all cameras
        areas = plain(coverage_page.area_table("county", "75"))  # forged: districts, 100 m
    assert cells["cells"]["features"] == []
    assert cells["summary"].startswith("0 cells drawn; 0 show a number, with about 0 cameras between them")
    assert [a["props"]["href"] for a in cells["exports"]] == [
        "/coverage/export/cells.csv?res=8",
        "/coverage/export/cells.geojson?res=8",
        "/coverage/export/cells.gpkg?res=8",
    ]
    assert len(areas["rows"]) == DISTRICTS
    assert {(r["registrations"], r["cameras"], r["registrations_per_1000"]) for r in areas["rows"]} == {
        (f"fewer than {k}", "not shown", "not shown")
    }
    assert f"{DISTRICTS} of {DISTRICTS} areas show no count: fewer than {k} registrations." in areas["note"]
    assert "a registered camera within 100 m of the postcode's centre" in areas["note"]
    assert len(areas["layer"]["features"]) == DISTRICTS
    assert areas["exports"][0]["props"]["href"] == "/coverage/export/areas.csv?level=district&near=100"


# --------------------------------------------------------------------------- accounts


def _user_id(runtime, username: str) -> int:
    with runtime.sessions() as s:
        return s.scalar(sa.select(User.id).where(User.username == username))


def _row(rows: list[dict], username: str) -> dict:
    row = next(r for r in rows if r["username"] == username)
    return {k: row[k] for k in ("role", "status", "open_sessions", "tokens")}


def test_an_administrator_creates_selects_and_disables_a_user(app, runtime):
    with signed_in(app, "admin"):
        made = accounts_page.create_user(1, "newbie", "officer", "plain-walnut-harbour-42")
        again = accounts_page.create_user(2, "newbie", "officer", "plain-walnut-harbour-42")
    new_id = _user_id(runtime, "newbie")
    assert "User newbie created with the password you typed." in _text(made["message"])
    assert _row(made["users"], "newbie") == {"role": "Officer", "status": "Active", "open_sessions": 0, "tokens": 0}
    assert (made["name"], made["password"]) == ("", "")
    # The same name again is refused: the table and the name typed stay, the password is emptied.
    assert plain(again["message"])["props"]["color"] == "danger"
    assert again["users"] is no_update and again["name"] is no_update and again["password"] == ""

    with signed_in(app, "admin"):
        assert accounts_page.select_user([{"id": new_id}], None) == (new_id, "")
        assert accounts_page.select_user([{"id": new_id}], new_id) == (no_update, no_update)  # a refresh
        assert accounts_page.select_user([], new_id) == (None, "")
        panel = accounts_page.show_user(new_id)
        off = accounts_page.act_on_user(
            None, 1, None, None, [], new_id, "officer", trigger=accounts_page.DISABLE_CONFIRM
        )
    assert (panel["title"], panel["role"]) == ("newbie", "officer")
    assert panel["state"].startswith("Officer · active · created ")
    # An active user can have a role set, be disabled or have a password reset, not be enabled.
    assert [panel[k] for k in accounts_page.DISABLED_KEYS] == [False, False, True, False]
    assert "No API tokens." in _text(panel["tokens"])
    assert "User disabled; 0 open sessions ended and API tokens revoked." in _text(off["message"])
    assert _row(off["users"], "newbie")["status"] == "Disabled"
    assert off["state"].startswith("Officer · disabled · ")
    assert [off[k] for k in accounts_page.DISABLED_KEYS] == [True, True, False, True]
    with runtime.sessions() as s:
        logged = [
            (e.username, e.action, json.loads(e.detail))
            for e in s.scalars(sa.select(AuditEvent).where(AuditEvent.action.in_(["user_created", "user_disabled"])))
        ]
    assert logged[0] == ("admin1", "user_created", {"username": "newbie", "role": "officer", "password": "set"})
    assert [(u, a) for u, a, _ in logged] == [("admin1", "user_created"), ("admin1", "user_disabled")]


@pytest.mark.parametrize(
    "trigger, selected, role, message",
    [
        (accounts_page.ENABLE, None, None, "Select a user first."),
        (accounts_page.SET_ROLE, "admin1", "officer", "You cannot change your own role; ask another administrator."),
        (accounts_page.DISABLE_CONFIRM, "admin1", None, "You cannot disable your own account."),
        (accounts_page.ENABLE, "officer1", None, "officer1 is already enabled."),
    ],
)
def test_a_refused_action_says_why_and_leaves_the_table(app, runtime, trigger, selected, role, message):
    user_id = _user_id(runtime, selected) if selected else None
    with signed_in(app, "admin"):
        answer = accounts_page.act_on_user(None, None, None, None, [], user_id, role, trigger=trigger)
    assert message in _text(answer["message"]) and plain(answer["message"])["props"]["color"] == "danger"
    assert answer["users"] is no_update


def test_a_token_list_drawn_again_is_not_a_press_of_revoke(app, runtime):
    revoke = {"type": accounts_page.REVOKE, "token": 1}
    with signed_in(app, "admin"):
        answer = accounts_page.act_on_user(
            None, None, None, None, [0], _user_id(runtime, "officer1"), None, trigger=revoke, trigger_clicks=0
        )
    assert set(answer) == {"message", "users", "state", *accounts_page.DISABLED_KEYS, "tokens"}
    assert all(v is no_update for v in answer.values())
