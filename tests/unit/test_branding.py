"""The force's colour against white text and its logo file (dashboard.branding), worked by hand."""

from __future__ import annotations

import pytest

from dashboard import branding


@pytest.mark.parametrize(
    "colour, ratio",
    [
        ("#000000", 21.0),  # (1 + 0.05) / (0 + 0.05)
        ("#ffffff", 1.0),
        ("#767676", 4.54),  # 118/255 -> linear 0.1812; 1.05 / 0.2312
        ("#777777", 4.48),  # 119/255 -> linear 0.1845; 1.05 / 0.2345
        ("#6699cc", 3.00),  # 0.2126*0.1329 + 0.7152*0.3185 + 0.0722*0.6038 = 0.2997; 1.05 / 0.3497
    ],
)
def test_contrast_with_white(colour, ratio):
    assert round(branding.contrast_with_white(colour), 2) == ratio


@pytest.mark.parametrize("colour", ["#777777", "#6699cc", "#ffffff", "#ffcc00", "#1d4e89"])
def test_the_readable_shade_passes_and_is_the_lightest_that_does(colour):
    shade = branding.readable_shade(colour)
    assert branding.contrast_with_white(shade) >= 4.5
    if shade != colour:
        # One step lighter on every channel (where there is room) no longer passes.
        lighter = "#" + "".join(f"{min(int(shade[i : i + 2], 16) + 1, 255):02x}" for i in (1, 3, 5))
        assert branding.contrast_with_white(lighter) < 4.5


@pytest.mark.parametrize(
    "content, kind",
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "image/png"),
        (b"\xff\xd8\xff\xdb" + b"\x00" * 20, "image/jpeg"),
        (
            b'\xef\xbb\xbf<svg xmlns="http://www.w3.org/2000/svg"><title>Force</title><circle r="4"/></svg>',
            "image/svg+xml",
        ),
        (
            b'<!-- drawn by hand --><svg><a href="https://example.org"><rect width="1" height="1"/></a></svg>',
            "image/svg+xml",
        ),
    ],
)
def test_logo_type_reads_the_content(tmp_path, content, kind):
    path = tmp_path / "logo.bin"
    path.write_bytes(content)
    assert branding.logo_type(path) == kind


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"GIF89a" + b"\x00" * 20, "it is not a PNG, JPEG or SVG image"),
        (b"<html><body>logo</body></html>", "an XML file, but not SVG"),
        (b"<svg><foreignObject><p>hi</p></foreignObject></svg>", "holds a script or an event handler"),
        (b'<svg xmlns:x="http://www.w3.org/1999/xlink"><g ONCLICK="x()"/></svg>', "holds a script or an event handler"),
    ],
)
def test_logo_type_refuses_with_a_reason(tmp_path, content, reason):
    path = tmp_path / "logo.bin"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=reason):
        branding.logo_type(path)
