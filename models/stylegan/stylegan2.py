"""StyleGAN2 generator (Karras et al. 2020, configs E-F as in StyleGAN2-ADA / StyleGAN3's networks_stylegan2).

Written from the paper; module and tensor names follow the official state dicts so snapshot weights copy
one-to-one (synthesis.b4.const, synthesis.b8.conv0.affine.weight, mapping.fc0.bias, ...).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ...ops import buffers, cpu_conv
from ...ops.bias_act import ACTIVATIONS, bias_act
from ...ops.conv2d_resample import conv2d_up2, phase_kernels, upsample_conv2d
from ...ops.cpu_kernels import bias_lrelu_
from ...ops.upfirdn2d import setup_filter, upsample2d
from ..contract import NETWORK_NOISE_MODES
from .mapping import FullyConnectedLayer, MappedGenerator

SLOPES = {"linear": 1.0, "relu": 0.0, "lrelu": ACTIVATIONS["lrelu"].def_alpha}  # act(g x) = g act(x), g > 0


def modulate(kernel: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """[O, I, kh, kw] times per-sample factors [N, O or 1, I] -> grouped-conv weights [N * O, I, kh, kw]."""
    a, b = kernel.unsqueeze(0), scale.unsqueeze(3).unsqueeze(4)
    if kernel.device.type == "cpu" and not (torch.is_grad_enabled() and (a.requires_grad or b.requires_grad)):
        w = torch.mul(a, b, out=buffers.empty((scale.shape[0], *kernel.shape), torch.result_type(a, b)))
    else:
        w = a * b
    return w.reshape(scale.shape[0] * kernel.shape[0], *kernel.shape[1:])


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, up: int = 1,
                     resample_filter: torch.Tensor | None = None, demodulate: bool = True,
                     gain: float = 1.0, derived: dict | None = None) -> torch.Tensor:
    """Per-sample weights weight * style (input channels), normalised per output channel when `demodulate`,
    times `gain`; [N, I, H, W] -> [N, O, H*up, W*up], run as one grouped convolution over the batch.
    `derived`: the weight's `energy` (squares summed over the taps) and `phases` (ops.conv2d_resample), kept
    by the layer while its weight is unchanged."""
    n, _, h, wd = x.shape
    o, i, k, _ = weight.shape
    assert x.shape[1] == i and styles.shape == (n, i), f"x {tuple(x.shape)}, w {tuple(weight.shape)}"
    if x.dtype == torch.float16 and demodulate:
        # FP16 would overflow on large styles/weights; demodulation cancels these scales exactly.
        weight = weight * (1 / np.sqrt(i * k * k) / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True))
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)
        derived = None
    derived = derived or {}
    # One factor per (sample, output, input) slice, so the weights are modulated in a single pass.
    scale = styles.reshape(n, 1, i)
    if demodulate:
        # |weight * style|^2 summed over I, k, k without forming the modulated weights first.
        energy = derived["energy"] if "energy" in derived else weight.square().sum(dim=[2, 3])  # [O, I]
        scale = scale * (styles.square() @ energy.t() + 1e-8).rsqrt().reshape(n, o, 1)
    if gain != 1:
        scale = scale * gain
    if n > 1:
        x = x.reshape(1, n * i, h, wd)
    if up == 2 and k > 1:
        phases = derived["phases"] if "phases" in derived else phase_kernels(weight)
        x = upsample_conv2d(x, [modulate(p, scale).to(x.dtype) for p in phases], resample_filter, groups=n)
    else:
        w = modulate(weight, scale).to(x.dtype)  # 1x1 kernels upsample after convolving
        if up == 2:
            x = conv2d_up2(x, w, resample_filter, n)
        else:
            x = cpu_conv.conv2d(x, w, padding=k // 2, groups=n)
    return x.reshape(n, o, h * up, wd * up)


class Conv2dLayer(torch.nn.Module):
    """Plain (unmodulated) convolution; the generator uses it only as the 1x1 upsampling skip of 'resnet'."""

    def __init__(self,
                 in_channels: int,  # input channels
                 out_channels: int,  # output channels
                 kernel_size: int,  # square kernel size
                 bias: bool = True,  # add a bias before the activation
                 activation: str = "linear",  # activation name of ops.bias_act
                 up: int = 1,  # 1 or 2: upsample before the convolution
                 resample_filter=(1, 3, 3, 1),  # low-pass FIR used when upsampling
                 conv_clamp: float | None = None,  # clamp outputs to +-X, None = no clamp
                 ):
        super().__init__()
        assert up in (1, 2)
        self.in_channels, self.out_channels, self.activation = in_channels, out_channels, activation
        self.up, self.conv_clamp = up, conv_clamp
        self.register_buffer("resample_filter", setup_filter(list(resample_filter)))
        self.weight_gain = 1 / np.sqrt(in_channels * kernel_size ** 2)
        self.act_gain = ACTIVATIONS[activation].def_gain
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels])) if bias else None

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = (self.weight * self.weight_gain).to(x.dtype)
        k = w.shape[-1]
        x = conv2d_up2(x, w, self.resample_filter) if self.up == 2 else F.conv2d(x, w, padding=k // 2)
        b = None if self.bias is None else self.bias.to(x.dtype)
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        return bias_act(x, b, act=self.activation, gain=self.act_gain * gain, clamp=clamp)


class SynthesisLayer(torch.nn.Module):
    """Modulated 3x3 convolution (optionally upsampling 2x) + per-pixel noise + bias + leaky ReLU."""

    def __init__(self,
                 in_channels: int,  # input channels
                 out_channels: int,  # output channels
                 w_dim: int,  # width of w, the affine layer's input
                 resolution: int,  # output resolution of this layer
                 kernel_size: int = 3,  # square kernel size
                 up: int = 1,  # 1 or 2: upsample before the convolution
                 use_noise: bool = True,  # add per-pixel noise scaled by a learned strength
                 activation: str = "lrelu",  # activation name of ops.bias_act
                 resample_filter=(1, 3, 3, 1),  # low-pass FIR used when upsampling
                 conv_clamp: float | None = None,  # clamp outputs to +-X, None = no clamp
                 channels_last: bool = False,  # memory layout hint of the official code (ignored)
                 ):
        super().__init__()
        self.in_channels, self.out_channels, self.w_dim = in_channels, out_channels, w_dim
        self.resolution = resolution
        self.up, self.use_noise, self.activation, self.conv_clamp = up, use_noise, activation, conv_clamp
        self.register_buffer("resample_filter", setup_filter(list(resample_filter)))
        self.act_gain = ACTIVATIONS[activation].def_gain
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = torch.nn.Parameter(torch.zeros([]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random", gain: float = 1.0):
        assert noise_mode in NETWORK_NOISE_MODES, f"noise_mode must be one of {NETWORK_NOISE_MODES}"
        res_in = self.resolution // self.up
        assert x.shape[1:] == (self.in_channels, res_in, res_in), f"got {tuple(x.shape)}"
        # (Leaky) ReLU commutes with a positive scale, so the output gain goes into the weights, noise and
        # bias (free) instead of a pass over the output; the clamp still sees the same values.
        fold = self.act_gain * gain if self.activation in SLOPES else 1.0
        x = modulated_conv2d(x, self.weight, self.affine(w), up=self.up, resample_filter=self.resample_filter,
                             gain=fold, derived=self._derived())
        noise = None
        if self.use_noise and noise_mode == "random":
            r = self.resolution
            noise = torch.randn([x.shape[0], 1, r, r], device=x.device).to(x.dtype)
            noise = noise * (self.noise_strength * fold)
        elif self.use_noise and noise_mode == "const":
            noise = (self.noise_const * (self.noise_strength * fold)).to(x.dtype)
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        if self.activation not in SLOPES:
            x = x if noise is None else x + noise
            return bias_act(x, self.bias.to(x.dtype), act=self.activation, gain=self.act_gain * gain,
                            clamp=clamp)
        if noise is not None and noise.ndim == 4:  # per-sample random noise [N, 1, R, R]
            x, noise = (x, noise[0, 0]) if x.shape[0] == 1 else (x.add_(noise), None)
        return bias_lrelu_(x, (self.bias * fold).to(x.dtype), noise, slope=SLOPES[self.activation], gain=1.0,
                           clamp=clamp)

    def _derived(self) -> dict:
        """Tensors computed from the weight alone, kept while the weight is unchanged (inference)."""
        w = self.weight
        if torch.is_grad_enabled() and w.requires_grad:
            return {}
        key = (w.data_ptr(), w._version, w.dtype, w.device)
        if getattr(self, "_derived_key", None) != key:
            w = w.detach()
            self._derived_cache = {"energy": w.square().sum(dim=[2, 3])}
            if self.up == 2 and w.shape[-1] > 1:
                self._derived_cache["phases"] = phase_kernels(w)
            self._derived_key = key
        return self._derived_cache


class ToRGBLayer(torch.nn.Module):
    """Modulated 1x1 convolution to image channels, without demodulation (keeps the style's scale)."""

    def __init__(self,
                 in_channels: int,  # input channels
                 out_channels: int,  # image channels
                 w_dim: int,  # width of w
                 kernel_size: int = 1,  # square kernel size
                 conv_clamp: float | None = None,  # clamp outputs to +-X, None = no clamp
                 channels_last: bool = False,  # memory layout hint of the official code (ignored)
                 ):
        super().__init__()
        self.in_channels, self.out_channels, self.w_dim = in_channels, out_channels, w_dim
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / np.sqrt(in_channels * kernel_size ** 2)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False)
        return bias_act(x, self.bias.to(x.dtype), clamp=self.conv_clamp)


