"""Lazily drawn latent lattices: every cell value is a pure function of (seed, field, cell).

A counter-based generator (a SplitMix64 chain over seed, field stream, cell x, cell y and channel)
turns those integers into standard normals. Nothing depends on request order, batch composition
or device, and nothing proportional to the canvas is ever allocated: a renderer asks for exactly
the cells a tile reads.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .contract import CellRange, FieldSpec

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (wrapping uint64 arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def stream_key(seed: int, stream: str) -> np.uint64:
    """64-bit key for one (seed, named stream); stable across runs, platforms and Python versions."""
    digest = hashlib.blake2b(f"{int(seed)}/{stream}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def hashed_normal(key: np.uint64, ix: np.ndarray, iy: np.ndarray, channels: int) -> np.ndarray:
    """Standard normals for cells (ix, iy) [broadcastable int arrays] -> float32 [C, *shape]."""
    with np.errstate(over="ignore"):
        ix = np.asarray(ix, dtype=np.int64).astype(np.uint64)
        iy = np.asarray(iy, dtype=np.int64).astype(np.uint64)
        h = _mix(np.full(np.broadcast_shapes(ix.shape, iy.shape), key, dtype=np.uint64) + _GOLDEN * ix)
        h = _mix(h + _GOLDEN * iy + np.uint64(0x632BE59BD9B4E019))
        c = np.arange(channels, dtype=np.uint64).reshape((channels,) + (1,) * h.ndim)
        h = _mix(h[None] + _GOLDEN * (c + np.uint64(1)))
    # Box-Muller from the two 32-bit halves; float64 inside so every platform rounds alike.
    u1 = ((h >> np.uint64(32)).astype(np.float64) + 0.5) * (1.0 / 4294967296.0)
    u2 = ((h & np.uint64(0xFFFFFFFF)).astype(np.float64) + 0.5) * (1.0 / 4294967296.0)
    return (np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)).astype(np.float32)


class HashedLatents:
    """The seeded lattice itself: a LatentSource with no edits."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._keys: dict[str, np.uint64] = {}

    def key(self, field: str) -> np.uint64:
        k = self._keys.get(field)
        if k is None:
            k = self._keys[field] = stream_key(self.seed, field)
        return k

    def cells(self, spec: FieldSpec, cells: CellRange) -> np.ndarray:
        iy = np.arange(cells.y0, cells.y1, dtype=np.int64)[:, None]
        ix = np.arange(cells.x0, cells.x1, dtype=np.int64)[None, :]
        return hashed_normal(self.key(spec.name), ix, iy, spec.channels)
