"""ALIS (configs/alis.yml, g_fmaps 0.5 as its main.yml, fp32, noise off and max shift strength 1 as its
notebook) against a checkout of universome/alis: one frame between three anchors."""

from __future__ import annotations

import importlib
from pathlib import Path

import torch
import yaml

from infiniscape.models.alis import generator as alis

from . import Pair, official_import_shims, same_weights

CHECKOUT = "alis"
NETS = ("alis",)


def frame(gen, z: torch.Tensor, **kwargs) -> torch.Tensor:
    """One frame as the notebook renders it: w_c from z, context anchors from -z and 2z, left border 2
    patches, no noise."""
    ws = gen.mapping(torch.cat([z, -z, 2 * z]), None)
    ctx = torch.stack([ws[1:2], ws[2:3]], dim=1)
    return gen.synthesis(ws[0:1], ctx, torch.tensor([2]), noise_mode="none", **kwargs)


def build(name: str, checkout: str, resolution: int) -> Pair:
    official_import_shims(checkout)
    official = importlib.import_module("training.networks")
    cfg = yaml.safe_load(Path(checkout, "configs", "alis.yml").read_text())["synthesis"]  # "${...}" kept
    synthesis = dict(channel_base=16384, channel_max=512, num_fp16_res=4, conv_clamp=256)
    init = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=resolution, img_channels=3,
                mapping_kwargs=dict(num_layers=2), synthesis_kwargs=synthesis, synthesis_cfg=cfg)
    # as the notebook: max_shift_strength 1 (a buffer, so before the copy)
    ref, ours = same_weights(official.Generator, alis.Generator, init, name,
                             setup=lambda ref: ref.progressive_growing_update(100000))
    z = torch.randn(1, 512)
    return Pair(ref=lambda: frame(ref, z, force_fp32=True), ours=lambda: frame(ours, z),
                params=sum(p.numel() for p in ours.parameters()), what=f"{resolution} px frame")
