"""The studio: panels on the left, the infinite canvas on the right, intents carried out once a frame.

GL-free apart from the texture pool, so the whole UI runs headless in tests (``use_gl=False``);
the glfw window and main loop live in ``window.py``."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from imgui_bundle import imgui

from infiniscape.models.errors import describe_error
from infiniscape.models.registry import DEFAULT_MODEL
from infiniscape.widgets.capture import CaptureWidget
from infiniscape.widgets.edit import EditWidget
from infiniscape.widgets.equivariance_widget import EquivarianceWidget
from infiniscape.widgets.layers_widget import LayersWidget
from infiniscape.widgets.model import ModelWidget
from infiniscape.widgets.navigation import NavigationWidget
from infiniscape.widgets.performance import PerformanceWidget
from infiniscape.widgets.place_image import PlaceImageWidget
from infiniscape.widgets.seams_widget import SeamsWidget
from infiniscape.widgets.spectrum_widget import SpectrumWidget
from infiniscape.widgets.styles import StylesWidget
from infiniscape.widgets.training_widget import TrainingWidget

from . import capture
from .analysis import Analysis
from .canvas import Canvas
from .canvas_tools import CanvasTools
from .gl_textures import TexturePool
from .intents import Intents
from .jobs import Jobs

WINDOW_FLAGS = (imgui.WindowFlags_.no_title_bar | imgui.WindowFlags_.no_resize | imgui.WindowFlags_.no_move
                | imgui.WindowFlags_.no_collapse | imgui.WindowFlags_.no_saved_settings)
CANVAS_FLAGS = (WINDOW_FLAGS | imgui.WindowFlags_.no_scrollbar | imgui.WindowFlags_.no_scroll_with_mouse
                | imgui.WindowFlags_.no_bring_to_front_on_focus | imgui.WindowFlags_.no_background)


def _nothing() -> None:
    pass


class NullScheduler:
    """Stands in while no world is loaded: nothing is ever ready."""

    tile_size = 64

    def set_view(self, *a, **k): pass
    def poll(self, max_tiles=None): return []
    def tile(self, tile): return None
    def invalidate(self, tiles, world=None): pass
    def stats(self): return {}
    def close(self): pass


class Studio:
    """Owns the world, the scheduler, the canvas and the panels; ``frame`` builds one imgui frame."""

    def __init__(self, model: str = DEFAULT_MODEL, scene: str | None = None, seed: int = 0,
                 device: str = "cpu", use_gl: bool = True, cache_bytes: int = 512 << 20,
                 max_textures: int = 2048, fallback_model: str = DEFAULT_MODEL):
        from infiniscape.models.registry import builtin_configs

        self.model_name, self.seed, self.device, self.cache_bytes = model, seed, device, cache_bytes
        self.intents = Intents()
        self.pool = TexturePool(max_textures, use_gl)
        self.scheduler = NullScheduler()
        self.canvas = Canvas(self.scheduler, NullScheduler.tile_size, self.pool)
        self.tools = CanvasTools()
        self.world = None
        self.model_info: dict = {}
        self.loading: str | None = None
        self.load_error: str | None = None  # the last open that failed, in one line (Model panel)
        self.fallback_model = fallback_model  # shown when the first model or scene cannot be opened
        self.recent: list[str] = []
        self.builtin_models = builtin_configs()
        self.frame_ms: deque[float] = deque(maxlen=240)  # each frame's work (input, UI, upload, draw)
        self.frame_starts: deque[float] = deque(maxlen=240)  # perf_counter at each frame's start
        self.latency_ms: deque[float] = deque(maxlen=240)
        self.scheduler_stats: dict = {}
        self.status, self.status_error = "", False
        self.visited: tuple[float, float, float, float] | None = None
        self.wake: Callable[[], None] = _nothing  # set by the window: ends its idle wait (any thread)
        self.jobs = Jobs(on_finish=lambda: self.wake())
        self.frames = 0
        self._errors_seen = 0
        self._reset_pending = True
        self.placing = None  # an app.placing.Placing while an image is fitted (Place image panel)
        self.analysis = Analysis(self)  # the analysis panels' requests, run on jobs (app.analysis)
        self.panels = [("Model", ModelWidget(self), True), ("Navigation", NavigationWidget(self), True),
                       ("Edit", EditWidget(self), True), ("Place image", PlaceImageWidget(self), False),
                       ("Styles", StylesWidget(self), False),
                       ("Capture", CaptureWidget(self), False),
                       ("Spectrum", SpectrumWidget(self), False),
                       ("Equivariance", EquivarianceWidget(self), False),
                       ("Layers", LayersWidget(self), False),
                       ("Seams", SeamsWidget(self), False),
                       ("Training", TrainingWidget(self), False),
                       ("Performance", PerformanceWidget(self), True)]
        self.widgets = {name: w for name, w, _ in self.panels}
        if scene:
            self.open_scene(scene)
        else:
            self.open_model(model)

    # -- loading --------------------------------------------------------------------------------

    def report(self, message: str, error: bool = False) -> None:
        """One line at the bottom of the window; errors in red. The studio stays usable."""
        self.status, self.status_error = message, error

    def open_model(self, name: str) -> None:
        if not name:
            return self.report("type a model name or path first", error=True)
        self._open(f"open model {name}", name, lambda job: self._new_world(name),
                   lambda world: self._install(world, name))

    def open_scene(self, path: str) -> None:
        from infiniscape.renderer.world import World

        self._open(f"open scene {path}", path, lambda job: World.open(path, device=self.device),
                   lambda world: self._install(world, world.scene.model, scene=path))

    def _open(self, job_name: str, what: str, load, install, fallback: bool = False) -> None:
        """Load a world off the UI thread. A failure ends the loading state at once: the canvas keeps
        the world it had (or gets the fallback model when there was none) and the panel names the error."""
        def failed(e: BaseException) -> None:
            self.loading = None
            self.load_error = f"could not open {what}: {describe_error(e)}"
            self.report(self.load_error, error=True)
            if self.world is None and not fallback and what != self.fallback_model:
                self._open_fallback()

        self.loading = what
        self.report(f"loading {what} ...")
        self.jobs.start(job_name, load, on_done=install, on_error=failed)

    def _open_fallback(self) -> None:
        name, error = self.fallback_model, self.load_error
        self._open(f"open model {name}", name, lambda job: self._new_world(name),
                   lambda world: self._install(world, name, keep_error=error), fallback=True)

    def _new_world(self, name: str):
        """A fresh scene on model ``name``, with fusion that suits it (bands on a world with a horizon)."""
        from infiniscape.models.registry import load_model
        from infiniscape.renderer.fusion import default_fusion
        from infiniscape.renderer.scene import Scene
        from infiniscape.renderer.world import World

        model = load_model(name, device=self.device)
        return World(model, Scene(model=name, seed=self.seed, fusion=default_fusion(model)))

    def _install(self, world, name: str, scene: str | None = None, keep_error: str | None = None) -> None:
        from infiniscape.models.batching import per_pass
        from infiniscape.renderer.scheduler import TileScheduler

        old = self.scheduler
        self.world, self.model_name, self.loading = world, name, None
        self.load_error = keep_error
        # on the CPU one tile a batch (a pass computes one window there anyway): each tile shows as
        # soon as it is done, and a new view is served after one tile, not after four stale ones
        batch = per_pass(world.model.device, gpu=4)
        self.scheduler = TileScheduler(world, cache_bytes=self.cache_bytes, batch=batch, prefetch=1,
                                       background=True, on_ready=lambda: self.wake(), preview=True)
        self.canvas.set_source(self.scheduler, world.tile_size)
        self.tools.selection = self.tools.stats_rect = None
        self._errors_seen = 0
        _close_later(old)
        self.model_info = world.model.describe()
        self.recent = [name] + [r for r in self.recent if r != name][:9]
        if keep_error is None:
            self.widgets["Model"].path = name
            self.report(f"opened {scene or name}")
        else:
            self.report(f"{keep_error}; showing the built-in {name} instead", error=True)

    def close(self) -> None:
        self.jobs.close()
        self.scheduler.close()
        self.canvas.clear()

    # -- one frame ------------------------------------------------------------------------------

    def frame(self, width: float, height: float) -> None:
        """Build the UI for a window of (width, height) and carry out what it asked for."""
        self.intents = Intents()
        self.tools.intents = self.intents
        self.jobs.collect(self.report)
        if self.placing is not None and self.placing.job is not None and self.placing.job.done.is_set():
            self.placing = None  # failed or stopped (a finished one was applied by collect)
        em = imgui.get_font_size()
        pane_w = min(em * 27, width * 0.5)
        imgui.set_next_window_pos(imgui.ImVec2(0, 0))
        imgui.set_next_window_size(imgui.ImVec2(pane_w, height))
        imgui.begin("infiniscape##pane", None, WINDOW_FLAGS)
        for title, widget, default_open in self.panels:
            flags = imgui.TreeNodeFlags_.default_open if default_open else 0
            widget(imgui.collapsing_header(title, flags))
        imgui.end()
        status_h = imgui.get_frame_height_with_spacing()
        imgui.set_next_window_pos(imgui.ImVec2(pane_w, 0))
        imgui.set_next_window_size(imgui.ImVec2(width - pane_w, height))
        imgui.push_style_var(imgui.StyleVar_.window_padding, imgui.ImVec2(0, 0))
        imgui.begin("##canvas_window", None, CANVAS_FLAGS)
        size = (max(1.0, width - pane_w), max(1.0, height - status_h))
        if self._reset_pending and self.world is None and self.canvas.user_moved:
            self._reset_pending = False  # moved while loading: the user's view wins over the opening one
        if self._reset_pending and self.world is not None:  # the model says where it looks best
            zoom, cx, cy = self.world.model.opening_view
            self.canvas.view.zoom = zoom
            self.canvas.view.center_on(cx, cy, size)
            self._reset_pending = False
        self.tools.anchors = [tuple(a.at) for a in self.world.anchors] if self.world else []
        self.tools.fusion = self.world.scene.fusion if self.world else None
        self.tools.reaches = [self.tools.fusion.of(a) for a in self.world.anchors] if self.world else []
        self.canvas.show_grid = self.intents.show_grid
        self.canvas((pane_w, 0.0), size, self.tools)
        self._status_line(pane_w, height - status_h, width - pane_w, status_h)
        imgui.end()
        imgui.pop_style_var()
        self._shortcuts()
        self._carry_out()
        self._record()

    def animating(self) -> bool:
        """Whether frames should follow at the full frame rate for a while: the user is doing
        something (mouse moved or held, wheel, text field focused) or the view moved. Otherwise the
        window may sleep until woken."""
        io = imgui.get_io()
        d = io.mouse_delta
        return bool(d.x or d.y or io.mouse_wheel or io.mouse_wheel_h or imgui.is_any_mouse_down()
                    or io.want_text_input or self.canvas.moved)

    def uploads_waiting(self) -> bool:
        """Finished tiles wait beyond this frame's upload budget: draw the next frame right away
        (one more frame, not a stretch at full rate that would starve the tile worker)."""
        return self.canvas.backlog

    def _status_line(self, x: float, y: float, w: float, h: float) -> None:
        dl = imgui.get_window_draw_list()
        dl.add_rect_filled(imgui.ImVec2(x, y), imgui.ImVec2(x + w, y + h), imgui.IM_COL32(22, 22, 26, 255))
        col = imgui.IM_COL32(255, 110, 110, 255) if self.status_error else imgui.IM_COL32(200, 200, 200, 255)
        dl.add_text(imgui.ImVec2(x + 8, y + (h - imgui.get_text_line_height()) / 2), col, self.status)

    def _shortcuts(self) -> None:
        io = imgui.get_io()
        if io.want_text_input:
            return  # text fields keep their own Ctrl+Z
        ctrl = imgui.Key.mod_ctrl
        if imgui.is_key_chord_pressed(ctrl | imgui.Key.z):
            self.intents.undo = True
        if imgui.is_key_chord_pressed(ctrl | imgui.Key.y) or \
                imgui.is_key_chord_pressed(ctrl | imgui.Key.mod_shift | imgui.Key.z):
            self.intents.redo = True
        if imgui.is_key_pressed(imgui.Key.escape, False):
            self.tools.selection, self.tools.tool = None, "pan"

    def _record(self) -> None:
        self.frames += 1
        st = self.scheduler.stats()
        self.scheduler_stats = st
        if st.get("latency_p50_ms") is not None:
            self.latency_ms.append(st["latency_p50_ms"])
        if st.get("errors", 0) > self._errors_seen:
            self._errors_seen = st["errors"]
            self.report(f"tile failed: {st.get('last_error')}", error=True)
        if self.world is None:
            return  # nothing to map yet (the opening view may still move the view far)
        x0, y0, x1, y1 = self.canvas.view.world_rect(self.canvas.size)
        v = self.visited
        self.visited = (x0, y0, x1, y1) if v is None else \
            (min(v[0], x0), min(v[1], y0), max(v[2], x1), max(v[3], y1))

    # -- intents --------------------------------------------------------------------------------

    def _carry_out(self) -> None:
        it, view, size = self.intents, self.canvas.view, self.canvas.size
        if it.open_model:
            self.open_model(it.open_model)
        if it.open_scene:
            self.open_scene(it.open_scene)
        if it.reset_view:
            self._reset_pending = True
        if (it.zoom is not None or it.goto is not None) and self.world is None and not it.reset_view:
            self._reset_pending = False  # asked for while loading: not undone by the opening view
        if it.zoom is not None:
            view.zoom_about(self.canvas.origin[0] + size[0] / 2, self.canvas.origin[1] + size[1] / 2,
                            it.zoom, self.canvas.origin)
        if it.goto is not None:
            view.center_on(it.goto[0], it.goto[1], size)
        self.analysis.carry_out(it)  # the test signal needs no world
        if self.world is None:
            if it.apply or it.undo or it.redo or it.jump is not None or it.save_scene or it.save_view \
                    or it.export:
                self.report("no model loaded: open one in the Model panel first", error=True)
            return
        self._edit(it)
        if it.settings:
            self._guard(lambda: self.change_settings(**it.settings), "settings")
        if it.fusion is not None:
            self._guard(lambda: self.change_fusion(it.fusion), "fusion")
        if it.save_scene:
            self._guard(lambda: self.report(f"saved scene {self.world.save(it.save_scene)}"))
        if it.save_view:
            self._guard(lambda: self.save_view(*it.save_view))
        if it.export:
            self._guard(lambda: self.export(*it.export))
        if it.place_image:
            self._guard(lambda: self.place_image(*it.place_image), "place image")

    def _edit(self, it: Intents) -> None:
        w = self.world
        for label, call in (("edit", (lambda: w.apply(it.apply)) if it.apply is not None else None),
                            ("undo", w.undo if it.undo else None), ("redo", w.redo if it.redo else None),
                            ("history", (lambda: w.jump(it.jump)) if it.jump is not None else None)):
            if call is None:
                continue
            tiles = self._guard(call, label)
            if tiles is None:
                continue
            self.scheduler.invalidate(tiles, w)
            self.canvas.invalidate(tiles)
            what = w.history[w.history_position - 1] if w.history_position else "unedited scene"
            self.report(f"{label}: {len(tiles)} tiles to redraw - now at {w.history_position}: {what}")

    def change_settings(self, **knobs) -> None:
        """Scene-wide knobs (truncation, noise mode, class, style mixing, seed offset): the same world and
        history under new settings; every tile is redrawn, old ones stay on screen until replaced."""
        self.world = self.world.with_settings(**knobs)
        self.scheduler.invalidate_all(self.world)
        self.canvas.invalidate_all()
        self.report("settings: " + ", ".join(f"{k} {v}" for k, v in knobs.items()))

    def change_fusion(self, params) -> None:
        """How style anchors reach and blend (radius, blur, disk or bands), for every anchor: the same
        edits and anchors replayed under the new fusion; every tile is redrawn, old ones stay on screen."""
        from dataclasses import replace

        from infiniscape.renderer.world import World

        params.check()
        w = self.world
        self.world = World(w.model, replace(w.scene, fusion=params), tile_batch=w.tile_batch)
        self.scheduler.invalidate_all(self.world)
        self.canvas.invalidate_all()
        f = params
        self.report(f"fusion: {f.shape}, radius {f.radius} px, blur {f.blur_width} px")

    def place_image(self, path: str, rect: tuple[int, int, int, int], steps: int = 200):
        """Fit the world's cells so it shows the image in ``rect``, off the UI thread (app.placing);
        ``self.placing`` holds the loss curve and a preview meanwhile."""
        from .placing import start_placing

        self.placing = start_placing(self, path, rect, steps)
        return self.placing.job

    def save_view(self, path: str, scale: int = 1):
        """Save what the canvas shows, at canvas size x ``scale``, off the UI thread (app.capture)."""
        return capture.save_view(self, path, scale)

    def export(self, rect: tuple[int, int, int, int], path: str, zoom: float = 1.0):
        """Export a world rectangle at zoom 1, 1/2, 1/4, ... off the UI thread (app.capture)."""
        return capture.export(self, rect, path, zoom)

    def _guard(self, fn, what: str = ""):
        """Run fn; a failure becomes a red status line, never an exception out of the frame."""
        try:
            return fn()
        except Exception as e:
            self.report(f"{what + ' failed: ' if what else ''}{describe_error(e)}", error=True)
            return None


def _close_later(scheduler) -> None:
    """Stop a replaced scheduler without waiting for its batch in progress on the UI thread."""
    import threading

    threading.Thread(target=scheduler.close, name="close scheduler", daemon=True).start()
