"""The StyleGAN3 visualizer's latent controls on network pickles: style mixing as the official definition,
fractional seeds blending their neighbours, the class label, noise modes; and how they travel as scene
knobs (YAML, World.with_settings) without losing the edit history."""

import numpy as np
import pytest
import torch
from test_official_pickle import write_pickle

from infiniscape.models.contract import RenderSettings, StyleMix, Tile
from infiniscape.models.errors import UserError
from infiniscape.models.lattice import HashedLatents
from infiniscape.models.registry import load_model
from infiniscape.models.seed_plane import seed_weights
from infiniscape.renderer.scene import Scene, load_scene
from infiniscape.renderer.world import World


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("pickles")
    return {name: load_model(write_pickle(root, name)) for name in ("sg2_skip", "sg2_resnet_cond", "sg3_t")}


def z_of(model, seed: int) -> torch.Tensor:
    return torch.from_numpy(np.random.RandomState(seed).randn(1, model.net.z_dim))


def label(model, class_idx):
    c = torch.zeros(1, model.net.c_dim)
    if model.net.c_dim:
        c[0, class_idx] = 1
    return c


@torch.no_grad()
def official_style_mix(model, row_seed: int, col_seed: int, layers: range, psi: float, class_idx=None):
    """stylegan2-ada's style_mixing.py: w = w[row]; w[col_styles] = w[col][col_styles]; synthesis."""
    g = model.generator
    c = label(model, class_idx)
    w_row = g.mapping(z_of(model, row_seed), c, truncation_psi=psi)
    w_col = g.mapping(z_of(model, col_seed), c, truncation_psi=psi)
    w = w_row.clone()
    w[:, list(layers)] = w_col[:, list(layers)]
    kwargs = {"noise_mode": "const"} if model.family == "stylegan2" else {}
    return g.synthesis(w, **kwargs).clamp(-1, 1)


@pytest.mark.parametrize("name", ["sg2_skip", "sg2_resnet_cond", "sg3_t"])
def test_style_mixing_equals_the_official_definition(models, name):
    model = models[name]
    cls = 2 if model.net.c_dim else None
    settings = RenderSettings(truncation=0.7, class_idx=cls, style_mix=StyleMix(seed=9, lo=2, hi=5))
    got = model.render([Tile(0, 0)], HashedLatents(4), settings)
    assert torch.equal(got, official_style_mix(model, 4, 9, range(2, 5), 0.7, cls))
    plain = model.render([Tile(0, 0)], HashedLatents(4), RenderSettings(truncation=0.7, class_idx=cls))
    assert not torch.equal(got, plain)  # the mixed layers matter
    empty = RenderSettings(truncation=0.7, class_idx=cls, style_mix=StyleMix(seed=9, lo=3, hi=3))
    assert torch.equal(model.render([Tile(0, 0)], HashedLatents(4), empty), plain)


def test_seed_weights_are_the_visualizers_bilinear_corners():
    assert seed_weights(7.0, 2.0) == [(207, 1.0)]
    assert seed_weights(7.25, 0.5) == [(7, 0.375), (8, 0.125), (107, 0.375), (108, 0.125)]
    assert seed_weights(-1.5, 0.0) == [(2 ** 32 - 2, 0.5), (2 ** 32 - 1, 0.5)]  # seeds wrap to 32 bits


@pytest.mark.parametrize("name", ["sg2_skip", "sg3_t"])
def test_fractional_seed_blend_at_integer_seeds_equals_the_plain_seed(models, name):
    model = models[name]
    shifted = model.render([Tile(0, 0)], HashedLatents(3), RenderSettings(seed_offset=(2.0, 1.0)))
    if name == "sg3_t":  # one latent for the canvas: seed 3 + 2 + 100
        assert torch.equal(shifted, model.render([Tile(0, 0)], HashedLatents(105)))
    else:  # the seed grid moved by (2, 1) tiles
        assert torch.equal(shifted, model.render([Tile(2, 1)], HashedLatents(3)))


