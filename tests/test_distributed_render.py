"""Rendering under torchrun: the ranks share the tile rows, rank 0 writes exactly the bytes one process
writes, and a failure on any rank stops every rank with one line and exit status 2."""

import os
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
import torch.multiprocessing as mp

from infiniscape.cli import main

# 5 tile rows of the tiny model's 64 px tiles, corner unaligned: rank 0 renders 3, rank 1 renders 2
RECT = ["--model", "tiny", "--seed", "3", "--x", "-91", "--y", "13", "--width", "150", "--height", "260"]
SCENE = """\
version: 1
model: tiny
truncation: 0.8
edits:
  - resample: {field: local, rect: [0, 20, 40, 30], seed: 123, stats_rect: null, feather: 8}
  - resample: {field: noise, rect: [-20, 105, 10, 10], seed: 5, stats_rect: [100, 100, 32, 32]}
styles:
  - {at: [30, 20], seed: 5}
  - {at: [-90, 140], pick: [200, 10]}
"""


@pytest.fixture(autouse=True)
def one_thread_like_the_ranks():
    """The ranks run with one thread each; at other thread counts oneDNN picks other CPU kernels (other
    last bits), so the in-process reference renders with one thread too (CI does not set
    OMP_NUM_THREADS)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
           str(_free_port()), "-m", "infiniscape", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def _two_ranks(args_of_rank) -> list[subprocess.CompletedProcess]:
    """Two ranks started as torchrun starts them (its environment), each with its own arguments, so
    each rank's exit status and message can be seen."""
    port = str(_free_port())
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port,
           "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2"}
    procs = [subprocess.Popen([sys.executable, "-m", "infiniscape", *args_of_rank(r)], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**env, "RANK": str(r), "LOCAL_RANK": str(r)})
             for r in (0, 1)]
    done = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("out, extra", [("world.png", ["--scene", "SCENE"]),  # edits, style anchors
                                        ("world.npy", ["--zoom", "1/2"])])
def test_two_ranks_write_the_bytes_one_process_writes(tmp_path, out, extra):
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "scene.yaml").write_text(SCENE)
    extra = [str(tmp_path / "two" / "scene.yaml") if a == "SCENE" else a for a in extra]
    split = _torchrun("render", *RECT, *extra, "--out", str(tmp_path / "two" / out), "--quiet")
    assert split.returncode == 0, split.stderr[-2000:]
    assert main(["render", *RECT, *extra, "--out", str(tmp_path / out), "--quiet"]) == 0
    assert (tmp_path / "two" / out).read_bytes() == (tmp_path / out).read_bytes()
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted([out, "scene.yaml"])  # no partial


def test_two_ranks_write_the_deep_zoom_pyramid_one_process_writes(tmp_path):
    pyramid = ["export", *RECT, "--tile-size", "50", "--overlap", "2", "--quiet"]
    (tmp_path / "two").mkdir()
    split = _torchrun(*pyramid, "--dzi", str(tmp_path / "two" / "w.dzi"))
    assert split.returncode == 0, split.stderr[-2000:]
    assert main([*pyramid, "--dzi", str(tmp_path / "w.dzi")]) == 0
    one, two = _files(tmp_path), _files(tmp_path / "two")
    assert len(two) > 20 and two == {k: v for k, v in one.items() if not k.startswith("two/")}


def test_a_failure_on_rank_1_stops_both_ranks_with_one_line(tmp_path):
    ranks = _two_ranks(lambda r: ["render", *RECT, "--out", str(tmp_path / "w.png")]
                       + (["--model", str(tmp_path / "missing.yaml")] if r == 1 else []))
    assert [p.returncode for p in ranks] == [2, 2]
    lines = "".join(p.stderr for p in ranks).splitlines()
    assert lines == [f"infiniscape render: error: rank 1 of 2: model file {tmp_path / 'missing.yaml'} "
                     "does not exist"]
    assert not list(tmp_path.iterdir())


def test_an_unwritable_output_stops_both_ranks_with_one_line(tmp_path):
    ranks = _two_ranks(lambda r: ["render", *RECT, "--out", str(tmp_path / "no" / "w.png"), "--quiet"])
    assert [p.returncode for p in ranks] == [2, 2]
    assert "".join(p.stderr for p in ranks).splitlines() == [
        f"infiniscape render: error: cannot write {tmp_path / 'no' / 'w.png'}: folder {tmp_path / 'no'} "
        "does not exist"]


def test_ranks_holding_different_worlds_are_refused(tmp_path):
    ranks = _two_ranks(lambda r: ["render", *RECT, "--out", str(tmp_path / "w.png"), "--quiet"]
                       + (["--seed", "4"] if r == 1 else []))
    assert [p.returncode for p in ranks] == [2, 2]
    lines = "".join(p.stderr for p in ranks).splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("infiniscape render: error: the ranks loaded different worlds")
    assert not list(tmp_path.iterdir())