class SynthesisBlock(torch.nn.Module):
    """One resolution: (const | upsampling conv0) -> conv1 -> ToRGB, wired as orig, skip or resnet."""

    def __init__(self,
                 in_channels: int,  # input channels, 0 = the first (4x4 constant) block
                 out_channels: int,  # output channels
                 w_dim: int,  # width of w
                 resolution: int,  # resolution of this block
                 img_channels: int,  # image channels
                 is_last: bool,  # the final block always has a ToRGB
                 architecture: str = "skip",  # 'orig', 'skip' (sum of upsampled RGBs) or 'resnet'
                 resample_filter=(1, 3, 3, 1),  # low-pass FIR for all resampling
                 conv_clamp: float | None = 256,  # clamp conv outputs to +-X, None = no clamp
                 use_fp16: bool = False,  # run in FP16 (CUDA only; the CPU always computes in FP32)
                 fp16_channels_last: bool = False,  # memory layout hint of the official code (ignored)
                 fused_modconv_default=True,  # official execution hint; results are the same (ignored)
                 **layer_kwargs,  # SynthesisLayer options (kernel_size, use_noise, activation)
                 ):
        assert architecture in ("orig", "skip", "resnet"), f"unknown architecture {architecture!r}"
        super().__init__()
        self.in_channels, self.w_dim, self.resolution = in_channels, w_dim, resolution
        self.img_channels = img_channels
        self.is_last, self.architecture, self.use_fp16 = is_last, architecture, use_fp16
        self.register_buffer("resample_filter", setup_filter(list(resample_filter)))
        self.num_conv = self.num_torgb = 0
        if in_channels == 0:
            self.const = torch.nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2,
                                        conv_clamp=conv_clamp, resample_filter=resample_filter,
                                        **layer_kwargs)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp,
                                    **layer_kwargs)
        self.num_conv += 1
        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
            self.num_torgb += 1
        if in_channels != 0 and architecture == "resnet":
            self.skip = Conv2dLayer(in_channels, out_channels, kernel_size=1, bias=False, up=2,
                                    resample_filter=resample_filter)

    def forward(self, x, img, ws: torch.Tensor, noise_mode: str = "random", force_fp32: bool = False):
        """x [N, Cin, R/2, R/2] (None first), img [N, 3, R/2, R/2] or None, ws [N, convs+torgbs, w_dim]."""
        assert ws.shape[1:] == (self.num_conv + self.num_torgb, self.w_dim), f"ws {tuple(ws.shape)}"
        w_iter = iter(ws.unbind(dim=1))
        fp16 = self.use_fp16 and not force_fp32 and ws.device.type == "cuda"
        dtype = torch.float16 if fp16 else torch.float32
        if self.in_channels == 0:
            x = self.const.to(dtype).unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x, next(w_iter), noise_mode)
        else:
            half = self.resolution // 2
            assert x.shape[1:] == (self.in_channels, half, half), f"x {tuple(x.shape)}"
            x = x.to(dtype)
            if self.architecture == "resnet":
                # sqrt(1/2) on both branches keeps the sum at unit variance.
                y = self.skip(x, gain=np.sqrt(0.5))
                x = self.conv0(x, next(w_iter), noise_mode)
                x = y + self.conv1(x, next(w_iter), noise_mode, gain=np.sqrt(0.5))
            else:
                x = self.conv0(x, next(w_iter), noise_mode)
                x = self.conv1(x, next(w_iter), noise_mode)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.is_last or self.architecture == "skip":
            y = self.torgb(x, next(w_iter)).to(torch.float32)
            img = y if img is None else img + y
        return x, img


