"""Equivariance panel: translate / rotate the input transform, difference against the ideally moved
reference, and EQ-T / EQ-T_frac / EQ-R computed in the background with progress."""

from __future__ import annotations

import math
import threading

import numpy as np
from imgui_bundle import imgui

from .spectrum_widget import PanelImage

METRIC_LABELS = {"eqt_int": "EQ-T", "eqt_frac": "EQ-T frac", "eqr": "EQ-R"}
CAPTION = "transformed | ideal reference | |difference| x 4"
UNTRANSFORMED_CAPTION = "untransformed | original, same band limit | |difference| x 4"


def difference_strip(gen, seed: int, tx: float, ty: float, angle: float, whole_pixels: bool,
                     untransform: bool = False) -> np.ndarray:
    """uint8 [R, 3R + 8, 3]: transformed render | ideal reference | |difference| x 4 (masked).

    ``untransform`` compares in the original frame instead (the StyleGAN3 visualizer's Untransform): the
    render moved back by its own input transform | the identity render under the same band limit | x4."""
    import torch

    from infiniscape.renderer.analysis import equivariance as eq

    orig = gen.render_transformed(seed, np.eye(3)).float()[None]
    transform = eq.rotation_matrix(-angle) @ eq.translation_matrix(tx, ty) if angle \
        else eq.translation_matrix(tx, ty)
    img = gen.render_transformed(seed, transform).float()[None]
    if untransform:
        img, mask = eq.untransform(img, transform)
        ref, rmask = eq.bandlimit(orig, transform)
        mask = mask * rmask
    elif angle:  # rotation, then translation, as one band-limited resample (R_alpha of EQ-R when t = 0)
        ref, mask = eq.affine_resample(orig, np.linalg.inv(transform), amax=6)
        img, pmask = eq.pseudo_rotate(img, angle)  # compare what survives the rotation's band limit
        mask = mask * pmask
    else:
        ref, mask = (eq.integer_shift if whole_pixels else eq.fractional_shift)(orig, tx, ty)
    diff = (ref - img).abs() * mask * 4 - 1

    def u8(x: torch.Tensor) -> np.ndarray:
        return np.clip(np.rint((x[0].permute(1, 2, 0).numpy() + 1) * 127.5), 0, 255).astype(np.uint8)

    gap = np.full((img.shape[-2], 4, 3), 30, np.uint8)
    return np.concatenate([u8(img), gap, u8(ref * mask), gap, u8(diff)], axis=1)


