"""INR-GAN (its configs/inr-gan.yml and inr-gan-bil.yml, fp32, two mapping layers as its train.py) against a
checkout of universome/inr-gan (its code needs `pip install omegaconf`)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import torch
import yaml

from infiniscape.models.inrgan import generator as inrgan
from infiniscape.models.pickles.loader import copy_tensors

from . import Pair, frozen, official_import_shims

CHECKOUT = "inr-gan"
NETS = {"inrgan": "inr-gan.yml", "inrgan-bil": "inr-gan-bil.yml"}  # configs/ of the checkout


def build(name: str, checkout: str, resolution: int) -> Pair:
    official_import_shims(checkout)
    sys.path.insert(0, str(Path(checkout, "src")))
    official = importlib.import_module("training.networks")
    cfg = yaml.safe_load(Path(checkout, "configs", NETS[name]).read_text())["generator"]  # "${...}" kept
    synthesis = dict(channel_base=int(cfg.get("fmaps", 0.5) * 32768), channel_max=512, num_fp16_res=0,
                     conv_clamp=None)
    init = dict(z_dim=512, w_dim=512, c_dim=0, img_resolution=resolution, img_channels=3,
                mapping_kwargs=dict(num_layers=2), synthesis_kwargs=synthesis, cfg=cfg)
    torch.manual_seed(0)
    ref = frozen(official.Generator(**init))
    ours = frozen(inrgan.Generator(**init))
    copy_tensors(ours, ref.state_dict(), name)
    z = torch.randn(1, 512)
    return Pair(ref=lambda: ref(z, None, noise_mode="const"), ours=lambda: ours(z, None, noise_mode="const"),
                params=sum(p.numel() for p in ours.parameters()), what=f"{resolution} px image")
