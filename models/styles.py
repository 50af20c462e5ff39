"""Style maps: per-pixel weights over a few global latent codes.

The style lattice puts one anchor code at every world point (a * S, b * S); a pixel's style is
the bilinear blend of its four surrounding anchors (ALIS's SA-AdaIN, which interpolates between
anchors along x, generalised to a 2D lattice). Style fusion (blurred nearest-anchor maps) plugs in
through the same two calls, so a model never knows which one it got.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .contract import CellRange, FieldSpec, LatentSource


@dataclass
class StylePlan:
    """The codes a window uses and how to weight them at any pixel centres inside it.

    This one is the lattice's bilinear blend; other style maps return their own plan with the
    same two members (``z`` and ``weights``)."""

    z: np.ndarray  # [K, z_dim] float32
    anchors: np.ndarray  # [K, 2] world positions of the anchors (x, y), for weights()
    spacing: int

    def weights(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Bilinear hat weights [K, len(ys), len(xs)] float32; they sum to 1 inside the window."""
        s = float(self.spacing)
        wx = np.clip(1.0 - np.abs(np.asarray(xs)[None, :] - self.anchors[:, 0:1]) / s, 0.0, None)
        wy = np.clip(1.0 - np.abs(np.asarray(ys)[None, :] - self.anchors[:, 1:2]) / s, 0.0, None)
        return wy.astype(np.float32)[:, :, None] * wx.astype(np.float32)[:, None, :]


def lattice_anchor_cells(spec: FieldSpec, x0: float, y0: float, x1: float, y1: float) -> CellRange:
    """Anchors with non-zero weight somewhere in the world box [x0, x1] x [y0, y1]:
    anchor a weighs on x iff |x - a * S| < S."""
    s = spec.spacing
    return CellRange(int(np.floor(x0 / s)), int(np.floor(y0 / s)),
                     int(np.ceil(x1 / s)) + 1, int(np.ceil(y1 / s)) + 1)


def given_or_own(values: dict[str, torch.Tensor], name: str, own: np.ndarray,
                 device: torch.device) -> torch.Tensor:
    """Inversion: the fitted tensor of field ``name`` where ``values`` has one, else the latents' own."""
    return values[name].to(device) if name in values else torch.from_numpy(own).to(device)


def codes_with_fitted_lattice(z: np.ndarray, values: dict[str, torch.Tensor],
                              device: torch.device) -> torch.Tensor:
    """A plan's codes [K, C] as a tensor, the style lattice's replaced by fitted cells [C, rows, cols]
    when ``values`` has them: a plan lists the lattice's codes first (row-major, as LatticeStyleMap
    reads them), fusion anchors' codes after them."""
    codes = torch.from_numpy(z).to(device)
    if "style" not in values:
        return codes
    lattice = values["style"].to(device)
    lattice = lattice.reshape(lattice.shape[0], -1).T
    return torch.cat([lattice, codes[lattice.shape[0]:]])


class LatticeStyleMap:
    """The default style map: bilinear interpolation over the style lattice."""

    def plan(self, box: tuple[float, float, float, float], latents: LatentSource,
             spec: FieldSpec) -> StylePlan:
        """Codes of every anchor whose support meets box = (x0, y0, x1, y1) of pixel centres."""
        cells = lattice_anchor_cells(spec, *box)
        z = latents.cells(spec, cells)  # [C, rows, cols]
        rows, cols = cells.shape
        by, bx = np.mgrid[cells.y0:cells.y1, cells.x0:cells.x1]
        anchors = np.stack([bx.ravel(), by.ravel()], axis=1).astype(np.float64) * spec.spacing
        return StylePlan(z.reshape(z.shape[0], rows * cols).T.copy(), anchors, spec.spacing)
