"""GL textures of finished tiles, with a hard cap on how many are alive at once."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass
class TileTexture:
    tex_id: int
    lod: int  # content is the tile downsampled by 2**lod
    shape: tuple[int, int]  # (height, width) of the texture
    stale: bool = False  # the tile was invalidated; keep drawing this until the new one arrives


def downsample(rgb: np.ndarray, lod: int) -> np.ndarray:
    """Box-filter a uint8 [H, W, 3] tile by 2**lod (a zoomed-out view needs no more texels)."""
    k = 2 ** lod
    if k == 1:
        return rgb
    h, w = rgb.shape[0] // k, rgb.shape[1] // k
    box = rgb[:h * k, :w * k].reshape(h, k, w, k, 3).mean(axis=(1, 3), dtype=np.float32)
    return np.rint(box).astype(np.uint8)


class TexturePool:
    """One texture per tile, at most ``max_textures`` live (checked, never exceeded).

    With ``use_gl=False`` no GL call is made and ids are plain counters: the headless tests drive
    the real canvas this way."""

    def __init__(self, max_textures: int = 2048, use_gl: bool = True):
        self.max_textures = max_textures
        self.use_gl = use_gl
        self.entries: dict = {}  # Tile -> TileTexture
        self.uploads = 0
        self._fake_ids = itertools.count(1)
        if use_gl:
            from OpenGL import GL

            self._gl = GL

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def live(self) -> int:
        """Number of GL textures alive (the leak check in the tests counts these)."""
        return len(self.entries)

    def get(self, tile) -> TileTexture | None:
        return self.entries.get(tile)

    def full(self) -> bool:
        return len(self.entries) >= self.max_textures

    def upload(self, tile, rgb: np.ndarray, lod: int = 0) -> TileTexture:
        """Put a uint8 [H, W, 3] tile into its texture (reused when the size matches)."""
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3, (rgb.dtype, rgb.shape)
        img = np.ascontiguousarray(downsample(rgb, lod))
        shape = img.shape[:2]
        entry = self.entries.get(tile)
        if entry is not None and entry.shape != shape:
            self.release(tile)
            entry = None
        if entry is None:
            if self.full():
                raise RuntimeError(f"texture pool full ({self.max_textures}): evict before uploading")
            entry = TileTexture(self._create(shape), lod, shape)
            self.entries[tile] = entry
        self._write(entry.tex_id, img)
        entry.lod, entry.stale = lod, False
        self.uploads += 1
        return entry

    def mark_stale(self, tiles) -> None:
        for t in tiles:
            if t in self.entries:
                self.entries[t].stale = True

    def release(self, tile) -> None:
        entry = self.entries.pop(tile, None)
        if entry is not None and self.use_gl:
            self._gl.glDeleteTextures([entry.tex_id])

    def evict(self, keep, priority, count: int) -> int:
        """Free up to ``count`` textures of tiles not in ``keep``, largest ``priority(tile)`` first."""
        victims = sorted((t for t in self.entries if t not in keep), key=priority, reverse=True)[:count]
        for t in victims:
            self.release(t)
        return len(victims)

    def clear(self) -> None:
        for t in list(self.entries):
            self.release(t)

    # -- GL ------------------------------------------------------------------------------------

    def _create(self, shape: tuple[int, int]) -> int:
        if not self.use_gl:
            return next(self._fake_ids)
        GL = self._gl
        tex = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
        # trilinear filtering so zoomed-out tiles average instead of shimmering
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_NEAREST)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)
        h, w = shape
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGB8, w, h, 0, GL.GL_RGB, GL.GL_UNSIGNED_BYTE, None)
        return tex

    def _write(self, tex: int, img: np.ndarray) -> None:
        if not self.use_gl:
            return
        GL = self._gl
        GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)  # RGB rows need not be 4-byte aligned
        h, w = img.shape[:2]
        GL.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, 0, 0, w, h, GL.GL_RGB, GL.GL_UNSIGNED_BYTE, img)
        GL.glGenerateMipmap(GL.GL_TEXTURE_2D)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
