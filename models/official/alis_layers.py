"""ALIS layers (Skorokhodov et al. 2021, "Aligning Latent and Image Spaces to Connect the Unconnectable").

ALIS is a StyleGAN2 "skip" generator made patch-wise. A frame of `grid_size` patches is rendered between
three latent anchors w_l, w_c, w_r placed `w_coord_dist` coordinate units apart (a frame spans 2 units):
- SA-AdaIN: every modulated layer styles pixel column j with the per-layer affine of the anchors,
  linearly interpolated along x between the two anchors around j; the shared weight is demodulated
  by a per-output-channel constant (it cannot depend on a style that varies across the image).
- Every convolution, upsampling and RGB skip runs on each patch separately (zero padding at patch
  borders), so a patch depends only on its two anchors and its position between them.
- Fixed "wavefront" coordinate features (sin/cos of axis and diagonal frequencies) are concatenated
  before every conv0 (ModulatedCoordFuser) and to the 4x4 input (GridInput), shifted with the frame.
Written from the paper and the released code's behaviour; names follow the official state dict.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ...ops.bias_act import ACTIVATIONS, bias_act
from ...ops.upfirdn2d import setup_filter
from .alis_config import AlisConfig, CoordSpec
from .mapping import FullyConnectedLayer
from .stylegan2 import conv2d_up2

NOISE_MODES = ("random", "const", "none")
_DIRECTIONS = (((0.0, 1.0), 4.0), ((1.0, 0.0), 4.0),  # the two axes, then the two diagonals
               ((-1 / math.sqrt(2), 1 / math.sqrt(2)), 4 * math.sqrt(2)),
               ((1 / math.sqrt(2), 1 / math.sqrt(2)), 4 * math.sqrt(2)))


# --- coordinates and anchor geometry ---------------------------------------------------------------

def wavefront_basis(resolution: int, max_feats: float, remove_lowest_freq: bool, use_diagonal: bool):
    """[n, 2] frequencies: per direction 2^k * 2pi / period for k < ceil(log2 resolution); diagonals are
    dropped (anti-diagonal first) while ceil(log2 resolution) * directions exceeds max_feats."""
    per_dir = int(np.ceil(np.log2(resolution)))
    dirs = list(_DIRECTIONS if use_diagonal else _DIRECTIONS[:2])
    while per_dir * len(dirs) > max_feats and len(dirs) > 2:
        dirs.pop()
    first = 1 if remove_lowest_freq else 0
    rows = [[d * 2.0 ** k * 2 * np.pi / period for d in block] for block, period in dirs
            for k in range(first, per_dir)]
    basis = torch.tensor(rows, dtype=torch.float32).reshape(-1, 2)
    assert basis.shape[0] <= max_feats, f"{basis.shape[0]} coordinate features > {max_feats}"
    return basis


def frame_coords(left_borders_idx: torch.Tensor, size: int, grid_size: int, w_coord_dist: float):
    """[N, 2, size, size] (x, y) of pixel corners: a frame spans [-1, 1); x is shifted to the frame's place
    between the anchors (w_l at -w_coord_dist, w_c at 0), y points up."""
    row = torch.arange(size, dtype=torch.float32, device=left_borders_idx.device) / size * 2 - 1
    patch, w_dist = size // grid_size, int(0.5 * w_coord_dist * size)
    shift = (left_borders_idx.to(torch.float32) * patch - w_dist) / w_dist * w_coord_dist + 1.0  # [N]
    x = row.view(1, 1, size).expand(len(left_borders_idx), size, size) + shift.view(-1, 1, 1)
    y = row.flip(0).view(1, size, 1).expand_as(x)
    return torch.stack([x, y], dim=1)


def coordinate_features(basis: torch.Tensor, coords: torch.Tensor, use_cosine: bool = True) -> torch.Tensor:
    """sin (and cos) of basis . coords: [N, n (or 2n), H, W]."""
    raw = torch.einsum("dc,ncxy->ndxy", basis, coords)
    return torch.cat([raw.sin(), raw.cos()], dim=1) if use_cosine else raw.sin()


def anchor_weights(left_borders_idx: torch.Tensor, width: int, grid_size: int, w_coord_dist: float,
                   multiplier: float = 1.0) -> torch.Tensor:
    """[N, 3, width]: weight of (w_l, w_c, w_r) at every pixel column of the frame (SA-AdaIN).

    Anchors are w_dist = w_coord_dist / 2 frame widths apart; pixel centres interpolate linearly, so the
    first column left of w_c and the first right of w_l get 1 - 1/(2 w_dist) of their near anchor."""
    w_dist = int(0.5 * w_coord_dist * width)
    device = left_borders_idx.device
    t = torch.linspace(1 / (2 * w_dist), 1 - 1 / (2 * w_dist), w_dist, device=device) * multiplier
    u = left_borders_idx.view(-1, 1).long() * (width // grid_size) + torch.arange(width, device=device)
    if int(u.min()) < 0 or int(u.max()) >= 2 * w_dist:
        raise ValueError(f"left_borders_idx must be in 0..{2 * w_dist // (width // grid_size) - grid_size}")
    left = u < w_dist
    tt = t[torch.where(left, u, u - w_dist)]  # [N, W]
    zero = torch.zeros_like(tt)
    return torch.stack([torch.where(left, multiplier - tt, zero), torch.where(left, tt, multiplier - tt),
                        torch.where(left, zero, tt)], dim=1)


def column_styles(affine: FullyConnectedLayer, anchors: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Per-column styles [N, C, 1, W] from anchors [N, 3, w_dim] and weights [N, 3, W]; the affine is
    linear, so styling the anchors first equals styling the interpolated w."""
    n = anchors.shape[0]
    s = affine(anchors.reshape(n * 3, -1)).reshape(n, 3, -1)  # [N, 3, C]
    return torch.einsum("nkw,nkc->ncw", weights, s).unsqueeze(2)


