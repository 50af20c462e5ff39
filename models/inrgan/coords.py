"""INR-GAN coordinate embeddings: what each pixel of a multi-scale level knows about where it is.

Every level of the INR sees, besides the upsampled features, sin/cos of its pixel coordinates projected on
fixed logarithmic wavefronts (periods 4 / 2^k along the axes and diagonals), on fixed random Gaussian
frequencies, optionally on learned or w-predicted frequencies, plus learned per-pixel constants
(CIPS-style). Names follow the official state dict: `coord_fuser.log_basis`, `.random_basis`, `.const_embs`.
"""

from __future__ import annotations

import numpy as np
import torch

from ..stylegan.mapping import FullyConnectedLayer
from .config import EmbeddingSpec


def coordinate_grid(size: int, device=None) -> torch.Tensor:
    """[1, 2, size, size]: x = -1 + 2j/size along columns, y = 1 - 2/size - 2i/size along rows (y up)."""
    row = torch.arange(0, size, device=device).float() / size * 2 - 1
    x = row.view(1, -1).repeat(size, 1)  # [size, size]
    y = x.t().flip(dims=(0,))  # the first row is the top, at the largest y
    return torch.stack([x, y])[None]


def wavefront_basis(num_feats: int, direction: list[float], period: float) -> torch.Tensor:
    """[num_feats, 2] frequencies 2^k * 2pi / period along `direction`, k = 0 .. num_feats-1."""
    powers = torch.tensor([2]).repeat(num_feats).pow(torch.arange(num_feats)).unsqueeze(1)  # [n, 1]
    return (torch.tensor([direction]).repeat(num_feats, 1) * powers * (2.0 * np.pi / period)).float()


def logarithmic_basis(resolution: int, max_num_feats: int, use_diagonal: bool) -> torch.Tensor:
    """[n, 2]: ceil(log2 resolution) octaves per direction; the axes, then the two diagonals."""
    n = int(np.ceil(np.log2(resolution)))
    d = 1.0 / np.sqrt(2)
    directions = [([0.0, 1.0], 4.0), ([1.0, 0.0], 4.0)]
    if use_diagonal:
        directions += [([-d, d], 4.0 * np.sqrt(2)), ([d, d], 4.0 * np.sqrt(2))]
    basis = torch.cat([wavefront_basis(n, v, p) for v, p in directions])
    if basis.shape[0] > max_num_feats:
        raise ValueError(f"{basis.shape[0]} logarithmic features at {resolution}px exceed log_emb_size "
                         f"{max_num_feats}")
    return basis


class CoordFuser(torch.nn.Module):
    """Coordinate features of one resolution: [N, total_dim, R, R] (raw, sin, cos, constants)."""

    def __init__(self,
                 spec: EmbeddingSpec,  # which features, from the checkpoint's coords.res_configs
                 w_dim: int,  # width of w (only w-predicted frequencies read it)
                 resolution: int,  # the grid is resolution x resolution over [-1, 1)
                 ):
        super().__init__()
        self.spec, self.resolution = spec, resolution
        if spec.log_emb_size > 0:
            self.register_buffer("log_basis", logarithmic_basis(resolution, spec.log_emb_size,
                                                                spec.use_diagonal))
        if spec.random_emb_size > 0:
            self.register_buffer("random_basis", torch.randn(spec.random_emb_size, 2) * spec.fourier_scale)
        if spec.shared_emb_size > 0:
            self.shared_basis = torch.nn.Parameter(torch.randn(spec.shared_emb_size, 2) * spec.fourier_scale)
        if spec.predictable_emb_size > 0:
            self.affine = FullyConnectedLayer(w_dim, spec.predictable_emb_size * 3, bias_init=0)
        if spec.const_emb_size > 0:
            self.const_embs = torch.nn.Parameter(torch.randn(1, spec.const_emb_size, resolution, resolution))
        num_freqs = (self.log_basis.shape[0] if spec.log_emb_size > 0 else 0) + spec.random_emb_size + \
            spec.shared_emb_size + spec.predictable_emb_size
        self.total_dim = (2 if spec.use_raw_coords else 0) + num_freqs * (2 if spec.use_cosine else 1) + \
            spec.const_emb_size
        self.depends_on_w = spec.predictable_emb_size > 0
        self._cache: tuple | None = None  # (key, features) while the stored tensors are unchanged

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        """w [N, w_dim] -> features [N, total_dim, R, R], or [1, ...] (shared by the batch) when they do not
        depend on w."""
        if self.depends_on_w:
            return self._features(w)
        fixed = [t for t in (getattr(self, n, None) for n in ("log_basis", "random_basis", "shared_basis",
                                                               "const_embs")) if t is not None]
        key = (w.device, tuple((t.data_ptr(), t._version) for t in fixed), torch.is_grad_enabled())
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._features(w[:1]))
        return self._cache[1]

    def _features(self, w: torch.Tensor) -> torch.Tensor:
        n, spec = w.shape[0], self.spec
        coords = coordinate_grid(self.resolution, w.device)  # [1, 2, R, R]
        parts, raw = [], []
        if spec.use_raw_coords:
            parts.append(coords.expand(n, -1, -1, -1))
        # einsum on the batch layout of the official code, so the phases round the same way
        for name in ("log_basis", "random_basis", "shared_basis"):
            if hasattr(self, name):
                phases = torch.einsum("bdc,bcxy->bdxy", getattr(self, name)[None], coords)
                raw.append(phases.expand(n, -1, -1, -1))
        if spec.predictable_emb_size > 0:
            p = spec.predictable_emb_size
            mod = self.affine(w)  # [N, 3p]: p frequencies (x, y) and p phases
            freqs = (spec.fourier_scale * mod[:, :2 * p]).view(n, p, 2)
            raw.append(torch.einsum("bdc,bcxy->bdxy", freqs, coords.expand(n, -1, -1, -1))
                       + mod[:, 2 * p:].view(n, p, 1, 1))
        if raw:
            raw = torch.cat(raw, dim=1)
            parts.append(raw.sin())
            if spec.use_cosine:
                parts.append(raw.cos())
        if spec.const_emb_size > 0:
            parts.append(self.const_embs.expand(n, -1, -1, -1))
        out = torch.cat(parts, dim=1)
        assert out.shape[1] == self.total_dim
        return out


class CoordsInput(torch.nn.Module):
    """The first level's input: coordinate features only (official path synthesis.b4.input.input)."""

    def __init__(self, spec: EmbeddingSpec, w_dim: int, resolution: int):
        super().__init__()
        self.coord_fuser = CoordFuser(spec, w_dim, resolution)


class GenInput(torch.nn.Module):
    """Holder of the input embedding (official path synthesis.b4.input)."""

    def __init__(self, spec: EmbeddingSpec, w_dim: int, resolution: int):
        super().__init__()
        self.input = CoordsInput(spec, w_dim, resolution)
        self.total_dim = self.input.coord_fuser.total_dim

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return self.input.coord_fuser(w)
