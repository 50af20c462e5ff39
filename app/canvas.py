"""The infinite canvas: view input (drag, wheel, keys), tile textures from the scheduler, drawing.

The canvas never renders: it tells the TileScheduler what is visible and uploads tiles the
scheduler has finished, a few per frame, so the UI thread never waits for torch.

Levels of detail: zoomed out to 1/2^k the view wants tiles of level k (each T px covering
T * 2^k world px), so a view costs about the same number of tiles at every zoom. A tile not there
yet is drawn from what exists, coarse first: its nearest coarser ancestor (the scheduler renders
the coarsest level over the view first), then any finer children on top, else the mosaic."""

from __future__ import annotations

import math
import time

from imgui_bundle import imgui

from infiniscape.models.contract import Tile
from infiniscape.renderer.tiles import tile_of, tile_span
from infiniscape.renderer.world import LEVELS

from .gl_textures import TexturePool
from .mosaic import Mosaic
from .view_transform import ViewTransform

COL = imgui.IM_COL32
BACKGROUND = COL(30, 30, 34, 255)
PLACEHOLDER = COL(56, 57, 62, 255)  # a tile not generated yet: neutral, never stale GPU memory
GRID = COL(255, 255, 255, 60)
KEY_PAN_SPEED = 900.0  # screen px per second for arrow / WASD panning
PAN_KEYS = {  # key -> direction the content moves when the view pans that way
    imgui.Key.left_arrow: (1, 0), imgui.Key.a: (1, 0),
    imgui.Key.right_arrow: (-1, 0), imgui.Key.d: (-1, 0),
    imgui.Key.up_arrow: (0, 1), imgui.Key.w: (0, 1),
    imgui.Key.down_arrow: (0, -1), imgui.Key.s: (0, -1),
}


