"""The coarse mosaic: every tile that arrives, shrunk to 1/8 of the world, kept in one image per
block of 8x8 level-0 tiles.

It is the overview map's picture of the visited world, and the last placeholder of the canvas: a
tile with no texture of its own nor of a coarser level is drawn from its block. Parts of a block no
tile has reached yet hold the neutral placeholder grey, never stale memory."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from infiniscape.models.contract import Tile

from .gl_textures import Atlas, GLTextures, Slot, downsample

SHRINK = 8  # a tile of T px is T / 8 px in the mosaic (the 1/8x zoom level: 1 texel per screen px)
BLOCK = 8  # tiles per block side
UNKNOWN_RGB = (56, 57, 62)  # the canvas's placeholder grey


@dataclass
class Block:
    pixels: np.ndarray  # uint8 [BLOCK * cell, BLOCK * cell, 3]
    known: np.ndarray  # bool [BLOCK, BLOCK], [row, col]: tiles that reached the block
    slot: Slot | None = None
    dirty: bool = True  # pixels changed since the last upload
    stale: set = field(default_factory=set)  # tiles invalidated by an edit, still shown until redrawn


class Mosaic:
    """Blocks of shrunk tiles, least recently used dropped beyond ``budget_bytes``."""

    def __init__(self, tile_size: int, gl: GLTextures, budget_bytes: int = 32 << 20, max_uploads: int = 16):
        self.tile_size = tile_size
        self.cell = max(1, tile_size // SHRINK)
        self.side = BLOCK * self.cell
        # by count too: the overview map walks every block when it redraws
        self.max_blocks = max(16, min(1024, budget_bytes // (self.side ** 2 * 3)))
        self.max_uploads = max_uploads  # block uploads per frame
        self.atlas = Atlas(gl, self.side, self.max_blocks, smooth=True)
        self.blocks: OrderedDict[tuple[int, int], Block] = OrderedDict()  # oldest use first
        self.revision = 0  # bumped on every change, so the overview map knows when to redraw

    @staticmethod
    def block_of(tile) -> tuple[tuple[int, int], int, int]:
        """(block key, column, row) of a tile inside its block."""
        bx, col = divmod(tile.ix, BLOCK)
        by, row = divmod(tile.iy, BLOCK)
        return (bx, by), col, row

    def known(self, tile) -> bool:
        key, col, row = self.block_of(tile)
        b = self.blocks.get(key)
        return b is not None and bool(b.known[row, col]) and tile not in b.stale

    def add(self, tile, img: np.ndarray) -> None:
        """Shrink a tile of any level (T px covering T * 2^level world px) into its block."""
        k = min(tile.level, BLOCK.bit_length() - 1)  # a level-3 tile fills a whole block
        first = Tile(tile.ix << tile.level, tile.iy << tile.level)
        key, col, row = self.block_of(first)
        n = 1 << k  # level-0 cells covered per side
        size = self.cell * n
        small = downsample(img, max(1, img.shape[0] // size))[:size, :size]
        b = self.blocks.get(key)
        if b is None:
            b = self._new_block(key)
        c = self.cell
        b.pixels[row * c:row * c + small.shape[0], col * c:col * c + small.shape[1]] = small
        b.known[row:row + n, col:col + n] = True
        b.stale.difference_update(Tile(first.ix + i, first.iy + j) for j in range(n) for i in range(n))
        b.dirty = True
        self.blocks.move_to_end(key)
        self.revision += 1

    def mark_stale(self, tiles) -> None:
        for t in tiles:
            if t.level:
                continue  # an edit's tiles include level 0 under every coarser one
            key, _, _ = self.block_of(t)
            if key in self.blocks:
                self.blocks[key].stale.add(t)

    def mark_all_stale(self) -> None:
        for (bx, by), b in self.blocks.items():
            for row, col in zip(*np.nonzero(b.known), strict=True):
                b.stale.add(Tile(bx * BLOCK + int(col), by * BLOCK + int(row)))

    def upload(self, keys) -> int:
        """Send the changed blocks among ``keys`` (those about to be drawn) to their atlas slots, at
        most ``max_uploads``; other changed blocks wait until they are drawn (a tile arriving at 1x
        changes its block every time, and re-sending whole blocks doubled the cost of each tile)."""
        n = 0
        for key in keys:
            b = self.blocks.get(key)
            if b is None or not b.dirty:
                continue
            if n >= self.max_uploads:
                break
            if b.slot is None:
                b.slot = self.atlas.alloc()
            self.atlas.write(b.slot, b.pixels)
            b.dirty = False
            n += 1
        return n

    def drawable(self, key) -> Block | None:
        """The block if it has a texture to draw (marks it used)."""
        b = self.blocks.get(key)
        if b is None or b.slot is None:
            return None
        self.blocks.move_to_end(key)
        return b

    def tile_uv(self, tile) -> tuple[int, tuple, tuple] | None:
        """(texture, uv0, uv1) of a tile's part of its block (any level up to a whole block), if the
        block has a texture."""
        n = 1 << min(tile.level, BLOCK.bit_length() - 1)
        key, col, row = self.block_of(Tile(tile.ix << tile.level, tile.iy << tile.level))
        b = self.drawable(key)
        if b is None:
            return None
        (u0, v0), (u1, v1) = b.slot.uv0, b.slot.uv1
        du, dv = (u1 - u0) / BLOCK, (v1 - v0) / BLOCK
        return b.slot.tex_id, (u0 + col * du, v0 + row * dv), (u0 + (col + n) * du, v0 + (row + n) * dv)

    def clear(self) -> None:
        self.blocks.clear()
        self.atlas.clear()
        self.revision += 1

    @property
    def nbytes(self) -> int:
        return len(self.blocks) * self.side ** 2 * 3

    def _new_block(self, key) -> Block:
        while len(self.blocks) >= self.max_blocks:  # the least recently drawn block goes
            _, old = self.blocks.popitem(last=False)
            if old.slot is not None:
                self.atlas.free(old.slot)
        pixels = np.empty((self.side, self.side, 3), np.uint8)
        pixels[:] = UNKNOWN_RGB
        b = Block(pixels, np.zeros((BLOCK, BLOCK), bool))
        self.blocks[key] = b
        return b

    def overview(self, rect, width: int, height: int) -> np.ndarray:
        """The blocks inside world ``rect`` (x0, y0, x1, y1) as a uint8 [height, width, 3] map."""
        out = np.empty((height, width, 3), np.uint8)
        out[:] = UNKNOWN_RGB
        x0, y0, x1, y1 = rect
        sx, sy = width / max(x1 - x0, 1e-9), height / max(y1 - y0, 1e-9)
        span = self.tile_size * BLOCK
        for (bx, by), b in self.blocks.items():
            # map pixels whose centres fall in this block, sampled nearest from its pixels
            c0 = max(0, int(np.ceil((bx * span - x0) * sx - 0.5)))
            c1 = min(width, int(np.ceil(((bx + 1) * span - x0) * sx - 0.5)))
            r0 = max(0, int(np.ceil((by * span - y0) * sy - 0.5)))
            r1 = min(height, int(np.ceil(((by + 1) * span - y0) * sy - 0.5)))
            if c0 >= c1 or r0 >= r1:
                continue
            cols = ((x0 + (np.arange(c0, c1) + 0.5) / sx - bx * span) * self.side / span).astype(int)
            rows = ((y0 + (np.arange(r0, r1) + 0.5) / sy - by * span) * self.side / span).astype(int)
            out[r0:r1, c0:c1] = b.pixels[np.clip(rows, 0, self.side - 1)][:, np.clip(cols, 0, self.side - 1)]
        return out