class BlockSynthesis(torch.nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, img_channels, R, R] through blocks b4 .. bR, each adding its
    RGB to the upsampled sum so far (StyleGAN2's synthesis; INR-GAN's levels have the same shape).
    Consecutive blocks share a w: a block's ToRGB reads the next block's conv0 w."""

    def __init__(self,
                 w_dim: int,  # width of w
                 img_resolution: int,  # output resolution, a power of two >= 4
                 img_channels: int,  # image channels
                 channel_base: int = 32768,  # channels at resolution r = min(channel_base / r, channel_max)
                 channel_max: int = 512,  # channel cap
                 num_fp16_res: int = 4,  # the N highest resolutions run in FP16 (on CUDA)
                 **block_kwargs,  # the family's block options (architecture, conv_clamp, resample_filter)
                 ):
        if img_resolution < 4 or img_resolution & (img_resolution - 1):
            raise ValueError(f"img_resolution {img_resolution} is not a power of two >= 4")
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        log2 = int(np.log2(img_resolution))
        self.block_resolutions = [2 ** i for i in range(2, log2 + 1)]
        channels = {r: min(channel_base // r, channel_max) for r in self.block_resolutions}
        fp16_resolution = max(2 ** (log2 + 1 - num_fp16_res), 8)
        self.num_ws = 0
        for res in self.block_resolutions:
            block = self.make_block(channels[res // 2] if res > 4 else 0, channels[res], w_dim=w_dim,
                                    resolution=res, img_channels=img_channels, is_last=res == img_resolution,
                                    use_fp16=res >= fp16_resolution, **block_kwargs)
            self.num_ws += block.num_conv + (block.num_torgb if res == img_resolution else 0)
            setattr(self, f"b{res}", block)

    def make_block(self, in_channels: int, out_channels: int, **kwargs) -> torch.nn.Module:
        """The family's block at ``kwargs["resolution"]`` (in_channels 0: the first block)."""
        return SynthesisBlock(in_channels, out_channels, **kwargs)

    def forward(self, ws: torch.Tensor, **block_kwargs) -> torch.Tensor:
        assert ws.ndim == 3 and ws.shape[1:] == (self.num_ws, self.w_dim), f"ws {tuple(ws.shape)}"
        ws = ws.to(torch.float32)
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            cur = ws.narrow(1, w_idx, block.num_conv + block.num_torgb)
            w_idx += block.num_conv
            x, img = block(x, img, cur, **block_kwargs)
        return img


class SynthesisNetwork(BlockSynthesis):
    """StyleGAN2's synthesis network: blocks 4x4 .. RxR of modulated convolutions."""

    def forward(self, ws: torch.Tensor, noise_mode: str = "random", force_fp32: bool = False) -> torch.Tensor:
        return super().forward(ws, noise_mode=noise_mode, force_fp32=force_fp32)


class Generator(MappedGenerator):
    """z [N, z_dim], c [N, c_dim] -> image [N, img_channels, R, R] in about [-1, 1]."""

    synthesis_network = SynthesisNetwork  # takes channel_base, architecture, conv_clamp, ...

    def forward(self, z, c, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                noise_mode: str = "random", force_fp32: bool = False) -> torch.Tensor:
        return super().forward(z, c, truncation_psi, truncation_cutoff, noise_mode=noise_mode,
                               force_fp32=force_fp32)
