"""3x3 convolutions on the CPU through NNPACK's Winograd / FFT transforms (in the torch build).

The generators' 3x3 convolutions dominate their CPU time; NNPACK computes them with about 2.5x fewer
multiplications than oneDNN's direct convolution and is 2-3x faster on this project's 2-core test machine,
at a rounding error a few times larger (about 2e-5 relative per layer, well inside the 1e-4 the
official-output tests allow). Its thread pool takes torch's thread count at its first use. Used for float32
CPU inference with one group on maps of at least 32x32 pixels; below that its tile transforms cost more than
they save (one thread, 512 channels: 16x16 7.1 vs 6.2 ms, 8x8 6.1 vs 2.6 ms, 4x4 4.3 vs 1.1 ms for oneDNN's
direct convolution). Anything else, or an NNPACK refusal, runs F.conv2d.
``INFINISCAPE_NO_NNPACK=1`` turns it off.
"""

from __future__ import annotations

import functools
import os

import torch
import torch.nn.functional as F

MIN_PIXELS = 32 * 32  # smaller maps run oneDNN's direct convolution (faster there)


@functools.cache
def nnpack_available() -> bool:
    """True when this torch build has NNPACK and it initialises (the check also initialises it)."""
    if os.environ.get("INFINISCAPE_NO_NNPACK"):
        return False
    try:
        return bool(torch.backends.nnpack.is_available()) and hasattr(torch, "_nnpack_spatial_convolution")
    except Exception:  # an old or unusual build: the direct convolution is always there
        return False


def conv2d(x: torch.Tensor, w: torch.Tensor, padding: int = 0, groups: int = 1) -> torch.Tensor:
    """F.conv2d(x, w, padding=padding, groups=groups) (stride 1), through NNPACK for 3x3 float32 CPU
    inference."""
    inference = not (torch.is_grad_enabled() and (x.requires_grad or w.requires_grad))
    fp32 = x.dtype == w.dtype == torch.float32
    large = x.shape[-2] * x.shape[-1] >= MIN_PIXELS
    if groups == 1 and w.shape[-2:] == (3, 3) and large and x.device.type == "cpu" and fp32 and inference \
            and nnpack_available():
        try:
            return torch._nnpack_spatial_convolution(x, w, None, [padding, padding], [1, 1])
        except RuntimeError:  # NNPACK refuses some shapes; the direct convolution takes them
            pass
    return F.conv2d(x, w, padding=padding, groups=groups)
