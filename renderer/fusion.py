"""Style fusion: styles placed in world space, blended by a blurred nearest-anchor map.

As in InfinityGAN's fused generation, each pixel takes the style of its nearest anchor and the
one-hot (Voronoi) map is box-blurred so styles fade into each other. Here an anchor claims only
the points within ``radius`` of it; elsewhere the world keeps its own style lattice, so anchors are
local edits. The map is sampled on a world-anchored lattice of ``step`` px (integer counts, so
exact), box-blurred there and interpolated bilinearly to every layer's pixel centres: a pure
function of world coordinates, identical whichever tile asks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.contract import CellRange, FieldSpec, LatentSource
from ..models.lattice import hashed_normal, stream_key
from ..models.styles import LatticeStyleMap, StylePlan
from .edits import StyleAnchor


@dataclass(frozen=True)
class FusionParams:
    radius: int = 512  # world px an anchor claims around itself
    blur: int = 256  # width of the box blur of the nearest-anchor map, world px
    step: int = 16  # spacing of the world lattice the map is sampled on, world px

    def reach(self) -> float:
        """How far beyond an anchor its weight can be non-zero."""
        return self.radius + self.blur / 2 + 2 * self.step


def anchor_codes(anchor: StyleAnchor, latents: LatentSource,
                 spec: FieldSpec) -> tuple[np.ndarray, np.ndarray]:
    """An anchor's style as codes [k, z_dim] with weights [k] summing to 1."""
    if anchor.pick is not None:
        px, py = anchor.pick
        plan = LatticeStyleMap().plan((px, py, px, py), latents, spec)
        w = plan.weights(np.array([px]), np.array([py]))[:, 0, 0]
        keep = w > 0
        return plan.z[keep], (w[keep] / w[keep].sum()).astype(np.float32)
    z = hashed_normal(stream_key(int(anchor.seed), "style-anchor"), CellRange(0, 0, 1, 1), spec.channels)
    return z[:, 0, 0][None], np.ones(1, np.float32)


class FusionStyleMap:
    """Lattice styles with fusion anchors on top (a StyleMap)."""

    def __init__(self, anchors: tuple[StyleAnchor, ...], params: FusionParams = FusionParams()):
        self.anchors = tuple(anchors)
        self.params = params
        self._lattice = LatticeStyleMap()

    def plan(self, box, latents: LatentSource, spec: FieldSpec) -> StylePlan:
        lattice = self._lattice.plan(box, latents, spec)
        p = self.params
        pad = p.blur / 2 + 2 * p.step
        ext = (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)
        near = [a for a in self.anchors if _box_distance(a.at, ext) < p.radius]
        if not near:
            return lattice  # bit-identical to the unfused world here
        codes, subweights = zip(*(anchor_codes(a, latents, spec) for a in near), strict=True)
        return FusedPlan(np.concatenate([lattice.z, *codes]).astype(np.float32), lattice,
                         np.array([a.at for a in near], np.float64), list(subweights), p)


@dataclass
class FusedPlan:
    z: np.ndarray
    lattice: StylePlan
    anchors: np.ndarray  # [A, 2] world positions
    subweights: list[np.ndarray]  # per anchor, weights of its codes
    params: FusionParams

    def weights(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        maps = fusion_maps(self.anchors, self.params, np.asarray(xs, np.float64), np.asarray(ys, np.float64))
        parts = [self.lattice.weights(xs, ys) * maps[0][None]]
        for a, sub in enumerate(self.subweights):
            parts.append(maps[a + 1][None] * sub[:, None, None])
        return np.concatenate(parts).astype(np.float32)


def _box_distance(pt, box) -> float:
    dx = max(box[0] - pt[0], 0.0, pt[0] - box[2])
    dy = max(box[1] - pt[1], 0.0, pt[1] - box[3])
    return float(np.hypot(dx, dy))


def fusion_maps(anchors: np.ndarray, p: FusionParams, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Weights [1 + A, H, W] (background first) at pixel centres xs [W], ys [H]; they sum to 1."""
    q, n = p.step, max(0, p.blur // (2 * p.step))
    ix = np.arange(int(np.floor(xs.min() / q)) - n, int(np.floor(xs.max() / q)) + n + 2)
    iy = np.arange(int(np.floor(ys.min() / q)) - n, int(np.floor(ys.max() / q)) + n + 2)
    # nearest anchor at every sample point; beyond the radius the point keeps the world's style
    d2 = (ix[None, None, :] * q - anchors[:, 0, None, None]) ** 2 + \
         (iy[None, :, None] * q - anchors[:, 1, None, None]) ** 2
    nearest = d2.argmin(0)
    label = np.where(d2.min(0) < p.radius ** 2, nearest + 1, 0)
    onehot = (label[None] == np.arange(len(anchors) + 1)[:, None, None]).astype(np.int64)
    # box blur of (2n+1)^2 samples with integer sums: exact, so every tile agrees to the bit
    c = np.pad(onehot.cumsum(1).cumsum(2), ((0, 0), (1, 0), (1, 0)))
    k = 2 * n + 1
    blurred = (c[:, k:, k:] - c[:, :-k, k:] - c[:, k:, :-k] + c[:, :-k, :-k]) / float(k * k)
    # blurred[:, j, i] is centred on sample (iy[j + n], ix[i + n]); interpolate to pixel centres
    fx, fy = xs / q, ys / q
    i0, j0 = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
    tx, ty = (fx - i0)[None, None, :], (fy - j0)[None, :, None]
    ci, cj = i0 - (ix[0] + n), j0 - (iy[0] + n)
    b = blurred
    top = b[:, cj][:, :, ci] * (1 - tx) + b[:, cj][:, :, ci + 1] * tx
    bottom = b[:, cj + 1][:, :, ci] * (1 - tx) + b[:, cj + 1][:, :, ci + 1] * tx
    return top * (1 - ty) + bottom * ty
