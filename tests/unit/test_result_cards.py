"""The officer's results as phone cards (``search_views.result_cards``): each card says what the grid's
row says, in the grid's order, and is three components at most. Dash's renderer works per component:
with seven a card, a 349-camera search kept the page busy for 8 s after its answer had arrived."""

from __future__ import annotations

from dash.development.base_component import Component

from dashboard.components.search_views import result_cards

ROWS = [
    {
        "rank": 2,
        "camera_id": "CAM-22222222",
        "distance_m": 1234.5,
        "kind": "Doorbell camera",
        "in_view": "No",
        "kept_until": "20 Dec 2026 21:30",
        "retention": "Available",
        "channel": "Email",
    },
    {
        "rank": 1,
        "camera_id": "CAM-7K3QX9P2",
        "distance_m": 5.3,
        "kind": "Fixed CCTV",
        "in_view": "Yes",
        "kept_until": "–",
        "retention": "Unknown",
        "channel": "–",
    },
    {"rank": 3, "camera_id": 17},  # not a row the grid makes: left out
    "CAM-NOTAROW",
]


def _components(node) -> int:
    if isinstance(node, Component):
        children = getattr(node, "children", None)
        kids = children if isinstance(children, list) else [children]
        return 1 + sum(_components(k) for k in kids)
    return 0


def _text(node) -> str:
    if isinstance(node, Component):
        children = getattr(node, "children", None)
        return "".join(_text(k) for k in (children if isinstance(children, list) else [children]))
    return "" if node is None else str(node)


def test_each_card_says_what_its_row_says_in_rank_order():
    cards = result_cards(ROWS)
    assert [c["value"] for c in cards] == ["CAM-7K3QX9P2", "CAM-22222222"]
    assert [_text(c["label"]) for c in cards] == [
        "#1 Fixed CCTV · 5 m\nIncident in view: Yes\nFootage: Unknown, likely kept until –\n"
        "Contact by: – · Camera CAM-7K3QX9P2",
        "#2 Doorbell camera · 1,234 m\nIncident in view: No\nFootage: Available, likely kept until "
        "20 Dec 2026 21:30\nContact by: Email · Camera CAM-22222222",
    ]


def test_a_card_is_three_components_at_most():
    for card in result_cards(ROWS):
        assert _components(card["label"]) <= 3, card
    # The camera id is kept whole on a narrow screen (not broken at its hyphen).
    last = result_cards(ROWS)[0]["label"].children[-1]
    assert (last.children, last.className) == ("CAM-7K3QX9P2", "text-nowrap")
