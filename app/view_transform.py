"""Where the world sits on the canvas: an offset (world point at the canvas's top-left) and a zoom."""

from __future__ import annotations

import math
from dataclasses import dataclass

ZOOM_MIN, ZOOM_MAX = 1 / 8, 8.0
WHEEL_STEP = 2 ** 0.25  # one wheel notch zooms by this factor, four notches double


@dataclass
class ViewTransform:
    """screen = origin + (world - offset) * zoom; ``origin`` is the canvas's top-left on screen."""

    x: float = 0.0  # world x at the canvas's left edge
    y: float = 0.0  # world y at the canvas's top edge
    zoom: float = 1.0

    def to_world(self, sx: float, sy: float, origin=(0.0, 0.0)) -> tuple[float, float]:
        return (self.x + (sx - origin[0]) / self.zoom, self.y + (sy - origin[1]) / self.zoom)

    def to_screen(self, wx: float, wy: float, origin=(0.0, 0.0)) -> tuple[float, float]:
        return (origin[0] + (wx - self.x) * self.zoom, origin[1] + (wy - self.y) * self.zoom)

    def pan_screen(self, dx: float, dy: float) -> None:
        """Move the world with the mouse: a drag of (dx, dy) screen px drags the content by as much."""
        self.x -= dx / self.zoom
        self.y -= dy / self.zoom

    def zoom_about(self, sx: float, sy: float, zoom: float, origin=(0.0, 0.0)) -> None:
        """Set the zoom keeping the world point under screen point (sx, sy) in place."""
        wx, wy = self.to_world(sx, sy, origin)
        self.zoom = min(ZOOM_MAX, max(ZOOM_MIN, zoom))
        self.x = wx - (sx - origin[0]) / self.zoom
        self.y = wy - (sy - origin[1]) / self.zoom

    def wheel(self, notches: float, sx: float, sy: float, origin=(0.0, 0.0)) -> None:
        self.zoom_about(sx, sy, self.zoom * WHEEL_STEP ** notches, origin)

    def center_on(self, wx: float, wy: float, size: tuple[float, float]) -> None:
        """Put world point (wx, wy) at the centre of a canvas of ``size`` screen px."""
        self.x = wx - size[0] / 2 / self.zoom
        self.y = wy - size[1] / 2 / self.zoom

    def world_rect(self, size: tuple[float, float]) -> tuple[float, float, float, float]:
        """Visible world box (x0, y0, x1, y1) of a canvas of ``size`` screen px."""
        return (self.x, self.y, self.x + size[0] / self.zoom, self.y + size[1] / self.zoom)

    def lod(self) -> int:
        """The level of detail the view draws: tiles of level k (each pixel 2^k x 2^k world px) from
        zoom 1/2^k up to (not including) 1/2^(k-1); 0 at 1x and above, 3 at the widest zoom."""
        return max(0, min(3, int(math.floor(-math.log2(self.zoom) + 1e-9))))
