import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from infiniscape.cli import main
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.world import World, to_uint8


def run_cli(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(list(argv)))
    captured = capsys.readouterr()
    run_cli.stdout = captured.out
    return exc.value.code, captured.err


def assert_one_line_error(code, err, *words):
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], lines[0]


def test_render_writes_the_requested_png(capsys, tmp_path):
    code, _ = run_cli(capsys, "render", "--model", "tiny", "--width", "100", "--height", "30",
                      "--x", "-20", "--out", str(tmp_path / "o.png"), "--quiet")
    assert code == 0
    assert Image.open(tmp_path / "o.png").size == (100, 30)


def test_render_at_a_zoom_is_the_worlds_level(capsys, tmp_path, tiny):
    code, _ = run_cli(capsys, "render", "--model", "tiny", "--seed", "5", "--zoom", "1/4", "--x", "-37",
                      "--y", "11", "--width", "90", "--height", "40", "--out", str(tmp_path / "z.png"),
                      "--quiet")
    assert code == 0
    level2 = World(tiny, Scene(seed=5)).render(-10, 2, 90, 40, level=2)  # the corner snapped down to (-40, 8)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "z.png")), to_uint8(level2))


@pytest.mark.parametrize("zoom", ["1/8", "0.125", "1"])
def test_zoom_takes_fractions_and_decimals(capsys, tmp_path, zoom):
    code, _ = run_cli(capsys, "render", "--model", "tiny", "--zoom", zoom, "--width", "20", "--height", "10",
                      "--out", str(tmp_path / "z.png"), "--quiet")
    assert code == 0 and Image.open(tmp_path / "z.png").size == (20, 10)


@pytest.mark.parametrize("zoom", ["0.3", "2", "0", "abc"])
def test_zoom_other_than_one_over_a_power_of_two_is_refused(capsys, tmp_path, zoom):
    code, err = run_cli(capsys, "render", "--model", "tiny", "--zoom", zoom, "--out", str(tmp_path / "z.png"))
    assert_one_line_error(code, err, "--zoom", "use 1, 1/2, 1/4, 1/8")
    assert not (tmp_path / "z.png").exists()


def test_export_writes_a_deep_zoom_pyramid(capsys, tmp_path):
    out = tmp_path / "world.dzi"
    code, _ = run_cli(capsys, "export", "--model", "tiny", "--x", "-64", "--y", "64", "--width", "200",
                      "--height", "90", "--tile-size", "64", "--dzi", str(out), "--quiet")
    assert code == 0
    assert out.read_text().splitlines()[-1] == (
        '<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" TileSize="64" Overlap="1" Format="png">'
        '<Size Width="200" Height="90"/></Image>')
    files = tmp_path / "world_files"
    assert sorted(int(p.name) for p in files.iterdir()) == list(range(9))  # 200 px: levels 0 .. 8
    tiles = sorted(p.name for p in (files / "8").iterdir())
    assert tiles == [f"{c}_{r}.png" for c in range(4) for r in range(2)]
    assert Image.open(files / "8" / "3_1.png").size == (200 - 3 * 64 + 1, 90 - 64 + 1)
    assert Image.open(files / "0" / "0_0.png").size == (1, 1)


@pytest.mark.parametrize("args", [("--dzi", "missing/o.dzi"), ("--dzi", "o.png"), ("--overlap", "-1"),
                                  ("--tile-size", "0"), ("--tile-size", "8", "--overlap", "8")])
def test_export_refuses_bad_options_in_one_line(capsys, tmp_path, args):
    args = tuple(str(tmp_path / a) if a.endswith(("dzi", "png")) else a for a in args)
    dzi = () if "--dzi" in args else ("--dzi", str(tmp_path / "o.dzi"))
    code, err = run_cli(capsys, "export", "--model", "tiny", *dzi, *args)
    assert_one_line_error(code, err)
    assert list(tmp_path.iterdir()) == []


