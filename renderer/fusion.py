"""Style fusion: styles placed in world space, blended by a blurred nearest-anchor map.

As in InfinityGAN's fused generation, each pixel takes the style of its nearest anchor and the
one-hot (Voronoi) map is box-blurred so styles fade into each other. Here an anchor claims only
the points within its reach; elsewhere the world keeps its own style lattice, so anchors are local
edits. The reach is a disk of ``radius``, or on worlds with a horizon a vertical band (x distance
only, as ALIS's anchors work, ``band`` px up and down): a disk would cut a palette change across
sky and ground as a circle. The map is sampled on a world-anchored lattice of ``step`` px (integer
counts, so exact), box-blurred there and interpolated bilinearly to every layer's pixel centres: a
pure function of world coordinates, identical whichever tile asks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..models.contract import CellRange, FieldSpec, LatentSource
from ..models.lattice import hashed_normal, stream_key
from ..models.styles import LatticeStyleMap, StylePlan
from .edits import StyleAnchor
from .limits import check_fusion

SHAPES = ("disk", "band")
BLUR_PER_RADIUS = 1.0  # default blur width / radius: the style fades in over the outer half of its reach


@dataclass(frozen=True)
class FusionParams:
    radius: int = 256  # world px an anchor claims around itself (a band: to either side)
    blur: int | None = None  # width of the box blur of the nearest-anchor map, world px; None: radius
    step: int = 16  # spacing of the world lattice the map is sampled on, world px
    shape: str = "disk"  # "disk" (distance) or "band" (x distance only, within +-band px of the anchor)
    band: int = 1024  # a band's half-height, world px: the invalidation box stays finite

    @property
    def blur_width(self) -> int:
        return round(BLUR_PER_RADIUS * self.radius) if self.blur is None else self.blur

    def reach(self) -> float:
        """How far (in x and in y) beyond an anchor its weight can be non-zero."""
        extent = max(self.radius, self.band) if self.shape == "band" else self.radius
        return extent + self.blur_width / 2 + 2 * self.step

    def of(self, anchor: StyleAnchor) -> FusionParams:
        """These parameters with an anchor's own radius and blur where it has them (an own radius
        without an own blur keeps the scene's blur rule: a fixed width, or in proportion)."""
        if anchor.radius is None and anchor.blur is None:
            return self
        return replace(self, radius=self.radius if anchor.radius is None else int(anchor.radius),
                       blur=self.blur if anchor.blur is None else int(anchor.blur))

    def check(self) -> None:
        """A one-line ValueError (naming the field) for values no map can be built from, or whose
        map would not fit in memory."""
        if self.shape not in SHAPES:
            raise ValueError(f"fusion shape {self.shape!r}: use {' or '.join(SHAPES)}")
        check_fusion(self.radius, self.blur_width, self.step, self.band)


def default_fusion(model) -> FusionParams:
    """Fusion that reads as a blend where the model opens: a radius of 256 screen px at the opening
    zoom (a quarter of a 1280 px window), blur proportional to it, and vertical bands on a world
    with a horizon (finite in y, or a native model whose vertical coordinate saturates)."""
    zoom = float(getattr(model, "opening_view", (1.0, 0.0, 0.0))[0])
    radius = max(16, round(256 / zoom / 16) * 16)
    cfg = getattr(model, "cfg", None)
    horizon = not model.capabilities.infinite_y or getattr(cfg, "vertical", None) == "saturating"
    return FusionParams(radius=radius, shape="band" if horizon else "disk")


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
        near = []
        for a in self.anchors:
            own = p.of(a)
            pad = own.blur_width / 2 + 2 * p.step
            if _claims_into(a.at, (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), own):
                near.append(a)
        if not near:
            return lattice  # bit-identical to the unfused world here
        codes, subweights = zip(*(anchor_codes(a, latents, spec) for a in near), strict=True)
        return FusedPlan(np.concatenate([lattice.z, *codes]).astype(np.float32), lattice,
                         np.array([a.at for a in near], np.float64), list(subweights), p,
                         np.array([p.of(a).radius for a in near], np.float64),
                         np.array([p.of(a).blur_width for a in near], np.int64))


