"""Data-parallel training over torch.distributed (gloo on the CPU)."""

import os
import socket
import subprocess
import sys

import torch
import torch.multiprocessing as mp

from infiniscape.train import distributed
from infiniscape.train.loop import Trainer
from infiniscape.train.options import TrainOptions
from infiniscape.train.run_dir import RunDir, read_jsonl


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE="2", LOCAL_WORLD_SIZE="2")
    env = distributed.setup("cpu")
    opts = TrainOptions(data="procedural", out=out, config="tiny", batch=4, resolution=32, kimg=0.016,
                        r1_interval=2, diffaug=True, tick_kimg=0.008, snapshot_kimg=1)
    trainer = Trainer(opts, env)
    trainer.fit(progress=False)
    torch.save({name: getattr(trainer, name).state_dict() for name in ("G", "D", "G_ema")},
               os.path.join(out, f"rank{rank}.pt"))
    distributed.teardown(env)


def test_two_gloo_processes_hold_identical_parameters(tmp_path):
    out = str(tmp_path / "run")
    os.makedirs(out)
    mp.spawn(_worker, args=(_free_port(), out), nprocs=2, join=True)
    a, b = (torch.load(tmp_path / "run" / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for name in ("G", "D", "G_ema"):
        assert all(torch.equal(a[name][k], b[name][k]) for k in a[name]), name
    assert a["G"]["mapping.w_avg"].abs().sum() > 0  # w_avg moved, and identically
    stats = read_jsonl(tmp_path / "run" / "stats.jsonl")
    assert [r["kimg"] for r in stats] == [0.008, 0.016]  # rank 0 alone writes the run directory
    assert RunDir(out).load_newest_state()["nimg"] == 16


def test_torchrun_launches_the_train_command(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
           str(_free_port()), "-m", "infiniscape", "train", "--data", "procedural", "--config", "tiny",
           "--batch", "4", "--resolution", "32", "--kimg", "0.008", "--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "on 2 x cpu" in (out / "log.txt").read_text()
    assert (out / "snapshots" / "G_ema-000000008.pt").exists()
