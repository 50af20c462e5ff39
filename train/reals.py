"""Real frames in the order a run shows them: a pure function of the image position, so a resumed
run (or another process of it) reads exactly the images a straight run would."""

from __future__ import annotations

import numpy as np
import torch


class RealStream:
    """Real frames by global image position: position p is image p of the procedural source, or
    image perm_e[p mod n] of a folder, perm_e a seeded permutation per epoch e = p // n."""

    def __init__(self, dataset, seed: int):
        self.dataset, self.seed = dataset, seed
        self.infinite = len(dataset) >= 2**31
        self._perm: tuple[int, np.ndarray] | None = None

    def index(self, p: int) -> int:
        if self.infinite:
            return p
        n = len(self.dataset)
        epoch = p // n
        if self._perm is None or self._perm[0] != epoch:
            self._perm = (epoch, np.random.default_rng([self.seed, epoch]).permutation(n))
        return int(self._perm[1][p % n])

    def images(self, start: int, count: int) -> np.ndarray:
        return np.stack([self.dataset[self.index(p)] for p in range(start, start + count)])  # [N, R, R, 3]


def to_tensor(images: np.ndarray, device) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [-1, 1]."""
    x = torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0
