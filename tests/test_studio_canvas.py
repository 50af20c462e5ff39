"""Canvas textures and the coarse mosaic, the overview map, long use and the Capture panel, headless."""

from __future__ import annotations

import tracemalloc
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("imgui_bundle")
from imgui_driver import frame, frames_until  # noqa: E402
from test_studio_headless import click  # noqa: E402

from infiniscape.gl_textures import GLTextures, TexturePool, downsample  # noqa: E402
from infiniscape.models.contract import Tile  # noqa: E402
from infiniscape.mosaic import BLOCK, UNKNOWN_RGB, Mosaic  # noqa: E402
from infiniscape.renderer.world import to_uint8  # noqa: E402
from infiniscape.studio import Studio  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class CountingGL:
    """Stands in for PyOpenGL: counts textures created and deleted."""

    GL_TEXTURE_2D = GL_TEXTURE_MIN_FILTER = GL_TEXTURE_MAG_FILTER = GL_LINEAR = GL_NEAREST = 0
    GL_TEXTURE_WRAP_S = GL_TEXTURE_WRAP_T = GL_CLAMP_TO_EDGE = GL_RGB8 = GL_RGB = GL_UNSIGNED_BYTE = 0
    GL_UNPACK_ALIGNMENT = 0

    def __init__(self):
        self.alive: set[int] = set()
        self.next = 1
        self.writes = 0

    def glGenTextures(self, n):
        self.next += 1
        self.alive.add(self.next)
        return self.next

    def glDeleteTextures(self, ids):
        for i in ids:
            self.alive.remove(i)

    def glTexSubImage2D(self, *a):
        self.writes += 1

    def __getattr__(self, name):
        return lambda *a, **k: None


def counting_pool(max_textures: int) -> tuple[TexturePool, CountingGL]:
    pool = TexturePool(max_textures, use_gl=False, tile_size=64)
    fake = CountingGL()
    pool.gl.use_gl, pool.gl.gl = True, fake
    return pool, fake


def test_texture_pool_recycles_slots_and_frees_every_texture():
    pool, gl = counting_pool(64)
    rng = np.random.default_rng(0)
    for i in range(2000):  # scrolling: upload, evict the farthest, upload again
        if pool.full():
            pool.evict(set(), lambda t: -t.ix, 16)
        pool.upload(Tile(i, 0, i % 4), rng.integers(0, 255, (64, 64, 3), np.uint8))  # any level: 64 px
        assert pool.live <= 64
    assert len(gl.alive) == pool.gl_textures == 1  # one atlas page, its slots reused
    pool.clear()
    assert not gl.alive and pool.gl_textures == 0


def test_mosaic_keeps_shrunk_tiles_and_grey_elsewhere():
    m = Mosaic(64, GLTextures(False), budget_bytes=1)
    rgb = np.random.default_rng(1).integers(0, 255, (64, 64, 3), np.uint8)
    m.add(Tile(9, -3), rgb)
    m.add(Tile(5, -2, level=1), rgb)  # covers level-0 tiles 10..11 x -4..-3 at half the detail
    key, col, row = Mosaic.block_of(Tile(9, -3))
    block = m.blocks[key]
    np.testing.assert_array_equal(block.pixels[row * 8:row * 8 + 8, col * 8:col * 8 + 8], downsample(rgb, 8))
    np.testing.assert_array_equal(block.pixels[row * 8 - 8:row * 8 + 8, col * 8 + 8:col * 8 + 24],
                                  downsample(rgb, 4))
    assert m.known(Tile(9, -3)) and m.known(Tile(11, -4)) and not m.known(Tile(12, -3))
    assert (block.pixels[:8, :8] == UNKNOWN_RGB).all() or (row, col) == (0, 0)
    m.mark_stale([Tile(9, -3)])
    assert not m.known(Tile(9, -3))  # redrawn after an edit, still shown meanwhile
    for i in range(40):  # the budget keeps at least 16 blocks, least recently used go first
        m.add(Tile(i * BLOCK, 100), rgb)
    assert len(m.blocks) == m.max_blocks == 16
    assert m.upload(list(m.blocks)[:2]) == 2 and m.atlas.pages  # only blocks about to be drawn
    assert m.upload(list(m.blocks)) == 14 and m.upload(list(m.blocks)) == 0


def test_zoomed_out_canvas_renders_coarse_levels_not_every_full_tile(make_studio):
    s = make_studio(cache_mb=64, max_textures=1024)  # its first frame centres the view at 1x
    s.canvas.view.zoom_about(*s.canvas.origin, 1 / 8, s.canvas.origin)
    frame(s)
    c = s.canvas
    assert c.level == 3 and {t.level for t in c.visible} == {3}
    frames_until(s, c.complete, timeout=90)
    # the view's own level-3 tiles (and their prefetch ring), no level-0 tile beneath them: the
    # 1/8x view costs about what the 1x view costs (64x fewer full-resolution tiles)
    levels = Counter(t.level for t in s.scheduler.render_counts())
    assert levels[3] <= 2 * len(c.visible) + 64 and levels[0] <= 4 * s.scheduler.batch
    t = c.visible[0]
    np.testing.assert_array_equal(s.scheduler.tile(t), to_uint8(s.world.render_tiles([t])[0]))
    assert c.holes == 0
    # zooming back in: until level-0 tiles arrive every visible tile is drawn from its level-3
    # ancestor, never grey
    s.canvas.view.zoom_about(*s.canvas.origin, 1.0, s.canvas.origin)
    frame(s)
    frame(s)
    assert c.level == 0 and c.holes == 0 and not c.complete()


