"""Official StyleGAN2-ADA / StyleGAN3 / INR-GAN / ALIS pickles -> our own generator modules, tensors copied
by name.

The pickle is read as data (safe_pickle); the architecture is chosen from its structure, the network is
built from OUR code with the pickle's constructor arguments, and every tensor is copied by dotted path.
Anything that does not match exactly is refused with one line naming what differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..alis import generator as alis
from ..budget import build_bounded, check_dims, check_storage, match_shapes
from ..errors import ModelLoadError
from ..inrgan import generator as inrgan
from ..stylegan import stylegan2, stylegan3
from .safe_pickle import PersistentObject, load_network_pickle

FAMILIES = {"stylegan2": stylegan2.Generator, "stylegan3": stylegan3.Generator, "inrgan": inrgan.Generator,
            "alis": alis.Generator}


@dataclass
class OfficialNetwork:
    """A generator rebuilt from a network pickle."""

    generator: torch.nn.Module  # stylegan2.Generator or stylegan3.Generator, eval mode, no grad
    family: str  # 'stylegan2', 'stylegan3', 'inrgan' or 'alis'
    config: str  # 'skip' / 'resnet' / 'orig' for StyleGAN2, 'T' / 'R' for StyleGAN3, 'INR-GAN(-bil)', 'ALIS'
    source: str  # where it was loaded from
    module_hash: str | None  # sha256 of the module source embedded in the pickle (never executed)

    @property
    def c_dim(self) -> int:
        return int(self.generator.c_dim)

    @property
    def z_dim(self) -> int:
        return int(self.generator.z_dim)

    def describe(self) -> str:
        g = self.generator
        kind = f"StyleGAN{'3-' + self.config if self.family == 'stylegan3' else '2 (' + self.config + ')'}"
        kind = self.config if self.family in ("inrgan", "alis") else kind
        cond = f", c_dim={g.c_dim}" if g.c_dim else ""
        return f"{kind} {g.img_resolution}x{g.img_resolution}, z_dim={g.z_dim}{cond}"


def load_official(path: str | Path, network: str = "G_ema") -> OfficialNetwork:
    """Load `network` (G_ema by default, G as fallback) from a StyleGAN2-ADA / StyleGAN3 pickle."""
    nets = load_network_pickle(path)
    name = network if network in nets else ("G" if network == "G_ema" and "G" in nets else None)
    obj = nets.get(name) if name else None
    if isinstance(obj, dict) and obj.get("kind") == "tensorflow":
        raise ModelLoadError(f"{path} is a TensorFlow StyleGAN2 pickle: convert it with the official "
                             "legacy.py to a PyTorch snapshot first (direct loading is not supported yet)")
    if not isinstance(obj, PersistentObject):
        held = ", ".join(str(k)[:40] for k in list(nets)[:8])
        raise ModelLoadError(f"{path} has no generator network '{network}' (it holds: {held})")
    gen, family, config = build_generator(obj, f"{path}:{name}")
    return OfficialNetwork(gen, family, config, source=str(path), module_hash=obj.module_hash)


def detect_family(obj: PersistentObject, where: str) -> str:
    """'stylegan2' (synthesis.b4) or 'stylegan3' (synthesis.input), judged by structure, not by source."""
    if obj.class_name != "Generator":
        raise ModelLoadError(f"{where} is a {obj.class_name!r}, not a StyleGAN2/StyleGAN3 Generator: "
                             "this architecture is not supported")
    synthesis = obj.submodules.get("synthesis")
    if synthesis is None or "mapping" not in obj.submodules:
        missing = "synthesis" if synthesis is None else "mapping"
        raise ModelLoadError(f"{where} is a Generator without a '{missing}' network: not StyleGAN2/StyleGAN3")
    if "input" in synthesis.submodules:
        return "stylegan3"
    if _is_inrgan(synthesis):
        return "inrgan"
    if "b4" in synthesis.submodules and "input" in synthesis.submodules["b4"].submodules:
        return "alis"  # ALIS's first block holds a GenInput (GridInput or constant), StyleGAN2 a b4.const
    if "b4" in synthesis.submodules:
        return "stylegan2"
    subs = ", ".join(sorted(synthesis.submodules)[:6]) or "none"
    raise ModelLoadError(f"{where}: unknown generator architecture (synthesis has {subs}; StyleGAN2 needs "
                         "synthesis.b4, StyleGAN3 synthesis.input)")


def _is_inrgan(synthesis: PersistentObject) -> bool:
    """INR-GAN's first block starts from coordinate features (b4.input.input.coord_fuser), not a constant."""
    node = synthesis
    for name in ("b4", "input", "input", "coord_fuser"):
        node = node.submodules.get(name)
        if node is None:
            return False
    return True


def build_generator(obj: PersistentObject, where: str) -> tuple[torch.nn.Module, str, str]:
    """(our generator with the pickle's tensors, family, config name)."""
    family = detect_family(obj, where)
    check_dims(obj.init_kwargs, where)
    check_dims(dict(enumerate(obj.init_args)), where, prefix="argument ")
    check_storage(obj.params, where)
    try:
        gen = build_bounded(lambda: FAMILIES[family](*obj.init_args, **obj.init_kwargs), where,
                            state=obj.params, tile_bytes=tile_bytes(obj.init_kwargs))
    except (TypeError, ValueError, AssertionError, KeyError, NotImplementedError) as e:
        raise ModelLoadError(f"{where}: its {family} Generator cannot be built from the pickle's arguments "
                             f"({type(e).__name__}: {str(e)[:200]})") from None
    copy_tensors(gen, obj.params, where)
    gen.eval().requires_grad_(False)
    if family == "inrgan":
        config = gen.variant
    elif family == "alis":
        config = "ALIS"
    elif family == "stylegan3":
        first = gen.synthesis.layer_names[0]
        config = "R" if getattr(gen.synthesis, first).conv_kernel == 1 else "T"
    else:
        config = gen.synthesis.b4.architecture
    return gen, family, config


def copy_tensors(module: torch.nn.Module, params: dict[str, torch.Tensor], where: str) -> None:
    """Copy every tensor by dotted path; refuse unless names and shapes match one-to-one."""
    ours = module.state_dict()
    match_shapes({k: tuple(v.shape) for k, v in ours.items()}, params, where)
    with torch.no_grad():
        for name, target in ours.items():
            target.copy_(params[name].to(target.dtype))


def tile_bytes(init_kwargs: dict) -> int:
    """Activations of one output image, generously: every resolution's feature maps, four copies."""
    syn = init_kwargs.get("synthesis_kwargs") or {}
    res = int(init_kwargs.get("img_resolution") or 4)
    base, cap = int(syn.get("channel_base", 32768)), int(syn.get("channel_max", 512))
    total, r = 0, 4
    while r <= res:
        total += min(max(base // r, 1), cap) * (2 * r) ** 2 * 4 * 4
        r *= 2
    return total
