"""World: a scene on a loaded model, rendered as any rectangle assembled from world tiles, edited
through undoable actions that report exactly which tiles they change."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from ..models.contract import CellRange, InfiniteGenerator, RenderSettings, Tile
from ..models.errors import UserError
from ..models.lattice import HashedLatents
from .edits import (
    Action,
    AddAnchor,
    CellBlock,
    EditedLatents,
    MoveAnchor,
    PlaceImage,
    RemoveAnchor,
    Resample,
    SetAnchorReach,
    StyleAnchor,
    resample_blocks,
)
from .fusion import FusionStyleMap
from .limits import MAX_REACH, LimitError, check_number
from .scene import NOISE_MODES, Scene, load_scene, model_hash
from .tiles import tiles_covering

LEVELS = 4  # levels of detail the renderer keeps: 0 (1x) .. 3 (1/8x, the studio's widest zoom)


class TileStore(Protocol):
    """Where a pyramid render finds and keeps the finer tiles it is built from (the scheduler's
    cache); float32 [T, T, 3] in [-1, 1] or uint8 [T, T, 3]."""

    def get(self, tile: Tile) -> np.ndarray | None: ...

    def put(self, tile: Tile, image: np.ndarray) -> None: ...


def downsample_quad(children: list[np.ndarray]) -> np.ndarray:
    """Four tiles (row-major) -> their parent: each pixel the mean of a 2x2 block, float32 [-1, 1]."""
    quad = [c if c.dtype == np.float32 else c.astype(np.float32) / 127.5 - 1.0 for c in children]
    big = np.concatenate([np.concatenate(quad[:2], 1), np.concatenate(quad[2:], 1)], 0)  # [2T, 2T, 3]
    t = big.shape[0] // 2
    return big.reshape(t, 2, t, 2, 3).mean(axis=(1, 3), dtype=np.float32)


@dataclass(frozen=True)
class WorldState:
    """Everything a render reads, immutable: a worker thread renders from one snapshot while the
    UI thread applies the next edit."""

    latents: EditedLatents
    anchors: tuple[StyleAnchor, ...]
    edits: tuple[Resample | PlaceImage, ...]

    @property
    def edit_bytes(self) -> int:
        return sum(b.nbytes for b in self.latents.blocks)


@dataclass(frozen=True)
class HistoryEntry:
    action: Action
    state: WorldState  # the state after the action
    changed: frozenset[Tile]  # tiles whose pixels the action can change


class World:
    """Lazy latent fields of a scene + a model -> pixels of any world rectangle.

    Every pixel comes from the tile on the world grid that contains it, so a region is identical
    whichever request rendered it, and tiles can be rendered alone, in any order, in any batch."""

    def __init__(self, model: InfiniteGenerator, scene: Scene | None = None, tile_batch: int = 8):
        self.model = model
        scene = scene or Scene()
        self.tile_batch = max(1, int(tile_batch))
        self._base = replace(scene, edits=[], styles=[])
        self._initial = WorldState(EditedLatents(HashedLatents(scene.seed)), (), ())
        self._history: list[HistoryEntry] = []
        self._position = 0
        self._reaches: dict[int, dict[str, float]] = {}  # per level, see _reach
        for edit in scene.edits:
            self.apply(edit)
        for anchor in scene.styles:
            self.apply(AddAnchor(anchor.at, anchor.seed, anchor.pick, anchor.radius, anchor.blur))

    @classmethod
    def open(cls, path: str | Path, device: str = "cpu", tile_batch: int = 8) -> World:
        """Load a scene file and its model."""
        from ..models.registry import load_model

        scene = load_scene(path)
        return cls(load_model(scene.model, device=device), scene, tile_batch=tile_batch)

    # -- state ----------------------------------------------------------------------------------
    @property
    def state(self) -> WorldState:
        return self._history[self._position - 1].state if self._position else self._initial

    @property
    def scene(self) -> Scene:
        """The scene that reproduces the current canvas (what `save` writes)."""
        s = self.state
        return replace(self._base, edits=list(s.edits), styles=list(s.anchors))

    @property
    def anchors(self) -> tuple[StyleAnchor, ...]:
        return self.state.anchors

    @property
    def tile_size(self) -> int:
        return self.model.tile_size

    @property
    def revision(self) -> int:
        return self._position

    def latents(self) -> EditedLatents:
        return self.state.latents

    def settings(self, state: WorldState | None = None) -> RenderSettings:
        s = state or self.state
        style_map = FusionStyleMap(s.anchors, self._base.fusion) if s.anchors else None
        b = self._base
        return RenderSettings(truncation=b.truncation, noise_mode=b.noise_mode, style_map=style_map,
                              class_idx=b.class_idx, style_mix=b.style_mix, seed_offset=tuple(b.seed_offset),
                              scene_seed=b.seed)

    def with_settings(self, **knobs) -> World:
        """This world (same model, edits and undo history) under other scene-wide knobs: truncation,
        noise_mode, class_idx, style_mix, seed_offset. Every tile may change."""
        allowed = {"truncation", "noise_mode", "class_idx", "style_mix", "seed_offset"}
        if not set(knobs) <= allowed:
            raise UserError(f"not a scene-wide setting: {', '.join(sorted(set(knobs) - allowed))}")
        if knobs.get("noise_mode", NOISE_MODES[0]) not in NOISE_MODES:
            raise UserError(f"noise mode {knobs['noise_mode']!r}: use one of {', '.join(NOISE_MODES)}")
        world = copy.copy(self)  # shares the immutable states; the old world may still be rendering
        world._base = replace(self._base, **knobs)
        world._history = list(self._history)
        return world

    def save(self, path: str | Path) -> Path:
        scene = self.scene
        scene.model_hash = scene.model_hash or model_hash(scene.model)
        return scene.save(path)

    # -- editing --------------------------------------------------------------------------------
    @property
    def history(self) -> list[str]:
        return [e.action.describe() for e in self._history]

    @property
    def history_position(self) -> int:
        """Number of actions in effect (0 = the unedited scene)."""
        return self._position

    @property
    def can_undo(self) -> bool:
        return self._position > 0

    @property
    def can_redo(self) -> bool:
        return self._position < len(self._history)

    def apply(self, action: Action) -> set[Tile]:
        """Apply an action on top of the current state (dropping any redo tail); returns the tiles
        whose pixels it can change, exactly."""
        state = self.state
        if isinstance(action, Resample | PlaceImage):
            if isinstance(action, PlaceImage):
                blocks = action.blocks
                for b in blocks:
                    spec = self.model.fields.get(b.field)
                    if spec is None or b.values.shape[0] != spec.channels:
                        raise UserError(f"the placed image's cells were fitted for another model (field "
                                        f"{b.field[:20]!r}): place the image again on this model")
            else:
                blocks = resample_blocks(self.model, state.latents, action)
            new = replace(state, latents=state.latents.with_blocks(blocks), edits=state.edits + (action,))
            changed = self._tiles_reading_blocks(blocks)
        else:
            anchors = _apply_anchor_action(state.anchors, action)
            for a in anchors:  # an anchor's own reach must give a fusion map that fits in memory
                try:
                    self._base.fusion.of(a).check()
                except ValueError as e:
                    raise UserError(f"style anchor: {e}") from None
            new = replace(state, anchors=anchors)
            moved = set(state.anchors).symmetric_difference(anchors)
            changed = self._tiles_near_anchors(moved)
        del self._history[self._position:]
        self._history.append(HistoryEntry(action, new, frozenset(changed)))
        self._position += 1
        return set(changed)

    def undo(self) -> set[Tile]:
        return self.jump(self._position - 1) if self.can_undo else set()

    def redo(self) -> set[Tile]:
        return self.jump(self._position + 1) if self.can_redo else set()

    def jump(self, position: int) -> set[Tile]:
        """Move to any point of the history (0 = unedited); returns the tiles that change."""
        if not 0 <= position <= len(self._history):
            raise UserError(f"history position {position} is outside 0..{len(self._history)}")
        lo, hi = sorted((position, self._position))
        self._position = position
        return set().union(*(e.changed for e in self._history[lo:hi]))

    # -- invalidation ---------------------------------------------------------------------------
    def _candidate_tiles(self, x0: float, y0: float, x1: float, y1: float, reach: float,
                         level: int) -> list[Tile]:
        """Tiles of a level that could read anything in the world box, given how far footprints reach."""
        f = 1 << level
        rows = tiles_covering(self.tile_size, (x0 - reach) / f, (y0 - reach) / f, (x1 - x0 + 2 * reach) / f,
                              (y1 - y0 + 2 * reach) / f, level)
        return [t for row in rows for t in row]

    def _reach(self, level: int) -> dict[str, float]:
        """Per field (and "pixels" for style weights): how far (world px) beyond its own
        rectangle a tile's footprint reaches."""
        known = self._reaches.get(level)
        if known is not None:
            return known
        tile = Tile(0, 0, level)
        t, fp = self.tile_size << level, self.model.footprint(tile)
        reach = {}
        for name, cells in fp.items():
            spec = self.model.fields[name]
            (a0, a1), (b0, b1) = spec.area(cells.x0, cells.x1), spec.area(cells.y0, cells.y1)
            reach[name] = max(0, -a0, a1 - t, -b0, b1 - t)
        sx0, sy0, sx1, sy1 = self.model.style_footprint(tile)
        reach["pixels"] = math.ceil(max(0, -sx0, -sy0, sx1 - t, sy1 - t))
        self._reaches[level] = reach
        return reach

    def _every_level(self, changed_at: Callable[[int], set[Tile]]) -> set[Tile]:
        """Changed tiles of every level: exact (footprints) for the levels the model renders, the
        parents of the finer level's changes for the levels built by downsampling."""
        changed: set[Tile] = set()
        finer: set[Tile] = set()
        for level in range(LEVELS):
            finer = changed_at(level) if level < self.model.levels else {t.parent for t in finer}
            changed |= finer
        return changed

    def _tiles_reading_blocks(self, blocks: tuple[CellBlock, ...]) -> set[Tile]:
        def at(level: int) -> set[Tile]:
            changed: set[Tile] = set()
            for b in blocks:
                spec = self.model.fields[b.field]
                (x0, x1), (y0, y1) = spec.area(b.cells.x0, b.cells.x1), spec.area(b.cells.y0, b.cells.y1)
                reach = self._reach(level).get(b.field)
                if reach is None:
                    continue  # a field this level does not read (noise of layers it skips)
                for tile in self._candidate_tiles(x0, y0, x1, y1, reach, level):
                    cells: CellRange | None = self.model.footprint(tile).get(b.field)
                    if cells is not None and cells.intersects(b.cells):
                        changed.add(tile)
            return changed

        return self._every_level(at)

    def _tiles_near_anchors(self, anchors: set[StyleAnchor]) -> set[Tile]:
        def at(level: int) -> set[Tile]:
            changed: set[Tile] = set()
            for a in anchors:
                ax, ay = a.at
                r = self._base.fusion.of(a).reach()
                box = (ax - r, ay - r, ax + r, ay + r)
                for tile in self._candidate_tiles(*box, self._reach(level)["pixels"], level):
                    x0, y0, x1, y1 = self.model.style_footprint(tile)
                    if x0 < ax + r and ax - r < x1 and y0 < ay + r and ay - r < y1:
                        changed.add(tile)
            return changed

        return self._every_level(at)

    # -- rendering ------------------------------------------------------------------------------
    def render_tiles(self, tiles: list[Tile], store: TileStore | None = None) -> list[np.ndarray]:
        """Tiles (any levels) as float32 [T, T, 3] arrays in [-1, 1], rendered in batches of
        ``tile_batch`` from one snapshot of the state (safe while another thread applies edits).

        A level the model does not render itself is the 2x2 box downsampling of its four children,
        found in or added to ``store`` when one is given (so each is computed once)."""
        state = self.state
        latents, settings = state.latents, self.settings(state)
        out: dict[Tile, np.ndarray] = {}
        own = [t for t in tiles if t.level < self.model.levels]
        for level in sorted({t.level for t in own}):
            group = [t for t in own if t.level == level]
            for i in range(0, len(group), self.tile_batch):
                batch = group[i:i + self.tile_batch]
                imgs = self.model.render(batch, latents, settings)
                out.update(zip(batch, imgs.permute(0, 2, 3, 1).numpy(), strict=True))
        for tile in tiles:
            if tile.level >= self.model.levels:
                out[tile] = downsample_quad(self._children(tile, store))
        return [out[t] for t in tiles]

    def _children(self, tile: Tile, store: TileStore | None) -> list[np.ndarray]:
        children = list(tile.children)
        found = [store.get(c) if store is not None else None for c in children]
        missing = [c for c, img in zip(children, found, strict=True) if img is None]
        made = dict(zip(missing, self.render_tiles(missing, store), strict=True)) if missing else {}
        if store is not None:
            for c, img in made.items():
                store.put(c, img)
        return [made[c] if img is None else img for c, img in zip(children, found, strict=True)]

    def iter_pieces(self, x: int, y: int, width: int, height: int,
                    progress: Callable[[int], None] | None = None, level: int = 0
                    ) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield (out_x, out_y, piece) crops of tiles, row by row, covering the rectangle once.

        At ``level`` k the rectangle is in that level's pixels: (x, y) is the world corner / 2^k,
        and each output pixel the mean of 2^k x 2^k world pixels. Memory stays bounded by one batch
        of tiles whatever the rectangle's size."""
        if width <= 0 or height <= 0:
            raise UserError(f"size must be positive, got {width}x{height}")
        t = self.tile_size
        for row in tiles_covering(t, x, y, width, height, level):
            for i in range(0, len(row), self.tile_batch):
                batch = row[i:i + self.tile_batch]
                for tile, img in zip(batch, self.render_tiles(batch), strict=True):
                    tx, ty = tile.ix * t, tile.iy * t
                    x0, y0 = max(x, tx), max(y, ty)
                    x1, y1 = min(x + width, tx + t), min(y + height, ty + t)
                    yield x0 - x, y0 - y, img[y0 - ty:y1 - ty, x0 - tx:x1 - tx]
                if progress:
                    progress(len(batch))

    def render(self, x: int, y: int, width: int, height: int, level: int = 0) -> np.ndarray:
        """The rectangle as float32 [height, width, 3] in [-1, 1] (at a level: see iter_pieces)."""
        out = np.empty((height, width, 3), np.float32)
        for ox, oy, piece in self.iter_pieces(x, y, width, height, level=level):
            out[oy:oy + piece.shape[0], ox:ox + piece.shape[1]] = piece
        return out

    def tile_count(self, x: int, y: int, width: int, height: int, level: int = 0) -> int:
        return sum(len(r) for r in tiles_covering(self.tile_size, x, y, width, height, level))


