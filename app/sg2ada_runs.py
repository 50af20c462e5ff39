"""Run directories of the StyleGAN2-ADA training loop, as StyleGAN3, ALIS, INR-GAN and Projected GAN
write them (facts: shared/reference/sg2ada-run-directories.md):

    training_options.json       the whole config, written once (total_kimg, batch_size, num_gpus, ...)
    log.txt                     stdout + stderr: one line per tick, metric lines, a traceback on a
                                crash, "Exiting..." at the end
    stats.jsonl                 one object per tick: {"<stat>": {"num", "mean", "std"}, ..., "timestamp"}
    metric-<name>.jsonl         one object per evaluation: results, snapshot_pkl, timestamp, ...
    reals / fakes_init / fakes<KIMG:06d>  .png (.jpg in ALIS and INR-GAN): sample grids
    network-snapshot-<KIMG:06d>.pkl       G, D, G_ema, augment_pipe, training_set_kwargs

No file says whether the run still lives: it is running while its files grow (or changed lately),
finished or crashed by log.txt's last lines, and "stalled" when it went quiet with neither.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from infiniscape.run_view import (
    GridReader,
    JsonlTail,
    RunSummary,
    RunView,
    as_number,
    columns,
    duration,
    last_record,
    newest_mtime,
    read_tail,
    tail_lines,
)
from infiniscape.train.run_reader import read_object

FORMAT = "sg2-ada"
OPTIONS = "training_options.json"
SNAPSHOT = re.compile(r"network-snapshot-(\d+)\.pkl$")
FAKES = re.compile(r"fakes(\d+)\.(png|jpg)$")
TICK = re.compile(r"^tick\s+(\d+)\s+kimg\s+([-\d.]+)")
EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b")  # "RuntimeError: CUDA out of ..."
QUIET_S = 1800.0  # no output for longer than this (and 3 ticks) and no ending in log.txt: stalled
EVAL_QUIET_S = 4 * 3600.0  # the same while evaluating metrics (FID of 50k images takes a while)
X_AXES = {"kimg": "Progress/kimg", "hours": "Timing/total_hours", "tick": "Progress/tick"}
LOG_TAIL_BYTES = 1 << 16  # a multi-GPU traceback is long: its header must be in what is read
SUMMARY_BYTES = 1 << 14  # the runs list reads less of each run (a stats line is ~2.5 kB)


def is_run(path: Path) -> bool:
    path = Path(path)
    return ((path / OPTIONS).is_file() or (path / "fakes_init.png").is_file()
            or (path / "fakes_init.jpg").is_file() or bool(snapshots(path)))


def _numbered(path: Path, pattern: str, regex: re.Pattern) -> list[Path]:
    """Files of ``pattern`` ordered by the number in their name (kimg)."""
    found = [(int(m.group(1)), p) for p in Path(path).glob(pattern) if (m := regex.search(p.name))]
    return [p for _, p in sorted(found)]


def snapshots(path: Path) -> tuple[Path, ...]:
    return tuple(_numbered(path, "network-snapshot-*.pkl", SNAPSHOT))


def grids(path: Path) -> tuple[Path, ...]:
    """fakes_init, then fakes<KIMG> by kimg (what the grid slider walks through)."""
    path = Path(path)
    init = [p for p in (path / "fakes_init.png", path / "fakes_init.jpg") if p.is_file()]
    return tuple(init + _numbered(path, "fakes*.*", FAKES))


def kimg_of(snapshot_pkl) -> float:
    """The kimg in a snapshot's name (network-snapshot-000400.pkl -> 400); NaN when there is none."""
    m = SNAPSHOT.search(str(snapshot_pkl or ""))
    return float(m.group(1)) if m else float("nan")


def flatten(rec: dict) -> dict:
    """A stats.jsonl record as {stat: mean} (timestamp kept as it is)."""
    return {k: (v.get("mean") if isinstance(v, dict) else v) for k, v in rec.items()}


def read_options(path: Path) -> dict:
    return read_object(Path(path) / OPTIONS) or {}


