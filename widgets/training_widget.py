"""Training panel: start `infiniscape train` runs, watch any run under a runs folder (curves from
stats.jsonl / metrics.jsonl, the newest sample grid, progress and ETA), stop them cleanly and open
their newest snapshot in the canvas. The run directory is the only thing it reads."""

from __future__ import annotations

import math
import shlex
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from imgui_bundle import imgui, implot

from infiniscape.training_runs import TrainForm, TrainingRuns

from .spectrum_widget import PanelImage

POLL_S = 0.5  # the selected run's files are re-read this often (off the UI thread)
SCAN_S = 2.0  # the runs folder is listed this often
DEVICES = ("auto", "cpu", "cuda")
LOSSES = ("stylegan2", "projected")  # train --loss
STATE_COLOURS = {"running": (0.45, 0.9, 0.45), "starting": (0.95, 0.85, 0.4), "finished": (0.55, 0.75, 1.0),
                 "stopped": (0.7, 0.7, 0.7), "crashed": (1.0, 0.4, 0.4)}
LOSS_KEYS = ("loss_G", "loss_D", "real_score", "fake_score")


PLOT_UNITS = {"losses": "loss (per image)", "R1": "R1 penalty", "speed": "images / s",
              "metrics": "metric value"}  # y axis label of each training plot

