"""The Training panel in a real window (Xvfb + Mesa) on a StyleGAN3 run directory it did not write:
the run is listed and read (its state in the state's colour), its curves are drawn."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
from fixtures.sg2ada_runs import SG2Run, write_sg2_run
from PIL import Image
from test_studio_window import PANE_W

RUNNING = np.array([0.45, 0.9, 0.45]) * 255  # STATE_COLOURS["running"]
IMPLOT_FIRST = np.array([76, 114, 176])  # ImPlot's default colormap, first curve


def near(img: np.ndarray, colour: np.ndarray, tol: float = 12) -> np.ndarray:
    return np.abs(img.astype(np.int16) - colour).max(axis=-1) <= tol


def test_screenshot_shows_a_stylegan3_run_in_the_training_panel(display, tmp_path):
    write_sg2_run(tmp_path / "runs", SG2Run(total_kimg=200, snap=10, ticks=40, ending="running"))
    shot = tmp_path / "panel.png"
    env = {**os.environ, "DISPLAY": display, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "infiniscape", "view", "--model", "tiny", "--panels", "Training",
            "--screenshot", str(shot), "--quit-after-frames", "150"]
    r = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("RGB"))
    pane = img[:, : PANE_W - 20]
    assert pane.std() > 10 and (pane.max(axis=-1) > 200).mean() > 0.01, "panel text missing"
    assert near(pane, RUNNING).sum() > 80, "the run's state (running) is not drawn"
    assert near(pane[450:], IMPLOT_FIRST).sum() > 100, "no curve drawn below the run's header"
    if os.environ.get("INFINISCAPE_KEEP_SCREENSHOTS"):
        shutil.copy(shot, os.environ["INFINISCAPE_KEEP_SCREENSHOTS"])
