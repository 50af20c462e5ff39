"""Real frames in the order a run shows them: a pure function of the image position, so a resumed
run (or another process of it) reads exactly the images a straight run would.

With ``workers`` the frames are rendered (procedural) or decoded (a folder) by that many processes,
and the next step's frames while this step trains: on a GPU one core cannot keep up (the procedural
source makes ~260 frames of 128 px a second on one core of this CPU: benchmarks/procedural_speed.py)."""

from __future__ import annotations

import math
import multiprocessing
import signal

import numpy as np
import torch

from infiniscape.models.errors import UserError

WORKER_TIMEOUT_S = 300  # a batch of frames takes well under a second; no answer means a worker died
_dataset = None  # a worker process's dataset, inherited at fork


def _start_worker(dataset) -> None:
    global _dataset
    _dataset = dataset
    for s in (signal.SIGINT, signal.SIGTERM):  # a Ctrl-C or `timeout` reaches the whole process group:
        signal.signal(s, signal.SIG_IGN)  # the training process finishes its step, then closes the pool


def _image(index: int) -> np.ndarray:
    return _dataset[index]


class RealStream:
    """Real frames by global image position: position p is image p of the procedural source, or
    image perm_e[p mod n] of a folder, perm_e a seeded permutation per epoch e = p // n."""

    def __init__(self, dataset, seed: int, workers: int = 0):
        self.dataset, self.seed, self.workers = dataset, seed, workers
        self.infinite = len(dataset) >= 2**31
        self._perm: tuple[int, np.ndarray] | None = None
        self._pool = None
        self._ahead: tuple[int, int, multiprocessing.pool.AsyncResult] | None = None

    def index(self, p: int) -> int:
        if self.infinite:
            return p
        n = len(self.dataset)
        epoch = p // n
        if self._perm is None or self._perm[0] != epoch:
            self._perm = (epoch, np.random.default_rng([self.seed, epoch]).permutation(n))
        return int(self._perm[1][p % n])

    def images(self, start: int, count: int, next_start: int | None = None) -> np.ndarray:
        """Images at positions start .. start + count - 1 as uint8 [N, R, R, 3]; with workers,
        ``next_start``'s ``count`` images are rendered meanwhile for the next call."""
        if not self.workers:
            return np.stack([self.dataset[self.index(p)] for p in range(start, start + count)])
        ahead, self._ahead = self._ahead, None
        job = ahead[2] if ahead is not None and ahead[:2] == (start, count) else self._submit(start, count)
        try:
            out = job.get(timeout=WORKER_TIMEOUT_S)
        except multiprocessing.TimeoutError:
            raise UserError(f"the real-frame workers gave no frames in {WORKER_TIMEOUT_S} s (one was "
                            "killed?): resume the run, or with --data-workers 0") from None
        if next_start is not None:
            self._ahead = (next_start, count, self._submit(next_start, count))
        return np.stack(out)

    def _submit(self, start: int, count: int):
        if self._pool is None:
            # fork: the workers inherit the dataset (nothing pickled) and need no torch
            if "fork" not in multiprocessing.get_all_start_methods():
                raise UserError("--data-workers needs processes started by fork (Linux, macOS): "
                                "train with --data-workers 0 here")
            ctx = multiprocessing.get_context("fork")
            self._pool = ctx.Pool(self.workers, initializer=_start_worker, initargs=(self.dataset,))
        indices = [self.index(p) for p in range(start, start + count)]
        return self._pool.map_async(_image, indices, chunksize=math.ceil(count / self.workers))

    def close(self) -> None:
        """Stop the worker processes once the frames asked for are done (they ignore SIGTERM); a later
        call starts them again."""
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool, self._ahead = None, None


def to_tensor(images: np.ndarray, device) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [-1, 1]."""
    x = torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0
