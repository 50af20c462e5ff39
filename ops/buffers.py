"""Reused output buffers for large CPU activations.

A fresh tensor larger than glibc's mmap threshold (32 MB at most) is mapped anew on every call and each of
its pages is faulted in on first write: about 8 ms per 32 MB on this project's test machine, a tenth of a
StyleGAN2 256 px forward; smaller ones come from the heap, which glibc trims and faults in again after
another model in the process frees a lot. Ops that write their own output (NNPACK's convolution, the
up-conv low-pass, StyleGAN2's modulated weights) take it from here instead: a buffer of that shape that
nothing references any more is handed out again.

A buffer counts as free when no tensor but the pool's own holds its storage, so an output a caller keeps
(a returned image, a hooked activation, a numpy view) is never overwritten: the next call gets another.
Pools are per thread; each keeps at most MAX_PER_SHAPE buffers per shape, only shapes of at least
MIN_BYTES, and at most MAX_BYTES in all (a 1024 px generator's activations are hundreds of MB each: beyond
the cap they come fresh and are freed as before).
"""

from __future__ import annotations

import threading

import torch

MIN_BYTES = 1 << 20
MAX_PER_SHAPE = 4
MAX_BYTES = 512 << 20
_local = threading.local()


def _use_count(t: torch.Tensor) -> int:
    return torch._C._storage_Use_Count(t.untyped_storage()._cdata)


def empty(shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """An uninitialised contiguous CPU tensor of `shape`, from a reused buffer where one is free."""
    shape = tuple(int(s) for s in shape)
    nbytes = torch.Size(shape).numel() * dtype.itemsize
    if nbytes < MIN_BYTES:
        return torch.empty(shape, dtype=dtype)
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
        _local.kept_bytes = 0
    kept = pool.setdefault((shape, dtype), [])
    for base, alone in kept:
        if _use_count(base) == alone:
            return base.view(shape)  # a new tensor on the same storage: holding it marks the buffer used
    base = torch.empty(shape, dtype=dtype)
    if len(kept) < MAX_PER_SHAPE and _local.kept_bytes + nbytes <= MAX_BYTES:
        kept.append((base, _use_count(base)))
        _local.kept_bytes += nbytes
        return base.view(shape)
    return base


def clear() -> None:
    """Drop this thread's buffers (their memory returns once no caller holds them)."""
    _local.pool, _local.kept_bytes = {}, 0
