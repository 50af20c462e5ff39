"""The run directory: what a training run leaves for the studio, a terminal and `--resume` to read.

    config.yaml      every option of the run
    stats.jsonl      one JSON object per tick
    metrics.jsonl    one JSON object per metrics evaluation
    samples/         fixed-seed sample grids and wide strips (PNG)
    snapshots/       state-NNNNNNNNN.pt (full training state) + G_ema-NNNNNNNNN.pt (renderable)
    status.json      state (running / done / failed / stopped), pid, progress, ETA, error
    log.txt          human-readable log

Every file that is replaced is written to a temporary name, flushed to disk and renamed, so a
process killed at any moment leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from pathlib import Path

import torch
import yaml

from infiniscape.models.errors import UserError
from infiniscape.models.files import is_disk_full, remove, write_error
from infiniscape.models.registry import save_checkpoint

from .run_reader import (
    CONFIG,
    G_EMA,
    SAMPLES,
    SNAPSHOTS,
    STATE,
    STATUS,
    glob_of,
    newest_snapshot,
    read_config,
    read_jsonl,
    read_status,
)

STATE_FORMAT = "infiniscape-train-state-v1"
TMP_SUFFIX = ".tmp"


def _fsync_replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    try:  # make the rename itself durable (not possible on every platform)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + TMP_SUFFIX)
    tmp.write_bytes(data)
    _fsync_replace(tmp, path)


class RunDir:
    """Writer (and resume reader) of one run directory. Only rank 0 writes."""

    def __init__(self, path: str | os.PathLike, keep_snapshots: int = 5):
        self.path = Path(path)
        self.keep = max(1, int(keep_snapshots))
        self.samples = self.path / SAMPLES
        self.snapshots = self.path / SNAPSHOTS

    def create(self) -> None:
        for d in (self.path, self.samples, self.snapshots):
            d.mkdir(parents=True, exist_ok=True)

    # -- small files ----------------------------------------------------------------------------
    def write_config(self, options: dict) -> None:
        write_atomic(self.path / CONFIG, yaml.safe_dump(options, sort_keys=False).encode())

    def read_config(self) -> dict:
        return read_config(self.path)

    def write_status(self, **fields) -> None:
        status = {"pid": os.getpid(), "updated": time.time(), **fields}
        data = json.dumps(status, indent=1).encode()
        try:
            write_atomic(self.path / STATUS, data)
        except OSError:
            if fields.get("state") not in ("failed", "stopped", "done"):
                raise
            # the final word on a full disk: no room for a second file, so rewrite the old one in
            # place (its own blocks are freed by the truncation)
            (self.path / (STATUS + TMP_SUFFIX)).unlink(missing_ok=True)
            with open(self.path / STATUS, "r+b") as f:
                f.truncate(0)
                f.write(data)

    def read_status(self) -> dict | None:
        return read_status(self.path)

    def append(self, name: str, record: dict) -> None:
        with open(self.path / name, "a") as f:
            f.write(json.dumps(record) + "\n")

    def truncate_after(self, name: str, kimg: float) -> None:
        """Drop records past ``kimg`` (work lost by a kill that a resume redoes), atomically."""
        path = self.path / name
        if path.exists():
            kept = [r for r in read_jsonl(path) if r.get("kimg", 0) <= kimg + 1e-9]
            write_atomic(path, "".join(json.dumps(r) + "\n" for r in kept).encode())

    def log(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with open(self.path / "log.txt", "a") as f:
            f.write(f"{stamp} {message}\n")

    # -- snapshots ------------------------------------------------------------------------------
    def snapshot_paths(self, nimg: int) -> tuple[Path, Path]:
        return self.snapshots / STATE.format(nimg=nimg), self.snapshots / G_EMA.format(nimg=nimg)

    def save_snapshot(self, nimg: int, state: dict, g_ema, extra: dict | None = None) -> Path:
        """G_ema checkpoint first, then the state file: a state file's presence means both are whole.
        ``extra`` joins the checkpoint's record (the training frames, say)."""
        state_path, g_path = self.snapshot_paths(nimg)
        save_checkpoint(g_ema, g_path, extra={"kimg": nimg / 1000, "run": str(self.path), **(extra or {})})
        tmp = state_path.with_name(state_path.name + TMP_SUFFIX)
        try:
            torch.save({"format": STATE_FORMAT, **state}, tmp)
            _fsync_replace(tmp, state_path)
        except BaseException as e:  # the earlier snapshots stay; nothing half-written does
            remove(tmp)
            remove(g_path)
            if isinstance(e, OSError) or is_disk_full(e):
                raise write_error(e, state_path) from None
            raise
        for old in self._states()[:-self.keep]:
            old.unlink(missing_ok=True)
            self.snapshot_paths(int(old.stem.split("-")[1]))[1].unlink(missing_ok=True)
        return g_path

    def _states(self) -> list[Path]:
        return sorted(self.snapshots.glob(glob_of(STATE)))

    def load_newest_state(self) -> dict | None:
        """The newest state file that loads, after removing leftovers of an interrupted write."""
        for tmp in self.snapshots.glob("*" + TMP_SUFFIX):
            tmp.unlink(missing_ok=True)
        states = self._states()
        newest = int(states[-1].stem.split("-")[1]) if states else -1
        for g in self.snapshots.glob(glob_of(G_EMA)):  # written just before a kill, without its state
            if int(g.stem.split("-")[1]) > newest:
                g.unlink(missing_ok=True)
        for path in reversed(states):
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as e:  # noqa: BLE001 - any unreadable file: fall back to an older one
                self.log(f"skipping unreadable snapshot {path.name}: {e}")
                continue
            if isinstance(state, dict) and state.get("format") == STATE_FORMAT:
                return state
        return None

    def newest_g_ema(self) -> Path | None:
        return newest_snapshot(self.path)


def record_failure(run: RunDir, error: BaseException) -> str:
    """Write state "failed" with a one-line error (and the traceback to log.txt); returns the line.
    Each write is tried on its own: on a full disk the log may fail and the status still lands."""
    if isinstance(error, UserError):
        line = str(error)
    else:
        text = str(error).strip()
        line = f"{type(error).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")
    for write in (lambda: run.log("failed:\n" + "".join(traceback.format_exception(error))),
                  lambda: run.write_status(state="failed", error=line)):
        try:
            write()
        except OSError:
            pass
    return line
