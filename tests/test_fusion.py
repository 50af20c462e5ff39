from dataclasses import replace

import numpy as np
import pytest
import torch

from infiniscape.models.contract import RenderSettings, Tile
from infiniscape.models.errors import UserError
from infiniscape.models.lattice import HashedLatents
from infiniscape.models.styles import LatticeStyleMap
from infiniscape.renderer.edits import AddAnchor, MoveAnchor, RemoveAnchor, SetAnchorReach, StyleAnchor
from infiniscape.renderer.fusion import FusionParams, FusionStyleMap, anchor_codes, fusion_maps
from infiniscape.renderer.scene import Scene, scene_from_dict
from infiniscape.renderer.world import World

PARAMS = FusionParams(radius=160, blur=64, step=8)


def scene(*anchors):
    return Scene(seed=3, styles=list(anchors), fusion=PARAMS)


def test_fusion_weights_sum_to_one_everywhere(tiny):
    fmap = FusionStyleMap((StyleAnchor((0, 0), seed=1), StyleAnchor((100, 40), seed=2),
                           StyleAnchor((40, 150), seed=3)), PARAMS)
    plan = fmap.plan((-300, -300, 300, 300), HashedLatents(0), tiny.fields["style"])
    w = plan.weights(np.arange(-300, 300, 3.0), np.arange(-300, 300, 2.5))
    assert w.shape[0] == plan.z.shape[0] == 25 + 3  # 5x5 lattice anchors + 3 fusion anchors
    np.testing.assert_allclose(w.sum(0), 1.0, atol=1e-6)
    assert w.min() >= 0
    assert w[-3, 120, 100] == pytest.approx(1.0)  # at the first anchor its own style rules


def test_far_from_other_anchors_a_region_equals_the_single_style_render(tiny):
    a1, a2 = StyleAnchor((0, 0), seed=1), StyleAnchor((2000, 0), seed=2)
    both = World(tiny, scene(a1, a2)).render(-96, -96, 192, 192)
    single = World(tiny, scene(a1)).render(-96, -96, 192, 192)
    assert np.abs(both - single).max() <= 1e-5
    unfused = World(tiny, scene()).render(-96, -96, 192, 192)
    assert np.abs(single - unfused).max() > 0.01  # the anchor really restyles its region
    # far from every anchor the world keeps its own style, bit for bit
    assert np.array_equal(World(tiny, scene(a1, a2)).render(900, 600, 64, 64),
                          World(tiny, scene()).render(900, 600, 64, 64))


def test_fused_tiles_join_without_discontinuity(tiny):
    settings = RenderSettings(style_map=FusionStyleMap((StyleAnchor((60, 40), seed=1),
                                                        StyleAnchor((-30, 20), seed=7)), PARAMS))
    lat = HashedLatents(2)
    t = tiny.tile_size
    one_pass = tiny.render_windows([(-t, -t)], 2 * t, 2 * t, lat, settings)[0]
    tiles = tiny.render([Tile(-1, -1), Tile(0, -1), Tile(-1, 0), Tile(0, 0)], lat, settings)
    stitched = torch.cat([torch.cat([tiles[0], tiles[1]], 2), torch.cat([tiles[2], tiles[3]], 2)], 1)
    assert (one_pass - stitched).abs().max().item() <= 1e-5


def test_picked_style_is_the_lattice_style_at_that_point(tiny):
    spec = tiny.fields["style"]
    lat = HashedLatents(5)
    z, w = anchor_codes(StyleAnchor((0, 0), pick=(300.0, -120.0)), lat, spec)
    plan = LatticeStyleMap().plan((300, -120, 300, -120), lat, spec)
    mix = plan.weights(np.array([300.0]), np.array([-120.0]))[:, 0, 0]
    np.testing.assert_allclose(w @ z, mix @ plan.z, atol=1e-5)
    assert w.sum() == pytest.approx(1.0)


def test_anchor_edits_change_only_flagged_tiles_and_undo(tiny):
    world = World(tiny, scene())
    area = (-192, -192, 384, 384)
    before = world.render(*area)
    flagged = world.apply(AddAnchor((10, 10), seed=4))
    flagged |= world.apply(MoveAnchor(0, (60, -20)))
    after = world.render(*area)
    t = tiny.tile_size
    for iy in range(-3, 3):
        for ix in range(-3, 3):
            if Tile(ix, iy) not in flagged:
                sl = np.s_[iy * t + 192:(iy + 1) * t + 192, ix * t + 192:(ix + 1) * t + 192]
                assert np.array_equal(before[sl], after[sl])
    assert not np.array_equal(before, after)
    world.apply(RemoveAnchor(0))
    assert np.array_equal(world.render(*area), before)
    world.undo()
    world.undo()
    world.undo()
    assert np.array_equal(world.render(*area), before) and world.anchors == ()


BAND = FusionParams(radius=48, blur=32, step=8, shape="band", band=160)


