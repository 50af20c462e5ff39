"""Training panel: run directories read incrementally (also runs started elsewhere), and the real
panel driven headless (simulated clicks, no window) starting, watching, stopping and opening a real
`infiniscape train` subprocess, and showing the error of one that crashes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from infiniscape.models.errors import UserError
from infiniscape.run_list import TrainingRuns
from infiniscape.run_view import JsonlTail
from infiniscape.train.run_dir import RunDir, read_jsonl
from infiniscape.training_runs import RunWatcher, TrainForm, next_run_name, run_state

imgui_bundle = pytest.importorskip("imgui_bundle")
from imgui_bundle import imgui  # noqa: E402
from imgui_driver import frame, frames_until  # noqa: E402

from infiniscape.studio import Studio  # noqa: E402

# -- run directories, no GUI ------------------------------------------------------------------------

def test_jsonl_tail_waits_for_a_torn_last_line(tmp_path):
    path = tmp_path / "stats.jsonl"
    path.write_text('{"kimg": 1}\n{"kimg": 2}\n{"kimg": 3, "lo')
    tail = JsonlTail(path)
    assert tail.poll() and [r["kimg"] for r in tail.records] == [1, 2]
    assert not tail.poll()  # nothing new: nothing re-read
    with open(path, "a") as f:
        f.write('ss": 0.5}\nnot json\n{"kimg": 4}\n')
    assert tail.poll()
    assert tail.records == [{"kimg": 1}, {"kimg": 2}, {"kimg": 3, "loss": 0.5}, {"kimg": 4}]


def test_jsonl_tail_reads_a_rewritten_file_again(tmp_path):
    run = RunDir(tmp_path)
    for k in (1, 2, 3):
        run.append("stats.jsonl", {"kimg": k})
    tail = JsonlTail(tmp_path / "stats.jsonl")
    tail.poll()
    run.truncate_after("stats.jsonl", 1)  # what a resume does: an atomic rewrite
    run.append("stats.jsonl", {"kimg": 1.5})
    assert tail.poll() and [r["kimg"] for r in tail.records] == [1, 1.5]


def test_state_comes_from_the_status_file_and_the_process():
    assert run_state({"state": "done"}, False) == ("finished", None)
    assert run_state({"state": "stopped"}, False) == ("stopped", None)
    assert run_state({"state": "failed", "error": "ValueError: x"}, False) == ("crashed", "ValueError: x")
    assert run_state({"state": "running", "pid": 7}, True) == ("running", None)
    # only a kill ends the trainer without writing a final status: no guessing, no question mark
    assert run_state({"state": "running", "pid": 7}, False) == \
        ("killed", "process 7 ended without a final status; --resume continues it")
    assert run_state(None, True, has_config=False) == ("starting", None)
    assert run_state(None, True, has_config=True) == ("running", None)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_runs_started_elsewhere_are_listed_with_their_state(tmp_path):
    def make(name, **status):
        run = RunDir(tmp_path / name)
        run.create()
        run.write_config({"config": "tiny"})
        run.append("stats.jsonl", {"kimg": 0.5, "loss_G": 1.0, "r1": None})
        run.write_status(**status)
        return run

    make("a-done", state="done", kimg=1.0, total_kimg=1.0)
    make("b-killed", state="running", kimg=0.5, total_kimg=1.0)
    (tmp_path / "b-killed" / "status.json").write_text(json.dumps({"state": "running", "pid": _dead_pid()}))
    make("c-alive", state="running", kimg=0.5, total_kimg=1.0)  # this process's pid: alive
    make("d-failed", state="failed", error="RuntimeError: boom")
    (tmp_path / "not-a-run").mkdir()
    runs = TrainingRuns().scan(tmp_path)
    assert {r.path.name: r.state for r in runs} == {"a-done": "finished", "b-killed": "killed",
                                                   "c-alive": "running", "d-failed": "crashed"}
    view = RunWatcher(tmp_path / "d-failed").poll()
    assert view.error == "RuntimeError: boom"
    assert list(view.stats["kimg"]) == [0.5] and np.isnan(view.stats["r1"][0])
    assert "ended without a final status" in RunWatcher(tmp_path / "b-killed").poll().error


def test_a_run_started_from_a_terminal_is_watched_and_stopped_cleanly(tmp_path):
    out = tmp_path / "terminal-run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = TrainForm(batch=4, kimg=50, tick_kimg=0.004, snapshot_kimg=100, device="cpu").argv(out)
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)  # as if typed in a terminal
    try:
        runs = TrainingRuns()  # knows nothing of this process: only the run directory
        end = time.time() + 60
        while not (out / "status.json").exists():
            assert time.time() < end and proc.poll() is None, "the run never ticked"
            time.sleep(0.1)
        assert [(r.path.name, r.state) for r in runs.scan(tmp_path)] == [("terminal-run", "running")]
        assert "process" in runs.stop(out)  # SIGTERM to the pid in status.json
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    view = runs.watcher(out).poll()
    assert view.state == "stopped" and view.snapshot is not None
    assert view.snapshot.name == f"G_ema-{round(view.status['kimg'] * 1000):09d}.pt"
    with pytest.raises(UserError, match="is not running"):
        runs.stop(out)


def test_form_builds_the_train_command(tmp_path):
    (tmp_path / "00004-tiny-procedural").mkdir()
    form = TrainForm(data="/d/faces.zip", config="small", batch=8, kimg=2.5, root=str(tmp_path))
    out = form.out_dir()
    assert out == tmp_path / "00005-small-faces"
    argv = form.argv(out)
    assert argv[:4] == [sys.executable, "-m", "infiniscape", "train"]
    assert argv[argv.index("--data") + 1] == "/d/faces.zip" and argv[argv.index("--kimg") + 1] == "2.5"
    assert "--resolution" not in argv and "--r1-gamma" not in argv  # the CLI's defaults
    assert "--loss" not in argv and "--y-extent" not in argv
    pg = TrainForm(loss="projected", y_extent=3072, scene_height=256).argv(out)
    assert pg[pg.index("--loss") + 1] == "projected" and pg[pg.index("--y-extent") + 1] == "3072"
    assert pg[pg.index("--scene-height") + 1] == "256"
    assert next_run_name(tmp_path / "empty", "x.yaml", "procedural:3") == "00000-x-procedural"


# -- the panel, headless --------------------------------------------------------------------------

def click(studio: Studio, panel, name: str) -> None:
    io = imgui.get_io()
    io.add_mouse_pos_event(*panel.hits[name])
    frame(studio)
    io.add_mouse_button_event(0, True)
    frame(studio)
    io.add_mouse_button_event(0, False)
    frame(studio)


def open_form(studio: Studio, panel) -> None:
    """Click the New run tab until its form is drawn (the panel's layout above the tabs can still
    move while the runs folder is first read, and a click at last frame's place then misses)."""
    for _ in range(5):
        click(studio, panel, "tab New run")
        if "Start" in panel.hits:
            return
    raise AssertionError("the New run tab did not open")


@pytest.fixture
def studio(tmp_path, monkeypatch, make_studio):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the training child inherits it
    s = make_studio(cache_mb=32, panels="Training", loaded=False, one_thread=True)  # a panel near the top
    panel = s.widgets["Training"]
    panel.form.root = str(tmp_path)
    frames_until(s, lambda: s.world is not None)
    yield s, panel
    for proc in panel.runs.processes.values():  # only the children this test started
        if proc.exit_code() is None:
            proc.popen.kill()
            proc.popen.wait()


def test_panel_starts_watches_stops_and_opens_a_run(studio, tmp_path):
    s, panel = studio
    open_form(s, panel)
    panel.form.__dict__.update(data="procedural", config="tiny", batch=4, kimg=50.0, snapshot_kimg=100.0,
                               tick_kimg=0.008, tick_seconds=60.0, name="panel-run")
    frame(s)
    t0 = time.perf_counter()
    click(s, panel, "Start")
    assert time.perf_counter() - t0 < 1.0  # three frames, the launch included: the UI never waits
    out = tmp_path / "panel-run"
    assert panel.selected == out.resolve()

    def plotted() -> int:
        return len(panel.plot_series().get("losses", {}).get("loss_G", ((),))[0])

    frames_until(s, lambda: plotted() >= 2, timeout=60)
    assert panel.view.state == "running"
    assert panel.view.snapshot is not None  # a fresh run snapshots at its first tick: an early crash resumes
    stats = read_jsonl(out / "stats.jsonl")
    x, y = panel.plot_series()["losses"]["loss_G"]
    assert list(x) == [r["kimg"] for r in stats[:len(x)]]
    assert list(y) == [r["loss_G"] for r in stats[:len(y)]]
    assert "img_per_s" in panel.plot_series()["speed"]
    frames_until(s, lambda: panel.view.grid is not None)  # the sample grid written at the start
    assert panel.image.rgb is panel.view.grid and panel.view.grid.shape == (4 * 64, 4 * 64, 3)

    click(s, panel, "Stop")
    frames_until(s, lambda: panel.view.state == "stopped", timeout=60)
    status = json.loads((out / "status.json").read_text())
    nimg = round(status["kimg"] * 1000)
    assert status["state"] == "stopped" and 0 < nimg < 50_000
    snapshot = out / "snapshots" / f"G_ema-{nimg:09d}.pt"
    assert snapshot.exists() and (out / "snapshots" / f"state-{nimg:09d}.pt").exists()
    assert panel.view.snapshot == snapshot.resolve()
    assert panel.runs.processes[out.resolve()].popen.wait(10) == 0

    frame(s)
    click(s, panel, "Open in canvas")
    frames_until(s, lambda: s.model_name == str(snapshot.resolve()) and s.loading is None)
    assert s.model_info["source"] == str(snapshot.resolve()) and not s.status_error
    frames_until(s, lambda: s.pool.live > 0)  # tiles of the trained snapshot reach the canvas


def test_a_crashed_run_shows_its_error_and_the_studio_stays_up(studio, tmp_path):
    s, panel = studio
    panel.form.__dict__.update(data=str(tmp_path / "no-such-images"), config="tiny", name="bad-data")
    open_form(s, panel)
    click(s, panel, "Start")
    frames_until(s, lambda: panel.view is not None and panel.view.state == "crashed", timeout=60)
    assert "no-such-images' does not exist" in panel.view.error
    frames_until(s, lambda: [(r.path.name, r.state) for r in panel.run_list] == [("bad-data", "crashed")])
    assert s.world is not None and s.model_name == "tiny"
    frame(s)  # the panel draws the crashed run (error and output) without raising
    assert os.path.exists(tmp_path / "bad-data" / "console.txt")


def test_view_panels_option_opens_exactly_the_named_panels(studio):
    from infiniscape.commands.view import open_panels
    from infiniscape.models.errors import UserError

    s, _ = studio
    open_panels(s, "training, Performance")
    assert [t for t, _, shown in s.panels if shown] == ["Training", "Performance"]
    with pytest.raises(UserError, match="no panel trainig"):
        open_panels(s, "Trainig")
