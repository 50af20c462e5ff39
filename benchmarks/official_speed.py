"""CPU forward time of every family against its official code on the same weights: one paired table.

The official code is NOT part of this repository. Pass a folder holding checkouts named as their GitHub
repositories (stylegan3, alis, inr-gan, infinityGAN); a family whose checkout is missing is left out of the
table with a note. ALIS's and INR-GAN's code needs `pip install omegaconf`.

    python benchmarks/official_speed.py --checkouts /path/to/checkouts --threads 1 2

Each family runs in its own process (ALIS and INR-GAN both call their package `training`), one thread
count at a time; inside it the official forward and ours run alternately after one warm-up each (oneDNN
builds its kernels on the first call), so both see the same machine. The speed-up is the median of the
per-round ratios of wall time; the CPU-time ratio beside it is the steadier figure on a shared machine.
The families and what one call renders: benchmarks/official_pairs/.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

FAMILIES = {  # name -> module of benchmarks/official_pairs
    "sg2": "stylegan", "sg3t": "stylegan", "sg3r": "stylegan", "alis": "alis", "inrgan": "inrgan",
    "inrgan-bil": "inrgan", "infinitygan": "infinitygan", "infinitygan-hr": "infinitygan",
}


def timed(ref, ours, repeat: int) -> dict:
    """Median wall and process-CPU seconds of `repeat` alternating calls of each, after one warm-up, and the
    median per-round wall ratio."""
    ref(), ours()
    runs: dict[str, list[tuple[float, float]]] = {"ref": [], "ours": []}
    for _ in range(repeat):
        for key, call in (("ref", ref), ("ours", ours)):
            t, c = time.perf_counter(), time.process_time()
            call()
            runs[key].append((time.perf_counter() - t, time.process_time() - c))
    out = {f"{k}_{i}": statistics.median(r[j] for r in v) for k, v in runs.items()
           for i, j in (("wall", 0), ("cpu", 1))}
    out["paired"] = statistics.median(r[0] / o[0] for r, o in zip(runs["ref"], runs["ours"], strict=True))
    return out


def worker(args: argparse.Namespace) -> None:
    """One family at one thread count: build the pair, check it agrees, time it, print one JSON line."""
    import torch

    torch.set_num_threads(args.threads[0])
    module = importlib.import_module(f"official_pairs.{FAMILIES[args.worker]}")
    pair = module.build(args.worker, str(Path(args.checkouts, module.CHECKOUT)), args.resolution)
    with torch.no_grad():
        diff = float((pair.ref() - pair.ours()).abs().max())
        result = timed(pair.ref, pair.ours, args.repeat)
    print(json.dumps(dict(result, net=args.worker, threads=args.threads[0], diff=diff, params=pair.params,
                          what=pair.what)), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkouts", required=True, help="folder with stylegan3/, alis/, inr-gan/, infinityGAN/")
    p.add_argument("--nets", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--resolution", type=int, default=256, help="StyleGAN2/3, ALIS, INR-GAN output size")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--worker", choices=list(FAMILIES), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    rows, missing = [], []
    for net in args.nets:
        checkout = Path(args.checkouts, importlib.import_module(f"official_pairs.{FAMILIES[net]}").CHECKOUT)
        if not checkout.is_dir():
            missing.append(f"{net} (no {checkout})")
            continue
        for threads in args.threads:
            cmd = [sys.executable, __file__, "--checkouts", args.checkouts, "--worker", net, "--threads",
                   str(threads), "--resolution", str(args.resolution), "--repeat", str(args.repeat)]
            env = dict(os.environ, OMP_NUM_THREADS=str(threads))
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if done.returncode:
                missing.append(f"{net} at {threads} threads failed: {done.stderr.strip().splitlines()[-1]}")
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(f"# {net} x{threads}: {r['ref_wall']:.2f} s vs {r['ours_wall']:.2f} s", file=sys.stderr,
                  flush=True)
    load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    print("| family | one call | params | threads | official s (CPU s) | ours s (CPU s) | speed-up, paired "
          "wall | speed-up, CPU | max abs diff |\n|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['net']} | {r['what']} | {r['params'] / 1e6:.1f} M | {r['threads']} "
              f"| {r['ref_wall']:.3f} ({r['ref_cpu']:.3f}) | {r['ours_wall']:.3f} ({r['ours_cpu']:.3f}) "
              f"| **{r['paired']:.2f}x** | "
              f"{r['ref_cpu'] / r['ours_cpu']:.2f}x | {r['diff']:.1e} |")
    print(f"\n{args.repeat} alternating rounds per row; load average at the end {load}")
    for m in missing:
        print(f"left out: {m}")


if __name__ == "__main__":
    main()
