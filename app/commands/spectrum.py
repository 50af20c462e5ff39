"""`infiniscape spectrum`: average power spectrum of a model's world (and of a dataset) to .npz + .png."""

from __future__ import annotations

import argparse
import sys

from .common import add_count
from .render import add_world_arguments

HELP = "average power spectrum of N world tiles (and of a dataset) to .npz, with a PNG heatmap"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_world_arguments(p)
    p.add_argument("--data", default=None, metavar="D",
                   help="dataset to compare with: folder, .zip or 'procedural[:SEED]' (whitens both)")
    add_count(p, "--tiles", 64, "tiles (and images) to average")
    add_count(p, "--spread", 64, "tiles are drawn from [-spread, spread)^2 tile indices")
    p.add_argument("--sample-seed", type=int, default=0, help="seed of the tile positions (default 0)")
    p.add_argument("--beta", type=float, default=8.0, help="Kaiser window beta (default 8)")
    add_count(p, "--interp", 4, "zero-padding factor")
    p.add_argument("--out", required=True, metavar="FILE.npz", help="output .npz; the PNG goes next to it")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from infiniscape.models.errors import UserError
    from infiniscape.renderer.analysis import average as avg

    out = Path(args.out)
    if out.suffix.lower() != ".npz":
        raise UserError(f"--out {args.out}: the spectrum is written as .npz (a .png goes next to it)")
    if not out.parent.is_dir():
        raise UserError(f"--out {args.out}: folder {out.parent} does not exist")
    if args.beta < 0:
        raise UserError(f"--beta must be >= 0, got {args.beta}")
    from .render import open_world

    world = open_world(args)
    try:
        tiles = avg.sample_tiles(args.tiles, args.sample_seed, args.spread)
    except ValueError as e:
        raise UserError(str(e)) from None
    dataset = None
    if args.data:
        from infiniscape.train.dataset import open_dataset

        dataset = open_dataset(args.data, world.tile_size)
        if len(dataset) < 1:
            raise UserError(f"dataset {args.data} holds no images")
    n_data = min(args.tiles, len(dataset)) if dataset is not None else 0
    bar = tqdm(total=args.tiles * 2 + n_data * 2, unit="img", desc="spectrum", file=sys.stderr,
               disable=args.quiet or None)
    with bar:
        images = []
        for img in avg.world_tiles(world, tiles):  # kept: one pass for statistics, one for spectra
            images.append(img)
            bar.update(1)
        if dataset is not None:
            mean, std = avg.image_moments(_counted(avg.dataset_images(dataset, n_data), bar))
        else:
            mean, std = avg.image_moments(images)
            bar.update(0)
        if std <= 0:
            raise UserError("the images are uniform (std 0): nothing to whiten a spectrum with")
        spectra = {"model": avg.average_spectrum(images, mean, std, args.beta, args.interp, bar.update)}
        if dataset is not None:
            spectra["data"] = avg.average_spectrum(avg.dataset_images(dataset, n_data), mean, std,
                                                   args.beta, args.interp, bar.update)
    avg.save_npz(out, spectra)
    png = avg.heatmap_png(out.with_suffix(".png"), spectra,
                          names={"model": world.scene.model, "data": args.data})
    for label, s in spectra.items():
        sl = s.slices()
        print(f"{label}: {s.count} images {s.image_size}x{s.image_size}, 0-deg slice at Nyquist "
              f"{sl['slice0'][-1]:.1f} dB, 45-deg {sl['slice45'][-1]:.1f} dB")
    print(f"wrote {out} and {png} (whitened with mean {mean:.3f}, std {std:.3f})")
    return 0


def _counted(it, bar):
    for x in it:
        bar.update(1)
        yield x
