"""DiffAugment (Zhao et al. 2020): differentiable colour, translation and cutout, applied to real and
fake frames alike so that the discriminator overfits a small dataset later."""

from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def diff_augment(x: torch.Tensor, policy: tuple[str, ...] = POLICIES,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """x [N, 3, H, W] in [-1, 1] -> augmented x (same shape); one random draw per sample."""
    for name in policy:
        x = _OPS[name](x, generator)
    return x


def _rand(x: torch.Tensor, g: torch.Generator | None, *shape) -> torch.Tensor:
    return torch.rand(x.shape[0], *shape, generator=g, device=g.device if g else "cpu").to(x.device, x.dtype)


def color(x, g=None):
    x = x + (_rand(x, g, 1, 1, 1) - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, g, 1, 1, 1) * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x, g, 1, 1, 1) + 0.5) + mean  # contrast


def translation(x, g=None, ratio: float = 0.125):
    """Shift every sample by up to ratio * size pixels, filling with zeros."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = (_rand(x, g).float() * (2 * sy + 1)).long().clamp(max=2 * sy) - sy  # [N]
    tx = (_rand(x, g).float() * (2 * sx + 1)).long().clamp(max=2 * sx) - sx
    rows = (torch.arange(h, device=x.device)[None, :] + ty[:, None] + 1).clamp(0, h + 1)  # [N, H]
    cols = (torch.arange(w, device=x.device)[None, :] + tx[:, None] + 1).clamp(0, w + 1)  # [N, W]
    padded = F.pad(x, [1, 1, 1, 1])  # index 0 and size + 1 read the zero border
    idx = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def cutout(x, g=None, ratio: float = 0.5):
    """Zero one square of ratio * size per sample, at a random centre."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = (_rand(x, g).float() * (h + 1 - ch % 2)).long()
    cx = (_rand(x, g).float() * (w + 1 - cw % 2)).long()
    ys = torch.arange(h, device=x.device)[None, :] - cy[:, None] + ch // 2  # [N, H]
    xs = torch.arange(w, device=x.device)[None, :] - cx[:, None] + cw // 2
    inside = ((ys >= 0) & (ys < ch))[:, :, None] & ((xs >= 0) & (xs < cw))[:, None, :]
    return x * (~inside)[:, None].to(x.dtype)


_OPS = {"color": color, "translation": translation, "cutout": cutout}
