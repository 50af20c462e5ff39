"""Bounds on the numbers a scene file, a command line or the studio can hand the world engine.

One place for them, so every entry point refuses the same values with a message that names the field
and never formats the unbounded value itself. The bounds are far beyond any real use and far below
what would exhaust memory: past them a value is a typo or a hostile file.
"""

from __future__ import annotations

import math

WORLD_EXTENT = 1 << 40  # |x|, |y| of any world coordinate (rendering stays exact out there)
MAX_SIDE = 1 << 20  # width / height of an edit rectangle, world px
MAX_FEATHER = 1 << 16  # px over which an edit fades out
MAX_REACH = 1 << 20  # fusion radius, blur and band, world px
MAX_STEP = 1 << 12  # fusion lattice spacing, world px
MAX_BLUR_STEPS = 512  # blur half-width in lattice steps: the fusion map of one tile stays ~1000^2
MAX_EDIT_VALUES = 1 << 24  # latent values one resample may materialise per field (64 MB of float32)
MAX_OUTPUT_SIDE = 1 << 18  # width / height of a rendered image, output px (one tile row stays bounded)


class LimitError(ValueError):
    """A value outside its bound; the message names the field."""


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def check_int(value, field: str, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise LimitError(f"{field}: expected an integer from {lo} to {hi}, got {_show(value)}")
    return value


def check_number(value, field: str, bound: float = WORLD_EXTENT) -> float:
    """A finite number within +-bound (NaN and infinities refused)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or abs(value) > bound:
        raise LimitError(f"{field}: expected a finite number within +-{bound}, got {_show(value)}")
    return float(value)


def check_coordinate(value, field: str) -> int:
    return check_int(value, field, -WORLD_EXTENT, WORLD_EXTENT)


def check_rect(rect, field: str) -> tuple[int, int, int, int]:
    """[x, y, width, height] with the corner in the world and a positive size up to MAX_SIDE."""
    if not isinstance(rect, list | tuple) or len(rect) != 4:
        raise LimitError(f"{field}: expected [x, y, width, height], got {_show(rect)}")
    x, y = (check_coordinate(v, field) for v in rect[:2])
    w, h = rect[2:]
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_SIDE for v in (w, h)):
        raise LimitError(f"{field}: expected a positive width and height up to {MAX_SIDE}, "
                         f"got {_show(w)} x {_show(h)}")
    return x, y, w, h


def check_fusion(radius: int, blur: int, step: int, band: int, field: str = "fusion") -> None:
    """A fusion reach whose map stays small: the blur spans at most MAX_BLUR_STEPS lattice steps."""
    check_int(radius, f"{field}.radius", 0, MAX_REACH)
    check_int(blur, f"{field}.blur", 0, MAX_REACH)
    check_int(step, f"{field}.step", 1, MAX_STEP)
    check_int(band, f"{field}.band", 0, MAX_REACH)
    if blur // (2 * step) > MAX_BLUR_STEPS:
        raise LimitError(f"{field}: a blur of {blur} px spans more than {2 * MAX_BLUR_STEPS} steps of "
                         f"{step} px (the blur defaults to the radius): raise the step or set a smaller blur")
