"""Cold view fill through the TileScheduler: time until every visible tile of a window is ready.

    python benchmarks/view_fill.py [--model default] [--batches 1 2 4 8] [--devices cpu cuda]

For each device and batch size a fresh scheduler (empty cache) is pointed at a view of never-rendered
world tiles while this thread plays the UI: it polls every few milliseconds, as a frame loop would.
The model is warmed up first (allocator, oneDNN/CUDA kernels) so the numbers are a cache-cold fill,
not process start-up. Two views: one aligned to the tile grid and one that is not (more tiles).
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import torch

from infiniscape.models.contract import Tile
from infiniscape.models.registry import load_model
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.scheduler import TileScheduler, plan_view
from infiniscape.renderer.world import World


def fill(world: World, batch: int, x: int, y: int, w: int, h: int, prefetch: int) -> dict:
    visible_order, n = plan_view(x, y, x + w, y + h, world.tile_size, prefetch=0)
    visible = set(visible_order[:n])
    done: set[Tile] = set()
    ui_max = 0.0
    with TileScheduler(world, batch=batch, prefetch=prefetch) as s:
        t0 = time.perf_counter()
        s.set_view(x, y, x + w, y + h)
        first = None
        while not visible <= done:
            time.sleep(0.004)  # a frame's worth of other UI work
            c0 = time.perf_counter()
            s.set_view(x, y, x + w, y + h)
            ready = s.poll()
            ui_max = max(ui_max, time.perf_counter() - c0)
            if ready and first is None:
                first = time.perf_counter() - t0
            done.update(ready)
        total = time.perf_counter() - t0
        st = s.stats()
    return {"batch": batch, "tiles": n, "first_ms": first * 1e3, "fill_s": total, "tiles_per_s": n / total,
            "batch_ms_p50": st["batch_ms_p50"], "lat_p95_ms": st["latency_p95_ms"], "ui_max_ms": ui_max * 1e3}


def direct(world: World, batch: int, x: int, y: int, w: int, h: int) -> tuple[int, float]:
    """Seconds to render the view's tiles with World.render_tiles and no scheduler: the floor.

    Run on a plain thread like the scheduler's worker: on a loaded machine torch's OpenMP team of
    the main thread is many times slower than a secondary thread's, which would flatter the scheduler."""
    order, n = plan_view(x, y, x + w, y + h, world.tile_size, prefetch=0)
    took = []

    def run() -> None:
        t0 = time.perf_counter()
        for i in range(0, n, batch):
            world.render_tiles(order[i:i + batch])
        took.append(time.perf_counter() - t0)

    th = threading.Thread(target=run)
    th.start()
    th.join()
    return n, took[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--devices", nargs="+", default=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    ap.add_argument("--view", default="1280x720")
    ap.add_argument("--prefetch", type=int, default=0, help="ring depth (0: time the visible tiles only)")
    args = ap.parse_args()
    w, h = (int(v) for v in args.view.split("x"))
    print(f"view {w}x{h}, model {args.model}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.2f}")
    head = (f"{'device':6} {'view':9} {'batch':>5} {'tiles':>5} {'first ms':>9} {'fill s':>7} {'tiles/s':>8} "
            f"{'batch ms':>9} {'lat p95 ms':>10} {'ui max ms':>9}")
    for device in args.devices:
        model = load_model(args.model, device=device)
        world = World(model, Scene(seed=1), tile_batch=max(args.batches))
        ts = world.tile_size
        print(f"\n{device}: {ts} px tiles\n{head}")
        for i, batch in enumerate(args.batches):
            world.render_tiles([Tile(-1000 - i, -1000 + k) for k in range(batch)])  # warm-up at this batch
            for k, (name, ox, oy) in enumerate([("aligned", 0, 0), ("unaligned", ts // 2, ts // 3)]):
                # Fresh world tiles every run, far from the ones already rendered.
                x, y = (20 * i + 10 * k) * ts * 8 + ox, 40 * ts + oy
                r = fill(world, batch, x, y, w, h, args.prefetch)
                print(f"{device:6} {name:9} {r['batch']:5d} {r['tiles']:5d} {r['first_ms']:9.0f} "
                      f"{r['fill_s']:7.2f} {r['tiles_per_s']:8.1f} {r['batch_ms_p50']:9.0f} "
                      f"{r['lat_p95_ms']:10.0f} {r['ui_max_ms']:9.2f}")
            # Same tile count, fresh tiles, no thread: what the scheduler's overhead is measured against.
            n, t = direct(world, batch, (20 * i + 5) * ts * 8, 40 * ts, w, h)
            print(f"{device:6} {'direct':9} {batch:5d} {n:5d} {'':9} {t:7.2f} {n / t:8.1f}")


if __name__ == "__main__":
    main()
