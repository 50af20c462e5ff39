"""Upsample, pad, FIR-filter and downsample 2D images (pure torch, CPU and GPU, differentiable).

Same semantics and argument meanings as StyleGAN2-ADA / StyleGAN3's `upfirdn2d`, written from its
documentation: zero insertion by `up`, padding `[x0, x1, y0, y1]` (negative crops) relative to the
upsampled image, convolution with `f` (correlation if `flip_filter`), keep every `down`-th pixel.
"""

import torch
import torch.nn.functional as F


def _pair(v) -> tuple[int, int]:
    """`n` or `[x, y]` -> (x, y), each a positive int."""
    x, y = (v, v) if isinstance(v, int) else v
    assert isinstance(x, int) and isinstance(y, int) and x >= 1 and y >= 1, f"bad factor {v!r}"
    return x, y


def parse_padding(padding) -> tuple[int, int, int, int]:
    """`p`, `[px, py]` or `[x0, x1, y0, y1]` -> (x0, x1, y0, y1)."""
    if isinstance(padding, int):
        padding = [padding, padding]
    padding = [int(p) for p in padding]
    if len(padding) == 2:
        padding = [padding[0], padding[0], padding[1], padding[1]]
    assert len(padding) == 4, f"padding must have 1, 2 or 4 entries, got {padding}"
    return tuple(padding)


def filter_size(f: torch.Tensor | None) -> tuple[int, int]:
    """(width, height) of a 1D (separable) or 2D filter; None is the 1x1 identity."""
    if f is None:
        return 1, 1
    assert f.ndim in (1, 2), f"filter must be 1D or 2D, got shape {tuple(f.shape)}"
    return int(f.shape[-1]), int(f.shape[0])


def setup_filter(f, device="cpu", normalize=True, flip_filter=False, gain=1, separable=None):
    """Float32 FIR filter from a list/array/tensor: [taps] (separable) or [h, w]; None is identity."""
    f = torch.as_tensor(1.0 if f is None else f, dtype=torch.float32, device="cpu")  # even under a meta build
    assert f.ndim <= 2 and f.numel() > 0
    if f.ndim == 0:
        f = f.reshape(1)
    if separable is None:
        # Short filters are cheaper as one 2D pass than as two 1D passes.
        separable = f.ndim == 1 and f.numel() >= 8
    if f.ndim == 1 and not separable:
        f = torch.outer(f, f)
    assert f.ndim == (1 if separable else 2)
    if normalize:
        f = f / f.sum()
    if flip_filter:
        f = f.flip(list(range(f.ndim)))
    # A separable filter is applied twice, so each pass carries sqrt(gain).
    f = f * (gain ** (f.ndim / 2))
    return f.to(device=device)


def _zero_insert(x: torch.Tensor, upx: int, upy: int) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, H*upy, W*upx] with each pixel followed by up-1 zeros."""
    if upx == 1 and upy == 1:
        return x
    n, c, h, w = x.shape
    y = x.reshape(n, c, h, 1, w, 1)
    y = F.pad(y, [0, upx - 1, 0, 0, 0, upy - 1])
    return y.reshape(n, c, h * upy, w * upx)


def _pad_or_crop(x: torch.Tensor, x0: int, x1: int, y0: int, y1: int) -> torch.Tensor:
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    return x[:, :, max(-y0, 0): x.shape[2] - max(-y1, 0), max(-x0, 0): x.shape[3] - max(-x1, 0)]


def upfirdn2d(x: torch.Tensor, f: torch.Tensor | None, up=1, down=1, padding=0, flip_filter=False, gain=1):
    """Pad, upsample, filter and downsample a batch [N, C, H, W] with FIR filter `f` (per channel)."""
    assert x.ndim == 4, f"expected [N, C, H, W], got shape {tuple(x.shape)}"
    if f is None:
        f = torch.ones([1, 1], dtype=torch.float32, device=x.device)
    assert f.ndim in (1, 2) and not f.requires_grad
    upx, upy = _pair(up)
    downx, downy = _pair(down)
    x0, x1, y0, y1 = parse_padding(padding)
    channels = x.shape[1]
    fw, fh = filter_size(f)
    assert x.shape[3] * upx + x0 + x1 >= fw and x.shape[2] * upy + y0 + y1 >= fh, "image smaller than filter"

    x = _pad_or_crop(_zero_insert(x, upx, upy), x0, x1, y0, y1)

    f = (f * (gain ** (f.ndim / 2))).to(x.dtype)
    if not flip_filter:  # conv2d correlates; a true convolution needs the flipped kernel
        f = f.flip(list(range(f.ndim)))
    # Depthwise conv; the stride does the downsampling (same samples as keeping every down-th pixel).
    if f.ndim == 2:
        w = f[None, None].expand(channels, 1, fh, fw)
        return F.conv2d(x, w, stride=(downy, downx), groups=channels)
    x = F.conv2d(x, f.reshape(1, 1, 1, fw).expand(channels, 1, 1, fw), stride=(1, downx), groups=channels)
    return F.conv2d(x, f.reshape(1, 1, fw, 1).expand(channels, 1, fw, 1), stride=(downy, 1), groups=channels)


def filter2d(x, f, padding=0, flip_filter=False, gain=1):
    """Filter with `f`, output the size of the input; `padding` is relative to the output."""
    x0, x1, y0, y1 = parse_padding(padding)
    fw, fh = filter_size(f)
    p = [x0 + fw // 2, x1 + (fw - 1) // 2, y0 + fh // 2, y1 + (fh - 1) // 2]
    return upfirdn2d(x, f, padding=p, flip_filter=flip_filter, gain=gain)


def upsample2d(x, f, up=2, padding=0, flip_filter=False, gain=1):
    """Upsample by `up` with `f`, output `up` times the input; `padding` is relative to the output."""
    upx, upy = _pair(up)
    x0, x1, y0, y1 = parse_padding(padding)
    fw, fh = filter_size(f)
    p = [x0 + (fw + upx - 1) // 2, x1 + (fw - upx) // 2, y0 + (fh + upy - 1) // 2, y1 + (fh - upy) // 2]
    # Zero insertion divides the mean by up*up; the gain restores it.
    return upfirdn2d(x, f, up=up, padding=p, flip_filter=flip_filter, gain=gain * upx * upy)


def downsample2d(x, f, down=2, padding=0, flip_filter=False, gain=1):
    """Downsample by `down` with `f`, output 1/`down` of the input; `padding` is relative to the input."""
    downx, downy = _pair(down)
    x0, x1, y0, y1 = parse_padding(padding)
    fw, fh = filter_size(f)
    p = [x0 + (fw - downx + 1) // 2, x1 + (fw - downx) // 2,
         y0 + (fh - downy + 1) // 2, y1 + (fh - downy) // 2]
    return upfirdn2d(x, f, down=down, padding=p, flip_filter=flip_filter, gain=gain)
