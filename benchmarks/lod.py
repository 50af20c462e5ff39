"""Levels of detail: a cold 1280x720 view at zoom 1, 1/2, 1/4, 1/8 costs about the same.

    python benchmarks/lod.py [--model landscape] [--rounds 3]
    xvfb-run -a -s "-screen 0 1280x800x24" python benchmarks/lod.py --studio [--model landscape]

Renderer: for each zoom a fresh World (nothing cached) renders every tile of the view's level that
meets the view, on a plain thread as the scheduler's worker does; the zooms alternate round by round
and the median is reported, so a noisy machine hits all of them alike. "without levels" is what the
view cost before levels: the level-0 tiles the view covers, timed per tile in the same rounds.
Agreement: zoom 1/2, 1/4 and 1/8 renders of world squares at the horizon, below and above it
against the box-downsampled 1x render of each (PSNR, the colour range [-1, 1] as the peak-to-peak 2).

--studio: the real window (glfw + OpenGL, under Xvfb here) opens on the model, waits for its first
view, then zooms to 1/8x about the canvas centre (what Navigation's preset asks for): seconds until
every visible tile is drawn, and how many frames showed grey holes meanwhile; then back to 1x
likewise. Frames are paced by the window's own loop (StudioWindow.pace): once the click is
ACTIVE_S old the UI sleeps until a tile lands; a second run per round keeps a mouse moving over the
window (frames at the FPS limit throughout, the UI's worst case). Screenshots land in --shots.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np

from infiniscape.models.registry import load_model
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.scheduler import plan_view
from infiniscape.renderer.world import World

ZOOMS = (1, 2, 4, 8)  # 1 / zoom


def timed(fn) -> float:
    """Seconds fn takes on a plain thread (torch's OpenMP team on the main thread is slower on a
    loaded machine than a secondary thread's, which would flatter nothing but confuse the ratio)."""
    took = []

    def run() -> None:
        t0 = time.perf_counter()
        fn()
        took.append(time.perf_counter() - t0)

    th = threading.Thread(target=run)
    th.start()
    th.join()
    return took[0]


def view_tiles(world: World, cx: float, cy: float, w: int, h: int, level: int):
    f = 1 << level
    x0, y0 = cx - w * f / 2, cy - h * f / 2
    return plan_view(x0, y0, x0 + w * f, y0 + h * f, world.tile_size, prefetch=0, level=level)[0]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(4.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def renderer(args) -> None:
    model = load_model(args.model)
    w, h = args.view
    print(f"model {args.model} ({model.family}, {model.levels} own levels, {model.tile_size} px tiles), "
          f"view {w}x{h}, {args.rounds} rounds, median")
    cx, cy = 0.0, 0.0
    times: dict[int, list[float]] = {z: [] for z in ZOOMS}
    per_full_tile: list[float] = []
    counts = {}
    for r in range(args.rounds):
        for z in ZOOMS:
            level = z.bit_length() - 1
            world = World(model, Scene(seed=100 + r))  # a new seed each round: nothing warm
            tiles = view_tiles(world, cx + 10_000 * r, cy, w, h, level)
            counts[z] = len(tiles)
            times[z].append(timed(lambda world=world, tiles=tiles: world.render_tiles(tiles)))
        sample = view_tiles(World(model), cx, cy, w, h, 0)[:4]
        world = World(model, Scene(seed=200 + r))
        took = timed(lambda world=world, sample=sample: world.render_tiles(sample))
        per_full_tile.append(took / len(sample))
    base = statistics.median(times[1])
    full = statistics.median(per_full_tile)
    print(f"{'zoom':>6} {'level':>5} {'tiles':>5} {'cold view s':>11} {'vs 1x':>6} {'level-0 tiles':>13} "
          f"{'without levels s (est.)':>23}")
    for z in ZOOMS:
        n0 = len(view_tiles(World(model), cx, cy, w * z, h * z, 0))
        t = statistics.median(times[z])
        print(f"{'1/' + str(z) if z > 1 else '1':>6} {z.bit_length() - 1:5d} {counts[z]:5d} {t:11.2f} "
              f"{t / base:6.2f} {n0:13d} {n0 * full:23.1f}")
    # agreement of the model's own levels with the box-downsampled full resolution, at three heights
    world = World(model, Scene(seed=7))
    side = args.psnr_px
    places = {"horizon": (-side // 2, -side // 2), "1024 px below": (4096, 1024),
              "2048 px above": (-8192, -2048)}
    print(f"agreement with the box-downsampled 1x render, {side}x{side} world px, PSNR dB:")
    print(f"{'zoom':>6} " + " ".join(f"{name:>14}" for name in places))
    for level in (1, 2, 3):
        f, n = 1 << level, side >> level
        row = []
        for x, y in places.values():
            coarse = world.render(x // f, y // f, n, n, level=level)
            down = world.render(x, y, side, side).reshape(n, f, n, f, 3).mean(axis=(1, 3))
            row.append(psnr(coarse, down))
        print(f"{'1/' + str(f):>6} " + " ".join(f"{v:14.1f}" for v in row))


STUDIO_CHILD = r"""
import json, math, sys, time
from infiniscape.window import StudioWindow, check_display, save_screenshot
from infiniscape.commands.view import reserve_ui_core
check_display()
reserve_ui_core()
window = StudioWindow(1280, 800)
from infiniscape.studio import Studio
studio = Studio(model=sys.argv[1])
shots, mouse_moving = sys.argv[2], sys.argv[3] == "1"
window.run(studio, quit_after_frames=1, settle_timeout=120)  # the first view, every tile drawn
out = {}
for label, zoom in (("1/8", 1 / 8), ("1", 1.0)):
    c = studio.canvas  # what Navigation's zoom preset does: zoom about the canvas centre
    c.view.zoom_about(c.origin[0] + c.size[0] / 2, c.origin[1] + c.size[1] / 2, zoom, c.origin)
    t0 = time.time()
    frames = holes = 0
    # Frames paced as the window's own loop paces them: the FPS limit for ACTIVE_S after the click,
    # then asleep until a tile lands; or, with a mouse moving over the window the whole time, the
    # FPS limit throughout (the UI and its software rasteriser then take a core's share).
    active_until = math.inf if mouse_moving else time.perf_counter()
    while True:
        t_frame = time.perf_counter()
        window.draw(studio)
        window.present()
        frames += 1
        holes += studio.canvas.holes > 0
        if studio.canvas.level == (3 if zoom < 1 else 0) and studio.canvas.complete():
            break
        if time.time() - t0 > 300:
            break
        active_until = window.pace(studio, t_frame, active_until)
    done = time.time() - t0
    for _ in range(3):
        window.present()
        fw, fh = window.draw(studio)
    save_screenshot(f"{shots}/lod-{label.replace('/', 'of')}.png", fw, fh)
    window.present()
    out[label] = dict(seconds=done, frames=frames, grey_frames=holes, tiles=len(studio.canvas.visible))
studio.close()
window.close()
print(json.dumps(out))
"""


def studio(args) -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    Path(args.shots).mkdir(parents=True, exist_ok=True)
    print(f"real window 1280x800, model {args.model}; after the first view settles, Navigation -> zoom")
    print("frames paced as the app paces them (asleep between tiles once the click is 0.5 s old), and "
          "with a mouse moving over the window throughout (the FPS limit all along), alternating")
    print(f"{'run':>3} {'mouse':>6} {'zoom':>5} {'fully drawn s':>13} {'frames':>6} {'frames with grey':>16} "
          f"{'tiles':>5}")
    for i in range(args.rounds):
        for moving in (False, True):
            child = [sys.executable, "-c", STUDIO_CHILD, args.model, args.shots, str(int(moving))]
            res = subprocess.run(child, capture_output=True, text=True)
            if res.returncode:
                raise SystemExit(res.stderr.strip().splitlines()[-1])
            r = json.loads(res.stdout.strip().splitlines()[-1])
            for label, v in r.items():
                print(f"{i:3d} {'moving' if moving else 'still':>6} {label:>5} {v['seconds']:13.2f} "
                      f"{v['frames']:6d} {v['grey_frames']:16d} {v['tiles']:5d}")
    print(f"screenshots: {args.shots}/lod-1of8.png, {args.shots}/lod-1.png")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="landscape")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--view", type=lambda s: tuple(int(v) for v in s.split("x")), default=(1280, 720))
    p.add_argument("--psnr-px", type=int, default=512, help="side (world px) of the agreement renders")
    p.add_argument("--studio", action="store_true", help="time the real window instead (needs a display)")
    p.add_argument("--shots", default="/tmp/lod-shots")
    args = p.parse_args()
    studio(args) if args.studio else renderer(args)


if __name__ == "__main__":
    main()