class EquivarianceWidget:
    def __init__(self, studio):
        self.studio = studio
        self.tx, self.ty, self.turns = 0.0, 0.0, 0.0
        self.round = False
        self.untransform = False  # show the render moved back by its own transform (visualizer's option)
        self.anim = False
        self.seed = 0
        self.samples = 16
        self.chosen = {"eqt_int": True, "eqt_frac": True, "eqr": False}
        self.test_signal = False  # sinusoid test generator: try the metrics without a StyleGAN3
        self.defaults = dict(tx=0.0, ty=0.0, turns=0.0, round=False, untransform=False, anim=False)
        self.results: dict[str, float] = {}
        self.image = PanelImage(studio)
        self._key = None
        self._job = self._metrics_job = None
        self._stop = threading.Event()
        self._test_gen = None
        self._world_gen = None  # (model, its WorldShiftGenerator or None)
        self._phase = 0.0

    def generator(self):
        """The transformable generator in use, or None (panel greyed out)."""
        s = self.studio
        if self.test_signal:
            if self._test_gen is None:
                from infiniscape.renderer.analysis.synthetic import SinusoidGenerator

                self._test_gen = SinusoidGenerator(128, pinned=0.05)
            return self._test_gen
        model = s.world.model if s.world is not None else None
        caps = getattr(model, "capabilities", None)
        if caps is not None and caps.input_transform and hasattr(model, "render_transformed"):
            return model
        if self._world_gen is None or self._world_gen[0] is not model:  # a native model: move its world
            from infiniscape.renderer.analysis.world_shift import world_shift_generator

            self._world_gen = (model, world_shift_generator(model) if model is not None else None)
        return self._world_gen[1]

    def translation(self) -> tuple[float, float]:
        gen = self.generator()
        if self.round and gen is not None:  # whole output pixels
            r = gen.resolution
            return round(self.tx * r) / r, round(self.ty * r) / r
        return self.tx, self.ty

    def _update_view(self, gen) -> None:
        tx, ty = self.translation()
        key = (id(gen), self.seed, tx, ty, self.turns, self.round, self.untransform)
        if key == self._key or (self._job is not None and not self._job.done.is_set()):
            return
        self._key = key
        angle = self.turns * 2 * math.pi
        self._job = self.studio.jobs.start(
            "equivariance view",
            lambda job: difference_strip(gen, self.seed, tx, ty, angle, self.round, self.untransform),
            on_done=self.image.set)

    def start_metrics(self) -> None:
        from infiniscape.renderer.analysis.equivariance import equivariance_metrics

        gen = self.generator()
        names = [m for m, on in self.chosen.items() if on]
        if gen is None or not names:
            return
        self._stop.clear()
        self.results = {}
        n = int(self.samples)
        self._metrics_job = self.studio.jobs.start(
            f"equivariance {', '.join(names)}",
            lambda job: equivariance_metrics(gen, names, n, progress=lambda d, t: setattr(job, "count", d),
                                             should_stop=self._stop.is_set,
                                             translate_max=getattr(gen, "translate_max", 0.125)),
            total=n, on_done=self._got_metrics)

    def _got_metrics(self, psnrs: dict) -> None:
        self.results = psnrs
        text = ", ".join(f"{METRIC_LABELS[k]} {v:.2f} dB" for k, v in psnrs.items())
        self.studio.report(f"equivariance: {text}")

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
        _, self.test_signal = imgui.checkbox("Test generator (band-limited sinusoids)", self.test_signal)
        imgui.begin_disabled(gen is None)
        if self.anim:  # orbit a circle of radius 0.1 image widths, one turn per 4 s
            self._phase += imgui.get_io().delta_time * 2 * math.pi / 4
            self.tx, self.ty = 0.1 * math.cos(self._phase), 0.1 * math.sin(self._phase)
        speed = 4e-4 if imgui.get_io().key_shift else 2e-2 / em  # Shift drags slowly
        imgui.set_next_item_width(em * 10)
        _, (self.tx, self.ty) = imgui.drag_float2("Translate", [self.tx, self.ty], speed, -1.0, 1.0, "%.4f")
        imgui.same_line()
        _, self.round = imgui.checkbox("Round", self.round)
        imgui.same_line()
        _, self.anim = imgui.checkbox("Anim", self.anim)
        imgui.begin_disabled(not rotates and gen is not None)
        imgui.set_next_item_width(em * 10)
        _, self.turns = imgui.drag_float("Rotate (turns)", self.turns, speed, -1.0, 1.0, "%.4f")
        imgui.same_line()
        _, self.untransform = imgui.checkbox("Untransform", self.untransform)
        imgui.end_disabled()
        imgui.same_line()
        changed = any(getattr(self, k) != v for k, v in self.defaults.items())
        imgui.begin_disabled(not changed)
        if imgui.button("Reset##eq"):
            for k, v in self.defaults.items():
                setattr(self, k, v)
        imgui.end_disabled()
        if gen is not None:
            self._update_view(gen)
            self.image.draw(imgui.get_content_region_avail().x)
            imgui.text_disabled(UNTRANSFORMED_CAPTION if self.untransform else CAPTION)
        imgui.separator()
        for m, label in METRIC_LABELS.items():
            imgui.begin_disabled(m == "eqr" and not rotates and gen is not None)
            _, self.chosen[m] = imgui.checkbox(label, self.chosen[m])
            imgui.end_disabled()
            imgui.same_line()
        imgui.set_next_item_width(em * 5)
        _, self.samples = imgui.input_int("samples", self.samples)
        self.samples = max(1, min(self.samples, 50000))
        job = self._metrics_job
        busy = job is not None and not job.done.is_set()
        if busy:
            imgui.progress_bar(job.count / max(job.total, 1), imgui.ImVec2(-em * 5, 0), job.progress_text())
            imgui.same_line()
            if imgui.button("Stop##eq"):
                self._stop.set()
        elif imgui.button("Compute metrics"):
            self.start_metrics()
        for m, v in self.results.items():
            imgui.text(f"{METRIC_LABELS[m]:<10} {v:7.2f} dB PSNR")
        imgui.end_disabled()
