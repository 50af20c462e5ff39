"""Power spectrum of an image as the StyleGAN3 visualizer shows it, and the colormap for it.

An image here is float [H, W, C] (what ``World.render`` returns) or uint8 [H, W, C]. The spectrum
is centred (zero frequency at (H // 2, W // 2)) and expressed in dB relative to its mean, so a
flat spectrum reads 0 dB everywhere whatever the image's scale.
"""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114])  # Rec. 601 weights: "luminance only" ignores colour

# Anchor colours of a perceptually ordered dark-blue -> teal -> green -> yellow ramp (viridis-like);
# interpolated to 256 entries below. Ordered lightness keeps dB levels readable in grey prints too.
_ANCHORS = np.array([
    (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
    (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)], np.float64)


def _build_colormap(n: int = 256) -> np.ndarray:
    pos = np.linspace(0.0, 1.0, len(_ANCHORS))
    t = np.linspace(0.0, 1.0, n)
    table = np.stack([np.interp(t, pos, _ANCHORS[:, c]) for c in range(3)], axis=1)
    return np.rint(table).astype(np.uint8)


COLORMAP = _build_colormap()  # uint8 [256, 3]


def kaiser_window(n: int, beta: float) -> np.ndarray:
    """Symmetric Kaiser window of length n (torch.kaiser_window with periodic=False)."""
    return np.kaiser(n, beta) if n > 1 else np.ones(n)


def as_channels(img: np.ndarray, mode: str = "all") -> np.ndarray:
    """[H, W, C] image -> float64 [C', H, W]: every channel ("all") or Rec. 601 luminance."""
    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 2:
        a = a[:, :, None]
    assert a.ndim == 3, f"expected an [H, W, C] image, got shape {a.shape}"
    if mode == "luminance":
        if a.shape[2] != 3:
            raise ValueError(f"luminance needs 3 channels, the image has {a.shape[2]}")
        return (a @ LUMA)[None]
    if mode != "all":
        raise ValueError(f"unknown channel mode {mode!r}: use 'all' or 'luminance'")
    return a.transpose(2, 0, 1)


def power_spectrum(img: np.ndarray, beta: float = 8.0, mode: str = "all") -> np.ndarray:
    """Centred power spectrum float64 [H, W] of an [H, W, C] image.

    Per channel: subtract the spatial mean, multiply by a Kaiser window along H and along W
    (not normalised), |fft2|^2; then sum over channels and roll zero frequency to the centre."""
    sig = as_channels(img, mode)
    c, h, w = sig.shape
    sig = sig - sig.mean(axis=(1, 2), keepdims=True)
    sig = sig * kaiser_window(h, beta)[None, :, None] * kaiser_window(w, beta)[None, None, :]
    power = np.square(np.abs(np.fft.fft2(sig, axes=(1, 2)))).sum(axis=0)
    return np.roll(power, (h // 2, w // 2), axis=(0, 1))


def to_db(power: np.ndarray, reference: float | None = None) -> np.ndarray:
    """10 log10(P / reference); the reference defaults to mean(P) (the visualizer's scale)."""
    ref = float(np.mean(power)) if reference is None else float(reference)
    tiny = np.finfo(np.float64).tiny
    return 10.0 * np.log10(np.maximum(power, tiny) / max(ref, tiny))


def colorize(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map values in [lo, hi] (clipped) through COLORMAP -> uint8 [..., 3]."""
    t = np.clip((np.asarray(values, np.float64) - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    return COLORMAP[np.rint(t * (len(COLORMAP) - 1)).astype(np.intp)]


def spectrum_image(img: np.ndarray, beta: float = 8.0, db_range: float = 50.0,
                   mode: str = "all") -> np.ndarray:
    """The visualizer's FFT view: uint8 [H, W, 3], -range dB .. +range dB around the mean power."""
    return colorize(to_db(power_spectrum(img, beta, mode)), -db_range, db_range)


def side_by_side(images, gap: int = 4, grey: int = 30) -> np.ndarray:
    """uint8 [H, sum W + gaps, 3]: images of one height in a row, parted by ``gap`` px of dark grey."""
    images = list(images)
    bar = np.full((images[0].shape[0], gap, 3), grey, np.uint8)
    row = [part for img in images for part in (img, bar)][:-1]
    return np.concatenate(row, axis=1)


def region_spectrum(pixels: np.ndarray, beta: float = 8.0, db_range: float = 50.0,
                    luminance: bool = False) -> np.ndarray:
    """The Spectrum panel's strip: uint8 pixels of a region | their FFT view (``spectrum_image``)."""
    fft = spectrum_image(pixels, beta, db_range, "luminance" if luminance else "all")
    return side_by_side([pixels, fft])


def peak_frequency(power: np.ndarray) -> tuple[int, int]:
    """(fy, fx) in FFT bins of the strongest component of a centred spectrum (signed)."""
    h, w = power.shape
    iy, ix = np.unravel_index(int(np.argmax(power)), power.shape)
    return int(iy) - h // 2, int(ix) - w // 2
