"""Fit the level-of-detail heads of a trained native generator, leaving every other weight alone.

Training with ``--lod-weight`` fits them as it goes; a checkpoint trained before the heads existed
(they load as zero: each coarse level is then just the skip sum so far, which is not a downsampled
image) gets them here, from frames of its own world: each head learns to read its stage as the
box-downsampled full-resolution frame. The full-resolution output is unchanged bit for bit.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from infiniscape.models.native.generator import NativeGenerator
from infiniscape.models.native.model import NativeModel

from .frames import FrameSampler, FreshLatents, VerticalRange
from .loss import lod_consistency


def with_head_hidden(model: NativeModel, hidden: int) -> NativeModel:
    """The same model with level heads of ``hidden`` hidden channels (NativeConfig.level_head_hidden):
    every other weight and each head's linear part kept, a new hidden branch starting at zero (the
    levels render as before until it is fitted), a dropped one discarded."""
    if hidden == model.cfg.level_head_hidden:
        return model
    g = NativeGenerator(replace(model.cfg, level_head_hidden=hidden))
    missing, unexpected = g.load_state_dict(model.generator.state_dict(), strict=False)
    assert all(".hidden_" in k for k in missing + unexpected), (missing, unexpected)
    return NativeModel(g, device=model.device, source=model.source, trained=model.trained)


def fit_level_heads(model: NativeModel, steps: int = 400, batch: int = 8, resolution: int = 128,
                    extent: int = 3072, lr: float = 0.002, seed: int = 0, progress=None) -> list[float]:
    """Adam on the heads of ``model.generator`` (in place) over frames at every height within
    +-extent px of the horizon; returns the consistency loss per step."""
    g = model.generator
    b = g.cfg.base_scale
    resolution = max(b, resolution // b * b)
    vertical = VerticalRange(near=(-resolution, 0), extent=extent, frame=resolution, align=b)
    sampler = FrameSampler(NativeModel(g, device=model.device, frozen=False), resolution, vertical)
    heads = [p for p in g.synthesis.level_torgbs.parameters()]
    g.requires_grad_(False)
    for p in heads:
        p.requires_grad_(True)
    opt = torch.optim.Adam(heads, lr=lr, betas=(0.9, 0.99))
    rng = np.random.default_rng(seed)
    losses = []
    try:
        for step in range(steps):
            _, levels = sampler.frames(g, sampler.draw_origins(rng, batch), [FreshLatents(rng)] * batch,
                                       all_levels=True)
            loss = lod_consistency(levels[0], levels[1:])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if progress:
                progress(step, losses[-1])
    finally:
        g.requires_grad_(False).eval()
    return losses
