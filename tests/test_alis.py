"""ALIS: our generator reproduces the official one, its pickles open as the notebook's chain on the canvas,
resampling an anchor re-renders only the frames between its neighbours, and broken checkpoints are named.

Fixture (tests/fixtures/official/alis.{json,pt}): the official code (universome/alis @ 865a7b5) was run
outside this repository in a throwaway venv (Python 3.11, numpy 1.23.5, omegaconf 2.0.6, torch 2.13 CPU;
the stylegan2-ada ops take their reference CPU paths by themselves). A small random-init Generator
(z = w = 32, 32x32, channel_base 256, channel_max 32, configs/alis.yml stored unresolved as train.py
does) had its biases, noise strengths and w_avg perturbed and max_shift_strength set to 1 as the
notebook does. Its anchors z are the lattice values of scene seed 7, field "style", cells -2..4 (from
infiniscape.models.lattice). Stored: the state dict, those z, the notebook's loop for 8 frames (anchors
0..4, noise off), two frames of the span left of the origin, one frame with constant noise, one with
truncation 0.7, a batch of left borders 1, 3, 6, and the official wavefront bases for a few arguments.
Only numbers are stored; the pickle written here comes from our own writer (alis_snapshot.py), whose
output the safe loader reads exactly as it reads a pickle the official code dumped.
"""

import json

import numpy as np
import pytest
import torch
from fixtures.official.alis_snapshot import alis_snapshot_bytes
from fixtures.official.snapshot import HERE

from infiniscape.models.alis import generator as alis
from infiniscape.models.alis.layers import wavefront_basis
from infiniscape.models.alis.model import EMPTY, AlisChain
from infiniscape.models.contract import Tile
from infiniscape.models.errors import ModelLoadError
from infiniscape.models.pickles.loader import copy_tensors
from infiniscape.models.registry import load_model
from infiniscape.renderer.edits import Resample
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.world import World

TOL = 1e-4
R = 32  # frame size of the fixture network


@pytest.fixture(scope="module")
def fixture():
    spec = json.loads((HERE / "alis.json").read_text())
    data = torch.load(HERE / "alis.pt", weights_only=True)
    return spec, data


@pytest.fixture(scope="module")
def generator(fixture):
    spec, data = fixture
    gen = alis.Generator(**spec["init_kwargs"]).eval().requires_grad_(False)
    copy_tensors(gen, data["state"], "alis fixture")
    return gen


def write_pickle(path, fixture, generator, init_kwargs=None, drop=()):
    spec, _ = fixture
    path.write_bytes(alis_snapshot_bytes(generator, init_kwargs or spec["init_kwargs"], drop=drop))
    return path


@pytest.fixture(scope="module")
def chain(fixture, generator, tmp_path_factory):
    model = load_model(write_pickle(tmp_path_factory.mktemp("alis") / "alis.pkl", fixture, generator))
    assert isinstance(model, AlisChain)
    return model


def max_diff(a, b) -> float:
    return float((torch.as_tensor(a) - torch.as_tensor(b)).abs().max())


def synth(gen, ws, centre, left, right, lb, noise_mode="none"):
    with torch.no_grad():
        return gen.synthesis(ws[centre:centre + 1], torch.stack([ws[left:left + 1], ws[right:right + 1]], 1),
                             torch.tensor([lb]), noise_mode=noise_mode)[0]


def test_notebook_chain_frames_match_official_outputs(fixture, generator):
    _, data = fixture
    cells = data["z_cells"].tolist()
    with torch.no_grad():
        ws = generator.mapping(data["z"][cells.index(0):], None)  # anchors 0..4
    assert max_diff(ws, data["ws"]) <= TOL
    diffs = []
    for f in range(8):  # 8 consecutive frames: two spans of the notebook's loop
        c, lb = int(data["chain_centre"][f]), int(data["chain_left_borders"][f])
        diffs.append(max_diff(synth(generator, ws, c, c - 1, c + 1, lb), data["chain"][f]))
    scale = float(data["chain"].abs().max())
    assert max(diffs) <= TOL, f"max |diff| per frame {diffs} (output scale {scale:.3g})"


def test_other_official_runs_match(fixture, generator):
    """Left of the origin, constant noise, truncation towards w_avg, and a batch of left borders."""
    _, data = fixture
    with torch.no_grad():
        neg = generator.mapping(data["z"][:3], None)  # anchors -2, -1, 0
        ws = generator.mapping(data["z"][2:], None)
        wst = generator.mapping(data["z"][2:], None, truncation_psi=0.7)
        ctx = torch.stack([ws[0:1], ws[2:3]], 1).repeat(3, 1, 1, 1)
        batch = generator.synthesis(ws[1:2].repeat(3, 1, 1), ctx, torch.tensor([1, 3, 6]))
    assert max_diff(synth(generator, neg, 1, 0, 2, 0), data["neg_frames"][0]) <= TOL
    assert max_diff(synth(generator, neg, 1, 0, 2, 6), data["neg_frames"][1]) <= TOL
    assert max_diff(synth(generator, ws, 1, 0, 2, 4, noise_mode="const"), data["noise_const"]) <= TOL
    assert max_diff(synth(generator, wst, 1, 0, 2, 2), data["trunc"]) <= TOL
    assert max_diff(batch, data["batch"]) <= TOL