def log_ending(text: str) -> tuple[str, str | None] | None:
    """(state, error) from the end of log.txt when it tells how the run ended, else None:
    "Exiting..." is the loop's last word (after "Aborting..." when it was asked to stop); a
    traceback after the last tick is a crash, and its last unindented line names the error."""
    lines = [ln.rstrip() for ln in text.replace("\r", "\n").splitlines()]
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        return None
    last_tick = max((i for i, ln in enumerate(lines) if TICK.match(ln)), default=-1)
    trace = max((i for i, ln in enumerate(lines) if ln.startswith("Traceback (most recent call last)")),
                default=-1)
    error = None
    if trace > last_tick:
        error = next((ln for ln in reversed(lines[trace + 1:]) if not ln[:1].isspace()), lines[-1])
    elif last_tick < 0 and EXCEPTION.match(lines[-1]):  # a traceback longer than what was read
        error = lines[-1]
    if error is not None:
        if error.split(":")[0].endswith("KeyboardInterrupt"):
            return "stopped", None  # Ctrl-C in its terminal
        return "crashed", error.strip()
    if lines[-1] == "Exiting...":
        return ("stopped" if "Aborting..." in lines[-3:] else "finished"), None
    return None


def run_state(log_text: str, quiet_s: float, sec_per_tick: float | None, grew: bool = False
              ) -> tuple[str, str | None]:
    """(state, error): the ending log.txt tells; else running while its files change, stalled when
    they have been quiet for longer than ``QUIET_S`` and three ticks."""
    ending = log_ending(log_text)
    if ending is not None:
        return ending
    lines = [ln for ln in log_text.splitlines() if ln.strip()]
    evaluating = bool(lines) and lines[-1].startswith("Evaluating metrics")
    limit = max(EVAL_QUIET_S if evaluating else QUIET_S, 3 * (sec_per_tick or 0.0))
    if grew or quiet_s < limit:
        return "running", None
    return "stalled", f"no output for {duration(quiet_s)} and no end in log.txt: killed, preempted or hung"


def progress(options: dict, kimg: float | None, sec_per_kimg: float | None, state: str) -> dict:
    """The progress fields the panel shows for every format (see RunView.status)."""
    total = as_number(options.get("total_kimg"))
    out: dict = {}
    if kimg is not None and np.isfinite(kimg):
        out["kimg"] = kimg
    if np.isfinite(total) and total > 0:
        out["total_kimg"] = total
        if "kimg" in out:
            out["progress"] = min(1.0, out["kimg"] / total)
    if sec_per_kimg is not None and np.isfinite(sec_per_kimg):
        out["sec_per_kimg"] = round(sec_per_kimg, 2)
        if state == "running" and "progress" in out:
            out["eta_s"] = max(0.0, (total - out["kimg"]) * sec_per_kimg)
    return out


def about(options: dict) -> str:
    """One line from training_options.json: "networks_stylegan3.Generator, 8 GPUs, batch 32"."""
    g = options.get("G_kwargs") if isinstance(options.get("G_kwargs"), dict) else {}
    parts = [".".join(str(g.get("class_name", "")).split(".")[-2:])]
    if isinstance(options.get("num_gpus"), int):
        parts.append(f"{options['num_gpus']} GPU{'s' if options['num_gpus'] != 1 else ''}")
    if isinstance(options.get("batch_size"), int):
        parts.append(f"batch {options['batch_size']}")
    return ", ".join(p for p in parts if p)


def metric_line(path: Path) -> str | None:
    """The newest evaluation over all metric-*.jsonl files: "fid50k_full 12.3 (400 kimg)"."""
    newest = None
    for f in Path(path).glob("metric-*.jsonl"):
        rec = last_record(f)
        results = rec.get("results") if rec else None
        if isinstance(results, dict) and (newest is None or as_number(rec.get("timestamp")) > newest[0]):
            newest = (as_number(rec.get("timestamp")), results, kimg_of(rec.get("snapshot_pkl")))
    if newest is None:
        return None
    _, results, kimg = newest
    text = ", ".join(f"{k} {as_number(v):.4g}" for k, v in results.items())
    return text + (f" ({kimg:g} kimg)" if np.isfinite(kimg) else "")


