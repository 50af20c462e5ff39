import os
import sys
import threading
import time

import numpy as np
import pytest

from infiniscape.models.contract import Tile
from infiniscape.renderer import scheduler
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.scheduler import TileScheduler, plan_view
from infiniscape.renderer.world import World, to_uint8


class GatedWorld:
    """A real tiny World whose renders can be held on an Event or made to fail, so that the order in
    which the real scheduler asks for tiles is deterministic and observable."""

    def __init__(self, world: World, open_gate: bool = True):
        self.world, self.model = world, world.model
        self.gate = threading.Event()
        if open_gate:
            self.gate.set()
        self.started = threading.Semaphore(0)  # released as each render call begins
        self.calls: list[list[Tile]] = []
        self.fail: set[Tile] = set()

    @property
    def tile_size(self) -> int:
        return self.world.tile_size

    def render_tiles(self, tiles, store=None):
        self.calls.append(list(tiles))
        self.started.release()
        assert self.gate.wait(10), "test left the gate closed"
        if self.fail & set(tiles):
            raise RuntimeError("lattice exploded\nsecond line of detail")
        return self.world.render_tiles(tiles, store)

    def wait_started(self) -> None:
        assert self.started.acquire(timeout=10), "the worker never started a render"

    def order(self) -> list[Tile]:
        return [t for call in self.calls for t in call]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # keep the suite fast whatever else is running


@pytest.fixture
def gated(tiny):
    return GatedWorld(World(tiny, Scene(seed=3)))


@pytest.fixture
def ts(tiny):
    return tiny.tile_size


def idle(s: TileScheduler) -> None:
    assert s.wait_idle(20), f"scheduler did not finish: {s.stats()}"


def test_visible_tiles_render_before_the_prefetch_ring(gated, ts):
    with TileScheduler(gated, batch=1, prefetch=1) as s:
        s.set_view(0, 0, 2 * ts, ts)
        idle(s)
    order = gated.order()
    assert set(order[:2]) == {Tile(0, 0), Tile(1, 0)}
    assert len(order) == 12 and len(set(order)) == 12  # 4x3 with the ring, each tile once


def test_visible_tiles_are_ordered_nearest_the_view_centre_first():
    order, n = plan_view(0, 0, 150, 150, 50, prefetch=0)
    assert n == 9 and order[0] == Tile(1, 1)
    assert set(order[1:5]) == {Tile(1, 0), Tile(0, 1), Tile(2, 1), Tile(1, 2)}  # edges before corners


def test_rendered_tiles_are_the_worlds_pixels_as_uint8(gated, ts):
    with TileScheduler(gated, batch=4, prefetch=0) as s:
        s.set_view(-ts / 2, 10, 1.5 * ts, ts)  # floats, unaligned: tiles -1..1 x 0
        idle(s)
        for t in (Tile(-1, 0), Tile(0, 0), Tile(1, 0)):
            img = s.tile(t)
            assert img.dtype == np.uint8 and img.shape == (ts, ts, 3)
            assert np.array_equal(img, to_uint8(gated.world.render_tiles([t])[0]))
        assert s.tile(Tile(5, 5)) is None
        assert s.stats()["misses"] == 1 and s.stats()["hits"] == 3


def test_prefetch_runs_ahead_of_the_motion(gated, ts):
    with TileScheduler(gated, batch=1, prefetch=1) as s:
        s.set_view(0, 0, ts, ts, velocity=(600.0, 0.0))
        wanted = s.wanted()
        idle(s)
    ixs = {t.ix for t in wanted}
    assert max(ixs) == 2 and min(ixs) == -1  # ring two tiles deep on the leading (right) side only
    ring = gated.order()[1:]
    ahead = [t for t in ring if t.ix >= 1]
    assert len(ahead) == 6 and ring[:6] == ahead  # every tile beyond the leading edge before any other
    assert ring[0] == Tile(1, 0)  # nearest ahead first


def test_prefetch_leads_up_and_left_when_moving_up_and_left():
    order, n = plan_view(0, 0, 100, 100, 50, velocity=(-300.0, -300.0), prefetch=1)
    ring = order[n:]
    assert {t.ix for t in ring} == {-2, -1, 0, 1, 2} and {t.iy for t in ring} == {-2, -1, 0, 1, 2}
    assert ring[0] in (Tile(-1, 0), Tile(0, -1), Tile(-1, -1))
    first_behind = next(i for i, t in enumerate(ring) if t.ix >= 0 and t.iy >= 0)
    assert all(t.ix < 0 or t.iy < 0 for t in ring[:first_behind])


def test_a_still_view_gets_an_even_ring():
    order, n = plan_view(0, 0, 100, 100, 50, prefetch=2)
    assert n == 4 and len(order) == 36
    assert {t.ix for t in order} == {-2, -1, 0, 1, 2, 3}


