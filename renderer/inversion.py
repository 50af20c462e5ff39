"""Real images on the infinite canvas: inversion into the world's own latent fields.

Given images placed at world rectangles, fit every lattice cell the rendered window around them reads
(local latents, the style-lattice codes of the anchors it reaches, optionally per-layer noise),
starting from the world's own values, so the world shows each image in its rectangle. Nothing is
pasted: the generator renders everything, so the world continues each image beyond its rectangle
(outpainting comes free), and two images fitted in one window are connected by the cells between them
(inbetweening, as InfinityGAN's fused generation does offline).

Loss, on the images' rectangles only: L2 + L1 on pixels, a perceptual term on the features of a frozen
pretrained network when one is given (the app passes EfficientNet-Lite0's, shipped in a wheel), and a
prior that keeps every fitted field standard normal (mean 0, std 1 over its cells) so the surroundings
stay natural. Noise cells are renormalised after each step, as the StyleGAN2-ADA projector does; the
learning rate ramps up over the first 5% and down (cosine) over the last 25% of the steps.
The result is a PlaceImage edit: the fitted cells themselves, undoable and saved with the scene.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..models.errors import UserError
from .edits import CellBlock, PlaceImage, Rect

MAX_IMAGE_SIDE = 2048  # world px of one placed image (the fit renders the whole window at once)
MIN_IMAGE_SIDE = 16
MAX_WINDOW_PIXELS = 1 << 22  # the window around all images: 2048 x 2048


@dataclass(frozen=True)
class Target:
    """An image to show at world (x, y): float32 [h, w, 3] in [-1, 1], one pixel per world pixel."""

    pixels: np.ndarray
    x: int
    y: int
    name: str = "image"

    @property
    def rect(self) -> Rect:
        h, w = self.pixels.shape[:2]
        return (self.x, self.y, w, h)


@dataclass
class FitOptions:
    steps: int = 300
    lr: float = 0.05
    noise: bool = True  # fit the per-layer noise too (finer detail; renormalised every step)
    seconds: float | None = None  # a time budget: the schedule follows whichever of steps and time ends first
    pixel_weight: float = 1.0
    perceptual_weight: float = 0.05
    prior_weight: float = 0.05


@dataclass
class FitReport:
    step: int
    steps: int
    loss: float
    preview: np.ndarray | None = None  # float32 [H, W, 3] of the window, every preview_every steps
    action: PlaceImage | None = None  # the edit as fitted so far, at the steps asked for


@dataclass
class FitResult:
    action: PlaceImage
    window: Rect
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0


def load_target(path: str | Path, x: int, y: int, size: tuple[int, int] | None = None) -> Target:
    """An image file as a Target at (x, y), resized to ``size`` (w, h) world px when given."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            if im.width * im.height > 64 << 20:
                raise UserError(f"{path} is {im.width}x{im.height}: too large to place; scale it down first")
            img = im.convert("RGB")
    except FileNotFoundError:
        raise UserError(f"image {path} does not exist") from None
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise UserError(f"cannot read image {path}: {str(e).splitlines()[0][:120]}") from None
    w, h = size or img.size
    if not (MIN_IMAGE_SIDE <= w <= MAX_IMAGE_SIDE and MIN_IMAGE_SIDE <= h <= MAX_IMAGE_SIDE):
        raise UserError(f"{path.name} would cover {w}x{h} world px: give --size from {MIN_IMAGE_SIDE} to "
                        f"{MAX_IMAGE_SIDE} px per side")
    if (w, h) != img.size:
        img = img.resize((w, h), Image.Resampling.LANCZOS)
    pixels = np.asarray(img, np.float32) / 127.5 - 1.0
    return Target(pixels, int(x), int(y), path.name)


