"""infiniscape's own training runs, without any GUI: launch `infiniscape train` as a subprocess,
ask it to stop cleanly, and read its run directories incrementally (the other formats:
sg2ada_runs, infinitygan_runs, command_runs; all of them listed by run_list).

Everything shown comes from the run directory (status.json, stats.jsonl, metrics.jsonl, samples/,
snapshots/, log.txt, read through train/run_reader.py beside their writer), so runs started from a
terminal or by torchrun look the same as runs the studio launched. A launched run also gets
``console.txt``: the command line, then the process's
stdout + stderr, which holds the error of a run that failed before writing any status.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from dataclasses import field, make_dataclass
from pathlib import Path

import numpy as np

from infiniscape.models.errors import UserError
from infiniscape.run_view import GridReader, JsonlTail, RunSummary, RunView, columns, last_record, tail_lines
from infiniscape.train.options import OPTIONS, flag, to_text
from infiniscape.train.options import help_text as help_text  # the form's inputs read these two
from infiniscape.train.options import value_type as value_type
from infiniscape.train.run_reader import (
    CONFIG,
    METRICS,
    STATS,
    STATUS,
    newest_snapshot,
    read_status,
    sample_grids,
    snapshots,
)

CONSOLE = "console.txt"
RUN_MARKERS = (CONFIG, STATUS, CONSOLE)  # any of these makes a folder a run
STATE_OF_STATUS = {"done": "finished", "stopped": "stopped", "failed": "crashed"}
X_AXES = {"kimg": "kimg", "step": "step"}


# The options the Training panel offers (widgets/training_forms.py lays them out); their types,
# defaults, choices and help are TrainOptions' (train/options.py), the panel's own default where one
# is declared there (a short run, live curves).
FORM_OPTIONS = ("data", "config", "resolution", "batch", "loss", "y_extent", "scene_height", "kimg",
                "snapshot_kimg", "seed", "lr", "r1_gamma", "tick_kimg", "tick_seconds", "device")


class _TrainCommand:
    """What the Training panel does with its form (TrainForm, below): the train command."""

    def out_dir(self) -> Path:
        root = Path(self.root).expanduser()
        return root / (self.name.strip() or next_run_name(root, self.config, self.data))

    def argv(self, out: Path) -> list[str]:
        """The data, config and run folder, then every other option that is not the CLI's default."""
        if not self.data.strip():
            raise UserError("no training data: type a folder or .zip, or 'procedural'")
        if not self.config.strip():
            raise UserError("no config: pick tiny, small, default, landscape or a .yaml file")
        args = [sys.executable, "-m", "infiniscape", "train", "--data", self.data.strip(),
                "--config", self.config.strip(), "--out", str(out)]
        for name in FORM_OPTIONS:
            value = getattr(self, name)
            if name not in ("data", "config") and value != OPTIONS[name].default:
                args += [flag(name), to_text(value)]
        return args + ["--quiet"]


TrainForm = make_dataclass(
    "TrainForm",
    [*((n, OPTIONS[n].type, field(default=OPTIONS[n].metadata.get("panel", OPTIONS[n].default)))
       for n in FORM_OPTIONS),
     ("root", str, field(default="runs")),  # the runs folder
     ("name", str, field(default=""))],  # run folder name; empty: the next NNNNN-config-data
    bases=(_TrainCommand,), namespace={"__module__": __name__})


def next_run_name(root: Path, config: str, data: str) -> str:
    """``NNNNN-config-data`` numbered after the runs already in ``root`` (StyleGAN's scheme)."""
    data_tag = "procedural" if data.strip().startswith("procedural") else Path(data.strip()).stem
    return f"{next_run_number(root):05d}-{Path(config.strip()).stem}-{data_tag or 'data'}"


def next_run_number(root: Path) -> int:
    """1 + the largest NNNNN prefix among the folders in ``root`` (0 when there are none)."""
    numbers = [int(p.name[:5]) for p in Path(root).glob("[0-9][0-9][0-9][0-9][0-9]*") if p.name[:5].isdigit()]
    return max(numbers, default=-1) + 1


class TrainingProcess:
    """One child process with its console captured to ``console.txt`` in ``out``: `infiniscape
    train`, or a custom command (command_runs). Its own session: closing the studio (or Ctrl-C in
    its terminal) does not stop it; the panel finds the run again in the runs list."""

    def __init__(self, argv: list[str], out: Path, env: dict | None = None, cwd: Path | None = None,
                 shown: list[str] | None = None, stop_group: bool = False):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ if env is None else env)
        if not stop_group:  # our trainer: leave a core to the studio's UI thread and tile renderer
            env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) - 1)))
        env["PYTHONUNBUFFERED"] = "1"
        self.stop_group = stop_group  # Stop signals the whole process group (a command's workers)
        with open(self.out / CONSOLE, "wb") as f:
            f.write(f"$ {shlex.join(shown or argv)}\n".encode())
            f.flush()
            self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                          env=env, cwd=cwd, start_new_session=True)
        self.pid = self.popen.pid
        self.stop_requested = False

    def exit_code(self) -> int | None:
        return self.popen.poll()  # also reaps the child, so a finished run is no zombie

    def stop(self) -> None:
        """SIGTERM: the trainer finishes its step, writes a final snapshot and status "stopped"."""
        self.stop_requested = True
        if self.exit_code() is None:
            if self.stop_group:
                os.killpg(self.pid, signal.SIGTERM)  # its own session: the group is the child's own
            else:
                self.popen.send_signal(signal.SIGTERM)


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, OverflowError):
        return False
    except PermissionError:
        return True  # alive, under another user
    return True