def test_stale_requests_are_cancelled_after_a_view_jump(tiny, ts):
    world = GatedWorld(World(tiny, Scene(seed=3)), open_gate=False)
    with TileScheduler(world, batch=1, prefetch=0) as s:
        s.set_view(0, 0, 3 * ts, 2 * ts)  # 6 tiles
        world.wait_started()  # the worker holds the first one
        first = world.calls[0][0]
        s.set_view(100 * ts, 0, 103 * ts, 2 * ts)  # jump: 6 other tiles
        st = s.stats()
        assert st["cancelled"] == 5 and st["queue"] == 6 and st["rendering"] == 1
        world.gate.set()
        idle(s)
        assert world.order()[1:] and all(t.ix >= 100 for t in world.order()[1:])
        assert len(world.order()) == 7
        assert s.tile(first) is not None  # the batch already rendering still went into the cache


def test_set_view_poll_and_tile_never_wait_for_a_render_in_progress(tiny, ts):
    world = GatedWorld(World(tiny, Scene(seed=3)), open_gate=False)
    with TileScheduler(world, batch=2, prefetch=1) as s:
        s.set_view(0, 0, 2 * ts, 2 * ts)
        world.wait_started()
        worst = 0.0
        for i in range(50):
            t0 = time.perf_counter()
            s.set_view(i * 10.0, 0, i * 10.0 + 4 * ts, 3 * ts, velocity=(100.0, 0))
            s.poll()
            s.tile(Tile(0, 0))
            s.stats()
            worst = max(worst, time.perf_counter() - t0)
        t0 = time.perf_counter()
        s.invalidate([Tile(1, 1)])
        worst = max(worst, time.perf_counter() - t0)
        assert worst < 0.05
        assert s.stats()["rendering"] == 2 and s.stats()["rendered"] == 0  # still blocked throughout
        world.gate.set()


def test_poll_hands_each_finished_tile_once_and_respects_max_tiles(gated, ts):
    with TileScheduler(gated, batch=4, prefetch=0) as s:
        s.set_view(0, 0, 3 * ts, 2 * ts)
        idle(s)
        first = s.poll(max_tiles=4)
        rest = s.poll()
        assert len(first) == 4 and len(rest) == 2 and s.poll() == []
        assert set(first + rest) == {Tile(ix, iy) for ix in range(3) for iy in range(2)}


def test_batches_take_up_to_batch_tiles_in_priority_order(gated, ts):
    with TileScheduler(gated, batch=4, prefetch=0) as s:
        s.set_view(0, 0, 3 * ts, 2 * ts)
        idle(s)
    assert [len(c) for c in gated.calls] == [4, 2]


def test_invalidate_rerenders_exactly_the_given_tiles(gated, ts):
    with TileScheduler(gated, batch=4, prefetch=1) as s:
        s.set_view(0, 0, 2 * ts, ts)
        idle(s)
        before = s.render_counts()
        assert len(before) == 12 and set(before.values()) == {1}
        s.poll()
        edited = [Tile(1, 0), Tile(-1, -1)]  # one visible, one in the prefetch ring
        s.invalidate(edited + [Tile(50, 50)])  # a tile nobody wants is dropped, not rendered
        idle(s)
        after = s.render_counts()
        assert {t: n for t, n in after.items() if n != 1} == {t: 2 for t in edited}
        assert Tile(50, 50) not in after
        assert s.stats()["rendered"] == 14
        assert sorted(s.poll()) == sorted(edited)


def test_a_result_rendered_before_an_edit_is_discarded(tiny, ts):
    old = GatedWorld(World(tiny, Scene(seed=1)), open_gate=False)
    new = World(tiny, Scene(seed=2))
    t = Tile(0, 0)
    with TileScheduler(old, batch=1, prefetch=0) as s:
        s.set_view(0, 0, ts, ts)
        old.wait_started()
        s.invalidate([t], world=new)  # the scene changed while the old render runs
        old.gate.set()
        idle(s)
        st = s.stats()
        assert st["stale"] == 1 and s.render_counts()[t] == 2
        assert np.array_equal(s.tile(t), to_uint8(new.render_tiles([t])[0]))
        assert not np.array_equal(s.tile(t), to_uint8(old.world.render_tiles([t])[0]))
        assert s.poll() == [t]  # announced once, for the fresh result only


def test_the_cache_byte_budget_holds_under_many_tiles(gated, ts):
    tile_bytes = ts * ts * 3
    with TileScheduler(gated, cache_bytes=5 * tile_bytes, batch=4, prefetch=1) as s:
        s.set_view(0, 0, 2 * ts, 2 * ts)  # 16 tiles with the ring
        idle(s)
        st = s.stats()
    assert st["rendered"] == 16
    assert st["bytes"] <= st["budget"] == 5 * tile_bytes and st["count"] == 5
    assert st["evictions"] == 11


def test_render_counts_keep_only_the_most_recently_rendered_tiles(gated, ts, monkeypatch):
    monkeypatch.setattr(scheduler, "COUNTS_KEPT", 10)
    with TileScheduler(gated, batch=4, prefetch=1) as s:
        s.set_view(0, 0, 2 * ts, ts)
        idle(s)
        first = s.wanted()
        s.set_view(20 * ts, 0, 21 * ts, ts)  # as many again, far away
        idle(s)
        counts, second = s.render_counts(), s.wanted()
    assert s.stats()["rendered"] == len(first) + len(second) > 10
    assert len(second) < 10 and set(second) < set(counts) and len(counts) == 10  # the newest 10 renders
    assert len(set(counts) & set(first)) == 10 - len(second) and set(counts.values()) == {1}


