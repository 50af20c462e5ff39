"""Network pickles load through the safe reader into our generators: same pixels, one-line refusals,
`render --frame` reproduces gen_images.py, and StyleGAN3 / StyleGAN2 pickles render as world canvases."""

import numpy as np
import pytest
import torch
from fixtures.official.snapshot import load_fixture, snapshot_bytes
from PIL import Image
from test_official_generators import TOL, build, run

from infiniscape.cli import main
from infiniscape.models.contract import Tile
from infiniscape.models.errors import ModelLoadError
from infiniscape.models.lattice import HashedLatents
from infiniscape.models.pickles.loader import load_official
from infiniscape.models.registry import load_model
from infiniscape.models.stylegan.model import StyleGAN2SeedGrid, StyleGAN3Canvas


def write_pickle(tmp_path, name, **kwargs):
    gen, spec, _ = build(name)
    path = tmp_path / f"{name}.pkl"
    path.write_bytes(snapshot_bytes(gen, spec["init_kwargs"], **kwargs))
    return path


@pytest.fixture(scope="module")
def pickles(tmp_path_factory):
    root = tmp_path_factory.mktemp("pickles")
    return {name: write_pickle(root, name) for name in ("sg2_resnet_cond", "sg2_skip", "sg3_t")}


def test_pickle_path_gives_the_official_outputs(pickles):
    for name, path in pickles.items():
        net = load_official(path)
        spec, data = load_fixture(name)
        key, kwargs = next(iter(spec["runs"].items()))
        diff = float((run(net.generator, data["z"], data["c"], **kwargs) - data["outputs"][key]).abs().max())
        assert diff <= TOL, name
    assert load_official(pickles["sg3_t"]).describe() == "StyleGAN3-T 32x32, z_dim=16"
    described = load_official(pickles["sg2_resnet_cond"]).describe()
    assert described == "StyleGAN2 (resnet) 32x32, z_dim=16, c_dim=5"


def test_unknown_architecture_is_refused_in_one_line(tmp_path):
    path = write_pickle(tmp_path, "sg2_skip", class_name="InfinityGenerator")
    with pytest.raises(ModelLoadError, match="'InfinityGenerator', not a StyleGAN2/StyleGAN3 Generator") as e:
        load_official(path)
    assert "\n" not in str(e.value)


def test_missing_and_unexpected_tensors_are_named(tmp_path):
    path = write_pickle(tmp_path, "sg3_t", drop=("synthesis.L3_36_32.bias",))
    with pytest.raises(ModelLoadError, match=r"lacks 'synthesis.L3_36_32.bias' \(1 missing, 0 unexpected"):
        load_official(path)
    path = write_pickle(tmp_path, "sg2_skip", extra={"lora": torch.zeros(3)})
    with pytest.raises(ModelLoadError, match="unexpected 'lora'"):
        load_official(path)
    path = write_pickle(tmp_path, "sg2_skip", drop=("synthesis.b4.const", "synthesis.b4.conv1.weight"))
    with pytest.raises(ModelLoadError, match=r"lacks 'synthesis.b4.const' \(2 missing"):
        load_model(path)


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def test_render_frame_reproduces_gen_images(pickles, tmp_path, capsys):
    spec, data = load_fixture("sg2_resnet_cond")
    out = tmp_path / "frame.png"
    code, _ = run_cli(capsys, "render", "--model", pickles["sg2_resnet_cond"], "--seed", 7, "--class", 0,
                      "--trunc", 0.7, "--frame", "--device", "cpu", "--out", out, "--quiet")
    assert code == 0
    assert np.array_equal(np.asarray(Image.open(out)), data["frames"]["seed7_class0_trunc_uint8"][0].numpy())
    _, data = load_fixture("sg2_skip")
    code, _ = run_cli(capsys, "render", "--model", pickles["sg2_skip"], "--seed", 9, "--noise-mode", "none",
                      "--frame", "--device", "cpu", "--out", out, "--quiet")
    expected = data["frames"]["seed9_nonoise_uint8"][0].numpy()
    assert code == 0 and np.array_equal(np.asarray(Image.open(out)), expected)


def test_conditional_pickle_without_class_is_a_one_line_error(pickles, tmp_path, capsys):
    code, err = run_cli(capsys, "render", "--model", pickles["sg2_resnet_cond"], "--frame", "--device", "cpu",
                        "--out", tmp_path / "f.png")
    assert code == 2 and "pass --class 0..4" in err and err.count("\n") == 1


@pytest.mark.parametrize("content", [b"", b"\x80\x04\x95", b"\x89PNG\r\n\x1a\n0000", b"PK\x03\x04rest"])
def test_bad_pickle_files_exit_2(tmp_path, capsys, content):
    path = tmp_path / "bad.pkl"
    path.write_bytes(content)
    code, err = run_cli(capsys, "render", "--model", path, "--frame", "--device", "cpu",
                        "--out", tmp_path / "f.png")
    assert code == 2 and err.count("\n") == 1


def test_stylegan3_canvas_is_the_translated_frame(pickles):
    """World window at (-8, 0) = the official frame translated right by 8 px (0.25 of the 32-px image)."""
    model = load_model(pickles["sg3_t"])
    assert isinstance(model, StyleGAN3Canvas) and model.tile_size == 32 and model.capabilities.input_transform
    _, data = load_fixture("sg3_t")
    latents = HashedLatents(5)
    img = model.render_windows([(0, 0), (-8, 0)], latents)
    assert float((img[0] - data["frames"]["seed5"][0].clamp(-1, 1)).abs().max()) <= TOL
    assert float((img[1] - data["frames"]["seed5_shift"][0].clamp(-1, 1)).abs().max()) <= TOL
    assert torch.equal(model.render([Tile(0, 0)], latents), img[:1])
    shifted = model.render_transformed(5, np.array([[1, 0, -0.25], [0, 1, 0], [0, 0, 1.0]]))  # content +8 px
    assert float((shifted - data["frames"]["seed5_shift"][0].clamp(-1, 1)).abs().max()) <= TOL


def test_stylegan2_seed_grid_tiles_are_seed_frames(pickles):
    model = load_model(pickles["sg2_skip"])
    assert isinstance(model, StyleGAN2SeedGrid)
    _, data = load_fixture("sg2_skip")
    tiles = model.render([Tile(0, 0), Tile(2, 0)], HashedLatents(3))  # seeds 3 and 5
    assert float((tiles[1] - data["frames"]["seed5"][0].clamp(-1, 1)).abs().max()) <= TOL


def test_render_cli_draws_a_canvas_from_a_pickle(pickles, tmp_path, capsys):
    out = tmp_path / "canvas.png"
    code, _ = run_cli(capsys, "render", "--model", pickles["sg2_skip"], "--width", 64, "--height", 32,
                      "--device", "cpu", "--out", out, "--quiet")
    assert code == 0 and Image.open(out).size == (64, 32)
