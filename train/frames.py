"""Training frames: windows of the infinite world at random offsets, fed exactly as rendering feeds them.

A frame is an R x R window of world pixels. Its x is drawn uniformly over one style-anchor period
(base-aligned, as every rendered tile is), so anchors sit anywhere in the frame and frames span
neighbouring tiles and anchors (ALIS). Its top row sits where the real images' rows sit: at the
horizon convention of the procedural data (a fixed world y, possibly not base-aligned: the frame
is then cut from a taller aligned window), or uniformly in a configurable band of world y.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from infiniscape.models.contract import RenderSettings
from infiniscape.models.native.model import NativeModel, stack_window_inputs

from .procedural import horizon_row


class FreshLatents:
    """A LatentSource of brand-new standard normals on every call (i.i.d. like the hashed lattice,
    but ~30x cheaper than hashing every noise pixel; training never revisits a scene)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def cells(self, spec, cells) -> np.ndarray:
        return self.rng.standard_normal((spec.channels,) + cells.shape, dtype=np.float32)


@dataclass(frozen=True)
class VerticalRange:
    """Where frames are cut vertically over the whole range the studio shows: the world y of a
    frame's top row is drawn from ``near`` (the landscape band around the horizon) with probability
    ``p_near``, else evenly from [-extent, extent - frame]; multiples of ``align``. The real source
    and the generator's frames draw from this one distribution, so every height is judged."""

    near: tuple[int, int]  # top rows of frames inside the reference landscape (low, high)
    extent: int  # half-height of the whole range, world px
    frame: int  # frame height, px
    align: int = 1
    p_near: float = 0.5

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        a = self.align
        near = rng.integers(-(-self.near[0] // a), self.near[1] // a + 1, n)
        far = rng.integers(-(self.extent // a), (self.extent - self.frame) // a + 1, n)
        return np.where(rng.random(n) < self.p_near, near, far) * a

    @classmethod
    def studio(cls, frame: int, scene_height: int | None, extent: int, align: int = 1) -> VerticalRange:
        """Frames over +-extent px about the horizon of procedural landscapes laid out for
        ``scene_height`` px (default: the frame), the near band being the landscape itself."""
        scene = scene_height or frame
        h0 = horizon_row(scene)
        return cls(near=(-h0, max(-h0, scene - h0 - frame)), extent=extent, frame=frame, align=align)


def default_top(resolution: int, vertical: str, style_spacing: int, horizon_row: int | None):
    """World y of a frame's top row: fixed at the horizon when it is known, else a band.

    Without a known horizon, landscapes are assumed to have theirs near 60 % of the height (the
    procedural convention) give or take an eighth of the frame; periodic (texture) configs use
    the whole vertical anchor period."""
    if vertical == "periodic":
        return (0.0, float(style_spacing))
    if horizon_row is not None:
        return float(-horizon_row)
    centre = -round(0.6 * resolution)
    return (centre - resolution / 8, centre + resolution / 8)


class FrameSampler:
    """Draws frame origins and renders frames (with gradients when enabled) for a native model."""

    def __init__(self, model: NativeModel, resolution: int, top: float | tuple[float, float]):
        self.model = model
        self.cfg = model.cfg
        self.base = self.cfg.base_scale
        if resolution % self.base:
            raise ValueError(f"resolution {resolution} is not a multiple of the config's base scale "
                             f"{self.base}: pick a multiple of {self.base}")
        self.resolution = int(resolution)
        self.top = top
        self.settings = RenderSettings()

    def draw_origins(self, rng: np.random.Generator, n: int, x_shift: int = 0) -> list[tuple[int, int]]:
        """n frame origins (world x, y of the top-left pixel); x_shift moves them all (far-away FID)."""
        b, period = self.base, self.cfg.style_spacing
        xs = rng.integers(0, period // b, n) * b + x_shift
        if isinstance(self.top, VerticalRange):
            ys = self.top.draw(rng, n)
        elif isinstance(self.top, tuple):
            lo, hi = math.ceil(self.top[0] / b), math.floor(self.top[1] / b)
            ys = rng.integers(lo, max(lo, hi) + 1, n) * b
        else:
            ys = np.full(n, int(round(self.top)))
        return [(int(x), int(y)) for x, y in zip(xs, ys, strict=True)]

    def frames(self, generator, origins: list[tuple[int, int]], latents: list, width: int | None = None,
               update_w_avg: bool = False, all_levels: bool = False):
        """Frames [N, 3, R, width] in roughly [-1, 1] (not clamped, so gradients flow).

        ``latents[i]`` is the LatentSource of frame i. Each frame is computed from the aligned
        window that covers it, exactly as a render of those world pixels would be. With
        ``all_levels`` (frames, levels): levels[0] is that aligned window [N, 3, h, width] and
        levels[k] its level k = 1.. [N, 3, h / 2^k, width / 2^k]."""
        r, w, b = self.resolution, width or self.resolution, self.base
        if w % b or origins[0][0] % b:
            raise ValueError(f"frame width and x must be multiples of {b}")
        dy = {y % b for _, y in origins}
        assert len(dy) == 1, "frames of one batch share their offset to the base grid"
        dy = dy.pop()
        h = -(-(dy + r) // b) * b  # aligned window covering the frame's rows
        inputs = [self.model.window_inputs(x, y - dy, w, h, lat, self.settings)
                  for (x, y), lat in zip(origins, latents, strict=True)]
        device = next(generator.parameters()).device
        batch = stack_window_inputs(inputs, device)
        rgb = generator(batch["x"], batch["z"], batch["conv_weights"], batch["rgb_weights"], batch["noises"],
                        truncation=self.settings.truncation, update_w_avg=update_w_avg, all_levels=all_levels)
        o = -self.model.plan.output.offset
        if not all_levels:
            return rgb[:, :, o + dy:o + dy + r, o:o + w]  # [N, 3, R, W]
        levels = [rgb[0][:, :, o:o + h, o:o + w]]
        for k, level in enumerate(rgb[1:], start=1):
            g = self.model.plan.rgb_styles[len(rgb) - 1 - k]  # level k is read at stage S - 1 - k
            o = -g.offset - 1  # its 3x3 head's output starts one pixel in
            levels.append(level[:, :, o:o + (h >> k), o:o + (w >> k)])
        return levels[0][:, :, dy:dy + r], levels


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] float NCHW -> uint8 NHWC (the rounding StyleGAN uses for samples and metrics)."""
    x = (images.detach().float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def grid_image(images: np.ndarray, cols: int) -> np.ndarray:
    """uint8 [N, H, W, 3] -> one uint8 grid image, row-major, padded with black tiles."""
    n, h, w, c = images.shape
    rows = -(-n // cols)
    out = np.zeros((rows * h, cols * w, c), np.uint8)
    for i, img in enumerate(images):
        out[(i // cols) * h:(i // cols + 1) * h, (i % cols) * w:(i % cols + 1) * w] = img
    return out
