"""Lazily drawn latent lattices: every cell value is a pure function of (seed, field, cell).

A counter-based generator (a SplitMix64 chain over seed, field stream, cell x, cell y and channel)
turns those integers into standard normals. Nothing depends on request order, batch composition
or device, and nothing proportional to the canvas is ever allocated: a renderer asks for exactly
the cells a tile reads.

A field with octaves (FieldSpec.octaves) is coherent over distances longer than its spacing: its
value at a cell is sqrt(1 - sum shares) x its own normal + sqrt(share) x each octave's coarse
lattice, interpolated between coarse cells with smoothstep weights divided by the root of their sum
of squares, so every value is still exactly a standard normal while neighbours correlate (a built-in
landscape keeps one sky over thousands of pixels instead of a new palette at every style anchor).
Every cell is computed from its own coordinates alone, so any block of cells equals the same cells
of a larger block bit for bit.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch

from .contract import CellRange, FieldSpec

# SplitMix64 constants as signed int64 (torch has no uint64 arithmetic; wrapping is identical)
_GOLDEN = 0x9E3779B97F4A7C15 - (1 << 64)
_M1 = 0xBF58476D1CE4E5B9 - (1 << 64)
_M2 = 0x94D049BB133111EB - (1 << 64)
_ROW = 0x632BE59BD9B4E019


def _srl(z: torch.Tensor, k: int) -> torch.Tensor:
    """Logical right shift of int64 bit patterns."""
    return (z >> k) & ((1 << (64 - k)) - 1)


def _mix(z: torch.Tensor) -> torch.Tensor:
    """SplitMix64 finaliser (wrapping 64-bit arithmetic)."""
    z = (z ^ _srl(z, 30)) * _M1
    z = (z ^ _srl(z, 27)) * _M2
    return z ^ _srl(z, 31)


def stream_key(seed: int, stream: str) -> int:
    """64-bit key for one (seed, named stream); stable across runs, platforms and Python versions."""
    digest = hashlib.blake2b(f"{int(seed)}/{stream}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def hashed_normal(key: int, cells: CellRange, channels: int) -> np.ndarray:
    """Standard normals for a range of cells -> float32 [C, rows, cols].

    Box-Muller turns one 64-bit hash into a (cos, sin) pair of normals, so cells 2j and 2j+1
    along x share the hash of pair j. Always computed on the CPU in float64: every device agrees."""
    j0, j1 = cells.x0 >> 1, (cells.x1 + 1) >> 1  # pairs covering [x0, x1)
    jx = torch.arange(j0, j1, dtype=torch.int64)[None, :]
    iy = torch.arange(cells.y0, cells.y1, dtype=torch.int64)[:, None]
    h = _mix(_mix(key + _GOLDEN * jx) + _GOLDEN * iy + _ROW)
    c = torch.arange(1, channels + 1, dtype=torch.int64)[:, None, None]
    h = _mix(h[None] + _GOLDEN * c)  # [C, rows, pairs]
    u1 = (_srl(h, 32).double() + 0.5) * (1.0 / 4294967296.0)
    u2 = ((h & 0xFFFFFFFF).double() + 0.5) * (1.0 / 4294967296.0)
    radius, angle = torch.sqrt(-2.0 * torch.log(u1)), (2.0 * math.pi) * u2
    pairs = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=-1)
    z = pairs.flatten(-2)[:, :, cells.x0 - 2 * j0:cells.x1 - 2 * j0]
    return z.float().numpy()


def _octave_axis(i: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coarse cells left of and right of fine cells ``i`` (every ``step``; 0: a single coarse
    cell), and the fine cells' smoothstep weight of the right one."""
    if step == 0:
        zero = np.zeros_like(i)
        return zero, zero, np.zeros(i.shape)
    c0 = np.floor_divide(i, step)
    t = (i - c0 * step) / step
    return c0, c0 + 1, t * t * (3.0 - 2.0 * t)


def coherent_normal(key_of, spec: FieldSpec, cells: CellRange) -> np.ndarray:
    """Standard normals of ``spec`` over ``cells`` -> float32 [C, rows, cols], with the field's
    octaves mixed in; ``key_of(stream)`` gives the 64-bit key of a named stream."""
    own = hashed_normal(key_of(spec.name), cells, spec.channels)
    if not spec.octaves:
        return own
    z = own.astype(np.float64) * math.sqrt(1.0 - sum(share for _, _, share in spec.octaves))
    xs, ys = np.arange(cells.x0, cells.x1), np.arange(cells.y0, cells.y1)
    for k, (step_x, step_y, share) in enumerate(spec.octaves):
        ax0, ax1, tx = _octave_axis(xs, step_x)
        ay0, ay1, ty = _octave_axis(ys, step_y)
        cx0, cy0 = int(ax0.min()), int(ay0.min())
        coarse = hashed_normal(key_of(f"{spec.name}/octave{k}"),
                               CellRange(cx0, cy0, int(ax1.max()) + 1, int(ay1.max()) + 1), spec.channels)
        acc, norm = 0.0, 0.0
        for ay, wy in ((ay0, 1.0 - ty), (ay1, ty)):
            for ax, wx in ((ax0, 1.0 - tx), (ax1, tx)):
                w = wy[:, None] * wx[None, :]
                acc = acc + coarse[:, (ay - cy0)[:, None], (ax - cx0)[None, :]] * w
                norm = norm + w * w
        z += math.sqrt(share) * acc / np.sqrt(norm)
    return z.astype(np.float32)


class HashedLatents:
    """The seeded lattice itself: a LatentSource with no edits."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._keys: dict[str, int] = {}

    def key(self, field: str) -> int:
        k = self._keys.get(field)
        if k is None:
            k = self._keys[field] = stream_key(self.seed, field)
        return k

    def cells(self, spec: FieldSpec, cells: CellRange) -> np.ndarray:
        return coherent_normal(self.key, spec, cells)