def test_overview_map_shows_the_view_and_a_click_jumps_there(studio):
    s = studio
    s.visited = (-2000.0, -500.0, 2000.0, 500.0)
    frame(s)
    nav = s.widgets["Navigation"]
    x, y, w, h = nav.map_box
    assert nav.map.image is not None and nav.map.image.shape[:2] == (round(h), round(w))
    x0, y0, x1, y1 = nav.map_rect
    assert x0 <= -2000 and x1 >= 2000 and (x1 - x0) / (y1 - y0) == pytest.approx(w / h)
    click(s, (round(x + w * 0.75), round(y + h * 0.5)))
    v, size = s.canvas.view, s.canvas.size
    centre = (v.x + size[0] / 2 / v.zoom, v.y + size[1] / 2 / v.zoom)
    fx = (round(x + w * 0.75) - x) / w
    assert centre[0] == pytest.approx(x0 + fx * (x1 - x0), abs=2)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def instant_world(model):
    """A world whose tiles cost nothing, so the test measures the studio's memory, not torch's."""
    from infiniscape.renderer.world import World

    class InstantWorld(World):
        def render_tiles(self, tiles, store=None):
            return [np.full((self.tile_size,) * 2 + (3,), (t.ix * 7 + t.iy * 3) % 50 / 50 - 0.5, np.float32)
                    for t in tiles]

    return InstantWorld(model)


def test_scrolling_1500_tiles_keeps_memory_and_textures_bounded(make_studio):
    """Every tile the studio keeps (cache, textures, mosaic, bookkeeping) is numpy or Python, so
    tracemalloc sees it exactly; resident memory is checked too, loosely (the allocator's own
    retention varies by machine), for leaks outside Python."""
    s = make_studio(cache_mb=4, max_textures=400, first_frame=False)
    s._install(instant_world(s.world.model), "instant")
    s.canvas.view.zoom = 1.0
    rss, traced, seen = [], [], set()
    tracemalloc.start()
    try:
        while len(seen) < 1500:
            s.canvas.view.x += 64  # one column of tiles per step
            frame(s)
            frames_until(s, s.canvas.complete, timeout=20)
            seen.update(s.canvas.visible)
            rss.append(_rss_mb())
            traced.append(tracemalloc.get_traced_memory()[0] / 2**20)
            assert s.pool.live <= 400 and s.pool.gl_textures <= 8
    finally:
        tracemalloc.stop()
    assert s.scheduler.cache.nbytes <= 4 << 20
    # keeping every tile would add 1500 x 12 KB = 18 MB (uint8), 72 MB (float32)
    grown = max(traced) - traced[len(traced) // 4]
    assert grown < 3, f"Python/numpy memory grew {grown:.1f} MB while scrolling"
    grown = max(rss) - rss[len(rss) // 4]
    assert grown < 64, f"resident memory grew {grown:.0f} MB while scrolling"


def press(s: Studio, **intent) -> None:
    """One frame in which the Capture panel asks for ``intent`` (as its buttons do)."""
    title, widget, shown = next(p for p in s.panels if p[0] == "Capture")

    def pressed(show):
        widget(show)
        for k, v in intent.items():
            setattr(s.intents, k, v)

    s.panels = [(t, pressed if t == "Capture" else w, o) for t, w, o in s.panels]
    try:
        frame(s)
    finally:
        s.panels = [(t, widget if t == "Capture" else w, o) for t, w, o in s.panels]


def settle_jobs(s: Studio) -> None:
    s.jobs.wait(60)
    frame(s)


def test_capture_panel_saves_view_exports_and_round_trips_a_scene(studio, tmp_path):
    from PIL import Image

    s = studio
    s.canvas.view.zoom = 2.0  # fewer tiles to render for the view
    press(s, save_view=(str(tmp_path / "view.png"), 2))
    settle_jobs(s)
    assert not s.status_error, s.status
    img = Image.open(tmp_path / "view.png")
    assert img.size == (round(s.canvas.size[0] * 2), round(s.canvas.size[1] * 2))

    press(s, export=((10, -20, 100, 60), str(tmp_path / "rect.png")))
    settle_jobs(s)
    from infiniscape.renderer.world import to_uint8

    got = np.asarray(Image.open(tmp_path / "rect.png").convert("RGB"))
    np.testing.assert_array_equal(got, to_uint8(s.world.render(10, -20, 100, 60)))

    old = s.world
    press(s, save_scene=str(tmp_path / "scene.yaml"))
    assert (tmp_path / "scene.yaml").is_file() and "saved scene" in s.status
    press(s, open_scene=str(tmp_path / "scene.yaml"))
    frames_until(s, lambda: s.world is not old and s.loading is None)
    assert s.world.scene == old.scene and not s.status_error


def test_capture_into_a_missing_folder_reports_in_the_status_line(studio):
    s = studio
    for intent, value in (("save_view", ("/no/such/folder/out.png", 1)),
                          ("export", ((0, 0, 64, 64), "/no/such/folder/out.png")),
                          ("save_scene", "/no/such/folder/scene.yaml")):
        s.report("")
        press(s, **{intent: value})
        settle_jobs(s)
        assert s.status_error and "/no/such/folder" in s.status, (intent, s.status)
    frame(s)  # and the studio keeps drawing
