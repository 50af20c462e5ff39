"""`infiniscape metrics`: equivariance PSNRs, seam score and (delegated) FID/KID, one line each.

Under torchrun only fid and kid are split among the ranks: their generated images are world tiles,
rendered one batch per rank in turn and gathered on rank 0 in order (renderer/rank_rows.py), which
computes the same numbers as one process. The other metrics reduce a few large samples (seam
regions, 8192 px strips, equivariance windows) drawn in loops of their own and run in one process.
"""

from __future__ import annotations

import argparse
import sys

from .common import positive
from .render import add_world_arguments

HELP = ("measure a model: eqt_int, eqt_frac, eqr (PSNR dB), seams (1.0 = invisible), repetition "
        "(~0 = the world repeats), fid, kid")
EQ_METRICS = ("eqt_int", "eqt_frac", "eqr")
ALL_METRICS = EQ_METRICS + ("seams", "repetition", "fid", "kid")
SPLIT_METRICS = ("fid", "kid")  # what torchrun's ranks share


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
    from .torchrun import run_on_ranks

    return run_on_ranks(args.device, lambda env, device: measure(args, env, device))


def measure(args: argparse.Namespace, env, device: str) -> int:
    """This rank's part: under torchrun the ranks render fid/kid's tiles and rank 0 prints."""
    from infiniscape.models.errors import UserError

    from .render import check_split_noise, open_world

    alone = [m for m in args.metric if m not in SPLIT_METRICS]
    if env.active and alone:
        raise UserError(f"under torchrun only {' and '.join(SPLIT_METRICS)} are split among ranks: run "
                        f"{', '.join(alone)} in one process, without torchrun")
    world = open_world(args, device)
    check_split_noise(world, env)
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
            score = _fid_kid(name, world, args, UserError, env)
            if env.is_main:
                print(f"{name}: {score}", flush=True)
    if eq:
        from infiniscape.renderer.analysis.equivariance import equivariance_metrics, transformable

        gen = transformable(world.model, eq)  # a native model: its world moved (translations only)

        def progress(done: int, total: int) -> None:
            print(f"\requivariance {done}/{total}", end="", file=sys.stderr, flush=True)

        psnrs = equivariance_metrics(gen, eq, samples=args.samples, seed=args.sample_seed, progress=progress)
        print(file=sys.stderr)
        shifts = getattr(gen, "period", None)
        for name in eq:
            how = " dB PSNR"
            if shifts:
                how += (f"  (the world moved by up to +-{shifts} px, one period of its input lattice, "
                        f"{args.samples} windows of {gen.resolution} px)")
            print(f"{name}: {psnrs[name]:.2f}{how}")
    return 0


def _fid_kid(name: str, world, args: argparse.Namespace, UserError, env) -> str | None:
    """FID/KID of world tiles against the dataset; the Inception features and statistics are
    infiniscape.train.metrics' (imported lazily: it needs the metrics extra). Under torchrun every
    rank renders its share of the tiles and only rank 0 reads the dataset and scores (else None)."""
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

    data = open_dataset(args.data, world.tile_size) if env.is_main else None
    tiles = sample_tiles(args.samples, args.sample_seed)
    if env.active:
        fake = sample_tile_images(world, tiles, env)
    else:
        fake = np.stack(list(world_tiles(world, tiles)))
    if not env.is_main:
        return None
    real = real_images(data, args.samples)
    return f"{stat(features(real), features(fake)):.4f}"


def sample_tile_images(world, tiles, env):
    """uint8 [N, T, T, 3] of the tiles on rank 0 (None elsewhere): batch i of ``tile_batch`` tiles
    rendered on rank i % ranks, the batches world_tiles renders, so the images are one process's."""
    import numpy as np

    from infiniscape.renderer.analysis.average import world_tiles
    from infiniscape.renderer.rank_rows import rows_on_ranks

    b, t = world.tile_batch, world.tile_size
    batches = [tiles[i:i + b] for i in range(0, len(tiles), b)]
    rows = rows_on_ranks(env, len(batches), lambda i: np.stack(list(world_tiles(world, batches[i]))),
                         lambda i: (len(batches[i]), t, t, 3), np.dtype(np.uint8))
    images = list(rows)
    return np.concatenate(images) if env.is_main else None
