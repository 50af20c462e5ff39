"""Zoom factors and levels of detail: zoom 2^-k is level k, one output pixel per 2^k x 2^k world pixels.

One parser serves the `render --zoom` option, the Capture panel and the deep-zoom export."""

from __future__ import annotations

from fractions import Fraction

from ..models.errors import UserError
from .world import LEVELS

MAX_LEVEL = 16  # zoom 1/65536: one output pixel already costs 4^16 world pixels to render


def zoom_level(zoom: str | float | Fraction) -> int:
    """A zoom (1, 0.5, '1/8', '0.125', ...) -> its level k (zoom = 2^-k); anything but a power of
    two in [2^-MAX_LEVEL, 1] is a UserError naming the values that work."""
    try:
        z = Fraction(zoom.strip()) if isinstance(zoom, str) else Fraction(zoom)
    except (ValueError, TypeError, ZeroDivisionError, OverflowError):
        z = None
    d = 0 if z is None else z.denominator
    if z is None or z.numerator != 1 or d & (d - 1) or d > 1 << MAX_LEVEL:
        raise UserError(f"zoom {zoom} is not 1 or 1/2^k: use 1, 1/2, 1/4, 1/8, ... down to "
                        f"1/{1 << MAX_LEVEL} (or 0.5, 0.25, 0.125, ...)")
    return d.bit_length() - 1


def zoom_text(level: int) -> str:
    """Level k as the zoom a user types: '1', '1/2', '1/4', ..."""
    return "1" if level == 0 else f"1/{1 << level}"


ZOOMS = tuple(zoom_text(k) for k in range(LEVELS))  # the zooms the studio offers: 1 .. 1/8


def level_rect(x: int, y: int, width: int, height: int, level: int) -> tuple[int, int, int, int]:
    """The rectangle of a level's pixels (corner, size) that covers the world rectangle; its world
    corner is (x, y) snapped down to a multiple of 2^level."""
    x0, y0 = x >> level, y >> level
    return x0, y0, -(-(x + width) >> level) - x0, -(-(y + height) >> level) - y0