class TrainingWidget:
    def __init__(self, studio):
        self.studio = studio
        self.runs = TrainingRuns()
        self.form = TrainForm()
        self.defaults = asdict(self.form)
        self.run_list: list = []
        self.selected: Path | None = None
        self.view = None  # RunView of the selected run, replaced by each poll
        self.image = PanelImage(studio)
        self.hits: dict[str, tuple[float, float]] = {}  # centres of the last drawn buttons (tests click)
        self._watcher = None
        self._job = None
        self._polled = self._scanned = -math.inf
        self._series: tuple = (None, {})
        self._to_tab: str | None = None
        self._preview: tuple = (None, None)

    # -- actions (the buttons) ---------------------------------------------------------------------
    def start(self) -> None:
        """Launch the train command as a child process; never waits for it."""
        from infiniscape.models.errors import UserError

        try:
            out = self.runs.launch(self.form)
        except (UserError, OSError) as e:
            return self.studio.report(f"cannot start training: {e}", error=True)
        self.select(out)
        self._scanned, self._to_tab = -math.inf, "Runs"
        self.studio.report(f"training {out.name}: `infiniscape train` started (output in {out})")

    def stop(self) -> None:
        from infiniscape.models.errors import UserError

        try:
            self.studio.report(self.runs.stop(self.selected))
        except (UserError, OSError) as e:
            self.studio.report(f"cannot stop: {e}", error=True)
        self._polled = -math.inf

    def open_in_canvas(self) -> None:
        if self.view is not None and self.view.snapshot is not None:
            self.studio.intents.open_model = str(self.view.snapshot)

    def select(self, path: Path) -> None:
        self.selected = Path(path).resolve()
        self._watcher = self.runs.watcher(self.selected)
        self.view, self._polled = None, -math.inf
        self.image.set(None)

    # -- reading the run directories (a background job, at most one at a time) -------------------
    def _poll(self) -> None:
        now = time.monotonic()
        if (self._job is not None and not self._job.done.is_set()) or now - self._polled < POLL_S:
            return
        self._polled = now
        root, watcher = self.form.root, self._watcher
        scan = now - self._scanned >= SCAN_S
        if scan:
            self._scanned = now

        def work(job):
            return (self.runs.scan(root) if scan else None), watcher, (watcher.poll() if watcher else None)

        self._job = self.studio.jobs.start("watch training runs", work, on_done=self._got)

    def _got(self, result) -> None:
        runs, watcher, view = result
        if runs is not None:
            self.run_list = runs
            if self.selected is None and runs:
                self.select(runs[0].path)  # the most recently updated run
        if view is not None and watcher is self._watcher:
            if self.view is None or view.grid_path != self.view.grid_path:
                self.image.set(view.grid)
            self.view = view

    def plot_series(self) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
        """{plot: {curve: (kimg, values)}} of the selected run, exactly what the plots draw."""
        v = self.view
        if v is None:
            return {}
        if self._series[0] is v:
            return self._series[1]
        out: dict = {}
        for plot, cols, keys in (("losses", v.stats, LOSS_KEYS), ("R1", v.stats, ("r1",)),
                                 ("speed", v.stats, ("img_per_s",)),
                                 ("metrics", v.metrics, [k for k in v.metrics if k != "kimg"])):
            if "kimg" not in cols:
                continue
            curves = {}
            for k in keys:
                if k in cols:
                    ok = np.isfinite(cols[k])  # r1 is null in ticks without an R1 step
                    curves[k] = (np.ascontiguousarray(cols["kimg"][ok]), np.ascontiguousarray(cols[k][ok]))
            if curves:
                out[plot] = curves
        self._series = (v, out)
        return out

    # -- drawing ------------------------------------------------------------------------------------
    def __call__(self, show: bool = True) -> None:
        if not show:
            return
        self._poll()
        if imgui.begin_tab_bar("##training_tabs"):
            for name, draw in (("Runs", self._runs_tab), ("New run", self._form_tab)):
                flags = 0
                if self._to_tab == name:  # set by a button of the other tab (Start shows the run)
                    flags, self._to_tab = imgui.TabItemFlags_.set_selected, None
                selected, _ = imgui.begin_tab_item(name, None, flags)
                self._hit(f"tab {name}")
                if selected:
                    draw()
                    imgui.end_tab_item()
            imgui.end_tab_bar()

    def _button(self, label: str) -> bool:
        pressed = imgui.button(label)
        self._hit(label.split("##")[0])
        return pressed

    def _hit(self, name: str) -> None:
        a, b = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        self.hits[name] = ((a.x + b.x) / 2, (a.y + b.y) / 2)

    def _runs_tab(self) -> None:
        em = imgui.get_font_size()
        f = self.form
        imgui.set_next_item_width(-em * 4)
        changed, f.root = imgui.input_text("runs##training_root", f.root)
        if changed:
            self._scanned = self._polled = -math.inf
        if imgui.begin_list_box("##training_runs", imgui.ImVec2(-1, em * 5.5)):
            for r in self.run_list:
                kimg = f"{r.kimg:g}/{r.total_kimg:g} kimg" if r.kimg is not None and r.total_kimg else ""
                imgui.push_style_color(imgui.Col_.text, _colour(r.state))
                label = f"{r.path.name}  {r.state}  {kimg}##{r.path}"
                if imgui.selectable(label, r.path == self.selected)[0]:
                    self.select(r.path)
                imgui.pop_style_color()
            imgui.end_list_box()
        if not self.run_list:
            imgui.text_disabled(f"no runs in {f.root}: start one in New run, or run `infiniscape train`")
        if self.selected is not None:
            self._run_details(em)

    def _run_details(self, em: float) -> None:
        v = self.view
        imgui.text(self.selected.name)
        if v is None:
            imgui.same_line()
            imgui.text_disabled("reading ...")
            return
        imgui.same_line()
        imgui.text_colored(_colour(v.state), v.state)
        st = v.status
        if st.get("total_kimg"):
            eta = f", ETA {_duration(st['eta_s'])}" if v.state == "running" and st.get("eta_s") else ""
            speed = f", {st['sec_per_kimg']:g} s/kimg" if st.get("sec_per_kimg") else ""
            imgui.progress_bar(float(st.get("progress") or 0.0), imgui.ImVec2(-1, 0),
                               f"kimg {st.get('kimg', 0):g} / {st['total_kimg']:g}{eta}{speed}")
        imgui.begin_disabled(v.state not in ("running", "starting"))
        if self._button("Stop##training"):
            self.stop()
        imgui.end_disabled()
        imgui.same_line()
        imgui.begin_disabled(v.snapshot is None)
        if self._button("Open in canvas##training"):
            self.open_in_canvas()
        imgui.end_disabled()
        if v.snapshot is not None:
            imgui.same_line()
            imgui.text_disabled(v.snapshot.name)
        if v.error:
            imgui.text_colored(imgui.ImVec4(1.0, 0.4, 0.4, 1), "error:")
            imgui.same_line()
            imgui.text_wrapped(v.error)
        if v.tail and imgui.tree_node_ex("output##training_tail",
                                         imgui.TreeNodeFlags_.default_open if v.state == "crashed" else 0):
            imgui.begin_child("##tail", imgui.ImVec2(-1, em * 7), imgui.ChildFlags_.borders,
                              imgui.WindowFlags_.horizontal_scrollbar)
            for line in v.tail:
                imgui.text_disabled(line)
            imgui.end_child()
            imgui.tree_pop()
        self._plots(em)
        if v.grid is not None:
            imgui.text_disabled(f"samples: {v.grid_path.name}")
            self.image.draw(imgui.get_content_region_avail().x)

    def _plots(self, em: float) -> None:
        series = self.plot_series()
        if series:
            imgui.text_disabled("against kimg:")
        auto = implot.AxisFlags_.auto_fit
        for plot, curves in series.items():
            # the legend names the curves above the plot, outside the data
            if not implot.begin_plot(f"{plot} of the run##training", imgui.ImVec2(-1, em * 12)):
                continue
            implot.setup_axes("training progress (kimg)", PLOT_UNITS.get(plot, plot), auto, auto)
            implot.setup_legend(implot.Location_.north, implot.LegendFlags_.horizontal
                                | implot.LegendFlags_.outside)
            for name, (x, y) in curves.items():
                implot.plot_line(name, x, y)
            implot.end_plot()

    def _out_preview(self) -> Path | None:
        """The run folder Start would create (the folder is listed again only when the form changes)."""
        f = self.form
        key = (f.root, f.config, f.data, f.name, len(self.run_list))
        if self._preview[0] != key:
            self._preview = (key, _guard(f.out_dir))
        return self._preview[1]

    def _form_tab(self) -> None:
        em = imgui.get_font_size()
        f = self.form
        w = -em * 7

        def number(label: str, value: float, lowest: float | None = None, step: float = 0.0,
                   fast: float = 0.0) -> float:
            imgui.set_next_item_width(w)
            _, value = imgui.input_float(label, value, step, fast, "%g")
            return value if lowest is None else max(lowest, value)

        def integer(label: str, value: int, lowest: int, step: int = 1, fast: int = 0, hint: str = "") -> int:
            imgui.set_next_item_width(w)
            _, value = imgui.input_int(label, value, step, fast)
            if hint:
                imgui.same_line()
                imgui.text_disabled(hint)
            return max(lowest, value)

        imgui.set_next_item_width(w)
        _, f.data = imgui.input_text_with_hint("data", "folder, .zip or procedural", f.data)
        imgui.same_line()
        if imgui.small_button("procedural"):
            f.data = "procedural"
        imgui.set_next_item_width(w)
        _, f.config = imgui.input_text_with_hint("config", "name or .yaml", f.config)
        imgui.same_line()
        if imgui.small_button("built-in..."):
            imgui.open_popup("training_configs")
        if imgui.begin_popup("training_configs"):
            for name in self.studio.builtin_models:
                if imgui.selectable(name, name == f.config)[0]:
                    f.config = name
            imgui.end_popup()
        f.resolution = integer("resolution", f.resolution, 0, 16, 64, "0: tile")
        f.batch = integer("batch", f.batch, 1, 1, 8)
        imgui.set_next_item_width(w)
        if imgui.begin_combo("loss", f.loss):
            for name in LOSSES:
                if imgui.selectable(name, name == f.loss)[0]:
                    f.loss = name
            imgui.end_combo()
        imgui.same_line()
        imgui.text_disabled("projected: converges faster")
        f.kimg = number("kimg", f.kimg, 0.001, 1.0, 100.0)
        f.snapshot_kimg = number("snapshot kimg", f.snapshot_kimg, 0.001, 1.0, 10.0)
        imgui.set_next_item_width(w)
        _, f.seed = imgui.input_int("seed", f.seed)
        if imgui.tree_node("more options##training"):
            f.lr = number("lr", f.lr)
            f.r1_gamma = number("R1 gamma", f.r1_gamma)
            imgui.same_line()
            imgui.text_disabled("< 0: auto")
            f.y_extent = integer("y extent", f.y_extent, 0, 256, 1024, "procedural: frames at every height")
            f.scene_height = integer("scene height", f.scene_height, 0, 16, 64, "0: the frame size")
            f.tick_kimg = number("stats kimg", f.tick_kimg, 0.001)
            f.tick_seconds = number("stats seconds", f.tick_seconds, 0.1)
            imgui.set_next_item_width(w)
            if imgui.begin_combo("device", f.device):
                for d in DEVICES:
                    if imgui.selectable(d, d == f.device)[0]:
                        f.device = d
                imgui.end_combo()
            imgui.tree_pop()
        imgui.set_next_item_width(w)
        _, f.root = imgui.input_text("runs folder", f.root)
        imgui.set_next_item_width(w)
        out = self._out_preview()
        _, f.name = imgui.input_text_with_hint("name", out.name if out else "", f.name)
        if self._button("Start##training"):
            self.start()
        imgui.same_line()
        if imgui.button("Reset##training"):
            self.form = TrainForm(**self.defaults)
        if out is not None:
            argv = _guard(lambda: f.argv(out))
            if argv:
                imgui.text_wrapped("$ infiniscape " + shlex.join(argv[3:]))


def _colour(state: str) -> imgui.ImVec4:
    return imgui.ImVec4(*STATE_COLOURS.get(state, (1.0, 1.0, 1.0)), 1.0)


def _guard(fn):
    try:
        return fn()
    except Exception:  # noqa: BLE001 - a half-typed form shows no preview, never an error
        return None


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
