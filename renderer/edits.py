"""Edits of the world: region resampling of latent cells and style anchors for fusion.

A region resample overrides a block of lattice cells with fresh values drawn from the edit's seed
(optionally shifted to the per-channel mean/std of a statistics region, InfinityGAN's blue box),
blended with a feathered mask. The block is materialised once, when the edit is applied, from the
state before it: an undo entry is that block of cells, never pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.contract import CellRange, FieldSpec, InfiniteGenerator
from ..models.errors import UserError
from ..models.lattice import hashed_normal, stream_key
from .limits import MAX_EDIT_VALUES, MAX_FEATHER, LimitError, check_int, check_rect

FIELD_GROUPS = ("local", "style", "noise")
Rect = tuple[int, int, int, int]  # world x, y, width, height


@dataclass(frozen=True)
class Resample:
    """Resample the cells of one field group that meet ``rect``."""

    field: str
    rect: Rect
    seed: int
    stats_rect: Rect | None = None
    feather: int = 8  # world px over which the new values fade into the old ones

    def describe(self) -> str:
        x, y, w, h = self.rect
        stats = " with stats" if self.stats_rect else ""
        return f"resample {self.field} {w}x{h} at ({x}, {y}) seed {self.seed}{stats}"


@dataclass(frozen=True)
class StyleAnchor:
    """A style placed in world space: from a seed, or picked from the canvas at a world point.
    ``radius`` / ``blur`` (world px) override the scene's fusion reach for this anchor alone."""

    at: tuple[float, float]
    seed: int | None = None
    pick: tuple[float, float] | None = None
    radius: int | None = None
    blur: int | None = None

    def describe(self) -> str:
        what = f"seed {self.seed}" if self.seed is not None else f"picked at {self.pick}"
        own = [f"{k} {v}" for k, v in (("radius", self.radius), ("blur", self.blur)) if v is not None]
        return what + (f" ({', '.join(own)})" if own else "")


@dataclass(frozen=True)
class AddAnchor:
    at: tuple[float, float]
    seed: int | None = None
    pick: tuple[float, float] | None = None
    radius: int | None = None  # None: the scene's fusion radius
    blur: int | None = None  # None: the scene's fusion blur

    def describe(self) -> str:
        return f"add style anchor at ({self.at[0]:.0f}, {self.at[1]:.0f})"


@dataclass(frozen=True)
class MoveAnchor:
    index: int
    to: tuple[float, float]

    def describe(self) -> str:
        return f"move style anchor {self.index} to ({self.to[0]:.0f}, {self.to[1]:.0f})"


@dataclass(frozen=True)
class SetAnchorReach:
    """One anchor's own radius and blur (None: back to the scene's)."""

    index: int
    radius: int | None
    blur: int | None

    def describe(self) -> str:
        return f"style anchor {self.index}: radius {self.radius}, blur {self.blur}"


@dataclass(frozen=True)
class RemoveAnchor:
    index: int

    def describe(self) -> str:
        return f"remove style anchor {self.index}"


@dataclass(frozen=True)
class CellBlock:
    """Final values of a block of cells of one field, pasted over the lattice."""

    field: str
    cells: CellRange
    values: np.ndarray  # float32 [C, rows, cols]

    @property
    def nbytes(self) -> int:
        return self.values.nbytes


@dataclass(frozen=True, eq=False)
class PlaceImage:
    """Images placed in the world by inversion (renderer.inversion): the cells fitted so the world
    shows each image in its rectangle and continues it beyond; several images fitted together are
    connected. Stored as the fitted cells themselves, so applying it is exact and undo is a block swap."""

    blocks: tuple[CellBlock, ...]
    rects: tuple[Rect, ...]  # where the images are, world x, y, width, height
    images: tuple[str, ...]  # their file names (for the history and the scene file)

    def describe(self) -> str:
        names = " + ".join(self.images)
        return f"place {names} at " + ", ".join(f"({x}, {y}) {w}x{h}" for x, y, w, h in self.rects)


Action = Resample | PlaceImage | AddAnchor | MoveAnchor | SetAnchorReach | RemoveAnchor


class EditedLatents:
    """The seeded lattice with edit blocks pasted on top, in edit order (a LatentSource)."""

    def __init__(self, base, blocks: tuple[CellBlock, ...] = ()):
        self.base = base
        self.blocks = blocks
        self._by_field: dict[str, list[CellBlock]] = {}
        for b in blocks:
            self._by_field.setdefault(b.field, []).append(b)

    def with_blocks(self, blocks: tuple[CellBlock, ...]) -> EditedLatents:
        return EditedLatents(self.base, self.blocks + tuple(blocks))

    def cells(self, spec: FieldSpec, cells: CellRange) -> np.ndarray:
        values = self.base.cells(spec, cells)
        pasted = False
        for b in self._by_field.get(spec.name, ()):
            if not b.cells.intersects(cells):
                continue
            if not pasted:
                values, pasted = values.copy(), True
            x0, y0 = max(cells.x0, b.cells.x0), max(cells.y0, b.cells.y0)
            x1, y1 = min(cells.x1, b.cells.x1), min(cells.y1, b.cells.y1)
            values[:, y0 - cells.y0:y1 - cells.y0, x0 - cells.x0:x1 - cells.x0] = \
                b.values[:, y0 - b.cells.y0:y1 - b.cells.y0, x0 - b.cells.x0:x1 - b.cells.x0]
        return values


