"""The README's placed-image pictures: a photo continued left and right by the built-in world, and two
photos connected by it (inversion into the world's cells, then a render of the surroundings).

    python docs/placed_images.py PHOTO [PHOTO2] [--steps 200]

The README's pictures were made from Debian's mate-backgrounds package (GPL-2+):
nature/Storm.jpg (Sergey Nazarov, 2008) and nature/Dune.jpg (Marco Cogoni, 2007; Hylke Bons, 2008):
`apt-get download mate-backgrounds && dpkg -x mate-backgrounds_*.deb x`, then
`python docs/placed_images.py x/usr/share/backgrounds/mate/nature/{Storm,Dune}.jpg`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

from infiniscape.commands.invert import perceptual_features
from infiniscape.models.registry import DEFAULT_MODEL, load_model
from infiniscape.renderer.inversion import FitOptions, fit_images, load_target, psnr
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.world import World, to_uint8

HERE = Path(__file__).parent
W, H = 208, 128  # world px a photo covers: half the height of the built-in model's 256 px landscapes
HORIZON = 0.6  # the photos' horizon, as a fraction of their height: put on the world's (y = 0)
ENLARGE = 1  # shown as the studio opens the built-in model (1x); a model of smaller frames opens enlarged


def framed(world: World, x: int, y: int, w: int, h: int, rects) -> np.ndarray:
    """The world's pixels, enlarged, with a thin outline just outside each placed photo."""
    img = to_uint8(world.render(x, y, w, h)).repeat(ENLARGE, 0).repeat(ENLARGE, 1)
    for rx, ry, rw, rh in rects:
        x0, y0 = (rx - x) * ENLARGE - 1, (ry - y) * ENLARGE - 1
        x1, y1 = x0 + rw * ENLARGE + 1, y0 + rh * ENLARGE + 1
        for a, b in ((slice(y0, y1 + 1), [x0, x1]), ([y0, y1], slice(x0, x1 + 1))):
            img[a, b] = (255, 220, 0)
    return img


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("photos", nargs="+")
    p.add_argument("--steps", type=int, default=200)
    args = p.parse_args()
    model = load_model(DEFAULT_MODEL)
    perceptual, _ = perceptual_features()
    top = -round(H * HORIZON)
    # 1. one photo continued left and right
    world = World(model, Scene(seed=3))
    photo = load_target(args.photos[0], -W // 2, top, (W, H))
    t0 = time.perf_counter()
    fit = fit_images(world, [photo], FitOptions(steps=args.steps), perceptual)
    world.apply(fit.action)
    print(f"{photo.name}: {fit.steps} steps in {time.perf_counter() - t0:.0f} s, "
          f"PSNR {psnr(world.render(*photo.rect), photo.pixels):.1f} dB")
    strip = framed(world, -4 * W, top - H, 8 * W, 3 * H, [photo.rect])
    Image.fromarray(strip).save(HERE / "placed_continued.png")
    if len(args.photos) < 2:
        return
    # 2. two photos, the world between them fitted so that it connects them
    world = World(model, Scene(seed=3))
    left = load_target(args.photos[0], -5 * W // 2, top, (W, H))
    right = load_target(args.photos[1], 3 * W // 2, top, (W, H))
    t0 = time.perf_counter()
    fit = fit_images(world, [left, right], FitOptions(steps=args.steps), perceptual)
    world.apply(fit.action)
    scores = " / ".join(f"{psnr(world.render(*t.rect), t.pixels):.1f}" for t in (left, right))
    seconds = time.perf_counter() - t0
    print(f"{left.name} + {right.name}: {fit.steps} steps in {seconds:.0f} s, PSNR {scores} dB")
    strip = framed(world, -4 * W, top - H, 8 * W, 3 * H, [left.rect, right.rect])
    Image.fromarray(strip).save(HERE / "placed_connected.png")


if __name__ == "__main__":
    main()
