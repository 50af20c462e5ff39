"""ALIS generator: synthesis blocks between three latent anchors, mapping network, official call convention.

`synthesis(ws, ws_context, left_borders_idx)` renders one frame per sample exactly as the official
`G.synthesis` does: ws [N, num_ws, w_dim] is the centre anchor w_c, ws_context [N, 2, num_ws, w_dim] holds
(w_l, w_r), and left_borders_idx [N] is the frame's left edge in patches from w_l (0 .. 2 * w_dist - g).
Constructor arguments are the snapshot's (z_dim, ..., synthesis_kwargs, synthesis_cfg); names follow the
official state dict (synthesis.b4.input.input.input_column, synthesis.b8.coords_fuser0.basis, ...).
Layers: alis_layers.py; the config: alis_config.py.
"""

from __future__ import annotations

import torch

from ...ops.upfirdn2d import setup_filter, upsample2d
from ..contract import NETWORK_NOISE_MODES
from ..stylegan.mapping import MappingNetwork
from .config import AlisConfig
from .layers import (
    GenInput,
    ModulatedCoordFuser,
    PatchWiseSynthesisLayer,
    ToRGBLayer,
    anchor_weights,
    patches_to_frames,
    to_patches,
)

_IGNORED_HINTS = ("fp16_channels_last", "channels_last", "fused_modconv_default")  # layout/speed hints only


class SynthesisBlock(torch.nn.Module):
    """One resolution: input (first block) or coordinates + upsampling conv0, conv1, ToRGB into the skip."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, img_channels: int,
                 is_last: bool, cfg: AlisConfig, architecture: str = "skip", resample_filter=(1, 3, 3, 1),
                 conv_clamp: float | None = None, use_fp16: bool = False, use_noise: bool = True):
        super().__init__()
        if architecture not in ("skip", "orig"):
            raise ValueError(f"ALIS architecture {architecture!r} is not supported (skip or orig)")
        self.in_channels, self.w_dim, self.img_channels = in_channels, w_dim, img_channels
        self.is_last, self.architecture, self.cfg = is_last, architecture, cfg
        self.use_fp16 = use_fp16  # official FP16 hint; computed in FP32 here
        if resolution <= cfg.min_resolution:
            self.resolution, self.up = cfg.min_resolution, 1
        else:
            self.resolution, self.up = resolution, 2
        self.register_buffer("resample_filter", setup_filter(list(resample_filter)))
        layer = dict(w_dim=w_dim, resolution=self.resolution, grid_size=cfg.grid_size,
                     kernel_size=cfg.kernel_size, conv_clamp=conv_clamp, use_noise=use_noise,
                     resample_filter=resample_filter)
        self.num_conv = self.num_torgb = 0
        self.has_modulated_input = False
        if in_channels == 0:
            self.input = GenInput(cfg, out_channels, w_dim)
            self.has_modulated_input = self.input.is_modulated
            conv1_in = self.input.channel_dim
        else:
            conv0_in = in_channels
            if cfg.coords_enabled:
                if self.resolution not in cfg.coords:
                    raise ValueError(f"synthesis_cfg.coords.channels_dict has no entry for {self.resolution}")
                self.coords_fuser0 = ModulatedCoordFuser(cfg.coords[self.resolution], self.resolution,
                                                         cfg.coords_grid_size, cfg.coords_w_coord_dist,
                                                         cfg.remove_lowest_freq)
                conv0_in += self.coords_fuser0.total_dim
            self.conv0 = PatchWiseSynthesisLayer(conv0_in, out_channels, up=self.up, **layer)
            self.num_conv += 1
            conv1_in = out_channels
        self.conv1 = PatchWiseSynthesisLayer(conv1_in, out_channels, **layer)
        self.num_conv += 1
        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
            self.num_torgb += 1
        # ws this block reads; all but the ToRGB's are consumed (the next block's conv0 shares that w)
        self.num_modulated_transforms = self.num_conv + int(self.has_modulated_input) + self.num_torgb
        self.num_ws = self.num_modulated_transforms - (0 if is_last else self.num_torgb)

    def forward(self, x, img, anchors: torch.Tensor, left_borders_idx: torch.Tensor, weights: dict,
                noise_mode: str = "none"):
        """anchors [N, 3, num_modulated_transforms, w_dim] as (w_l, w_c, w_r); weights: width -> anchor
        weights of the synthesis layers' columns."""
        assert anchors.shape[1:] == (3, self.num_modulated_transforms, self.w_dim), f"{tuple(anchors.shape)}"
        w_iter = iter(anchors.unbind(dim=2))
        n = anchors.shape[0]
        if self.in_channels == 0:
            x = self.input(n, next(w_iter) if self.has_modulated_input else None, left_borders_idx)
            x = self.conv1(x, next(w_iter), weights[x.shape[3]], noise_mode)
        else:
            half = self.resolution // self.up
            assert x.shape[1:] == (self.in_channels, half, half), f"x {tuple(x.shape)}"
            parts = [x, self.coords_fuser0(x, left_borders_idx)] if self.cfg.coords_enabled else [x]
            x = self.conv0(parts, next(w_iter), weights[x.shape[3]], noise_mode)
            x = self.conv1(x, next(w_iter), weights[x.shape[3]], noise_mode)
        if img is not None and self.up == 2:
            g = self.cfg.grid_size
            img = patches_to_frames(upsample2d(to_patches(img, g), self.resample_filter), g)
        if self.num_torgb:
            y = self.torgb(x, next(w_iter), weights[x.shape[3]])
            img = y if img is None else img + y
        return x, img


