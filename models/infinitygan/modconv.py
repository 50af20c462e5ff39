"""InfinityGAN's modulated convolutions (unpadded, optionally 2x upsampling), fast on the CPU.

Every modulated layer reads its style as K codes per sample blended per pixel by weights [B, K, h, w] at
the layer's input pixels ([B, K, 1, 1] for a style that is constant over the patch). This is the official
spatially-shaped style of fused generation: the input is modulated per pixel and demodulated from the
style at each input pixel (cropped after a plain convolution, bilinearly resized after an upsampling one).
A constant style gives exactly the official per-sample modulation.

Speed (float32 CPU inference; same values up to float rounding):
- a constant style of one sample goes into the weights of a plain convolution (modulation, demodulation
  and an output gain that the caller folds in), so the feature maps are read once, by the convolution;
  few passes over small tensors, as each is a parallel region where a busy core makes every thread wait;
- the 7x7 convolutions run in channels-last layout (conv2d below);
- the upsampling convolution (transposed, stride 2, crop [1:-1], unpadded [1, 2, 1] blur) runs as four
  phase convolutions whose outputs the fused FIR kernel reads directly (ops/conv2d_resample, cpu_kernels);
- tensors derived from the weight alone (scaled weight, its squared sums, its phase kernels) are kept
  while the weight is unchanged;
- with constant styles the texture synthesizer runs channels-last on the CPU (`channels_last`): oneDNN then
  reads and writes its layout directly, no reorder in or out (one thread: 3x3 512 -> 512 at 103x103 197 ->
  185 ms, the four phase convolutions at 53x53 70 -> 53 ms); the up-convolution's blur is a per-channel
  oneDNN convolution of the interleaved phases (with the demodulation in its taps), the epilogue a view.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ...ops import cpu_conv
from ...ops.conv2d_resample import PHASES, interleave, phase_convs, phase_kernels
from ...ops.cpu_kernels import fir_phases
from ...ops.upfirdn2d import setup_filter, upfirdn2d
from ..equalized import LRELU_GAIN, EqualLinear

CROP = [-1, -1, -1, -1]  # upfirdn2d padding: the transposed convolution's border samples cropped
CL = torch.channels_last


def channels_last(x: torch.Tensor) -> bool:
    """x is a CPU map laid out channels-last (and not also plainly contiguous)."""
    return (x.device.type == "cpu" and x.ndim == 4 and not x.is_contiguous()
            and x.is_contiguous(memory_format=CL))


def conv_cl(x: torch.Tensor, w: torch.Tensor, padding=(0, 0), groups: int = 1) -> torch.Tensor:
    """F.conv2d(x, w, padding=padding, groups=groups) of a channels-last x, channels-last out: oneDNN's
    direct convolution called directly (F.conv2d sends 1x1 kernels to a GEMM fallback twice as slow)."""
    w = w.contiguous(memory_format=CL)
    grad = torch.is_grad_enabled() and (x.requires_grad or w.requires_grad)
    fp32 = x.dtype == w.dtype == torch.float32
    if not grad and fp32 and (y := cpu_conv.onednn(x, w, padding, groups)) is not None:
        return y
    return F.conv2d(x, w, padding=padding, groups=groups)


def phase_convs_cropped(x: torch.Tensor, phases: list[torch.Tensor]) -> torch.Tensor:
    """interleave(phase_convs(x, phases))[:, :, 1:-1, 1:-1] for a channels-last x, written channels-last
    (contiguous runs of C values), each phase dropped once written (a smaller peak: fewer fresh pages)."""
    n, _, hx, wx = x.shape
    h = 2 * hx + phases[0].shape[2] + phases[2].shape[2] - 4  # phases (0, *) and (1, *) less the crop
    w = 2 * wx + phases[0].shape[3] + phases[1].shape[3] - 4
    y = torch.empty(n, phases[0].shape[0], h, w, dtype=x.dtype, device=x.device, memory_format=CL)
    for (a, b), p in zip(PHASES, phases, strict=True):
        part = conv_cl(x, p, (p.shape[2] - 1, p.shape[3] - 1))
        r, s = 1 - a, 1 - b  # cropped row r + 2m is row m + r of this phase
        y[:, :, r::2, s::2] = part[:, :, r:r + (h - r + 1) // 2, s:s + (w - s + 1) // 2]
        del part
    return y


class Blur(torch.nn.Module):
    """Unpadded FIR blur after an upsampling convolution (kernel stored like the official buffer)."""

    def __init__(self, taps: list[float], gain: float):
        super().__init__()
        self.register_buffer("kernel", setup_filter(taps) * gain)  # [k, k], sums to gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel)


def blend(mod: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Per-code modulations [B, K, C] blended by weights [B, K, h, w] -> [B, C, h, w].

    Modulation is affine and the weights sum to 1, so this equals modulating the blended code, as the
    official code does. Summed code by code in order, so zero codes padded at the end (to batch windows
    with fewer codes) add exact zeros."""
    assert mod.ndim == 3 and weights.ndim == 4 and weights.shape[:2] == mod.shape[:2], \
        f"style weights {tuple(weights.shape)} do not match codes {tuple(mod.shape)}"
    out = mod[:, 0, :, None, None] * weights[:, 0:1]
    for k in range(1, mod.shape[1]):
        out = out + mod[:, k, :, None, None] * weights[:, k:k + 1]
    return out