def _apply_anchor_action(anchors: tuple[StyleAnchor, ...], action: Action) -> tuple[StyleAnchor, ...]:
    for point in (getattr(action, "at", None), getattr(action, "to", None), getattr(action, "pick", None)):
        if point is not None:
            try:
                [check_number(v, "style anchor position") for v in point]
            except LimitError as e:
                raise UserError(str(e)) from None
    if isinstance(action, AddAnchor):
        if (action.seed is None) == (action.pick is None):
            raise UserError("a style anchor needs exactly one of a seed or a pick point")
        return anchors + (StyleAnchor(tuple(action.at), action.seed,
                                      None if action.pick is None else tuple(action.pick),
                                      _reach_px(action.radius, "radius"), _reach_px(action.blur, "blur")),)
    if not 0 <= action.index < len(anchors):
        raise UserError(f"no style anchor {action.index} (there are {len(anchors)})")
    if isinstance(action, MoveAnchor):
        moved = replace(anchors[action.index], at=tuple(action.to))
        return anchors[:action.index] + (moved,) + anchors[action.index + 1:]
    if isinstance(action, SetAnchorReach):
        own = replace(anchors[action.index], radius=_reach_px(action.radius, "radius"),
                      blur=_reach_px(action.blur, "blur"))
        return anchors[:action.index] + (own,) + anchors[action.index + 1:]
    if isinstance(action, RemoveAnchor):
        return anchors[:action.index] + anchors[action.index + 1:]
    raise UserError(f"unknown action {action!r}")


def _reach_px(value, what: str) -> int | None:
    """An anchor's own radius or blur: None (the scene's), or whole world px from 0 to 2^20."""
    if value is None:
        return None
    if not isinstance(value, int | float) or not 0 <= value <= MAX_REACH or value != value:
        raise UserError(f"style anchor {what} {str(value)[:24]}: give whole world px from 0 to {MAX_REACH}")
    return int(value)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """[-1, 1] floats -> uint8 (round to nearest)."""
    return np.clip(np.rint((img + 1.0) * 127.5), 0, 255).astype(np.uint8)
