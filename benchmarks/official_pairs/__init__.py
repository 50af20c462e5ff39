"""One module per family: `build(name, checkout, resolution) -> Pair`, the official generator and ours on the
same weights, each as a call that renders the same image (benchmarks/official_speed.py times them)."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Pair:
    ref: Callable[[], torch.Tensor]  # the official code's forward
    ours: Callable[[], torch.Tensor]  # ours, same weights, same inputs
    params: int  # parameters of the generator
    what: str  # what one call renders, for the table


def official_import_shims(checkout: str) -> None:
    """Let a research checkout import on this Python: put it first on sys.path, give its torch_utils a
    `pkg_resources.parse_version` (setuptools no longer ships one), and restore numpy's `np.float`
    (removed in numpy 1.24, used by ALIS's and INR-GAN's layers). Nothing of ours is patched."""
    sys.path.insert(0, checkout)
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        import packaging.version

        shim = types.ModuleType("pkg_resources")
        shim.parse_version = packaging.version.parse
        sys.modules["pkg_resources"] = shim
    if not hasattr(np, "float"):
        np.float = float


def frozen(module: torch.nn.Module) -> torch.nn.Module:
    return module.eval().requires_grad_(False)


def same_weights(official_cls, ours_cls, init: dict, name: str,
                 setup: Callable[[torch.nn.Module], object] = lambda ref: None) -> tuple:
    """The official generator built from `init` with torch seed 0 (then `setup`), and ours with its tensors
    copied."""
    from infiniscape.models.pickles.loader import copy_tensors

    torch.manual_seed(0)
    ref = frozen(official_cls(**init))
    setup(ref)
    ours = frozen(ours_cls(**init))
    copy_tensors(ours, ref.state_dict(), name)
    return ref, ours


def image_pair(official_cls, ours_cls, init: dict, name: str, resolution: int) -> Pair:
    """A generator called as G(z, c, noise_mode='const'), official and ours on the same weights and z."""
    ref, ours = same_weights(official_cls, ours_cls, init, name)
    z = torch.randn(1, 512)
    return Pair(ref=lambda: ref(z, None, noise_mode="const"), ours=lambda: ours(z, None, noise_mode="const"),
                params=sum(p.numel() for p in ours.parameters()), what=f"{resolution} px image")
