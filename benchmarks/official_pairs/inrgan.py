"""INR-GAN (its configs/inr-gan.yml and inr-gan-bil.yml, fp32, two mapping layers as its train.py) against a
checkout of universome/inr-gan (its code needs `pip install omegaconf`)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import yaml

from infiniscape.models.inrgan import generator as inrgan

from . import Pair, image_pair, official_import_shims

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
    return image_pair(official.Generator, inrgan.Generator, init, name, resolution)
