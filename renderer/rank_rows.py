"""Tile rows shared among the ranks of a torch.distributed group (torchrun): rank r renders rows
r, r + N, r + 2N, ...; rank 0 receives the others' rows in order and alone writes the output.

Every rank passes the same sequence of status points, one all-reduce each: before each round of N
rows, and wherever a caller adds one. A rank that fails casts its vote at its next status point
instead (``vote_failed``), so every rank learns of the failure there and stops, and none waits on a
row that will never come. Memory: a rank holds its own row; rank 0 also one received row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np
import torch
import torch.distributed as dist

from ..models.errors import UserError


class Ranks(Protocol):
    """A process's place in the group (infiniscape.train.distributed.DistEnv is one)."""

    rank: int
    world_size: int
    device: torch.device


class RankFailed(Exception):
    """Another rank failed and reports the error; this one stops without a message."""

    def __init__(self, rank: int):
        super().__init__(f"rank {rank} failed")
        self.rank = rank


class SharedFailure(UserError):
    """An error every rank learned at the same status point: rank 0 reports it, nobody votes again."""


def is_writer(ranks: Ranks | None) -> bool:
    return ranks is None or ranks.rank == 0


def is_split(ranks: Ranks | None) -> bool:
    return ranks is not None and ranks.world_size > 1


# The last status point's collective, kept referenced: a gloo worker thread that dropped the last
# reference would free its tensor, which needs the GIL, and a thread cannot take the GIL once the
# interpreter is finalizing (std::terminate, SIGABRT at exit: seen under torchrun on a loaded CPU).
# A status point is every rank's last collective, and the ones before it were freed while it waited.
_last_status: list[dist.Work] = []


def _status(ranks: Ranks, failed: bool, check: int) -> tuple[int | None, bool]:
    """One status point -> (lowest failing rank or None, whether every rank passed the same check)."""
    n = ranks.world_size
    vote = [n - ranks.rank if failed else 0, check, -check]  # MAX of each: lowest failer, max, -min
    t = torch.tensor(vote, dtype=torch.int64, device=_comm_device(ranks))
    work = dist.all_reduce(t, op=dist.ReduceOp.MAX, async_op=True)
    work.wait()
    _last_status[:] = [work]
    first, high, neg_low = (int(v) for v in t.tolist())
    return (n - first if first else None), high == -neg_low


def agree(ranks: Ranks | None, check: int = 0, mismatch: str = "") -> None:
    """A status point where this rank succeeded: raises RankFailed when another rank failed, and when
    the ranks' ``check`` values differ, SharedFailure(mismatch) on rank 0 (RankFailed(0) elsewhere)."""
    if not is_split(ranks):
        return
    first, same = _status(ranks, False, check)
    if first is not None:
        raise RankFailed(first)
    if not same:
        if ranks.rank == 0:
            raise SharedFailure(mismatch)
        raise RankFailed(0)


def vote_failed(ranks: Ranks) -> int:
    """This rank failed: its vote at its next status point. Returns the lowest failing rank, the one
    that reports (this one when the others are gone and the vote cannot be cast)."""
    try:
        first, _ = _status(ranks, True, 0)
    except RuntimeError:  # a peer already left the group
        return ranks.rank
    return ranks.rank if first is None else first


def world_digest(world) -> int:
    """63 bits of a hash of what the world's pixels depend on: the scene, the edited lattice cells,
    the model's weights and buffers, class label and tile batch. Equal on every rank that will render
    the same pixels."""
    model, caps = world.model, world.model.capabilities
    what = (world.scene, model.class_idx if caps.class_label else None, world.tile_batch)
    h = hashlib.sha256(repr(what).encode())
    for block in world.latents().blocks:  # repr abbreviates large arrays
        h.update(np.ascontiguousarray(block.values).tobytes())
    for name, t in (model.generator.state_dict().items() if caps.layer_capture else ()):
        h.update(f"{name}{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return int.from_bytes(h.digest()[:8], "little") >> 1


def check_same_world(ranks: Ranks | None, world) -> None:
    """Every rank holds the same model weights and scene (a status point), else the output could not
    equal the single-process render."""
    agree(ranks, world_digest(world) if is_split(ranks) else 0,
          "the ranks loaded different worlds (model weights, scene, --class or --tile-batch differ): give "
          "every rank the same arguments, and on several nodes the same model and scene files")


def rows_on_ranks(ranks: Ranks, count: int, render: Callable[[int], np.ndarray],
                  shape: Callable[[int], tuple[int, ...]], dtype: np.dtype,
                  progress: Callable[[int], None] | None = None) -> Iterator[np.ndarray]:
    """Rows 0 .. count - 1 of an output, ``render(i)`` each on rank i % N; on rank 0 every row in
    order (``progress(1)`` each), on the others nothing. ``shape(i)`` and ``dtype``: row i's array.
    A writer that stops early closes the iterator (contextlib.closing), so that rank 0 still takes the
    rows other ranks are sending it and all meet at the next status point."""
    n, me = ranks.world_size, ranks.rank
    for start in range(0, count, n):
        mine = render(start + me) if start + me < count else None
        agree(ranks)
        if me != 0:
            if mine is not None:
                assert mine.shape == shape(start + me) and mine.dtype == dtype, (mine.shape, mine.dtype)
                dist.send(_to_comm(ranks, mine), dst=0)
            continue
        others = iter(range(start + 1, min(start + n, count)))
        try:
            yield mine
            if progress:
                progress(1)
            for i in others:
                yield _receive(ranks, i - start, shape(i), dtype)
                if progress:
                    progress(1)
        except GeneratorExit:  # the writer failed: take the round's rows still on their way, then stop
            for i in others:
                _receive(ranks, i - start, shape(i), dtype)
            raise


def _comm_device(ranks: Ranks) -> torch.device:
    return ranks.device if ranks.device.type == "cuda" else torch.device("cpu")  # NCCL: GPU, gloo: CPU


def _to_comm(ranks: Ranks, row: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(row)).to(_comm_device(ranks))


def _receive(ranks: Ranks, src: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    t = torch.empty(shape, dtype=torch.from_numpy(np.empty(0, dtype)).dtype, device=_comm_device(ranks))
    dist.recv(t, src=src)
    return t.cpu().numpy()
