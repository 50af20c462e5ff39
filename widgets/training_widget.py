"""Training panel: start `infiniscape train` runs or any command, watch any run under a runs folder
(infiniscape's own, StyleGAN2-ADA-format run directories of StyleGAN3 / ALIS / INR-GAN / Projected
GAN, InfinityGAN logs): curves of the stats you choose, metric curves, sample grids with a slider,
progress and ETA; stop runs and open any snapshot in the canvas. It only reads run directories."""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from imgui_bundle import imgui, implot

from infiniscape import run_curves
from infiniscape.command_runs import CommandForm
from infiniscape.gl_textures import PanelImage
from infiniscape.run_list import TrainingRuns
from infiniscape.run_view import duration
from infiniscape.training_runs import TrainForm

from .training_forms import CommandFormTab, TrainFormTab

POLL_S = 0.5  # the selected run's files are re-read this often (off the UI thread)
SCAN_S = 2.0  # the runs folder is listed this often
STATE_COLOURS = {"running": (0.45, 0.9, 0.45), "starting": (0.95, 0.85, 0.4), "finished": (0.55, 0.75, 1.0),
                 "stopped": (0.7, 0.7, 0.7), "crashed": (1.0, 0.4, 0.4), "killed": (1.0, 0.55, 0.3),
                 "stalled": (0.95, 0.7, 0.35)}
STOPPABLE = ("running", "starting")


