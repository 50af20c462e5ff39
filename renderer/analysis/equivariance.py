"""Equivariance metrics EQ-T (integer), EQ-T (fractional) and EQ-R, as defined by StyleGAN3.

A generator is rendered once with the identity input transform and once transformed; the first
image, moved by an ideal operator (integer shift, Lanczos fractional shift, band-limited rotation),
is the reference for the second. Squared errors and valid-pixel counts are pooled over all samples
in float64 and reported as PSNR = 20 log10(2) - 10 log10(MSE) for images in [-1, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F

from ...ops.upfirdn2d import filter2d, upsample2d

METRICS = ("eqt_int", "eqt_frac", "eqr")


@runtime_checkable
class TransformableGenerator(Protocol):
    """A generator that renders with a user input transform (StyleGAN3's ``synthesis.input``).

    ``transform`` is the 3x3 input transform in image-size units centred on the image: the image
    rendered with translation column -t shows the content moved by +t image widths, and with
    ``rotation_matrix(-angle)`` the content rotated by ``angle``. Same seed, same latents and noise."""

    resolution: int

    def render_transformed(self, seed: int, transform: np.ndarray) -> torch.Tensor:
        """float32 [3, resolution, resolution], about [-1, 1]; not clamped (StyleGAN3's metric scores the
        raw output, and clamping would hide errors beyond the range)."""
        ...


def rotation_matrix(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def translation_matrix(tx: float, ty: float) -> np.ndarray:
    """The input transform that moves the content by (+tx, +ty) image widths."""
    m = np.eye(3)
    m[:2, 2] = (-tx, -ty)
    return m


# -- ideal operators on [N, C, H, W] ------------------------------------------------------------

def integer_shift(x: torch.Tensor, tx: float, ty: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Content moved by round(t * size) whole pixels, zero fill; returns (image, validity mask)."""
    h, w = x.shape[-2:]
    dx, dy = round(float(tx) * w), round(float(ty) * h)
    out, mask = torch.zeros_like(x), torch.zeros_like(x)
    if abs(dx) < w and abs(dy) < h:
        src = x[..., max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
        out[..., max(dy, 0):h - max(-dy, 0), max(dx, 0):w - max(-dx, 0)] = src
        mask[..., max(dy, 0):h - max(-dy, 0), max(dx, 0):w - max(-dx, 0)] = 1
    return out, mask


def sinc(x: torch.Tensor) -> torch.Tensor:
    return torch.special.sinc(x)


def _lanczos_taps(frac: float, a: int) -> torch.Tensor:
    """Weights of source offsets k = -(a-1) .. a for a shift by ``frac`` in [0, 1), sum 1."""
    d = torch.arange(-(a - 1), a + 1, dtype=torch.float32) - frac
    taps = sinc(d) * sinc(d / a)
    return taps / taps.sum()


def _shift_axis(x: torch.Tensor, shift: float, a: int, dim: int) -> tuple[torch.Tensor, int, int]:
    """y[j] = sum_k x[j - i - k] * taps[k] with i = floor(shift); zero outside. Also the range of j
    whose taps all fall inside the image (the mask)."""
    n = x.shape[dim]
    i = math.floor(shift)
    taps = _lanczos_taps(shift - i, a)
    out = torch.zeros_like(x)
    for k, wk in zip(range(-(a - 1), a + 1), taps.tolist(), strict=True):
        s = i + k  # output j reads source j - s
        lo, hi = max(s, 0), min(n + s, n)
        if lo < hi:
            out.narrow(dim, lo, hi - lo).add_(x.narrow(dim, lo - s, hi - lo), alpha=wk)
    return out, max(i + a, 0), min(n + i - (a - 1), n)


def fractional_shift(x: torch.Tensor, tx: float, ty: float, a: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Content moved by (tx, ty) image widths with a separable Lanczos-windowed sinc (a lobes);
    the mask keeps pixels whose taps all read the image."""
    h, w = x.shape[-2:]
    y, x0, x1 = _shift_axis(x, float(tx) * w, a, dim=-1)
    y, y0, y1 = _shift_axis(y, float(ty) * h, a, dim=-2)
    mask = torch.zeros_like(x)
    if x0 < x1 and y0 < y1:
        mask[..., y0:y1, x0:x1] = 1
    return y, mask


def bandlimit_filter(mat: np.ndarray, a: int = 3, amax: int = 16, aflt: int = 64,
                     up: int = 4) -> torch.Tensor:
    """2D FIR (odd size 2*amax*up - 1) that band-limits to the Nyquist square of both the input and
    the affinely transformed output grid: product of two sinc pairs, convolved, times the
    convolution of their Lanczos windows; each of the up^2 polyphase components sums to 1/up^2."""
    assert a <= amax < aflt
    m = np.asarray(mat, np.float64)[:2, :2]
    n = 2 * aflt * up - 1
    t = (np.arange(n) - (aflt * up - 1)) / up  # sample positions in pixels, 0 at the centre
    yi, xi = np.meshgrid(t, t, indexing="ij")
    xo, yo = m[0, 0] * xi + m[0, 1] * yi, m[1, 0] * xi + m[1, 1] * yi

    def lanczos(v):
        v = np.abs(v) / a
        return np.where(v < 1, np.sinc(v), 0.0)

    def circular_conv(p, q):
        # centre to index 0, multiply spectra, centre again: linear convolution for compact kernels
        sp, sq = np.fft.fft2(np.fft.ifftshift(p)), np.fft.fft2(np.fft.ifftshift(q))
        return np.fft.fftshift(np.fft.ifft2(sp * sq).real)

    f = circular_conv(np.sinc(xi) * np.sinc(yi), np.sinc(xo) * np.sinc(yo))
    f = f * circular_conv(lanczos(xi) * lanczos(yi), lanczos(xo) * lanczos(yo))
    c = (aflt - amax) * up
    f = np.pad(f[c:n - c, c:n - c], ((0, 1), (0, 1)))  # [2*amax*up, 2*amax*up]: whole phases
    phases = f.reshape(2 * amax, up, 2 * amax, up)
    phases = phases / phases.sum(axis=(0, 2), keepdims=True) / up ** 2
    return torch.from_numpy(phases.reshape(2 * amax * up, 2 * amax * up)[:-1, :-1].astype(np.float32))


def affine_resample(x: torch.Tensor, mat: np.ndarray, up: int = 4, a: int = 3,
                    amax: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Content moved by ``mat`` (a point p of ``x`` lands at mat @ p, image-size units centred on the
    image): up-x band-limited upsampling, bilinear sampling, and the mask of output pixels whose filter
    support lay inside the image."""
    n, _, h, w = x.shape
    f = bandlimit_filter(mat, a=a, amax=amax, up=up)
    p = f.shape[0] // 2
    inv = np.linalg.inv(np.asarray(mat, np.float64))
    theta = inv[:2].copy()
    # affine_grid works in [-1, 1] (twice image units); the upsampled image is padded by p fine px
    # and its pixel centres sit 1/(2 up) px to the right of the source's, hence the small shift.
    theta[:, 2] *= 2
    theta[0, 2] += 1 / up / w
    theta[1, 2] += 1 / up / h
    theta[0] *= w / (w + 2 * p / up)
    theta[1] *= h / (h + 2 * p / up)
    grid = F.affine_grid(torch.from_numpy(theta).float()[None].expand(n, 2, 3), list(x.shape),
                         align_corners=False)
    y = upsample2d(x, f, up=up, padding=p)
    out = F.grid_sample(y, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    valid = torch.zeros_like(y)
    c = 2 * p + 1
    valid[..., c:-c, c:-c] = 1
    mask = F.grid_sample(valid, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return out, mask


def rotate(x: torch.Tensor, angle: float, a: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Content rotated by ``angle`` radians, band-limited (StyleGAN3's R_alpha)."""
    return affine_resample(x, rotation_matrix(angle), a=a, amax=2 * a)


def bandlimit(x: torch.Tensor, mat: np.ndarray, a: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """The band limit that resampling by ``mat`` imposes, without moving anything; the mask keeps pixels
    whose filter support lay inside the image."""
    f = bandlimit_filter(mat, a=a, amax=2 * a, up=1)
    y = filter2d(x, f)
    c = f.shape[0] // 2
    mask = torch.zeros_like(y)
    mask[..., c:-c, c:-c] = 1
    return y, mask


def pseudo_rotate(x: torch.Tensor, angle: float, a: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """The band limit a rotation by ``angle`` imposes, without rotating (R*_alpha)."""
    return bandlimit(x, rotation_matrix(-angle), a=a)


def untransform(x: torch.Tensor, transform: np.ndarray, a: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """The StyleGAN3 visualizer's "Untransform": an image rendered with input ``transform``, resampled by
    that same matrix, has its content back where the identity render has it (band-limited like
    ``bandlimit(x, transform)``); returns (image, mask)."""
    return affine_resample(x, transform, a=a, amax=2 * a)


# -- the metrics --------------------------------------------------------------------------------

def psnr(sq_error_sum: float, count: float) -> float:
    """PSNR in dB of images in [-1, 1] from a pooled squared-error sum and pixel count."""
    mse = sq_error_sum / max(count, 1e-300)
    return float("inf") if mse <= 0 else 20 * math.log10(2) - 10 * math.log10(mse)


def equivariance_metrics(gen: TransformableGenerator, metrics: Sequence[str] = METRICS, samples: int = 50,
                         seed: int = 0, translate_max: float | None = None, rotate_max: float = 1.0,
                         progress: Callable[[int, int], None] | None = None,
                         should_stop: Callable[[], bool] | None = None) -> dict[str, float]:
    """PSNR (dB) per metric over ``samples`` seeds; t ~ U(-translate_max, translate_max)^2 image
    widths (default: the generator's own range where it has one, as a moved world does, else
    StyleGAN3's 0.125), angle ~ U(-pi, pi) * rotate_max. ``progress(done, total)`` after every
    sample; ``should_stop()`` true ends early with what was pooled so far."""
    if translate_max is None:
        translate_max = getattr(gen, "translate_max", 0.125)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(f"unknown equivariance metric {unknown}: choose from {', '.join(METRICS)}")
    rng = torch.Generator().manual_seed(seed)
    res = gen.resolution
    sums = {m: [0.0, 0.0] for m in metrics}

    def pool(name: str, ref: torch.Tensor, img: torch.Tensor, mask: torch.Tensor) -> None:
        sums[name][0] += float((ref - img).double().square().mul(mask.double()).sum())
        sums[name][1] += float(mask.double().sum())

    def translation() -> torch.Tensor:
        return (torch.rand(2, generator=rng, dtype=torch.float64) * 2 - 1) * translate_max

    for i in range(samples):
        if should_stop and should_stop():
            break
        s = seed + i
        orig = gen.render_transformed(s, np.eye(3)).float()[None]
        if "eqt_int" in metrics:
            t = torch.round(translation() * res) / res
            img = gen.render_transformed(s, translation_matrix(*t.tolist())).float()[None]
            ref, mask = integer_shift(orig, *t.tolist())
            pool("eqt_int", ref, img, mask)
        if "eqt_frac" in metrics:
            t = translation()
            img = gen.render_transformed(s, translation_matrix(*t.tolist())).float()[None]
            ref, mask = fractional_shift(orig, *t.tolist())
            pool("eqt_frac", ref, img, mask)
        if "eqr" in metrics:
            angle = float((torch.rand((), generator=rng, dtype=torch.float64) * 2 - 1) * rotate_max * math.pi)
            img = gen.render_transformed(s, rotation_matrix(-angle)).float()[None]
            ref, ref_mask = rotate(orig, angle)
            pseudo, pseudo_mask = pseudo_rotate(img, angle)
            pool("eqr", ref, pseudo, ref_mask * pseudo_mask)
        if progress:
            progress(i + 1, samples)
    return {m: psnr(*sums[m]) for m in metrics}


def transformable(model, metrics: Sequence[str] = ()) -> TransformableGenerator:
    """What the metrics render: the model itself when it has an input transform, a native model's
    world moved by translations (``world_shift``: EQ-T only), else a UserError that says so."""
    from ...models.errors import UserError
    from .world_shift import world_shift_generator

    caps = getattr(model, "capabilities", None)
    if isinstance(model, TransformableGenerator) and (caps is None or caps.input_transform):
        return model
    family = getattr(model, "family", type(model).__name__)
    if caps is not None and caps.input_transform:
        raise UserError(f"the {family} model has an input transform but no "
                        "render_transformed(seed, transform) "
                        "for the equivariance metrics yet")
    shifted = world_shift_generator(model)
    if shifted is None:
        raise UserError(f"the {family} model has no input transform, so equivariance cannot be measured: "
                        "load a StyleGAN3 network")
    if "eqr" in metrics:
        raise UserError(f"the {family} model has no input transform to rotate: eqr needs a StyleGAN3 "
                        "network (eqt_int and eqt_frac move its world)")
    return shifted


def view_generator(model) -> TransformableGenerator | None:
    """What the Equivariance panel moves: the model when it renders with an input transform, a native
    model's world moved by translations (``world_shift``), else None (the panel is greyed out)."""
    from .world_shift import world_shift_generator

    caps = getattr(model, "capabilities", None)
    if caps is not None and caps.transformed_frames:
        return model
    return world_shift_generator(model) if model is not None else None


def difference_strip(gen: TransformableGenerator, seed: int, tx: float, ty: float, angle: float,
                     whole_pixels: bool, untransformed: bool = False) -> np.ndarray:
    """uint8 [R, 3R + 8, 3]: transformed render | ideal reference | |difference| x 4 (masked).

    ``untransformed`` compares in the original frame instead (the StyleGAN3 visualizer's Untransform): the
    render moved back by its own input transform | the identity render under the same band limit | x4."""
    from .spectrum import side_by_side

    orig = gen.render_transformed(seed, np.eye(3)).float()[None]
    transform = rotation_matrix(-angle) @ translation_matrix(tx, ty) if angle else translation_matrix(tx, ty)
    img = gen.render_transformed(seed, transform).float()[None]
    if untransformed:
        img, mask = untransform(img, transform)
        ref, rmask = bandlimit(orig, transform)
        mask = mask * rmask
    elif angle:  # rotation, then translation, as one band-limited resample (R_alpha of EQ-R when t = 0)
        ref, mask = affine_resample(orig, np.linalg.inv(transform), amax=6)
        img, pmask = pseudo_rotate(img, angle)  # compare what survives the rotation's band limit
        mask = mask * pmask
    else:
        ref, mask = (integer_shift if whole_pixels else fractional_shift)(orig, tx, ty)
    diff = (ref - img).abs() * mask * 4 - 1

    def u8(x: torch.Tensor) -> np.ndarray:
        return np.clip(np.rint((x[0].permute(1, 2, 0).numpy() + 1) * 127.5), 0, 255).astype(np.uint8)

    return side_by_side([u8(img), u8(ref * mask), u8(diff)])
