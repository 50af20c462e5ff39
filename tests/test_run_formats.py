"""Run directories the studio reads besides its own: the StyleGAN2-ADA loop's (StyleGAN3, ALIS,
INR-GAN, Projected GAN) on fixtures that follow the official writers field for field, InfinityGAN's
logs/<exp>/, and custom commands launched as runs."""

from __future__ import annotations

import json
import pathlib
import shlex
import sys
import time

import numpy as np
import pytest
from fixtures.sg2ada_runs import (
    SG2Run,
    age,
    tick_nimgs,
    write_infinitygan_logs,
    write_mixed_folder,
    write_sg2_run,
)

from infiniscape import sg2ada_runs
from infiniscape.command_runs import CommandForm, outdir_of
from infiniscape.models.errors import UserError
from infiniscape.run_list import TrainingRuns, detect
from infiniscape.run_view import columns


def means(run_dir, stat):
    recs = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()
            if line.endswith("}")]
    return [r[stat]["mean"] for r in recs]


def view_of(path):
    return TrainingRuns().watcher(path).poll()


# -- StyleGAN2-ADA-format run directories --------------------------------------------------------------

def test_a_finished_run_gives_every_stat_metric_grid_and_snapshot(tmp_path):
    d = write_sg2_run(tmp_path, SG2Run())
    assert d.name == "00000-stylegan3-t-afhqv2-32x32-gpus1-batch32-gamma8.2" and detect(d) == "sg2-ada"
    v = view_of(d)
    assert (v.format, v.state, v.error) == ("sg2-ada", "finished", None)
    assert list(v.stats["Progress/kimg"]) == [0.032, 4.032, 8.032, 12.032, 16.032, 20.0]
    assert list(v.stats["Loss/G/loss"]) == means(d, "Loss/G/loss")
    assert list(v.stats["Resources/peak_gpu_mem_gb"]) == means(d, "Resources/peak_gpu_mem_gb")
    r1 = v.stats["Loss/r1_penalty"]  # lazy R1: NaN in the ticks without an R1 step (num 0)
    assert np.isnan(r1[1]) and np.isfinite(r1[0]) and "timestamp" not in v.stats
    assert v.x_axes == {"kimg": "Progress/kimg", "hours": "Timing/total_hours", "tick": "Progress/tick"}
    kimg, fid = v.metrics["fid50k_full"]
    assert list(kimg) == [0, 8, 16, 20]
    assert list(fid) == [300 / (1 + n / 2000) for n in (32, 8032, 16032, 20000)]
    assert [p.name for p in v.grids] == ["fakes_init.png", "fakes000000.png", "fakes000008.png",
                                         "fakes000016.png", "fakes000020.png"]
    assert v.grid_path == d / "fakes000020.png" and v.grid.shape == (1024, 1024, 3)  # 32 x 32 tiles of 32 px
    assert [p.name for p in v.snapshots] == [f"network-snapshot-{k:06d}.pkl" for k in (0, 8, 16, 20)]
    assert v.snapshot == d / "network-snapshot-000020.pkl"
    assert v.status == {"kimg": 20.0, "total_kimg": 20.0, "progress": 1.0,
                        "sec_per_kimg": round(means(d, "Timing/sec_per_kimg")[-1], 2)}
    assert v.about == "networks_stylegan3.Generator, 1 GPU, batch 32"
    assert v.tail[-1] == "Exiting..."


def test_a_running_run_without_metrics_waits_for_its_half_written_line(tmp_path):
    d = write_sg2_run(tmp_path, SG2Run(metrics=[], ticks=3, ending="running"))
    w = TrainingRuns().watcher(d)
    v = w.poll()
    assert (v.state, v.error, v.metrics) == ("running", None, {})
    assert list(v.stats["Progress/kimg"]) == [0.032, 4.032, 8.032]  # the torn 4th line is not read yet
    assert v.status["kimg"] == 8.032 and v.status["eta_s"] > 0 and not list(d.glob("metric-*.jsonl"))
    *_, last, torn = (d / "stats.jsonl").read_text().split("\n")
    with open(d / "stats.jsonl", "a") as f:  # the writer finishes that line
        f.write(last[len(torn):] + "\n")
    assert len(w.poll().stats["Progress/kimg"]) == 4


