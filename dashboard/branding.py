"""The force's branding on the public pages and the staff header: its colour checked against white
text (WCAG 2.x contrast), and its logo file recognised by its content.

Pure functions with no web imports: ``config`` calls them when it reads ``FORCE_COLOUR`` and
``FORCE_LOGO``, so a colour white text cannot be read on, or a logo that is not an image, stops
start-up with one clear line rather than reaching a page. ``Brand`` is what the pages show of it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

# WCAG 2.x success criterion 1.4.3 (level AA): normal text needs a contrast ratio of at least 4.5:1.
AA_NORMAL_TEXT = 4.5
LOGO_MAX_BYTES = 1 * 2**20
LOGO_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "svg": "image/svg+xml"}
_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def parse_hex(text: str) -> str:
    """``text`` as a six-digit lower-case hex colour with its ``#``; ValueError if it is not one.

    >>> parse_hex("#1D4E89"), parse_hex("#fff"), parse_hex("12284c")
    ('#1d4e89', '#ffffff', '#12284c')
    """
    match = _HEX.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a hex colour")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits}"


def _channels(colour: str) -> tuple[int, int, int]:
    digits = parse_hex(colour)[1:]
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of an sRGB colour: 0 for black, 1 for white.

    >>> relative_luminance("#000000"), relative_luminance("#ffffff")
    (0.0, 1.0)
    """

    def linear(c8: int) -> float:
        c = c8 / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _channels(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_with_white(colour: str) -> float:
    """The contrast ratio of white text on ``colour`` (1 to 21).

    >>> round(contrast_with_white("#767676"), 2), round(contrast_with_white("#777777"), 2)
    (4.54, 4.48)
    """
    return 1.05 / (relative_luminance(colour) + 0.05)


def darker(colour: str, factor: float) -> str:
    """``colour`` with each channel multiplied by ``factor`` (0 to 1), rounded down.

    >>> darker("#808080", 0.5), darker("#12284c", 1.0)
    ('#404040', '#12284c')
    """
    return "#" + "".join(f"{int(c * factor):02x}" for c in _channels(colour))


def readable_shade(colour: str, ratio: float = AA_NORMAL_TEXT) -> str:
    """The lightest shade of ``colour`` (same hue, channels scaled down) that white text reaches
    ``ratio`` on: ``colour`` itself if it already does.

    >>> readable_shade("#767676"), readable_shade("#777777")
    ('#767676', '#767676')
    """
    if contrast_with_white(colour) >= ratio:
        return colour
    lo, hi = 0.0, 1.0  # lo always passes (black is 21:1), hi fails
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if contrast_with_white(darker(colour, mid)) >= ratio else (lo, mid)
    return darker(colour, lo)


def logo_type(path: Path) -> str:
    """The content type of the logo at ``path``, read from its content (PNG, JPEG or SVG without
    scripts); ValueError with a reason a person can act on otherwise."""
    if not path.exists():
        raise ValueError("no such file")
    if not path.is_file():
        raise ValueError("it is a folder, not an image file")
    size = path.stat().st_size
    if size == 0:
        raise ValueError("the file is empty")
    if size > LOGO_MAX_BYTES:
        raise ValueError(f"the file is {size:,} bytes; a page header's logo should be under {LOGO_MAX_BYTES:,} bytes")
    data = path.read_bytes()
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return LOGO_TYPES["png"]
    if data.startswith(b"\xff\xd8\xff"):
        return LOGO_TYPES["jpeg"]
    _check_svg(data)
    return LOGO_TYPES["svg"]


def _check_svg(data: bytes) -> None:
    try:
        root = ET.fromstring(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ET.ParseError):
        raise ValueError("it is not a PNG, JPEG or SVG image") from None
    if root.tag.rsplit("}", 1)[-1] != "svg":
        raise ValueError("it is not a PNG, JPEG or SVG image (an XML file, but not SVG)")
    for element in root.iter():
        name = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
        handlers = [a for a in element.attrib if a.rsplit("}", 1)[-1].lower().startswith("on")]
        if name in ("script", "foreignObject") or handlers:
            raise ValueError("the SVG holds a script or an event handler; save it as a plain drawing")


@dataclass(frozen=True)
class Brand:
    """What the public pages' frame and the staff header show of the force, from the settings in force."""

    force_name: str
    colour: str
    colour_dark: str  # buttons' hover and pressed state
    logo_url: str | None
    data_controller: str
    lawful_basis: str
    dpo_email: str | None
    dpo_address: str | None

    @classmethod
    def of(cls, settings, area_name: str) -> Brand:
        """``area_name``: the reference manifest's force area name, the force's name unless FORCE_NAME says."""
        name = settings.force_name or area_name
        return cls(
            force_name=name,
            colour=settings.force_colour,
            colour_dark=darker(settings.force_colour, 0.75),
            logo_url=LOGO_URL if settings.force_logo else None,
            data_controller=settings.data_controller or name,
            lawful_basis=settings.lawful_basis,
            dpo_email=settings.dpo_email,
            dpo_address=settings.dpo_address,
        )

    def stylesheet(self) -> str:
        """The colour as CSS: every use of the app's primary colour (``--ccr-navy`` in assets/app.css)
        follows it. ``html:root`` outranks app.css's ``:root`` whichever loads first."""
        return (
            f"html:root {{ --ccr-navy: {self.colour}; --ccr-navy-dark: {self.colour_dark}; }}\n"
            "html .btn-primary:hover, html .btn-primary:focus, html .btn-primary:active "
            "{ background-color: var(--ccr-navy-dark); border-color: var(--ccr-navy-dark); }\n"
        )


LOGO_URL = "/brand/logo"
STYLESHEET_URL = "/brand/style.css"
