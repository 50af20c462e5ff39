"""CPU forward time of our StyleGAN2 / StyleGAN3 generators vs the official implementation, same weights.

The official code is NOT part of this repository: pass a checkout of NVlabs/stylegan3 with --official
(its dnnlib needs Python <= 3.11 for distutils; torch_utils needs pkg_resources or a small shim).

    python benchmarks/official_speed.py --official /path/to/stylegan3 --nets sg2 sg3t --resolution 256

INR-GAN (its configs/inr-gan*.yml, fp32) against a checkout of universome/inr-gan, run separately because its
`training` package has the same name (its code needs `pip install omegaconf`; numpy >= 1.24 lacks the
`np.float` it uses, which is restored here for the run):

    python benchmarks/official_speed.py --official /path/to/inr-gan --nets inrgan inrgan-bil

ALIS (configs/alis.yml, g_fmaps 0.5 as its main.yml, fp32, noise off and max shift strength 1 as its
notebook) against a checkout of universome/alis, one frame between three anchors (same needs as INR-GAN):

    python benchmarks/official_speed.py --official /path/to/alis --nets alis
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from infiniscape.models.alis import generator as alis
from infiniscape.models.inrgan import generator as inrgan
from infiniscape.models.pickles.loader import copy_tensors
from infiniscape.models.stylegan import stylegan2, stylegan3

NETS = {  # official training configs at full width (channel_base 32768, max 512)
    "sg2": ("networks_stylegan2", stylegan2, dict(mapping_kwargs=dict(num_layers=8))),
    "sg3t": ("networks_stylegan3", stylegan3, dict(mapping_kwargs=dict(num_layers=2))),
    "sg3r": ("networks_stylegan3", stylegan3, dict(mapping_kwargs=dict(num_layers=2), conv_kernel=1,
                                                  channel_base=65536, channel_max=1024,
                                                  use_radial_filters=True)),
}


INRGAN = {"inrgan": "inr-gan.yml", "inrgan-bil": "inr-gan-bil.yml"}  # configs/ of the inr-gan checkout


def inrgan_init(official: str, name: str, resolution: int) -> dict:
    """Constructor arguments as the official train.py builds them from configs/<name> (fp32, 2 mapping)."""
    cfg = yaml.safe_load(Path(official, "configs", INRGAN[name]).read_text())["generator"]  # "${...}" kept
    synthesis = dict(channel_base=int(cfg.get("fmaps", 0.5) * 32768), channel_max=512, num_fp16_res=0,
                     conv_clamp=None)
    return dict(z_dim=512, w_dim=512, c_dim=0, img_resolution=resolution, img_channels=3,
                mapping_kwargs=dict(num_layers=2), synthesis_kwargs=synthesis, cfg=cfg)


def alis_init(official: str, resolution: int) -> dict:
    """Constructor arguments as ALIS's train.py builds them (synthesis config kept unresolved), CPU fp32."""
    cfg = yaml.safe_load(Path(official, "configs", "alis.yml").read_text())["synthesis"]  # "${...}" kept
    synthesis = dict(channel_base=16384, channel_max=512, num_fp16_res=4, conv_clamp=256)
    return dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=resolution, img_channels=3,
                mapping_kwargs=dict(num_layers=2), synthesis_kwargs=synthesis, synthesis_cfg=cfg)


class AlisFrame:
    """Calls like a Generator (z, c, noise_mode) but renders one ALIS frame: w_c from z, context anchors
    from -z and 2z, left border 2 patches, no noise (the notebook's inference)."""

    def __init__(self, gen, official: bool):
        self.gen, self.kwargs = gen, dict(force_fp32=True) if official else {}

    def __call__(self, z, c, noise_mode="none"):
        ws = self.gen.mapping(torch.cat([z, -z, 2 * z]), None)
        ctx = torch.stack([ws[1:2], ws[2:3]], dim=1)
        return self.gen.synthesis(ws[0:1], ctx, torch.tensor([2]), noise_mode="none", **self.kwargs)


def timed(ref, ours, z, repeat: int) -> tuple[tuple[float, float], tuple[float, float], float]:
    """Median (wall, process CPU) seconds of `repeat` forwards of each after one warm-up (oneDNN builds its
    kernels on the first call), and the median wall speed-up of the rounds. The two run in alternation so
    that both see the same machine (it is shared: its speed drifts); CPU time is the steadier figure."""
    ref(z, None, noise_mode="const")
    ours(z, None, noise_mode="const")
    runs: dict[str, list[tuple[float, float]]] = {"ref": [], "ours": []}
    for _ in range(repeat):
        for key, gen in (("ref", ref), ("ours", ours)):
            t, c = time.perf_counter(), time.process_time()
            gen(z, None, noise_mode="const")
            runs[key].append((time.perf_counter() - t, time.process_time() - c))
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for k, v in runs.items()}
    ratio = statistics.median(r[0] / o[0] for r, o in zip(runs["ref"], runs["ours"], strict=True))
    return med["ref"], med["ours"], ratio


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--official", required=True, help="NVlabs/stylegan3 (or universome/inr-gan) checkout")
    p.add_argument("--nets", nargs="+", default=["sg2", "sg3t"], choices=list(NETS) + list(INRGAN) + ["alis"])
    p.add_argument("--resolution", type=int, default=256)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    sys.path.insert(0, args.official)
    import importlib

    for name in args.nets:
        if name in INRGAN:
            sys.path.insert(0, str(Path(args.official, "src")))
            np.float = float  # removed in numpy 1.24; the official layers.py still uses it
            official, ours_module = importlib.import_module("training.networks"), inrgan
            init = inrgan_init(args.official, name, args.resolution)
        elif name == "alis":
            np.float = float  # removed in numpy 1.24; ALIS's layers.py still uses it
            official, ours_module = importlib.import_module("training.networks"), alis
            init = alis_init(args.official, args.resolution)
        else:
            module, ours_module, kwargs = NETS[name]
            official = importlib.import_module(f"training.{module}")
            init = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=args.resolution, img_channels=3,
                        **kwargs)
        torch.manual_seed(0)
        ref = official.Generator(**init).eval().requires_grad_(False)
        if name == "alis":
            ref.progressive_growing_update(100000)  # as the notebook: max_shift_strength 1
        ours = ours_module.Generator(**init).eval().requires_grad_(False)
        copy_tensors(ours, ref.state_dict(), name)
        if name == "alis":
            ref, ours = AlisFrame(ref, official=True), AlisFrame(ours, official=False)
        z = torch.randn(1, 512)
        with torch.no_grad():
            diff = float((ref(z, None, noise_mode="const") - ours(z, None, noise_mode="const")).abs().max())
            (t_ref, c_ref), (t_ours, c_ours), paired = timed(ref, ours, z, args.repeat)
        params = sum(p.numel() for p in getattr(ours, "gen", ours).parameters())
        load = " ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"{name} {args.resolution}px ({params:,} params, {args.threads} threads, load {load}): "
              f"official {t_ref:.2f} s ({c_ref:.2f} s CPU), ours {t_ours:.2f} s ({c_ours:.2f} s CPU), "
              f"speed-up {t_ref / t_ours:.2f}x wall ({paired:.2f}x paired), {c_ref / c_ours:.2f}x CPU, "
              f"max |diff| {diff:.2e}",
              flush=True)


if __name__ == "__main__":
    main()
