"""uint8 pixels of world tiles and rectangles for the analyses, taken from a tile store (the studio's
tile cache) where it holds them and rendered otherwise: a region already on screen costs nothing."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..tiles import tiles_covering
from ..world import TileStore, to_uint8


def tile_images(world, tiles: list, store: TileStore | None = None) -> Iterator[np.ndarray]:
    """uint8 [T, T, 3] of each tile in order; the ones ``store`` lacks are rendered one batch at a
    time (memory stays bounded). A stored tile equals its render (tiles are exact and deterministic)."""
    for i in range(0, len(tiles), world.tile_batch):
        batch = tiles[i:i + world.tile_batch]
        found = [store.get(t) if store is not None else None for t in batch]
        missing = [t for t, img in zip(batch, found, strict=True) if img is None]
        made = iter(world.render_tiles(missing)) if missing else iter(())
        for img in found:
            yield img if img is not None else to_uint8(next(made))


def region_pixels(world, rect: tuple[int, int, int, int], store: TileStore | None = None) -> np.ndarray:
    """uint8 [h, w, 3] of the world rectangle (x, y, w, h), equal to ``to_uint8(world.render(...))``."""
    x, y, w, h = rect
    t = world.tile_size
    out = np.empty((h, w, 3), np.uint8)
    for row in tiles_covering(t, x, y, w, h):
        for tile, img in zip(row, tile_images(world, row, store), strict=True):
            tx, ty = tile.ix * t, tile.iy * t
            x0, y0 = max(x, tx), max(y, ty)
            x1, y1 = min(x + w, tx + t), min(y + h, ty + t)
            out[y0 - y:y1 - y, x0 - x:x1 - x] = img[y0 - ty:y1 - ty, x0 - tx:x1 - tx]
    return out
