"""GL textures of finished tiles, packed into atlas pages, with a hard cap on how many tiles are resident.

One atlas page holds hundreds of tiles, so the canvas is a handful of draw calls instead of one per
tile: on a software rasteriser each texture switch costs about 0.1 ms."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

GUTTER = 1  # texels of edge copy around a slot: linear filtering never reads the neighbouring slot
PAGE_PX = 2048  # atlas page side; every GL 3.3 implementation allows textures this large


def downsample(rgb: np.ndarray, factor: int) -> np.ndarray:
    """Box-filter a uint8 [H, W, 3] image by an integer factor (PIL's C loop; numpy's is 3-5x slower)."""
    if factor <= 1:
        return rgb
    return np.asarray(Image.fromarray(rgb).reduce(factor))


class GLTextures:
    """The few GL calls the studio makes on textures; with ``use_gl=False`` ids are plain counters."""

    def __init__(self, use_gl: bool):
        self.use_gl = use_gl
        self.created = self.deleted = 0
        self.max_id = 0  # highest id handed out: leak checks ask GL about every id up to it
        self._fake_ids = itertools.count(1)
        if use_gl:
            from OpenGL import GL

            self.gl = GL

    def create(self, width: int, height: int, smooth: bool = False) -> int:
        self.created += 1
        if not self.use_gl:
            return next(self._fake_ids)
        GL = self.gl
        tex = int(GL.glGenTextures(1))
        self.max_id = max(self.max_id, tex)
        GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
        # tiles arrive pre-shrunk to the zoom level (mipmaps made on the CPU, per tile), so a texel
        # never covers less than half a screen pixel: linear minification is enough. Magnified
        # tiles stay crisp (nearest); the coarse mosaic, a stand-in, is ``smooth``.
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
        mag = GL.GL_LINEAR if smooth else GL.GL_NEAREST
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, mag)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGB8, width, height, 0, GL.GL_RGB, GL.GL_UNSIGNED_BYTE,
                        None)
        return tex

    def write(self, tex: int, x: int, y: int, img: np.ndarray) -> None:
        if not self.use_gl:
            return
        GL = self.gl
        GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)  # RGB rows need not be 4-byte aligned
        h, w = img.shape[:2]
        GL.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, x, y, w, h, GL.GL_RGB, GL.GL_UNSIGNED_BYTE, img)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)

    def delete(self, tex: int) -> None:
        self.deleted += 1
        if self.use_gl:
            self.gl.glDeleteTextures([tex])


class PanelImage:
    """A uint8 [H, W, 3] picture shown in a panel (spectra, difference strips, previews): one texture,
    written on the UI thread when the picture changes, made anew when its size does."""

    def __init__(self, gl: GLTextures):
        self.gl = gl
        self.rgb: np.ndarray | None = None
        self.tex: int | None = None
        self._shape = (0, 0)
        self._dirty = False

    def set(self, rgb: np.ndarray | None) -> None:
        self.rgb, self._dirty = rgb, True

    def draw(self, width: float) -> None:
        """The picture ``width`` px wide at its aspect (imgui; nothing without a picture)."""
        from imgui_bundle import imgui

        if self.rgb is None:
            return
        if self._dirty:
            self._upload()
        h, w = self.rgb.shape[:2]
        imgui.image(imgui.ImTextureRef(self.tex), imgui.ImVec2(width, width * h / max(w, 1)))

    def _upload(self) -> None:
        self._dirty = False
        img = np.ascontiguousarray(self.rgb)
        h, w = img.shape[:2]
        if self.tex is None or self._shape != (h, w):
            self.release()
            self.tex, self._shape = self.gl.create(w, h), (h, w)  # nearest magnification: see the bins
        self.gl.write(self.tex, 0, 0, img)

    def release(self) -> None:
        if self.tex is not None:
            self.gl.delete(self.tex)
        self.tex, self._shape = None, (0, 0)


@dataclass
class Slot:
    tex_id: int  # the atlas page
    uv0: tuple[float, float]
    uv1: tuple[float, float]
    page: int
    index: int


class Atlas:
    """Square slots of one size in pages of ``per_row`` x ``per_row`` slots; pages live until ``clear``."""

    def __init__(self, gl: GLTextures, slot: int, max_slots: int, smooth: bool = False):
        self.gl, self.slot, self.smooth = gl, slot, smooth
        self.stride = slot + 2 * GUTTER
        # no page larger than the cap needs: small test pools get small pages
        self.per_row = max(1, min(PAGE_PX // self.stride, math.ceil(math.sqrt(max_slots))))
        self.page_px = self.per_row * self.stride
        self.pages: list[int] = []
        self._free: list[int] = []  # page * per_row**2 + index, popped from the end

    def alloc(self) -> Slot:
        if not self._free:
            n = self.per_row ** 2
            self.pages.append(self.gl.create(self.page_px, self.page_px, self.smooth))
            base = (len(self.pages) - 1) * n
            self._free = [base + i for i in reversed(range(n))] + self._free
        key = self._free.pop()
        page, index = divmod(key, self.per_row ** 2)
        x, y = self._origin(index)
        s = 1.0 / self.page_px
        return Slot(self.pages[page], (x * s, y * s), ((x + self.slot) * s, (y + self.slot) * s), page, index)

    def free(self, slot: Slot) -> None:
        self._free.append(slot.page * self.per_row ** 2 + slot.index)

    def write(self, slot: Slot, img: np.ndarray) -> None:
        """Put a uint8 [slot, slot, 3] image (smaller is padded by its edge) into the slot."""
        h, w = img.shape[:2]
        pad = ((GUTTER, GUTTER + self.slot - h), (GUTTER, GUTTER + self.slot - w), (0, 0))
        x, y = self._origin(slot.index)
        self.gl.write(slot.tex_id, x - GUTTER, y - GUTTER, np.pad(img, pad, mode="edge"))

    def clear(self) -> None:
        for tex in self.pages:
            self.gl.delete(tex)
        self.pages, self._free = [], []

    def _origin(self, index: int) -> tuple[int, int]:
        row, col = divmod(index, self.per_row)
        return col * self.stride + GUTTER, row * self.stride + GUTTER


@dataclass
class TileTexture:
    slot: Slot
    stale: bool = False  # the tile was invalidated; keep drawing this until the new one arrives

    @property
    def tex_id(self) -> int:
        return self.slot.tex_id


class TexturePool:
    """One atlas slot per tile, at most ``max_textures`` tiles resident (checked, never exceeded).

    With ``use_gl=False`` no GL call is made: the headless tests drive the real canvas this way."""

    def __init__(self, max_textures: int = 2048, use_gl: bool = True, tile_size: int = 64):
        self.max_textures = max_textures
        self.use_gl = use_gl
        self.gl = GLTextures(use_gl)
        self.entries: dict = {}  # Tile -> TileTexture
        self.uploads = 0
        self.set_tile_size(tile_size)

    def set_tile_size(self, tile_size: int) -> None:
        """Drop everything; slots are tile_size texels wide (a zoomed-out view draws tiles of a
        coarser level of detail, each still tile_size px: no downsampled uploads)."""
        self.clear()
        self.tile_size = tile_size
        self.atlas = Atlas(self.gl, tile_size, self.max_textures)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def live(self) -> int:
        """Tiles resident in atlas slots (bounded by ``max_textures``)."""
        return len(self.entries)

    @property
    def gl_textures(self) -> int:
        """GL textures (atlas pages) alive: created minus deleted, as the leak checks count them."""
        return self.gl.created - self.gl.deleted

    def get(self, tile) -> TileTexture | None:
        return self.entries.get(tile)

    def full(self) -> bool:
        return len(self.entries) >= self.max_textures

    def upload(self, tile, img: np.ndarray) -> TileTexture:
        """Put a uint8 tile into its slot (reused when the tile is uploaded again)."""
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, (img.dtype, img.shape)
        entry = self.entries.get(tile)
        if entry is None:
            if self.full():
                raise RuntimeError(f"texture pool full ({self.max_textures}): evict before uploading")
            entry = TileTexture(self.atlas.alloc())
            self.entries[tile] = entry
        self.atlas.write(entry.slot, img)
        entry.stale = False
        self.uploads += 1
        return entry

    def mark_stale(self, tiles) -> None:
        for t in tiles:
            if t in self.entries:
                self.entries[t].stale = True

    def release(self, tile) -> None:
        entry = self.entries.pop(tile, None)
        if entry is not None:
            self.atlas.free(entry.slot)

    def evict(self, keep, priority, count: int) -> int:
        """Free up to ``count`` slots of tiles not in ``keep``, largest ``priority(tile)`` first."""
        victims = sorted((t for t in self.entries if t not in keep), key=priority, reverse=True)[:count]
        for t in victims:
            self.release(t)
        return len(victims)

    def clear(self) -> None:
        self.entries.clear()
        if hasattr(self, "atlas"):  # not yet on the first set_tile_size
            self.atlas.clear()
