"""Training runs as the studio sees them, without any GUI: launch `infiniscape train` as a
subprocess, ask it to stop cleanly, and read run directories incrementally.

Everything shown comes from the run directory (status.json, stats.jsonl, metrics.jsonl, samples/,
snapshots/, log.txt), so runs started from a terminal or by torchrun look the same as runs the
studio launched. A launched run also gets ``console.txt``: the command line, then the process's
stdout + stderr, which holds the error of a run that failed before writing any status.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from infiniscape.models.errors import UserError

CONSOLE = "console.txt"
RUN_MARKERS = ("config.yaml", "status.json", CONSOLE)  # any of these makes a folder a run
STATE_OF_STATUS = {"done": "finished", "stopped": "stopped", "failed": "crashed"}
TAIL_LINES = 12


@dataclass
class TrainForm:
    """The options the Training panel offers; ``argv`` turns them into the train command."""

    data: str = "procedural"  # folder, zip or procedural[:SEED]
    config: str = "tiny"  # built-in config name or .yaml path
    resolution: int = 0  # frame size; 0: the config's tile size
    batch: int = 16
    loss: str = "stylegan2"  # or "projected" (Projected GAN: pretrained features, hinge, DiffAugment)
    y_extent: int = 0  # procedural: frames at every height within +-y_extent px of the horizon
    scene_height: int = 0  # procedural: landscapes laid out for frames this tall; 0: the frame size
    kimg: float = 100.0
    snapshot_kimg: float = 4.0
    seed: int = 0
    lr: float = 0.0025
    r1_gamma: float = -1.0  # < 0: the train command's default (0.0002 * R^2 / batch)
    tick_kimg: float = 1.0  # a stats line every N kimg ...
    tick_seconds: float = 10.0  # ... or every N seconds: live curves even on a slow CPU
    device: str = "auto"
    root: str = "runs"  # the runs folder
    name: str = ""  # run folder name; empty: the next NNNNN-config-data

    def out_dir(self) -> Path:
        root = Path(self.root).expanduser()
        return root / (self.name.strip() or next_run_name(root, self.config, self.data))

    def argv(self, out: Path) -> list[str]:
        if not self.data.strip():
            raise UserError("no training data: type a folder or .zip, or 'procedural'")
        if not self.config.strip():
            raise UserError("no config: pick tiny, small, default, landscape or a .yaml file")
        args = [sys.executable, "-m", "infiniscape", "train", "--data", self.data.strip(),
                "--config", self.config.strip(), "--out", str(out), "--batch", str(self.batch),
                "--kimg", f"{self.kimg:g}", "--snapshot-kimg", f"{self.snapshot_kimg:g}",
                "--seed", str(self.seed), "--lr", f"{self.lr:g}", "--tick-kimg", f"{self.tick_kimg:g}",
                "--tick-seconds", f"{self.tick_seconds:g}", "--device", self.device, "--quiet"]
        if self.loss != "stylegan2":
            args += ["--loss", self.loss]
        if self.y_extent > 0:
            args += ["--y-extent", str(self.y_extent)]
        if self.scene_height > 0:
            args += ["--scene-height", str(self.scene_height)]
        if self.resolution > 0:
            args += ["--resolution", str(self.resolution)]
        if self.r1_gamma >= 0:
            args += ["--r1-gamma", f"{self.r1_gamma:g}"]
        return args


def next_run_name(root: Path, config: str, data: str) -> str:
    """``NNNNN-config-data`` numbered after the runs already in ``root`` (StyleGAN's scheme)."""
    numbers = [int(p.name[:5]) for p in root.glob("[0-9][0-9][0-9][0-9][0-9]*") if p.name[:5].isdigit()]
    data_tag = "procedural" if data.strip().startswith("procedural") else Path(data.strip()).stem
    return f"{max(numbers, default=-1) + 1:05d}-{Path(config.strip()).stem}-{data_tag or 'data'}"


class TrainingProcess:
    """One `infiniscape train` child. Its own session: closing the studio (or Ctrl-C in its
    terminal) does not stop training; the panel finds the run again in the runs list."""

    def __init__(self, argv: list[str], out: Path, env: dict | None = None):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ if env is None else env)
        # leave a core to the studio's UI thread and tile renderer unless the user chose
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) - 1)))
        env["PYTHONUNBUFFERED"] = "1"
        with open(self.out / CONSOLE, "wb") as f:
            f.write(f"$ {shlex.join(argv)}\n".encode())
            f.flush()
            self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                          env=env, start_new_session=True)
        self.pid = self.popen.pid
        self.stop_requested = False

    def exit_code(self) -> int | None:
        return self.popen.poll()  # also reaps the child, so a finished run is no zombie

    def stop(self) -> None:
        """SIGTERM: the trainer finishes its step, writes a final snapshot and status "stopped"."""
        self.stop_requested = True
        if self.exit_code() is None:
            self.popen.send_signal(signal.SIGTERM)


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
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
    finished, stopped or crashed."""
    s = (status or {}).get("state")
    if s in STATE_OF_STATUS:
        state = STATE_OF_STATUS[s]
        return state, ((status.get("error") or "failed: see log.txt") if state == "crashed" else None)
    if s == "running":
        if alive:
            return "running", None
        return "crashed", f"process {status.get('pid')} ended without a final status (killed?)"
    if alive:
        return ("running" if has_config else "starting"), None
    return "starting", None  # no status yet and no process known to us: a run not yet ticking


def state_of(path: Path, status: dict | None, proc: TrainingProcess | None) -> tuple[str, str | None]:
    """``run_state`` of a run directory, with what the studio knows of a process it launched."""
    has_config = (Path(path) / "config.yaml").exists()
    if proc is None:
        return run_state(status, pid_alive((status or {}).get("pid")), has_config)
    code = proc.exit_code()
    if code is None or (status or {}).get("state") in STATE_OF_STATUS:
        return run_state(status, code is None, has_config)
    if proc.stop_requested and code in (0, -signal.SIGTERM):
        return "stopped", None  # stopped before the trainer was listening for SIGTERM
    return "crashed", (None if code else "exited without a final status")  # None: the console tells


class JsonlTail:
    """Records of an append-only JSONL file, read from where the last read stopped. A torn last
    line (being written, or left by a kill) waits for its newline; a rewritten file (a resume
    truncates it atomically) is read again from the start."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.records: list[dict] = []
        self._offset, self._pending, self._inode = 0, b"", None

    def poll(self) -> bool:
        """Read what was appended; True when ``records`` changed."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            changed = bool(self.records)
            self.__init__(self.path)
            return changed
        changed = False
        if st.st_ino != self._inode or st.st_size < self._offset:
            changed = bool(self.records)
            self.records, self._offset, self._pending, self._inode = [], 0, b"", st.st_ino
        if st.st_size == self._offset:
            return changed
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        self._offset += len(data)
        *lines, self._pending = (self._pending + data).split(b"\n")
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line torn by a kill, followed by a resumed run's lines
            if isinstance(rec, dict):
                self.records.append(rec)
                changed = True
        return changed


def columns(records: list[dict]) -> dict[str, np.ndarray]:
    """Per-key float arrays over the records (missing or null values are NaN)."""
    keys = [k for k in dict.fromkeys(k for r in records for k in r) if k != "step"]
    out = {}
    for k in keys:
        vals = [r.get(k) for r in records]
        if all(v is None or isinstance(v, (int, float)) for v in vals):
            out[k] = np.array([np.nan if v is None else float(v) for v in vals], np.float64)
    return out


@dataclass(frozen=True)
class RunView:
    """What the panel shows of one run, read at one moment (built off the UI thread)."""

    path: Path
    state: str
    error: str | None
    status: dict
    stats: dict[str, np.ndarray] = field(default_factory=dict)  # columns of stats.jsonl
    metrics: dict[str, np.ndarray] = field(default_factory=dict)  # columns of metrics.jsonl
    grid_path: Path | None = None
    grid: np.ndarray | None = None  # uint8 [H, W, 3] newest sample grid
    snapshot: Path | None = None  # newest renderable G_ema checkpoint
    tail: tuple[str, ...] = ()  # last lines of console.txt / log.txt


class RunWatcher:
    """Reads one run directory; ``poll`` returns a fresh RunView (only its tails are re-read)."""

    def __init__(self, path: Path, process: TrainingProcess | None = None):
        self.path, self.process = Path(path), process
        self.stats = JsonlTail(self.path / "stats.jsonl")
        self.metrics = JsonlTail(self.path / "metrics.jsonl")
        self._stats_cols: dict = {}
        self._metrics_cols: dict = {}
        self._grid_path: Path | None = None
        self._grid: np.ndarray | None = None

    def poll(self) -> RunView:
        if self.stats.poll():
            self._stats_cols = columns(self.stats.records)
        if self.metrics.poll():
            self._metrics_cols = columns(self.metrics.records)
        status = read_status(self.path)
        state, error = state_of(self.path, status, self.process)
        tail = tail_lines(self.path)
        if state == "crashed" and error is None:
            error = next((t for t in reversed(tail) if t.strip()), "crashed: see log.txt")
        return RunView(self.path, state, error, status or {}, self._stats_cols, self._metrics_cols,
                       *self._newest_grid(), newest_snapshot(self.path), tail)

    def _newest_grid(self) -> tuple[Path | None, np.ndarray | None]:
        grids = sorted((self.path / "samples").glob("grid-*.png"))
        if grids and grids[-1] != self._grid_path:
            try:  # the trainer writes grids in place: a half-written one is read on a later poll
                from PIL import Image

                with Image.open(grids[-1]) as im:
                    self._grid = np.asarray(im.convert("RGB"))
                self._grid_path = grids[-1]
            except (OSError, ValueError):
                pass
        return self._grid_path, self._grid


def read_status(path: Path) -> dict | None:
    try:
        status = json.loads((Path(path) / "status.json").read_text())
    except (OSError, ValueError):
        return None  # none yet (status.json is replaced atomically, so never half of one)
    return status if isinstance(status, dict) else None


def newest_snapshot(path: Path) -> Path | None:
    snaps = sorted((Path(path) / "snapshots").glob("G_ema-*.pt"))
    return snaps[-1] if snaps else None


def tail_lines(path: Path, n: int = TAIL_LINES) -> tuple[str, ...]:
    """Last lines of console.txt (the process's own output) or else log.txt."""
    for name in (CONSOLE, "log.txt"):
        try:
            with open(Path(path) / name, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - 8192))
                text = f.read().decode(errors="replace")
        except OSError:
            continue
        lines = [ln for ln in text.replace("\r", "\n").splitlines() if ln.strip()]  # tqdm redraws with \r
        if lines:
            return tuple(lines[-n:])
    return ()


