"""Any command as a training run: `python train.py --outdir=~/runs --cfg=stylegan3-t ...` from an
official checkout, launched by the Training panel and listed with the other runs.

A launched command gets a folder of its own in the runs folder:

    command.json    argv, working directory, the directory it writes (watched), pid, start time
    console.txt     the command line, then its stdout + stderr
    exit_status     its exit status, written by the /bin/sh that runs it as soon as it ends (so it is
                    known even when the studio was closed meanwhile)

Stop is SIGTERM to its process group (multi-GPU trainers spawn workers). What the panel shows
besides the console comes from the watched directory: the run itself, or the newest run that
appeared in it (a StyleGAN3 --outdir gets a new NNNNN-... folder per run).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from infiniscape.models.errors import UserError
from infiniscape.run_view import RunSummary, RunView, activity, newest_mtime, read_tail, tail_lines
from infiniscape.train.run_reader import read_object
from infiniscape.training_runs import CONSOLE, TrainingProcess, next_run_number, pid_alive

FORMAT = "command"
RECORD = "command.json"
EXIT = "exit_status"
# `trap :` (a handler, not SIG_IGN, so the command itself still dies of SIGTERM): the shell outlives
# the signal sent to the group, waits for the command and writes its status
WRAPPER = 'trap : TERM INT; "$@"; echo $? > {exit_file}'
OUT_FLAGS = ("--outdir", "--out", "--output-dir", "--logdir", "--run-dir")


@dataclass
class CommandForm:
    """The Custom command form: a command line, where it runs and which directory it writes."""

    command: str = ""  # split like a shell does (quotes, ~), but no pipes, globs or variables
    cwd: str = ""  # working directory; empty: the studio's
    watch: str = ""  # the run directory (or folder of runs) it writes; empty: its --outdir
    root: str = "runs"  # the runs folder, where the command's own folder goes
    name: str = ""  # that folder's name; empty: NNNNN-command-<script>

    def argv(self) -> list[str]:
        try:
            argv = shlex.split(self.command)
        except ValueError as e:
            raise UserError(f"command: {e}") from None
        if not argv:
            raise UserError("no command: type one, e.g. python train.py --outdir=~/training-runs ...")
        return [_expand_home(a) for a in argv]

    def workdir(self) -> Path:
        cwd = Path(self.cwd.strip() or ".").expanduser().resolve()
        if not cwd.is_dir():
            raise UserError(f"working directory {cwd} does not exist")
        return cwd

    def watch_dir(self) -> Path | None:
        """The watched directory (relative paths from the working directory); else the command's
        --outdir / --out; else None (only the console is shown)."""
        text = self.watch.strip() or outdir_of(self.argv())
        return (self.workdir() / Path(text).expanduser()).resolve() if text else None

    def out_dir(self) -> Path:
        root = Path(self.root).expanduser()
        if self.name.strip():
            return root / self.name.strip()
        argv = self.argv()
        script = next((a for a in argv[1:] if a.endswith(".py")), argv[0])
        return root / f"{next_run_number(root):05d}-command-{Path(script).stem}"


def _expand_home(arg: str) -> str:
    """``~`` as a shell expands it: at the start of a word and after ``--option=``."""
    flag, eq, value = arg.partition("=")
    if eq and flag.startswith("-") and value.startswith("~"):
        return f"{flag}={os.path.expanduser(value)}"
    return os.path.expanduser(arg) if arg.startswith("~") else arg


def outdir_of(argv: list[str]) -> str | None:
    """The value of the command's output-folder option (--outdir=X or --outdir X), if it has one."""
    for i, a in enumerate(argv):
        flag, eq, value = a.partition("=")
        if flag in OUT_FLAGS:
            if eq:
                return value
            if i + 1 < len(argv):
                return argv[i + 1]
    return None


def launch(form: CommandForm, env: dict | None = None) -> tuple[Path, TrainingProcess]:
    """Start the command (never waits for it); returns its folder and process."""
    argv, cwd, watch = form.argv(), form.workdir(), form.watch_dir()
    exe = argv[0]
    if not ((cwd / exe).is_file() if os.sep in exe else shutil.which(exe)):
        raise UserError(f"command not found: {exe}")
    out = form.out_dir().resolve()
    if (out / RECORD).exists():
        raise UserError(f"{out} already holds a command run: pick another name")
    out.mkdir(parents=True, exist_ok=True)
    wrapper = ["/bin/sh", "-c", WRAPPER.format(exit_file=shlex.quote(str(out / EXIT))), "infiniscape-command",
               *argv]
    proc = TrainingProcess(wrapper, out, env, cwd=cwd, shown=argv, stop_group=True)
    record = {"argv": argv, "cwd": str(cwd), "watch": str(watch) if watch else None, "pid": proc.pid,
              "started": time.time(), "wrapper": wrapper}
    (out / RECORD).write_text(json.dumps(record, indent=1))
    return out, proc


