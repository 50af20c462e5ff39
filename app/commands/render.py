"""`infiniscape render`: any rectangle of the world to a PNG or .npy, streamed tile row by row."""

from __future__ import annotations

import argparse
import sys

from .common import add_model_arguments, load_model_for, positive

HELP = "render a world rectangle to .png or .npy (memory bounded by one tile row)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    p.add_argument("--seed", type=int, default=0, help="scene seed (default 0)")
    p.add_argument("--x", type=int, default=0, help="left edge in world pixels (may be negative)")
    p.add_argument("--y", type=int, default=0, help="top edge in world pixels (may be negative)")
    p.add_argument("--width", type=positive("--width"), default=None, help="pixels (default: one tile)")
    p.add_argument("--height", type=positive("--height"), default=None, help="pixels (default: one tile)")
    p.add_argument("--trunc", type=float, default=1.0, help="truncation psi (default 1.0)")
    p.add_argument("--noise-mode", choices=["world", "off"], default="world", help="per-layer noise")
    p.add_argument("--tile-batch", type=positive("--tile-batch"), default=8, help="tiles per forward pass")
    p.add_argument("--out", required=True, help="output .png (8-bit) or .npy (float32 HxWx3 in [-1, 1])")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from infiniscape.renderer.export import check_output_path, export_region
    from infiniscape.renderer.scene import Scene
    from infiniscape.renderer.world import World

    out = check_output_path(args.out)
    model = load_model_for(args)
    width = args.width or model.tile_size
    height = args.height or model.tile_size
    scene = Scene(model=args.model, seed=args.seed, truncation=args.trunc, noise_mode=args.noise_mode)
    world = World(model, scene, tile_batch=args.tile_batch)
    total = world.tile_count(args.x, args.y, width, height)
    with tqdm(total=total, unit="tile", desc="render", disable=args.quiet or None, file=sys.stderr) as bar:
        export_region(world, args.x, args.y, width, height, out, progress=bar.update)
    if not args.quiet:
        print(f"wrote {out} ({width}x{height} px at ({args.x}, {args.y}), {total} tiles)", file=sys.stderr)
    return 0
