import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from infiniscape.cli import main


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


def test_info_describes_the_model(capsys):
    code, _ = run_cli(capsys, "info", "tiny")
    assert code == 0
    for fact in ("family:       native", "tile size:    64 px", "parameters:", "local", "seams=exact"):
        assert fact in run_cli.stdout


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
