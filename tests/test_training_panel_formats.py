"""The Training panel, headless, on runs it did not write: a StyleGAN3 run directory (a chosen stat
plotted, the grid slider, an older network snapshot opened in the canvas through the safe loader),
malformed JSONL while a run is being written, and a custom command launched and stopped."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from fixtures.official.snapshot import snapshot_bytes
from fixtures.sg2ada_runs import SG2Run, write_sg2_run

pytest.importorskip("imgui_bundle")
from imgui_driver import frame, frames_until  # noqa: E402
from test_official_generators import build  # noqa: E402
from test_training_panel import click, studio  # noqa: E402, F401 - the studio fixture

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def sg3_pickle() -> bytes:
    gen, spec, _ = build("sg3_t")  # a small StyleGAN3-T, pickled the way a training snapshot is
    return snapshot_bytes(gen, spec["init_kwargs"])


def open_popup(s, panel, button: str, item: str) -> None:
    """Click ``button`` until the popup holding ``item`` is drawn (a click may only close another)."""
    for _ in range(3):
        click(s, panel, button)
        frame(s)  # a popup takes its size and place in its second frame
        if item in panel.hits:
            return frame(s)
    raise AssertionError(f"{button} did not open {item}")


def means(run_dir: Path, stat: str) -> list[float]:
    lines = (run_dir / "stats.jsonl").read_text().splitlines()
    return [json.loads(line)[stat]["mean"] for line in lines if line.endswith("}")]


def test_panel_plots_a_chosen_stat_and_opens_an_older_snapshot(studio, tmp_path, sg3_pickle):  # noqa: F811
    s, panel = studio
    run = write_sg2_run(tmp_path, SG2Run(), snapshot=sg3_pickle)
    frames_until(s, lambda: panel.view is not None and panel.view.format == "sg2-ada")
    assert panel.selected == run.resolve() and panel.view.state == "finished"
    series = panel.plot_series()
    assert set(series) == {"losses", "augment p", "seconds", "metrics"}  # the defaults, one unit a plot
    x, y = series["losses"]["Loss/G/loss"]
    assert list(x) == means(run, "Progress/kimg") and list(y) == means(run, "Loss/G/loss")
    assert list(series["metrics"]["fid50k_full"][0]) == [0, 8, 16, 20]

    frame(s)
    open_popup(s, panel, "curves...", "stat Resources/peak_gpu_mem_gb")  # the stat chooser
    click(s, panel, "stat Resources/peak_gpu_mem_gb")
    x, y = panel.plot_series()["memory (GB)"]["Resources/peak_gpu_mem_gb"]
    assert list(x) == means(run, "Progress/kimg") and list(y) == means(run, "Resources/peak_gpu_mem_gb")
    panel.x_axis = "hours"
    x, _ = panel.plot_series()["memory (GB)"]["Resources/peak_gpu_mem_gb"]
    assert list(x) == means(run, "Timing/total_hours")
    panel.x_axis = "kimg"
    panel.hits["away"] = (1200, 60)  # a click outside the chooser (on the canvas) closes it
    click(s, panel, "away")

    assert panel.view.grid_path.name == "fakes000020.png"  # the newest grid, and a slider over the others
    panel.choose_grid(panel.view.grids[1])
    frames_until(s, lambda: panel.view.grid_path.name == "fakes000000.png")
    assert panel.image.rgb is panel.view.grid and panel.view.grid.shape == (1024, 1024, 3)

    open_popup(s, panel, "snapshot", "snapshot network-snapshot-000008.pkl")  # any, not only the newest
    click(s, panel, "snapshot network-snapshot-000008.pkl")
    older = run.resolve() / "network-snapshot-000008.pkl"
    assert panel.snapshot == older
    frame(s)
    click(s, panel, "Open in canvas")
    frames_until(s, lambda: s.model_name == str(older) and s.loading is None, timeout=60)
    assert not s.status_error and "StyleGAN3" in str(s.model_info)
    frames_until(s, lambda: s.pool.live > 0, timeout=60)  # tiles of the snapshot reach the canvas


def test_malformed_lines_of_a_run_being_written_never_break_the_panel(studio, tmp_path):  # noqa: F811
    s, panel = studio
    run = write_sg2_run(tmp_path, SG2Run(ticks=3, ending="running"))
    frames_until(s, lambda: panel.view is not None and "Loss/G/loss" in panel.view.stats)
    for garbage in (b"\n{oops\n", b'[1]\n"x"\n', b'{"Progress/kimg": {"mean": "NaN?"}}\n', b"\xff\xfe\x00\n",
                    b'{"Loss/G/loss": {"num": 1, "mean": 1e999, "std": 0}}\n'):
        with open(run / "stats.jsonl", "ab") as f:
            f.write(garbage)
        with open(run / "metric-fid50k_full.jsonl", "ab") as f:
            f.write(garbage)
        n = len(panel.view.stats["Loss/G/loss"])
        frames_until(s, lambda n=n: panel.view is not None and len(panel.view.stats["Loss/G/loss"]) >= n)
        for _ in range(3):
            frame(s)  # draws the run, its plots and its grid without raising
    assert panel.view.state == "running" and not s.status_error
    assert np.isfinite(panel.plot_series()["losses"]["Loss/G/loss"][1]).all()


SCRIPT = """import sys, time
sys.path.insert(0, {tests!r})
from fixtures.sg2ada_runs import SG2Run, write_sg2_run
write_sg2_run({outdir!r}, SG2Run(ticks=3, ending="running"))
print("Training for 20 kimg...", flush=True)
time.sleep(120)
"""


def test_panel_launches_a_custom_command_and_stops_it(studio, tmp_path):  # noqa: F811
    s, panel = studio
    (tmp_path / "checkout").mkdir()
    script = SCRIPT.format(tests=str(HERE), outdir=str(tmp_path / "out"))
    (tmp_path / "checkout" / "train.py").write_text(script)
    for _ in range(5):
        click(s, panel, "tab Command")
        if "Start command" in panel.hits:
            break
    panel.command.__dict__.update(command=f"{sys.executable} train.py --outdir=../out --cfg=stylegan3-t",
                                  cwd=str(tmp_path / "checkout"))
    frame(s)
    click(s, panel, "Start command")
    out = tmp_path / "00000-command-train"
    assert panel.selected == out.resolve() and not s.status_error
    frames_until(s, lambda: panel.view is not None and panel.view.watched is not None
                 and "Loss/G/loss" in panel.view.stats, timeout=60)
    assert panel.view.format == "command" and panel.view.state == "running"
    assert panel.view.watched.parent == (tmp_path / "out").resolve()
    frames_until(s, lambda: [(r.path.name, r.format) for r in panel.run_list] == [(out.name, "command")])
    frame(s)
    click(s, panel, "Stop")
    frames_until(s, lambda: panel.view.state == "stopped", timeout=30)
    assert "Training for 20 kimg..." in (out / "console.txt").read_text()
    assert panel.runs.processes[out.resolve()].popen.wait(10) == 0  # the shell wrote the exit status
