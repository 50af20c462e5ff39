"""The overview map: the visited area as one small texture composed from the coarse mosaic."""

from __future__ import annotations

import time

import numpy as np

from .gl_textures import GLTextures

REFRESH_S = 0.5  # recompose at most this often: a full map costs a few ms of numpy


MAP_REACH = 2.0  # the map shows what was visited within this many view sizes around the view


def map_area(visited, view, reach: float = MAP_REACH) -> tuple[float, float, float, float]:
    """The part of the visited area worth mapping: within ``reach`` view sizes of the view, and the
    view itself. All of it would shrink the view to a dot after a far Go to."""
    vx0, vy0, vx1, vy1 = view
    rx, ry = (vx1 - vx0) * reach, (vy1 - vy0) * reach
    x0, y0, x1, y1 = visited
    return (min(vx0, max(x0, vx0 - rx)), min(vy0, max(y0, vy0 - ry)),
            max(vx1, min(x1, vx1 + rx)), max(vy1, min(y1, vy1 + ry)))


def fit_rect(area, width: float, height: float, margin: float = 0.05) -> tuple[float, float, float, float]:
    """``area`` (x0, y0, x1, y1) grown by ``margin`` and widened to the aspect of width x height."""
    x0, y0, x1, y1 = area
    w, h = max(x1 - x0, 1.0) * (1 + 2 * margin), max(y1 - y0, 1.0) * (1 + 2 * margin)
    aspect = width / max(height, 1.0)
    w, h = max(w, h * aspect), max(h, w / aspect)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


class OverviewMap:
    """Keeps one texture of the mosaic inside a world rectangle, refreshed when the mosaic changes."""

    def __init__(self, gl: GLTextures):
        self.gl = gl
        self.tex: int | None = None
        self.shape = (0, 0)  # (height, width) of the texture
        self.image: np.ndarray | None = None  # the last map, uint8 [height, width, 3]
        self._key = None
        self._when = 0.0

    def update(self, mosaic, rect, width: int, height: int) -> None:
        width, height = max(1, int(width)), max(1, int(height))
        key = (mosaic.revision, id(mosaic), rect, width, height)
        now = time.perf_counter()
        resized = (height, width) != self.shape
        moved = self._key is None or self._key[2] != rect  # a new framing shows at once; new tiles may wait
        if key == self._key or (not resized and not moved and now - self._when < REFRESH_S):
            return
        self._key, self._when = key, now
        img = mosaic.overview(rect, width, height)
        if resized:
            self.release()
            self.tex, self.shape = self.gl.create(width, height, smooth=True), (height, width)
        self.gl.write(self.tex, 0, 0, img)
        self.image = img

    def release(self) -> None:
        if self.tex is not None:
            self.gl.delete(self.tex)
        self.tex, self.shape, self._key = None, (0, 0), None
