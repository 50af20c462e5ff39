"""Hostile checkpoints, malformed input and full disks: one line, exit status 2, no traceback; nothing
from a file runs, nothing it does reaches a later load, memory stays bounded, nothing half-written stays."""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fixtures import hostile
from fixtures.official.snapshot import load_fixture
from test_official_pickle import write_pickle

from infiniscape.cli import main
from infiniscape.models.pickles.loader import load_official

TESTS = Path(__file__).parent


def refusal(capsys, argv: list[str]) -> str:
    """Run the CLI in this process; it must exit 2 with exactly one line on stderr."""
    try:
        rc = main(argv)
    except SystemExit as e:  # usage errors exit from argparse
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err.strip()


# -- pickles: nothing a refused file does reaches a later load -------------------------------------------

def test_a_refused_pickle_cannot_change_how_later_pickles_load(tmp_path, capsys):
    defaults = torch._utils._rebuild_tensor_v2.__defaults__
    poison = tmp_path / "poison.pkl"
    poison.write_bytes(hostile.poison_defaults())
    line = refusal(capsys, ["info", str(poison)])
    assert "changes the state of a global it names (BUILD" in line
    assert torch._utils._rebuild_tensor_v2.__defaults__ == defaults
    # a legitimate snapshot loaded afterwards in the same process has its own values, not negated ones
    net = load_official(write_pickle(tmp_path, "sg3_t"))
    _, data = load_fixture("sg3_t")
    ours = net.generator.state_dict()
    assert all(torch.equal(ours[k], v.to(ours[k].dtype)) for k, v in data["state"].items())


@pytest.mark.parametrize("qualified", ["torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
                                       "_codecs.encode", "typing.Any", "dnnlib.util.EasyDict",
                                       "collections.OrderedDict", "torch.Tensor", "builtins.dict"])
def test_state_changes_on_any_allowed_global_are_refused_before_loading(tmp_path, capsys, qualified):
    path = tmp_path / "build.pkl"
    path.write_bytes(hostile.build_on(qualified))
    assert "changes the state of a global" in refusal(capsys, ["info", str(path)])


def test_deeply_nested_pickles_are_refused_in_one_line(tmp_path, capsys):
    path = tmp_path / "lists.pkl"
    path.write_bytes(hostile.nested_lists(5000))
    assert "nest more than 200 levels deep" in refusal(capsys, ["info", str(path)])


# -- bombs: tiny files asking for gigabytes, each refused under a peak-memory bound ---------------------

DRIVER = """
import contextlib, io, json, resource, sys
sys.path.insert(0, {tests!r})
from infiniscape.cli import main
results = {{}}
for name, argv in json.loads(sys.argv[1]).items():
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main(argv)
        except SystemExit as e:
            rc = e.code
    results[name] = [rc, err.getvalue()]
results["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(results))
"""


