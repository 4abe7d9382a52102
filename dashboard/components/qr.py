"""QR codes for campaign links, as PNG (pure Python, pypng) and SVG (the ``qrcode`` package)."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.pure import PyPNGImage
from qrcode.image.svg import SvgPathImage


def _code(url: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=12, border=4)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url: str) -> bytes:
    out = io.BytesIO()
    _code(url).make_image(image_factory=PyPNGImage).save(out)
    return out.getvalue()


def qr_svg(url: str) -> bytes:
    out = io.BytesIO()
    _code(url).make_image(image_factory=SvgPathImage).save(out)
    return out.getvalue()
