"""`infiniscape video`: a scroll along a straight path through the world."""

from __future__ import annotations

import argparse
import sys

from infiniscape.models.errors import UserError

from .common import positive
from .render import add_world_arguments, open_world

HELP = "render a scroll along a world path to MP4 (video extra) or numbered PNGs"


def _path(text: str):
    try:
        a, b = text.split(":")
        (x0, y0), (x1, y1) = (tuple(float(v) for v in p.split(",")) for p in (a, b))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--path must look like x0,y0:x1,y1, got {text!r}") from None
    return (x0, y0), (x1, y1)


def _size(text: str):
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size must look like WxH, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"--size must be positive, got {text!r}")
    return w, h


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_world_arguments(p)
    p.add_argument("--path", type=_path, required=True, help="frame centre from x0,y0 to x1,y1 (world px)")
    p.add_argument("--size", type=_size, default=(640, 360), help="frame size WxH (default 640x360)")
    p.add_argument("--frames", type=positive("--frames"), default=120, help="number of frames (default 120)")
    p.add_argument("--fps", type=positive("--fps"), default=30)
    p.add_argument("--out", required=True, help="output .mp4 (needs imageio-ffmpeg) or a folder for PNGs")
    p.add_argument("--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from infiniscape.renderer.video import write_video

    if args.out.lower().endswith(".mp4"):
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise UserError("writing MP4 needs the video extra: pip install 'infiniscape[video]' "
                            "(or pass a folder for numbered PNGs)") from None
    world = open_world(args)
    bar = tqdm(total=args.frames, unit="frame", desc="video", disable=args.quiet or None, file=sys.stderr)
    with bar:
        out = write_video(world, args.path, args.size, args.frames, args.out, args.fps, progress=bar.update)
    if not args.quiet:
        print(f"wrote {out} ({args.frames} frames of {args.size[0]}x{args.size[1]})", file=sys.stderr)
    return 0
