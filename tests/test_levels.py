"""Levels of detail: a tile of level k is T px covering T * 2^k world px; models render their own coarse
levels (native: a coarse stage's RGB) or the renderer builds them from four finer tiles."""

import copy

import numpy as np
import pytest
import torch
from test_native_generator import OverrideLatents

from infiniscape.models.contract import Tile
from infiniscape.models.lattice import HashedLatents
from infiniscape.models.registry import build_native, load_config, load_model, save_checkpoint
from infiniscape.renderer.edits import AddAnchor, Resample
from infiniscape.renderer.fusion import FusionParams
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.world import LEVELS, World, downsample_quad, to_uint8
from infiniscape.train.levels import fit_level_heads, with_head_hidden
from infiniscape.train.loss import lod_consistency


@pytest.fixture(scope="module")
def tiny_levels():
    """tiny with trained-looking level heads (non-zero), noise on and the output off the clamp."""
    model = load_model("tiny")
    g = torch.Generator().manual_seed(5)
    syn = model.generator.synthesis
    for conv in syn.convs:
        conv.noise_strength.fill_(0.5)
    for head in list(syn.level_torgbs) + list(syn.torgbs):
        head.weight.copy_(torch.randn(head.weight.shape, generator=g) * 0.01)
    return model


def test_tile_quadtree_geometry():
    t = Tile(-3, 2, level=2)
    assert t.rect(64) == (-768, 512, 256, 256)
    assert t.parent == Tile(-2, 1, 3) and all(c.parent == t for c in t.children)
    assert [c.rect(64)[:2] for c in t.children] == [(-768, 512), (-640, 512), (-768, 640), (-640, 640)]


def test_native_models_render_one_level_per_stage(tiny_levels):
    assert tiny_levels.levels == len(tiny_levels.cfg.stages) == 4
    img = tiny_levels.render([Tile(0, 0, 3)], HashedLatents(1))
    assert img.shape == (1, 3, 64, 64)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_level_tiles_stitch_exactly_to_a_one_pass_render(tiny_levels, level):
    lat, t = HashedLatents(3), tiny_levels.tile_size
    s = t << level
    tiles = [Tile(ix, iy, level) for iy in (-1, 0) for ix in (-1, 0, 1)]
    parts = tiny_levels.render(tiles, lat)
    whole = tiny_levels.render_windows([(-s, -s)], 3 * s, 2 * s, lat, level=level)[0]
    for tile, part in zip(tiles, parts, strict=True):
        ox, oy = (tile.ix + 1) * t, (tile.iy + 1) * t
        assert (whole[:, oy:oy + t, ox:ox + t] - part).abs().max() <= 1e-5


def test_heads_widened_with_a_hidden_branch_render_as_before_then_stitch_exactly(tiny_levels, tmp_path):
    lat, t = HashedLatents(3), tiny_levels.tile_size
    tiles = [Tile(ix, iy, 2) for iy in (-1, 0) for ix in (-1, 0, 1)]
    before = tiny_levels.render(tiles, lat)
    wide = with_head_hidden(tiny_levels, 8)
    assert wide.cfg.level_head_hidden == 8 and tiny_levels.cfg.level_head_hidden == 0
    assert torch.equal(wide.render(tiles, lat), before)  # the new branch starts at zero
    g = torch.Generator().manual_seed(2)
    for head in wide.generator.synthesis.level_torgbs:
        head.hidden_to_rgb.copy_(torch.randn(head.hidden_to_rgb.shape, generator=g) * 0.1)
    parts = wide.render(tiles, lat)
    assert (parts - before).abs().max() > 1e-3
    s = t << 2
    whole = wide.render_windows([(-s, -s)], 3 * s, 2 * s, lat, level=2)[0]
    for tile, part in zip(tiles, parts, strict=True):
        ox, oy = (tile.ix + 1) * t, (tile.iy + 1) * t
        assert (whole[:, oy:oy + t, ox:ox + t] - part).abs().max() <= 1e-5
    save_checkpoint(wide.generator, tmp_path / "wide.pt")
    loaded = load_model(str(tmp_path / "wide.pt"))
    assert loaded.cfg.level_head_hidden == 8
    assert torch.equal(loaded.render(tiles, lat), parts)


@pytest.mark.parametrize("field", ["local", "style", "noise0", "noise3"])
def test_level_footprint_is_exactly_what_a_coarse_tile_reads(tiny_levels, field):
    tile = Tile(1, -1, 2)
    fp = tiny_levels.footprint(tile)[field]
    base = tiny_levels.render([tile], HashedLatents(2))[0]
    for cell in [(fp.x0, fp.y0), (fp.x1 - 1, fp.y1 - 1)]:
        assert not torch.equal(tiny_levels.render([tile], OverrideLatents(2, field, cell))[0], base), cell
    for cell in [(fp.x0 - 1, fp.y0), (fp.x1, fp.y1 - 1), (fp.x0, fp.y1)]:
        assert torch.equal(tiny_levels.render([tile], OverrideLatents(2, field, cell))[0], base), cell


def test_a_coarse_level_reads_no_noise_of_the_stages_it_skips(tiny_levels):
    fine = set(tiny_levels.footprint(Tile(0, 0, 0)))
    coarse = set(tiny_levels.footprint(Tile(0, 0, 3)))
    convs_stage0 = tiny_levels.cfg.stages[0].convs
    assert coarse == {"style", "local"} | {f"noise{i}" for i in range(convs_stage0)}
    assert coarse < fine


