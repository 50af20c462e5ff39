"""World: a scene on a loaded model, rendered as any rectangle assembled from world tiles."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ..models.contract import InfiniteGenerator, LatentSource, RenderSettings, Tile
from ..models.lattice import HashedLatents
from .scene import Scene


def tiles_covering(tile_size: int, x: int, y: int, width: int, height: int) -> list[list[Tile]]:
    """Rows of world tiles that meet the rectangle, top to bottom, left to right."""
    t = tile_size
    cols = range(x // t, -(-(x + width) // t))
    rows = range(y // t, -(-(y + height) // t))
    return [[Tile(ix, iy) for ix in cols] for iy in rows]


class World:
    """Lazy latent fields of a scene + a model -> pixels of any world rectangle.

    Every pixel comes from the tile on the world grid that contains it, so a region is identical
    whichever request rendered it, and tiles can be rendered alone, in any order, in any batch."""

    def __init__(self, model: InfiniteGenerator, scene: Scene | None = None, tile_batch: int = 8):
        self.model = model
        self.scene = scene or Scene()
        self.tile_batch = max(1, int(tile_batch))

    @property
    def tile_size(self) -> int:
        return self.model.tile_size

    def latents(self) -> LatentSource:
        return HashedLatents(self.scene.seed)

    def settings(self) -> RenderSettings:
        return RenderSettings(truncation=self.scene.truncation, noise_mode=self.scene.noise_mode)

    def render_tiles(self, tiles: list[Tile]) -> list[np.ndarray]:
        """Tiles as float32 [T, T, 3] arrays in [-1, 1], rendered in batches of ``tile_batch``."""
        latents, settings = self.latents(), self.settings()
        out: list[np.ndarray] = []
        for i in range(0, len(tiles), self.tile_batch):
            imgs = self.model.render(tiles[i:i + self.tile_batch], latents, settings)
            out += list(imgs.permute(0, 2, 3, 1).numpy())
        return out

    def iter_pieces(self, x: int, y: int, width: int, height: int,
                    progress: Callable[[int], None] | None = None
                    ) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield (out_x, out_y, piece) crops of tiles, row by row, covering the rectangle once.

        Memory stays bounded by one batch of tiles whatever the rectangle's size."""
        if width <= 0 or height <= 0:
            raise ValueError(f"size must be positive, got {width}x{height}")
        t = self.tile_size
        for row in tiles_covering(t, x, y, width, height):
            for i in range(0, len(row), self.tile_batch):
                batch = row[i:i + self.tile_batch]
                for tile, img in zip(batch, self.render_tiles(batch), strict=True):
                    tx, ty = tile.ix * t, tile.iy * t
                    x0, y0 = max(x, tx), max(y, ty)
                    x1, y1 = min(x + width, tx + t), min(y + height, ty + t)
                    yield x0 - x, y0 - y, img[y0 - ty:y1 - ty, x0 - tx:x1 - tx]
                if progress:
                    progress(len(batch))

    def render(self, x: int, y: int, width: int, height: int) -> np.ndarray:
        """The rectangle as float32 [height, width, 3] in [-1, 1]."""
        out = np.empty((height, width, 3), np.float32)
        for ox, oy, piece in self.iter_pieces(x, y, width, height):
            out[oy:oy + piece.shape[0], ox:ox + piece.shape[1]] = piece
        return out

    def tile_count(self, x: int, y: int, width: int, height: int) -> int:
        rows = tiles_covering(self.tile_size, x, y, width, height)
        return sum(len(r) for r in rows)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """[-1, 1] floats -> uint8 (round to nearest)."""
    return np.clip(np.rint((img + 1.0) * 127.5), 0, 255).astype(np.uint8)
