"""Image datasets, the zip converter and `infiniscape dataset`: bad files are listed, never fatal."""

import argparse
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from infiniscape.commands import dataset as dataset_cmd
from infiniscape.models.errors import UserError
from infiniscape.train.dataset import ImageFolderDataset, convert_dataset, open_dataset, prepare_image
from infiniscape.train.procedural import ProceduralLandscapes


def _rgb(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def messy_folder(tmp_path):
    """One file of each awkward kind a scraped folder contains."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(_rgb(48, 64)).save(src / "rgb.png")
    Image.fromarray(_rgb(40, 40, 1)).save(src / "sub" / "photo.jpg", quality=90)
    Image.fromarray(np.full((32, 32), 128, np.uint8)).save(src / "gray.png")
    Image.fromarray((np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)).save(src / "deep16.png")
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:16, :, 3] = 255  # top half opaque red, bottom half transparent
    Image.fromarray(rgba).save(src / "alpha.png")
    Image.fromarray(_rgb(32, 32, 2)).convert("P", palette=Image.Palette.ADAPTIVE).save(src / "palette.gif")
    Image.fromarray(_rgb(8, 8)).save(src / "tiny.png")
    (src / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    good = (src / "rgb.png").read_bytes()
    (src / "truncated.png").write_bytes(good[: len(good) // 2])
    (src / "notes.txt").write_text("not an image")
    return src


def test_corrupt_and_16bit_files_are_listed_not_fatal(messy_folder, tmp_path):
    report = convert_dataset(messy_folder, tmp_path / "out.zip", resolution=32)
    skipped = dict(report.skipped)
    converted = dict(report.converted)
    assert set(skipped) == {"corrupt.png", "truncated.png", "tiny.png", "notes.txt"}
    assert "unreadable" in skipped["corrupt.png"] and "unreadable" in skipped["truncated.png"]
    assert "too small" in skipped["tiny.png"]
    assert sorted(report.written) == sorted(
        ["rgb.png", "sub/photo.jpg", "gray.png", "deep16.png", "alpha.png", "palette.gif"])
    assert "16-bit" in converted["deep16.png"]
    assert "grayscale" in converted["gray.png"]
    assert "alpha" in converted["alpha.png"] and "palette" in converted["palette.gif"]
    assert "rgb.png" not in converted
    text = report.summary()
    assert "written 6" in text and "skipped 4" in text and "corrupt.png" in text


def test_zip_has_stylegan2_ada_layout_and_reads_back(messy_folder, tmp_path):
    out = tmp_path / "out.zip"
    report = convert_dataset(messy_folder, out, resolution=32)
    with zipfile.ZipFile(out) as z:
        names = sorted(z.namelist())
        assert json.loads(z.read("dataset.json")) == {"labels": None}
    assert names[:2] == ["00000/img00000000.png", "00000/img00000001.png"]
    ds = ImageFolderDataset(out, 32)
    assert len(ds) == len(report.written)
    for i in range(len(ds)):
        assert ds[i].shape == (32, 32, 3) and ds[i].dtype == np.uint8
    assert ds.get_label(0) is None


def test_folder_and_its_zip_give_the_same_pixels(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        Image.fromarray(_rgb(40 + 8 * i, 56, i)).save(src / f"{i}.png")
    convert_dataset(src, tmp_path / "out.zip", resolution=24)
    folder, zipped = ImageFolderDataset(src, 24), ImageFolderDataset(tmp_path / "out.zip", 24)
    for i in range(3):
        assert np.array_equal(folder[i], zipped[i])


def test_16bit_and_alpha_are_scaled_and_composited_not_clipped():
    deep = Image.fromarray(np.full((16, 16), 65535 // 2, np.uint16))
    px, _ = prepare_image(deep, 16)
    assert abs(int(px[0, 0, 0]) - 128) <= 1  # half of 16-bit range -> half of 8-bit, not clipped to 255
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 2] = 255  # fully transparent blue
    white, _ = prepare_image(Image.fromarray(rgba), 16, alpha="white")
    dropped, _ = prepare_image(Image.fromarray(rgba), 16, alpha="drop")
    assert (white == 255).all() and (dropped[..., 2] == 255).all() and (dropped[..., 0] == 0).all()


def test_resize_keeps_aspect_and_crops_the_centre():
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, 20:60] = 255  # white centre square, black sides
    px, _ = prepare_image(Image.fromarray(img), 20)
    assert px.shape == (20, 20, 3)
    assert px[:, 2:-2].min() > 200  # centre crop shows only the white square


def test_labels_travel_into_the_zip(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(_rgb(32, 32)).save(src / name)
    (src / "dataset.json").write_text(json.dumps({"labels": [["a.png", 0], ["b.png", 2]]}))
    report = convert_dataset(src, tmp_path / "out.zip", resolution=16)
    assert report.labelled and dict(report.skipped) == {"c.png": "no label in dataset.json"}
    ds = ImageFolderDataset(tmp_path / "out.zip", 16)
    assert [ds.get_label(i) for i in range(len(ds))] == [0, 2]


def test_open_dataset_picks_the_source_and_explains_bad_specs(tmp_path):
    assert isinstance(open_dataset("procedural", 32), ProceduralLandscapes)
    assert open_dataset("procedural:7", 32).seed == 7
    Image.fromarray(_rgb(16, 16)).save(tmp_path / "x.png")
    assert isinstance(open_dataset(str(tmp_path), 16), ImageFolderDataset)
    for bad in (tmp_path / "missing", tmp_path / "x.png", "procedural:abc"):
        with pytest.raises(UserError) as e:
            open_dataset(str(bad), 16)
        assert "\n" not in str(e.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no images"):
        open_dataset(str(empty), 16)


def test_unreadable_image_at_training_time_is_a_user_error(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"nope")
    ds = ImageFolderDataset(tmp_path, 16)
    with pytest.raises(UserError, match="infiniscape dataset"):
        ds[0]


def _args(**kw):
    parser = argparse.ArgumentParser()
    dataset_cmd.add_arguments(parser)
    argv = [f"--{k.replace('_', '-')}={v}" for k, v in kw.items()]
    return parser.parse_args(argv)


def test_cli_prints_summary_with_reasons(messy_folder, tmp_path, capsys):
    out = tmp_path / "cli.zip"
    assert dataset_cmd.run(_args(source=messy_folder, dest=out, resolution=32)) == 0
    text = capsys.readouterr().out
    assert "written 6" in text and "converted" in text and "skipped 4" in text
    assert "tiny.png: too small" in text and out.exists()


def test_cli_writes_procedural_images(tmp_path, capsys):
    out = tmp_path / "proc.zip"
    assert dataset_cmd.run(_args(source="procedural", dest=out, resolution=32, count=3)) == 0
    ds = ImageFolderDataset(out, 32)
    assert len(ds) == 3 and np.array_equal(ds[1], ProceduralLandscapes(32)[1])


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    from infiniscape import cli

    code = cli.main(["dataset", "--source", str(tmp_path / "nope"), "--dest", str(tmp_path / "o.zip")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err
    code = cli.main(["dataset", "--source", "procedural", "--dest", str(tmp_path / "o.zip")])
    assert code == 2 and "--count" in capsys.readouterr().err
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.png").write_bytes(b"bad")
    code = cli.main(["dataset", "--source", str(tmp_path / "junk"), "--dest", str(tmp_path / "o.zip")])
    assert code == 2 and not (tmp_path / "o.zip").exists()