@pytest.mark.parametrize("edit", [Resample("noise", (30, -20, 40, 30), seed=3),
                                  Resample("local", (-100, 0, 60, 60), seed=4), AddAnchor((40, 30), seed=2)])
def test_edits_invalidate_the_changed_tiles_at_every_level(tiny_levels, edit):
    world = World(tiny_levels, Scene(seed=8, fusion=FusionParams(radius=64, blur=32, step=8)))
    near = {level: [Tile(ix, iy, level) for iy in range(-2, 2) for ix in range(-2, 2)]
            for level in range(LEVELS)}
    before = {t: world.render_tiles([t])[0] for ts in near.values() for t in ts}
    changed = world.apply(edit)
    for level in range(LEVELS):
        differs = {t for t in near[level] if not np.array_equal(world.render_tiles([t])[0], before[t])}
        assert differs, level
        if isinstance(edit, Resample):  # cell edits: exactly the tiles whose footprint meets the cells
            assert differs == changed & set(near[level]), level
        else:  # an anchor's reach is a bound (fusion grid interpolation): never a changed tile missed
            assert differs <= changed, level


def test_a_level_the_model_lacks_is_the_box_average_of_its_children(tiny_levels):
    model = copy.copy(tiny_levels)
    model.levels = 1  # as a family without coarse outputs
    world = World(model, Scene(seed=2))

    class Store(dict):
        def get(self, tile):
            return super().get(tile)

        def put(self, tile, image):
            self[tile] = image

    store = Store()
    tile = Tile(1, -1, 2)
    (img,) = world.render_tiles([tile], store)
    kids = [world.render_tiles([c])[0] for c in tile.children]
    np.testing.assert_array_equal(img, downsample_quad(kids))
    full = world.render(*[v // 4 * 4 for v in tile.rect(64)[:2]], 256, 256)
    assert np.abs(img - full.reshape(64, 4, 64, 4, 3).mean(axis=(1, 3))).max() < 1e-5
    assert set(store) == set(tile.children) | {g for c in tile.children for g in c.children}
    calls = []
    model.render = lambda tiles, *a: calls.append(tiles) or tiny_levels.render(tiles, *a)
    world.render_tiles([tile], store)
    assert not calls  # every child was in the store: computed once


def test_uint8_children_give_the_same_parent_within_rounding():
    rng = np.random.default_rng(0)
    kids = [rng.uniform(-1, 1, (8, 8, 3)).astype(np.float32) for _ in range(4)]
    exact = downsample_quad(kids)
    assert np.abs(downsample_quad([to_uint8(k) for k in kids]) - exact).max() <= 1 / 127.5


def test_consistency_loss_trains_the_level_heads_and_never_the_image():
    g = build_native(load_config("tiny"))
    from infiniscape.models.native.model import NativeModel
    from infiniscape.train.frames import FrameSampler, FreshLatents

    sampler = FrameSampler(NativeModel(g, frozen=False), 64, (-64.0, 0.0))
    rng = np.random.default_rng(0)
    frames, levels = sampler.frames(g, sampler.draw_origins(rng, 2), [FreshLatents(rng)] * 2, all_levels=True)
    assert [lv.shape[-1] for lv in levels] == [64, 32, 16, 8]
    lod_consistency(levels[0], levels[1:]).backward()
    trained = {name for name, p in g.named_parameters() if p.grad is not None and bool(p.grad.any())}
    heads = {f"synthesis.level_torgbs.{i}.{w}" for i in range(3) for w in ("weight", "bias")}
    assert trained == heads  # (the heads' affines follow once their weights leave zero)


def test_checkpoints_without_level_heads_still_load(tmp_path):
    g = build_native(load_config("tiny"))
    save_checkpoint(g, tmp_path / "old.pt")
    payload = torch.load(tmp_path / "old.pt", weights_only=True)
    payload["G_ema"] = {k: v for k, v in payload["G_ema"].items() if "level_torgbs" not in k}
    torch.save(payload, tmp_path / "old.pt")
    model = load_model(str(tmp_path / "old.pt"))
    assert all(float(h.weight.abs().sum()) == 0 for h in model.generator.synthesis.level_torgbs)


def test_fitting_level_heads_brings_the_coarse_levels_closer_and_keeps_the_image(tmp_path):
    from infiniscape.cli import main

    model = load_model("tiny")
    full = model.render([Tile(2, -1)], HashedLatents(4))
    losses = fit_level_heads(model, steps=30, batch=4, resolution=64, lr=0.01)
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
    assert torch.equal(model.render([Tile(2, -1)], HashedLatents(4)), full)
    assert not any(p.requires_grad for p in model.generator.parameters())
    # the command writes the same weights plus the heads
    out = tmp_path / "fitted.pt"
    assert main(["levels", "tiny", "--out", str(out), "--steps", "2", "--batch", "2",
                 "--resolution", "64"]) == 0
    fitted = load_model(str(out))
    assert fitted.trained["levels_fitted"]["steps"] == 2
    assert main(["levels", str(out), "--out", str(out), "--steps", "2", "--batch", "2",
                 "--resolution", "64", "--head-hidden", "4"]) == 0
    widened = load_model(str(out))
    assert widened.cfg.level_head_hidden == widened.trained["levels_fitted"]["head_hidden"] == 4
    assert main(["levels", "tiny", "--out", str(tmp_path / "x.png")]) == 2
    assert main(["levels", "tiny", "--out", str(out), "--head-hidden", "5000"]) == 2
