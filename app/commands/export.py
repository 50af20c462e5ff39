"""`infiniscape export`: a world rectangle as a Deep Zoom (DZI) pyramid for OpenSeadragon; under
torchrun the ranks share the tile rows of each level the world renders and rank 0 writes."""

from __future__ import annotations

import argparse
import sys

from .common import add_count, non_negative
from .render import add_class_argument, add_rect_arguments, add_world_arguments, check_split_noise, open_world

HELP = "write a world rectangle as a Deep Zoom pyramid (OUT.dzi + OUT_files/) for OpenSeadragon"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_world_arguments(p)
    add_rect_arguments(p, size="world pixels at full resolution")
    add_class_argument(p)
    p.add_argument("--dzi", required=True, metavar="OUT.dzi",
                   help="the descriptor to write; the tiles go to OUT_files/<level>/<col>_<row>.<format>")
    add_count(p, "--tile-size", 254, "pixels")
    add_count(p, "--overlap", 1, "pixels each tile shares with its neighbours", check=non_negative)
    p.add_argument("--format", dest="fmt", choices=["png", "jpg"], default="png",
                   help="tile format (default png)")
    p.add_argument("--coarse", choices=["model", "box"], default="model",
                   help="levels below full resolution: the model's own levels of detail where it renders "
                        "them and --x/--y are multiples of their scale, then 2x2 averages (model, the "
                        "default); or 2x2 averages all the way (box)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from .torchrun import run_on_ranks

    return run_on_ranks(args.device, lambda env, device: export(args, env, device))


def export(args: argparse.Namespace, env, device: str) -> int:
    """This rank's part: under torchrun every rank renders its tile rows and rank 0 writes."""
    from tqdm import tqdm

    from infiniscape.renderer.deepzoom import (
        check_dzi_path,
        check_pyramid_options,
        export_dzi,
        pyramid_sizes,
        world_tile_count,
    )

    out = check_dzi_path(args.dzi) if env.is_main else args.dzi
    check_pyramid_options(args.tile_size, args.overlap, args.fmt, args.coarse)
    world = open_world(args, device)
    check_split_noise(world, env)
    width = args.width or world.tile_size
    height = args.height or world.tile_size
    total = world_tile_count(world, args.x, args.y, width, height, args.coarse)
    quiet = args.quiet or not env.is_main
    with tqdm(total=total, unit="tile", desc="export", disable=quiet or None, file=sys.stderr) as bar:
        export_dzi(world, args.x, args.y, width, height, out, args.tile_size, args.overlap, args.fmt,
                   args.coarse, progress=bar.update, ranks=env)
    if not quiet:
        levels = len(pyramid_sizes(width, height))
        print(f"wrote {out} ({width}x{height} px at ({args.x}, {args.y}), {levels} levels, "
              f"tiles in {out.stem}_files/)", file=sys.stderr)
    return 0
