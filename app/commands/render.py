"""`infiniscape render`: any rectangle of the world, at zoom 1, 1/2, 1/4, ..., to a PNG or .npy,
streamed tile row by row; under torchrun the ranks share the tile rows and rank 0 writes."""

from __future__ import annotations

import argparse
import sys

from infiniscape.models.contract import NETWORK_NOISE_MODES, NOISE_MODES
from infiniscape.models.errors import UserError
from infiniscape.renderer.limits import MAX_OUTPUT_SIDE

from .common import coordinate, positive, resolve_device

HELP = "render a world rectangle to .png or .npy at zoom 1, 1/2, 1/4, ... (memory bounded by one tile row)"


def add_world_arguments(p: argparse.ArgumentParser) -> None:
    """Model and scene options shared by render and video; flags override the scene file."""
    p.add_argument("--scene", default=None, help="scene file (model, seed, edits, styles) to render")
    p.add_argument("--model", default=None,
                   help="built-in name (landscape, tiny, default), .yaml config or checkpoint "
                        "(default: the scene's, else landscape)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: auto)")
    p.add_argument("--seed", type=int, default=None, help="scene seed (default 0)")
    p.add_argument("--trunc", type=float, default=None, help="truncation psi (default 1.0)")
    modes = list(dict.fromkeys([*NOISE_MODES, *NETWORK_NOISE_MODES]))
    p.add_argument("--noise-mode", choices=modes, default=None,
                   help="per-layer noise; network pickles also take const, random, none (world = const)")
    p.add_argument("--tile-batch", type=positive("--tile-batch"), default=8, help="tiles per forward pass")


def open_world(args: argparse.Namespace, device: str | None = None):
    """The world the arguments describe, on ``device`` (default: --device)."""
    from dataclasses import replace

    from infiniscape.models.registry import load_model
    from infiniscape.renderer.scene import Scene, load_scene
    from infiniscape.renderer.world import World

    scene = load_scene(args.scene) if args.scene else Scene()
    overrides = {k: v for k, v in (("model", args.model), ("seed", args.seed), ("truncation", args.trunc),
                                   ("noise_mode", args.noise_mode)) if v is not None}
    scene = replace(scene, **overrides)
    model = load_model(scene.model, device=device or resolve_device(args.device))
    if getattr(args, "class_idx", None) is not None:
        if not model.capabilities.class_label:
            raise UserError("--class applies to conditional StyleGAN2/StyleGAN3 network pickles only")
        model.class_idx = args.class_idx
    return World(model, scene, args.tile_batch)


def add_rect_arguments(p: argparse.ArgumentParser, corner: str = "", size: str = "pixels") -> None:
    """--x/--y (the world corner; ``corner`` adds to their help) and --width/--height (``size``
    says in which pixels); both sizes default to one tile."""
    p.add_argument("--x", type=coordinate("--x"), default=0,
                   help=f"left edge in world pixels (may be negative{corner})")
    p.add_argument("--y", type=coordinate("--y"), default=0,
                   help=f"top edge in world pixels (may be negative{corner})")
    p.add_argument("--width", type=positive("--width", MAX_OUTPUT_SIDE), default=None,
                   help=f"{size} (default: one tile)")
    p.add_argument("--height", type=positive("--height", MAX_OUTPUT_SIDE), default=None,
                   help=f"{size} (default: one tile)")


def add_class_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--class", dest="class_idx", type=int, default=None,
                   help="class label of a conditional network pickle")


def zoom_argument(text: str) -> int:
    """argparse type: a zoom 1, 1/2, 0.25, ... -> its level of detail k (zoom 2^-k)."""
    from infiniscape.renderer.levels import zoom_level

    try:
        return zoom_level(text)
    except UserError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_world_arguments(p)
    add_rect_arguments(p, corner="; snapped down to a multiple of 1/Z at --zoom Z", size="output pixels")
    p.add_argument("--zoom", dest="level", metavar="Z", type=zoom_argument, default=0,
                   help="1, 1/2, 1/4, 1/8, ... (or 0.5, 0.25, ...): each output pixel is the mean colour of "
                        "1/Z x 1/Z world pixels (default 1)")
    p.add_argument("--out", required=True, help="output .png (8-bit) or .npy (float32 HxWx3 in [-1, 1])")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--frame", action="store_true",
                   help="network pickles: the single frame gen_images.py makes for --seed (no --x/--y)")
    add_class_argument(p)


def run(args: argparse.Namespace) -> int:
    from .torchrun import run_on_ranks

    return run_on_ranks(args.device, lambda env, device: render(args, env, device))


def render(args: argparse.Namespace, env, device: str) -> int:
    """This rank's part: under torchrun every rank renders its tile rows and rank 0 writes."""
    from tqdm import tqdm

    from infiniscape.renderer.export import check_output_path, export_region
    from infiniscape.renderer.levels import zoom_text

    out = check_output_path(args.out) if env.is_main else args.out
    if args.frame and args.level:
        raise UserError("--zoom applies to world rectangles; --frame renders the network's own frame "
                        "(drop one of them)")
    if args.frame and not env.is_main:
        return 0  # one network frame: rank 0 alone
    world = open_world(args, device)
    if args.frame:
        return write_frame(world, args, out)
    check_split_noise(world, env)
    width = args.width or world.tile_size
    height = args.height or world.tile_size
    k = args.level
    total = world.tile_count(args.x >> k, args.y >> k, width, height, k)
    quiet = args.quiet or not env.is_main
    with tqdm(total=total, unit="tile", desc="render", disable=quiet or None, file=sys.stderr) as bar:
        export_region(world, args.x, args.y, width, height, out, progress=bar.update, zoom=2.0 ** -k,
                      ranks=env)
    if not quiet:
        at = f"({args.x >> k << k}, {args.y >> k << k})"
        zoom = f", zoom {zoom_text(k)}" if k else ""
        print(f"wrote {out} ({width}x{height} px at {at}{zoom}, {total} tiles)", file=sys.stderr)
    return 0


def check_split_noise(world, env) -> None:
    """Random noise comes from each process's own generator, so ranks could not agree with one process."""
    if env.active and world.scene.noise_mode == "random":
        raise UserError("--noise-mode random draws from each process's own random generator, so a render "
                        "split among ranks would differ from one process's: use const or none under torchrun")


def write_frame(world, args: argparse.Namespace, out) -> int:
    """The official frame for the scene seed, converted to 8 bits exactly as gen_images.py does."""
    import numpy as np
    import torch
    from PIL import Image

    if not world.model.capabilities.frames:
        raise UserError("--frame renders StyleGAN2/StyleGAN3 network pickles (.pkl); other models render "
                        "world rectangles (drop --frame)")
    s = world.scene
    img = world.model.frame(s.seed, s.truncation, s.noise_mode, args.class_idx)[0].permute(1, 2, 0)  # HWC
    if out.suffix.lower() == ".npy":
        np.save(out, img.clamp(-1, 1).numpy())
    else:
        u8 = (img * 127.5 + 128).clamp(0, 255).to(torch.uint8).numpy()
        Image.fromarray(u8[:, :, 0] if u8.shape[2] == 1 else u8, "L" if u8.shape[2] == 1 else "RGB").save(out)
    if not args.quiet:
        print(f"wrote {out} (frame of seed {s.seed}, {world.model.net.describe()})", file=sys.stderr)
    return 0
