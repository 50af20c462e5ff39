"""`infiniscape dataset`: make a StyleGAN2-ADA training zip from a folder, a zip, or procedural landscapes."""

from __future__ import annotations

import argparse
import sys

HELP = "convert a folder or zip of images (or procedural landscapes) into a training zip of R x R PNGs"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", required=True, metavar="DIR|ZIP|procedural",
                   help="folder (recursive) or zip of images, or 'procedural' (built-in landscapes)")
    p.add_argument("--dest", required=True, metavar="OUT.zip", help="zip to write (replaced when complete)")
    p.add_argument("--resolution", type=int, default=256, metavar="R", help="output size R x R (default 256)")
    p.add_argument("--alpha", choices=["white", "drop"], default="white",
                   help="transparent images: composite on white (default) or drop the alpha channel")
    p.add_argument("--max-images", type=int, default=None, metavar="N", help="stop after writing N images")
    p.add_argument("--count", type=int, default=None, metavar="N",
                   help="with --source procedural: how many images to write")
    p.add_argument("--seed", type=int, default=0, help="with --source procedural: dataset seed (default 0)")


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty() and (done == total or done % 50 == 0):
        print(f"\r{done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from infiniscape.models.errors import UserError
    from infiniscape.train.dataset import convert_dataset, export_procedural

    if args.resolution < 8:
        raise UserError(f"--resolution {args.resolution} is too small: use 8 or more (e.g. 256)")
    if Path(args.dest).suffix.lower() != ".zip":
        raise UserError(f"--dest {args.dest} must end in .zip")
    if args.source == "procedural":
        if not args.count or args.count < 1:
            raise UserError("--source procedural needs --count N (how many images to write)")
        report = export_procedural(args.dest, args.resolution, args.count, seed=args.seed, progress=_progress)
    else:
        if args.count is not None:
            raise UserError("--count only applies to --source procedural; use --max-images for folders")
        if not Path(args.source).exists():
            raise UserError(f"--source {args.source} does not exist: pass a folder, a .zip or 'procedural'")
        report = convert_dataset(args.source, args.dest, args.resolution, alpha=args.alpha,
                                 max_images=args.max_images, progress=_progress)
    print(report.summary())
    if not report.written:
        Path(args.dest).unlink(missing_ok=True)  # an empty training zip would only fail later
        raise UserError(f"no usable images in {args.source}: every file was skipped (reasons above)")
    return 0
