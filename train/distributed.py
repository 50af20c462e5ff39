"""torch.distributed: one process per device under torchrun (gloo on CPU, NCCL on GPU), for training
and for rendering (`render`, `export` split tile rows among the ranks: renderer/rank_rows.py).

Gradients are averaged with one all-reduce per network after backward, as StyleGAN2-ADA does,
rather than through the DistributedDataParallel wrapper: R1 differentiates D's gradient (double
backward), which the wrapper's reducer hooks do not support.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistEnv:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


def launched_world_size() -> int:
    """How many processes torchrun started (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def setup(device: str, timeout: timedelta | None = None) -> DistEnv:
    """Join the torchrun process group when launched by torchrun; ``device`` is cpu, cuda or auto;
    ``timeout``: how long a collective may wait for the slowest process (default: torch's)."""
    world = launched_world_size()
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(f"cuda:{local}" if device == "cuda" else device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", timeout=timeout)
        if dev.type == "cpu":  # processes on one machine share its cores
            local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    return DistEnv(rank, world, local, dev)


def all_reduce_mean(env: DistEnv, tensors: list[torch.Tensor]) -> None:
    """Average tensors across processes in place (one flat all-reduce); non-finite values become 0."""
    if not tensors:
        return
    flat = torch.cat([t.detach().reshape(-1).float() for t in tensors])
    if env.active:
        dist.all_reduce(flat)
        flat /= env.world_size
    torch.nan_to_num_(flat, nan=0.0, posinf=0.0, neginf=0.0)
    i = 0
    for t in tensors:
        t.copy_(flat[i:i + t.numel()].view_as(t))
        i += t.numel()


def sync_gradients(env: DistEnv, module: torch.nn.Module) -> None:
    """Average the gradients of ``module`` over processes (missing gradients count as zero)."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    all_reduce_mean(env, [p.grad for p in params])


def broadcast_module(env: DistEnv, module: torch.nn.Module) -> None:
    """Make every process hold rank 0's parameters and buffers."""
    if env.active:
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def agree_max(env: DistEnv, flags: list[int]) -> list[int]:
    """Element-wise maximum of small integer flags over processes (stop / tick decisions)."""
    if not env.active:
        return flags
    t = torch.tensor(flags, dtype=torch.int64, device=env.device if env.device.type == "cuda" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [int(v) for v in t.tolist()]


def all_reduce_sum(env: DistEnv, values: torch.Tensor) -> torch.Tensor:
    """Sum a CPU tensor over processes (NCCL reduces on the GPU)."""
    if env.active:
        t = values.to(env.device, copy=True)
        dist.all_reduce(t)
        values = t.cpu()
    return values


def barrier(env: DistEnv) -> None:
    if env.active:
        dist.barrier()


def teardown(env: DistEnv) -> None:
    if env.active and dist.is_initialized():
        dist.destroy_process_group()