def test_state_dict_names_and_fixed_buffers_are_the_official_ones(fixture):
    spec, data = fixture
    fresh = alis.Generator(**spec["init_kwargs"]).state_dict()
    shapes = {k: tuple(v.shape) for k, v in data["state"].items()}
    assert {k: tuple(v.shape) for k, v in fresh.items()} == shapes
    for key in (k for k in fresh if k.endswith("basis") or k.endswith("resample_filter")):
        assert torch.allclose(fresh[key], data["state"][key], atol=1e-6), key
    for key, ref in data["bases"].items():  # diagonals dropped while they do not fit
        res, feats, lowest, diag = key.split("_")
        ours = wavefront_basis(int(res), int(feats), lowest == "True", diag == "True")
        assert ours.shape == ref.shape and torch.allclose(ours, ref, atol=1e-5), key


def test_pickle_chain_stitches_like_the_notebook_panorama(fixture, chain):
    """World pixels [0, 8R) x [0, R) of scene seed 7 = the notebook's torch.cat of frames along width."""
    _, data = fixture
    assert chain.tile_size == R and chain.anchor_spacing == 2 * R
    assert not chain.capabilities.infinite_y and chain.capabilities.infinite_x
    world = World(chain, Scene(model="alis.pkl", seed=7))
    panorama = torch.cat(list(data["chain"].clamp(-1, 1)), dim=2).permute(1, 2, 0)  # [R, 8R, 3]
    assert max_diff(world.render(0, 0, 8 * R, R), panorama) <= TOL
    left = world.render(-4 * R, 0, 4 * R, R)  # the chain continues left of the origin: span (-2, -1, 0)
    assert max_diff(left[:, :R], data["neg_frames"][0].clamp(-1, 1).permute(1, 2, 0)) <= TOL
    assert max_diff(left[:, 3 * R:], data["neg_frames"][1].clamp(-1, 1).permute(1, 2, 0)) <= TOL


def test_frame_reads_only_its_two_anchors_and_tiles_are_batch_independent(chain):
    assert [chain.footprint(Tile(ix, 0))["style"].x0 for ix in (-1, 0, 1, 2, 3, 4)] == [-1, 0, 0, 1, 1, 2]
    assert all(chain.footprint(Tile(ix, 0))["style"].shape == (1, 2) for ix in range(-3, 5))
    from infiniscape.models.lattice import HashedLatents

    latents = HashedLatents(7)
    together = chain.render([Tile(ix, 0) for ix in range(-2, 3)], latents)
    alone = chain.render([Tile(1, 0)], latents)
    assert torch.equal(together[3:4], alone)


def test_resampling_an_anchor_rerenders_only_the_spans_touching_it(chain):
    world = World(chain, Scene(model="alis.pkl", seed=7))
    before = world.render(-2 * R, 0, 10 * R, R)
    anchor = 2  # at world x = 2 * 64; frames 2..5 lie between anchors 1 and 3
    changed = world.apply(Resample("style", (anchor * chain.anchor_spacing, 0, 1, R), seed=11, feather=0))
    full = {Tile(ix, 0) for ix in range(2, 6)}
    assert {t for t in changed if t.level == 0} == full
    assert {t for t in changed if t.level == 1} == {t.parent for t in full}  # coarse levels: their parents
    after = world.render(-2 * R, 0, 10 * R, R)
    for ix in range(-2, 8):
        same = np.array_equal(before[:, (ix + 2) * R:(ix + 3) * R], after[:, (ix + 2) * R:(ix + 3) * R])
        assert same == (ix not in range(2, 6)), f"frame {ix}"
    assert world.undo() == changed and np.array_equal(world.render(-2 * R, 0, 10 * R, R), before)


def test_rows_outside_the_strip_are_blank_and_read_no_latents(chain):
    from infiniscape.models.lattice import HashedLatents

    assert chain.footprint(Tile(3, 1))["style"].shape == (0, 0)
    img = chain.render([Tile(0, -1), Tile(0, 0), Tile(5, 2)], HashedLatents(7))
    assert torch.all(img[0] == EMPTY) and torch.all(img[2] == EMPTY) and not torch.all(img[1] == EMPTY)


def test_checkpoint_lacking_a_part_is_named_in_one_line(fixture, generator, tmp_path):
    spec, _ = fixture
    path = write_pickle(tmp_path / "a.pkl", fixture, generator, drop=("synthesis.b8.coords_fuser0.basis",))
    with pytest.raises(ModelLoadError, match=r"lacks 'synthesis.b8.coords_fuser0.basis' \(1 missing") as e:
        load_model(path)
    assert "\n" not in str(e.value)
    cfg = json.loads(json.dumps(spec["init_kwargs"]))
    del cfg["synthesis_cfg"]["patchwise"]["grid_size"]
    with pytest.raises(ModelLoadError, match=r"synthesis_cfg lacks 'patchwise.grid_size'") as e:
        load_model(write_pickle(tmp_path / "b.pkl", fixture, generator, init_kwargs=cfg))
    assert "\n" not in str(e.value)
    cfg = json.loads(json.dumps(spec["init_kwargs"]))
    cfg["synthesis_cfg"]["fmm"]["enabled"] = True
    with pytest.raises(ModelLoadError, match=r"synthesis_cfg.fmm.enabled = True: FMM layers are not"):
        load_model(write_pickle(tmp_path / "c.pkl", fixture, generator, init_kwargs=cfg))
    cfg = json.loads(json.dumps(spec["init_kwargs"]))
    del cfg["synthesis_cfg"]
    with pytest.raises(ModelLoadError, match=r"has no synthesis_cfg \(not an ALIS network\)"):
        load_model(write_pickle(tmp_path / "d.pkl", fixture, generator, init_kwargs=cfg))
