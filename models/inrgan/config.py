"""The `cfg` an INR-GAN checkpoint stores (its Hydra `generator` section) as checked, plain settings.

Training stores the section unresolved (OmegaConf.to_container), so values such as "${coords.low_res_cfg}"
still point elsewhere in the section; they are resolved here without OmegaConf. A setting the official
code would read but the checkpoint lacks is reported by its dotted path.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

_REFERENCE = re.compile(r"^\$\{([A-Za-z0-9_.]+)\}$")
UPSAMPLING_MODES = ("nearest", "bilinear")
FMM_ACTIVATIONS = ("demod", "tanh", "sigmoid", None)  # None: the rank-r term is used as it is


def resolve(value, root: dict, depth: int = 0):
    """Replace every "${a.b}" string by the value at a.b of `root`, recursively."""
    if depth > 20:
        raise ValueError("the INR-GAN config has circular references (${...})")
    if isinstance(value, dict):
        return {k: resolve(v, root, depth) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, root, depth) for v in value]
    match = _REFERENCE.match(value) if isinstance(value, str) else None
    if match is None:
        return value
    node = root
    for key in match.group(1).split("."):
        if not isinstance(node, dict) or key not in node:
            raise ValueError(f"the INR-GAN config refers to '{match.group(1)}', which it lacks")
        node = node[key]
    return resolve(node, root, depth + 1)


def _section(cfg: dict, path: str) -> dict:
    node = cfg
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            raise ValueError(f"the INR-GAN config lacks '{path}'")
    if not isinstance(node, dict):
        raise ValueError(f"the INR-GAN config's '{path}' is not a section")
    return node


@dataclass(frozen=True)
class EmbeddingSpec:
    """Coordinate features of one resolution (a `coords.res_configs` entry)."""

    log_emb_size: int = 0  # cap on the fixed logarithmic wavefront basis (its size follows the resolution)
    random_emb_size: int = 0  # fixed Gaussian frequencies (buffer random_basis)
    shared_emb_size: int = 0  # learned frequencies shared by all samples (shared_basis)
    predictable_emb_size: int = 0  # frequencies and phases predicted from w (affine)
    const_emb_size: int = 0  # learned per-pixel features (const_embs), CIPS-style
    fourier_scale: float = math.sqrt(10)  # scale of the random / shared / predicted frequencies
    use_cosine: bool = False  # cos features after the sin features
    use_raw_coords: bool = False  # the (x, y) coordinates themselves as two channels
    use_diagonal: bool = False  # diagonal directions in the logarithmic basis

    @classmethod
    def from_dict(cls, d: dict) -> EmbeddingSpec:
        known = {k: d[k] for k in cls.__dataclass_fields__ if d.get(k) is not None}
        return cls(**known)


@dataclass(frozen=True)
class InrGanConfig:
    """What the INR-GAN generator's structure depends on, from the checkpoint's `cfg`."""

    input_resolution: int  # blocks up to this resolution all run at it (the first multi-scale level)
    upsampling_mode: str  # 'nearest' (INR-GAN) or 'bilinear' (INR-GAN-bil)
    rank: int  # rank r of the factorized multiplicative modulation
    fmm_activation: str | None  # 'demod' normalises each output row of the modulated weight
    instance_norm: bool  # divide by the spatial std before conv1 and the extra layers (-bil)
    per_resolution: bool  # coordinate features only where the resolution grows
    use_noise: bool  # per-pixel noise inputs
    input_embedding: EmbeddingSpec  # features of the input grid (input.coord_fuser_cfg, usually = coords)
    embeddings: dict[int, EmbeddingSpec] = field(default_factory=dict)  # resolution -> features
    num_extra_convs: dict[int, int] = field(default_factory=dict)  # resolution -> extra FMM layers

    @classmethod
    def from_official(cls, cfg: dict) -> InrGanConfig:
        """Check and resolve the stored `cfg`; ValueError names the first thing an INR-GAN needs but lacks."""
        if not isinstance(cfg, dict) or not cfg:
            raise ValueError("the checkpoint stores no INR-GAN config ('cfg' is empty)")
        cfg = resolve(cfg, cfg)
        fmm, coords, inp = _section(cfg, "fmm"), _section(cfg, "coords"), _section(cfg, "input")
        if not fmm.get("enabled"):
            raise ValueError("the config has fmm.enabled false (a convolutional baseline); INR-GAN needs FMM")
        if cfg.get("upsampling_mode") not in UPSAMPLING_MODES:
            raise ValueError(f"upsampling_mode {cfg.get('upsampling_mode')!r} is not supported with FMM "
                             f"layers: expected one of {', '.join(UPSAMPLING_MODES)}")
        if inp.get("type") != "coords":
            raise ValueError(f"input.type {inp.get('type')!r} is not supported: INR-GAN starts from 'coords'")
        if not coords.get("enabled") or coords.get("fallback"):
            raise ValueError("the config has coordinate embeddings off (coords.enabled / coords.fallback)")
        if coords.get("kernel_size", 1) != 1 or coords.get("coord_dim", 2) != 2:
            raise ValueError("only 1x1 layers over 2D coordinates are supported (coords.kernel_size, "
                             "coords.coord_dim)")
        if fmm.get("activation") not in FMM_ACTIVATIONS:
            raise ValueError(f"fmm.activation {fmm.get('activation')!r} is unknown")
        if not isinstance(fmm.get("rank"), int) or fmm["rank"] < 1:
            raise ValueError("the INR-GAN config lacks a positive integer 'fmm.rank'")
        if not isinstance(inp.get("resolution"), int):
            raise ValueError("the INR-GAN config lacks 'input.resolution'")
        input_specs = _section(cfg, "input.coord_fuser_cfg.res_configs")
        specs = {int(r): EmbeddingSpec.from_dict(v) for r, v in _section(cfg, "coords.res_configs").items()
                 if isinstance(v, dict)}
        key = str(inp["resolution"])
        if key not in input_specs:
            raise ValueError(f"the INR-GAN config lacks 'input.coord_fuser_cfg.res_configs.{key}'")
        extra = cfg.get("num_extra_convs") or {}
        return cls(input_resolution=inp["resolution"], upsampling_mode=cfg["upsampling_mode"],
                   rank=fmm["rank"], fmm_activation=fmm.get("activation"),
                   instance_norm=bool(fmm.get("instance_norm", False)),
                   per_resolution=bool(coords.get("per_resolution", False)),
                   use_noise=bool(cfg.get("use_noise", False)),
                   input_embedding=EmbeddingSpec.from_dict(input_specs[key]), embeddings=specs,
                   num_extra_convs={int(r): int(n) for r, n in extra.items()})

    def embedding(self, resolution: int) -> EmbeddingSpec:
        if resolution not in self.embeddings:
            raise ValueError(f"the INR-GAN config lacks 'coords.res_configs.{resolution}'")
        return self.embeddings[resolution]
