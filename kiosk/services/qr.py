"""QR images, kept off the scan path (about 7 ms each) and cached."""

from __future__ import annotations

from functools import lru_cache

import qrcode
import qrcode.image.svg
from markupsafe import Markup


@lru_cache(maxsize=256)
def _svg(text: str) -> str:
    image = qrcode.make(
        text,
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=10,
        border=4,
    )
    return image.to_string(encoding="unicode")


def svg(text: str) -> Markup:
    """An inline SVG of a QR code for ``text``."""
    return Markup(_svg(text))
