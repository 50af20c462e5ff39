"""The overview map: the visited area as one small texture composed from the coarse mosaic."""

from __future__ import annotations

import time

import numpy as np

from .gl_textures import GLTextures

REFRESH_S = 0.5  # recompose at most this often: a full map costs a few ms of numpy


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
        if key == self._key or (not resized and now - self._when < REFRESH_S):
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
