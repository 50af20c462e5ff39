"""Equivariance panel: translate / rotate the input transform, difference against the ideally moved
reference, and EQ-T / EQ-T_frac / EQ-R computed in the background with progress (app.analysis
renders them; the panel asks and draws)."""

from __future__ import annotations

import math

from imgui_bundle import imgui

from infiniscape.analysis_requests import METRIC_LABELS, EquivarianceMetrics, EquivarianceView
from infiniscape.gl_textures import PanelImage

from . import ui

CAPTION = "transformed | ideal reference | |difference| x 4"
UNTRANSFORMED_CAPTION = "untransformed | original, same band limit | |difference| x 4"


class EquivarianceWidget:
    def __init__(self, studio):
        self.studio = studio
        # untransform: the render moved back by its own transform (the StyleGAN3 visualizer's option)
        ui.settings(self, tx=0.0, ty=0.0, turns=0.0, round=False, untransform=False, anim=False)
        self.seed = 0
        self.samples = 16
        self.chosen = {"eqt_int": True, "eqt_frac": True, "eqr": False}
        self.test_signal = False  # sinusoid test generator: try the metrics without a StyleGAN3
        self.image = PanelImage(studio.pool.gl)
        self._shown = None  # the view result the image shows
        self._phase = 0.0

    def generator(self):
        """The transformable generator in use, or None (panel greyed out)."""
        return self.studio.analysis.generator(self.test_signal)

    @property
    def results(self) -> dict[str, float]:
        done = self.studio.analysis.result(EquivarianceMetrics.kind)
        return done.value if done is not None else {}

    def translation(self) -> tuple[float, float]:
        gen = self.generator()
        if self.round and gen is not None:  # whole output pixels
            r = gen.resolution
            return round(self.tx * r) / r, round(self.ty * r) / r
        return self.tx, self.ty

    def view_request(self) -> EquivarianceView:
        tx, ty = self.translation()
        return EquivarianceView(self.seed, tx, ty, self.turns * 2 * math.pi, self.round, self.untransform,
                                self.test_signal)

    def start_metrics(self) -> None:
        names = tuple(m for m, on in self.chosen.items() if on)
        self.studio.intents.analyse.append(EquivarianceMetrics(names, int(self.samples), self.test_signal))

    def _draw_view(self) -> None:
        s = self.studio
        s.intents.analyse.append(self.view_request())
        shown = s.analysis.result(EquivarianceView.kind)
        if shown is not None and shown is not self._shown:
            self._shown = shown
            self.image.set(shown.value)
        self.image.draw(imgui.get_content_region_avail().x)
        imgui.text_disabled(UNTRANSFORMED_CAPTION if self.untransform else CAPTION)

    def __call__(self, show: bool = True) -> None:
        if not show:
            return
        s = self.studio
        gen = self.generator()
        em = imgui.get_font_size()
        rotates = gen is not None and getattr(gen, "rotation", True)
        if gen is None:
            family = s.model_info.get("family", "no") if s.world is not None else "no"
            imgui.text_disabled(f"{family} model: no input transform (load a StyleGAN3 network)")
        elif not rotates:
            shift = gen.translate_max * 2  # image widths: the most the world may move
            self.tx, self.ty = (min(shift, max(-shift, v)) for v in (self.tx, self.ty))
            self.turns, self.untransform, self.chosen["eqr"] = 0.0, False, False
            imgui.text_wrapped(f"{s.model_name}: its world moved by the translation ({gen.resolution} px "
                               f"windows; whole {gen.period} px lattice periods are exact by construction)")
        self.test_signal = ui.checkbox("Test generator (band-limited sinusoids)", self.test_signal)
        with ui.disabled(gen is None):
            self._controls(em, rotates, gen)
            if gen is not None:
                self._draw_view()
            imgui.separator()
            self._metrics(em, rotates, gen)

    def _controls(self, em: float, rotates: bool, gen) -> None:
        if self.anim:  # orbit a circle of radius 0.1 image widths, one turn per 4 s
            self._phase += imgui.get_io().delta_time * 2 * math.pi / 4
            self.tx, self.ty = 0.1 * math.cos(self._phase), 0.1 * math.sin(self._phase)
        speed = 4e-4 if imgui.get_io().key_shift else 2e-2 / em  # Shift drags slowly
        ui.width(10)
        _, (self.tx, self.ty) = imgui.drag_float2("Translate", [self.tx, self.ty], speed, -1.0, 1.0, "%.4f")
        imgui.same_line()
        self.round = ui.checkbox("Round", self.round)
        imgui.same_line()
        self.anim = ui.checkbox("Anim", self.anim)
        with ui.disabled(not rotates and gen is not None):
            ui.width(10)
            _, self.turns = imgui.drag_float("Rotate (turns)", self.turns, speed, -1.0, 1.0, "%.4f")
            imgui.same_line()
            self.untransform = ui.checkbox("Untransform", self.untransform)
        imgui.same_line()
        ui.reset_button(self, "eq", only_when_changed=True)

    def _metrics(self, em: float, rotates: bool, gen) -> None:
        s = self.studio
        for m, label in METRIC_LABELS.items():
            with ui.disabled(m == "eqr" and not rotates and gen is not None):
                self.chosen[m] = ui.checkbox(label, self.chosen[m])
            imgui.same_line()
        self.samples = ui.input_int("samples", self.samples, ems=5, lo=1, hi=50000)
        job = s.analysis.job(EquivarianceMetrics.kind)
        if s.analysis.busy(EquivarianceMetrics.kind):
            imgui.progress_bar(job.count / max(job.total, 1), imgui.ImVec2(-em * 5, 0), job.progress_text())
            imgui.same_line()
            if imgui.button(ui.ident("Stop", "eq")):
                s.intents.stop_analysis = EquivarianceMetrics.kind
        elif imgui.button("Compute metrics"):
            self.start_metrics()
        for m, v in self.results.items():
            imgui.text(f"{METRIC_LABELS[m]:<10} {v:7.2f} dB PSNR")