def _is_trainer(pid: int) -> bool:
    """Whether ``pid`` runs `infiniscape train` (guards against a reused pid); True where unknowable."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not Path("/proc/self").exists()
    return b"infiniscape" in cmd and b"train" in cmd


def run_state(status: dict | None, alive: bool, has_config: bool = False) -> tuple[str, str | None]:
    """(state, error) from status.json and whether the run's process lives: running, starting,
    finished, stopped, crashed, or killed (status "running" but its process is gone: only a kill
    ends the trainer without a final status)."""
    s = (status or {}).get("state")
    if s in STATE_OF_STATUS:
        state = STATE_OF_STATUS[s]
        return state, ((status.get("error") or "failed: see log.txt") if state == "crashed" else None)
    if s == "running":
        if alive:
            return "running", None
        return "killed", f"process {status.get('pid')} ended without a final status; --resume continues it"
    if alive:
        return ("running" if has_config else "starting"), None
    return "starting", None  # no status yet and no process known to us: a run not yet ticking


def state_of(path: Path, status: dict | None, proc: TrainingProcess | None) -> tuple[str, str | None]:
    """``run_state`` of a run directory, with what the studio knows of a process it launched."""
    has_config = (Path(path) / CONFIG).exists()
    if proc is None:
        return run_state(status, pid_alive((status or {}).get("pid")), has_config)
    code = proc.exit_code()
    if code is None or (status or {}).get("state") in STATE_OF_STATUS:
        return run_state(status, code is None, has_config)
    if proc.stop_requested and code in (0, -signal.SIGTERM):
        return "stopped", None  # stopped before the trainer was listening for SIGTERM
    if code < 0:
        return "killed", f"killed by signal {-code}"
    return "crashed", (None if code else "exited without a final status")  # None: the console tells


class RunWatcher:
    """Reads one run directory; ``poll`` returns a fresh RunView (only its tails are re-read)."""

    def __init__(self, path: Path, process: TrainingProcess | None = None):
        self.path, self.process = Path(path), process
        self.stats = JsonlTail(self.path / STATS)
        self.metrics = JsonlTail(self.path / METRICS)
        self._stats_cols: dict = {}
        self._metrics: dict = {}
        self.grids = GridReader()
        self.chosen_grid: Path | None = None  # None: the newest

    def poll(self) -> RunView:
        if self.stats.poll():
            self._stats_cols = columns(self.stats.records)
        if self.metrics.poll():
            self._metrics = metric_curves(columns(self.metrics.records))
        status = read_status(self.path)
        state, error = state_of(self.path, status, self.process)
        tail = tail_lines(self.path)
        if state == "crashed" and error is None:
            error = next((t for t in reversed(tail) if t.strip()), "crashed: see log.txt")
        grids = sample_grids(self.path)
        grid_path, grid = self.grids.show(grids, self.chosen_grid)
        return RunView(self.path, state, error, status or {}, "infiniscape", self._stats_cols,
                       {k: v for k, v in X_AXES.items() if v in self._stats_cols}, self._metrics,
                       grids, grid_path, grid, snapshots(self.path), tail)


def metric_curves(cols: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """metrics.jsonl's columns as {metric: (kimg, value)}, evaluations without it left out."""
    if "kimg" not in cols:
        return {}
    out = {}
    for k, v in cols.items():
        ok = np.isfinite(v) & np.isfinite(cols["kimg"])
        if k != "kimg" and ok.any():
            out[k] = (cols["kimg"][ok], v[ok])
    return out


def is_run(path: Path) -> bool:
    return any((Path(path) / m).exists() for m in RUN_MARKERS)


def summary(path: Path, process: TrainingProcess | None = None) -> RunSummary:
    status = read_status(path)
    s = status or {}
    metrics = last_record(Path(path) / METRICS) or {}
    metric = next((f"{k} {v:.4g}" for k, v in metrics.items() if k not in ("kimg", "step")
                   and isinstance(v, (int, float)) and not isinstance(v, bool)), None)
    return RunSummary(path, state_of(path, status, process)[0], s.get("kimg"), s.get("total_kimg"),
                      _mtime(path), "infiniscape", metric, newest_snapshot(path))


def stop(path: Path) -> str:
    """SIGTERM to the pid in status.json of a run started elsewhere (a terminal, torchrun)."""
    status = read_status(path) or {}
    pid = status.get("pid")
    if status.get("state") != "running" or not pid_alive(pid):
        raise UserError(f"{path.name} is not running")
    if not _is_trainer(pid):
        raise UserError(f"process {pid} of {path.name} is not `infiniscape train`: not stopping it")
    os.kill(pid, signal.SIGTERM)
    return f"stopping {path.name} (process {pid}): it writes a final snapshot first"


def _mtime(path: Path) -> float:
    times = [(path / m).stat().st_mtime for m in RUN_MARKERS if (path / m).exists()]
    return max(times, default=0.0)
