"""TileScheduler: one background worker renders the tiles the view wants; the UI thread never waits.

The UI thread calls ``set_view`` every frame, uploads what ``poll`` returns and reads pixels with
``tile``; all three only take a lock the worker holds for bookkeeping, never while rendering.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from heapq import heappop, heappush

import numpy as np

from ..models.contract import Tile
from ..models.errors import describe_error
from .tile_cache import TileCache
from .tiles import tile_span
from .world import LEVELS, to_uint8

MOVING_PX_S = 1.0  # slower than this the view counts as still: no side of the ring leads
LEADING_AXIS = 0.3  # an axis leads when it carries at least this share of the speed


@dataclass(frozen=True)
class _Request:
    rank: int  # position in the wanted order: lower renders first
    seq: int  # tells a live heap entry from one superseded by a later push
    gen: int  # generation of the tile when requested: results of older generations are dropped
    t_req: float  # perf_counter() at the first request, for request-to-ready latency


def plan_view(x0: float, y0: float, x1: float, y1: float, tile_size: int,
              velocity: tuple[float, float] = (0.0, 0.0), prefetch: int = 1,
              level: int = 0) -> tuple[list[Tile], int]:
    """Wanted tiles of a level in render order and how many of them are visible.

    Visible tiles come first, nearest to the view centre first. Then a ring ``prefetch`` tiles deep
    around the view, twice as deep on the leading side(s) of the motion; tiles beyond the leading
    edge come before the others, each group nearest ring first. The view is in world px."""
    ts = tile_size << level
    cols, rows = tile_span(x0, x1, ts), tile_span(y0, y1, ts)
    if not cols or not rows:
        return [], 0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2

    def centre_dist(t: Tile) -> float:
        return math.hypot((t.ix + 0.5) * ts - cx, (t.iy + 0.5) * ts - cy)

    visible = sorted((Tile(ix, iy, level) for iy in rows for ix in cols),
                     key=lambda t: (centre_dist(t), t.iy, t.ix))
    p = max(0, int(prefetch))
    if p == 0:
        return visible, len(visible)
    vx, vy = velocity
    speed = math.hypot(vx, vy)
    # Leading direction per axis: +1 / -1 when the view moves that way, 0 otherwise.
    lead = [0, 0]
    if speed > MOVING_PX_S:
        lead = [int(math.copysign(1, v)) if abs(v) >= LEADING_AXIS * speed else 0 for v in (vx, vy)]
    pad = [(p * (2 if d < 0 else 1), p * (2 if d > 0 else 1)) for d in lead]  # (before, after) per axis
    lo_x, hi_x = cols.start - pad[0][0], cols.stop - 1 + pad[0][1]
    lo_y, hi_y = rows.start - pad[1][0], rows.stop - 1 + pad[1][1]

    def key(t: Tile) -> tuple:
        out_x = (cols.start - t.ix) if t.ix < cols.start else max(0, t.ix - (cols.stop - 1))
        out_y = (rows.start - t.iy) if t.iy < rows.start else max(0, t.iy - (rows.stop - 1))
        ahead = ((lead[0] > 0 and t.ix >= cols.stop) or (lead[0] < 0 and t.ix < cols.start)
                 or (lead[1] > 0 and t.iy >= rows.stop) or (lead[1] < 0 and t.iy < rows.start))
        return (not ahead, max(out_x, out_y), centre_dist(t), t.iy, t.ix)

    ring = [Tile(ix, iy, level) for iy in range(lo_y, hi_y + 1) for ix in range(lo_x, hi_x + 1)
            if not (ix in cols and iy in rows)]
    return visible + sorted(ring, key=key), len(visible)


PREVIEW_GAIN = 8  # a preview pays when the view needs this many times as many tiles of its own
COUNTS_KEPT = 1 << 16  # render_counts keeps the tiles rendered most recently, this many


def preview_tiles(x0: float, y0: float, x1: float, y1: float, tile_size: int, level: int) -> list[Tile]:
    """The coarsest level's tiles over the view, rendered before a finer level's: a handful of tiles
    that cover the whole view at 1/8 resolution at once (the coarse placeholder), so the canvas is
    never grey for long while the view's own level fills in. None when the view is that level, or
    needs so few tiles of its own that the preview would delay it more than it shows (zoomed in)."""
    if level >= LEVELS - 1:
        return []
    preview = plan_view(x0, y0, x1, y1, tile_size, prefetch=0, level=LEVELS - 1)[0]
    own = plan_view(x0, y0, x1, y1, tile_size, prefetch=0, level=level)[1]
    return preview if own >= PREVIEW_GAIN * len(preview) else []


def _percentile(values, q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def _run_in_background() -> None:
    """Lower the calling thread (Linux schedules threads individually): SCHED_IDLE runs it only on a
    core nothing else wants, so the UI thread and a software GL rasteriser are never preempted by
    torch (a nice value alone still lost them whole timeslices: frame-time p95 1.5x idle on 2 cores).
    Where SCHED_IDLE is refused, nice 19; on other systems the thread keeps its priority."""
    if not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        try:
            os.setpriority(os.PRIO_PROCESS, tid, 19)
        except OSError:
            pass


class _CacheStore:
    """The scheduler's cache as the TileStore of a pyramid render: the finer tiles a level is built
    from are looked up at their current generation and kept, so each is computed once."""

    def __init__(self, scheduler: TileScheduler, world):
        self.scheduler = scheduler
        self.edits = scheduler.invalidations  # the scene the batch renders from

    def get(self, tile: Tile) -> np.ndarray | None:
        return self.scheduler.tile(tile)

    def put(self, tile: Tile, image: np.ndarray) -> None:
        s = self.scheduler
        with s._cv:
            if s.invalidations == self.edits:  # after an edit the tile may be stale: not kept
                s.cache.put((s._gen.get(tile, 0), tile), to_uint8(image))


class TileScheduler:
    """Renders wanted tiles of a ``World`` on one worker thread into a byte-bounded ``TileCache``.

    ``batch`` tiles at most go to one ``world.render_tiles`` call; ``prefetch`` is the depth in tiles
    of the ring rendered around the view (doubled ahead of the motion)."""

    def __init__(self, world, cache_bytes: int = 512 << 20, batch: int = 4, prefetch: int = 1,
                 window: int = 256, background: bool = False,
                 on_ready: Callable[[], None] | None = None, preview: bool = False):
        self.background = background  # the worker runs only on cores the UI and GL leave idle
        self.preview = preview  # the coarsest level over the view first (the studio's placeholder)
        self.on_ready = on_ready  # called on the worker thread when finished tiles wait for poll()
        self.cache = TileCache(cache_bytes)
        self.batch = max(1, int(batch))
        self.prefetch = max(0, int(prefetch))
        self._world = world
        self._tile_size = world.tile_size
        self._cv = threading.Condition()
        self._closed = False
        self._last_view: tuple | None = None
        self._seq = itertools.count()
        self._gen: dict[Tile, int] = {}  # absent = generation 0; bumped by invalidate
        self._wanted: dict[Tile, int] = {}  # tile -> rank in the current view's order
        self._pending: dict[Tile, _Request] = {}
        self._heap: list[tuple[int, int, Tile]] = []  # (rank, seq, tile); stale entries skipped
        self._inflight: dict[Tile, int] = {}  # tile -> generation being rendered
        self._failed: dict[Tile, int] = {}  # not retried at this generation: a world error repeats
        self._ready: deque[Tile] = deque()  # appended by the worker, popped by poll (thread-safe)
        self._counts: OrderedDict[Tile, int] = OrderedDict()  # most recently rendered last
        self._latency: deque[float] = deque(maxlen=window)
        self._batches: deque[tuple[int, float]] = deque(maxlen=32)  # (tiles, seconds)
        self.rendered = self.cancelled = self.stale = self.errors = 0
        self.invalidations = 0  # calls of invalidate: scene changes since the scheduler started
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="tile-scheduler", daemon=True)
        self._thread.start()

    # -- UI thread ------------------------------------------------------------------------------
    @property
    def world(self):
        return self._world

    @property
    def tile_size(self) -> int:
        return self._tile_size

    def set_view(self, x0: float, y0: float, x1: float, y1: float,
                 velocity: tuple[float, float] = (0.0, 0.0), level: int = 0) -> None:
        """The world rectangle visible now, its motion in world px/s and the level of detail it is
        drawn at; cancels tiles no longer wanted. With ``preview`` the coarsest level's tiles over
        the view come first (see preview_tiles)."""
        view = (x0, y0, x1, y1, tuple(velocity), level)
        if view == self._last_view:
            return  # the frame loop repeats a still view every frame: the queue is already right
        order, _ = plan_view(x0, y0, x1, y1, self._tile_size, velocity, self.prefetch, level)
        if self.preview:
            order = preview_tiles(x0, y0, x1, y1, self._tile_size, level) + order
        now = time.perf_counter()
        with self._cv:
            if self._closed:
                return
            gens = [self._gen.get(t, 0) for t in order]
            cached = self.cache.present(zip(gens, order, strict=True))
            pending: dict[Tile, _Request] = {}
            for rank, (t, gen) in enumerate(zip(order, gens, strict=True)):
                if self._inflight.get(t) == gen or self._failed.get(t) == gen or (gen, t) in cached:
                    continue
                old = self._pending.get(t)
                t_req = old.t_req if old is not None and old.gen == gen else now
                pending[t] = _Request(rank, next(self._seq), gen, t_req)
            self.cancelled += sum(1 for t in self._pending if t not in pending)
            self._pending = pending
            # Built in rank order, so the list is already a heap.
            self._heap = [(r.rank, r.seq, t) for t, r in pending.items()]
            self._wanted = {t: rank for rank, t in enumerate(order)}
            self._last_view = view
            self._cv.notify_all()

    def tile(self, tile: Tile) -> np.ndarray | None:
        """The tile's pixels as uint8 [T, T, 3] if rendered at its current generation, else None."""
        with self._cv:
            gen = self._gen.get(tile, 0)
        return self.cache.get((gen, tile))

    def poll(self, max_tiles: int | None = None) -> list[Tile]:
        """Tiles finished since the last poll (oldest first), for texture upload; never blocks."""
        out: list[Tile] = []
        while self._ready and (max_tiles is None or len(out) < max_tiles):
            try:
                out.append(self._ready.popleft())
            except IndexError:
                break
        return out

    def invalidate(self, tiles, world=None) -> None:
        """The scene changed under ``tiles``: drop them, discard renders in progress for them and
        render them again if wanted. With ``world``, later batches render from that world."""
        with self._cv:
            self.invalidations += 1
            if world is not None:
                if world.tile_size != self._tile_size:
                    raise ValueError(f"new world has {world.tile_size} px tiles, this scheduler renders "
                                     f"{self._tile_size} px: create a new TileScheduler")
                self._world = world
                self._failed.clear()  # a new world may not fail where the old one did ...
                self._last_view = None  # ... so the next set_view asks for those tiles again
            now = time.perf_counter()
            for t in set(tiles):
                old = self._gen.get(t, 0)
                self._gen[t] = gen = old + 1
                self.cache.discard([(old, t)])
                self._failed.pop(t, None)
                rank = self._wanted.get(t)
                if rank is not None:
                    r = _Request(rank, next(self._seq), gen, now)
                    self._pending[t] = r
                    heappush(self._heap, (r.rank, r.seq, t))
            self._cv.notify_all()

    def invalidate_all(self, world=None) -> None:
        """Every tile changed (a scene-wide setting such as truncation): all cached, queued and rendering
        tiles are redone, from ``world`` when given."""
        with self._cv:
            tiles = {t for _, t in self.cache.keys()} | set(self._wanted) | set(self._pending) \
                | set(self._inflight)
        self.invalidate(tiles, world)

    def wanted(self) -> list[Tile]:
        """The current view's tiles in render order (visible first, then the prefetch ring)."""
        with self._cv:
            return sorted(self._wanted, key=self._wanted.__getitem__)

    def render_counts(self) -> dict[Tile, int]:
        """How many times each tile was rendered (including renders discarded as stale), for the
        COUNTS_KEPT most recently rendered tiles."""
        with self._cv:
            return dict(self._counts)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is pending or rendering (tests, benchmarks, export; not the UI)."""
        with self._cv:
            return self._cv.wait_for(lambda: self._closed or not (self._pending or self._inflight), timeout)

    def stats(self) -> dict:
        """Queue, throughput, latency, errors and cache figures for the Performance panel."""
        with self._cv:
            n = sum(k for k, _ in self._batches)
            busy = sum(s for _, s in self._batches)
            p50, p95 = _percentile(self._latency, 50), _percentile(self._latency, 95)
            bms = _percentile([s for _, s in self._batches], 50)
            out = {
                "queue": len(self._pending), "rendering": len(self._inflight), "rendered": self.rendered,
                "cancelled": self.cancelled, "stale": self.stale, "errors": self.errors,
                "last_error": self.last_error,
                "tiles_per_s": n / busy if busy > 0 else 0.0,  # while rendering, last 32 batches
                "latency_p50_ms": None if p50 is None else p50 * 1e3,
                "latency_p95_ms": None if p95 is None else p95 * 1e3,
                "batch_ms_p50": None if bms is None else bms * 1e3,
                "batch": self.batch,
                "device": str(getattr(getattr(self._world, "model", None), "device", "cpu")),
            }
        out.update(self.cache.stats())
        return out

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop the worker; a batch in progress finishes first (torch cannot be interrupted)."""
        with self._cv:
            self._closed = True
            self._pending.clear()
            self._heap.clear()
            self._cv.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> TileScheduler:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- worker thread --------------------------------------------------------------------------
    def _take(self) -> tuple[object, list[tuple[Tile, _Request]]] | None:
        with self._cv:
            while True:
                self._cv.wait_for(lambda: self._closed or self._heap)
                if self._closed:
                    return None
                batch = []
                while self._heap and len(batch) < self.batch:
                    _, seq, t = heappop(self._heap)
                    r = self._pending.get(t)
                    if r is None or r.seq != seq:
                        continue  # superseded by a later request or cancelled
                    del self._pending[t]
                    self._inflight[t] = r.gen
                    batch.append((t, r))
                if batch:
                    return self._world, batch  # world read once per batch: a swap applies next batch

    def _render(self, world, tiles: list[Tile]) -> list[np.ndarray | str]:
        """uint8 images, or a one-line error per tile that failed."""
        try:
            imgs = world.render_tiles(tiles, _CacheStore(self, world))
            if len(imgs) != len(tiles):
                raise RuntimeError(f"world rendered {len(imgs)} images for {len(tiles)} tiles")
            return [to_uint8(img) for img in imgs]
        except Exception as e:
            if len(tiles) == 1:
                return [f"tile ({tiles[0].ix}, {tiles[0].iy}): {describe_error(e, limit=240)}"]
        # One bad tile must not cost its batch-mates: retry them one by one.
        return [r for t in tiles for r in self._render(world, [t])]

    def _run(self) -> None:
        if self.background:
            _run_in_background()
        while (job := self._take()) is not None:
            world, batch = job
            t0 = time.perf_counter()
            results = self._render(world, [t for t, _ in batch])
            t1 = time.perf_counter()
            with self._cv:
                ok = 0
                for (t, r), img in zip(batch, results, strict=True):
                    self._inflight.pop(t, None)
                    if isinstance(img, str):
                        self.errors += 1
                        self.last_error = img
                        self._failed[t] = r.gen
                        continue
                    ok += 1
                    self._counts[t] = self._counts.pop(t, 0) + 1
                    if len(self._counts) > COUNTS_KEPT:  # a long session renders without end
                        self._counts.popitem(last=False)
                    self.rendered += 1
                    if r.gen != self._gen.get(t, 0):
                        self.stale += 1  # rendered from the scene before an edit: never shown
                        continue
                    # Kept even if the view moved away meanwhile: it is paid for and may be wanted again.
                    self.cache.put((r.gen, t), img)
                    self._ready.append(t)
                    self._latency.append(t1 - r.t_req)
                if ok:
                    self._batches.append((ok, t1 - t0))
                self._cv.notify_all()
                wake = self.on_ready if self._ready and not self._closed else None
            if wake is not None:
                try:  # e.g. wakes a window that sleeps until something changes
                    wake()
                except Exception as e:
                    self.last_error = f"on_ready: {describe_error(e, limit=240)}"