def test_malformed_jsonl_lines_are_skipped_never_raised(tmp_path):
    d = write_sg2_run(tmp_path, SG2Run(ticks=2, ending="running"))
    with open(d / "stats.jsonl", "ab") as f:
        f.write(b'\n[1, 2]\n"text"\n\xff\xfe garbage\n'
                b'{"Progress/kimg": "eight", "Loss/G/loss": {"mean": null}}\n'
                b'{"Progress/kimg": {"num": 1, "mean": 9.0, "std": 0}, "Loss/G/loss": 7}\n{"deep": '
                + b"[" * 100000 + b"\n")
    with open(d / "metric-fid50k_full.jsonl", "a") as f:
        f.write('{"results": "none"}\n{"results": {"fid50k_full": "x"}, "snapshot_pkl": null}\nnot json\n')
    v = view_of(d)
    assert v.state == "running"
    kimg = v.stats["Progress/kimg"]
    assert list(kimg[:2]) == [0.032, 4.032] and np.isnan(kimg[2]) and kimg[3] == 9.0
    assert v.stats["Loss/G/loss"][3] == 7.0 and np.isnan(v.stats["Loss/G/loss"][2])
    assert list(v.metrics["fid50k_full"][0]) == [0.0]  # only the well-formed evaluation


def test_columns_keep_numbers_and_drop_text():
    cols = columns([{"a": 1, "b": "x", "c": None}, {"a": True, "b": "y", "c": 2.5}])
    assert set(cols) == {"a", "c"} and np.isnan(cols["a"][1]) and np.isnan(cols["c"][0])


def test_a_crashed_run_names_the_exception_from_log_txt(tmp_path):
    d = write_sg2_run(tmp_path, SG2Run(ticks=4, ending="crashed"))
    v = view_of(d)
    assert v.state == "crashed"
    assert v.error == ("RuntimeError: CUDA out of memory. Tried to allocate 512.00 MiB "
                       "(GPU 0; 23.69 GiB total capacity)")
    assert [p.name for p in v.snapshots] == ["network-snapshot-000000.pkl", "network-snapshot-000008.pkl"]
    assert "eta_s" not in v.status


def test_how_a_run_ended_comes_from_the_last_lines_of_log_txt():
    tick = "tick 3     kimg 12.0     time 4m 00s       sec/tick 60.0    sec/kimg 15.18   augment 0.060"
    assert sg2ada_runs.log_ending(f"{tick}\n\nExiting...\n") == ("finished", None)
    assert sg2ada_runs.log_ending(f"{tick}\n\nAborting...\n\nExiting...\n") == ("stopped", None)
    ctrl_c = f"{tick}\nTraceback (most recent call last):\n  File \"train.py\", line 1\nKeyboardInterrupt\n"
    assert sg2ada_runs.log_ending(ctrl_c) == ("stopped", None)
    assert sg2ada_runs.log_ending(f"{tick}\n") is None
    assert sg2ada_runs.log_ending("  File \"x.py\", line 9, in f\nValueError: bad zip\n") == \
        ("crashed", "ValueError: bad zip")  # a traceback longer than the tail read
    # a traceback from an earlier tick is followed by ticks: not the ending
    assert sg2ada_runs.log_ending(f"Traceback (most recent call last):\nOSError: x\n{tick}\n") is None


def test_a_run_that_went_quiet_without_an_ending_is_stalled(tmp_path):
    d = write_sg2_run(tmp_path, SG2Run(ticks=2, ending="running"))
    age(d, 2 * 3600)
    v = view_of(d)
    assert v.state == "stalled" and v.error.startswith("no output for 2h 00m and no end in log.txt")
    assert "eta_s" not in v.status
    assert sg2ada_runs.run_state("tick 1 kimg 4.0\nEvaluating metrics...\n", 2 * 3600, 60.0)[0] == "running"


