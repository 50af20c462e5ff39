"""Where an official network's ws come from: the StyleGAN3 visualizer's latent controls.

- A latent position (x, y) on the seed plane: the integer point (x, y) is seed x + 100 y (mod 2**32),
  drawn as gen_images.py draws it; a fractional position blends the ws of its four neighbouring seeds
  bilinearly, relative to w_avg (the visualizer's latent widget and renderer).
- Style mixing: the ws of layers [lo, hi) come from a second seed (StyleGAN's style-mixing figures).
Truncation and the class label are applied by the mapping network, per seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .contract import StyleMix

SEED_ROW = 100  # seeds per row of the seed plane, as in the StyleGAN3 visualizer


def seed_at(x: int, y: int) -> int:
    """The seed of an integer point of the seed plane."""
    return (x + SEED_ROW * y) % 2 ** 32


def seed_weights(x: float, y: float) -> list[tuple[int, float]]:
    """(seed, bilinear weight) of the integer points around (x, y) with a positive weight; the weights
    sum to 1, and an integer point is its own seed alone."""
    out = []
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        sx, sy = math.floor(x) + dx, math.floor(y) + dy
        weight = (1 - abs(x - sx)) * (1 - abs(y - sy))
        if weight > 0:
            out.append((seed_at(sx, sy), weight))
    return out


def blended_ws(map_seed: Callable[[int], torch.Tensor], w_avg: torch.Tensor | None, x: float,
               y: float) -> torch.Tensor:
    """ws [1, num_ws, w_dim] at a latent position; `map_seed(seed)` maps one seed's latent."""
    corners = seed_weights(x, y)
    if len(corners) == 1:
        return map_seed(corners[0][0])  # exactly the plain seed's ws
    if w_avg is None:  # no tracked average: blend the ws themselves
        return sum(weight * map_seed(seed) for seed, weight in corners)
    return w_avg + sum(weight * (map_seed(seed) - w_avg) for seed, weight in corners)


def mix_styles(ws: torch.Tensor, mix: StyleMix | None,
               map_seed: Callable[[int], torch.Tensor]) -> torch.Tensor:
    """ws [N, num_ws, w_dim] with layers [lo, hi) replaced by those of the mixing seed."""
    if mix is None or mix.hi <= mix.lo:
        return ws
    ws = ws.clone()
    ws[:, mix.lo:mix.hi] = map_seed(seed_at(mix.seed, 0))[:, mix.lo:mix.hi]
    return ws
