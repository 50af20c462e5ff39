"""The model contract: one interface the renderer uses for every generator family.

World coordinates are integer pixel positions of an unbounded plane (x to the right, y down).
The world is cut into square tiles of ``tile_size`` pixels; tile (ix, iy) covers
``[ix * tile_size, (ix + 1) * tile_size) x [iy * tile_size, (iy + 1) * tile_size)``.
Latent fields live on lattices anchored to the same world coordinates, never to a canvas.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch


@dataclass(frozen=True, order=True)
class Tile:
    """Index of a tile on the world grid."""

    ix: int
    iy: int

    def rect(self, tile_size: int) -> tuple[int, int, int, int]:
        """World rectangle (x, y, w, h) covered by this tile."""
        return (self.ix * tile_size, self.iy * tile_size, tile_size, tile_size)


@dataclass(frozen=True)
class CellRange:
    """Half-open range of lattice cells [x0, x1) x [y0, y1)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the range."""
        return (self.y1 - self.y0, self.x1 - self.x0)

    def intersects(self, other: CellRange) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def union(self, other: CellRange) -> CellRange:
        return CellRange(min(self.x0, other.x0), min(self.y0, other.y0),
                         max(self.x1, other.x1), max(self.y1, other.y1))


@dataclass(frozen=True)
class FieldSpec:
    """A latent field on a world lattice: cell (i, j) is centred on world pixel
    ``(i + 0.5) * spacing - 0.5`` horizontally (same vertically), for per-pixel lattices the pixel
    itself. ``group`` names the edit target (``local``, ``style``, ``noise``)."""

    name: str
    spacing: int  # world pixels per cell
    channels: int
    group: str

    def cells_covering(self, x: int, y: int, w: int, h: int) -> CellRange:
        """Cells whose area meets the world rectangle (x, y, w, h)."""
        s = self.spacing
        return CellRange(x // s, y // s, -(-(x + w) // s), -(-(y + h) // s))


@dataclass(frozen=True)
class Capabilities:
    """What a generator family can do; the studio greys out what it cannot."""

    infinite_x: bool = True
    infinite_y: bool = True
    seams: str = "exact"  # "exact" (by construction), "learned" (ALIS) or "frame" (single frames)
    input_transform: bool = False  # fractional translate / rotate of the input (StyleGAN3)
    noise: bool = True
    layer_capture: bool = True
    style_fusion: bool = True


class LatentSource(Protocol):
    """Where a renderer gets lattice values: the seeded hash lattice, possibly with edits on top."""

    def cells(self, spec: FieldSpec, cells: CellRange) -> np.ndarray:
        """Values of ``spec`` over ``cells`` as float32 [C, rows, cols]."""
        ...


class StyleMap(Protocol):
    """Per-pixel style as a weighted combination of latent codes (SA-AdaIN generalised to 2D).

    For a grid of world pixel centres it returns K codes z [K, z_dim] and weights [K, H, W] that
    sum to 1 at every pixel. The default is bilinear interpolation between style-lattice anchors;
    style fusion (blurred nearest-anchor maps) is just another StyleMap."""

    def mix(self, xs: np.ndarray, ys: np.ndarray, latents: LatentSource,
            spec: FieldSpec) -> tuple[np.ndarray, np.ndarray]:
        ...


@dataclass
class RenderSettings:
    """Scene-wide knobs a render honours."""

    truncation: float = 1.0
    noise_mode: str = "world"  # "world": noise from the latent lattice; "off": no noise
    style_map: StyleMap | None = None  # None: the model's own lattice interpolation
    extras: dict = field(default_factory=dict)


class InfiniteGenerator(abc.ABC):
    """A generator wrapped for the infinite canvas.

    Subclasses set ``family``, ``tile_size``, ``fields`` and ``capabilities``."""

    family: str
    tile_size: int
    fields: dict[str, FieldSpec]
    capabilities: Capabilities

    @abc.abstractmethod
    def footprint(self, tile: Tile) -> dict[str, CellRange]:
        """Which cells of every field the tile reads (margins included)."""

    @abc.abstractmethod
    def render(self, tiles: list[Tile], latents: LatentSource,
               settings: RenderSettings | None = None) -> torch.Tensor:
        """Render a batch of tiles: float32 [N, 3, tile_size, tile_size] in [-1, 1] on the CPU."""

    def describe(self) -> dict:
        """Facts for `infiniscape info` and the Model panel."""
        return {
            "family": self.family,
            "tile_size": self.tile_size,
            "fields": {name: {"spacing": f.spacing, "channels": f.channels, "group": f.group}
                       for name, f in self.fields.items()},
            "capabilities": vars(self.capabilities).copy(),
        }

    def fields_in_group(self, group: str) -> list[FieldSpec]:
        return [f for f in self.fields.values() if f.group == group]