@dataclass(frozen=True)
class RunSummary:
    path: Path
    state: str
    kimg: float | None
    total_kimg: float | None
    updated: float  # mtime, newest first in the list


class TrainingRuns:
    """The training processes this studio launched, and the runs found under a runs folder."""

    def __init__(self):
        self.processes: dict[Path, TrainingProcess] = {}

    def launch(self, form: TrainForm, env: dict | None = None) -> Path:
        out = form.out_dir().resolve()
        if (out / "status.json").exists() or (out / "snapshots").exists():
            raise UserError(f"{out} already holds a run: pick another name")
        self.processes[out] = TrainingProcess(form.argv(out), out, env)
        return out

    def watcher(self, path: Path) -> RunWatcher:
        path = Path(path).resolve()
        return RunWatcher(path, self.processes.get(path))

    def stop(self, path: Path) -> str:
        """Ask a run to finish cleanly (final snapshot); returns what was done, for the status line."""
        path = Path(path).resolve()
        proc = self.processes.get(path)
        if proc is not None and proc.exit_code() is None:
            proc.stop()
            return f"stopping {path.name}: it writes a final snapshot first"
        status = read_status(path) or {}
        pid = status.get("pid")
        if status.get("state") != "running" or not pid_alive(pid):
            raise UserError(f"{path.name} is not running")
        if not _is_trainer(pid):
            raise UserError(f"process {pid} of {path.name} is not `infiniscape train`: not stopping it")
        os.kill(pid, signal.SIGTERM)
        return f"stopping {path.name} (process {pid}): it writes a final snapshot first"

    def scan(self, root: str | Path) -> list[RunSummary]:
        """Runs directly under ``root`` (or ``root`` itself), most recently updated first."""
        root = Path(root).expanduser()
        if not root.is_dir():
            return []
        dirs = [root] if _is_run(root) else sorted(p for p in root.iterdir() if p.is_dir() and _is_run(p))
        out = []
        for d in dirs:
            status = read_status(d)
            d = d.resolve()
            state = state_of(d, status, self.processes.get(d))[0]
            s = status or {}
            out.append(RunSummary(d, state, s.get("kimg"), s.get("total_kimg"), _mtime(d)))
        return sorted(out, key=lambda r: r.updated, reverse=True)


def _is_run(path: Path) -> bool:
    return any((path / m).exists() for m in RUN_MARKERS)


def _mtime(path: Path) -> float:
    times = [(path / m).stat().st_mtime for m in RUN_MARKERS if (path / m).exists()]
    return max(times, default=time.time())
