"""InfinityGAN's generator (Lin et al., ICLR 2022): structure synthesizer + padding-free texture synthesizer.

Written from the paper and the facts of the official code; parameter and buffer names follow its `g_ema`
state dict so a training checkpoint's tensors copy over one to one.

- Structure synthesizer: unpadded (2r+1)^2 modulated convolutions over the local latent z_l concatenated
  with the coordinates (re-fed and centre-cropped at every layer), styled by the raw global latent z.
- Texture synthesizer: StyleGAN2 with an 8-layer mapping z -> w, started from the structure latent;
  3x3 convolutions without padding, upsampling by transposed convolution, crop [1:-1], unpadded [1, 2, 1]
  blur; ToRGB skips centre-cropped.

Every modulated layer reads its style as K codes per sample blended per pixel (modconv.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ...ops.cpu_kernels import bias_lrelu_
from ...ops.upfirdn2d import setup_filter, upfirdn2d
from ..equalized import EqualLinear
from .modconv import ModulatedConv2d, channels_last, equal_linear

# Official texture synthesizer widths per resolution pair: 512 for the first three, then 256, 128, ...
# times channel_multiplier.
OFFICIAL_WIDTHS = (512, 512, 512, 256, 128, 64, 32, 16)
SQRT2 = math.sqrt(2)
PATCH_SIZES = {4: 101, 5: 197, 6: 389, 7: 773, 8: 1541}  # resolution pairs -> patch size (ts_input 11)


def official_widths(pairs: int, channel_multiplier: int) -> tuple[int, ...]:
    return tuple(c if i < 3 else c * channel_multiplier for i, c in enumerate(OFFICIAL_WIDTHS[:pairs]))


@dataclass(frozen=True)
class Architecture:
    """What the network's tensors are shaped by (everything a checkpoint determines)."""

    global_latent_dim: int = 512
    local_latent_dim: int = 256
    n_mlp: int = 8
    ss_n_layers: int = 4
    ss_unfold_radius: int = 3
    ss_coord_all_layers: bool = True
    coord_num_dir: int = 3
    ts_widths: tuple[int, ...] = official_widths(4, 2)  # one width per (upsample, plain) conv pair

    @property
    def patch_size(self) -> int:
        return PATCH_SIZES[len(self.ts_widths)]


