"""Mixed precision of a training step (--amp): which lower precision autocast uses, on which device.

bf16 autocast runs on the CPU too (oneDNN's bf16 kernels, 1.2-1.3x the fp32 step on the 2-core
development machine: benchmarks/train_speed.py), but only when asked for: continued in bf16, the
built-in run drifted where the same state in fp32 first improved, then drifted too (README,
Training). fp16 needs a GPU's loss scaling.
"""

from __future__ import annotations

import contextlib

import torch

from infiniscape.models.errors import UserError


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The dtype `--amp` asks for on `device`, or None for full precision. auto: bf16 (fp16 where the GPU
    lacks bf16) on a GPU, off on the CPU."""
    cuda = device.type == "cuda"
    if amp == "off" or (amp == "auto" and not cuda):
        return None
    if amp == "fp16" and not cuda:
        raise UserError("--amp fp16 needs a GPU: on the CPU use --amp bf16 (or off)")
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def autocast(device: torch.device, dtype: torch.dtype | None):
    """torch.autocast on `device` in `dtype`; a no-op context for None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)