def test_random_noise_is_refused_under_torchrun(tmp_path):
    out = str(tmp_path / "w.png")
    ranks = _two_ranks(lambda r: ["render", *RECT, "--noise-mode", "random", "--out", out])
    assert [p.returncode for p in ranks] == [2, 2]
    lines = "".join(p.stderr for p in ranks).splitlines()
    assert len(lines) == 1 and "--noise-mode random" in lines[0]


# -- the row protocol itself: failures in the middle of an output ------------------------------------
ROWS = 7


def _row(i: int) -> np.ndarray:
    return np.full((3 + i % 2, 5, 3), i, np.uint8)


def _protocol_worker(rank: int, port: int, folder: str, fail: str) -> None:
    """One rank of a 7-row output: ``fail`` is "render" (rank 1 cannot render row 5) or "write"
    (rank 0 cannot write row 2, while rank 1's row 3 is on its way). Writes rank<r>.txt."""
    from infiniscape.commands.torchrun import run_on_ranks
    from infiniscape.models.errors import UserError
    from infiniscape.renderer.rank_rows import rows_on_ranks

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE="2", LOCAL_WORLD_SIZE="2")
    import torch

    torch.set_num_threads(1)  # as every rank under torchrun here, and the reference
    got = []

    def render(i: int) -> np.ndarray:
        if fail == "render" and i == 5:
            raise UserError("row 5 cannot be rendered")
        return _row(i)

    def body(env, device) -> int:
        with closing(rows_on_ranks(env, ROWS, render, lambda i: _row(i).shape, np.dtype(np.uint8))) as rows:
            for row in rows:
                if fail == "write" and len(got) == 2:
                    raise UserError("row 2 cannot be written")
                got.append(int(row[0, 0, 0]))
        return 0

    try:
        code = run_on_ranks("cpu", body)
    except UserError as e:
        code = f"2 {e}"
    Path(folder, f"rank{rank}.txt").write_text(f"{code}|{got}")


@pytest.mark.parametrize("fail, reported", [
    ("render", ["2", "2 rank 1 of 2: row 5 cannot be rendered"]),
    ("write", ["2 row 2 cannot be written", "2"]),
])
def test_a_failure_mid_output_stops_every_rank_at_the_next_round(tmp_path, fail, reported):
    ctx = mp.start_processes(_protocol_worker, args=(_free_port(), str(tmp_path), fail), nprocs=2, join=False)
    deadline = time.monotonic() + 90
    try:
        while not ctx.join(timeout=5):
            assert time.monotonic() < deadline, "the ranks hang"
    finally:
        for proc in ctx.processes:
            proc.kill()
    outcome = [(tmp_path / f"rank{r}.txt").read_text().split("|") for r in (0, 1)]
    assert [code for code, _ in outcome] == reported
    received = {"render": "[0, 1, 2, 3]", "write": "[0, 1]"}[fail]  # rows 4, 5 never reach rank 0
    assert [rows for _, rows in outcome] == [received, "[]"]


# -- metrics: fid and kid share their generated tiles -----------------------------------------------
def _tiles_worker(rank: int, port: int, folder: str) -> None:
    from infiniscape.commands.metrics import sample_tile_images
    from infiniscape.commands.torchrun import run_on_ranks
    from infiniscape.models.registry import load_model
    from infiniscape.renderer.analysis.average import sample_tiles
    from infiniscape.renderer.scene import Scene
    from infiniscape.renderer.world import World

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE="2", LOCAL_WORLD_SIZE="2")

    def body(env, device) -> int:
        world = World(load_model("tiny"), Scene(seed=3), tile_batch=2)
        images = sample_tile_images(world, sample_tiles(7, seed=1), env)
        np.save(Path(folder, f"rank{rank}.npy"), np.zeros(0) if images is None else images)
        return 0

    assert run_on_ranks("cpu", body) == 0


def test_fid_tiles_rendered_by_two_ranks_are_one_process_tiles(tmp_path, tiny):
    from infiniscape.renderer.analysis.average import sample_tiles, world_tiles
    from infiniscape.renderer.scene import Scene
    from infiniscape.renderer.world import World

    mp.start_processes(_tiles_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True)
    alone = np.stack(list(world_tiles(World(tiny, Scene(seed=3), tile_batch=2), sample_tiles(7, seed=1))))
    split = np.load(tmp_path / "rank0.npy")
    assert split.shape == (7, 64, 64, 3) and split.tobytes() == alone.tobytes()
    assert np.load(tmp_path / "rank1.npy").size == 0  # rank 0 alone holds them


def test_metrics_that_run_in_one_process_are_refused_under_torchrun():
    ranks = _two_ranks(lambda r: ["metrics", "--model", "tiny", "--metric", "seams,kid"])
    assert [p.returncode for p in ranks] == [2, 2]
    assert "".join(p.stderr for p in ranks).splitlines() == [
        "infiniscape metrics: error: under torchrun only fid and kid are split among ranks: run seams in one "
        "process, without torchrun"]
