"""The Projected GAN discriminator (Sauer et al. 2021): small patch discriminators judge frames through
the eyes of a frozen, ImageNet-pretrained EfficientNet-Lite0 whose features are mixed by fixed
random projections.

    frames [N, 3, R, R] in [-1, 1] -> DiffAugment -> (resize) -> Lite0 levels [24, 40, 112, 320] ch
      -> CCM: random 1x1 convs to [64, 128, 256, 512] ch -> CSM: top-down random fusion to
      [64, 64, 128, 256] ch at 2x the Lite0 map sizes -> one patch discriminator per scale -> logits

What is trained: only the patch discriminators. The backbone and the projections are frozen, and
stay frozen however the caller toggles ``requires_grad_`` (the trainer turns D on and off around
the generator step): the projections are buffers, not parameters, and the backbone is held outside
the module tree. Gradients still flow through all of it to the input frames.

What is saved: ``state_dict()`` holds the patch discriminators and the projection weights (buffers,
about 1.5 MB), never the backbone (19 MB of pretrained weights the package supplies). The
projections are also a pure function of ``seed``, so a D rebuilt with the same seed projects alike
even before a state dict is loaded.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .efficientnet_lite import FEATURE_CHANNELS, EfficientNetLite0, pretrained_lite0

CCM_CHANNELS = (64, 128, 256, 512)  # cross-channel mixing: 24, 40, 112, 320 -> these
CSM_CHANNELS = (64, 64, 128, 256)  # cross-scale mixing outputs, fine to coarse
NOMINAL_SIZES = (128, 64, 32, 16)  # map sizes the patch discriminators are planned for
END_SIZE = 8  # the patch discriminators downsample until their nominal size is this
PATCH_CHANNELS = {4: 512, 8: 512, 16: 256, 32: 128, 64: 64, 128: 64}  # nominal size -> channels
MIN_FEATURE_SIZE = 128  # smaller inputs leave the finest discriminator a map under its 4x4 head


class FixedConv1x1(nn.Module):
    """A 1x1 convolution with bias whose random weights are buffers: frozen whatever requires_grad_ says.

    Drawn like nn.Conv2d's default init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, from
    the given generator, so the projection is reproducible from a seed.
    """

    def __init__(self, in_channels: int, out_channels: int, generator: torch.Generator):
        super().__init__()
        bound = 1.0 / math.sqrt(in_channels)
        weight = (torch.rand(out_channels, in_channels, 1, 1, generator=generator) * 2 - 1) * bound
        bias = (torch.rand(out_channels, generator=generator) * 2 - 1) * bound
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias)


def _up2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)


class Projector(nn.Module):
    """[N, 3, S, S] in [-1, 1] -> four maps with [64, 64, 128, 256] channels at sizes S/2 .. S/16.

    The backbone is frozen Lite0 (pretrained unless one is passed), kept out of the module tree:
    not in ``parameters()``, ``state_dict()`` or ``train()``; ``.to()`` and friends still move it.
    CCM and CSM are fixed random 1x1 convs (buffers) drawn from ``seed``.
    """

    def __init__(self, seed: int = 0, backbone: EfficientNetLite0 | None = None):
        super().__init__()
        backbone = pretrained_lite0() if backbone is None else backbone
        object.__setattr__(self, "backbone", backbone.eval().requires_grad_(False))
        g = torch.Generator().manual_seed(seed)
        self.ccm = nn.ModuleList(FixedConv1x1(c, o, g) for c, o in zip(FEATURE_CHANNELS, CCM_CHANNELS,
                                                                         strict=True))
        # csm[i] fuses into scale i; coarse to fine its inputs are 512, 256, 128, 64 channels
        self.csm = nn.ModuleList(FixedConv1x1(c, o, g) for c, o in zip(CCM_CHANNELS, CSM_CHANNELS,
                                                                         strict=True))

    def _apply(self, fn, recurse=True):
        self.backbone._apply(fn)  # device and dtype moves reach the out-of-tree backbone too
        return super()._apply(fn, recurse)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        mixed = [ccm(f) for ccm, f in zip(self.ccm, self.backbone.features(x), strict=True)]
        out = [None] * 4
        fused = mixed[3]
        for i in (3, 2, 1, 0):  # top-down: add the coarser fused map, upsample x2, project
            if i < 3:
                fused = fused + mixed[i]
            fused = out[i] = self.csm[i](_up2(fused))
        return out


class DownBlock(nn.Sequential):
    """Spectral-normed 4x4 stride-2 conv -> batch norm -> LeakyReLU(0.2): halves the map."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(spectral_norm(nn.Conv2d(in_channels, out_channels, 4, 2, 1)),
                         nn.BatchNorm2d(out_channels), nn.LeakyReLU(0.2))


