"""Placing real images by inversion: the world shows the image, continues it, connects two; the edit is
exact (undo, invalidation, save and reopen), and bad input is one line."""

import numpy as np
import pytest
from PIL import Image

from infiniscape.cli import main
from infiniscape.models.errors import UserError
from infiniscape.renderer.inversion import FitOptions, Target, fit_images, fit_window, psnr
from infiniscape.renderer.scene import Scene, load_scene
from infiniscape.renderer.world import World

FAST = FitOptions(steps=40, lr=0.1)


def target_from(model, seed: int, x: int, y: int, w: int, h: int, at=(0, 0)) -> Target:
    """A picture the model can make: a rectangle of another seed's world, to be shown at ``at``."""
    return Target(World(model, Scene(model="tiny", seed=seed)).render(x, y, w, h), *at, f"seed{seed}")


def test_a_placed_image_is_shown_and_the_world_continues_around_it(tiny):
    world = World(tiny, Scene(model="tiny", seed=1))
    target = target_from(tiny, 9, 200, 40, 48, 48, at=(16, 8))
    before = psnr(world.render(16, 8, 48, 48), target.pixels)
    result = fit_images(world, [target], FAST)
    assert result.steps == 40 and result.losses[-1] < result.losses[0] / 3
    assert result.window == fit_window(tiny, [target]) == (16, 8, 48, 48)
    world.apply(result.action)
    after = psnr(world.render(16, 8, 48, 48), target.pixels)
    assert after > before + 6, (before, after)
    around = world.render(-64, -64, 176, 176)
    assert np.isfinite(around).all() and around.std() > 0.05  # a world out there, not a flat fill


def test_two_images_fitted_together_are_both_shown(tiny):
    world = World(tiny, Scene(model="tiny", seed=2))
    a = target_from(tiny, 11, 0, 0, 32, 32, at=(0, 0))
    b = target_from(tiny, 12, 0, 0, 32, 32, at=(96, 0))
    result = fit_images(world, [a, b], FAST)
    assert result.window == (0, 0, 128, 32)  # one window: the cells between the images are fitted too
    world.apply(result.action)
    for t in (a, b):
        assert psnr(world.render(*t.rect), t.pixels) > psnr(World(tiny, Scene(model="tiny", seed=2))
                                                            .render(*t.rect), t.pixels) + 4


@pytest.fixture(scope="module")
def placed(tiny):
    world = World(tiny, Scene(model="tiny", seed=3))
    action = fit_images(world, [target_from(tiny, 5, 0, 0, 32, 32, at=(8, -16))],
                        FitOptions(steps=10, lr=0.1)).action
    return world, action


AREA = (-192, -192, 448, 384)


def test_undo_restores_the_previous_pixels_exactly_and_redo_the_fitted_ones(tiny, placed):
    _, action = placed
    world = World(tiny, Scene(model="tiny", seed=3))
    original = world.render(*AREA)
    world.apply(action)
    fitted = world.render(*AREA)
    assert not np.array_equal(fitted, original)
    world.undo()
    assert np.array_equal(world.render(*AREA), original)
    world.redo()
    assert np.array_equal(world.render(*AREA), fitted)


def test_the_edit_changes_exactly_the_tiles_it_reports(tiny, placed):
    _, action = placed
    world = World(tiny, Scene(model="tiny", seed=3))
    t = tiny.tile_size
    tiles = [(ix, iy) for ix in range(-3, 4) for iy in range(-3, 3)]
    before = {k: world.render(k[0] * t, k[1] * t, t, t) for k in tiles}
    changed = {(c.ix, c.iy) for c in world.apply(action) if c.level == 0}
    after = {k: world.render(k[0] * t, k[1] * t, t, t) for k in tiles}
    differ = {k for k in tiles if not np.array_equal(before[k], after[k])}
    assert differ and differ <= changed and (changed & set(tiles)) == differ