class SynthesisNetwork(torch.nn.Module):
    """(w_c, (w_l, w_r), left border) -> frame [N, img_channels, R, R]."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, cfg: AlisConfig,
                 channel_base: int = 32768, channel_max: int = 512, num_fp16_res: int = 0,
                 **block_kwargs):
        assert img_resolution >= 4 and img_resolution & (img_resolution - 1) == 0
        super().__init__()
        for hint in _IGNORED_HINTS:
            block_kwargs.pop(hint, None)
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.cfg = cfg
        log2 = img_resolution.bit_length() - 1
        self.block_resolutions = [2 ** i for i in range(2, log2 + 1)]
        channels = {r: min(channel_base // r, channel_max) for r in self.block_resolutions}
        fp16_resolution = max(2 ** (log2 + 1 - num_fp16_res), 8)
        self.num_ws = 0
        for res in self.block_resolutions:
            block = SynthesisBlock(channels[res // 2] if res > 4 else 0, channels[res], w_dim, res,
                                   img_channels, is_last=res == img_resolution, cfg=cfg,
                                   use_fp16=res >= fp16_resolution, **block_kwargs)
            self.num_ws += block.num_ws
            setattr(self, f"b{res}", block)
        self.register_buffer("max_shift_strength", torch.tensor([0.0]))  # 1 after the first training kimg

    def forward(self, ws: torch.Tensor, ws_context: torch.Tensor, left_borders_idx: torch.Tensor,
                noise_mode: str = "none") -> torch.Tensor:
        assert noise_mode in NETWORK_NOISE_MODES, f"noise_mode must be one of {NETWORK_NOISE_MODES}"
        n = ws.shape[0]
        assert ws.shape == (n, self.num_ws, self.w_dim), f"ws {tuple(ws.shape)}"
        assert ws_context.shape == (n, 2, self.num_ws, self.w_dim), f"ws_context {tuple(ws_context.shape)}"
        assert left_borders_idx.shape == (n,), f"left_borders_idx {tuple(left_borders_idx.shape)}"
        # Training ramps the shift in; the notebook (and every snapshot after 1 kimg) has strength 1.
        lb = (self.max_shift_strength * left_borders_idx.float()).to(torch.int32)
        anchors = torch.stack([ws_context[:, 0], ws, ws_context[:, 1]], dim=1).to(torch.float32)
        c, blocks = self.cfg, [getattr(self, f"b{res}") for res in self.block_resolutions]
        widths = {b.resolution for b in blocks} | {b.resolution // b.up for b in blocks}
        weights = {r: anchor_weights(lb, r, c.grid_size, c.w_coord_dist, c.w_lerp_multiplier) for r in widths}
        x = img = None
        w_idx = 0
        for block in blocks:
            cur = anchors.narrow(2, w_idx, block.num_modulated_transforms)
            x, img = block(x, img, cur, lb, weights, noise_mode=noise_mode)
            w_idx += block.num_ws
        return img


class Generator(torch.nn.Module):
    """ALIS G: mapping network + patch-wise synthesis; built from a snapshot's constructor arguments."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, img_resolution: int, img_channels: int,
                 mapping_kwargs: dict | None = None, synthesis_kwargs: dict | None = None,
                 synthesis_cfg: dict | None = None):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.cfg = AlisConfig.from_snapshot(synthesis_cfg or {})
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels, self.cfg,
                                          **(synthesis_kwargs or {}))
        self.num_ws = self.synthesis.num_ws
        mk = dict(mapping_kwargs or {})
        if "h_dim" in mk:  # ALIS's name for the hidden width
            mk["layer_features"] = mk.pop("h_dim")
        mk.pop("num_modes", None), mk.pop("mode_max_norm", None)
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws, **{"w_avg_beta": 0.995, **mk})

    @property
    def anchor_frames(self) -> float:
        """Frames between consecutive anchors (w_coord_dist / 2)."""
        return self.cfg.w_coord_dist / 2

    def forward(self, z: torch.Tensor, z_context: torch.Tensor, left_borders_idx: torch.Tensor,
                c: torch.Tensor | None = None, truncation_psi: float = 1.0, noise_mode: str = "none"):
        """z [N, z_dim] for w_c, z_context [N, 2, z_dim] for (w_l, w_r) -> frames [N, C, R, R]."""
        n = z.shape[0]
        ws = self.mapping(torch.cat([z, z_context[:, 0], z_context[:, 1]]), c, truncation_psi=truncation_psi)
        return self.synthesis(ws[:n], torch.stack([ws[n:2 * n], ws[2 * n:]], dim=1), left_borders_idx,
                              noise_mode=noise_mode)
