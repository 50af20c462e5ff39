"""The native generator: padding-free synthesis over world-anchored windows.

A window is a base-aligned rectangle of world pixels. Every layer works on an explicit window of
its own pixel grid; a layer at scale f (world pixels per layer pixel) holds pixel i centred on
world coordinate ``i * f + (f - 1) / 2``. The ``WindowPlan`` says, for a window of n output pixels
starting at world o, which window every layer covers: ``start = o / f + offset``,
``size = n / f + extra`` — the same offsets for every window, which is what makes tiles exact
crops of one infinite computation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from ..geometry import Grid
from .config import NativeConfig
from .layers import LevelToRGB, MappingNetwork, SpatialModConv, ToRGB, mix_styles, upsample2x_valid


@dataclass(frozen=True)
class WindowPlan:
    """Where every layer of the synthesis network reads and writes, for any window."""

    margin: int  # base pixels of margin on each side of the input
    input: Grid  # local latents and coordinates
    conv_styles: tuple[Grid, ...]  # input grid of every modulated conv (style maps)
    conv_noise: tuple[Grid, ...]  # output grid of every modulated conv (noise maps)
    rgb_styles: tuple[Grid, ...]  # grid of every ToRGB
    output: Grid  # final RGB before the crop to the window
    # What the window's pixels actually depend on (the receptive field, computed backwards):
    # the computed grids above are wider because margins come in whole base pixels.
    needed_input: Grid | None = None
    needed_noise: tuple[Grid, ...] = ()
    needed_styles: tuple[Grid, ...] = ()  # every modulated layer's input, convs then ToRGBs


def plan_windows(cfg: NativeConfig, level: int = 0) -> WindowPlan:
    """Find the smallest input margin whose valid output covers the window, and the layer grids.

    ``level`` k > 0 plans the network cut after stage S - 1 - k, whose output grid has scale 2^k
    (one output pixel per 2^k x 2^k world pixels): the level-of-detail render."""
    n_stages = len(cfg.stages) - level
    if not 0 < n_stages <= len(cfg.stages):
        raise ValueError(f"level {level} is outside 0..{len(cfg.stages) - 1}")
    for margin in range(64):
        plan = _simulate(cfg, margin, n_stages)
        if plan.output.offset <= 0 and plan.output.offset + plan.output.extra >= 0:
            return _with_receptive_field(cfg, plan, n_stages)
    raise ValueError("no input margin up to 64 covers the window: too many layers for the tile")


def _simulate(cfg: NativeConfig, margin: int, n_stages: int) -> WindowPlan:
    scale = cfg.base_scale
    off, ext = -margin, 2 * margin
    inp = Grid(scale, off, ext)
    conv_styles, conv_noise, rgb_styles = [], [], []
    for si, stage in enumerate(cfg.stages[:n_stages]):
        if si > 0:
            scale //= 2
            off, ext = 2 * off + 1, 2 * ext - 2
        for _ in range(stage.convs):
            conv_styles.append(Grid(scale, off, ext))
            off, ext = off + 1, ext - 2
            conv_noise.append(Grid(scale, off, ext))
        rgb_styles.append(Grid(scale, off, ext))
    if n_stages < len(cfg.stages):  # a coarse level: its 3x3 head consumes one more pixel per side
        off, ext = off + 1, ext - 2
    return WindowPlan(margin, inp, tuple(conv_styles), tuple(conv_noise), tuple(rgb_styles),
                      Grid(scale, off, ext))


def _up_back(g: Grid) -> Grid:
    """Coarse pixels read by bilinear-upsampled fine pixels g (fine f uses (f-1)//2 and +1)."""
    start = (g.offset - 1) // 2
    return Grid(g.scale * 2, start, (g.offset + g.extra - 2) // 2 + 2 - start)


def _union(a: Grid, b: Grid) -> Grid:
    start = min(a.offset, b.offset)
    return Grid(a.scale, start, max(a.offset + a.extra, b.offset + b.extra) - start)


def _with_receptive_field(cfg: NativeConfig, plan: WindowPlan, n_stages: int) -> WindowPlan:
    """Walk the network backwards from the window to the cells each layer really needs."""
    noise: list[Grid] = []
    conv_styles: list[Grid] = []
    rgb_styles: list[Grid] = []
    rgb = feat = Grid(plan.output.scale, 0, 0)
    head = Grid(rgb.scale, -1, 2) if n_stages < len(cfg.stages) else rgb  # a coarse level's 3x3 head
    for si in reversed(range(n_stages)):
        last = si == n_stages - 1
        rgb_styles.append(head if last else rgb)
        feat = head if last else _union(feat, rgb)
        for _ in range(cfg.stages[si].convs):
            noise.append(feat)
            feat = Grid(feat.scale, feat.offset - 1, feat.extra + 2)
            conv_styles.append(feat)
        if si > 0:
            feat, rgb = _up_back(feat), _up_back(rgb)
    return replace(plan, needed_input=feat, needed_noise=tuple(reversed(noise)),
                   needed_styles=tuple(reversed(conv_styles)) + tuple(reversed(rgb_styles)))


class Synthesis(nn.Module):
    """Coarse-to-fine stack of spatially modulated valid convolutions with RGB skips.

    Levels of detail (MSG-GAN / Anycost GAN): level k reads an RGB image at scale 2^k from stage
    S - 1 - k, as the skip sum so far plus a residual head ``level_torgbs[S - 2 - k]`` (a
    modulated 3x3 convolution, zero at initialisation: a pixel's later detail depends on its
    neighbours, which a 1x1 head cannot see), trained to agree with the box-downsampled full
    output without changing it (the heads read detached features). A level-k render runs only
    the stages up to its own, so its cost follows its output pixels."""

    def __init__(self, cfg: NativeConfig):
        super().__init__()
        self.cfg = cfg
        self.plans = tuple(plan_windows(cfg, level) for level in range(len(cfg.stages)))
        self.plan = self.plans[0]
        convs, torgbs = [], []
        in_ch = cfg.local_channels + cfg.coord_channels
        for stage in cfg.stages:
            for _ in range(stage.convs):
                convs.append(SpatialModConv(in_ch, stage.channels, cfg.w_dim, noise=cfg.noise))
                in_ch = stage.channels
            torgbs.append(ToRGB(in_ch, cfg.w_dim))
        self.convs = nn.ModuleList(convs)
        self.torgbs = nn.ModuleList(torgbs)
        # built last, so the other weights are drawn as before the heads existed; the finest stage
        # has none (it is level 0 itself)
        self.level_torgbs = nn.ModuleList(LevelToRGB(s.channels, cfg.w_dim, cfg.level_head_hidden)
                                          for s in cfg.stages[:-1])

    @property
    def levels(self) -> int:
        """Number of levels of detail: 0 (full resolution) .. levels - 1 (the coarsest stage)."""
        return len(self.cfg.stages)

    def forward(self, x: torch.Tensor, w: torch.Tensor, conv_weights: list[torch.Tensor],
                rgb_weights: list[torch.Tensor], noises: list[torch.Tensor | None],
                w_avg: torch.Tensor, level: int = 0, all_levels: bool = False):
        """x: local latents + coordinates on the input grid [N, C, h, w]; w: codes [N, K, w_dim]
        blended about w_avg [w_dim] (see mix_styles);
        conv_weights / rgb_weights: style weights [N, K, h, w] on each layer's grid of
        ``plans[level]``; noises: [N, 1, h, w] on each conv's output grid or None.
        Returns RGB on the level's output grid; with ``all_levels`` (level 0 only) a list whose
        entry k is level k on its stage's grid (entry 0 the full output)."""
        assert x.shape[1] == self.cfg.local_channels + self.cfg.coord_channels, x.shape
        n_stages = self.levels - level
        assert len(rgb_weights) == n_stages and not (all_levels and level), (len(rgb_weights), level)
        rgb = None
        coarse = []
        ci = 0
        for si in range(n_stages):
            if si > 0:
                x = upsample2x_valid(x)
                rgb = upsample2x_valid(rgb)
            for _ in range(self.cfg.stages[si].convs):
                conv = self.convs[ci]
                x = conv(x, mix_styles(conv.affine, w, conv_weights[ci], w_avg), noises[ci])
                ci += 1
            torgb = self.torgbs[si]
            y = torgb(x, mix_styles(torgb.affine, w, rgb_weights[si], w_avg))
            if rgb is None:
                rgb = y
            else:
                c = (rgb.shape[2] - y.shape[2]) // 2, (rgb.shape[3] - y.shape[3]) // 2
                rgb = rgb[:, :, c[0]:c[0] + y.shape[2], c[1]:c[1] + y.shape[3]] + y
            if si < self.levels - 1 and (all_levels or si == n_stages - 1):
                # A read-out: the consistency loss trains the heads alone. Letting it pull the
                # trunk too made the skip sum and its own target drift together until the
                # image blew up (|rgb| ~ 3000 within 40 steps of a Projected-GAN run).
                head = self.level_torgbs[si]
                feat, ws = x.detach(), w.detach()
                y = head(feat, mix_styles(head.affine, ws, rgb_weights[si], w_avg))  # 1 px less per side
                coarse.append(rgb.detach()[:, :, 1:-1, 1:-1] + y)
        if all_levels:
            return [rgb] + coarse[::-1]
        return coarse[-1] if level else rgb


class NativeGenerator(nn.Module):
    """Mapping network + padding-free synthesis; pure tensors in, tensors out (no I/O)."""

    def __init__(self, cfg: NativeConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.mapping = MappingNetwork(cfg.z_dim, cfg.w_dim, cfg.mapping_layers, cfg.mapping_lr_mul)
        self.synthesis = Synthesis(cfg)

    @property
    def plan(self) -> WindowPlan:
        return self.synthesis.plan

    def forward(self, x: torch.Tensor, z: torch.Tensor, conv_weights: list[torch.Tensor],
                rgb_weights: list[torch.Tensor], noises: list[torch.Tensor | None],
                truncation: float = 1.0, update_w_avg: bool = False, level: int = 0,
                all_levels: bool = False):
        w = self.mapping(z, truncation=truncation, update_w_avg=update_w_avg)
        return self.synthesis(x, w, conv_weights, rgb_weights, noises, self.mapping.w_avg,
                              level=level, all_levels=all_levels)
