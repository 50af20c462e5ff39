"""A small StyleGAN2-style residual discriminator (equalised learning rate, minibatch standard deviation).

It judges whole frames; since frames are cut at random world offsets, seams between tiles and
transitions between style anchors fall anywhere in them and are judged like any other pixels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from infiniscape.models.equalized import LRELU_GAIN, EqualLinear


class EqualConv2d(nn.Module):
    """Convolution with equalised learning rate and 'same' padding (frames are finite here)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, bias: bool = True,
                 activation: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.gain = 1.0 / math.sqrt(in_channels * kernel * kernel)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.weight.shape[-1]
        x = F.conv2d(x, self.weight * self.gain, self.bias, padding=k // 2)
        return F.leaky_relu(x, 0.2) * LRELU_GAIN if self.activation else x


class DiscriminatorBlock(nn.Module):
    """conv, conv, 2x downsample, with a downsampled 1x1 skip (outputs scaled by sqrt(1/2))."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False, activation=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.skip(F.avg_pool2d(x, 2))
        x = self.conv1(F.avg_pool2d(self.conv0(x), 2))
        return (x + y) * math.sqrt(0.5)


class MinibatchStd(nn.Module):
    """Appends the std of features across groups of samples: lets D see a lack of variety."""

    def __init__(self, group_size: int = 4):
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = math.gcd(self.group_size, n)  # any batch size works; groups of 1 give zero std
        y = x.reshape(g, -1, c, h, w).float()
        y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt()  # [n/g, C, H, W]
        y = y.mean(dim=(1, 2, 3)).to(x.dtype)  # [n/g]
        y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


def channels_at(resolution: int, max_channels: int) -> int:
    """Channels at a resolution: all of them up to 32 px, halving per octave above (compute)."""
    return max(8, min(max_channels, max_channels * 32 // resolution))


class Discriminator(nn.Module):
    """[N, 3, R, R] frames -> [N] logits. R a power of two >= 8."""

    def __init__(self, resolution: int, max_channels: int = 128, mbstd_group: int = 4):
        super().__init__()
        if resolution < 8 or resolution & (resolution - 1):
            raise ValueError(f"the discriminator needs a power-of-two resolution >= 8, got {resolution}")
        self.resolution = resolution
        res = [resolution >> i for i in range(int(math.log2(resolution)) - 1)]  # R .. 4
        ch = {r: channels_at(r, max_channels) for r in res}
        self.from_rgb = EqualConv2d(3, ch[resolution], 1)
        self.blocks = nn.ModuleList(DiscriminatorBlock(ch[r], ch[r // 2]) for r in res[:-1])
        c4 = ch[4]
        self.mbstd = MinibatchStd(mbstd_group)
        self.conv = EqualConv2d(c4 + 1, c4, 3)
        self.fc = EqualLinear(c4 * 16, c4, activation=True)
        self.out = EqualLinear(c4, 1)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        assert img.shape[1:] == (3, self.resolution, self.resolution), img.shape
        x = self.from_rgb(img)
        for block in self.blocks:
            x = block(x)
        x = self.conv(self.mbstd(x))  # [N, C, 4, 4]
        return self.out(self.fc(x.flatten(1))).squeeze(1)
