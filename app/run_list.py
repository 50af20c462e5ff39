"""All the runs the studio knows: the processes it launched (`infiniscape train`, custom commands)
and the run directories under a runs folder, whatever wrote them. Each format has its own module
(training_runs, sg2ada_runs, infinitygan_runs, command_runs); this one tells them apart and gives
the panel and `infiniscape runs` one interface: scan, watcher, stop."""

from __future__ import annotations

from pathlib import Path

from infiniscape import command_runs, infinitygan_runs, sg2ada_runs, training_runs
from infiniscape.models.errors import UserError
from infiniscape.run_view import RunSummary
from infiniscape.train.run_reader import holds_run
from infiniscape.training_runs import RunWatcher, TrainForm, TrainingProcess

# the first that recognises a folder names its format (a command's folder also holds console.txt)
DETECTORS = (("command", command_runs.is_run), ("infiniscape", training_runs.is_run),
             ("sg2-ada", sg2ada_runs.is_run), ("infinitygan", infinitygan_runs.is_run))


def detect(path: Path) -> str | None:
    """The format of the run directory ``path``, or None when it is not one."""
    path = Path(path)
    try:
        return next((name for name, test in DETECTORS if test(path)), None)
    except OSError:
        return None  # unreadable (permissions, a vanished network mount)


class TrainingRuns:
    """The processes this studio launched, and the runs found under a runs folder."""

    def __init__(self):
        self.processes: dict[Path, TrainingProcess] = {}

    def launch(self, form: TrainForm, env: dict | None = None) -> Path:
        out = form.out_dir().resolve()
        if holds_run(out):
            raise UserError(f"{out} already holds a run: pick another name")
        self.processes[out] = TrainingProcess(form.argv(out), out, env)
        return out

    def launch_command(self, form: command_runs.CommandForm, env: dict | None = None) -> Path:
        out, proc = command_runs.launch(form, env)
        self.processes[out] = proc
        return out

    def watcher(self, path: Path):
        """A watcher of the run's own format; ``poll()`` gives its RunView."""
        path = Path(path).resolve()
        proc = self.processes.get(path)
        fmt = detect(path)
        if fmt == "command":
            return command_runs.Watcher(path, proc, detect, self.watcher)
        if fmt == "sg2-ada":
            return sg2ada_runs.Watcher(path)
        if fmt == "infinitygan":
            return infinitygan_runs.Watcher(path)
        return RunWatcher(path, proc)  # ours, or a run launched a moment ago with nothing written yet

    def stop(self, path: Path) -> str:
        """Ask a run to finish; returns what was done, for the status line."""
        path = Path(path).resolve()
        proc = self.processes.get(path)
        if proc is not None and proc.exit_code() is None:
            proc.stop()
            if proc.stop_group:
                return f"stopping {path.name}: SIGTERM to its processes"
            return f"stopping {path.name}: it writes a final snapshot first"
        fmt = detect(path)
        if fmt == "command":
            return command_runs.stop(path)
        if fmt == "infiniscape":
            return training_runs.stop(path)
        raise UserError(f"{path.name} was not started here: stop it where it runs (Ctrl-C, scancel, kill)")

    def summary(self, path: Path) -> RunSummary | None:
        """One line of the runs list for ``path`` (None when it is not a run)."""
        path = Path(path).resolve()
        fmt = detect(path)
        if fmt == "command":
            rec = command_runs.read_record(path)
            watch = Path(rec["watch"]) if rec.get("watch") else None
            run = command_runs.watched_run(watch, float(rec.get("started") or 0.0), detect)
            inner = self.summary(run) if run is not None and run != path else None
            return command_runs.summary(path, self.processes.get(path), inner)
        if fmt == "infiniscape":
            return training_runs.summary(path, self.processes.get(path))
        if fmt == "sg2-ada":
            return sg2ada_runs.summary(path)
        if fmt == "infinitygan":
            return infinitygan_runs.summary(path)
        return None

    def scan(self, root: str | Path) -> list[RunSummary]:
        """Runs directly under ``root`` (or ``root`` itself), most recently updated first."""
        root = Path(root).expanduser()
        if not root.is_dir():
            return []
        if detect(root):
            dirs = [root]
        else:
            try:
                dirs = sorted(p for p in root.iterdir() if p.is_dir())
            except OSError:
                return []
        out = []
        for d in dirs:
            try:
                s = self.summary(d)
            except (OSError, ValueError):
                continue  # removed or unreadable while listed: the next scan tells
            if s is not None:
                out.append(s)
        return sorted(out, key=lambda r: r.updated, reverse=True)