def _feather_weights(spec: FieldSpec, i0: int, i1: int, r0: int, r1: int, feather: int) -> np.ndarray:
    """Blend weight of cells i0..i1-1 along one axis for the world interval [r0, r1): 1 where the
    cell's area meets it, fading linearly to 0 over ``feather`` px of gap outside it."""
    idx = np.arange(i0, i1)
    a0, a1 = spec.area(idx, idx + 1)
    gap = np.maximum(r0 - a1 + 1, a0 - r1 + 1).astype(np.float64)  # px between nearest pixels
    meets = (a0 < r1) & (r0 < a1)
    return np.where(meets, 1.0, np.clip(1.0 - gap / (feather + 1), 0.0, 1.0)).astype(np.float32)


def resample_blocks(model: InfiniteGenerator, latents, edit: Resample) -> tuple[CellBlock, ...]:
    """Materialise a resample edit against the current latents."""
    validate_resample(model, edit)
    x, y, w, h = edit.rect
    f = max(0, int(edit.feather))
    blocks = []
    for spec in model.fields_in_group(edit.field):
        (cx0, cx1), (cy0, cy1) = spec.cells_meeting(x - f, x + w + f), spec.cells_meeting(y - f, y + h + f)
        mx = _feather_weights(spec, cx0, cx1, x, x + w, f)
        my = _feather_weights(spec, cy0, cy1, y, y + h, f)
        # trim to the cells the edit really changes, so invalidation stays exact
        kx, ky = np.flatnonzero(mx), np.flatnonzero(my)
        if not len(kx) or not len(ky):
            continue
        mx, my = mx[kx[0]:kx[-1] + 1], my[ky[0]:ky[-1] + 1]
        cells = CellRange(int(cx0 + kx[0]), int(cy0 + ky[0]), int(cx0 + kx[-1] + 1), int(cy0 + ky[-1] + 1))
        mask = my[:, None] * mx[None, :]
        old = latents.cells(spec, cells)
        fresh = hashed_normal(stream_key(edit.seed, f"resample/{spec.name}"), cells, spec.channels)
        if edit.stats_rect is not None:
            mean, std = channel_stats(spec, latents, edit.stats_rect)
            fresh = fresh * std[:, None, None] + mean[:, None, None]
        values = old * (1.0 - mask) + fresh * mask
        blocks.append(CellBlock(spec.name, cells, values.astype(np.float32)))
    return tuple(blocks)


def channel_stats(spec: FieldSpec, latents, rect: Rect) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of the current values of the cells meeting ``rect``."""
    v = latents.cells(spec, spec.cells_covering(*rect)).reshape(spec.channels, -1).astype(np.float64)
    return v.mean(1).astype(np.float32), v.std(1).astype(np.float32)


def validate_resample(model: InfiniteGenerator, edit: Resample) -> None:
    if edit.field not in FIELD_GROUPS:
        raise UserError(f"resample field must be one of {', '.join(FIELD_GROUPS)} (got {edit.field!r})")
    if not model.fields_in_group(edit.field):
        raise UserError(f"model {model.family} has no {edit.field!r} field to resample")
    try:
        for name in ("rect", "stats_rect"):
            if getattr(edit, name) is not None:
                check_rect(getattr(edit, name), f"resample {name}")
        check_int(edit.feather, "resample feather", 0, MAX_FEATHER)
    except LimitError as e:
        raise UserError(str(e)) from None
    for spec in model.fields_in_group(edit.field):
        _within_budget(spec, edit.rect, edit.feather, "rect")
        if edit.stats_rect is not None:
            _within_budget(spec, edit.stats_rect, 0, "stats_rect")


def _within_budget(spec: FieldSpec, rect: Rect, feather: int, name: str) -> None:
    """The cells a rectangle (plus feather) materialises stay within MAX_EDIT_VALUES."""
    x, y, w, h = rect
    (cx0, cx1), (cy0, cy1) = spec.cells_meeting(x - feather, x + w + feather), \
        spec.cells_meeting(y - feather, y + h + feather)
    if (cx1 - cx0) * (cy1 - cy0) * spec.channels > MAX_EDIT_VALUES:
        raise UserError(f"resample {name} {w}x{h} px covers {cx1 - cx0}x{cy1 - cy0} cells of field "
                        f"{spec.name!r}, more than {MAX_EDIT_VALUES} values: resample a smaller region")