def scene(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text("version: 1\nmodel: tiny\n" + body)
    return str(path)


def test_bombs_are_refused_in_one_line_within_1_5_gb(tmp_path):
    cases = {}
    for name, (file_name, data) in hostile.corpus().items():
        (tmp_path / file_name).write_bytes(data)
        cases[name] = ["info", str(tmp_path / file_name)]
    out = ["--width", "8", "--height", "8", "--out", str(tmp_path / "o.png")]
    laughs = tmp_path / "laughs.yaml"
    laughs.write_text(hostile.BILLION_LAUGHS)
    cases["billion laughs scene"] = ["render", "--scene", str(laughs), *out]
    edit = "edits:\n- resample: {field: local, seed: 1, "
    bodies = {"fusion radius 1e12": "fusion: {radius: 1000000000000}\n",
              "huge edit rectangle": edit + "rect: [0, 0, 1000000, 1000000]}\n",
              "huge feather": edit + "rect: [0, 0, 8, 8], feather: 100000000}\n"}
    for i, (name, body) in enumerate(bodies.items()):
        cases[name] = ["render", "--scene", scene(tmp_path, f"s{i}", body), *out]
    cases["huge output width"] = ["render", "--model", "tiny", "--width", "1000000000", "--out",
                                  str(tmp_path / "w.png")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", DRIVER.format(tests=str(TESTS)), json.dumps(cases)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"  # 139: a segfault
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in cases:
        rc, err = results[name]
        assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (name, err)
        assert "internal error" not in err and "out of memory" not in err, (name, err)
    assert results["peak_mb"] < 1536, results["peak_mb"]
    assert "z_dim=25000 is out of range" in results["StyleGAN2 z_dim=25000"][1]
    assert "z_dim must be an integer from 1 to 4096" in results[".pt with dimensions of 30000"][1]
    assert "z_dim must be an integer from 1 to 4096" in results["model YAML with dimensions of 30000"][1]
    assert "aliases (*name) of lists or mappings" in results["billion laughs scene"][1]
    assert "fusion.radius: expected an integer from 0 to 1048576" in results["fusion radius 1e12"][1]
    assert "covers 125002x125002 cells of field 'local'" in results["huge edit rectangle"][1]


# -- malformed input: every class a named field in one line ---------------------------------------------

def checkpoint(tmp_path: Path, config, g_ema=None) -> str:
    path = tmp_path / "bad.pt"
    path.write_bytes(hostile.native_checkpoint(config, g_ema))
    return str(path)


TINY = {"family": "native", "tile_size": 64, "z_dim": 8, "w_dim": 8, "local_channels": 8,
        "style_spacing": 256, "stages": [[8, 1]] * 4}


@pytest.mark.parametrize("config, g_ema, expected", [
    ([1, 2, 3], None, "config family"),
    (TINY, [1, 2], "'G_ema' is not a state dict of tensors"),
    ({**TINY, "tile_size": 0}, None, "tile_size must be an integer from 8 to 4096, got 0"),
    ({**TINY, "stages": 5}, None, "bad model config"),
    ({**TINY, "z_dim": "eight"}, None, "z_dim must be an integer"),
    ({**TINY, "stages": [[8, 1]] * 40}, None, "stages must list 1 to 8 resolutions"),
    ({**TINY, "style_octaves": [[8, 0, 1.5]]}, None, "style_octaves[0] must be [cells_x >= 1, cells_y >= 0"),
    ({**TINY, "style_octaves": [[8, 0, 0.6], [2, 2, 0.6]]}, None, "shares must sum to less than 1"),
    ({**TINY, "style_octaves": 8}, None, "style_octaves must be a list of [cells_x, cells_y, share]"),
    (TINY, {"mapping.0.weight": "not a tensor"}, "is a str, not a tensor"),
    (TINY, {"no.such.tensor": torch.zeros(2)}, "does not match its config"),
])
def test_malformed_checkpoints_name_what_is_wrong(tmp_path, capsys, config, g_ema, expected):
    assert expected in refusal(capsys, ["info", checkpoint(tmp_path, config, g_ema)])


@pytest.mark.parametrize("body, expected", [
    ("styles:\n- {at: [.inf, .nan], seed: 1}\n", "styles[0].at: expected a finite number"),
    ("truncation: .nan\n", "truncation: expected a finite number"),
    ("edits:\n- resample: {field: local, rect: [0, 0, 8, 8], seed: 1, feather: -4}\n",
     "edits[0].resample.feather: expected an integer from 0 to 65536, got -4"),
    ("edits:\n- resample: {field: local, rect: [2000000000000, 0, 8, 8], seed: 1}\n",
     "edits[0].resample.rect: expected an integer from -1099511627776 to 1099511627776"),
    ("styles: " + "[" * 20000 + "]" * 20000 + "\n", "nested more than 64 levels deep"),
    ("seed: 1180591620717411303424\n", "seed: expected an integer"),
    ("fusion: {radius: 100000}\n", "a blur of 100000 px spans more than 1024 steps"),
    ("styles:\n- {at: [0, 0], seed: 1, radius: -1}\n", "styles[0].radius: expected an integer from 0"),
    ("x" * 1000 + ": 1\n", "unknown key 'xxxxxxxx"),
], ids=["inf-nan", "nan", "negative-feather", "far-rect", "20000-brackets", "huge-seed", "huge-blur",
        "negative-radius", "long-key"])
def test_malformed_scenes_name_the_field_in_one_short_line(tmp_path, capsys, body, expected):
    line = refusal(capsys, ["render", "--scene", scene(tmp_path, "bad", body), "--width", "8",
                            "--height", "8", "--out", str(tmp_path / "o.png")])
    assert expected in line and len(line) < 500, line


def test_render_arguments_out_of_the_world_are_one_line(tmp_path, capsys):
    out = str(tmp_path / "o.png")
    assert "--x: invalid" in refusal(capsys, ["render", "--model", "tiny", "--x", "1e18", "--out", out])
    line = refusal(capsys, ["render", "--model", "tiny", "--x", str(1 << 41), "--out", out])
    assert "--x must be within" in line
    line = refusal(capsys, ["render", "--model", "tiny", "--out", "/proc/x.png"])
    assert "cannot write /proc/x.png" in line
    assert not list(tmp_path.iterdir())


def test_unexpected_errors_are_one_line_unless_debugging(tmp_path, capsys, monkeypatch):
    from infiniscape.renderer import world

    def broken(*args, **kwargs):
        raise ZeroDivisionError("integer division or modulo by zero")

    monkeypatch.setattr(world.World, "iter_pieces", broken)
    argv = ["render", "--model", "tiny", "--out", str(tmp_path / "o.png")]
    line = refusal(capsys, argv)
    assert line == ("infiniscape render: error: internal error (ZeroDivisionError: integer division or "
                    "modulo by zero); run again with --debug for the traceback and report it")
    assert main([*argv, "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.setenv("INFINISCAPE_DEBUG", "1")
    assert main(argv) == 2 and "Traceback" in capsys.readouterr().err


def test_ctrl_c_anywhere_is_exit_130_in_one_line(tmp_path, capsys, monkeypatch):
    from infiniscape.renderer import world

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(world.World, "iter_pieces", interrupted)
    assert main(["render", "--model", "tiny", "--out", str(tmp_path / "o.png")]) == 130
    assert capsys.readouterr().err.strip() == "infiniscape render: interrupted"
    assert not list(tmp_path.iterdir())


# -- full disks ------------------------------------------------------------------------------------------

def _tmpfs_available() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /tmp"],
                           capture_output=True)
    return probe.returncode == 0


def on_small_disk(tmp_path: Path, kib: int, setup: str, argv: list[str],
                  file_kib: int | None = None) -> tuple[int, str]:
    """Run `infiniscape ARGV` with DISK (tmp_path / "disk", in ARGV and SETUP) a file system of `kib`:
    a small tmpfs in a private mount namespace where the kernel allows one, else the same command under
    a size limit of `file_kib` (default `kib`) per file (writes past it fail with EFBIG, as on a full
    disk). DISK's contents are copied to tmp_path / "after" when the command ends."""
    disk = tmp_path / "disk"
    disk.mkdir()
    after = tmp_path / "after"
    cmd = " ".join([sys.executable, "-m", "infiniscape", *argv])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if _tmpfs_available():
        script = (f"mount -t tmpfs -o size={kib}k tmpfs {disk} && {setup} && {cmd} 2> {tmp_path}/err; "
                  f"echo $? > {tmp_path}/rc; cp -r {disk} {after}")
        subprocess.run(["unshare", "-rm", "sh", "-c", script], env=env, timeout=600, check=True)
        return int((tmp_path / "rc").read_text()), (tmp_path / "err").read_text()
    subprocess.run(["sh", "-c", setup], check=True)

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = (file_kib or kib) * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(cmd.split(), env=env, capture_output=True, text=True, timeout=600, preexec_fn=limit)
    shutil.copytree(disk, after)
    return proc.returncode, proc.stderr


def test_a_render_on_a_full_disk_is_one_line_and_leaves_nothing(tmp_path):
    out = tmp_path / "disk" / "big.npy"
    argv = ["render", "--model", "tiny", "--width", "1024", "--height", "1024", "--out", str(out)]
    rc, err = on_small_disk(tmp_path, 256, "true", argv)
    assert rc == 2 and err.strip() == (f"infiniscape render: error: disk full: cannot write {out}; free some "
                                       "space and try again (nothing half-written was left)")
    assert list((tmp_path / "after").iterdir()) == []


def test_a_dataset_on_a_full_disk_is_one_line_and_leaves_no_partial_zip(tmp_path):
    out = tmp_path / "disk" / "data.zip"
    argv = ["dataset", "--source", "procedural", "--count", "200", "--resolution", "64", "--dest", str(out)]
    rc, err = on_small_disk(tmp_path, 128, "true", argv)
    assert rc == 2 and err.strip().endswith(f"disk full: cannot write {out}; free some space and try again "
                                            "(nothing half-written was left)"), err
    assert list((tmp_path / "after").iterdir()) == []


def test_training_on_a_full_disk_keeps_its_snapshots_and_says_so(tmp_path):
    run = tmp_path / "run"
    first = subprocess.run([sys.executable, "-m", "infiniscape", "train", "--data", "procedural", "--config",
                            "tiny", "--batch", "8", "--kimg", "0.008", "--tick-kimg", "0.008", "--quiet",
                            "--snapshot-kimg", "0.008", "--out", str(run)], capture_output=True, text=True,
                           env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert first.returncode == 0, first.stderr
    used_kib = sum(f.stat().st_size for f in run.rglob("*") if f.is_file()) // 1024
    disk_run = tmp_path / "disk" / "run"
    g_ema_kib = (run / "snapshots" / "G_ema-000000008.pt").stat().st_size // 1024
    rc, err = on_small_disk(tmp_path, used_kib + 96, f"cp -r {run} {disk_run}",
                            ["train", "--resume", str(disk_run), "--kimg", "0.4", "--quiet"], g_ema_kib // 2)
    assert rc == 2 and err.count("\n") == 1 and "disk full: cannot write" in err, err
    after = tmp_path / "after" / "run"
    status = json.loads((after / "status.json").read_text())
    assert status["state"] == "failed" and status["error"].startswith("disk full: cannot write"), status
    assert not [p for p in after.rglob("*") if p.name.endswith((".tmp", ".partial"))]
    states = sorted((after / "snapshots").glob("state-*.pt"))
    assert [p.name for p in states][:1] == ["state-000000008.pt"]
    for state in states:  # every snapshot left loads whole
        torch.load(state, weights_only=True)
        torch.load(str(state).replace("state-", "G_ema-"), weights_only=True)
