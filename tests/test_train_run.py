"""`infiniscape train` end to end: the run directory contract, clean stops, crashes, SIGKILL + resume."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import torch
from PIL import Image

from infiniscape.cli import main
from infiniscape.models.registry import load_model
from infiniscape.train.run_dir import RunDir, read_jsonl

TINY = ["--data", "procedural", "--config", "tiny", "--batch", "8", "--quiet"]


def _train(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # leave a core to the test runner and others
    return subprocess.Popen([sys.executable, "-m", "infiniscape", "train", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def _wait_for(predicate, timeout: float = 60) -> None:
    end = time.time() + timeout
    while not predicate():
        assert time.time() < end, "timed out"
        time.sleep(0.05)


def test_train_writes_the_run_directory_contract_and_its_snapshot_renders(tmp_path):
    out = tmp_path / "run"
    rc, err = _finish(_train(*TINY, "--kimg", "0.032", "--out", str(out), "--tick-kimg", "0.016",
                             "--snapshot-kimg", "0.016"))
    assert rc == 0, err
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "done" and status["progress"] == 1.0 and status["error"] is None
    assert status["pid"] > 0 and status["kimg"] == 0.032
    stats = read_jsonl(out / "stats.jsonl")
    assert [r["kimg"] for r in stats] == [0.016, 0.032]
    for key in ("loss_G", "loss_D", "r1", "img_per_s", "sec_per_kimg", "mem_mb"):
        assert key in stats[0]
    assert stats[0]["r1"] is not None  # step 0 is an R1 step
    config = RunDir(out).read_config()
    assert config["config"] == "tiny" and config["batch"] == 8 and config["resolution"] == 64
    grids = sorted((out / "samples").glob("grid-*.png"))
    assert [g.name for g in grids][-1] == "grid-000000032.png"
    assert Image.open(grids[-1]).size == (256, 256)
    assert Image.open(out / "samples" / "strip-000000032.png").size == (1024, 64)
    assert (out / "samples" / "reals.png").exists() and (out / "log.txt").read_text()
    g_ema = out / "snapshots" / "G_ema-000000032.pt"
    assert (out / "snapshots" / "state-000000032.pt").exists()
    png = tmp_path / "far.png"
    assert main(["render", "--model", str(g_ema), "--x", "-100000", "--y", "-64", "--width", "128",
                 "--height", "64", "--out", str(png), "--quiet"]) == 0
    assert np.asarray(Image.open(png)).std() > 0
    # the render loads G_ema, not G
    state = torch.load(out / "snapshots" / "state-000000032.pt", weights_only=True)
    gen = load_model(str(g_ema)).generator.state_dict()
    assert all(torch.equal(gen[k], state["G_ema"][k]) for k in gen)


def test_the_first_tick_writes_a_snapshot_and_sample_grids_long_before_the_snapshot_interval(tmp_path):
    out = tmp_path / "run"
    rc, err = _finish(_train(*TINY, "--kimg", "0.024", "--out", str(out), "--tick-kimg", "0.008",
                             "--snapshot-kimg", "1"))
    assert rc == 0, err
    grids = [g.name for g in sorted((out / "samples").glob("grid-*.png"))]
    # kimg 0, the first tick (a watcher sees G's progress at once), the final snapshot; no other tick
    assert grids == ["grid-000000000.png", "grid-000000008.png", "grid-000000024.png"]
    assert (out / "samples" / "strip-000000008.png").exists()
    # an early snapshot, so a crash in a run's first hour resumes instead of starting over
    states = [p.name for p in sorted((out / "snapshots").glob("state-*.pt"))]
    assert states == ["state-000000008.pt", "state-000000024.pt"]


def test_sigterm_stops_cleanly_with_a_final_snapshot(tmp_path):
    out = tmp_path / "run"
    proc = _train(*TINY, "--kimg", "100", "--out", str(out), "--tick-kimg", "0.008", "--snapshot-kimg", "50")
    _wait_for(lambda: len(read_jsonl(out / "stats.jsonl")) >= 1)
    proc.send_signal(signal.SIGTERM)
    rc, err = _finish(proc)
    assert rc == 0, err
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "stopped"
    nimg = round(status["kimg"] * 1000)
    assert (out / "snapshots" / f"G_ema-{nimg:09d}.pt").exists()


def test_a_bad_dataset_fails_with_a_one_line_error(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(data / "a.png")
    (data / "b.png").write_bytes(b"not a png")
    out = tmp_path / "run"
    rc, err = _finish(_train("--data", str(data), "--config", "tiny", "--batch", "2", "--kimg", "1",
                             "--out", str(out), "--quiet"))
    assert rc == 2 and err.strip().count("\n") == 0 and "cannot read b.png" in err
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "failed" and "cannot read b.png" in status["error"]


def test_sigkill_at_random_moments_never_corrupts_and_resume_finishes(tmp_path):
    out = tmp_path / "run"
    # a snapshot every step, so that kills often land inside a snapshot write
    args = ["--tick-kimg", "0.008", "--snapshot-kimg", "0.008", "--keep-snapshots", "3"]
    proc = _train(*TINY, "--kimg", "0.4", "--out", str(out), *args)
    rng = np.random.default_rng(0)
    for attempt in range(3):
        ticks = 1 + 2 * attempt
        _wait_for(lambda n=ticks: len(read_jsonl(out / "stats.jsonl")) >= n)
        time.sleep(rng.uniform(0.0, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        shown = max(r["kimg"] for r in read_jsonl(out / "stats.jsonl"))
        run = RunDir(out)
        for state in sorted(run.snapshots.glob("state-*.pt")):  # every complete snapshot loads
            torch.load(state, weights_only=True)
            load_model(str(state).replace("state-", "G_ema-"))
        newest = run.load_newest_state()
        assert newest is not None and newest["nimg"] / 1000 >= shown - 0.008  # at most one interval lost
        proc = _train("--resume", str(out), "--quiet", "--kimg", "0.064" if attempt == 2 else "0.4")
    rc, err = _finish(proc)
    assert rc == 0, err
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "done" and status["kimg"] >= 0.064
    kimgs = [r["kimg"] for r in read_jsonl(out / "stats.jsonl")]
    assert kimgs == sorted(set(kimgs))  # ticks redone after a kill replace the lost ones
    assert "resumed from kimg" in (out / "log.txt").read_text()


def test_resume_refuses_a_run_that_is_still_training(tmp_path, capsys):
    from infiniscape.train.options import TrainOptions

    run = RunDir(tmp_path / "run")
    run.create()
    run.write_config(TrainOptions(data="procedural", out=str(run.path)).to_dict())
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        run.write_status(state="running", pid=alive.pid)
        assert main(["train", "--resume", str(run.path), "--quiet"]) == 2
        assert f"still being trained by process {alive.pid}" in capsys.readouterr().err
    finally:
        alive.kill()
        alive.wait()


def test_projected_gan_run_at_every_height_writes_the_contract_and_resumes_exactly(tmp_path):
    out = tmp_path / "pg"
    args = ["--loss", "projected", "--y-extent", "1024", "--scene-height", "128", "--tick-kimg", "0.016",
            "--snapshot-kimg", "0.016"]
    rc, err = _finish(_train(*TINY, "--kimg", "0.016", "--out", str(out), *args), timeout=300)
    assert rc == 0, err
    stats = read_jsonl(out / "stats.jsonl")
    assert stats[-1]["r1"] is None and stats[-1]["lod"] > 0  # hinge loss without R1; the levels' term
    state = torch.load(out / "snapshots" / "state-000000016.pt", weights_only=True)
    assert not any(k.startswith(("backbone", "projector.backbone")) for k in state["D"])  # 19 MB stay out
    assert "projected" in (out / "log.txt").read_text() or RunDir(out).read_config()["loss"] == "projected"
    rc, err = _finish(_train("--resume", str(out), "--quiet", "--kimg", "0.032"), timeout=300)
    assert rc == 0, err
    assert [r["kimg"] for r in read_jsonl(out / "stats.jsonl")] == [0.016, 0.032]
