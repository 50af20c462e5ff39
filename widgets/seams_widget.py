"""Seams panel: the seam score of the loaded model (gradient energy across tile borders relative to
matched interior lines, 1.0 = invisible), measured over random world regions in the background
(app.analysis), with its bootstrap interval and the per-region scores (one horizon or ridge can
dominate a region)."""

from __future__ import annotations

from imgui_bundle import imgui, implot

from infiniscape.analysis_requests import SeamScore

from . import ui


class SeamsWidget:
    def __init__(self, studio):
        self.studio = studio
        ui.settings(self, regions=16, tiles_per_side=2, sample_seed=0)

    @property
    def result(self) -> dict | None:
        """score, x, y, interval, per-region scores, model name, regions; None before a measurement."""
        done = self.studio.analysis.result(SeamScore.kind)
        return done.value if done is not None else None

    def measure(self) -> None:
        """Start measuring the current world in a background job (the UI never waits)."""
        self.studio.analysis.submit(SeamScore(self.regions, self.tiles_per_side, self.sample_seed))

    def __call__(self, show: bool = True) -> None:
        if not show:
            return
        s = self.studio
        em = imgui.get_font_size()
        self.regions = ui.slider_int("regions", self.regions, 2, 128, ems=8)
        imgui.same_line()
        self.tiles_per_side = ui.slider_int("tiles/side", self.tiles_per_side, 2, 6, ems=5)
        self.sample_seed = ui.input_int("sample seed", self.sample_seed, ems=6)
        with ui.disabled(s.world is None):
            if not s.analysis.busy(SeamScore.kind):
                if imgui.button(ui.ident("Measure", "seams")):
                    s.intents.analyse.append(SeamScore(self.regions, self.tiles_per_side, self.sample_seed))
            else:
                if imgui.button(ui.ident("Stop", "seams")):
                    s.intents.stop_analysis = SeamScore.kind
                imgui.same_line()
                imgui.text_disabled(f"regions {s.analysis.job(SeamScore.kind).progress_text()}")
        r = self.result
        if r is None:
            imgui.text_disabled("not measured yet (1.0 = borders invisible, > 1 = seams)")
            return
        lo, hi = r["interval"]
        imgui.text(f"seam score {r['score']:.3f}  (95% {lo:.3f}-{hi:.3f}, {r['regions']} regions)")
        imgui.text_disabled(f"x {r['x']:.3f}  y {r['y']:.3f}  model {r['model']}")
        if implot.begin_plot(f"Seam score per region ({r['model']})##seam_regions", imgui.ImVec2(-1, em * 12),
                             implot.Flags_.no_legend):
            implot.setup_axes("region (index)", "score (1.0 = invisible)", implot.AxisFlags_.auto_fit,
                              implot.AxisFlags_.auto_fit)
            implot.plot_bars("per region", r["per_region"])
            implot.end_plot()