def test_saving_and_reopening_the_scene_reproduces_the_fitted_pixels_exactly(tiny, placed, tmp_path):
    _, action = placed
    world = World(tiny, Scene(model="tiny", seed=3))
    world.apply(action)
    path = world.save(tmp_path / "placed.yaml")
    sidecars = list(tmp_path.glob("placed.cells-*.npz"))
    assert len(sidecars) == 1 and sidecars[0].name in path.read_text()
    reopened = World(tiny, load_scene(path))
    assert np.array_equal(reopened.render(*AREA), world.render(*AREA))
    assert reopened.scene.edits[0].rects == ((8, -16, 32, 32),)
    # a changed cell file is refused in one line, naming the edit
    data = bytearray(sidecars[0].read_bytes())
    data[-40] ^= 0xFF
    sidecars[0].write_bytes(bytes(data))
    with pytest.raises(UserError, match=r"edits\[0\]: cell file placed.cells-.*does not match the scene"):
        load_scene(path)


def test_cells_fitted_for_another_model_are_refused(default_model, placed):
    _, action = placed
    with pytest.raises(UserError, match="fitted for another model"):
        World(default_model, Scene(model="default")).apply(action)


def test_invert_command_writes_a_scene_that_renders_the_image(tiny, tmp_path, capsys):
    img = ((target_from(tiny, 7, 0, 0, 40, 24).pixels + 1) * 127.5).round().astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "photo.png")
    out = tmp_path / "out.yaml"
    assert main(["invert", str(tmp_path / "photo.png"), "--model", "tiny", "--at", "16,8", "--size", "40,24",
                 "--steps", "30", "--out", str(out), "--quiet"]) == 0
    assert "PSNR photo.png" in capsys.readouterr().out
    edit = load_scene(out).edits[0]
    assert edit.rects == ((16, 8, 40, 24),) and edit.images == ("photo.png",)


@pytest.mark.parametrize("argv, expected", [
    (["nope.png", "--at", "0,0"], "image nope.png does not exist"),
    (["BAD", "--at", "0,0"], "cannot read image"),
    (["BIG", "--at", "0,0", "--size", "5000,20"], "give --size from 16 to 2048"),
    (["BIG", "--at", "0,0", "--also", "BIG"], "--also IMAGE2 and --at2 X,Y go together"),
    (["BIG", "--at", "zero"], "--at takes two integers"),
])
def test_bad_invert_input_is_one_line(tmp_path, capsys, argv, expected):
    (tmp_path / "BAD").write_bytes(b"not an image")
    Image.new("RGB", (64, 64)).save(tmp_path / "BIG.png")
    argv = [str(tmp_path / a) if a in ("BAD", "BIG") else a for a in argv]
    argv = [a + ".png" if a == str(tmp_path / "BIG") else a for a in argv]
    try:
        rc = main(["invert", *argv, "--model", "tiny", "--out", str(tmp_path / "o.yaml"), "--quiet"])
    except SystemExit as e:
        rc = e.code
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and expected in err, err
    assert not (tmp_path / "o.yaml").exists()


def test_infinitygan_worlds_take_placed_images_with_the_same_edit_semantics(tmp_path):
    from test_infinitygan import STATE, write_checkpoint

    from infiniscape.models.registry import load_model

    model = load_model(write_checkpoint(tmp_path / "logs/tiny/ckpt/best_fid.pth.tar", STATE))
    assert model.capabilities.inversion
    other = World(model, Scene(seed=4)).render(40, 10, 40, 32)
    world = World(model, Scene(seed=1))
    area = (-96, -96, 288, 224)
    original = world.render(*area)
    target = Target(other, 8, -8, "other")
    result = fit_images(world, [target], FitOptions(steps=25, lr=0.1))
    assert {b.field for b in result.action.blocks} >= {"local", "style", "noise0"}
    world.apply(result.action)
    assert psnr(world.render(*target.rect), other) > psnr(original[88:120, 104:144], other) + 3
    world.undo()
    assert np.array_equal(world.render(*area), original)