def test_a_world_error_is_reported_and_the_worker_keeps_serving(gated, ts):
    bad = Tile(1, 0)
    gated.fail = {bad}
    with TileScheduler(gated, batch=4, prefetch=0) as s:
        s.set_view(0, 0, 3 * ts, 2 * ts)
        idle(s)
        st = s.stats()
        assert st["errors"] == 1 and st["rendered"] == 5  # batch-mates of the bad tile still rendered
        assert "\n" not in st["last_error"]
        assert "tile (1, 0)" in st["last_error"] and "lattice exploded" in st["last_error"]
        assert s.tile(bad) is None and s.tile(Tile(0, 0)) is not None
        calls = len(gated.calls)
        s.set_view(1, 1, 3 * ts, 2 * ts)  # a failing tile is not retried as the view moves ...
        idle(s)
        assert len(gated.calls) == calls
        s.set_view(10 * ts, 0, 11 * ts, ts)  # ... and the worker still serves other tiles
        idle(s)
        assert s.tile(Tile(10, 0)) is not None
        gated.fail = set()
        s.set_view(0, 0, 3 * ts, 2 * ts)
        s.invalidate([bad])  # an edit retries it
        idle(s)
        assert s.tile(bad) is not None


def test_stats_report_throughput_latency_and_device(gated, ts):
    with TileScheduler(gated, batch=2, prefetch=0) as s:
        s.set_view(0, 0, 2 * ts, 2 * ts)
        idle(s)
        st = s.stats()
    assert st["tiles_per_s"] > 0 and st["batch_ms_p50"] > 0
    assert 0 < st["latency_p50_ms"] <= st["latency_p95_ms"]
    assert st["device"] == "cpu" and st["queue"] == 0 and st["rendering"] == 0


def test_close_stops_the_worker_and_later_views_are_ignored(gated, ts):
    s = TileScheduler(gated)
    s.close()
    assert not s._thread.is_alive()
    s.set_view(0, 0, ts, ts)
    assert s.stats()["queue"] == 0 and gated.calls == []


def test_a_view_racing_edits_settles_on_fresh_pixels_for_every_visible_tile(gated, ts):
    rng = np.random.default_rng(0)
    with TileScheduler(gated, batch=3, prefetch=1) as s:
        for _ in range(150):
            x, y = rng.integers(-4, 4, 2) * ts + rng.integers(0, ts, 2)
            s.set_view(x, y, x + 2 * ts, y + ts, velocity=tuple(rng.normal(0, 300, 2)))
            if rng.random() < 0.3:
                s.invalidate([Tile(int(i), int(j)) for i, j in rng.integers(-4, 6, (2, 2))])
            s.poll()
            time.sleep(0.001)
        s.set_view(0, 0, 2 * ts, ts)
        s.invalidate([Tile(0, 0)])
        idle(s)
        st = s.stats()
        assert st["errors"] == 0 and st["queue"] == 0 and st["rendering"] == 0
        for t in (Tile(0, 0), Tile(1, 0)):
            assert np.array_equal(s.tile(t), to_uint8(gated.world.render_tiles([t])[0]))


def test_a_background_worker_yields_every_contended_core_and_wakes_the_ui_when_tiles_are_ready(gated, ts):
    seen = []  # per wake: the calling thread, and whether both tiles could be fetched at that moment
    woke = threading.Event()

    def on_ready():
        both = s.tile(Tile(0, 0)) is not None and s.tile(Tile(1, 0)) is not None
        seen.append((threading.get_native_id(), both))
        woke.set()

    with TileScheduler(gated, batch=4, prefetch=0, background=True, on_ready=on_ready) as s:
        s.set_view(0, 0, 2 * ts, ts)  # two tiles, one batch
        assert woke.wait(20)
        idle(s)
        worker = s._thread.native_id
        if sys.platform.startswith("linux"):  # runs only where no other thread wants the core
            assert os.sched_getscheduler(worker) == os.SCHED_IDLE
        assert sorted(s.poll()) == [Tile(0, 0), Tile(1, 0)]
    assert seen == [(worker, True)]  # once per finished batch, from the worker, tiles already fetchable


def test_a_wide_view_gets_its_coarsest_level_first_and_a_close_one_does_not(gated, ts):
    with TileScheduler(gated, batch=1, prefetch=0, preview=True) as s:
        s.set_view(-4 * ts, 0, 4 * ts, 3 * ts)  # 24 tiles of level 0 under two of level 3
        idle(s)
        order = gated.order()
        assert order[:2] == [Tile(-1, 0, 3), Tile(0, 0, 3)] and {t.level for t in order[2:]} == {0}
        assert len(order) == 26
        gated.calls.clear()
        s.set_view(16 * ts, 0, 18 * ts, ts)  # 2 tiles: a level-3 tile would cost more than it shows
        idle(s)
        assert {t.level for t in gated.order()} == {0}
