"""InfinityGAN's `logs/<exp>/` folders, as far as its trainer writes plain files (train.py):

    <exp>.yaml                  a copy of the config (train_params.iter, batch_size; log_params.save_tick)
    ckpt/inter_<ITER:08d>.pth.tar   torch.save dicts (g_ema inside), every save_tick iterations, newest 2 kept
    ckpt/best_fid.pth.tar       the same, on each FID improvement
    error-log.txt               the exception and its traceback when training failed (removed at start)
    codes/                      a copy of the source tree
    events.out.tfevents.*       every loss, FID and image: TensorBoard only

So there are no curves and no sample grids to show here (they exist only as TensorBoard events);
the state, progress and checkpoints are read, and a checkpoint opens in the canvas.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import yaml

from infiniscape.run_view import RunSummary, RunView, duration, newest_mtime, read_tail, tail_lines

FORMAT = "infinitygan"
INTER = re.compile(r"inter_(\d+)\.pth\.tar$")
ERROR_LOG = "error-log.txt"
QUIET_S = 1800.0  # TensorBoard flushes every 2 min and a checkpoint comes every save_tick iterations
NOTE = "InfinityGAN logs its losses, FID and images to TensorBoard only: tensorboard --logdir {path}"


def is_run(path: Path) -> bool:
    path = Path(path)
    return ((path / "ckpt").is_dir() or (path / ERROR_LOG).is_file()
            or (any(path.glob("events.out.tfevents.*")) and any(path.glob("*.yaml"))))


def checkpoints(path: Path) -> tuple[Path, ...]:
    """best_fid, then inter_* by iteration, so the newest is last (Open in canvas loads any)."""
    ckpt = Path(path) / "ckpt"
    inter = sorted((int(m.group(1)), p) for p in ckpt.glob("inter_*.pth.tar") if (m := INTER.search(p.name)))
    best = [ckpt / "best_fid.pth.tar"] if (ckpt / "best_fid.pth.tar").is_file() else []
    return tuple(best) + tuple(p for _, p in inter)


def newest_iter(path: Path) -> int | None:
    found = [int(m.group(1)) for p in (Path(path) / "ckpt").glob("inter_*.pth.tar")
             if (m := INTER.search(p.name))]
    return max(found, default=None)


def read_config(path: Path) -> dict:
    """The config copy: `<exp>.yaml` (the folder is named after it), else any yaml in the folder."""
    path = Path(path)
    for cand in [path / f"{path.name}.yaml", *sorted(path.glob("*.yaml"))]:
        try:
            cfg = yaml.safe_load(cand.read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(cfg, dict):
            return cfg
    return {}


def _number(cfg: dict, section: str, key: str) -> float | None:
    sec = cfg.get(section)
    value = sec.get(key) if isinstance(sec, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def read_run(path: Path) -> tuple[str, str | None, dict]:
    """(state, error, status): crashed when error-log.txt is there (its first line is the error);
    running while files change; finished when the newest checkpoint is the last one the iteration
    count allows; else stalled."""
    path = Path(path)
    cfg = read_config(path)
    it, total = newest_iter(path), _number(cfg, "train_params", "iter")
    batch, save_tick = _number(cfg, "train_params", "batch_size"), _number(cfg, "log_params", "save_tick")
    status: dict = {}
    if it is not None:
        status["iter"] = it
        if batch:
            status["kimg"] = it * batch / 1000
    if total and batch:
        status["total_kimg"] = total * batch / 1000
        if it is not None:
            status["progress"] = min(1.0, it / total)
    error_text = read_tail(path / ERROR_LOG, 4096)
    quiet = time.time() - updated(path)
    if error_text.strip():
        return "crashed", error_text.strip().splitlines()[0], status
    if quiet < QUIET_S:
        return "running", None, status
    if it is not None and total and it + (save_tick or 0) >= total:
        return "finished", None, status
    return "stalled", f"no output for {duration(quiet)}: killed, preempted or hung", status


def updated(path: Path) -> float:
    """Newest write: TensorBoard events, checkpoints, the error log."""
    path = Path(path)
    files = [path, path / ERROR_LOG, *path.glob("events.out.tfevents.*")]
    if (path / "ckpt").is_dir():
        files += [path / "ckpt", *(path / "ckpt").iterdir()]
    return newest_mtime(files) or 0.0


def summary(path: Path) -> RunSummary:
    state, _, status = read_run(path)
    ckpts = checkpoints(path)
    return RunSummary(Path(path), state, status.get("kimg"), status.get("total_kimg"), updated(path), FORMAT,
                      None, ckpts[-1] if ckpts else None)


class Watcher:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.chosen_grid = None  # no grids: kept for the panel's one interface

    def poll(self) -> RunView:
        state, error, status = read_run(self.path)
        tail = tail_lines(self.path, ("console.txt", ERROR_LOG))
        return RunView(self.path, state, error, status, FORMAT, snapshots=checkpoints(self.path), tail=tail,
                       about=_about(read_config(self.path), status), note=NOTE.format(path=self.path))


def _about(cfg: dict, status: dict) -> str:
    parts = []
    if "iter" in status:
        parts.append(f"iteration {status['iter']}")
    if (batch := _number(cfg, "train_params", "batch_size")) is not None:
        parts.append(f"batch {batch:g}")
    return ", ".join(parts)