@dataclass
class FusedPlan:
    z: np.ndarray
    lattice: StylePlan
    anchors: np.ndarray  # [A, 2] world positions
    subweights: list[np.ndarray]  # per anchor, weights of its codes
    params: FusionParams
    radii: np.ndarray | None = None  # [A] per anchor (None: params.radius)
    blurs: np.ndarray | None = None  # [A] per anchor (None: params.blur_width)

    def weights(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        maps = fusion_maps(self.anchors, self.params, np.asarray(xs, np.float64), np.asarray(ys, np.float64),
                           self.radii, self.blurs)
        parts = [self.lattice.weights(xs, ys) * maps[0][None]]
        for a, sub in enumerate(self.subweights):
            parts.append(maps[a + 1][None] * sub[:, None, None])
        return np.concatenate(parts).astype(np.float32)


def _claims_into(pt, box, p: FusionParams) -> bool:
    """Whether an anchor at ``pt`` claims any point of ``box`` (x0, y0, x1, y1)."""
    dx = max(box[0] - pt[0], 0.0, pt[0] - box[2])
    dy = max(box[1] - pt[1], 0.0, pt[1] - box[3])
    if p.shape == "band":
        return dx < p.radius and dy <= p.band
    return float(np.hypot(dx, dy)) < p.radius


def fusion_maps(anchors: np.ndarray, p: FusionParams, xs: np.ndarray, ys: np.ndarray,
                radii: np.ndarray | None = None, blurs: np.ndarray | None = None) -> np.ndarray:
    """Weights [1 + A, H, W] (background first) at pixel centres xs [W], ys [H]; they sum to 1.

    Each anchor claims the points within its own radius (``radii``, default the scene's), nearest
    claiming anchor wins; each anchor's one-hot map is box-blurred over its own width (``blurs``)
    and the world's own style keeps what the anchors leave."""
    q = p.step
    radii = np.full(len(anchors), float(p.radius)) if radii is None else np.asarray(radii, np.float64)
    blurs = np.full(len(anchors), p.blur_width) if blurs is None else np.asarray(blurs, np.int64)
    ns = np.maximum(0, blurs // (2 * q))  # blur half-widths in samples, per anchor
    n = int(ns.max()) if len(ns) else 0
    ix = np.arange(int(np.floor(xs.min() / q)) - n, int(np.floor(xs.max() / q)) + n + 2)
    iy = np.arange(int(np.floor(ys.min() / q)) - n, int(np.floor(ys.max() / q)) + n + 2)
    # nearest claiming anchor at every sample point; unclaimed points keep the world's style
    dx2 = (ix[None, None, :] * q - anchors[:, 0, None, None]) ** 2
    dy = iy[None, :, None] * q - anchors[:, 1, None, None]
    if p.shape == "band":  # x distance only, within the band's height
        d2 = np.where(np.abs(dy) <= p.band, dx2, np.inf)
    else:
        d2 = dx2 + dy ** 2
    d2 = np.where(d2 < radii[:, None, None] ** 2, d2, np.inf)
    label = np.where(np.isfinite(d2.min(0)), d2.argmin(0) + 1, 0)
    # box blur of (2 n_a + 1)^2 samples with integer sums: exact, so every tile agrees to the bit;
    # blurred[a][j, i] is centred on sample (iy[j + n], ix[i + n])
    h, w = len(iy) - 2 * n, len(ix) - 2 * n
    blurred = np.empty((len(anchors) + 1, h, w))
    for a in range(len(anchors)):
        onehot = (label == a + 1).astype(np.int64)
        c = np.pad(onehot.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        m, k = n - int(ns[a]), 2 * int(ns[a]) + 1  # this anchor's window inside the common margin
        win = c[m + k:m + k + h, m + k:m + k + w] - c[m:m + h, m + k:m + k + w] \
            - c[m + k:m + k + h, m:m + w] + c[m:m + h, m:m + w]
        blurred[a + 1] = win / float(k * k)
    blurred[0] = 1.0 - blurred[1:].sum(0)
    # interpolate to pixel centres
    fx, fy = xs / q, ys / q
    i0, j0 = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
    tx, ty = (fx - i0)[None, None, :], (fy - j0)[None, :, None]
    ci, cj = i0 - (ix[0] + n), j0 - (iy[0] + n)
    b = blurred
    top = b[:, cj][:, :, ci] * (1 - tx) + b[:, cj][:, :, ci + 1] * tx
    bottom = b[:, cj + 1][:, :, ci] * (1 - tx) + b[:, cj + 1][:, :, ci + 1] * tx
    return top * (1 - ty) + bottom * ty
