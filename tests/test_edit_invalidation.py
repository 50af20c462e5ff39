"""An edit in the world regenerates exactly the tiles it changes, as the scheduler counts them."""

import numpy as np

from infiniscape.renderer.edits import AddAnchor, Resample
from infiniscape.renderer.fusion import FusionParams
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.scheduler import TileScheduler
from infiniscape.renderer.world import World, to_uint8


def test_only_invalidated_tiles_are_regenerated_after_an_edit(tiny):
    world = World(tiny, Scene(seed=8, fusion=FusionParams(radius=64, blur=32, step=8)))
    view = (-160.0, -96.0, 224.0, 160.0)
    with TileScheduler(world, batch=2, prefetch=0) as sched:
        sched.set_view(*view)
        assert sched.wait_idle(60)
        wanted = set(sched.wanted())
        before = {t: sched.tile(t).copy() for t in wanted}
        counts_before = dict(sched.render_counts())
        changed = world.apply(Resample("local", (-20, -10, 40, 30), seed=3))
        changed |= world.apply(AddAnchor((100, 60), seed=2))
        sched.invalidate(changed, world)
        assert sched.wait_idle(60)
        counts = sched.render_counts()
        rerendered = {t for t in wanted if counts[t] > counts_before.get(t, 0)}
        assert rerendered == changed & wanted
        assert 0 < len(rerendered) < len(wanted)
        for t in wanted:
            now = sched.tile(t)
            assert np.array_equal(now, to_uint8(world.render_tiles([t])[0]))
            if t not in changed:
                assert np.array_equal(now, before[t])
