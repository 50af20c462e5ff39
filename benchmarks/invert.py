"""Inversion on the built-in model: procedural landscapes (its training distribution), 256 x 256 at the
horizon, fitted into the world's cells. Prints PSNR inside the rectangle and the seam score across its
border (1.0 = the border is as smooth as the lines around it) against the steps and seconds of fitting.

    OMP_NUM_THREADS=2 python benchmarks/invert.py [--steps 200] [--images 3]

One fit per image; the rows are that fit's edit at intermediate steps (the learning-rate schedule
is the full fit's). The seam is measured on a 768 px square centred on the image, whose grid of
256 px puts its lines exactly on the image's four borders.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from infiniscape.commands.invert import perceptual_features
from infiniscape.models.registry import DEFAULT_MODEL, load_model
from infiniscape.renderer.analysis.seams import seam_energy
from infiniscape.renderer.inversion import FitOptions, Target, fit_images, psnr
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.world import World
from infiniscape.train.procedural import render_landscape

SIDE = 256


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--images", type=int, default=3)
    p.add_argument("--save", default=None, help="write target | fit | surroundings of the first image here")
    args = p.parse_args()
    model = load_model(args.model)
    scene_height = model.trained.get("scene_height") or model.trained.get("frame") or SIDE
    perceptual, note = perceptual_features()
    if note:
        print(note)
    marks = tuple(s for s in (25, 50, 100, 150, 200, 300, 400) if s <= args.steps)
    rows: dict[int, list[tuple[float, float, float]]] = {s: [] for s in marks}
    x, y = 0, -SIDE // 2  # the horizon (world y = 0) crosses the image's middle
    for i in range(args.images):
        pixels = render_landscape(1000 + i, 0, SIDE, SIDE, top=y, scene_height=scene_height)
        target = Target(pixels.astype(np.float32) / 127.5 - 1.0, x, y, f"landscape{i}")
        world = World(model, Scene(model=args.model, seed=i))
        before = world.render(x - SIDE, y - SIDE, 3 * SIDE, 3 * SIDE)
        t0 = time.perf_counter()
        times, edits = {}, {}

        def progress(report, times=times, edits=edits, t0=t0):
            if report.action is not None:
                times[report.step], edits[report.step] = time.perf_counter() - t0, report.action

        fit_images(world, [target], FitOptions(steps=args.steps), perceptual, progress, checkpoints=marks)
        for s in marks:
            w = World(model, Scene(model=args.model, seed=i))
            w.apply(edits[s])
            region = w.render(x - SIDE, y - SIDE, 3 * SIDE, 3 * SIDE)
            fit = region[SIDE:2 * SIDE, SIDE:2 * SIDE]
            seam = seam_energy(region, SIDE, (SIDE, SIDE)).score
            rows[s].append((psnr(fit, target.pixels), seam, times[s]))
        if args.save and i == 0:
            from PIL import Image

            from infiniscape.renderer.world import to_uint8

            strip = np.concatenate([before, region], axis=1)
            Image.fromarray(to_uint8(strip)).save(args.save)
    print(f"model {args.model}, {args.images} procedural landscapes of {SIDE}x{SIDE} px at the horizon, "
          f"seam of the world before fitting: {seam_energy(before, SIDE, (SIDE, SIDE)).score:.3f}")
    print(f"{'steps':>6} {'seconds':>8} {'PSNR dB':>8} {'min':>6} {'seam':>6} {'max':>6}")
    for s in marks:
        ps, seams, secs = (np.array(v) for v in zip(*rows[s], strict=True))
        print(f"{s:>6} {secs.mean():>8.1f} {ps.mean():>8.2f} {ps.min():>6.2f} {seams.mean():>6.3f} "
              f"{seams.max():>6.3f}")


if __name__ == "__main__":
    main()