def test_a_band_anchor_reaches_by_x_distance_only_within_its_height(tiny):
    fmap = FusionStyleMap((StyleAnchor((0, 0), seed=1),), BAND)
    plan = fmap.plan((-200, -200, 200, 200), HashedLatents(0), tiny.fields["style"])
    xs, ys = np.arange(-120, 120, 4.0), np.arange(-140, 141, 10.0)
    w = plan.weights(xs, ys)[-1]  # the anchor's weight [H, W]
    np.testing.assert_array_equal(w, np.broadcast_to(w[len(ys) // 2], w.shape))  # same in every row
    assert w[:, np.searchsorted(xs, 0)].min() == pytest.approx(1.0) and w[:, 0].max() == 0.0
    far = plan.weights(xs, np.array([400.0]))[-1]
    assert far.max() == 0.0  # beyond the band's height the world keeps its own style


def test_band_anchor_edits_change_only_flagged_tiles(tiny):
    world = World(tiny, Scene(seed=3, fusion=BAND))
    area = (-128, -256, 256, 512)
    before = world.render(*area)
    flagged = world.apply(AddAnchor((10, 30), seed=4)) | world.apply(MoveAnchor(0, (40, -20)))
    after = world.render(*area)
    t = tiny.tile_size
    for iy in range(-4, 4):
        for ix in range(-2, 2):
            if Tile(ix, iy) not in flagged:
                sl = np.s_[iy * t + 256:(iy + 1) * t + 256, ix * t + 128:(ix + 1) * t + 128]
                assert np.array_equal(before[sl], after[sl])
    assert not np.array_equal(before[:64], after[:64])  # the band reaches far up, not only a disk


def test_default_fusion_blurs_in_proportion_and_uses_bands_on_a_world_with_a_horizon(tiny):
    from infiniscape.models.registry import load_model
    from infiniscape.renderer.fusion import default_fusion

    assert FusionParams(radius=200).blur_width == 200
    landscape = load_model("landscape")
    f = default_fusion(landscape)
    zoom = landscape.opening_view[0]
    assert f.shape == "band" and f.blur_width == f.radius and f.radius == 256 / zoom  # 256 screen px
    old = scene_from_dict({**Scene().to_dict(), "fusion": {"radius": 512, "blur": 256, "step": 16}})
    assert old.fusion == FusionParams(radius=512, blur=256, step=16, shape="disk")  # files from before bands
    assert scene_from_dict(Scene(fusion=f).to_dict()).fusion == f  # blur stays proportional
    wide = replace(f, radius=4 * f.radius)
    assert scene_from_dict(Scene(fusion=wide).to_dict()).fusion.blur_width == wide.radius


def test_an_anchor_with_its_own_radius_and_blur_claims_its_own_reach():
    p = FusionParams(radius=64, blur=32, step=8)
    xs, ys = np.arange(-200, 200, 4.0) + 0.5, np.array([0.5])
    anchors = np.array([[-100.0, 0.0], [100.0, 0.0]])
    shared = fusion_maps(anchors, p, xs, ys)
    own = fusion_maps(anchors, p, xs, ys, radii=np.array([64.0, 20.0]), blurs=np.array([32, 0]))
    assert np.allclose(own.sum(0), 1.0) and (own >= -1e-12).all()
    np.testing.assert_array_equal(own[1], shared[1])  # the first anchor keeps the scene's reach
    claimed = xs[own[2, 0] > 0.5]
    assert claimed.min() >= 80 and claimed.max() <= 120  # radius 20 (sampled every 8 px), no blur
    assert own[2, 0][np.abs(xs - 100) > 20 + 2 * p.step].max() == 0.0
    assert (shared[2, 0] > 0.5).sum() > 2 * len(claimed)


def test_setting_an_anchors_reach_changes_only_flagged_tiles_and_undo_restores(tiny):
    world = World(tiny, Scene(seed=3, fusion=FusionParams(radius=64, blur=32, step=8)))
    world.apply(AddAnchor((10, 30), seed=4))
    area = (-256, -192, 512, 384)
    before = world.render(*area)
    flagged = world.apply(SetAnchorReach(0, radius=160, blur=64))
    assert world.anchors[0].radius == 160 and "radius 160" in world.history[-1]
    after = world.render(*area)
    t = tiny.tile_size
    for iy in range(-3, 3):
        for ix in range(-4, 4):
            sl = np.s_[iy * t + 192:(iy + 1) * t + 192, ix * t + 256:(ix + 1) * t + 256]
            if Tile(ix, iy) not in flagged:
                assert np.array_equal(before[sl], after[sl])
    assert not np.array_equal(before, after)
    world.undo()
    np.testing.assert_array_equal(world.render(*area), before)
    with pytest.raises(UserError, match="radius"):
        world.apply(SetAnchorReach(0, radius=-5, blur=None))


def test_an_anchors_own_reach_survives_a_scene_round_trip(tmp_path):
    scene = Scene(seed=2, styles=[StyleAnchor((5.0, 6.0), seed=1, radius=90, blur=12),
                                  StyleAnchor((0.0, 0.0), seed=2)])
    path = scene.save(tmp_path / "s.yaml")
    from infiniscape.renderer.scene import load_scene

    again = load_scene(path)
    assert again.styles == scene.styles
    with pytest.raises(ValueError, match=r"styles\[0\].radius"):
        scene_from_dict({"version": 1, "model": "tiny", "styles": [{"at": [0, 0], "seed": 1, "radius": -3}]})