class TrainingWidget:
    def __init__(self, studio):
        self.studio = studio
        self.runs = TrainingRuns()
        self.form = TrainForm()
        self.defaults = asdict(self.form)
        self.command = CommandForm()
        self.run_list: list = []
        self.selected: Path | None = None
        self.view = None  # RunView of the selected run, replaced by each poll
        self.image = PanelImage(studio.pool.gl)
        self.hits: dict[str, tuple[float, float]] = {}  # centres of the last drawn buttons (tests click)
        self.chosen: dict[str, list[str]] = {}  # format -> stats the user plots (absent: the defaults)
        self.x_axis = "kimg"
        self.snapshot: Path | None = None  # what Open in canvas opens; None: the newest
        self._tabs = {"Runs": self._runs_tab, "New run": TrainFormTab(self), "Command": CommandFormTab(self)}
        self._watcher = None
        self._job = None
        self._polled = self._scanned = -math.inf
        self._series: tuple = (None, None, {})  # (view, (stats, x axis), series)
        self._to_tab: str | None = None
        self._tail_seen: tuple = ()

    # -- actions (the buttons) ---------------------------------------------------------------------
    def start(self) -> None:
        """Launch the train command as a child process; never waits for it."""
        self._launch(lambda: self.runs.launch(self.form), "`infiniscape train` started")

    def start_command(self) -> None:
        """Launch the custom command as a child process; never waits for it."""
        self.command.root = self.form.root
        self._launch(lambda: self.runs.launch_command(self.command), "command started")

    def _launch(self, launch, what: str) -> None:
        from infiniscape.intents import UserError

        try:
            out = launch()
        except (UserError, OSError) as e:
            return self.studio.report(f"cannot start: {e}", error=True)
        self.select(out)
        self._scanned, self._to_tab = -math.inf, "Runs"
        self.studio.report(f"{out.name}: {what} (output in {out})")

    def stop(self) -> None:
        from infiniscape.intents import UserError

        try:
            self.studio.report(self.runs.stop(self.selected))
        except (UserError, OSError) as e:
            self.studio.report(f"cannot stop: {e}", error=True)
        self._polled = -math.inf

    def open_in_canvas(self) -> None:
        """Open the chosen snapshot (else the newest) in the canvas; the studio loads it off the UI
        thread (network pickles through the safe loader) and names any error in the Model panel."""
        v = self.view
        if v is not None and v.snapshot is not None:
            path = self.snapshot if self.snapshot in v.snapshots else v.snapshot
            self.studio.intents.open_model = str(path)

    def select(self, path: Path) -> None:
        self.selected = Path(path).resolve()
        self._watcher = self.runs.watcher(self.selected)
        self.view, self._polled, self.snapshot = None, -math.inf, None
        self.image.set(None)

    def choose_stat(self, stat: str, on: bool) -> None:
        """Plot ``stat`` (or stop plotting it) for runs of the selected run's format."""
        if self.view is None:
            return
        chosen = self.chosen.setdefault(self.view.format, run_curves.default_stats(self.view))
        if on and stat not in chosen:
            chosen.append(stat)
        elif not on and stat in chosen:
            chosen.remove(stat)

    def choose_grid(self, path: Path | None) -> None:
        """Show this sample grid (None: always the newest); it is read on the next poll."""
        if self._watcher is not None:
            self._watcher.chosen_grid = path
            self._polled = -math.inf

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
            if self.view is None or view.grid_path != self.view.grid_path or view.grid is not self.view.grid:
                self.image.set(view.grid)
            self.view = view

    def stats_chosen(self) -> list[str]:
        v = self.view
        if v is None:
            return []
        return self.chosen[v.format] if v.format in self.chosen else run_curves.default_stats(v)

    def plot_series(self) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
        """{plot: {curve: (x, values)}} of the selected run, exactly what the plots draw."""
        choice = (tuple(self.stats_chosen()), self.x_axis)
        if self._series[0] is not self.view or self._series[1] != choice:
            self._series = (self.view, choice, run_curves.series(self.view, list(choice[0]), self.x_axis))
        return self._series[2]

    # -- drawing ------------------------------------------------------------------------------------
    def __call__(self, show: bool = True) -> None:
        if not show:
            return
        self._poll()
        if imgui.begin_tab_bar("##training_tabs"):
            for name, draw in self._tabs.items():
                flags = 0
                if self._to_tab == name:  # set by a button of the other tab (Start shows the run)
                    flags, self._to_tab = imgui.TabItemFlags_.set_selected, None
                selected, _ = imgui.begin_tab_item(name, None, flags)
                self._hit(f"tab {name}")
                if selected:
                    draw()
                    imgui.end_tab_item()
            imgui.end_tab_bar()

    def button(self, label: str, small: bool = False) -> bool:
        pressed = imgui.small_button(label) if small else imgui.button(label)
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
        flags = imgui.TableFlags_.row_bg | imgui.TableFlags_.scroll_y | imgui.TableFlags_.borders_outer
        rows_h = min(len(self.run_list), 5) * (imgui.get_text_line_height_with_spacing() + 2) + 4
        if self.run_list and imgui.begin_table("##training_runs", 3, flags, imgui.ImVec2(-1, rows_h)):
            imgui.table_setup_column("run", imgui.TableColumnFlags_.width_stretch)
            imgui.table_setup_column("state", imgui.TableColumnFlags_.width_fixed, em * 4)
            imgui.table_setup_column("kimg", imgui.TableColumnFlags_.width_fixed, em * 5.5)
            for r in self.run_list:
                imgui.table_next_row()
                imgui.table_next_column()
                imgui.push_style_color(imgui.Col_.text, _colour(r.state))
                if imgui.selectable(f"{r.path.name}##{r.path}", r.path == self.selected,
                                    imgui.SelectableFlags_.span_all_columns)[0]:
                    self.select(r.path)
                if imgui.is_item_hovered():
                    imgui.set_tooltip(f"{r.path}\n{r.format}, {r.state}")
                imgui.table_next_column()
                imgui.text(r.state)
                imgui.pop_style_color()
                imgui.table_next_column()
                if r.kimg is not None:
                    imgui.text_disabled(f"{r.kimg:.1f}" + (f"/{r.total_kimg:g}" if r.total_kimg else ""))
            imgui.end_table()
        if not self.run_list:
            imgui.text_wrapped(f"no runs in {f.root}: start one in New run or Command, run `infiniscape "
                               "train`, or type a folder of StyleGAN3 / ALIS / InfinityGAN runs above")
        if self.selected is not None:
            self._run_details(em)

    def _run_details(self, em: float) -> None:
        v = self.view
        imgui.text_wrapped(self.selected.name)
        if v is None:
            imgui.text_disabled("reading ...")
            return
        imgui.text_colored(_colour(v.state), v.state)
        imgui.same_line()
        imgui.text_disabled(v.format)
        if v.about:
            imgui.push_style_color(imgui.Col_.text, imgui.get_style_color_vec4(imgui.Col_.text_disabled))
            imgui.text_wrapped(v.about)
            imgui.pop_style_color()
        if v.watched is not None:
            imgui.text_disabled(f"watching {v.watched.name}")
        self._progress(v)
        # only what this studio or `infiniscape train` started can be stopped from here
        imgui.begin_disabled(v.state not in STOPPABLE or v.format not in ("infiniscape", "command"))
        if self.button("Stop##training"):
            self.stop()
        imgui.end_disabled()
        imgui.same_line()
        imgui.begin_disabled(v.snapshot is None)
        if self.button("Open in canvas##training"):
            self.open_in_canvas()
        imgui.end_disabled()
        if v.snapshots:
            self._snapshot_combo(v, em)
        if v.error:
            imgui.text_colored(imgui.ImVec4(1.0, 0.4, 0.4, 1), "error:")
            imgui.same_line()
            imgui.text_wrapped(v.error)
        if v.note:
            imgui.text_wrapped(v.note)
        if v.tail and imgui.tree_node_ex("output##training_tail",
                                         imgui.TreeNodeFlags_.default_open if v.state == "crashed" else 0):
            imgui.begin_child("##tail", imgui.ImVec2(-1, em * 7), imgui.ChildFlags_.borders,
                              imgui.WindowFlags_.horizontal_scrollbar)
            for line in v.tail:
                imgui.text_disabled(line)
            if v.tail != self._tail_seen:  # new output: show its end (a crash's exception is the last line)
                imgui.set_scroll_here_y(1.0)
                self._tail_seen = v.tail
            imgui.end_child()
            imgui.tree_pop()
        if v.stats:
            self._curve_choice(v, em)
        self._plots(em)
        self._grids(v)

    def _progress(self, v) -> None:
        st = v.status
        if not st.get("total_kimg"):
            return
        eta = f", ETA {duration(st['eta_s'])}" if v.state == "running" and st.get("eta_s") else ""
        speed = f", {st['sec_per_kimg']:g} s/kimg" if st.get("sec_per_kimg") else ""
        imgui.progress_bar(float(st.get("progress") or 0.0), imgui.ImVec2(-1, 0),
                           f"kimg {st.get('kimg', 0):.1f} / {st['total_kimg']:g}{eta}{speed}")

    def _snapshot_combo(self, v, em: float) -> None:
        current = self.snapshot if self.snapshot in v.snapshots else None
        imgui.set_next_item_width(-em * 4)
        label = current.name if current else f"newest: {v.snapshot.name}"
        if imgui.begin_combo("snapshot##training", label):
            if imgui.selectable(f"newest: {v.snapshot.name}", current is None)[0]:
                self.snapshot = None
            for path in reversed(v.snapshots):
                if imgui.selectable(f"{path.name}##{path}", path == current)[0]:
                    self.snapshot = path
                self._hit(f"snapshot {path.name}")
            imgui.end_combo()
        self._hit("snapshot")

    def _curve_choice(self, v, em: float) -> None:
        if self.button("curves...##training", small=True):
            imgui.open_popup("training_stats")
        if len(v.x_axes) > 1:
            imgui.same_line()
            imgui.text_disabled("against")
            for axis in v.x_axes:
                imgui.same_line()
                if imgui.radio_button(f"{axis}##training_x", self.x_axis == axis):
                    self.x_axis = axis
        if imgui.begin_popup("training_stats"):
            chosen = self.stats_chosen()
            imgui.text_disabled("plot these stats (one plot per unit):")
            last_plot = None
            for stat in sorted(run_curves.choosable(v), key=lambda s: (run_curves.plot_of(s), s)):
                plot = run_curves.plot_of(stat)
                if plot != last_plot:
                    imgui.separator_text(plot)
                    last_plot = plot
                on, value = imgui.checkbox(f"{stat}##stat", stat in chosen)
                self._hit(f"stat {stat}")
                if on:
                    self.choose_stat(stat, value)
            imgui.end_popup()

    def _plots(self, em: float) -> None:
        auto = implot.AxisFlags_.auto_fit
        for plot, curves in self.plot_series().items():
            # the legend names the curves above the plot, outside the data
            # no title: the y axis names the plot, and the curves keep the room
            if not implot.begin_plot(f"{plot}##training_{plot}", imgui.ImVec2(-1, em * 10),
                                     implot.Flags_.no_title):
                continue
            x_label = "kimg" if plot == "metrics" or self.x_axis not in self.view.x_axes else self.x_axis
            implot.setup_axes(x_label, run_curves.unit_of(plot), auto, auto)
            implot.setup_legend(implot.Location_.north, implot.LegendFlags_.horizontal
                                | implot.LegendFlags_.outside)
            for name, (x, y) in curves.items():
                if len(x) == 1:  # one tick or one evaluation: a point, not an invisible line
                    implot.plot_scatter(name, x, y)
                else:
                    implot.plot_line(name, x, y)
            implot.end_plot()

    def _grids(self, v) -> None:
        if v.grid is None:
            return
        grids = v.grids
        if len(grids) > 1 and v.grid_path in grids:
            i = grids.index(v.grid_path)
            imgui.set_next_item_width(-1)
            changed, j = imgui.slider_int("##training_grid", i, 0, len(grids) - 1,
                                          f"samples: {v.grid_path.name}".replace("%", "%%"))
            self._hit("grid slider")
            if changed and j != i:
                self.choose_grid(None if j == len(grids) - 1 else grids[j])
        else:
            imgui.text_disabled(f"samples: {v.grid_path.name}")
        self.image.draw(imgui.get_content_region_avail().x)


def _colour(state: str) -> imgui.ImVec4:
    return imgui.ImVec4(*STATE_COLOURS.get(state, (1.0, 1.0, 1.0)), 1.0)