def to_patches(x: torch.Tensor, grid_size: int) -> torch.Tensor:
    """[N, C, H, W] -> [N * g, C, H, W / g], patches of a frame consecutive in the batch."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h, grid_size, w // grid_size).permute(0, 3, 1, 2, 4).reshape(
        n * grid_size, c, h, w // grid_size)


def from_patches(x: torch.Tensor, grid_size: int) -> torch.Tensor:
    ng, c, h, wp = x.shape
    n = ng // grid_size
    return x.reshape(n, grid_size, c, h, wp).permute(0, 2, 3, 1, 4).reshape(n, c, h, grid_size * wp)


# --- layers -------------------------------------------------------------------------------------------

class PatchWiseSynthesisLayer(torch.nn.Module):
    """SA-AdaIN convolution: column-wise modulation, per-patch conv (optionally 2x up), constant demod,
    noise, bias, leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, grid_size: int,
                 kernel_size: int = 3, up: int = 1, use_noise: bool = True, conv_clamp: float | None = None,
                 resample_filter=(1, 3, 3, 1)):
        super().__init__()
        self.in_channels, self.out_channels, self.resolution = in_channels, out_channels, resolution
        self.grid_size, self.up, self.use_noise, self.conv_clamp = grid_size, up, use_noise, conv_clamp
        self.register_buffer("resample_filter", setup_filter(list(resample_filter)))
        self.act_gain = ACTIVATIONS["lrelu"].def_gain
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = torch.nn.Parameter(torch.zeros([]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x: torch.Tensor, anchors: torch.Tensor, weights: torch.Tensor, noise_mode: str = "none",
                gain: float = 1.0) -> torch.Tensor:
        """x [N, I, R/up, R/up], anchors [N, 3, w_dim], weights [N, 3, R/up] -> [N, O, R, R]."""
        res_in = self.resolution // self.up
        assert x.shape[1:] == (self.in_channels, res_in, res_in), f"got {tuple(x.shape)}"
        x = x * column_styles(self.affine, anchors, weights)
        # The demodulation coefficient is one constant per output channel: fold it into the weight.
        w = self.weight * (self.weight.square().sum(dim=[1, 2, 3]) + 1e-8).rsqrt().view(-1, 1, 1, 1)
        x = to_patches(x, self.grid_size)
        if self.up == 2:
            x = conv2d_up2(x, w, self.resample_filter)
        else:
            x = F.conv2d(x, w, padding=w.shape[-1] // 2)
        x = from_patches(x, self.grid_size)
        if self.use_noise and noise_mode == "const":
            x = x + self.noise_const * self.noise_strength
        elif self.use_noise and noise_mode == "random":
            r = self.resolution
            x = x + torch.randn([x.shape[0], 1, r, r], device=x.device) * self.noise_strength
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        return bias_act(x, self.bias, act="lrelu", gain=self.act_gain * gain, clamp=clamp)


class ToRGBLayer(torch.nn.Module):
    """Column-wise modulated 1x1 convolution to image channels, not demodulated."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None = None):
        super().__init__()
        self.in_channels, self.conv_clamp = in_channels, conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / np.sqrt(in_channels)

    def forward(self, x: torch.Tensor, anchors: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        x = x * column_styles(self.affine, anchors, weights)
        x = F.conv2d(x, self.weight * self.weight_gain)
        return bias_act(x, self.bias, clamp=self.conv_clamp)


class GridInput(torch.nn.Module):
    """The 4x4 input: a learned column (constant along x) styled by the interpolated anchors, plus the
    frame's wavefront coordinate features."""

    def __init__(self, channel_dim: int, resolution: int, w_dim: int, grid_size: int, w_coord_dist: float,
                 w_lerp_multiplier: float = 1.0):
        super().__init__()
        self.channel_dim, self.resolution, self.w_dim = channel_dim, resolution, w_dim
        self.grid_size, self.w_coord_dist, self.w_lerp_multiplier = grid_size, w_coord_dist, w_lerp_multiplier
        self.input_column = torch.nn.Parameter(torch.randn([channel_dim, resolution]))
        self.affine = FullyConnectedLayer(w_dim, channel_dim, bias_init=0)
        self.register_buffer("basis", wavefront_basis(resolution, channel_dim, True, True))

    @property
    def out_channels(self) -> int:
        return self.channel_dim + 2 * self.basis.shape[0]

    def forward(self, anchors: torch.Tensor, left_borders_idx: torch.Tensor) -> torch.Tensor:
        n, r = anchors.shape[0], self.resolution
        weights = anchor_weights(left_borders_idx, r, self.grid_size, self.w_coord_dist,
                                 self.w_lerp_multiplier)
        x = self.input_column.view(1, -1, r, 1).expand(n, -1, r, r)
        x = x * column_styles(self.affine, anchors, weights)
        coords = frame_coords(left_borders_idx, r, self.grid_size, self.w_coord_dist)
        return torch.cat([x, coordinate_features(self.basis, coords)], dim=1)


class GenInput(torch.nn.Module):
    """Holds the first block's input as `input`: a GridInput, or a constant [C, R, R] tensor."""

    def __init__(self, cfg: AlisConfig, channel_dim: int, w_dim: int):
        super().__init__()
        self.type, r = cfg.input_type, cfg.input_resolution
        if self.type == "grid":
            self.input = GridInput(channel_dim, r, w_dim, cfg.input_grid_size, cfg.input_w_coord_dist,
                                   cfg.input_w_lerp_multiplier)
            self.channel_dim = self.input.out_channels
        else:
            self.input = torch.nn.Parameter(torch.randn([channel_dim, r, r]))
            self.channel_dim = channel_dim
        self.is_modulated = self.type == "grid"

    def forward(self, n: int, anchors: torch.Tensor | None, left_borders_idx: torch.Tensor) -> torch.Tensor:
        if self.is_modulated:
            return self.input(anchors, left_borders_idx)
        return self.input.unsqueeze(0).expand(n, -1, -1, -1)


class ModulatedCoordFuser(torch.nn.Module):
    """Concatenates the frame's fixed wavefront coordinate features to x (the name is the official one;
    with logarithmic coordinates nothing is modulated)."""

    def __init__(self, spec: CoordSpec, resolution: int, grid_size: int, w_coord_dist: float,
                 remove_lowest_freq: bool):
        super().__init__()
        self.use_cosine, self.grid_size, self.w_coord_dist = spec.use_cosine, grid_size, w_coord_dist
        self.register_buffer("basis", wavefront_basis(resolution, spec.max_feats, remove_lowest_freq,
                                                      spec.use_diagonal))

    @property
    def total_dim(self) -> int:
        return self.basis.shape[0] * (2 if self.use_cosine else 1)

    def forward(self, x: torch.Tensor, left_borders_idx: torch.Tensor) -> torch.Tensor:
        coords = frame_coords(left_borders_idx, x.shape[2], self.grid_size, self.w_coord_dist)
        return torch.cat([x, coordinate_features(self.basis, coords, self.use_cosine).to(x.dtype)], dim=1)
