"""Average power spectra of a model's world and of a dataset, as StyleGAN3's avg_spectra.py does.

Images are uint8 [R, R, 3] (model tiles are quantised like saved images), whitened with one scalar
mean/std (the dataset's when there is one, so model and data are comparable), multiplied by a 2D
Kaiser window normalised to unit energy, zero-padded to R * interp and accumulated as
|fft2|^2 averaged over channels and images in float64. With that normalisation unit-variance white
noise reads 0 dB at every frequency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .spectrum import kaiser_window

Progress = Callable[[int], None]


@dataclass
class AverageSpectrum:
    """Mean |fft2|^2 of whitened images; ``power`` is unshifted float64 [S, S], S = size * interp."""

    power: np.ndarray
    image_size: int
    count: int
    mean: float
    std: float
    beta: float
    interp: int

    def heatmap_db(self) -> np.ndarray:
        """10 log10(power), zero frequency moved to (S // 2, S // 2)."""
        return np.fft.fftshift(10.0 * np.log10(np.maximum(self.power, 1e-30)))

    def slices(self) -> dict[str, np.ndarray]:
        """0-degree (horizontal) and 45-degree (diagonal) slices from zero frequency outwards, in dB,
        with their frequencies in cycles per image."""
        hmap, c = self.heatmap_db(), self.power.shape[0] // 2
        idx = np.arange(c, self.power.shape[0])
        n = len(idx)
        step = self.image_size / self.power.shape[0]  # cycles per image per spectrum bin
        return {"freqs0": np.arange(n) * step, "slice0": hmap[c, idx],
                "freqs45": np.arange(n) * step * np.sqrt(2), "slice45": hmap[idx, idx]}

    def radial(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean power over rings one cycle-per-image wide -> (frequency, dB), up to Nyquist."""
        s = self.power.shape[0]
        f = np.fft.fftfreq(s) * self.image_size  # cycles per image, unshifted order
        r = np.hypot(f[:, None], f[None, :])
        ring = np.rint(r).astype(np.intp)
        nyq = self.image_size // 2
        sums = np.bincount(ring.ravel(), self.power.ravel(), minlength=nyq + 1)[:nyq + 1]
        counts = np.bincount(ring.ravel(), minlength=nyq + 1)[:nyq + 1]
        return np.arange(nyq + 1, dtype=np.float64), 10.0 * np.log10(np.maximum(sums / counts, 1e-30))


def image_moments(images: Iterable[np.ndarray]) -> tuple[float, float]:
    """Scalar mean and std over every pixel and channel, pooled in float64."""
    n = s1 = s2 = 0.0
    for img in images:
        a = np.asarray(img, np.float64)
        n, s1, s2 = n + a.size, s1 + a.sum(), s2 + np.square(a).sum()
    if n == 0:
        raise ValueError("no images to take statistics from")
    mean = s1 / n
    return float(mean), float(np.sqrt(max(s2 / n - mean * mean, 0.0)))


def average_spectrum(images: Iterable[np.ndarray], mean: float, std: float, beta: float = 8.0,
                     interp: int = 4, progress: Progress | None = None) -> AverageSpectrum:
    """Average power spectrum of square [R, R, C] images whitened with (mean, std)."""
    power, size, count = None, 0, 0
    for img in images:
        a = np.asarray(img, np.float64)
        if power is None:
            size = a.shape[0]
            window = kaiser_window(size, beta)
            window = window / np.sqrt(np.square(window).sum())
            window2d = np.outer(window, window)[None]
            power = np.zeros((size * interp, size * interp), np.float64)
        if a.shape[:2] != (size, size):
            raise ValueError(f"every image must be {size}x{size}, got {a.shape[1]}x{a.shape[0]}")
        x = (a.transpose(2, 0, 1) - mean) / std * window2d
        spec = np.fft.fft2(x, s=(size * interp, size * interp), axes=(1, 2))  # zero-pads bottom/right
        power += np.square(np.abs(spec)).mean(axis=0)
        count += 1
        if progress:
            progress(1)
    if power is None:
        raise ValueError("no images to average")
    return AverageSpectrum(power / count, size, count, mean, std, beta, interp)


# -- sources -------------------------------------------------------------------------------------

def sample_tiles(count: int, seed: int = 0, spread: int = 64):
    """``count`` distinct world tiles drawn uniformly from [-spread, spread)^2 (deterministic)."""
    from ...models.contract import Tile

    rng = np.random.default_rng(seed)
    side = 2 * spread
    if count > side * side:
        raise ValueError(f"{count} tiles do not fit in a {side}x{side} tile area: raise spread")
    flat = rng.choice(side * side, size=count, replace=False)
    return [Tile(int(i % side) - spread, int(i // side) - spread) for i in flat]


def world_tiles(world, tiles, store=None) -> Iterator[np.ndarray]:
    """uint8 tiles of a World, rendered one batch at a time (memory stays bounded); with a tile
    ``store`` (the studio's cache) the tiles it holds are taken from it."""
    from .pixels import tile_images

    return tile_images(world, tiles, store)


def dataset_images(dataset, count: int) -> Iterator[np.ndarray]:
    """The first ``count`` images of a dataset (``open_dataset``), as uint8 [R, R, 3]."""
    for i in range(min(count, len(dataset))):
        yield np.asarray(dataset[i])


def model_and_data_spectra(images: list[np.ndarray], real: list[np.ndarray] | None = None,
                           beta: float = 8.0, interp: int = 4) -> dict[str, AverageSpectrum]:
    """{"model": ..., "data": ...} average spectra whitened alike: with the data's statistics when
    there is data (so both are comparable), else the model's; a uniform set is whitened by 1e-6."""
    mean, std = image_moments(real if real is not None else images)
    out = {"model": average_spectrum(images, mean, max(std, 1e-6), beta, interp)}
    if real is not None:
        out["data"] = average_spectrum(real, mean, max(std, 1e-6), beta, interp)
    return out


def heatmap_row(spectra: dict[str, AverageSpectrum], lo: float = -40.0, hi: float = 20.0) -> np.ndarray:
    """uint8: the spectra's dB heatmaps side by side, coloured from ``lo`` to ``hi`` dB."""
    from .spectrum import colorize, side_by_side

    return side_by_side(colorize(sp.heatmap_db(), lo, hi) for sp in spectra.values())


PLOTS = (("0-degree slice (horizontal)", "freqs0", "slice0"),
         ("45-degree slice (diagonal)", "freqs45", "slice45"),
         ("radial profile (mean over rings)", None, None))


Curves = dict[str, tuple[np.ndarray, np.ndarray]]  # label -> (frequency in cycles / image, power in dB)


def plot_curves(spectra: dict[str, AverageSpectrum]) -> list[tuple[str, Curves]]:
    """What the Spectrum panel plots: per plot title, label -> (frequency, dB) as contiguous arrays."""
    plots = []
    for title, fx, fy in PLOTS:
        curves = {}
        for label, sp in spectra.items():
            if fx is None:
                f, db = sp.radial()
            else:
                sl = sp.slices()
                f, db = sl[fx], sl[fy]
            curves[label] = (np.ascontiguousarray(f), np.ascontiguousarray(db))
        plots.append((title, curves))
    return plots


# -- export --------------------------------------------------------------------------------------

def save_npz(path: str | Path, spectra: dict[str, AverageSpectrum]) -> Path:
    """One .npz: per label ``{label}_spectrum`` (unshifted, as avg_spectra.py), heatmap, slices and
    radial profile, plus the whitening statistics."""
    out: dict[str, np.ndarray] = {}
    for label, s in spectra.items():
        out[f"{label}_spectrum"] = s.power
        out[f"{label}_heatmap_db"] = s.heatmap_db().astype(np.float32)
        for k, v in s.slices().items():
            out[f"{label}_{k}"] = v
        out[f"{label}_radial_freqs"], out[f"{label}_radial_db"] = s.radial()
        out[f"{label}_stats"] = np.array([s.image_size, s.count, s.mean, s.std, s.beta, s.interp])
    path = Path(path)
    np.savez(path, labels=np.array(list(spectra)), **out)
    return path


def heatmap_png(path: str | Path, spectra: dict[str, AverageSpectrum], lo: float = -40.0,
                hi: float = 20.0, names: dict[str, str] | None = None) -> Path:
    """The labelled figure (``figure.spectrum_figure``): heatmaps titled by ``names`` (what the model
    and the data are), a dB colour bar, the radial profiles with a legend."""
    from .figure import spectrum_figure

    return spectrum_figure(path, spectra, names, lo, hi)
