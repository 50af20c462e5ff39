"""Synthetic generators with a known answer, for checking the equivariance metrics and the panels."""

from __future__ import annotations

import numpy as np
import torch

from ...models.contract import Capabilities


class SinusoidGenerator:
    """Sum of band-limited sinusoids of the input-transformed image coordinates.

    Exactly translation- and rotation-equivariant (what an ideal StyleGAN3 is) when ``pinned`` is 0;
    ``pinned`` > 0 adds a pattern fixed to the output pixel grid that does not follow the transform,
    like a generator whose features depend on absolute position."""

    family = "sinusoids"
    capabilities = Capabilities(seams="frame", input_transform=True, noise=False, layer_capture=False,
                                style_fusion=False)

    def __init__(self, resolution: int = 64, components: int = 8, max_freq: float = 0.2, pinned: float = 0.0):
        self.resolution = resolution
        self.components = components
        self.max_freq = max_freq  # cycles per pixel; < 0.5 keeps every component below Nyquist
        self.pinned = pinned

    def _waves(self, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        k = self.components
        radius = rng.uniform(0.05, 1.0, k) * self.max_freq * self.resolution  # cycles per image
        angle = rng.uniform(0, 2 * np.pi, k)
        freqs = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)  # [K, 2]
        phases = rng.uniform(0, 2 * np.pi, k)
        colours = rng.uniform(-1, 1, (k, 3)) / k  # peak below 1: no clipping, which would alias
        return freqs, phases, colours

    def render_transformed(self, seed: int, transform: np.ndarray) -> torch.Tensor:
        """float32 [3, R, R]: pixel centres in image-size units (centre 0) mapped by ``transform``."""
        r = self.resolution
        u = (np.arange(r) + 0.5) / r - 0.5
        x, y = np.meshgrid(u, u, indexing="xy")
        m = np.asarray(transform, np.float64)
        px = m[0, 0] * x + m[0, 1] * y + m[0, 2]
        py = m[1, 0] * x + m[1, 1] * y + m[1, 2]
        freqs, phases, colours = self._waves(seed)
        fx, fy = freqs[:, 0, None, None], freqs[:, 1, None, None]
        arg = 2 * np.pi * (fx * px + fy * py) + phases[:, None, None]
        img = np.einsum("khw,kc->chw", np.cos(arg), colours)
        if self.pinned:
            img = img + self.pinned * np.cos(2 * np.pi * (7.3 * x + 3.1 * y) / 1.0)[None]
        return torch.from_numpy(img.astype(np.float32))