def updated(path: Path, snaps: tuple[Path, ...], grid_files: tuple[Path, ...]) -> float:
    """When the loop last wrote: log, stats, metrics, the newest snapshot and grid."""
    path = Path(path)
    files = [path, path / "log.txt", path / "stats.jsonl", *path.glob("metric-*.jsonl"), *snaps[-1:],
             *grid_files[-1:]]
    return newest_mtime(files) or 0.0


def summary(path: Path) -> RunSummary:
    path = Path(path)
    options = read_options(path)
    last = flatten(last_record(path / "stats.jsonl", SUMMARY_BYTES) or {})
    kimg = as_number(last.get("Progress/kimg"))
    log = read_tail(path / "log.txt", SUMMARY_BYTES)
    if not np.isfinite(kimg):  # no stats line yet: the log's last tick line, if any
        ticks = [m for ln in log.splitlines() if (m := TICK.match(ln))]
        kimg = float(ticks[-1].group(2)) if ticks else float("nan")
    snaps = snapshots(path)
    changed = updated(path, snaps, grids(path))
    state, _ = run_state(log, time.time() - changed, as_number(last.get("Timing/sec_per_tick")))
    status = progress(options, kimg, None, state)
    return RunSummary(path, state, status.get("kimg"), status.get("total_kimg"), changed, FORMAT,
                      metric_line(path), snaps[-1] if snaps else None)


class Watcher:
    """Reads one SG2-ADA run directory incrementally; ``poll`` returns a fresh RunView."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.stats = JsonlTail(self.path / "stats.jsonl")
        self.metric_tails: dict[Path, JsonlTail] = {}
        self.grids = GridReader()
        self.chosen_grid: Path | None = None  # None: the newest
        self._cols: dict[str, np.ndarray] = {}
        self._metrics: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._sizes: tuple = ()

    def poll(self) -> RunView:
        if self.stats.poll():
            self._cols = columns([flatten(r) for r in self.stats.records], skip=("timestamp",))
        self._poll_metrics()
        options = read_options(self.path)
        log = read_tail(self.path / "log.txt", LOG_TAIL_BYTES)
        sizes = tuple(_size(self.path / n) for n in ("log.txt", "stats.jsonl"))
        grew, self._sizes = bool(self._sizes) and sizes != self._sizes, sizes
        all_grids, snaps = grids(self.path), snapshots(self.path)
        state, error = run_state(log, time.time() - updated(self.path, snaps, all_grids),
                                 self._last("Timing/sec_per_tick"), grew)
        status = progress(options, self._last("Progress/kimg"), self._last("Timing/sec_per_kimg"), state)
        grid_path, grid = self.grids.show(all_grids, self.chosen_grid)
        return RunView(self.path, state, error, status, FORMAT, self._cols,
                       {k: v for k, v in X_AXES.items() if v in self._cols}, self._metrics, all_grids,
                       grid_path, grid, snaps, tail_lines(self.path, ("log.txt",)),
                       about(options))

    def _last(self, stat: str) -> float | None:
        col = self._cols.get(stat)
        finite = col[np.isfinite(col)] if col is not None else ()
        return float(finite[-1]) if len(finite) else None

    def _poll_metrics(self) -> None:
        changed = False
        for f in sorted(self.path.glob("metric-*.jsonl")):
            changed |= self.metric_tails.setdefault(f, JsonlTail(f)).poll()
        if not changed:
            return
        curves: dict[str, tuple[list, list]] = {}
        for tail in self.metric_tails.values():
            for rec in tail.records:
                results = rec.get("results")
                if not isinstance(results, dict):
                    continue
                kimg = kimg_of(rec.get("snapshot_pkl"))
                for name, value in results.items():
                    if np.isfinite(kimg) and np.isfinite(as_number(value)):
                        xs, ys = curves.setdefault(str(name), ([], []))
                        xs.append(kimg)
                        ys.append(as_number(value))
        self._metrics = {k: (np.array(x), np.array(y)) for k, (x, y) in curves.items()}


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1