def test_info_describes_the_model(capsys):
    code, _ = run_cli(capsys, "info", "tiny")
    assert code == 0
    for fact in ("family:       native", "tile size:    64 px", "parameters:", "local", "seams=exact"):
        assert fact in run_cli.stdout


def test_info_names_the_style_octaves_of_the_built_in_world(capsys):
    code, _ = run_cli(capsys, "info", "landscape")
    assert code == 0
    assert ("one cell = 512 px, 128 channels; 0.9 of its variance from a lattice every 8 cells along x, "
            "one per column") in run_cli.stdout


@pytest.mark.parametrize("size", [("--width", "0"), ("--height", "-5"), ("--width", "abc")])
def test_non_positive_size_is_refused(capsys, tmp_path, size):
    code, err = run_cli(capsys, "render", "--model", "tiny", *size, "--out", str(tmp_path / "o.png"))
    assert_one_line_error(code, err, size[0])


def test_unknown_model_name_is_refused(capsys, tmp_path):
    code, err = run_cli(capsys, "render", "--model", "nonesuch", "--out", str(tmp_path / "o.png"))
    assert_one_line_error(code, err, "nonesuch", "tiny")


def test_missing_model_file_is_refused(capsys, tmp_path):
    out = str(tmp_path / "o.png")
    code, err = run_cli(capsys, "render", "--model", str(tmp_path / "gone.pt"), "--out", out)
    assert_one_line_error(code, err, "does not exist")


def foreign_files(tmp_path):
    png = tmp_path / "image.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(png)
    zpath = tmp_path / "archive.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("hello.txt", "hi")
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.pt"
    torch.save({"weights": torch.zeros(1000)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:300])
    return [png, zpath, other, empty, truncated, tmp_path]


def test_foreign_or_broken_model_files_are_refused(capsys, tmp_path):
    for path in foreign_files(tmp_path):
        code, err = run_cli(capsys, "info", str(path))
        assert_one_line_error(code, err, str(path))


@pytest.mark.parametrize("out", ["missing_dir/o.png", "o.jpg", "."])
def test_unwritable_output_is_refused_before_rendering(capsys, tmp_path, out):
    code, err = run_cli(capsys, "render", "--model", "tiny", "--out", str(tmp_path / out))
    assert_one_line_error(code, err)


def test_unavailable_device_is_refused(capsys, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    out = str(tmp_path / "o.png")
    code, err = run_cli(capsys, "render", "--model", "tiny", "--device", "cuda", "--out", out)
    assert_one_line_error(code, err, "--device cpu")


def test_errors_reach_the_shell_as_one_line_and_status_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "infiniscape", "render", "--model", "nonesuch",
                           "--out", str(tmp_path / "o.png")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("where", ["build_parser", "_run"])
def test_ctrl_c_while_starting_is_one_line_and_status_130(capsys, monkeypatch, where):
    import infiniscape.cli as cli

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, where, interrupted)  # imports and parsing, or the command itself
    assert cli.main(["render", "--model", "tiny"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "infiniscape render: interrupted"


def test_sigint_during_start_up_of_the_real_process_is_one_line(tmp_path):
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "infiniscape", "render", "--model", "tiny",
                             "--out", str(tmp_path / "o.png")], stderr=subprocess.PIPE, text=True)
    time.sleep(0.7)  # importing torch and loading the model: still starting
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the render finished before the signal")  # a very fast machine
    assert proc.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines() == ["infiniscape render: interrupted"]


@pytest.mark.parametrize("lr", ["0", "-0.001"])
def test_fitting_level_heads_refuses_a_learning_rate_that_is_not_positive(capsys, tmp_path, lr):
    out = tmp_path / "x.pt"
    assert_one_line_error(*run_cli(capsys, "levels", "tiny", "--out", str(out), "--lr", lr), "--lr")
    assert not out.exists()
