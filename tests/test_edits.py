import numpy as np
import pytest

from infiniscape.models.contract import Tile
from infiniscape.models.errors import UserError
from infiniscape.models.lattice import HashedLatents
from infiniscape.models.registry import load_model
from infiniscape.renderer.edits import CellBlock, EditedLatents, Resample, channel_stats, resample_blocks
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.world import World, tiles_covering

AREA = (-128, -128, 320, 320)  # more than twice the edits below in each direction


@pytest.fixture(scope="module")
def model():
    m = load_model("tiny")
    for conv in m.generator.synthesis.convs:
        conv.noise_strength.fill_(0.5)  # make noise edits visible, as in a trained model
    return m


def tiles_with_changed_pixels(before, after, area, t):
    ys, xs = np.nonzero(np.any(before != after, axis=2))
    return {Tile((x + area[0]) // t, (y + area[1]) // t) for x, y in zip(xs, ys, strict=True)}


@pytest.mark.parametrize("field", ["local", "style", "noise"])
def test_resample_changes_only_the_edited_footprint(model, field):
    world = World(model, Scene(seed=4))
    before = world.render(*AREA)
    flagged = world.apply(Resample(field, (-20, 10, 50, 30), seed=99, feather=8))
    after = world.render(*AREA)
    changed = tiles_with_changed_pixels(before, after, AREA, model.tile_size)
    assert changed, "the edit changed nothing"
    visible = {t for row in tiles_covering(model.tile_size, *AREA) for t in row}
    # every changed pixel lies in a flagged tile; every pixel of an unflagged tile is byte-identical
    assert changed <= flagged
    for tile in visible - flagged:
        x, y, w, h = tile.rect(model.tile_size)
        sl = np.s_[y - AREA[1]:y - AREA[1] + h, x - AREA[0]:x - AREA[0] + w]
        assert np.array_equal(before[sl], after[sl])
    if field != "style":  # local and noise footprints are tight: each flagged tile really changes
        assert flagged & visible == changed


def test_resample_with_stats_rect_matches_the_statistics_region(model):
    spec = model.fields["local"]
    stats_cells = spec.cells_covering(0, 0, 160, 160)
    rng = np.random.default_rng(0)
    mean = rng.uniform(-3, 3, spec.channels).astype(np.float32)
    std = rng.uniform(0.2, 2, spec.channels).astype(np.float32)
    values = rng.standard_normal((spec.channels,) + stats_cells.shape).astype(np.float32)
    values = values * std[:, None, None] + mean[:, None, None]
    latents = EditedLatents(HashedLatents(3), (CellBlock("local", stats_cells, values),))
    target_mean, target_std = channel_stats(spec, latents, (0, 0, 160, 160))
    (block,) = resample_blocks(model, latents, Resample("local", (800, 800, 480, 480), 8,
                                                        stats_rect=(0, 0, 160, 160), feather=0))
    new = block.values.reshape(spec.channels, -1)
    n = new.shape[1]  # 60 x 60 cells per channel
    assert np.all(np.abs(new.mean(1) - target_mean) < 4 * target_std / np.sqrt(n))
    assert np.all(np.abs(new.std(1) / target_std - 1) < 4 / np.sqrt(2 * n))


def test_undo_after_many_edits_restores_pixels_and_redo_reapplies(model):
    world = World(model, Scene(seed=6))
    original = world.render(*AREA)
    edits = [Resample("local", (0, 0, 64, 64), 1), Resample("noise", (-50, 30, 40, 90), 2),
             Resample("style", (100, -80, 30, 30), 3), Resample("local", (20, 20, 100, 20), 4, feather=0)]
    for e in edits:
        world.apply(e)
    edited = world.render(*AREA)
    assert not np.array_equal(edited, original)
    for _ in edits:
        world.undo()
    assert np.array_equal(world.render(*AREA), original)
    for _ in edits:
        world.redo()
    assert np.array_equal(world.render(*AREA), edited)
    world.jump(0)
    assert np.array_equal(world.render(*AREA), original)
    assert world.history == [e.describe() for e in edits] and world.history_position == 0


def test_a_new_action_after_undo_drops_the_redo_tail(model):
    world = World(model, Scene(seed=6))
    world.apply(Resample("local", (0, 0, 64, 64), 1))
    world.undo()
    world.apply(Resample("local", (0, 0, 64, 64), 2))
    assert not world.can_redo and world.history_position == 1 and len(world.history) == 1


def test_edit_memory_grows_with_edited_cells_not_the_canvas():
    world = World(load_model("default"), Scene(seed=1))
    world.apply(Resample("local", (0, 0, 512, 512), 1))
    one = world.state.edit_bytes
    world.apply(Resample("local", (100_000, 0, 512, 512), 2))  # far away: same size
    assert world.state.edit_bytes == 2 * one
    spec = world.model.fields["local"]
    assert one == spec.channels * 4 * (512 // 16 + 2) ** 2  # 32x32 cells plus the feather ring


def test_bad_edits_are_refused_with_a_message(model):
    world = World(model, Scene())
    with pytest.raises(UserError, match="field"):
        world.apply(Resample("colour", (0, 0, 10, 10), 1))
    with pytest.raises(UserError, match="positive"):
        world.apply(Resample("local", (0, 0, 0, 10), 1))
    assert world.history == []
