"""Every map has a base a person can find their way on: the app's own orientation tiles when no
tile server is configured, or the force's tile server (TILE_URL) when one is.

The tile server here is a tiny HTTP server in the test, answering any /z/x/y.png with a PNG: the
browser must fetch the maps' tiles from it (and the Content-Security-Policy must let it)."""

from __future__ import annotations

import http.server
import os
import socket
import struct
import threading
import zlib

import pytest

from dashboard.config import load_settings
from dashboard.registry.database import transaction
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user
from tests.browser.conftest import ARTIFACTS, PageWatch, log_in, running_app, wait_for_js

PASSWORD = "correct-horse-battery"
OFFICER = ("officer.demo", "demo-officer-2026")


def _png(width: int = 256, height: int = 256, rgb: tuple[int, int, int] = (200, 230, 200)) -> bytes:
    """A plain one-colour PNG, written by hand (signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class _TileServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        self.paths: list[str] = []
        tile = _png()
        paths = self.paths

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(tile)))
                self.end_headers()
                self.wfile.write(tile)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture(scope="module")
def tile_server():
    server = _TileServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def app_with_tile_url(tmp_path_factory, reference_dir, tile_server):
    where = tmp_path_factory.mktemp("tiles")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{where / 'registry.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "browser-tiles-" + "x" * 40,
        "EVIDENCE_DIR": str(where / "evidence"),
        "OUTBOX_WORKER": "0",
        "DEMO": "0",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "TILE_URL": f"http://127.0.0.1:{tile_server.server_address[1]}/{{z}}/{{x}}/{{y}}.png",
        "TILE_ATTRIBUTION": "Test tiles",
    }
    rt = prepare(load_settings({k: v for k, v in env.items() if k != "PORT"}))
    with transaction(rt.sessions) as s:
        create_user(s, "officer1", PASSWORD, "officer")
    rt.engine.dispose()
    with running_app(env, where / "app.log", timeout_s=120) as url:
        yield url


def _show_postcode_on_pin_map(page, base: str, postcode: str) -> None:
    page.goto(f"{base}/register")
    page.get_by_label("Postcode").fill(postcode)
    page.get_by_role("button", name="Show on map").click()
    page.wait_for_selector("#pin-map .leaflet-tile-loaded")


@pytest.mark.browser
def test_a_configured_tile_server_is_the_base_of_the_pin_map_and_the_officers_map(
    browser, app_with_tile_url, tile_server
):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = PageWatch(page, app_with_tile_url)
    own_tiles = []
    page.on("request", lambda r: own_tiles.append(r.url) if "/tiles/" in r.url else None)

    _show_postcode_on_pin_map(page, app_with_tile_url, "ST16 2DH")
    # The pin map opens at zoom 18 over ST16 2DH: tile 129531/85627 (tests/unit/test_orientation.py).
    wait_for_js(page, "document.querySelectorAll('#pin-map img.leaflet-tile-loaded').length >= 4")
    assert "/18/129531/85627.png" in tile_server.paths
    assert "Test tiles" in page.locator("#pin-map .leaflet-control-attribution").inner_text()

    seen = len(tile_server.paths)
    log_in(watch, app_with_tile_url, "officer1", PASSWORD)
    page.get_by_role("link", name="Search").click()
    page.wait_for_selector("#search-map .leaflet-tile-loaded")
    assert len(tile_server.paths) > seen
    assert all(path.endswith(".png") and path.count("/") == 3 for path in tile_server.paths)
    assert own_tiles == []  # the orientation layer is not drawn over a force's own base map
    watch.screenshot("map-tiles-configured-search")
    context.close()
    assert watch.external == [] and watch.console_errors == [], (watch.external, watch.console_errors)


_PAINTED = """async (selector) => {
    // Colours in the loaded ground tiles (same-origin SVG, so a canvas may read them back).
    const colours = new Set();
    for (const img of document.querySelectorAll(selector)) {
        const canvas = document.createElement('canvas');
        canvas.width = canvas.height = 64;
        const ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0, 64, 64);
        const data = ctx.getImageData(0, 0, 64, 64).data;
        for (let i = 0; i < data.length; i += 4) colours.add(data[i] + ',' + data[i + 1] + ',' + data[i + 2]);
    }
    return colours.size;
}"""


@pytest.mark.browser
def test_without_tile_url_the_maps_are_drawn_on_the_orientation_tiles(watched, live_server):
    page, base = watched.page, live_server["url"]
    loaded = []
    page.on("response", lambda r: loaded.append((r.status, r.url.split("/tiles/")[1])) if "/tiles/" in r.url else None)

    _show_postcode_on_pin_map(page, base, "ST16 2DH")
    wait_for_js(
        page,
        "document.querySelectorAll('#pin-map .leaflet-orientation-labels-pane img.leaflet-tile-loaded').length >= 4",
    )
    assert (200, "orientation-labels/18/129531/85627.svg") in loaded
    assert (200, "orientation/18/129531/85627.svg") in loaded
    # The label tile under the pin is an image in the page with the postcode's name in it.
    label = page.context.request.get(f"{base}/tiles/orientation-labels/18/129531/85627.svg").text()
    assert ">ST16 2DH<" in label
    assert "Contains OS data" in page.locator("#pin-map .leaflet-control-attribution").inner_text()
    page.locator("#pin-section").screenshot(path=str(ARTIFACTS / "map-tiles-pin-street.png"))

    log_in(watched, base, *OFFICER)
    page.get_by_role("link", name="Search").click()
    page.wait_for_selector("#search-map .orientation-tiles img.leaflet-tile-loaded")
    wait_for_js(page, "document.querySelectorAll('#search-map .orientation-tiles img.leaflet-tile-loaded').length >= 4")
    # Not a blank box: the ground tiles hold the pale force area, the grey beyond and outlines.
    assert page.evaluate(_PAINTED, "#search-map .orientation-tiles img.leaflet-tile-loaded") >= 3
    assert all(status == 200 for status, _ in loaded)
    assert any(path.startswith("orientation-labels/") for _, path in loaded[-40:])
    page.locator("#search-map").screenshot(path=str(ARTIFACTS / "map-tiles-search-district.png"))