def fit_window(model, targets: list[Target]) -> Rect:
    """The window rendered while fitting: the targets' bounding box, aligned to the model's grid."""
    a = model.window_align
    x0 = min(t.x for t in targets)
    y0 = min(t.y for t in targets)
    x1 = max(t.x + t.pixels.shape[1] for t in targets)
    y1 = max(t.y + t.pixels.shape[0] for t in targets)
    x0, y0 = x0 // a * a, y0 // a * a
    x1, y1 = -(-x1 // a) * a, -(-y1 // a) * a
    return (x0, y0, x1 - x0, y1 - y0)


def fit_images(world, targets: list[Target], options: FitOptions | None = None,
               perceptual: Callable[[torch.Tensor], list[torch.Tensor]] | None = None,
               progress: Callable[[FitReport], None] | None = None,
               cancelled: Callable[[], bool] | None = None, preview_every: int = 0,
               checkpoints: tuple[int, ...] = ()) -> FitResult:
    """Fit the cells around ``targets`` in the world's current state; returns the PlaceImage edit
    (not applied: World.apply it, or the studio's history does). Reports at the step counts in
    ``checkpoints`` carry the edit as fitted so far."""
    o = options or FitOptions()
    model = world.model
    if not model.capabilities.inversion:
        raise UserError(f"{model.family} models cannot be inverted: load a native or InfinityGAN model")
    if not targets:
        raise UserError("nothing to place: give at least one image")
    for t in targets:
        h, w = t.pixels.shape[:2]
        if not (MIN_IMAGE_SIDE <= w <= MAX_IMAGE_SIDE and MIN_IMAGE_SIDE <= h <= MAX_IMAGE_SIDE):
            raise UserError(f"{t.name} covers {w}x{h} world px: images are placed at {MIN_IMAGE_SIDE} to "
                            f"{MAX_IMAGE_SIDE} px per side")
    wx, wy, ww, wh = window = fit_window(model, targets)
    if ww * wh > MAX_WINDOW_PIXELS:
        raise UserError(f"the images span {ww}x{wh} world px together: place them closer (at most "
                        f"{MAX_WINDOW_PIXELS} px in all), or one at a time")
    state = world.state
    latents, settings = state.latents, world.settings(state)
    ranges = model.window_cells(*window)
    fitted = [n for n in ranges if model.fields[n].group in ("local", "style")
              or (o.noise and model.fields[n].group == "noise")]
    params = {n: torch.from_numpy(latents.cells(model.fields[n], ranges[n]).copy()).requires_grad_(True)
              for n in fitted}
    # local latents beyond the window fade from fitted to the world's own over the network's margin,
    # so the fitted content hands over to the world gradually instead of ending in a block edge
    fade = {n: torch.from_numpy(_fade(model.fields[n], ranges[n], window)) for n in fitted
            if model.fields[n].group == "local"}
    own = {n: params[n].detach().clone() for n in fade}

    def values() -> dict[str, torch.Tensor]:
        return {n: own[n] + fade[n] * (v - own[n]) if n in fade else v for n, v in params.items()}

    noise_names = [n for n in fitted if model.fields[n].group == "noise"]
    crops = [(t.y - wy, t.x - wx, torch.from_numpy(t.pixels).permute(2, 0, 1)) for t in targets]
    target_features = None
    if perceptual is not None and o.perceptual_weight > 0:
        with torch.no_grad():
            target_features = [perceptual(p[None]) for _, _, p in crops]
    # the style codes reach one anchor spacing beyond the window: fitted at the full rate (the prior
    # keeps each code's norm), they carry the image's palette and light into its surroundings
    opt = torch.optim.Adam(params.values(), lr=o.lr)

    def edit() -> PlaceImage:
        now = values()
        blocks = tuple(CellBlock(n, ranges[n], now[n].detach().numpy().astype(np.float32).copy())
                       for n in fitted)
        return PlaceImage(blocks, tuple(t.rect for t in targets), tuple(t.name for t in targets))

    losses: list[float] = []
    t0 = time.perf_counter()
    for step in range(o.steps):
        if cancelled is not None and cancelled():
            raise UserError("placing the image was cancelled")
        t = step / o.steps  # progress: by steps, or by time when that runs out first
        if o.seconds is not None:
            t = max(t, (time.perf_counter() - t0) / o.seconds)
        if t >= 1:
            break
        for g in opt.param_groups:
            g["lr"] = o.lr * _ramp(t)
        current = values()
        img = model.render_window_from(*window, latents, settings, current)
        loss = torch.zeros(())
        for i, (dy, dx, target) in enumerate(crops):
            h, w = target.shape[1:]
            crop = img[:, dy:dy + h, dx:dx + w]
            diff = crop - target
            loss = loss + o.pixel_weight * (diff.square().mean() + diff.abs().mean())
            if target_features is not None:
                ours = perceptual(crop[None])
                loss = loss + o.perceptual_weight * sum(
                    (a - b).square().mean() for a, b in zip(ours, target_features[i], strict=True))
        for n in fitted:
            if n not in noise_names:  # standard normal: mean 0, std 1, and each cell's code of norm ~ sqrt(C)
                v = current[n]
                norms = v.flatten(1).norm(dim=0) / math.sqrt(v.shape[0])
                loss = loss + o.prior_weight * (v.mean().square() + (v.std() - 1.0).square()
                                                + (norms - 1.0).square().mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():  # noise stays white noise of unit variance
            for n in noise_names:
                v = params[n]
                v.sub_(v.mean()).div_(v.std().clamp_min(1e-6))
        losses.append(float(loss.detach()))
        if progress is not None:
            show = preview_every and (step % preview_every == 0 or step == o.steps - 1)
            preview = img.detach().clamp(-1, 1).permute(1, 2, 0).numpy().copy() if show else None
            now = edit() if step + 1 in checkpoints else None
            progress(FitReport(step + 1, o.steps, losses[-1], preview, now))
    return FitResult(edit(), window, losses, time.perf_counter() - t0, len(losses))


def _fade(spec, cells, window: Rect) -> np.ndarray:
    """[rows, cols] weights of the fitted values: 1 for cells meeting the window, falling linearly to
    0 at the outermost cells of the block (the world's own values there)."""
    x, y, w, h = window

    def along(i0: int, i1: int, lo: int, hi: int) -> np.ndarray:
        idx = np.arange(i0, i1)
        a0, a1 = spec.area(idx, idx + 1)
        gap = np.maximum(np.maximum(lo - a1, a0 - hi), 0).astype(np.float64)
        return 1.0 - gap / (gap.max() + spec.spacing)

    wy = along(cells.y0, cells.y1, y, y + h)
    wx = along(cells.x0, cells.x1, x, x + w)
    return (wy[:, None] * wx[None, :]).astype(np.float32)


def _ramp(t: float) -> float:
    """Learning-rate factor at progress t in [0, 1): linear up over 5%, cosine down over the last 25%."""
    down = min(1.0, (1.0 - t) / 0.25)
    return min(1.0, t / 0.05 + 1e-3) * 0.5 * (1.0 - math.cos(math.pi * down))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two [-1, 1] images compared as 8-bit pixels."""
    qa = np.clip(np.round((a + 1) * 127.5), 0, 255)
    qb = np.clip(np.round((b + 1) * 127.5), 0, 255)
    mse = float(np.mean((qa - qb) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)
