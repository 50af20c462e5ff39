"""Translation equivariance of native models: move the world's inputs by d px and see whether the
output moves by d px.

A native model has no input transform, but everything it reads is anchored to world coordinates:
the local latents and noise on lattices of the layer grids, coordinate features and style weights
as continuous functions of position. Moving the world by d px therefore means: coordinates and
style weights evaluated at p - d (exact), the lattice values moved by d / spacing cells with the
band-limited (Lanczos) shift of ``equivariance.fractional_shift``. A shift by whole periods of the
coarsest lattice (the synthesis input, ``period`` px) only re-indexes cells, so the render is
exactly the shifted render (a padding-free model renders every window of the world alike); any
other shift, integer or fractional, moves lattice values between cells and measures how
translation-equivariant the layers are. The metrics of ``equivariance`` then apply unchanged.
"""

from __future__ import annotations

import numpy as np
import torch

from ...models.contract import RenderSettings
from ...models.lattice import HashedLatents
from ...models.styles import LatticeStyleMap
from .equivariance import fractional_shift

MAX_SHIFT = 2  # periods of the coarsest lattice a world may be moved by


class WorldShiftGenerator:
    """A native model as a TransformableGenerator for translations (EQ-T, EQ-T frac): sample
    ``seed`` is a ``resolution`` px window near the horizon of the world of that seed."""

    rotation = False  # a world has no band-limited rotation of its lattices: EQ-R needs StyleGAN3

    def __init__(self, model, resolution: int = 64):
        self.model, self.resolution = model, int(resolution)
        plan = model.plans[0]
        self.period = plan.input.scale  # px: the coarsest lattice the network reads
        assert self.resolution % self.period == 0, "windows are whole lattice cells"
        # shifts of up to one period each way reach every sub-lattice phase
        self.translate_max = self.period / self.resolution
        # context around the window: lattice values moved up to MAX_SHIFT periods, with their Lanczos
        # taps, stay valid wherever the window's pixels read them
        self.pad = self.period * 6
        self._styles = LatticeStyleMap()

    def origin(self, seed: int) -> tuple[int, int]:
        """The sample's window: anywhere along x, its top within one window above the horizon (y = 0)."""
        rng = np.random.default_rng(seed)
        p, r = self.period, self.resolution
        return p * int(rng.integers(-4096, 4096)), p * int(rng.integers(-r // p, 1))

    @torch.no_grad()
    def render_transformed(self, seed: int, transform: np.ndarray) -> torch.Tensor:
        """float32 [3, R, R], unclamped: the window with the world moved by the translation of
        ``transform`` (content by -transform[:2, 2] windows, as StyleGAN3's input transform)."""
        m = np.asarray(transform, np.float64)
        if not np.allclose(m[:2, :2], np.eye(2)):
            raise ValueError("a native model's world can be moved (translated), not rotated")
        r, pad = self.resolution, self.pad
        dx, dy = -m[0, 2] * r, -m[1, 2] * r
        if max(abs(dx), abs(dy)) > MAX_SHIFT * self.period:
            raise ValueError(f"shift ({dx:g}, {dy:g}) px: at most {MAX_SHIFT * self.period} px each way")
        model, cfg, plan = self.model, self.model.cfg, self.model.plans[0]
        x0, y0 = self.origin(seed)
        x, y, n = x0 - pad, y0 - pad, r + 2 * pad
        latents = HashedLatents(seed)
        inp = model.window_inputs(x, y, n, n, latents, RenderSettings())
        local = inp["x"][:cfg.local_channels]
        inp["x"] = np.concatenate([_move(local, dx / plan.input.scale, dy / plan.input.scale),
                                   _coords(model, plan.input, x, y, n, dx, dy)])
        inp["noises"] = [None if a is None else _move(a, dx / g.scale, dy / g.scale)
                         for a, g in zip(inp["noises"], plan.conv_noise, strict=True)]
        grids = plan.conv_styles + plan.rgb_styles
        cx = [g.centres(x, n).numpy() - dx for g in grids]
        cy = [g.centres(y, n).numpy() - dy for g in grids]
        box = (min(c.min() for c in cx), min(c.min() for c in cy), max(c.max() for c in cx),
               max(c.max() for c in cy))
        style = self._styles.plan(box, latents, model.fields["style"])
        weights = [style.weights(a, b) for a, b in zip(cx, cy, strict=True)]
        inp["z"] = style.z
        k = len(plan.conv_styles)
        inp["conv_weights"], inp["rgb_weights"] = weights[:k], weights[k:]
        from ...models.native.model import stack_window_inputs

        b = stack_window_inputs([inp], model.device)
        rgb = model.generator(b["x"], b["z"], b["conv_weights"], b["rgb_weights"], b["noises"])
        o = -plan.output.offset + pad
        return rgb[0, :, o:o + r, o:o + r].float().cpu()


def world_shift_generator(model) -> WorldShiftGenerator | None:
    """The translation-only view of a native model, None for other families."""
    from ...models.native.model import NativeModel

    return WorldShiftGenerator(model) if isinstance(model, NativeModel) else None


def _move(a: np.ndarray, cx: float, cy: float) -> np.ndarray:
    """Lattice values [C, H, W] moved by (cx, cy) cells: exact for whole cells, Lanczos otherwise."""
    h, w = a.shape[-2:]
    t = torch.from_numpy(np.ascontiguousarray(a, np.float32))[None]
    return fractional_shift(t, cx / w, cy / h)[0][0].numpy()


def _coords(model, grid, x: int, y: int, n: int, dx: float, dy: float) -> np.ndarray:
    from ...models.native.layers import coordinate_features

    cfg = model.cfg
    return coordinate_features(grid.centres(x, n).numpy() - dx, grid.centres(y, n).numpy() - dy,
                               cfg.style_spacing, cfg.coord_octaves, cfg.vertical, cfg.vertical_scales)
