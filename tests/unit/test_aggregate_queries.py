"""How an aggregate query is kept in the audit log and read back: details built from hand-made
callback bodies and query strings, trimmed to size, compared and put in words."""

from __future__ import annotations

import json

import pytest

from dashboard.pages import all_pages
from dashboard.registry.audit import canonical_json
from dashboard.security import aggregate_queries as aq
from dashboard.security import site


@pytest.fixture(autouse=True)
def pages(monkeypatch):
    """The pages, as create_app hands them to security (titles are read from them)."""
    monkeypatch.setattr(site, "_pages", all_pages())
    monkeypatch.setattr(site, "_titles", {})


def test_a_callback_body_becomes_page_callback_and_inputs_by_component_id():
    body = {
        "output": "..coverage-cells.data...coverage-legend.children..",
        "outputs": [{"id": "coverage-cells", "property": "data"}, {"id": "coverage-legend", "property": "children"}],
        "inputs": [
            {"id": "coverage-res", "property": "value", "value": "8"},
            {"id": "coverage-map", "property": "zoom", "value": 11},
        ],
        "state": [{"id": "coverage-cameras", "property": "value", "value": "kind:doorbell"}],
    }
    assert aq.callback_detail("/coverage", body, 200) == {
        "page": "/coverage",
        "callback": "coverage-cells.data",
        "status": 200,
        "inputs": {"coverage-res": "8", "coverage-map.zoom": 11, "coverage-cameras": "kind:doorbell"},
    }


def test_pattern_matching_ids_and_wildcard_inputs_are_kept_as_text():
    body = {
        "outputs": [[{"id": {"type": "gaps-row", "index": 1}, "property": "children"}]],
        "inputs": [
            [
                {"id": {"type": "gaps-pick", "index": 1}, "property": "value", "value": True},
                {"id": {"type": "gaps-pick", "index": 2}, "property": "value", "value": False},
            ]
        ],
        "state": [],
    }
    assert aq.first_output(body) == '{"index":1,"type":"gaps-row"}.children'
    assert aq.callback_inputs(body) == {'{"index":1,"type":"gaps-pick"}': True, '{"index":2,"type":"gaps-pick"}': False}


def test_a_detail_too_long_gives_up_its_longest_values_first():
    body = {
        "inputs": [{"id": f"gaps-x{i}", "property": "value", "value": ["y" * 150] * 20} for i in range(3)]
        + [{"id": "gaps-small", "property": "value", "value": 5}],
        "state": [],
    }
    logged = aq.callback_inputs(body)
    # each list is 20 x 150 characters (~3,060 as JSON): all three would be ~9,200, so two give way
    assert sum(1 for v in logged.values() if isinstance(v, str) and v.startswith("(not logged: ")) == 2
    assert logged["gaps-small"] == 5
    assert len(canonical_json(logged)) <= aq.MAX_DETAIL


def test_route_arguments_keep_one_value_as_itself_and_several_as_a_list():
    assert aq.route_detail("/api/v1/metrics/uptake", {"from": ["2026-05-01"], "district": ["E1", "E2"]}, 422) == {
        "route": "/api/v1/metrics/uptake",
        "params": {"from": "2026-05-01", "district": ["E1", "E2"]},
        "status": 422,
    }


def test_queries_are_compared_without_button_presses():
    a = {
        "page": "/gaps",
        "callback": "gaps-headline.children",
        "inputs": {"gaps-radius": 100, "gaps-go.n_clicks": 3, "gaps-confirm.submit_n_clicks": 1},
    }
    b = {**a, "inputs": {**a["inputs"], "gaps-go.n_clicks": 4}}
    assert (
        aq.query_shape("aggregate_query", a)
        == aq.query_shape("aggregate_query", json.dumps(b))
        == (("aggregate_query", "/gaps", "gaps-headline.children"), {"gaps-radius": "100"})
    )
    assert aq.query_shape("aggregate_query", "not json") == (("aggregate_query", "None", "None"), {})


def test_the_words_for_each_kind_of_row():
    assert (
        aq.describe_query("aggregate_query", {"page": "/coverage", "callback": "page", "inputs": {}, "status": 200})
        == "Coverage: page opened"
    )
    assert (
        aq.describe_query(
            "aggregate_query",
            {
                "page": "/gaps",
                "callback": "gaps-headline.children",
                "status": 204,
                "inputs": {"gaps-types": ["Burglary", "Robbery"], "gaps-upload.filename": None, "gaps-radius": 100.0},
            },
        )
        == "Gap analysis, headline: types Burglary + Robbery, upload filename none, radius 100"
    )
    assert (
        aq.describe_query(
            "aggregate_query",
            json.dumps(
                {
                    "page": "/uptake",
                    "callback": "uptake-headline.children",
                    "inputs": {"uptake-last": "2026-05-10"},
                    "status": 500,
                }
            ),
        )
        == "Uptake, headline: last 2026-05-10 (answered 500)"
    )
    assert (
        aq.describe_query(
            "aggregate_export", {"route": "/uptake/report", "params": {"week": "2026-11-16"}, "status": 200}
        )
        == "Download /uptake/report: week 2026-11-16"
    )
    assert (
        aq.describe_query("aggregate_query", {"route": "/api/v1/summary", "params": {}, "status": 200}) == "API summary"
    )
    assert (
        aq.describe_query("aggregate_query", {"page": "/gone", "callback": "gone-x.data", "inputs": {"a": 1}})
        == "/gone, gone x: a 1"
    )  # a page since removed: its path, as logged
