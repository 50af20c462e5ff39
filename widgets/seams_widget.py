"""Seams panel: the seam score of the loaded model (gradient energy across tile borders relative to
matched interior lines, 1.0 = invisible), measured over random world regions in the background,
with its bootstrap interval and the per-region scores (one horizon or ridge can dominate a region)."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui, implot


class SeamsWidget:
    def __init__(self, studio):
        self.studio = studio
        self.regions = 16
        self.tiles_per_side = 2
        self.sample_seed = 0
        self.defaults = dict(regions=16, tiles_per_side=2, sample_seed=0)
        self.result: dict | None = None  # score, x, y, interval, per-region scores, model name
        self._job = None

    def measure(self) -> None:
        """Start measuring the current world in a background job (the UI never waits)."""
        s = self.studio
        if s.world is None or self._job is not None:
            return
        from infiniscape.renderer.analysis.seams import pool, seam_interval, world_seam_samples

        world, name = s.world, s.model_name
        regions, side, seed = self.regions, self.tiles_per_side, self.sample_seed

        def run(job):  # Stop cancels the job: its next advance() ends it
            samples = world_seam_samples(world, regions=regions, tiles_per_side=side, seed=seed,
                                         progress=job.advance)
            e = pool(samples)
            return dict(score=e.score, x=e.score_x, y=e.score_y, interval=seam_interval(samples),
                        per_region=np.array([r.score for r in samples], np.float64), model=name,
                        regions=len(samples))

        def done(result):
            self.result = result

        self._job = s.jobs.start("seam score", run, done, total=regions)

    def __call__(self, show: bool = True) -> None:
        if self._job is not None and self._job.done.is_set():
            self._job = None
        if not show:
            return
        s = self.studio
        em = imgui.get_font_size()
        imgui.set_next_item_width(em * 8)
        _, self.regions = imgui.slider_int("regions", self.regions, 2, 128)
        imgui.same_line()
        imgui.set_next_item_width(em * 5)
        _, self.tiles_per_side = imgui.slider_int("tiles/side", self.tiles_per_side, 2, 6)
        imgui.set_next_item_width(em * 6)
        _, self.sample_seed = imgui.input_int("sample seed", self.sample_seed)
        imgui.begin_disabled(s.world is None)
        if self._job is None:
            if imgui.button("Measure##seams"):
                self.measure()
        else:
            if imgui.button("Stop##seams"):
                self._job.cancelled.set()
            imgui.same_line()
            imgui.text_disabled(f"regions {self._job.progress_text()}")
        imgui.end_disabled()
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
