"""Seam score: gradient energy across tile borders relative to comparable lines inside tiles.

For an image cut by a grid of spacing s, the squared difference between the two pixel columns that
straddle a vertical border is compared with the same quantity between columns straddling interior
lines (likewise rows). 1.0 means a border is statistically invisible; a visible seam scores > 1.

Which interior lines: a generator built from 2x upsamplings has gradient statistics that vary with
the pixel's phase modulo its upsampling periods, and tile borders all sit at phase 0. So by default
the reference lines are the grid's quarter lines (s/4, s/2, 3s/4), which share the border's phase
modulo every power of two up to s/4; ``reference="all"`` uses every interior line instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SeamEnergy:
    """Pooled sums per axis: border energy, border count, reference energy, reference count."""

    x: np.ndarray  # float64 [4], across vertical borders (horizontal differences)
    y: np.ndarray  # float64 [4], across horizontal borders

    def __add__(self, other: SeamEnergy) -> SeamEnergy:
        return SeamEnergy(self.x + other.x, self.y + other.y)

    @staticmethod
    def _ratio(s: np.ndarray) -> float:
        if s[1] == 0 or s[3] == 0 or s[2] == 0:
            return float("nan")
        return float((s[0] / s[1]) / (s[2] / s[3]))

    @property
    def score_x(self) -> float:
        return self._ratio(self.x)

    @property
    def score_y(self) -> float:
        return self._ratio(self.y)

    @property
    def score(self) -> float:
        """Both directions pooled."""
        return self._ratio(self.x + self.y)


def _reference_lines(n_lines: int, spacing: int, phase: np.ndarray, reference: str) -> np.ndarray:
    interior = phase != 0
    if reference == "all" or spacing % 4:
        return interior
    if reference != "matched":
        raise ValueError(f"unknown reference {reference!r}: use 'matched' or 'all'")
    return interior & (phase % (spacing // 4) == 0)


def _axis_energy(img: np.ndarray, spacing: int, offset: int, axis: int, reference: str) -> np.ndarray:
    d = np.diff(img, axis=axis)
    energy = np.square(d).sum(axis=tuple(i for i in range(img.ndim) if i != axis))  # per line
    # line i lies between pixels i and i + 1; it is a border when pixel i + 1 starts a cell
    phase = (np.arange(1, img.shape[axis]) - offset) % spacing
    border = phase == 0
    ref = _reference_lines(len(phase), spacing, phase, reference)
    per_line = img.size // img.shape[axis]
    return np.array([energy[border].sum(), border.sum() * per_line,
                     energy[ref].sum(), ref.sum() * per_line], np.float64)


def seam_energy(img: np.ndarray, spacing: int, offset: tuple[int, int] = (0, 0),
                reference: str = "matched") -> SeamEnergy:
    """Sums for an [H, W, C] image cut by a grid of ``spacing`` px whose lines start cells at pixel
    columns offset[0] + k * spacing and rows offset[1] + k * spacing."""
    a = np.asarray(img, np.float64)
    if a.ndim == 2:
        a = a[:, :, None]
    if spacing < 2:
        raise ValueError(f"grid spacing must be at least 2 px, got {spacing}")
    return SeamEnergy(_axis_energy(a, spacing, offset[0], 1, reference),
                      _axis_energy(a, spacing, offset[1], 0, reference))


def seam_score(img: np.ndarray, spacing: int, offset: tuple[int, int] = (0, 0),
               reference: str = "matched") -> float:
    """Seam score of an image for a grid of ``spacing`` px (1.0 = invisible)."""
    return seam_energy(img, spacing, offset, reference).score


def world_seam_samples(world, regions: int = 4, tiles_per_side: int = 4, seed: int = 0, spread: int = 64,
                       reference: str = "matched", progress=None) -> list[SeamEnergy]:
    """Seam sums of ``regions`` blocks of tiles_per_side^2 tiles placed at random across the world."""
    rng = np.random.default_rng(seed)
    t = world.tile_size
    samples = []
    for _ in range(regions):
        ix, iy = (int(v) for v in rng.integers(-spread, spread, 2))
        img = world.render(ix * t, iy * t, tiles_per_side * t, tiles_per_side * t)
        samples.append(seam_energy(img, t, (0, 0), reference))
        if progress:
            progress(1)
    return samples


def pool(samples: list[SeamEnergy]) -> SeamEnergy:
    """Sum of per-region seam sums."""
    total = samples[0]
    for e in samples[1:]:
        total = total + e
    return total


def seam_interval(samples: list[SeamEnergy], level: float = 0.95, draws: int = 2000,
                  seed: int = 0) -> tuple[float, float]:
    """Bootstrap interval of the pooled score over regions: gradient energy is heavy-tailed (one
    horizon or ridge dominates a region), so a single pooled number means little without it."""
    a = np.stack([e.x + e.y for e in samples])  # [regions, 4], both axes pooled
    rng = np.random.default_rng(seed)
    picks = a[rng.integers(0, len(a), (draws, len(a)))].sum(1)  # [draws, 4]
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = (picks[:, 0] / picks[:, 1]) / (picks[:, 2] / picks[:, 3])
    lo, hi = np.nanpercentile(scores, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)