def test_alis_and_inr_gan_forks_write_jpg_grids_and_no_reserved_memory(tmp_path):
    d = write_sg2_run(tmp_path, SG2Run(fork="alis", cfg="auto", dataset="lhq256", metrics=[]))
    v = view_of(d)
    assert v.state == "finished" and v.grid_path.name == "fakes000020.jpg"
    assert v.grids[0].name == "fakes_init.jpg" and v.grid.shape == (1024, 1024, 3)
    assert "Resources/peak_gpu_mem_reserved_gb" not in v.stats
    assert "reserved" not in (d / "log.txt").read_text()


def test_the_tick_arithmetic_of_the_loop():
    ticks = tick_nimgs(SG2Run(batch=32, kimg_per_tick=4, total_kimg=20))
    assert ticks == [32, 4032, 8032, 12032, 16032, 20000]
    assert tick_nimgs(SG2Run(batch=24, kimg_per_tick=1, total_kimg=2))[-1] == 2016


# -- InfinityGAN ---------------------------------------------------------------------------------------

def test_infinitygan_logs_give_state_progress_and_checkpoints(tmp_path):
    d = write_infinitygan_logs(tmp_path / "logs", iters=(3000, 6000, 9000),
                               error="CUDA error: device-side assert")
    assert detect(d) == "infinitygan"
    v = view_of(d)
    assert (v.format, v.state, v.error) == ("infinitygan", "crashed", "CUDA error: device-side assert")
    assert [p.name for p in v.snapshots] == ["best_fid.pth.tar", "inter_00006000.pth.tar",
                                             "inter_00009000.pth.tar"]
    assert v.status == {"iter": 9000, "kimg": 144.0, "total_kimg": 25600.0, "progress": 9000 / 1_600_000}
    assert "TensorBoard only" in v.note and not v.stats and v.grid is None
    fresh = write_infinitygan_logs(tmp_path / "logs", exp="Fresh")
    assert view_of(fresh).state == "running"
    done = write_infinitygan_logs(tmp_path / "logs", exp="Done", iters=(1_597_000,), best_fid=False)
    age(done, 7200)
    assert view_of(done).state == "finished"
    quiet = write_infinitygan_logs(tmp_path / "logs", exp="Quiet", iters=(6000,))
    age(quiet, 7200)
    assert view_of(quiet).state == "stalled"


# -- a folder of runs of every format -----------------------------------------------------------------------

def test_a_folder_of_runs_of_every_format_is_listed(tmp_path):
    write_mixed_folder(tmp_path)
    rows = {r.path.name: r for r in TrainingRuns().scan(tmp_path)}
    assert {n: (r.format, r.state) for n, r in rows.items()} == {
        "00000-stylegan3-t-afhqv2-32x32-gpus1-batch32-gamma8.2": ("sg2-ada", "finished"),
        "00001-stylegan3-t-afhqv2-32x32-gpus1-batch32-gamma8.2": ("sg2-ada", "crashed"),
        "own": ("infiniscape", "killed"), "ig": ("infinitygan", "crashed")}
    done = rows["00000-stylegan3-t-afhqv2-32x32-gpus1-batch32-gamma8.2"]
    assert (done.kimg, done.total_kimg, done.metric) == (20.0, 20.0, "fid50k_full 27.27 (20 kimg)")
    assert done.snapshot.name == "network-snapshot-000020.pkl"


# -- custom commands -----------------------------------------------------------------------------------

def wait_for(cond, timeout=30.0):
    end = time.time() + timeout
    while not cond():
        assert time.time() < end, "timed out"
        time.sleep(0.05)