def conv2d(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """F.conv2d(x, w) (unpadded, stride 1) by direct convolutions only, so every output pixel is the same
    sum wherever the patch lies: the 7x7 ones in channels-last layout (one thread, 259 -> 256 channels at
    35x35: 24 vs 32 ms), 1x1 ones by oneDNN (ops.cpu_conv).

    Not NNPACK: its Winograd / FFT transforms would run the 3x3 and 7x7 convolutions in about 0.6x the
    time, but their rounding depends on where a pixel falls in the transform's tile grid and leaks between
    neighbouring pixels, so tiles would no longer equal a one-shot render to 1e-5 nor ignore the cells
    outside their footprint exactly."""
    if w.shape[-1] == 1:
        return cpu_conv.conv2d(x, w)
    if w.shape[-1] > 3 and x.device.type == "cpu":
        cl = torch.channels_last
        return F.conv2d(x.contiguous(memory_format=cl), w.contiguous(memory_format=cl)).contiguous()
    return F.conv2d(x, w)


def equal_linear(layer: EqualLinear, x: torch.Tensor) -> torch.Tensor:
    """layer(x) with its scaled weight and bias kept while they are unchanged (inference): two passes over
    the weight fewer per call."""
    w, b = layer.weight, layer.bias
    if torch.is_grad_enabled() and (w.requires_grad or b.requires_grad):
        return layer(x)
    key = (w.data_ptr(), w._version, b.data_ptr(), b._version, w.dtype, w.device)
    cache = getattr(layer, "_scaled", None)
    if cache is None or cache[0] != key:
        cache = layer._scaled = (key, w.detach() * layer.weight_gain, b.detach() * layer.lr_mul)
    x = F.linear(x, cache[1], cache[2])
    return F.leaky_relu(x, 0.2) * LRELU_GAIN if layer.activation else x


class ModulatedConv2d(torch.nn.Module):
    """Style-modulated, optionally demodulated, unpadded convolution (optionally 2x upsampling)."""

    def __init__(self, in_channel: int, out_channel: int, kernel_size: int, style_dim: int,
                 demodulate: bool = True, upsample: bool = False):
        super().__init__()
        assert not upsample or kernel_size == 3, "the official upsampling convolutions are 3x3"
        self.in_channel, self.out_channel, self.kernel_size = in_channel, out_channel, kernel_size
        self.demodulate, self.upsample = demodulate, upsample
        self.scale = 1 / math.sqrt(in_channel * kernel_size ** 2)
        self.weight = torch.nn.Parameter(torch.randn(1, out_channel, in_channel, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_channel, bias_init=1)
        if upsample:
            self.blur = Blur([1, 2, 1], gain=4)

    def forward(self, x: torch.Tensor, codes: torch.Tensor, weights: torch.Tensor,
                gain: float = 1.0) -> torch.Tensor:
        """x [B, I, H, W], codes [B, K, D], weights [B, K, H, W] or [B, K, 1, 1] -> output times `gain`."""
        assert x.shape[1] == self.in_channel and weights.shape[2:] in ((1, 1), x.shape[2:]), \
            f"input {tuple(x.shape)} / style weights {tuple(weights.shape)}"
        mod = equal_linear(self.modulation, codes)  # [B, K, I]
        d = self._derived()
        if weights.shape[2:] == (1, 1):
            return self._uniform(x, blend(mod, weights)[:, :, 0, 0], d, gain)
        return self._per_pixel(x, mod, weights, d, gain)

    def _uniform(self, x: torch.Tensor, style: torch.Tensor, d: dict, gain: float) -> torch.Tensor:
        """One style per sample [B, I]: per-sample modulation, demodulation per output channel."""
        b = x.shape[0]
        demod = None
        if self.demodulate:
            demod = torch.rsqrt(style.square() @ d["energy"].t() + 1e-8)  # [B, O]
        if channels_last(x):
            return self._uniform_cl(x, style, demod, d, gain)
        if b == 1 and not self.upsample:  # everything into the weights: [O, I] factors
            f = torch.outer(demod[0] * gain, style[0]) if demod is not None else (style[0] * gain)[None]
            return conv2d(x, d["w"] * f[:, :, None, None])
        # styles on the input maps, demodulation on the output (a batch shares the weights; for one sample's
        # up-convolution two passes instead of one per phase kernel)
        x = x * style[:, :, None, None]
        out = self._up(x, d["phases"]) if self.upsample else conv2d(x, d["w"])
        post = torch.full_like(style[:, :1], gain) if demod is None else demod * gain
        return out.mul_(post[:, :, None, None])

    def _uniform_cl(self, x: torch.Tensor, style: torch.Tensor, demod: torch.Tensor | None, d: dict,
                    gain: float) -> torch.Tensor:
        """_uniform for a channels-last x, channels-last out."""
        b = x.shape[0]
        post = torch.full_like(style[:, :1], gain) if demod is None else demod * gain  # [B, O] or [B, 1]
        if not self.upsample:
            k = self.kernel_size - 1
            out_numel = self.out_channel * (x.shape[2] - k) * (x.shape[3] - k)
            if b == 1 and out_numel + x[0].numel() > d["w"].numel():  # the weight is the smaller to scale
                f = torch.outer(post[0].expand(self.out_channel), style[0])
                return conv_cl(x, self._cl(d, "w") * f[:, :, None, None])
            out = conv_cl(x * style[:, :, None, None], self._cl(d, "w"))
            return out.mul_(post[:, :, None, None])
        y = phase_convs_cropped(x * style[:, :, None, None], self._cl(d, "phases"))
        k = self.blur.kernel.to(y.dtype)  # symmetric: its correlation is its convolution
        if b == 1:  # the demodulation in the blur's per-channel taps
            return conv_cl(y, k * post[0][:, None, None, None], groups=self.out_channel)
        return conv_cl(y, k.expand(self.out_channel, 1, *k.shape), groups=self.out_channel).mul_(
            post[:, :, None, None])

    def _cl(self, d: dict, key: str):
        """d[key] channels-last, made on first use and kept with d."""
        if key + "_cl" not in d:
            v = d[key]
            d[key + "_cl"] = [p.contiguous(memory_format=CL) for p in v] if isinstance(v, list) \
                else v.contiguous(memory_format=CL)
        return d[key + "_cl"]

    def _up(self, x: torch.Tensor, phases: list[torch.Tensor]) -> torch.Tensor:
        """Transposed convolution (stride 2), border samples cropped, blurred (the per-channel factors of a
        uniform style commute with the blur)."""
        parts = phase_convs(x, phases)
        out = fir_phases(parts, self.blur.kernel, padding=CROP)
        return out if out is not None else upfirdn2d(interleave(parts), self.blur.kernel, padding=CROP)

    def _per_pixel(self, x: torch.Tensor, mod: torch.Tensor, weights: torch.Tensor, d: dict,
                   gain: float) -> torch.Tensor:
        style = blend(mod, weights)  # [B, I, h, w]
        x = x * style
        demod = None
        if self.demodulate:
            # sum_i wsq[o, i] style[i, p]^2 with style = sum_k w_k(p) mod_k: a quadratic form in the K
            # weights, K^2 products per pixel instead of I (the same value, far cheaper)
            g = torch.einsum("oi,bki,bli->bokl", d["energy"], mod, mod)
            ww = weights[:, :, None] * weights[:, None, :]  # [B, K, K, h, w]
            demod = torch.rsqrt(torch.einsum("bokl,bklhw->bohw", g, ww).clamp_min(0) + 1e-8) * gain
        if self.upsample:
            out = interleave(phase_convs(x, d["phases"]))[:, :, 1:-1, 1:-1]
            if demod is not None:  # demodulation at input pixels, resized to the output
                out = out * F.interpolate(demod, size=out.shape[2:], mode="bilinear", align_corners=True)
            elif gain != 1:
                out = out * gain
            return self.blur(out)
        out = conv2d(x, d["w"])
        r = self.kernel_size // 2
        if demod is not None:
            return out.mul_(demod[:, :, r:-r or None, r:-r or None])
        return out.mul_(gain) if gain != 1 else out

    def _derived(self) -> dict:
        """The scaled weight [O, I, k, k], its squares summed over the taps [O, I] and (upsampling) its phase
        kernels, kept while the weight is unchanged (inference)."""
        w = self.weight
        if torch.is_grad_enabled() and w.requires_grad:
            return self._derive(w)
        key = (w.data_ptr(), w._version, w.dtype, w.device)
        if getattr(self, "_derived_key", None) != key:
            self._derived_cache = self._derive(w.detach())
            self._derived_key = key
        return self._derived_cache

    def _derive(self, weight: torch.Tensor) -> dict:
        w = weight[0] * self.scale
        d = {"w": w, "energy": w.square().sum([2, 3])}
        if self.kernel_size > 3:  # channels-last for conv2d, so modulated copies are born in that layout
            d["w"] = w.contiguous(memory_format=torch.channels_last)
        if self.upsample:
            d["phases"] = phase_kernels(w)
        return d
