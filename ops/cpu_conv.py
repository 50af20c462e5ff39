"""Stride-1 convolutions on the CPU through the fastest engine in the torch build for their shape.

- 3x3 kernels on large maps: NNPACK's Winograd / FFT transforms. The generators' 3x3 convolutions
  dominate their CPU time; NNPACK computes them with about 2.5x fewer multiplications than oneDNN's direct
  convolution and is 2-3x faster on this project's 2-core test machine, at a rounding error a few times
  larger (about 2e-5 relative per layer, well inside the 1e-4 the official-output tests allow). On smaller
  maps its tile transforms cost more than they save, and it spreads over threads less well: it takes maps of
  at least 32x32 px per thread (512 channels, one thread: 16x16 7.1 vs 6.2 ms, 8x8 6.1 vs 2.6 ms, 4x4 4.3 vs
  1.1 ms for the direct convolution; two threads: 32x32 13.6 vs 10.5 ms, 48x48 18.5 vs 23.7 ms). It is
  called directly (ops/cpu_kernels.nnpack_conv3x3: reused outputs, torch's current thread count), through
  torch where the compiled kernels are missing. ``INFINISCAPE_NO_NNPACK=1`` turns it off.
- 1x1 kernels with at least 32 outputs: oneDNN called directly. F.conv2d sends them to its im2col-free GEMM
  fallback, half as fast here (512 -> 256 channels at 64x64: 11.2 vs 6.2 ms). A few outputs (toRGB): one
  matrix product; oneDNN's reorder of the input costs more than the product (128 -> 3 channels at 256x256:
  4.3 vs 23.6 ms), and F.conv2d picks oneDNN for them with two threads.
Float32 CPU inference with one group only; anything else, or an engine's refusal, runs F.conv2d.
"""

from __future__ import annotations

import functools
import os

import torch
import torch.nn.functional as F

from . import cpu_kernels

MIN_PIXELS_PER_THREAD = 32 * 32  # smaller maps run oneDNN's direct convolution (faster there)
MIN_ONEDNN_OUTPUTS = 32  # 1x1 kernels with fewer outputs run as one matrix product


@functools.cache
def nnpack_available() -> bool:
    """True when this torch build has NNPACK and it initialises (the check also initialises it)."""
    if os.environ.get("INFINISCAPE_NO_NNPACK"):
        return False
    try:
        return bool(torch.backends.nnpack.is_available()) and hasattr(torch, "_nnpack_spatial_convolution")
    except Exception:  # an old or unusual build: the direct convolution is always there
        return False


@functools.cache
def onednn_available() -> bool:
    return bool(torch.backends.mkldnn.is_available()) and hasattr(torch, "mkldnn_convolution")


def conv2d(x: torch.Tensor, w: torch.Tensor, padding: int | tuple[int, int] = 0,
           groups: int = 1) -> torch.Tensor:
    """F.conv2d(x, w, padding=padding, groups=groups) (stride 1), by NNPACK or oneDNN where they are faster
    (float32 CPU inference, one group)."""
    inference = not (torch.is_grad_enabled() and (x.requires_grad or w.requires_grad))
    pad = (padding, padding) if isinstance(padding, int) else tuple(padding)
    if groups == 1 and inference and x.device.type == "cpu" and x.dtype == w.dtype == torch.float32:
        kernel = tuple(w.shape[-2:])
        try:
            large = x.shape[-2] * x.shape[-1] >= MIN_PIXELS_PER_THREAD * torch.get_num_threads()
            if kernel == (3, 3) and large and nnpack_available():
                if (y := cpu_kernels.nnpack_conv3x3(x, w, pad)) is not None:
                    return y
                return torch._nnpack_spatial_convolution(x, w, None, list(pad), [1, 1])
            if kernel == (1, 1) and pad == (0, 0) and w.shape[0] >= MIN_ONEDNN_OUTPUTS:
                if (y := onednn(x.contiguous(), w.contiguous())) is not None:
                    return y
            if kernel == (1, 1) and pad == (0, 0):  # a few outputs (toRGB): one matrix product
                n, i, h, wd = x.shape
                return torch.matmul(w.reshape(w.shape[0], i), x.reshape(n, i, h * wd)).view(n, -1, h, wd)
        except RuntimeError:  # an engine refusing a shape: the direct convolution takes it
            pass
    return F.conv2d(x, w, padding=pad, groups=groups)


def onednn(x: torch.Tensor, w: torch.Tensor, padding=(0, 0), groups: int = 1) -> torch.Tensor | None:
    """oneDNN's direct convolution called directly (stride 1, no bias), in x's layout: contiguous or
    channels-last in, the same out. None where the build lacks it or it refuses the shape."""
    if not onednn_available():
        return None
    try:
        return torch.mkldnn_convolution(x, w, None, list(padding), [1, 1], [1, 1], groups)
    except RuntimeError:
        return None
