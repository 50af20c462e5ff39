"""How many windows (tiles, frames) one forward pass computes, and the loop that renders windows in passes.

oneDNN picks batch-size-dependent kernels on the CPU, which changes the last bits of a result; there every
window is computed alone, so a tile is bit-identical in any batch. On a GPU windows really are batched
(throughput first; agreement ~1e-6).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import torch


def per_pass(device: torch.device, gpu: int | None = None) -> int | None:
    """Windows per forward pass on ``device``: one on the CPU, else ``gpu`` (None: all of them)."""
    return 1 if device.type == "cpu" else gpu


def passes(n: int, batch: int | None) -> list[slice]:
    """Slices of n items, ``batch`` per forward pass (None: all in one)."""
    step = max(1, batch or n)
    return [slice(i, i + step) for i in range(0, n, step)]


def render_in_passes(inputs: list, forward: Callable[[list], torch.Tensor],
                     crop: Callable[[torch.Tensor, object], torch.Tensor], batch: int | None,
                     shape: Callable[[object], Hashable] | None = None) -> torch.Tensor:
    """Windows' outputs stacked in input order: windows of one ``shape`` key go through ``forward`` together,
    ``batch`` per pass; ``crop(output, input)`` cuts each window out of its forward output."""
    out: list[torch.Tensor | None] = [None] * len(inputs)
    groups: dict[Hashable, list[int]] = {}
    for i, inp in enumerate(inputs):
        groups.setdefault(shape(inp) if shape else None, []).append(i)
    for idx in groups.values():
        for part in passes(len(idx), batch):
            ids = idx[part]
            rgb = forward([inputs[i] for i in ids])
            for j, i in enumerate(ids):
                out[i] = crop(rgb[j], inputs[i])
    return torch.stack(out)
