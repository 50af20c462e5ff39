"""The world tile grid: which tiles a world position or rectangle meets. Tile (ix, iy) of level k
covers world pixels [ix * T * 2^k, (ix + 1) * T * 2^k) in x (likewise y), T the model's tile_size."""

from __future__ import annotations

import math

from ..models.contract import Tile


def tile_of(x: float, size: int) -> int:
    """Index of the tile of ``size`` px that holds coordinate ``x``."""
    return math.floor(x / size)


def tile_span(lo: float, hi: float, size: int) -> range:
    """Indices of the tiles of ``size`` px that meet [lo, hi) (none when hi <= lo)."""
    return range(tile_of(lo, size), math.ceil(hi / size)) if hi > lo else range(0)


def tiles_covering(tile_size: int, x: float, y: float, width: float, height: float,
                   level: int = 0) -> list[list[Tile]]:
    """Rows of tiles of a level that meet the rectangle, top to bottom, left to right; the
    rectangle is in that level's pixels (world px / 2^level)."""
    cols, rows = tile_span(x, x + width, tile_size), tile_span(y, y + height, tile_size)
    return [[Tile(ix, iy, level) for ix in cols] for iy in rows]