class PatchDiscriminator(nn.Sequential):
    """[N, C, S, S] feature map -> [N, 1, s, s] patch logits: DownBlocks from ``nominal_size`` down to 8,
    then a 4x4 valid head. The batch norms run in train mode while D trains (as the paper's code)."""

    def __init__(self, in_channels: int, nominal_size: int, channel_scale: float = 1.0):
        channels = {s: max(1, round(c * channel_scale)) for s, c in PATCH_CHANNELS.items()}
        channels[nominal_size] = in_channels
        layers, size = [], nominal_size
        while size > END_SIZE:
            layers.append(DownBlock(channels[size], channels[size // 2]))
            size //= 2
        layers.append(spectral_norm(nn.Conv2d(channels[END_SIZE], 1, 4, 1, 0, bias=False)))
        super().__init__(*layers)


class ProjectedDiscriminator(nn.Module):
    """[N, 3, R, R] frames in [-1, 1] -> [N, M] logits (M patches over the four scales).

    ``feature_size`` is the size the backbone sees. The paper's code bilinearly resizes frames to
    224 when the data is smaller than that (64 px frames: M = 64); None feeds the frames at their own
    size, much cheaper on a CPU (128 px frames: M = 4). Whatever it is, it must be a multiple of 32
    and at least 128. No input normalisation: Lite0 was trained on [-1, 1].
    """

    def __init__(self,
                 resolution: int,  # frame size R
                 feature_size: int | None = 224,  # resize frames to this for the backbone; None: as is
                 channel_scale: float = 1.0,  # width multiplier of the patch discriminators
                 seed: int = 0,  # seed of the fixed random projections (CCM, CSM)
                 backbone: EfficientNetLite0 | None = None):  # frozen Lite0; the pretrained one if None
        super().__init__()
        size = resolution if feature_size is None else feature_size
        if size % 32 or size < MIN_FEATURE_SIZE:
            what = "frame size" if feature_size is None else "feature_size"
            raise ValueError(f"the projected discriminator needs a {what} that is a multiple of 32 and "
                             f">= {MIN_FEATURE_SIZE}, got {size}: use feature_size=224")
        self.resolution = resolution
        self.feature_size = None if size == resolution else size
        self.projector = Projector(seed, backbone)
        self.discs = nn.ModuleList(PatchDiscriminator(c, s, channel_scale)
                                   for c, s in zip(CSM_CHANNELS, NOMINAL_SIZES, strict=True))

    def forward(self, img: torch.Tensor, augment=None) -> torch.Tensor:
        """``augment``: a callable on [N, 3, R, R] (DiffAugment), applied before the resize."""
        assert img.shape[1:] == (3, self.resolution, self.resolution), img.shape
        if augment is not None:
            img = augment(img)
        if self.feature_size is not None:
            img = F.interpolate(img, size=self.feature_size, mode="bilinear", align_corners=False)
        maps = self.projector(img)
        return torch.cat([d(m).flatten(1) for d, m in zip(self.discs, maps, strict=True)], dim=1)
