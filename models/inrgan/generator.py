"""INR-GAN generator (Skorokhodov et al., "Adversarial Generation of Continuous Images", CVPR 2021).

A hypernetwork (the mapping network plus one affine per layer) predicts the weights of a per-pixel MLP that
maps coordinate features to colour. Each MLP layer is a factorized multiplicative modulation (FMM):
W = W0 * (1 + A B / sqrt(r)) with A [out, r] and B [r, in] from w, rows normalised ('demod'). The MLP is
multi-scale: the first levels run at `input.resolution`, then each level doubles the grid (nearest, or
bilinear for INR-GAN-bil) and appends fresh coordinate features; RGB is summed over levels (skip).

Written from the paper and the facts of the official code; module and tensor names follow its state dict
(synthesis.b64.conv0.affine.weight, synthesis.b4.input.input.coord_fuser.const_embs, ...).

Speed (same values up to float rounding): every layer is 1x1, so the part of conv0 that reads the upsampled
features is applied at the low resolution and its output upsampled (a per-pixel linear map commutes with
nearest and bilinear upsampling: 4x fewer multiply-adds there); the coordinate features, shared by the
batch, are cached and accumulated onto that result in place by one GEMM; the lrelu gain is folded into
weights and bias, and equalized-lr gains scale the small affine outputs, not the large affine weights.
Every full-resolution pass allocates one tensor per layer (fresh pages are what costs on the CPU).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ...ops.bias_act import ACTIVATIONS
from ...ops.upfirdn2d import setup_filter
from ..contract import NETWORK_NOISE_MODES
from ..stylegan.mapping import FullyConnectedLayer, MappedGenerator
from ..stylegan.stylegan2 import BlockSynthesis, ToRGBLayer
from .config import InrGanConfig
from .coords import CoordFuser, GenInput


def upsample2x(x: torch.Tensor, mode: str) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, 2H, 2W], as the official `maybe_upsample` (bilinear with aligned corners)."""
    if mode == "bilinear":
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
    return F.interpolate(x, scale_factor=2, mode=mode)


def affine_styles(affine: FullyConnectedLayer, w: torch.Tensor) -> torch.Tensor:
    """affine(w) with the equalized-lr gain applied to the small output instead of the large weight."""
    styles = F.linear(w, affine.weight.to(w.dtype)) * affine.weight_gain
    return styles.add_(affine.bias.to(w.dtype) * affine.bias_gain)


class ToRGB(ToRGBLayer):
    """StyleGAN2's ToRGB (modulated 1x1, not demodulated), run as a batched matrix product."""

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        n, c, h, wd = x.shape
        styles = affine_styles(self.affine, w) * self.weight_gain  # [N, C]
        weight = self.weight[:, :, 0, 0].unsqueeze(0) * styles.unsqueeze(1)  # [N, 3, C]
        img = torch.bmm(weight, x.reshape(n, c, h * wd)).add_(self.bias.view(1, -1, 1)).view(n, -1, h, wd)
        return img if self.conv_clamp is None else img.clamp_(-self.conv_clamp, self.conv_clamp)