def test_a_command_runs_with_its_console_captured_and_its_exit_recorded(tmp_path):
    runs = TrainingRuns()
    form = CommandForm(command=f"{sys.executable} -c \"print('hello from the command')\"", cwd=str(tmp_path),
                       root=str(tmp_path / "runs"))
    out = runs.launch_command(form)
    assert out.name == f"00000-command-{pathlib.Path(sys.executable).stem}"
    wait_for(lambda: runs.watcher(out).poll().state == "finished")
    v = runs.watcher(out).poll()
    assert v.tail == ("$ " + shlex.join([sys.executable, "-c", "print('hello from the command')"]),
                      "hello from the command")
    assert (out / "exit_status").read_text() == "0\n"
    assert TrainingRuns().watcher(out).poll().state == "finished"  # known after a restart of the studio
    assert [(r.path, r.format, r.state) for r in TrainingRuns().scan(tmp_path / "runs")] == \
        [(out, "command", "finished")]


def test_a_failing_command_is_crashed_with_its_last_line(tmp_path):
    runs = TrainingRuns()
    out = runs.launch_command(CommandForm(command=f"{sys.executable} -c \"raise SystemExit('bad --data')\"",
                                          root=str(tmp_path)))
    wait_for(lambda: runs.watcher(out).poll().state != "running")
    v = runs.watcher(out).poll()
    assert (v.state, v.error) == ("crashed", "bad --data")


WRITER = """import sys, time
sys.path.insert(0, {tests!r})
from fixtures.sg2ada_runs import SG2Run, write_sg2_run
write_sg2_run({outdir!r}, SG2Run(ticks=3, ending="running"))
print("training...", flush=True)
time.sleep(120)
"""


def test_a_command_shows_the_run_it_writes_and_stops_with_sigterm(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(WRITER.format(tests=str(pathlib.Path(__file__).parent), outdir=str(tmp_path / "out")))
    write_sg2_run(tmp_path / "out", SG2Run())  # an older run in the same --outdir: not this command's
    age(next((tmp_path / "out").iterdir()), 3600)
    runs = TrainingRuns()
    form = CommandForm(command=f"{sys.executable} train.py --outdir=out --cfg=stylegan3-t", cwd=str(tmp_path),
                       root=str(tmp_path / "runs"))
    assert form.watch_dir() == tmp_path / "out"
    out = runs.launch_command(form)
    assert out.name == "00000-command-train"
    w = runs.watcher(out)
    wait_for(lambda: w.poll().watched is not None and "training..." in w.poll().tail)
    v = w.poll()
    assert (v.format, v.state) == ("command", "running")
    assert v.watched.name == "00001-stylegan3-t-afhqv2-32x32-gpus1-batch32-gamma8.2"
    assert list(v.stats["Progress/kimg"]) == [0.032, 4.032, 8.032]
    assert v.snapshot.name == "network-snapshot-000008.pkl"
    assert v.about == f"$ {sys.executable} train.py --outdir=out --cfg=stylegan3-t   (in {tmp_path})"
    row = next(r for r in runs.scan(tmp_path / "runs"))
    assert (row.format, row.state, row.kimg) == ("command", "running", 8.032)
    assert runs.stop(out) == f"stopping {out.name}: SIGTERM to its processes"
    wait_for(lambda: w.poll().state == "stopped")
    assert (out / "exit_status").read_text() == f"{128 + 15}\n"


def test_command_form_errors_are_one_line(tmp_path):
    with pytest.raises(UserError, match="^no command"):
        CommandForm(command="  ").argv()
    with pytest.raises(UserError, match="^command: No closing quotation$"):
        CommandForm(command="python 'train.py").argv()
    with pytest.raises(UserError, match="^command not found: no-such-trainer$"):
        TrainingRuns().launch_command(CommandForm(command="no-such-trainer --x", root=str(tmp_path)))
    with pytest.raises(UserError, match="does not exist$"):
        CommandForm(command="python x.py", cwd=str(tmp_path / "nowhere")).workdir()
    assert outdir_of(["python", "train.py", "--outdir", "~/r", "--cfg=x"]) == "~/r"
    assert CommandForm(command="python train.py --outdir=~/r").argv()[2].startswith("--outdir=/")
    assert outdir_of(["python", "train.py", "configs/x.yaml"]) is None
