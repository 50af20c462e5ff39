"""StyleGAN2 / StyleGAN3-T / StyleGAN3-R at the official training configs' full width, against a checkout of
NVlabs/stylegan3 (its training/networks_stylegan2.py and networks_stylegan3.py)."""

from __future__ import annotations

import importlib

from infiniscape.models.stylegan import stylegan2, stylegan3

from . import Pair, image_pair, official_import_shims

CHECKOUT = "stylegan3"
NETS = {  # official training configs at full width (channel_base 32768, max 512)
    "sg2": ("networks_stylegan2", stylegan2, dict(mapping_kwargs=dict(num_layers=8))),
    "sg3t": ("networks_stylegan3", stylegan3, dict(mapping_kwargs=dict(num_layers=2))),
    "sg3r": ("networks_stylegan3", stylegan3, dict(mapping_kwargs=dict(num_layers=2), conv_kernel=1,
                                                  channel_base=65536, channel_max=1024,
                                                  use_radial_filters=True)),
}


def build(name: str, checkout: str, resolution: int) -> Pair:
    official_import_shims(checkout)
    module, ours_module, kwargs = NETS[name]
    official = importlib.import_module(f"training.{module}")
    init = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=resolution, img_channels=3, **kwargs)
    return image_pair(official.Generator, ours_module.Generator, init, name, resolution)