def centre_crop(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    dy, dx = x.shape[2] - h, x.shape[3] - w
    assert dy >= 0 and dx >= 0 and dy % 2 == 0 and dx % 2 == 0, f"cannot crop {tuple(x.shape)} to {h}x{w}"
    return x[:, :, dy // 2:dy // 2 + h, dx // 2:dx // 2 + w]


class PixelNorm(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(torch.mean(x ** 2, dim=-1, keepdim=True) + 1e-8)


class Mapping(torch.nn.Sequential):
    """Pixel norm, then the equalised linear layers (their scaled weights kept, modconv.equal_linear)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self[0](x)
        for layer in list(self)[1:]:
            x = equal_linear(layer, x)
        return x


class Upsample(torch.nn.Module):
    """2x transposed FIR upsampling with the two border samples cropped (ToRGB skips)."""

    def __init__(self, taps: list[float]):
        super().__init__()
        self.register_buffer("kernel", setup_filter(taps) * 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # zero insertion + this padding = conv_transpose(stride 2) cropped by [1:-1]: 2H - 1 samples
        return upfirdn2d(x, self.kernel, up=2, padding=[1, 0, 1, 0])


class NoiseInjection(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))


class FusedLeakyReLU(torch.nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(channels))


class StyledConv(torch.nn.Module):
    """Modulated convolution, + noise * weight, + bias, leaky ReLU (slope 0.2) times sqrt(2).

    The leaky ReLU commutes with a positive factor, so the sqrt(2) goes into the convolution's factors, the
    noise weight and the bias instead of a pass over the output; the epilogue is one fused pass."""

    def __init__(self, in_channel: int, out_channel: int, kernel_size: int, style_dim: int,
                 upsample: bool = False, noise: bool = True):
        super().__init__()
        self.conv = ModulatedConv2d(in_channel, out_channel, kernel_size, style_dim, upsample=upsample)
        self.noise = NoiseInjection() if noise else None
        self.activate = FusedLeakyReLU(out_channel)

    def forward(self, x, codes, weights, noise=None):
        x = self.conv(x, codes, weights, gain=SQRT2)
        bias = self.activate.bias * SQRT2
        if self.noise is None or noise is None:
            noise = None
        else:
            assert noise.shape[2:] == x.shape[2:], f"noise {tuple(noise.shape)} for features {tuple(x.shape)}"
            noise = noise * (self.noise.weight * SQRT2)
            x = x if channels_last(x) else x.contiguous()  # the fused pass's layouts
            x, noise = (x, noise[0, 0]) if x.shape[0] == 1 else (x.add_(noise), None)
        if channels_last(x):
            # the fused pass on the [pixels, channels] view of the storage: a pixel's noise is its row's
            # bias and the channel biases the "noise" shared by the rows ((x + bias) + noise, same values)
            n, c, h, w = x.shape
            pixels = noise.reshape(h * w) if noise is not None else x.new_zeros(n * h * w)
            rows = x.permute(0, 2, 3, 1).reshape(1, n * h * w, c, 1)
            out = bias_lrelu_(rows, pixels, bias[:, None], gain=1.0)
            return out.reshape(n, h, w, c).permute(0, 3, 1, 2)
        return bias_lrelu_(x, bias, noise, gain=1.0)


class ToRGB(torch.nn.Module):
    def __init__(self, in_channel: int, style_dim: int):
        super().__init__()
        self.upsample = Upsample([1, 2, 1])
        self.conv = ModulatedConv2d(in_channel, 3, 1, style_dim, demodulate=False)
        self.bias = torch.nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x, codes, weights, skip=None):
        out = self.conv(x, codes, weights).contiguous() + self.bias
        if skip is not None:
            out = out + centre_crop(self.upsample(skip), *out.shape[2:])
        return out


class ConditionalBlock(torch.nn.Module):
    def __init__(self, in_channel: int, arch: Architecture):
        super().__init__()
        self.conv = StyledConv(in_channel, arch.local_latent_dim, 2 * arch.ss_unfold_radius + 1,
                               arch.global_latent_dim, noise=False)


class ImplicitFunction(torch.nn.Module):
    def __init__(self, arch: Architecture):
        super().__init__()
        local, coord = arch.local_latent_dim, arch.coord_num_dir
        self.conv_stack = torch.nn.ModuleList(
            ConditionalBlock(local + (coord if arch.ss_coord_all_layers or i == 0 else 0), arch)
            for i in range(arch.ss_n_layers))


class StructureSynthesizer(torch.nn.Module):
    """z_l [B, Cl, H, W] + coordinates -> structure latent [B, Cl, H - 2*L*r, W - 2*L*r]."""

    def __init__(self, arch: Architecture):
        super().__init__()
        self.arch = arch
        self.implicit_model = ImplicitFunction(arch)

    def forward(self, z_local, coords, codes, weights: list[torch.Tensor]) -> torch.Tensor:
        h = z_local
        if z_local.device.type == "cpu" and all(w.shape[2:] == (1, 1) for w in weights):  # modconv.py
            h, coords = (t.contiguous(memory_format=torch.channels_last) for t in (z_local, coords))
        for i, block in enumerate(self.implicit_model.conv_stack):
            if self.arch.ss_coord_all_layers or i == 0:
                h = torch.cat([h, centre_crop(coords, *h.shape[2:])], 1)
            h = block.conv(h, codes, weights[i])
        return h


class NoiseBuffers(torch.nn.Module):
    """The official generator keeps a random map per layer as buffers (unused when noise is given)."""

    def __init__(self, n: int):
        super().__init__()
        for i in range(n):
            res = 2 ** ((i + 5) // 2)
            self.register_buffer(f"noise_{i}", torch.randn(1, 1, res, res))


class ConstantInput(torch.nn.Module):
    """Unused by InfinityGAN (the structure latent is the input) but part of the state dict."""

    def __init__(self, channels: int):
        super().__init__()
        self.input = torch.nn.Parameter(torch.randn(1, channels, 4, 4))


class TextureSynthesizer(torch.nn.Module):
    """Structure latent [B, Cl, S, S] -> image [B, 3, 16S - 75, 16S - 75] (for 4 resolution pairs)."""

    def __init__(self, arch: Architecture):
        super().__init__()
        d = arch.global_latent_dim
        self.mapping = Mapping(PixelNorm(), *[EqualLinear(d, d, lr_mul=0.01, activation=True)
                                                          for _ in range(arch.n_mlp)])
        self.const_z = ConstantInput(arch.local_latent_dim)
        self.convs, self.to_rgbs = torch.nn.ModuleList(), torch.nn.ModuleList()
        in_ch = arch.local_latent_dim
        for width in arch.ts_widths:  # a 2x upsampling conv, then a plain one
            self.convs.append(StyledConv(in_ch, width, 3, d, upsample=True))
            self.convs.append(StyledConv(width, width, 3, d))
            self.to_rgbs.append(ToRGB(width, d))
            in_ch = width
        self.noises = NoiseBuffers(len(self.convs))

    def forward(self, structure, ws, conv_weights, rgb_weights, noises) -> torch.Tensor:
        h, skip = structure, None
        if structure.device.type == "cpu" and all(w.shape[2:] == (1, 1) for w in conv_weights + rgb_weights):
            h = structure.contiguous(memory_format=torch.channels_last)  # modconv.py: oneDNN's own layout
        for i, conv in enumerate(self.convs):
            h = conv(h, ws, conv_weights[i], noises[i])
            if i % 2 == 1:  # each plain conv feeds a ToRGB
                skip = self.to_rgbs[i // 2](h, ws, rgb_weights[i // 2], skip)
        return skip


class InfinityGANGenerator(torch.nn.Module):
    """The official `g_ema` at test time: z_l, coordinates, global codes and noise -> image."""

    def __init__(self, arch: Architecture):
        super().__init__()
        self.arch = arch
        self.structure_synthesizer = StructureSynthesizer(arch)
        self.texture_synthesizer = TextureSynthesizer(arch)

    @property
    def n_convs(self) -> int:
        return len(self.texture_synthesizer.convs)

    def forward(self, z_local: torch.Tensor, coords: torch.Tensor, z: torch.Tensor,
                weights: dict[str, list[torch.Tensor]], noises: list[torch.Tensor | None],
                truncation: float = 1.0, w_avg: torch.Tensor | None = None) -> torch.Tensor:
        """z_local [B, Cl, H, W], coords [B, C, H, W], z [B, K, D] global codes, weights["ss" | "conv" |
        "rgb"]: one [B, K, h, w] (or [B, K, 1, 1]) per layer at its input pixels, noises: one [B, 1, h, w] or
        None per texture conv (at its output pixels) -> image [B, 3, H', W']. Truncation (which the official
        code never applies) pulls the texture styles towards w_avg."""
        a = self.arch
        assert z_local.ndim == 4 and z_local.shape[1] == a.local_latent_dim, f"z_local {tuple(z_local.shape)}"
        assert coords.shape[1] == a.coord_num_dir and coords.shape[2:] == z_local.shape[2:], \
            f"coords {tuple(coords.shape)} for z_local {tuple(z_local.shape)}"
        assert z.ndim == 3 and z.shape[2] == a.global_latent_dim, f"z {tuple(z.shape)}"
        assert len(noises) == self.n_convs, f"{len(noises)} noise maps for {self.n_convs} texture convs"
        structure = self.structure_synthesizer(z_local, coords, z, weights["ss"])
        ws = self.texture_synthesizer.mapping(z)  # [B, K, D]: the mapping treats each code alone
        if truncation != 1:
            assert w_avg is not None, "truncation needs w_avg"
            ws = w_avg.lerp(ws, truncation)
        return self.texture_synthesizer(structure, ws, weights["conv"], weights["rgb"], noises)

    def uniform_weights(self, batch: int, device=None) -> dict[str, list[torch.Tensor]]:
        """Weights for one code per sample, the same over the whole patch (the official single style)."""
        one = torch.ones(batch, 1, 1, 1, device=device)
        return {"ss": [one] * self.arch.ss_n_layers, "conv": [one] * self.n_convs,
                "rgb": [one] * (self.n_convs // 2)}
