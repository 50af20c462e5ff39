"""Padding-free layers on world-anchored windows: where a layer's pixels sit, along one axis.

A layer of a padding-free generator computes, for a window of world pixels, a window of its own pixel
grid whose position and size follow from the window's by fixed offsets: that is what makes tiles exact
crops of one infinite computation. Both the native generator and InfinityGAN describe their layers so.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Grid:
    """A layer's window relative to the requested one, along one axis (both axes alike): for a window of n
    world pixels from world pixel ``origin``, layer pixels start(origin) .. start(origin) + size(n) - 1,
    pixel i standing for world pixels [i * scale, (i + 1) * scale)."""

    scale: int  # world pixels per layer pixel
    offset: int  # first layer pixel minus (window origin / scale)
    extra: int  # layer window size minus (window size / scale)

    def start(self, origin: int) -> int:
        return origin // self.scale + self.offset

    def size(self, n: int) -> int:
        return n // self.scale + self.extra

    def conv(self, r: int) -> Grid:
        """After an unpadded (2r + 1)-tap convolution."""
        return Grid(self.scale, self.offset + r, self.extra - 2 * r)

    def span(self, origin: int, n: int) -> tuple[float, float]:
        """World coordinates of the first and last pixel centre of this grid for a window."""
        first = self.start(origin) * self.scale + (self.scale - 1) / 2
        return first, first + (self.size(n) - 1) * self.scale

    def centres(self, origin: int, n: int) -> torch.Tensor:
        """World coordinates of the pixel centres of this grid for a window (origin, n): pixel i at the
        centre of its world pixels, i * scale + (scale - 1) / 2."""
        i = torch.arange(self.start(origin), self.start(origin) + self.size(n), dtype=torch.float64)
        return i * self.scale + (self.scale - 1) / 2
