"""Background jobs (model loading, view capture, export) so the UI thread never waits for torch."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable

from infiniscape.models.errors import describe_error


class JobCancelled(Exception):
    """Raised inside a job's thread by ``advance`` once the job is cancelled (Stop, shutdown)."""


class Job:
    """Runs ``fn(job)`` on a daemon thread; the UI thread collects the result with ``Jobs.collect``."""

    def __init__(self, name: str, fn: Callable, on_done: Callable | None = None, total: int = 0,
                 on_finish: Callable[[], None] | None = None, on_error: Callable | None = None):
        self.name, self.on_done, self.on_finish, self.on_error = name, on_done, on_finish, on_error
        self.total, self.count = total, 0
        self.result = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.cancelled = threading.Event()  # Stop or shutdown: the next advance() ends the job
        self._thread = threading.Thread(target=self._run, args=(fn,), name=f"job {name}", daemon=True)

    def _run(self, fn) -> None:
        try:
            self.result = fn(self)
        except BaseException as e:  # reported in the window, never a dead studio
            self.error = e
            self.trace = traceback.format_exc()
        finally:
            self.done.set()
            if self.on_finish is not None:
                self.on_finish()  # e.g. wakes a window sleeping until something changes

    def advance(self, n: int = 1) -> None:
        if self.cancelled.is_set():
            raise JobCancelled(f"{self.name} cancelled")
        self.count += n

    def progress_text(self) -> str:
        return f"{self.count}/{self.total}" if self.total else ""


class Jobs:
    def __init__(self, on_finish: Callable[[], None] | None = None):
        self._jobs: list[Job] = []
        self.on_finish = on_finish  # called on a job's thread when it ends

    def start(self, name: str, fn: Callable, on_done: Callable | None = None, total: int = 0,
              on_error: Callable | None = None) -> Job:
        """Run ``fn(job)`` off the UI thread; ``on_done(result)`` or ``on_error(exception)`` (after the
        red status line) run later on the UI thread, in ``collect``."""
        job = Job(name, fn, on_done, total, self.on_finish, on_error)
        self._jobs.append(job)
        job._thread.start()
        return job

    def active(self) -> list[Job]:
        return [j for j in self._jobs if not j.done.is_set()]

    def busy(self) -> bool:
        return bool(self.active())

    def collect(self, report: Callable[[str, bool], None]) -> None:
        """Run callbacks of finished jobs on the calling (UI) thread; errors go to ``report``."""
        finished = [j for j in self._jobs if j.done.is_set()]
        self._jobs = [j for j in self._jobs if not j.done.is_set()]
        for j in finished:
            if isinstance(j.error, JobCancelled):  # asked for (Stop, shutdown): not a failure
                report(f"{j.name} stopped", False)
                continue
            if j.error is not None:
                report(f"{j.name} failed: {describe_error(j.error)}", True)
                if j.on_error is not None:
                    j.on_error(j.error)
                continue
            try:
                if j.on_done is not None:
                    j.on_done(j.result)
            except Exception as e:
                report(f"{j.name} failed: {describe_error(e)}", True)

    def close(self, timeout: float = 30.0) -> None:
        """Cancel every job and wait for its thread: a daemon thread still inside torch when the
        interpreter exits aborts the process ("terminate called without an active exception")."""
        end = time.monotonic() + timeout
        for j in self._jobs:
            j.cancelled.set()
        for j in list(self._jobs):
            j.done.wait(max(0.0, end - time.monotonic()))

    def wait(self, timeout: float | None = None) -> None:
        """Tests and scripted runs only: wait for every job to finish."""
        for j in list(self._jobs):
            j.done.wait(timeout)