@pytest.mark.parametrize("name", ["sg2_skip", "sg3_t"])
def test_fractional_seeds_blend_the_four_neighbours_in_w(models, name):
    model = models[name]
    g = model.generator
    settings = RenderSettings(truncation=0.8, seed_offset=(0.25, 0.5))
    got = model.render([Tile(0, 0)], HashedLatents(10), settings)
    with torch.no_grad():
        w_avg = g.mapping.w_avg
        corners = {10: 0.375, 11: 0.125, 110: 0.375, 111: 0.125}
        ws = w_avg + sum(wt * (g.mapping(z_of(model, s), None, truncation_psi=0.8) - w_avg)
                         for s, wt in corners.items())
        kwargs = {"noise_mode": "const"} if name == "sg2_skip" else {}
        want = g.synthesis(ws, **kwargs).clamp(-1, 1)
    assert torch.allclose(got, want, atol=1e-6)


def test_class_comes_from_the_settings(models):
    model = models["sg2_resnet_cond"]
    got = model.render([Tile(0, 0)], HashedLatents(6), RenderSettings(class_idx=3))
    assert torch.equal(got, model.frame(6, class_idx=3).clamp(-1, 1))  # = gen_images.py --class=3
    other = model.render([Tile(0, 0)], HashedLatents(6), RenderSettings(class_idx=1))
    assert not torch.equal(got, other)
    with pytest.raises(UserError, match="pass --class"):
        model.render([Tile(0, 0)], HashedLatents(6), RenderSettings())


def test_noise_modes_of_the_seed_grid(models):
    model = models["sg2_skip"]
    tiles, lat = [Tile(0, 0)], HashedLatents(2)
    const = model.render(tiles, lat, RenderSettings(noise_mode="world"))
    assert torch.equal(const, model.frame(2, noise_mode="const").clamp(-1, 1))
    assert torch.equal(model.render(tiles, lat, RenderSettings(noise_mode="off")),
                       model.frame(2, noise_mode="none").clamp(-1, 1))
    a = model.render(tiles, lat, RenderSettings(noise_mode="random"))
    b = model.render(tiles, lat, RenderSettings(noise_mode="random"))
    assert not torch.equal(a, b) and not torch.equal(a, const)


def test_scene_knobs_round_trip_through_yaml(tmp_path):
    scene = Scene(model="x.pkl", seed=3, truncation=0.5, noise_mode="random", class_idx=4,
                  style_mix=StyleMix(seed=11, lo=1, hi=6), seed_offset=(0.5, -2.0))
    back = load_scene(scene.save(tmp_path / "s.yaml"))
    assert (back.truncation, back.noise_mode, back.class_idx, back.style_mix, back.seed_offset) == \
        (0.5, "random", 4, StyleMix(11, 1, 6), (0.5, -2.0))
    plain = load_scene(Scene(model="x.pkl").save(tmp_path / "p.yaml"))
    assert (plain.class_idx, plain.style_mix, plain.seed_offset) == (None, None, (0.0, 0.0))
    (tmp_path / "bad.yaml").write_text("version: 1\nmodel: x.pkl\nstyle_mix: {seed: 1, layers: [5, 2]}\n")
    with pytest.raises(UserError, match=r"style_mix.layers: expected 0 <= first <= end"):
        load_scene(tmp_path / "bad.yaml")


def test_with_settings_keeps_the_edit_history():
    from infiniscape.renderer.edits import Resample

    world = World(load_model("tiny"), Scene(model="tiny", seed=1))
    world.apply(Resample("local", (0, 0, 32, 32), seed=5))
    world.undo()
    other = world.with_settings(truncation=0.5, style_mix=StyleMix(2, 0, 3))
    assert other.settings().truncation == 0.5 and other.settings().style_mix == StyleMix(2, 0, 3)
    assert world.settings().truncation == 1.0  # the old world is untouched (it may still be rendering)
    assert other.history == world.history and other.can_redo
    other.redo()
    assert other.history_position == 1 and world.history_position == 0
    with pytest.raises(UserError, match="not a scene-wide setting: seed"):
        world.with_settings(seed=2)
    with pytest.raises(UserError, match="noise mode 'loud'"):
        world.with_settings(noise_mode="loud")