class Canvas:
    """Pan/zoom view over world tiles, drawn into the current imgui window."""

    def __init__(self, scheduler, tile_size: int, pool: TexturePool,
                 max_uploads: int = 8, upload_budget_ms: float = 2.5):
        self.scheduler = scheduler
        self.tile_size = tile_size
        self.pool = pool
        pool.set_tile_size(tile_size)
        self.mosaic = Mosaic(tile_size, pool.gl)
        self.view = ViewTransform()
        self.max_uploads = max_uploads
        self.upload_budget_ms = upload_budget_ms
        self.upload_ms = 0.0  # running estimate of one tile's upload, so a frame stops before the budget
        self.show_grid = False
        self.origin = (0.0, 0.0)
        self.size = (1.0, 1.0)
        self.hover_world: tuple[float, float] | None = None
        self.level = 0  # level of detail of the visible tiles
        self.visible: list[Tile] = []  # nearest to the view centre first
        self._visible_set: set[Tile] = set()
        self._shown: set[Tile] = set()  # visible tiles and the coarse ones drawn under them
        self._want: list[Tile] = []  # visible tiles that may be ready in the scheduler's cache
        self._view_key = None
        self._sent = None  # (view key, motion direction) last given to the scheduler
        self._last_centre: tuple[float, float, float, float] | None = None  # (cx, cy, zoom, time)
        self.velocity = (0.0, 0.0)  # world px / s, smoothed
        self.frame_uploads = 0
        self.moved = False  # the view moved this frame (drag, wheel, keys, go-to)
        self.backlog = False  # the upload budget ran out with tiles still waiting
        self.holes = 0  # visible tiles drawn as plain grey last frame (nothing coarser to show)
        self.user_moved = False  # the user has dragged, wheeled or key-panned the view (ever)
        self._grab: tuple[int, tuple[float, float]] | None = None  # (button, world point) being dragged

    def set_source(self, scheduler, tile_size: int) -> None:
        """A new world (model or scene): drop every texture; the view stays where it was."""
        self.pool.set_tile_size(tile_size)
        self.mosaic.clear()
        self.mosaic = Mosaic(tile_size, self.pool.gl)
        self.scheduler, self.tile_size = scheduler, tile_size
        self._view_key = self._sent = None

    def clear(self) -> None:
        """Free every texture (the studio is closing)."""
        self.pool.clear()
        self.mosaic.clear()

    def invalidate(self, tiles) -> None:
        """Tiles an edit changed: keep drawing the old texture until the new tile arrives."""
        self.pool.mark_stale(tiles)
        self.mosaic.mark_stale(tiles)

    def invalidate_all(self) -> None:
        """Every tile changed (a scene-wide setting): old textures stay on screen until replaced."""
        self.pool.mark_stale(list(self.pool.entries))
        self.mosaic.mark_all_stale()
        self._view_key = None  # re-plan: visible tiles are wanted again

    # -- per frame -----------------------------------------------------------------------------

    def __call__(self, origin, size, tools=None) -> None:
        """Handle input, feed the scheduler, upload finished tiles, draw. Call inside a window."""
        self.origin, self.size = (float(origin[0]), float(origin[1])), (float(size[0]), float(size[1]))
        imgui.set_cursor_screen_pos(imgui.ImVec2(*self.origin))
        flags = (imgui.ButtonFlags_.mouse_button_left | imgui.ButtonFlags_.mouse_button_right
                 | imgui.ButtonFlags_.mouse_button_middle)
        imgui.invisible_button("##canvas", imgui.ImVec2(*self.size), flags)
        self._input(tools)
        self._feed_scheduler()
        self._upload()
        self._draw(tools)

    def _input(self, tools) -> None:
        io = imgui.get_io()
        hovered, active = imgui.is_item_hovered(), imgui.is_item_active()
        mouse = io.mouse_pos
        self.hover_world = self.view.to_world(mouse.x, mouse.y, self.origin) if hovered else None
        used_left = tools.handle(self, hovered, active) if tools is not None else False
        self._drag(active, used_left)
        if hovered and io.mouse_wheel:
            self.view.wheel(io.mouse_wheel, mouse.x, mouse.y, self.origin)
            self.user_moved = True
        if not io.want_text_input and not io.key_ctrl:
            step = KEY_PAN_SPEED * io.delta_time
            for key, (dx, dy) in PAN_KEYS.items():
                if imgui.is_key_down(key):
                    self.view.pan_screen(dx * step, dy * step)
                    self.user_moved = True

    def _drag(self, active: bool, used_left: bool) -> None:
        """Pan by holding the world point grabbed at the press under the cursor: the content follows
        the mouse 1:1 at every zoom, whatever frames or mouse events come late or merged."""
        io = imgui.get_io()
        button = next((b for b in (0, 1, 2) if io.mouse_down[b] and (b or not used_left)), None) \
            if active else None
        if button is None:
            self._grab = None
            return
        if self._grab is None or self._grab[0] != button:  # the press: where it was, not where it is
            d = imgui.get_mouse_drag_delta(button, 0.0)
            self._grab = (button, self.view.to_world(io.mouse_pos.x - d.x, io.mouse_pos.y - d.y, self.origin))
        wx, wy = self._grab[1]
        x = wx - (io.mouse_pos.x - self.origin[0]) / self.view.zoom
        y = wy - (io.mouse_pos.y - self.origin[1]) / self.view.zoom
        if (x, y) != (self.view.x, self.view.y):
            self.view.x, self.view.y = x, y
            self.user_moved = True

    def _feed_scheduler(self) -> None:
        v, t = self.view, self.tile_size
        x0, y0, x1, y1 = v.world_rect(self.size)
        now = time.perf_counter()
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        if self._last_centre is not None:
            px, py, _, pt = self._last_centre
            dt = max(now - pt, 1e-3)
            a = min(1.0, dt * 8)  # ~125 ms smoothing so one jittery frame does not steer prefetch
            self.velocity = (self.velocity[0] + a * ((cx - px) / dt - self.velocity[0]),
                             self.velocity[1] + a * ((cy - py) / dt - self.velocity[1]))
        self.moved = self._last_centre is None or (cx, cy, v.zoom) != self._last_centre[:3]
        self._last_centre = (cx, cy, v.zoom, now)
        level = v.lod()
        ts = t << level
        cols, rows = tile_span(x0, x1, ts), tile_span(y0, y1, ts)
        key = (cols, rows, level)
        if key != self._view_key:  # the visible tile set changed: re-sort, look for cached tiles
            self._view_key, self.level = key, level
            tc = (cx / ts - 0.5, cy / ts - 0.5)
            tiles = [Tile(ix, iy, level) for iy in rows for ix in cols]
            tiles.sort(key=lambda tl: (tl.ix - tc[0]) ** 2 + (tl.iy - tc[1]) ** 2)
            self.visible, self._visible_set = tiles, set(tiles)
            coarse = {_ancestor(tl, LEVELS - 1) for tl in tiles} if level < LEVELS - 1 else set()
            self._shown = self._visible_set | coarse
            self._want = [tl for tl in sorted(coarse) + tiles if self._needs(tl)]
        # set_view re-plans the whole queue (ms of Python holding the scheduler's lock), so call it
        # only when the wanted set can change: other tiles in view, or another direction of motion
        lead = tuple(0 if abs(c) < 20 else (1 if c > 0 else -1) for c in self.velocity)
        if (key, lead) != self._sent:
            self._sent = (key, lead)
            self.scheduler.set_view(x0, y0, x1, y1, velocity=self.velocity, level=level)
        done = [tl for tl in self.scheduler.poll() if tl in self._shown]
        if done:
            self._want = done + self._want

    def _needs(self, tile: Tile) -> bool:
        e = self.pool.get(tile)
        return e is None or e.stale

    def _upload(self) -> None:
        """At most ``max_uploads`` tiles per frame, coarse placeholders and then the nearest tiles
        first, and no more than fit in ``upload_budget_ms`` by the running cost estimate (always one)."""
        start, n = time.perf_counter(), 0
        keep: list[Tile] = []
        self.backlog = False
        while self._want:
            spent = (time.perf_counter() - start) * 1e3
            if n >= self.max_uploads or (n and spent + self.upload_ms > self.upload_budget_ms):
                self.backlog = True  # the rest go up in the next frames: none spends long on uploads
                break
            tile = self._want.pop(0)
            if tile not in self._shown or not self._needs(tile):
                continue
            if self.pool.get(tile) is None and self.pool.full() and not self._make_room():
                keep.append(tile)  # every texture is on screen: this tile waits
                break
            rgb = self.scheduler.tile(tile)
            if rgb is None:
                continue  # not rendered yet (or evicted): poll() will report it
            t0 = time.perf_counter()
            self.pool.upload(tile, rgb)
            self.mosaic.add(tile, rgb)
            self.upload_ms += 0.2 * ((time.perf_counter() - t0) * 1e3 - self.upload_ms)
            n += 1
        self._want = keep + self._want
        self.frame_uploads = n
        # mosaic blocks go up only where they are drawn: under tiles with nothing else to show
        missing = {Mosaic.block_of(_ancestor(tl, 0) if tl.level else tl)[0] for tl in self.visible
                   if self._stand_in(tl) is None}
        self.mosaic.upload(list(missing))

    def _make_room(self) -> bool:
        t = self.tile_size
        v = self.view
        cx, cy = v.x + self.size[0] / 2 / v.zoom, v.y + self.size[1] / 2 / v.zoom

        def distance(tl: Tile) -> float:
            s = t << tl.level
            return ((tl.ix + 0.5) * s - cx) ** 2 + ((tl.iy + 0.5) * s - cy) ** 2

        return self.pool.evict(self._shown, distance, max(1, self.pool.max_textures // 16)) > 0

    def _stand_in(self, tile: Tile) -> tuple[Tile, object] | None:
        """The nearest coarser tile with a texture, to draw where ``tile`` has none yet."""
        for level in range(tile.level + 1, LEVELS):
            anc = _ancestor(tile, level)
            entry = self.pool.get(anc)
            if entry is not None:
                return anc, entry
        return None

    def _draw(self, tools) -> None:
        dl = imgui.get_window_draw_list()
        o, s = self.origin, self.size
        dl.push_clip_rect(imgui.ImVec2(*o), imgui.ImVec2(o[0] + s[0], o[1] + s[1]), True)
        dl.add_rect_filled(imgui.ImVec2(*o), imgui.ImVec2(o[0] + s[0], o[1] + s[1]), BACKGROUND)
        t, v = self.tile_size, self.view
        # (texture, a, b, uv0, uv1) per layer: stand-ins under tiles, finer children over them
        under, images, over, holes = [], [], [], []
        for tile in self.visible:
            a, b = self._screen_box(tile)
            entry = self.pool.get(tile)
            if entry is not None:
                images.append((entry.tex_id, a, b, entry.slot.uv0, entry.slot.uv1))
                if not entry.stale:
                    continue
            elif (coarse := self._stand_in(tile)) is not None:
                under.append((coarse[1].tex_id, a, b, *_sub_uv(coarse[1].slot, coarse[0], tile)))
            elif (block := self.mosaic.tile_uv(tile)) is not None:
                under.append((block[0], a, b, block[1], block[2]))
            else:
                holes.append((a, b))
            for child in tile.children if tile.level else ():  # zooming out: finer tiles we have
                e = self.pool.get(child)
                if e is not None and not e.stale:
                    over.append((e.tex_id, *self._screen_box(child), e.slot.uv0, e.slot.uv1))
        self.holes = len(holes)
        for a, b in holes:
            dl.add_rect_filled(a, b, PLACEHOLDER)
        for layer in (under, images, over):
            layer.sort(key=lambda im: im[0])  # grouped by texture: one draw call each
            for tex, a, b, uv0, uv1 in layer:
                dl.add_image(imgui.ImTextureRef(tex), a, b, imgui.ImVec2(*uv0), imgui.ImVec2(*uv1))
        if self.show_grid:
            for tile in self.visible:
                dl.add_rect(*self._screen_box(tile), GRID)
        if tools is not None:
            tools.draw(self, dl)
        if self.hover_world is not None:
            wx, wy = self.hover_world
            text = (f"({math.floor(wx)}, {math.floor(wy)})  tile ({tile_of(wx, t)}, {tile_of(wy, t)})"
                    f"  zoom {v.zoom:.3g}x  level {self.level}")
            pos = imgui.ImVec2(o[0] + 8, o[1] + s[1] - imgui.get_text_line_height() - 6)
            dl.add_rect_filled(imgui.ImVec2(pos.x - 4, pos.y - 2),
                               imgui.ImVec2(pos.x + imgui.calc_text_size(text).x + 4,
                                            pos.y + imgui.get_text_line_height() + 2), COL(0, 0, 0, 160))
            dl.add_text(pos, COL(255, 255, 255, 255), text)
        dl.pop_clip_rect()

    def _screen_box(self, tile: Tile) -> tuple[imgui.ImVec2, imgui.ImVec2]:
        """Screen corners of a tile, on whole pixels so neighbours meet without a hairline gap."""
        t, o = self.tile_size << tile.level, self.origin
        p0 = self.view.to_screen(tile.ix * t, tile.iy * t, o)
        p1 = self.view.to_screen((tile.ix + 1) * t, (tile.iy + 1) * t, o)
        return imgui.ImVec2(round(p0[0]), round(p0[1])), imgui.ImVec2(round(p1[0]), round(p1[1]))

    def complete(self) -> bool:
        """Every visible tile has an up-to-date texture (scripted screenshots wait for this)."""
        return all(not self._needs(tl) for tl in self.visible)


def _ancestor(tile: Tile, level: int) -> Tile:
    """The tile of ``level`` (coarser or finer: 0 gives the first level-0 tile inside) at this place."""
    d = level - tile.level
    if d >= 0:
        return Tile(tile.ix >> d, tile.iy >> d, level)
    return Tile(tile.ix << -d, tile.iy << -d, level)


def _sub_uv(slot, coarse: Tile, tile: Tile) -> tuple[tuple[float, float], tuple[float, float]]:
    """uv corners of the part of ``coarse``'s texture that covers the finer ``tile``."""
    n = 1 << (coarse.level - tile.level)
    i, j = tile.ix - coarse.ix * n, tile.iy - coarse.iy * n
    (u0, v0), (u1, v1) = slot.uv0, slot.uv1
    du, dv = (u1 - u0) / n, (v1 - v0) / n
    return (u0 + i * du, v0 + j * dv), (u0 + (i + 1) * du, v0 + (j + 1) * dv)