def is_run(path: Path) -> bool:
    return (Path(path) / RECORD).is_file()


def read_record(path: Path) -> dict:
    return read_object(Path(path) / RECORD) or {}


def exit_status(path: Path) -> int | None:
    text = read_tail(Path(path) / EXIT, 64).strip()
    return int(text) if text.lstrip("-").isdigit() else None


def _ours(rec: dict) -> bool:
    """Whether the pid in the record still runs our wrapper (not a reused pid)."""
    pid = rec.get("pid")
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
    except OSError:
        return not Path("/proc/self").exists()  # no /proc: trust the pid
    return [c.decode(errors="replace") for c in cmdline] == rec.get("wrapper")


def command_state(path: Path, rec: dict, proc: TrainingProcess | None) -> tuple[str, str | None]:
    """(state, error): running while it lives; then by its exit status: 0 finished, SIGINT/SIGTERM
    stopped, another signal killed, else crashed (error: None, the caller names it)."""
    alive = proc.exit_code() is None if proc is not None else _ours(rec)
    if alive:
        return "running", None
    code = exit_status(path)
    if code is None:
        return "killed", "the command and its shell were killed before it ended (no exit status)"
    if code == 0:
        return "finished", None
    if code in (128 + signal.SIGINT, 128 + signal.SIGTERM):
        return "stopped", None
    if code > 128:
        return "killed", f"killed by signal {code - 128}"
    return "crashed", None


def watched_run(watch: Path | None, started: float, detect: Callable[[Path], str | None]) -> Path | None:
    """The run the command writes: ``watch`` itself when it is a run, else the newest run folder in
    it that changed since the command started."""
    if watch is None or not watch.is_dir():
        return None
    if detect(watch):
        return watch
    fresh = []
    for d in watch.iterdir():
        try:
            if d.is_dir() and detect(d) and activity(d) >= started - 5:
                fresh.append(d)
        except OSError:
            continue
    return max(fresh, key=lambda d: d.name, default=None)  # StyleGAN numbers its run folders


class Watcher:
    """A command run: its process and console, and the run its watched directory holds (read by
    ``watcher_for``, the watcher of that run's own format)."""

    def __init__(self, path: Path, process: TrainingProcess | None, detect: Callable[[Path], str | None],
                 watcher_for: Callable[[Path], object]):
        self.path, self.process = Path(path), process
        self.detect, self.watcher_for = detect, watcher_for
        self.inner = None
        self.chosen_grid: Path | None = None

    def poll(self) -> RunView:
        rec = read_record(self.path)
        state, error = command_state(self.path, rec, self.process)
        tail = tail_lines(self.path, (CONSOLE,))
        if self.inner is None:
            watch = Path(rec["watch"]) if rec.get("watch") else None
            run = watched_run(watch, float(rec.get("started") or 0.0), self.detect)
            self.inner = self.watcher_for(run) if run is not None else None
        about = "$ " + shlex.join(rec.get("argv") or []) + (f"   (in {rec['cwd']})" if rec.get("cwd") else "")
        if self.inner is None:
            if state == "crashed":
                error = next(reversed(tail), f"exited with status {exit_status(self.path)}")
            return RunView(self.path, state, error, {}, FORMAT, tail=tail, about=about)
        self.inner.chosen_grid = self.chosen_grid
        inner = self.inner.poll()
        if state == "crashed":
            error = inner.error or next(reversed(tail), f"exited with status {exit_status(self.path)}")
        return replace(inner, path=self.path, format=FORMAT, state=state, error=error, tail=tail,
                       about=about, watched=inner.path)


def summary(path: Path, process: TrainingProcess | None, inner: RunSummary | None) -> RunSummary:
    state = command_state(path, read_record(path), process)[0]
    updated = max(newest_mtime(Path(path) / n for n in (RECORD, CONSOLE, EXIT)) or 0.0,
                  inner.updated if inner else 0.0)
    if inner is None:
        return RunSummary(Path(path), state, None, None, updated, FORMAT)
    return replace(inner, path=Path(path), state=state, updated=updated, format=FORMAT)


def stop(path: Path) -> str:
    """SIGTERM to the process group of a command this studio no longer holds (found again after a
    restart), when its pid still runs our wrapper."""
    rec = read_record(path)
    if not _ours(rec):
        raise UserError(f"{path.name} is not running")
    os.killpg(int(rec["pid"]), signal.SIGTERM)
    return f"stopping {path.name} (process group {rec['pid']}): SIGTERM"
