"""Architectures read from files are bounded before anything is allocated.

A checkpoint names its architecture (constructor arguments in a pickle, a config in a `.pt` or YAML) and
holds tensors; a tiny hostile file can name z_dim = 25000, or hold a "tensor" that is a stride-0 view of
one number. So, before the real build: every dimension is checked against a sane range (the refusal
names the field), every tensor must be backed by its own storage, and the network is first built on
torch's meta device (shapes only, no memory) to count its parameters and to match them against the
file's tensors. Only then is it built for real.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from .errors import ModelLoadError

MAX_PARAMETERS = 1 << 28  # 268 M (1 GiB of float32); StyleGAN3-R at 1024 px has 15 M
MAX_TILE_BYTES = 8 << 30  # activations of one tile, estimated per architecture

# constructor arguments of the official families (StyleGAN2/3, ALIS, INR-GAN), nested dicts included
OFFICIAL_BOUNDS = {
    "z_dim": (0, 4096), "w_dim": (1, 4096), "c_dim": (0, 1 << 17), "img_resolution": (4, 8192),
    "img_channels": (1, 4), "channel_base": (1, 1 << 20), "channel_max": (1, 4096), "num_layers": (0, 64),
    "num_fp16_res": (0, 16), "conv_clamp": (0, 1 << 16), "num_ws": (1, 1024), "mapping_layers": (0, 64),
    "embed_features": (0, 4096), "layer_features": (0, 4096), "first_cutoff": (0, 8192),
    "first_stopband": (0, 1 << 16), "margin_size": (0, 1024), "num_critical": (0, 64),
}
MAX_OTHER_INT = 1 << 20  # any other integer argument


def check_dims(values: Mapping, where: str, bounds: Mapping[str, tuple[int, int]] = OFFICIAL_BOUNDS,
               prefix: str = "") -> None:
    """Every integer (in nested dicts too) within its field's range, or MAX_OTHER_INT."""
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            check_dims(value, where, bounds, f"{name}.")
            continue
        if isinstance(value, list | tuple):
            items = [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
            if len(value) > 4096 or any(abs(v) > MAX_OTHER_INT for v in items):
                raise ModelLoadError(f"{where}: {name} holds values out of range; not a real architecture")
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        lo, hi = bounds.get(str(key), (-MAX_OTHER_INT, MAX_OTHER_INT))
        if not lo <= value <= hi:
            raise ModelLoadError(f"{where}: {name}={value if abs(value) < 1e12 else 'huge'} is out of range "
                                 f"({lo}..{hi}); the file does not describe a real network")


def check_storage(state: Mapping[str, torch.Tensor], where: str) -> None:
    """Each tensor is backed by as many numbers as it has elements (no stride-0 expansion of a tiny
    storage into a huge tensor)."""
    for name, t in state.items():
        if not isinstance(t, torch.Tensor):
            raise ModelLoadError(f"{where}: entry {str(name)[:60]!r} is a {type(t).__name__}, not a tensor")
        if t.numel() * t.element_size() > t.untyped_storage().nbytes():
            raise ModelLoadError(f"{where}: tensor {str(name)[:60]!r} claims {t.numel()} elements over "
                                 f"{t.untyped_storage().nbytes()} bytes of storage; not a real checkpoint")


def build_bounded(factory: Callable[[], torch.nn.Module], where: str,
                  state: Mapping[str, torch.Tensor] | None = None,
                  tile_bytes: int | None = None) -> torch.nn.Module:
    """factory() built for real only after a meta-device build shows it within MAX_PARAMETERS and, when
    ``state`` is given, with exactly the file's tensor names and shapes. ``tile_bytes``: the caller's
    estimate of one tile's activations."""
    if tile_bytes is not None and tile_bytes > MAX_TILE_BYTES:
        raise ModelLoadError(f"{where}: one tile would need ~{tile_bytes / 2 ** 30:.0f} GiB of activations "
                             f"(limit {MAX_TILE_BYTES >> 30} GiB); the architecture is not a real network")
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        probe = factory()
    shapes = {k: tuple(v.shape) for k, v in probe.state_dict().items()}
    count = sum(_numel(s) for s in shapes.values())
    if count > MAX_PARAMETERS:
        raise ModelLoadError(f"{where}: the architecture has {count / 1e6:.0f} M parameters (limit "
                             f"{MAX_PARAMETERS / 1e6:.0f} M); the file does not describe a real network")
    if state is not None:
        match_shapes(shapes, state, where)
    with torch.random.fork_rng(devices=[]):  # construction draws random init; keep the caller's RNG
        return factory()


def match_shapes(shapes: Mapping[str, tuple], state: Mapping[str, torch.Tensor], where: str) -> None:
    """Names and shapes one-to-one; one line naming the first difference."""
    missing = [k for k in shapes if k not in state]
    extra = [k for k in state if k not in shapes]
    if missing or extra:
        what = f"lacks {missing[0]!r}" if missing else f"has an unexpected {str(extra[0])[:80]!r}"
        raise ModelLoadError(f"{where} does not match its architecture: the checkpoint {what} "
                             f"({len(missing)} missing, {len(extra)} unexpected tensors)")
    for name, shape in shapes.items():
        if tuple(state[name].shape) != shape:
            raise ModelLoadError(f"{where}: tensor {name!r} has shape {tuple(state[name].shape)}, the "
                                 f"architecture expects {shape}")


def _numel(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n
