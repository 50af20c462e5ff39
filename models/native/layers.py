"""Building blocks of the native generator: every spatial op is padding-free ("valid").

A layer never invents values at a border: it consumes an explicit margin of its input and returns
a smaller window. So any window of the infinite feature plane is computed exactly as a crop of the
infinite computation, and tiles join without seams by construction.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..equalized import LRELU_GAIN, EqualLinear


class MappingNetwork(nn.Module):
    """z -> w, with the running mean ``w_avg`` that truncation pulls towards."""

    def __init__(self, z_dim: int, w_dim: int, num_layers: int, lr_mul: float = 0.01,
                 w_avg_beta: float = 0.995):
        super().__init__()
        dims = [z_dim] + [w_dim] * num_layers
        self.layers = nn.Sequential(*[EqualLinear(dims[i], dims[i + 1], lr_mul=lr_mul, activation=True)
                                      for i in range(num_layers)])
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.w_avg_beta = w_avg_beta

    def forward(self, z: torch.Tensor, truncation: float = 1.0, update_w_avg: bool = False) -> torch.Tensor:
        z = z * torch.rsqrt(z.square().mean(dim=-1, keepdim=True) + 1e-8)
        w = self.layers(z)
        if update_w_avg:
            mean = w.detach().float().reshape(-1, w.shape[-1]).mean(0)  # float32 also under autocast
            self.w_avg.copy_(mean.lerp(self.w_avg, self.w_avg_beta))
        if truncation != 1.0:
            w = self.w_avg.to(w.dtype).lerp(w, truncation)
        return w


def mix_styles(affine: EqualLinear, w: torch.Tensor, weights: torch.Tensor,
               w_avg: torch.Tensor) -> torch.Tensor:
    """Per-pixel style from K codes, blended about the mean code without losing their spread.

    w [N, K, w_dim], weights a [N, K, H, W] (non-negative, summing to one), w_avg [w_dim] -> styles
    [N, C, H, W] = A(w_avg) + sum_k b_k d_k, d_k = A(w_k) - A(w_avg). A plain linear blend (ALIS's
    SA-AdaIN, b = a) shrinks the spread between anchors: for independent codes by |a| (to 1/2 at
    the centre of a 2D cell), so halfway between anchors the image is measurably softer than at them
    and the anchor lattice shows as a grid. Here b = a c with

        c = min(1 / |a|, sum_k a_k |d_k| / |sum_k a_k d_k|)

    the deviation's length is interpolated between the codes' lengths (its direction is the linear
    blend's): independent codes, nearly orthogonal, get c ~ 1 / |a|, the variance-preserving factor;
    correlated ones (coherent style octaves, models/lattice.py) get less, down to c = 1 for equal
    codes, which 1 / |a| would have pushed twice as far from the mean mid-cell. |sum_k a_k d_k| comes
    from the K x K Gram matrix of the deviations when K is small (training frames, 1x tiles: a few
    anchors) and from the blended deviation itself when K is large (a 1/8x window blends 49); the
    result is the same to float rounding."""
    n, k, h, wd = weights.shape
    s = affine(torch.cat([w, w_avg.expand(w.shape[0], 1, -1)], dim=1))  # [N, K + 1, C]
    mean, d = s[:, k:], s[:, :k] - s[:, k:]  # [N, 1, C], [N, K, C]
    a = weights.reshape(n, k, h * wd)
    lengths = torch.bmm(d.norm(dim=2).unsqueeze(1), a)  # sum_k a_k |d_k|, [N, 1, H * W]
    shrink = a.square().sum(1, keepdim=True).rsqrt()  # 1 / |a|
    if k * k <= 4 * s.shape[2]:
        gram = torch.bmm(d, d.transpose(1, 2))  # [N, K, K]
        spread = (a * torch.bmm(gram, a)).sum(1, keepdim=True).clamp_min(1e-30).sqrt()
        b = a * torch.minimum(shrink, lengths / spread)
        b = torch.cat([b, 1.0 - b.sum(1, keepdim=True)], dim=1)  # one blend of K + 1 codes
        # one batched matrix product (einsum took the slow path: a fifth of a coarse level's render)
        return torch.bmm(s.transpose(1, 2), b).view(n, -1, h, wd)
    y = torch.bmm(d.transpose(1, 2), a)  # [N, C, H * W]: the linear blend of the deviations
    spread = y.square().sum(1, keepdim=True).clamp_min(1e-30).sqrt()
    return torch.addcmul(mean.transpose(1, 2), y, torch.minimum(shrink, lengths / spread)).view(n, -1, h, wd)


class SpatialModConv(nn.Module):
    """Spatially modulated 3x3 convolution (SA-AdaIN), valid padding, per-pixel demodulation.

    The input is modulated per pixel by the style map, convolved with the shared weight, then each
    output pixel is demodulated with the style at that pixel: d = rsqrt(sum_i |W_oi|^2 s_i^2)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, kernel: int = 3, noise: bool = True):
        super().__init__()
        self.kernel = kernel
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.noise_strength = nn.Parameter(torch.zeros([])) if noise else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel * kernel)

    @property
    def margin(self) -> int:
        return self.kernel // 2

    def forward(self, x: torch.Tensor, styles: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        # x, styles [N, Cin, H, W] -> [N, Cout, H - 2m, W - 2m]
        m = self.margin
        weight = self.weight * self.weight_gain
        y = F.conv2d(x * styles, weight)
        s_out = styles[:, :, m:styles.shape[2] - m, m:styles.shape[3] - m]
        # lrelu(a * v) = a * lrelu(v) for a > 0, so the activation gain is folded into the
        # demodulation, the noise strength and the bias: one pass fewer over the activations.
        g2 = LRELU_GAIN ** 2
        demod = conv1x1(s_out.square(), weight.square().sum(dim=(2, 3)) / g2)
        bias = (self.bias * LRELU_GAIN).view(1, -1, 1, 1)
        has_noise = noise is not None and self.noise_strength is not None
        if torch.is_grad_enabled():
            y = y * torch.rsqrt(demod + 1e-8 / g2)
            if has_noise:
                y = y + noise * (self.noise_strength * LRELU_GAIN)
            return F.leaky_relu(y + bias, 0.2)
        # inference: the same arithmetic in place, without temporaries
        y.mul_(demod.add_(1e-8 / g2).rsqrt_())
        if has_noise:
            y.add_(noise * (self.noise_strength * LRELU_GAIN))
        return F.leaky_relu_(y.add_(bias), 0.2)


class ToRGB(nn.Module):
    """Spatially modulated 1x1 convolution to RGB, no demodulation (as in StyleGAN2)."""

    def __init__(self, in_channels: int, w_dim: int):
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(3, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(3))
        self.weight_gain = 1.0 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        return conv1x1(x * styles, self.weight[:, :, 0, 0] * self.weight_gain, self.bias)


class LevelToRGB(nn.Module):
    """A coarse level's residual RGB head: spatially modulated 3x3 valid convolution, no
    demodulation, zero at initialisation (the level starts as the skip sum so far).
    [N, C, H, W] -> [N, 3, H - 2, W - 2].

    With ``hidden`` > 0 a second branch reads the same modulated features: a 3x3 valid convolution
    to ``hidden`` channels, leaky ReLU, a 1x1 convolution to RGB (zero at initialisation, so a head
    widened from a fitted linear one starts as it). A linear read-out follows badly what the finer
    stages' nonlinearities do to colour near the horizon; this branch follows it better, at a cost:
    it runs at a coarse tile's full size (the built-in's 1/8 view: 1.40x the 1x view, 1.22x without)."""

    def __init__(self, in_channels: int, w_dim: int, hidden: int = 0):
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.zeros(3, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.zeros(3))
        self.weight_gain = 1.0 / math.sqrt(in_channels * 9)
        self.hidden = hidden
        if hidden:
            self.hidden_weight = nn.Parameter(torch.randn(hidden, in_channels, 3, 3))
            self.hidden_bias = nn.Parameter(torch.zeros(hidden))
            self.hidden_to_rgb = nn.Parameter(torch.zeros(3, hidden))

    def forward(self, x: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        x = x * styles
        y = F.conv2d(x, self.weight * self.weight_gain, self.bias)
        if self.hidden:
            h = F.conv2d(x, self.hidden_weight * self.weight_gain, self.hidden_bias)
            h = F.leaky_relu(h, 0.2) * LRELU_GAIN
            y = y + conv1x1(h, self.hidden_to_rgb * (1.0 / math.sqrt(self.hidden)))
        return y


def conv1x1(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """[N, Cin, H, W] x [Cout, Cin] -> [N, Cout, H, W] as one matrix product (on the CPU F.conv2d
    takes its slow im2col path for 1x1 kernels)."""
    n, c, h, w = x.shape
    y = torch.matmul(weight, x.reshape(n, c, h * w))
    if bias is not None:
        y = y + bias[:, None]
    return y.view(n, -1, h, w)


def upsample2x_valid(x: torch.Tensor) -> torch.Tensor:
    """Bilinear 2x upsampling with no padding: [N, C, H, W] -> [N, C, 2H - 2, 2W - 2].

    Fine pixel 2i sits a quarter of a coarse pixel left of coarse pixel i, so it is
    0.25 x[i-1] + 0.75 x[i]; fine pixel 2i+1 is 0.75 x[i] + 0.25 x[i+1]. Only outputs whose both
    neighbours exist are kept (the half-pixel bilinear kernel clamps at the border; those rows are
    cropped): a window starting at coarse index s maps to fine index 2s + 1."""
    y = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    return y[:, :, 1:-1, 1:-1]


def coordinate_features(xs: np.ndarray, ys: np.ndarray, style_spacing: int, octaves: int,
                        vertical: str, vertical_scales: tuple[int, ...]) -> np.ndarray:
    """World-anchored coordinate features at pixel centres xs [W], ys [H] -> float32 [C, H, W].

    Horizontal: sin/cos with periods style_spacing / 2**k, so every period divides the anchor
    lattice period and training on one period covers every offset (as ALIS). Vertical: the same
    periodic features (textures) or tanh(y / s) saturating away from the horizon at world y = 0
    (landscapes, as InfinityGAN, but never re-centred on a canvas)."""
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    feats = []
    for k in range(octaves):
        phase = 2.0 * np.pi * xs * (2 ** k) / style_spacing
        feats += [np.broadcast_to(np.sin(phase)[None, :], (len(ys), len(xs))),
                  np.broadcast_to(np.cos(phase)[None, :], (len(ys), len(xs)))]
    if vertical == "periodic":
        for k in range(octaves):
            phase = 2.0 * np.pi * ys * (2 ** k) / style_spacing
            feats += [np.broadcast_to(np.sin(phase)[:, None], (len(ys), len(xs))),
                      np.broadcast_to(np.cos(phase)[:, None], (len(ys), len(xs)))]
    else:
        for s in vertical_scales:
            feats.append(np.broadcast_to(np.tanh(ys / s)[:, None], (len(ys), len(xs))))
    return np.stack(feats).astype(np.float32)
