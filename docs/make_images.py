"""Render the README's pictures: a 4096x512 panorama, a 2x2 grid of far-apart crops, a 1/8x overview.

    python docs/make_images.py --model landscape --seed 7 [--scale N] [--crops 20]

--crops N also writes crops.png, N crops at random world x (anywhere in +-2^24) around the horizon
in a 5-wide contact sheet: the model card's look test.

The pictures show the world exactly as the studio opens it: at the model's opening zoom (a model of
64 px frames opens at 4x; see InfiniteGenerator.opening_view), enlarged with nearest-neighbour
sampling as the canvas's textures are, and with the horizon where the opening view puts it.
--scale N overrides the zoom (the caption in the README says which was used). overview.png is
the studio's widest zoom (1/8x, the model's coarsest level of detail) over 1280x720 screen pixels
about the opening view's centre: 10240x5760 world px, sky far above and ground far below included.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from infiniscape.models.registry import load_model
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.world import World, to_uint8


def picture(world: World, x: int, y: int, w: int, h: int, scale: int) -> Image.Image:
    img = Image.fromarray(to_uint8(world.render(x, y, w // scale, h // scale)))
    return img if scale == 1 else img.resize((w, h), Image.NEAREST)  # as the canvas draws texels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="landscape")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=int, default=None, help="enlargement (default: the opening zoom)")
    ap.add_argument("--out", default=str(Path(__file__).parent))
    ap.add_argument("--crops", type=int, default=0, help="also write crops.png with this many random crops")
    args = ap.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    model = load_model(args.model)
    world = World(model, Scene(model=args.model, seed=args.seed), tile_batch=1)
    zoom, _, cy = model.opening_view
    s = args.scale or max(1, round(zoom))
    ph, pw = 512 // s, 4096 // s
    top = round(cy) - ph // 2  # the opening view's centre row at the picture's centre
    picture(world, -pw // 2, top, 4096, 512, s).save(Path(args.out) / "panorama.png")
    crops = [picture(world, x, top, 1024, 512, s) for x in (0, 1 << 14, 1 << 20, -(1 << 24))]
    grid = Image.new("RGB", (2048, 1024))
    for i, c in enumerate(crops):
        grid.paste(c, ((i % 2) * 1024, (i // 2) * 512))
    grid.save(Path(args.out) / "far_apart.png")
    # level-3 pixels (world / 8), centred on the opening view's centre (0, cy)
    overview = world.render(-640, round(cy / 8) - 360, 1280, 720, level=3)
    Image.fromarray(to_uint8(overview)).save(Path(args.out) / "overview.png")
    if args.crops:
        contact_sheet(world, args.crops, top, s, args.seed).save(Path(args.out) / "crops.png")
    extra = " and crops.png" if args.crops else ""
    print(f"wrote panorama.png, far_apart.png, overview.png{extra} to {args.out} (world scale 1/{s})")


def contact_sheet(world: World, n: int, top: int, scale: int, seed: int) -> Image.Image:
    """n crops of 512x512 at random world x (same rows as the panorama), 5 per row."""
    import numpy as np

    xs = np.random.default_rng(seed).integers(-(1 << 24), 1 << 24, n)
    sheet = Image.new("RGB", (5 * 512, -(-n // 5) * 512))
    for i, x in enumerate(xs):
        sheet.paste(picture(world, int(x), top, 512, 512, scale), ((i % 5) * 512, (i // 5) * 512))
    return sheet


if __name__ == "__main__":
    main()
