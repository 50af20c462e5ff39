"""`infiniscape metrics`: equivariance PSNRs, seam score and (delegated) FID/KID, one line each."""

from __future__ import annotations

import argparse
import sys

from .common import positive
from .render import add_world_arguments

HELP = ("measure a model: eqt_int, eqt_frac, eqr (PSNR dB), seams (1.0 = invisible), repetition "
        "(~0 = the world repeats), fid, kid")
EQ_METRICS = ("eqt_int", "eqt_frac", "eqr")
ALL_METRICS = EQ_METRICS + ("seams", "repetition", "fid", "kid")


def _metric_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in ALL_METRICS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown metric {', '.join(bad) or text!r}: choose from "
                                         f"{', '.join(ALL_METRICS)}")
    return list(dict.fromkeys(names))


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_world_arguments(p)
    p.add_argument("--metric", type=_metric_list, default=["seams"], metavar="LIST",
                   help=f"comma-separated: {', '.join(ALL_METRICS)} (default: seams)")
    p.add_argument("--samples", type=positive("--samples"), default=50,
                   help="equivariance samples / seam regions / 8192 px strips for repetition / generated "
                        "images for fid, kid (default 50)")
    p.add_argument("--data", default=None, metavar="D",
                   help="dataset for fid/kid: folder, .zip or procedural")
    p.add_argument("--sample-seed", type=int, default=0, help="seed of the samples (default 0)")


def run(args: argparse.Namespace) -> int:
    from infiniscape.models.errors import UserError

    from .render import open_world

    world = open_world(args)
    eq = [m for m in args.metric if m in EQ_METRICS]
    if eq:
        from infiniscape.renderer.analysis.equivariance import transformable

        transformable(world.model, eq)  # fail at once, before slower metrics, when it cannot be measured
    for name in args.metric:
        if name in EQ_METRICS:
            continue
        if name == "seams":
            from infiniscape.renderer.analysis.seams import pool, seam_interval, world_seam_samples

            samples = world_seam_samples(world, regions=args.samples, seed=args.sample_seed)
            e, (lo, hi) = pool(samples), seam_interval(samples)
            print(f"seams: {e.score:.4f}  (95% interval {lo:.3f}-{hi:.3f} over {len(samples)} regions; "
                  f"x {e.score_x:.4f}, y {e.score_y:.4f}; 1.0 = invisible)", flush=True)
        elif name == "repetition":
            from infiniscape.renderer.analysis.repetition import world_repetition

            strips = world_repetition(world, strips=args.samples, seed=args.sample_seed)
            x, r = min(strips, key=lambda s: s[1].ratio)
            print(f"repetition: {r.ratio:.3f}  (nearest pair of 256 px windows / median pair distance, "
                  f"worst of {len(strips)} strips of 8192x64 px at y -32..32: strip x {x}, windows "
                  f"{r.shift} px apart; ~0 = a repeat)", flush=True)
        else:
            print(f"{name}: {_fid_kid(name, world, args, UserError)}", flush=True)
    if eq:
        from infiniscape.renderer.analysis.equivariance import equivariance_metrics, transformable

        gen = transformable(world.model, eq)  # a native model: its world moved (translations only)

        def progress(done: int, total: int) -> None:
            print(f"\requivariance {done}/{total}", end="", file=sys.stderr, flush=True)

        psnrs = equivariance_metrics(gen, eq, samples=args.samples, seed=args.sample_seed, progress=progress,
                                     translate_max=getattr(gen, "translate_max", 0.125))
        print(file=sys.stderr)
        shifts = getattr(gen, "period", None)
        for name in eq:
            how = " dB PSNR"
            if shifts:
                how += (f"  (the world moved by up to +-{shifts} px, one period of its input lattice, "
                        f"{args.samples} windows of {gen.resolution} px)")
            print(f"{name}: {psnrs[name]:.2f}{how}")
    return 0


def _fid_kid(name: str, world, args: argparse.Namespace, UserError) -> str:
    """FID/KID of world tiles against the dataset; the Inception features and statistics are
    infiniscape.train.metrics' (imported lazily: it needs the metrics extra)."""
    if not args.data:
        raise UserError(f"{name} compares with real images: pass --data (folder, .zip or procedural)")
    try:
        from infiniscape.train import metrics as tm

        stat = tm.fid_from_features if name == "fid" else tm.kid_from_features
        features, real_images = tm.features, tm.real_images
    except (ImportError, AttributeError) as e:
        raise UserError(f"{name} needs infiniscape.train.metrics ({e}), which this installation lacks") \
            from None
    import numpy as np

    from infiniscape.renderer.analysis.average import sample_tiles, world_tiles
    from infiniscape.train.dataset import open_dataset

    real = real_images(open_dataset(args.data, world.tile_size), args.samples)
    fake = np.stack(list(world_tiles(world, sample_tiles(args.samples, args.sample_seed))))
    return f"{stat(features(real), features(fake)):.4f}"
