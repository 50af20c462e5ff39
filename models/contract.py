"""The model contract: one interface the renderer uses for every generator family.

World coordinates are integer pixel positions of an unbounded plane (x to the right, y down).
The world is cut into square tiles of ``tile_size`` pixels; tile (ix, iy) covers
``[ix * tile_size, (ix + 1) * tile_size) x [iy * tile_size, (iy + 1) * tile_size)``. Levels of
detail: a tile of level k is still ``tile_size`` pixels on a side, each the mean colour of
2^k x 2^k world pixels, so it covers ``tile_size * 2^k`` world pixels (a quadtree: tile (ix, iy, k)
holds the four tiles (2 ix + i, 2 iy + j, k - 1)).
Latent fields live on lattices anchored to the same world coordinates, never to a canvas.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:  # annotations only: the CLI reads NOISE_MODES without loading torch
    import numpy as np
    import torch

# Noise modes a scene (and RenderSettings) names, each with what the official networks call it (their
# `noise_mode` argument): "world": noise from the latent lattice (official nets: their constant noise);
# "off": no noise; "random": fresh noise every render (official nets only; not reproducible)
NOISE_MODES = {"world": "const", "off": "none", "random": "random"}
NETWORK_NOISE_MODES = tuple(NOISE_MODES.values())  # what an official network's synthesis accepts


class Tile(NamedTuple):
    """Index of a tile on the world grid. A named tuple, not a dataclass: tiles key every dict of
    the scheduler, cache and canvas, and tuple hashing and equality run in C (planning a view of
    300 tiles took 2x longer with dataclass hashing)."""

    ix: int
    iy: int
    level: int = 0  # level of detail k: one tile pixel per 2^k x 2^k world pixels

    def rect(self, tile_size: int) -> tuple[int, int, int, int]:
        """World rectangle (x, y, w, h) covered by this tile."""
        s = tile_size << self.level
        return (self.ix * s, self.iy * s, s, s)

    @property
    def parent(self) -> Tile:
        """The tile of the next coarser level that contains this one."""
        return Tile(self.ix >> 1, self.iy >> 1, self.level + 1)

    @property
    def children(self) -> tuple[Tile, Tile, Tile, Tile]:
        """The four tiles of the next finer level, row-major (top-left, top-right, ...)."""
        x, y, k = 2 * self.ix, 2 * self.iy, self.level - 1
        return (Tile(x, y, k), Tile(x + 1, y, k), Tile(x, y + 1, k), Tile(x + 1, y + 1, k))


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


@dataclass(frozen=True)
class FieldSpec:
    """A latent field on a world lattice. ``group`` names the edit target (local, style, noise).

    kind "cell": value i covers world pixels [i * spacing, (i + 1) * spacing) (local latents,
    noise). kind "point": value i sits at world i * spacing and is interpolated, so it reaches
    ((i - 1) * spacing, (i + 1) * spacing) (style anchors).

    ``octaves`` makes the seeded values spatially coherent: each (cells_x, cells_y, share) mixes in a
    lattice every cells_x x cells_y cells (cells_y 0: one value per column), interpolated so that
    every value stays a standard normal; ``share`` is its part of the variance (models/lattice.py)."""

    name: str
    spacing: int  # world pixels per cell
    channels: int
    group: str
    kind: str = "cell"
    octaves: tuple[tuple[int, int, float], ...] = ()

    def area(self, i0: int, i1: int) -> tuple[int, int]:
        """World interval [a, b) reached by cells i0 .. i1 - 1 along one axis."""
        s = self.spacing
        return ((i0 - 1) * s + 1, i1 * s) if self.kind == "point" else (i0 * s, i1 * s)

    def cells_meeting(self, x0: int, x1: int) -> tuple[int, int]:
        """Cells [i0, i1) whose area meets the world interval [x0, x1) along one axis."""
        s = self.spacing
        if self.kind == "point":
            return (x0 // s, -(-(x1 - 1) // s) + 1) if x1 > x0 else (0, 0)
        return (x0 // s, -(-x1 // s))

    def cells_covering(self, x: int, y: int, w: int, h: int) -> CellRange:
        """Cells whose area meets the world rectangle (x, y, w, h)."""
        (x0, x1), (y0, y1) = self.cells_meeting(x, x + w), self.cells_meeting(y, y + h)
        return CellRange(x0, y0, x1, y1)


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
    inversion: bool = False  # window_cells / render_window_from: latents fitted to an image
    # Optional interfaces, found once when the model is loaded (record_capabilities):
    frames: bool = False  # OfficialFrames: the official tool's frame of a seed (`render --frame`)
    transformed_frames: bool = False  # TransformedFrames: a frame under any input transform (equivariance)
    class_label: bool = False  # ClassConditional: a class label the user may choose (`--class`)


class LatentSource(Protocol):
    """Where a renderer gets lattice values: the seeded hash lattice, possibly with edits on top."""

    def cells(self, spec: FieldSpec, cells: CellRange) -> np.ndarray:
        """Values of ``spec`` over ``cells`` as float32 [C, rows, cols]."""
        ...


class StyleWeights(Protocol):
    """A style map's plan for one window: its codes and their weights at any pixel centres inside it."""

    z: np.ndarray  # [K, z_dim] float32

    def weights(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """[K, len(ys), len(xs)] float32, summing to 1 at every pixel."""
        ...


class StyleMap(Protocol):
    """Per-pixel style as a weighted combination of latent codes (SA-AdaIN generalised to 2D).

    For a world box of pixel centres it plans K codes z [K, z_dim] and, for any grid of centres in
    the box, weights [K, H, W] that sum to 1 at every pixel. The default is bilinear interpolation
    between style-lattice anchors; style fusion (blurred nearest-anchor maps) is just another StyleMap."""

    def plan(self, box: tuple[float, float, float, float], latents: LatentSource,
             spec: FieldSpec) -> StyleWeights:
        ...


@dataclass(frozen=True)
class StyleMix:
    """Style mixing (StyleGAN): the ws of layers [lo, hi) come from the latent of a second seed."""

    seed: int
    lo: int
    hi: int


@dataclass
class RenderSettings:
    """Scene-wide knobs a render honours."""

    truncation: float = 1.0
    noise_mode: str = "world"  # one of NOISE_MODES
    # the seed the scene's lattice is drawn from: official networks draw their latents from it as
    # gen_images.py does (None: the seed of a bare HashedLatents)
    scene_seed: int | None = None
    style_map: StyleMap | None = None  # None: the model's own lattice interpolation
    class_idx: int | None = None  # conditional networks: the class label (None: the model's default)
    style_mix: StyleMix | None = None  # StyleGAN families: ws [lo, hi) from a second seed
    # official seed grids / canvases: shift on the seed plane (the StyleGAN3 visualizer's latent x, y);
    # fractional values blend the four neighbouring seeds
    seed_offset: tuple[float, float] = (0.0, 0.0)


class InfiniteGenerator(abc.ABC):
    """A generator wrapped for the infinite canvas.

    Subclasses set ``family``, ``tile_size``, ``fields`` and ``capabilities``; a family that renders
    coarse levels itself (at a cost that follows the output pixels) sets ``levels`` above 1 and
    renders tiles of those levels. The renderer builds every other level from its four children
    (box-downsampled), so a family without coarse outputs still zooms out, once per tile."""

    family: str
    tile_size: int
    fields: dict[str, FieldSpec]
    capabilities: Capabilities
    levels: int = 1  # levels 0 .. levels - 1 come from render() itself
    window_align: int = 1  # window_cells / render_window_from take windows on this grid (world px)
    # Where the studio opens: (zoom, world x, world y of the view centre) at which the model looks
    # as it was trained to look (a model of 64 px frames is best seen enlarged)
    opening_view: tuple[float, float, float] = (1.0, 0.0, 0.0)

    @abc.abstractmethod
    def footprint(self, tile: Tile) -> dict[str, CellRange]:
        """Which cells of every field the tile reads (margins included); tiles of levels
        0 .. levels - 1."""

    def style_footprint(self, tile: Tile) -> tuple[float, float, float, float]:
        """World box (x0, y0, x1, y1) of the pixel centres whose per-pixel style the tile reads."""
        x, y, w, h = tile.rect(self.tile_size)
        return (x, y, x + w - 1, y + h - 1)

    @abc.abstractmethod
    def render(self, tiles: list[Tile], latents: LatentSource,
               settings: RenderSettings | None = None) -> torch.Tensor:
        """Render a batch of tiles: float32 [N, 3, tile_size, tile_size] in [-1, 1] on the CPU.
        Tiles of one batch share their level, which is below ``levels``."""

    def describe(self) -> dict:
        """Facts for `infiniscape info` and the Model panel."""
        return {
            "family": self.family,
            "tile_size": self.tile_size,
            "levels": self.levels,
            "fields": {name: {"spacing": f.spacing, "channels": f.channels, "group": f.group,
                              "octaves": [list(o) for o in f.octaves]}
                       for name, f in self.fields.items()},
            "capabilities": vars(self.capabilities).copy(),
        }

    def fields_in_group(self, group: str) -> list[FieldSpec]:
        return [f for f in self.fields.values() if f.group == group]

    # -- inversion (capabilities.inversion) ------------------------------------------------------
    def window_cells(self, x: int, y: int, width: int, height: int) -> dict[str, CellRange]:
        """Every cell a full-resolution window's render reads, per field: what fitting it can change."""
        raise NotImplementedError(f"{self.family} models cannot be inverted")

    def render_window_from(self, x: int, y: int, width: int, height: int, latents: LatentSource,
                           settings: RenderSettings, values: dict[str, torch.Tensor]) -> torch.Tensor:
        """The window as float32 [3, height, width], differentiable in ``values``: tensors
        [C, rows, cols] over window_cells' ranges that replace the latents' cells there."""
        raise NotImplementedError(f"{self.family} models cannot be inverted")


# -- optional interfaces: a family implements them or not; record_capabilities notes which ----------------
@runtime_checkable
class OfficialFrames(Protocol):
    """The official tool's frame of a seed (gen_images.py, the ALIS notebook): `render --frame`."""

    def frame(self, seed: int, truncation: float = 1.0, noise_mode: str = "world",
              class_idx: int | None = None, translate: tuple[float, float] = (0.0, 0.0)) -> torch.Tensor:
        """float32 [1, C, R, R] (about [-1, 1], unclamped) on the CPU."""
        ...


@runtime_checkable
class TransformedFrames(Protocol):
    """A frame under any input transform: what the official equivariance metrics score."""

    def render_transformed(self, seed: int, transform: np.ndarray) -> torch.Tensor:
        """Frame of ``seed`` with the 3x3 ``transform`` as its input transform: [3, R, R], unclamped."""
        ...


@runtime_checkable
class ClassConditional(Protocol):
    """A network that takes a class label the user may choose."""

    class_idx: int | None


@runtime_checkable
class LayerCapture(Protocol):
    """A model whose layers can be watched: forward hooks on ``generator``'s submodules."""

    generator: torch.nn.Module


def record_capabilities(model: InfiniteGenerator) -> InfiniteGenerator:
    """Note in ``model.capabilities`` which optional interfaces it implements, once, when it is loaded,
    so the app asks the capabilities rather than probing the model."""
    caps = model.capabilities
    found = {"frames": isinstance(model, OfficialFrames),
             "transformed_frames": caps.input_transform and isinstance(model, TransformedFrames),
             "class_label": isinstance(model, ClassConditional),
             "layer_capture": caps.layer_capture and isinstance(model, LayerCapture)}
    model.capabilities = replace(caps, **found)
    return model
