"""The maps' orientation tiles as served (dashboard/public/tiles.py) and every map's base layer
(dashboard/components/maps.py): no login, cacheable, 404 for bad addresses, nothing but the open
reference data (promises 2 and 3), and a configured TILE_URL used instead.

ST16 2DH's tile at zoom 18 is 129531/85627 and Stafford's at zoom 10 is 505/334 (worked by hand
in tests/unit/test_orientation.py and tests/unit/test_tiles.py)."""

from __future__ import annotations

import re
from pathlib import Path

import dash_leaflet as dl

from dashboard.components.maps import LABEL_PANE, area_map
from dashboard.config import load_settings
from dashboard.geo.orientation import BASE_TILES_URL, LABEL_TILES_URL, orientation_tiles
from dashboard.public import tiles as tile_routes

STREET = "/tiles/orientation-labels/18/129531/85627.svg"
TILES = [
    STREET,
    "/tiles/orientation/18/129531/85627.svg",
    "/tiles/orientation-labels/16/32382/21406.svg",
    "/tiles/orientation/10/505/334.svg",
    "/tiles/orientation-labels/10/505/334.svg",
]
OWNER = {
    "name": "Sam Owner",
    "email": "sam.owner@example.org",
    "preferred_channel": "email",
    "site_kind": "home",
    "address": "12 Example Street",
    "consent": True,
    "cameras": [{"kind": "doorbell", "placement": "outdoor", "recording_mode": "motion"}],
}


def test_a_tile_needs_no_login_and_may_be_cached(app):
    client = app.server.test_client()
    response = client.get(STREET)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    body = response.get_data(as_text=True)
    assert body.startswith("<svg") and ">ST16 2DH<" in body
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    assert "Set-Cookie" not in response.headers
    again = client.get(STREET, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


BAD = [
    "/tiles/orientation/-1/0/0.svg",
    "/tiles/orientation/20/0/0.svg",
    "/tiles/orientation/99999999/0/0.svg",
    "/tiles/orientation/1/2/0.svg",
    "/tiles/orientation/1/0/2.svg",
    "/tiles/orientation-labels/0/0/-1.svg",
    "/tiles/orientation/a/0/0.svg",
    "/tiles/orientation/1/0/0.5.svg",
    "/tiles/orientation/1/0/x.svg",
    "/tiles/orientation/1/0/0.png",
    "/tiles/orientation/1/0",
    "/tiles/elsewhere/1/0/0.svg",
    "/tiles/",
    "/tiles/orientation/%00/0/0.svg",
    "/tiles/orientation/1/0/0.svg/extra",
]


def test_a_bad_tile_address_is_404_not_500(app):
    client = app.server.test_client()
    for path in BAD:  # negative, beyond zoom 19, outside the zoom's grid, not whole numbers, no such layer
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["Cache-Control"] == "no-store", path


def test_tiles_do_not_change_when_registrations_are_added(app, runtime, reference):
    client = app.server.test_client()
    before = {path: client.get(path).get_data() for path in TILES}
    assert all(before.values())
    for postcode in ("ST16 2DH", "ST16 2DJ", "ST16 2HH"):
        assert reference.lookup_postcode(postcode) is not None
        response = client.post("/api/v1/registrations", json={**OWNER, "postcode": postcode})
        assert response.status_code == 201, response.get_json()
    tile_routes._tile.cache_clear()  # draw them again, from whatever the app now holds
    tile_routes._renderer.cache_clear()
    orientation_tiles.cache_clear()
    after = {path: client.get(path).get_data() for path in TILES}
    assert after == before


def _tile_layers(component) -> list:
    found = [component] if isinstance(component, dl.TileLayer) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        found += _tile_layers(child)
    return found


def _settings(tmp_path, reference_dir, **env):
    return load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
            **env,
        }
    )


def test_without_tile_url_a_map_is_drawn_on_the_orientation_tiles(tmp_path, reference_dir, reference):
    built = area_map("x-map", reference, _settings(tmp_path, reference_dir), [])
    base, labels = _tile_layers(built)
    assert (base.url, labels.url, labels.pane) == (BASE_TILES_URL, LABEL_TILES_URL, LABEL_PANE)
    assert base.attribution == "Contains OS data © Crown copyright and database right 2025; ONS, Royal Mail (OGL v3.0)"
    assert built.attributionControl is True


def test_with_tile_url_the_forces_tile_server_is_the_base_and_credited_first(tmp_path, reference_dir, reference):
    url = "https://api.os.uk/maps/raster/v1/zxy/Light_3857/{z}/{x}/{y}.png?key=abc"
    settings = _settings(tmp_path, reference_dir, TILE_URL=url, TILE_ATTRIBUTION="Contains OS data © Crown copyright")
    (layer,) = _tile_layers(area_map("x-map", reference, settings, []))
    assert layer.url == url
    assert layer.attribution == (
        "Contains OS data © Crown copyright | Contains OS data © Crown copyright and "
        "database right 2025; ONS, Royal Mail (OGL v3.0)"
    )


def test_the_registration_pin_map_gets_the_same_base(app):
    page = app.server.test_client().get("/register").get_data(as_text=True)
    pin_map = re.search(r'<div id="pin-map"[^>]*>', page).group(0)
    assert f'data-tiles="{BASE_TILES_URL}"' in pin_map and f'data-labels="{LABEL_TILES_URL}"' in pin_map


def test_every_map_is_built_by_the_one_helper():
    """No module but components/maps.py makes a Leaflet map or tile layer of its own."""
    root = Path(__file__).resolve().parents[2] / "dashboard"
    makers = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if re.search(r"dl\.(Map|TileLayer)\(", p.read_text(encoding="utf-8"))
    ]
    assert makers == ["components/maps.py"]


def test_a_signed_in_analysts_tiles_are_not_queries_and_touch_no_session(app, runtime):
    """Tiles are open data, not figures: an analyst panning a map writes nothing to the audit log
    (each would otherwise be an 'aggregate query'), and no answer rewrites the session cookie."""
    import sqlalchemy as sa

    from dashboard.registry.models import AuditEvent
    from tests.integration.conftest import login

    client = app.server.test_client()
    login(client, "analyst")
    with runtime.sessions() as s:
        before = s.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    for path in TILES:
        response = client.get(path)
        assert response.status_code == 200 and "Set-Cookie" not in response.headers
    with runtime.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before
