"""Alias-free leaky ReLU of StyleGAN3 (pure torch): run the nonlinearity at a higher sampling rate.

bias -> upsample by `up` with `fu` (padding relative to the upsampled image) -> gain -> leaky ReLU
-> clamp -> filter with `fd` -> keep every `down`-th pixel. Same arguments as the official op.
"""

import math

import torch

from .bias_act import bias_act
from .upfirdn2d import filter_size, parse_padding, upfirdn2d

SQRT2 = math.sqrt(2)  # lrelu gain that keeps unit variance


def filtered_lrelu(x: torch.Tensor, fu=None, fd=None, b=None, up=1, down=1, padding=0, gain=SQRT2,
                   slope=0.2, clamp=None, flip_filter=False) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, H', W'] filtered leaky ReLU; `fu`/`fd` are 1D (separable) or 2D or None."""
    assert x.ndim == 4, f"expected [N, C, H, W], got shape {tuple(x.shape)}"
    assert isinstance(up, int) and up >= 1 and isinstance(down, int) and down >= 1
    assert gain > 0 and slope >= 0 and (clamp is None or clamp >= 0)
    x0, x1, y0, y1 = parse_padding(padding)
    n, c, h, w = x.shape
    fu_w, fu_h = filter_size(fu)
    fd_w, fd_h = filter_size(fd)
    out_w = (w * up + x0 + x1 - (fu_w - 1) - (fd_w - 1) + (down - 1)) // down
    out_h = (h * up + y0 + y1 - (fu_h - 1) - (fd_h - 1) + (down - 1)) // down

    x = bias_act(x, b)
    # up**2 restores the DC level lost to zero insertion.
    x = upfirdn2d(x, fu, up=up, padding=[x0, x1, y0, y1], gain=up * up, flip_filter=flip_filter)
    x = bias_act(x, act="lrelu", alpha=slope, gain=gain, clamp=clamp)
    x = upfirdn2d(x, fd, down=down, flip_filter=flip_filter)
    assert x.shape == (n, c, out_h, out_w), f"got {tuple(x.shape)}, expected {(n, c, out_h, out_w)}"
    return x
