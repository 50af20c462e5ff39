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

from ...ops.bias_act import ACTIVATIONS
from ...ops.upfirdn2d import setup_filter
from ..stylegan.mapping import FullyConnectedLayer
from .config import AlisConfig, CoordSpec

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
    """sin (and cos) of basis . coords: [N, n (or 2n), H, W], channels-last in memory."""
    raw = coords.permute(0, 2, 3, 1) @ basis.t()  # [N, H, W, n]
    return (torch.cat([raw.sin(), raw.cos()], dim=3) if use_cosine else raw.sin()).permute(0, 3, 1, 2)


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
    # channels innermost in memory, like the channels-last activations they multiply
    return torch.einsum("nkw,nkc->nwc", weights, s).permute(0, 2, 1).unsqueeze(2)


def patch_view(x: torch.Tensor, grid_size: int) -> torch.Tensor:
    """[N, C, H, W] frames viewed (no copy) as [N, g, C, H, W / g]."""
    return x.unflatten(3, (grid_size, x.shape[3] // grid_size)).permute(0, 3, 1, 2, 4)


def to_patches(x: torch.Tensor | list[torch.Tensor], grid_size: int,
               styles: torch.Tensor | None = None) -> torch.Tensor:
    """Frames [N, C, H, W] (a list is concatenated along C), times `styles` [N, C, 1, W] if given, written
    straight into the patch batch [N * g, C, H, W / g] in one pass; patches of a frame are consecutive,
    memory is channels-last (oneDNN's own layout, so the convolutions reorder nothing)."""
    parts = [x] if isinstance(x, torch.Tensor) else list(x)
    n, _, h, w = parts[0].shape
    c = sum(p.shape[1] for p in parts)
    out = torch.empty((n * grid_size, c, h, w // grid_size), dtype=parts[0].dtype, device=parts[0].device,
                      memory_format=torch.channels_last)
    dst = out.unflatten(0, (n, grid_size))
    c0 = 0
    for p in parts:
        c1 = c0 + p.shape[1]
        if styles is None:
            dst[:, :, c0:c1].copy_(patch_view(p, grid_size))
        else:
            torch.mul(patch_view(p, grid_size), patch_view(styles[:, c0:c1], grid_size), out=dst[:, :, c0:c1])
        c0 = c1
    return out


def patches_to_frames(x: torch.Tensor, grid_size: int, lo: float | None = None, hi: float | None = None):
    """[N * g, C, H, Wp] -> frames [N, C, H, g * Wp] (channels-last), clamped to [lo, hi] on the way."""
    ng, c, h, wp = x.shape
    out = torch.empty((ng // grid_size, c, h, wp * grid_size), dtype=x.dtype, device=x.device,
                      memory_format=torch.channels_last)
    src, dst = x.unflatten(0, (ng // grid_size, grid_size)), patch_view(out, grid_size)
    if lo is None:
        dst.copy_(src)
    else:
        torch.clamp(src, lo, hi, out=dst)
    return out


def channels_last(w: torch.Tensor) -> torch.Tensor:
    return w.contiguous(memory_format=torch.channels_last)


def conv_up2(x: torch.Tensor, w_t: torch.Tensor, taps: torch.Tensor, bias: torch.Tensor | None):
    """Zero-insert 2x, convolve with the kxk kernel, low-pass with a 4x4 FIR, add `bias`: the official up=2
    conv2d_resample ('same' output) as a stride-2 transposed convolution (w_t [I, O, k, k]) followed by a
    depthwise FIR (taps [O, 1, 4, 4], flipped, gain included) that pads by itself."""
    k, fw = w_t.shape[-1], taps.shape[-1]
    assert fw == 4 and k % 2 == 1, "the FIR path assumes 4 taps and an odd kernel"
    x = F.conv_transpose2d(x, w_t, stride=2)  # 2H + k - 2 rows; the FIR brings them to 2H
    return F.conv2d(x, taps, bias, padding=(fw + 1 - k) // 2, groups=taps.shape[0])


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

    def prepared(self, gain: float) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """(conv weight, FIR taps or None, bias) with demodulation and activation gain folded in, in the
        layout the convolutions want; cached while the parameters stay unchanged and need no gradient."""
        key = (gain, self.weight._version, self.bias._version, self.weight.device, self.weight.dtype)
        if getattr(self, "_prepared", None) is not None and self._prepared[0] == key:
            return self._prepared[1]
        # Demodulation is one constant per output channel and lrelu(g z) = g lrelu(z) for g > 0, so both
        # scale the weight; bias and gain then ride inside the convolution.
        g = self.act_gain * gain
        demod = (self.weight.square().sum(dim=[1, 2, 3]) + 1e-8).rsqrt()
        w = self.weight * (demod * g).view(-1, 1, 1, 1)
        taps = None
        if self.up == 2:
            w = channels_last(w.transpose(0, 1))
            f = (self.resample_filter * 4).flip([0, 1])
            taps = channels_last(f[None, None].expand(self.out_channels, 1, *f.shape))
        out = (channels_last(w), taps, self.bias * g)
        if not (torch.is_grad_enabled() and self.weight.requires_grad):
            self._prepared = (key, out)
        return out

    def forward(self, x: torch.Tensor | list[torch.Tensor], anchors: torch.Tensor, weights: torch.Tensor,
                noise_mode: str = "none", gain: float = 1.0) -> torch.Tensor:
        """x [N, I, R/up, R/up] (or parts of it along I, e.g. activations and coordinates), anchors
        [N, 3, w_dim], weights [N, 3, R/up] -> [N, O, R, R]."""
        res_in = self.resolution // self.up
        parts = [x] if isinstance(x, torch.Tensor) else x
        shape = (sum(p.shape[1] for p in parts), *parts[0].shape[2:])
        assert shape == (self.in_channels, res_in, res_in), f"got {shape}"
        w, taps, bias = self.prepared(gain)
        g = self.act_gain * gain
        noise = None
        if self.use_noise and noise_mode == "const":
            noise = self.noise_const * (self.noise_strength * g)
        elif self.use_noise and noise_mode == "random":
            r, first = self.resolution, parts[0]
            noise = torch.randn([first.shape[0], 1, r, r], device=first.device) * (self.noise_strength * g)
        x = to_patches(x, self.grid_size, column_styles(self.affine, anchors, weights))
        fused_bias = None if noise is not None else bias
        x = conv_up2(x, w, taps, fused_bias) if self.up == 2 else F.conv2d(x, w, fused_bias,
                                                                            padding=w.shape[-1] // 2)
        alpha, clamp = ACTIVATIONS["lrelu"].def_alpha, self.conv_clamp
        if noise is not None:  # the frame's noise is not aligned to patches: add it to the whole frame
            x = patches_to_frames(x, self.grid_size) + noise + bias.view(1, -1, 1, 1)
            x = F.leaky_relu_(x, alpha)
            return x if clamp is None else x.clamp_(-clamp * gain, clamp * gain)
        # lrelu is increasing: clamp(lrelu(z), -c, c) = lrelu(clamp(z, -c / alpha, c)); the clamp is the copy
        if clamp is None:
            return F.leaky_relu_(patches_to_frames(x, self.grid_size), alpha)
        return F.leaky_relu_(patches_to_frames(x, self.grid_size, -clamp * gain / alpha, clamp * gain), alpha)


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
        x = F.conv2d(x, channels_last(self.weight * self.weight_gain), self.bias)  # 1x1: no patch split
        return x if self.conv_clamp is None else x.clamp_(-self.conv_clamp, self.conv_clamp)


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
        return torch.cat([x.contiguous(memory_format=torch.channels_last),
                          coordinate_features(self.basis, coords)], dim=1)


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
    """The frame's fixed wavefront coordinate features, which conv0 reads after the activations (the name is
    the official one; with logarithmic coordinates nothing is modulated)."""

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
        """x [N, C, R, R] -> coordinate features [N, total_dim, R, R] (channels-last)."""
        coords = frame_coords(left_borders_idx, x.shape[2], self.grid_size, self.w_coord_dist)
        return coordinate_features(self.basis, coords, self.use_cosine).to(x.dtype)
