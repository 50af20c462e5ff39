"""configs/training/gpu_burst.sh: the script a session runs when a GPU is lent, run here on the CPU
so that it still works on the day one is."""

import os
import subprocess
import sys
from pathlib import Path

import torch

from infiniscape.train.run_dir import RunDir

SCRIPT = Path(__file__).resolve().parents[1] / "configs" / "training" / "gpu_burst.sh"


def test_a_timed_burst_stops_with_a_snapshot_and_unpacks_into_a_run_that_resumes(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path / "out"), "PYTHON": sys.executable}
    run = tmp_path / "run"
    subprocess.run(["bash", str(SCRIPT), "0.5", str(run), "--data", "procedural", "--config", "tiny",
                    "--loss", "projected", "--resolution", "32", "--batch", "4", "--kimg", "100",
                    "--tick-kimg", "0.02", "--data-workers", "1", "--device", "cpu"],
                   env=env, check=True, capture_output=True, text=True, timeout=300)
    parts = sorted((tmp_path / "out").iterdir())
    assert parts and all(p.name.startswith("run.tar.part-") and p.stat().st_size <= 15 << 20 for p in parts)
    assert "stopped at kimg" in (run / "log.txt").read_text()  # SIGTERM: a finished step and a snapshot

    back = tmp_path / "back"
    subprocess.run(["bash", str(SCRIPT), "--unpack", str(tmp_path / "out"), str(back)], check=True,
                   capture_output=True, timeout=60)
    trained, unpacked = RunDir(run).load_newest_state(), RunDir(back).load_newest_state()
    assert unpacked["nimg"] == trained["nimg"] > 0
    assert all(torch.equal(unpacked["G"][k], v) for k, v in trained["G"].items())
    assert (back / "config.yaml").read_text() == (run / "config.yaml").read_text()