class FMMLayer(torch.nn.Module):
    """1x1 layer with factorized multiplicative modulation + optional noise + bias + leaky ReLU."""

    def __init__(self,
                 in_channels: int,  # input channels (features, then coordinate features, as concatenated)
                 out_channels: int,  # output channels
                 w_dim: int,  # width of w
                 resolution: int,  # output resolution (for the constant noise)
                 rank: int,  # rank r of the modulation A B
                 fmm_activation: str | None = "demod",  # 'demod', 'tanh', 'sigmoid' or None
                 instance_norm: bool = False,  # divide the input by its spatial std first (-bil)
                 use_noise: bool = False,  # add per-pixel noise scaled by a learned strength
                 conv_clamp: float | None = None,  # clamp outputs to +-X, None = no clamp
                 ):
        super().__init__()
        self.in_channels, self.out_channels, self.resolution = in_channels, out_channels, resolution
        self.rank, self.fmm_activation, self.instance_norm = rank, fmm_activation, instance_norm
        self.use_noise, self.conv_clamp = use_noise, conv_clamp
        self.gain = ACTIVATIONS["lrelu"].def_gain
        self.register_buffer("resample_filter", setup_filter([1, 3, 3, 1]))  # unused; in the state dict
        self.affine = FullyConnectedLayer(w_dim, (in_channels + out_channels) * rank, bias_init=0)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = torch.nn.Parameter(torch.zeros([]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))

    def modulated_weight(self, w: torch.Tensor) -> torch.Tensor:
        """w [N, w_dim] -> per-sample weights [N, out, in]."""
        n, o, i, r = w.shape[0], self.out_channels, self.in_channels, self.rank
        styles = affine_styles(self.affine, w)  # [N, (out + in) r]
        left, right = styles[:, :o * r].view(n, o, r), styles[:, o * r:].view(n, r, i)
        # With unit-variance factors the product has std sqrt(r); scale it back to ~1.
        mod = left @ right / np.sqrt(r)  # [N, out, in]
        if self.fmm_activation == "tanh":
            mod = mod.tanh()
        elif self.fmm_activation == "sigmoid":
            mod = mod.sigmoid() - 0.5
        weight = self.weight[:, :, 0, 0].unsqueeze(0) * (mod + 1.0)
        if self.fmm_activation == "demod":
            weight = weight / (weight.norm(dim=2, keepdim=True) + 1e-8)
        return weight

    def forward(self, x: torch.Tensor | None, w: torch.Tensor, noise_mode: str = "random",
                coords: torch.Tensor | None = None, up: str | None = None) -> torch.Tensor:
        """x [N, C, h, w] (None: coordinates only) -> [N, out, R, R]; `coords` [N or 1, Ce, R, R] are the
        channels concatenated after x; `up` = 'nearest' / 'bilinear' means x is still at half resolution."""
        assert noise_mode in NETWORK_NOISE_MODES, f"noise_mode must be one of {NETWORK_NOISE_MODES}"
        n, r = w.shape[0], self.resolution
        cx = 0 if x is None else x.shape[1]
        ce = 0 if coords is None else coords.shape[1]
        assert cx + ce == self.in_channels, f"{cx} + {ce} input channels, expected {self.in_channels}"
        assert up is None or coords is not None, "an upsampling layer always reads new coordinate features"
        weight = self.modulated_weight(w) * self.gain  # lrelu(g z) = g lrelu(z): fold the gain in
        if self.instance_norm:
            assert x is not None and coords is None and up is None
            weight = weight * (1 / (x.std(dim=[2, 3]) + 1e-8)).unsqueeze(1)
        bias = (self.bias * self.gain).view(1, -1, 1, 1)
        out = None
        if x is not None:  # features first, at their own (possibly half) resolution
            h = x.shape[2]
            assert x.shape[2:] == (r // 2 if up else r, r // 2 if up else r), f"x {tuple(x.shape)}"
            out = torch.bmm(weight[:, :, :cx], x.reshape(n, cx, h * h)).view(n, -1, h, h).add_(bias)
            if up is not None:  # interpolation weights sum to 1, so the bias passes through unchanged
                out = upsample2x(out, up)
        if coords is not None:  # then the coordinate features, accumulated in place by the GEMM
            w_e, e = weight[:, :, cx:], coords.reshape(coords.shape[0], ce, r * r)
            if out is None:
                out = torch.matmul(w_e, e).view(n, -1, r, r).add_(bias)
            elif coords.shape[0] == 1:  # shared by the batch: one GEMM for all samples
                out.view(-1, r * r).addmm_(w_e.reshape(-1, ce), e[0])
            else:
                out.view(n, -1, r * r).baddbmm_(w_e, e)
        if self.use_noise and noise_mode == "random":
            out.add_(torch.randn([n, 1, r, r], device=out.device) * (self.noise_strength * self.gain))
        elif self.use_noise and noise_mode == "const":
            out.add_(self.noise_const * (self.noise_strength * self.gain))
        out = F.leaky_relu_(out, ACTIVATIONS["lrelu"].def_alpha)
        if self.conv_clamp is not None:
            out = out.clamp_(-self.conv_clamp, self.conv_clamp)
        return out


class SynthesisBlock(torch.nn.Module):
    """One level of the multi-scale INR: (input | upsample + coordinates + conv0) -> conv1 -> extra -> RGB."""

    def __init__(self,
                 in_channels: int,  # input channels, 0 = the first block (coordinate input)
                 out_channels: int,  # output channels
                 w_dim: int,  # width of w
                 resolution: int,  # nominal resolution of the block (4, 8, ...)
                 img_channels: int,  # image channels
                 is_last: bool,  # the final block always has a ToRGB
                 cfg: InrGanConfig,  # the checkpoint's INR settings
                 architecture: str = "skip",  # 'skip' (sum of upsampled RGBs) or 'orig' (last RGB only)
                 conv_clamp: float | None = None,  # clamp layer outputs to +-X, None = no clamp
                 use_fp16: bool = False,  # official mixed-precision flag (we compute in FP32)
                 resample_filter=(1, 3, 3, 1),  # official FIR buffer (unused by 1x1 layers)
                 fp16_channels_last: bool = False,  # official memory-layout hint (ignored)
                 ):
        if architecture not in ("skip", "orig"):
            raise ValueError(f"architecture {architecture!r} is not supported with coordinate inputs")
        super().__init__()
        self.in_channels, self.w_dim, self.img_channels = in_channels, w_dim, img_channels
        self.is_last, self.architecture, self.upsampling_mode = is_last, architecture, cfg.upsampling_mode
        # Levels up to the input resolution all run at it; beyond it each level doubles the grid.
        self.up = 1 if resolution <= cfg.input_resolution else 2
        self.resolution = max(resolution, cfg.input_resolution)
        self.register_buffer("resample_filter", setup_filter(list(resample_filter)))
        layer = dict(w_dim=w_dim, resolution=self.resolution, rank=cfg.rank,
                     fmm_activation=cfg.fmm_activation, use_noise=cfg.use_noise, conv_clamp=conv_clamp)
        self.num_conv = self.num_torgb = 0
        self.coord_fuser = None
        if in_channels == 0:
            self.input = GenInput(cfg.input_embedding, w_dim, self.resolution)
            conv1_in = self.input.total_dim
        else:
            if not cfg.per_resolution or self.up == 2:
                self.coord_fuser = CoordFuser(cfg.embedding(self.resolution), w_dim, self.resolution)
            extra = 0 if self.coord_fuser is None else self.coord_fuser.total_dim
            self.conv0 = FMMLayer(in_channels + extra, out_channels, **layer)
            self.num_conv += 1
            conv1_in = out_channels
        norm1 = in_channels > 0 and cfg.instance_norm
        self.conv1 = FMMLayer(conv1_in, out_channels, instance_norm=norm1, **layer)
        self.num_conv += 1
        num_extra = cfg.num_extra_convs.get(self.resolution, 0)
        self.extra_convs = None
        if num_extra > 0:
            self.extra_convs = torch.nn.ModuleList(
                [FMMLayer(out_channels, out_channels, instance_norm=cfg.instance_norm, **layer)
                 for _ in range(num_extra)])
            self.num_conv += num_extra
        if is_last or architecture == "skip":
            self.torgb = ToRGB(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
            self.num_torgb += 1

    def forward(self, x, img, ws: torch.Tensor, noise_mode: str = "random"):
        """x [N, Cin, R/up, R/up] (None first), img [N, 3, R/up, R/up] or None, ws [N, layers, w_dim]."""
        assert ws.shape[1:] == (self.num_conv + self.num_torgb, self.w_dim), f"ws {tuple(ws.shape)}"
        w_iter = iter(ws.unbind(dim=1))
        up = self.upsampling_mode if self.up == 2 else None
        if self.in_channels == 0:
            w = next(w_iter)
            x = self.conv1(None, w, noise_mode, coords=self.input(w))
        else:
            low = self.resolution // self.up
            assert x.shape[1:] == (self.in_channels, low, low), f"x {tuple(x.shape)}"
            w = next(w_iter)
            coords = None if self.coord_fuser is None else self.coord_fuser(w)
            x = self.conv0(x, w, noise_mode, coords=coords, up=up)
            x = self.conv1(x, next(w_iter), noise_mode)
        for conv in self.extra_convs or []:
            x = conv(x, next(w_iter), noise_mode)
        if img is not None and up is not None:
            img = upsample2x(img, up)
        if self.is_last or self.architecture == "skip":
            y = self.torgb(x, next(w_iter)).to(torch.float32)
            img = y if img is None else img.add_(y)
        return x, img


class SynthesisNetwork(BlockSynthesis):
    """ws [N, num_ws, w_dim] -> image [N, img_channels, R, R] through the INR's levels."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int,
                 cfg: InrGanConfig,  # the checkpoint's INR settings
                 num_fp16_res: int = 0,  # official mixed-precision setting (we compute in FP32)
                 **kwargs,  # BlockSynthesis options (channel_base, channel_max) and block options
                 ):
        self.cfg = cfg  # read by make_block during the base constructor (a plain attribute, not a module)
        super().__init__(w_dim, img_resolution, img_channels, num_fp16_res=num_fp16_res, **kwargs)

    def make_block(self, in_channels: int, out_channels: int, **kwargs) -> SynthesisBlock:
        return SynthesisBlock(in_channels, out_channels, cfg=self.cfg, **kwargs)

    def forward(self, ws: torch.Tensor, noise_mode: str = "random", **_ignored) -> torch.Tensor:
        return super().forward(ws, noise_mode=noise_mode)


class Generator(MappedGenerator):
    """z [N, z_dim], c [N, c_dim] -> image [N, img_channels, R, R] in about [-1, 1].

    Takes the official constructor arguments as stored in a network pickle."""

    def build_synthesis(self, w_dim: int, img_resolution: int, img_channels: int,
                        synthesis_kwargs: dict | None = None,  # channel_base, channel_max, conv_clamp, ...
                        cfg: dict | None = None,  # the training config's `generator` section (INR settings)
                        ) -> SynthesisNetwork:
        self.config = InrGanConfig.from_official(cfg or {})
        return SynthesisNetwork(w_dim, img_resolution, img_channels, cfg=self.config,
                                **(synthesis_kwargs or {}))

    @property
    def variant(self) -> str:
        return "INR-GAN-bil" if self.config.upsampling_mode == "bilinear" else "INR-GAN"

    def forward(self, z, c, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                noise_mode: str = "random") -> torch.Tensor:
        return super().forward(z, c, truncation_psi, truncation_cutoff, noise_mode=noise_mode)
