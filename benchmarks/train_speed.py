"""Training speed of the built-in setting on this machine: fp32 or bf16 autocast, eager or --compile.

    python benchmarks/train_speed.py [--threads 1 2] [--steps 8] [--config landscape]

Every variant (precision x compile x thread count) runs in a process of its own, since torch's thread
count and torch.compile's caches are per process: a Trainer with the built-in run's setting
(configs/landscape.yaml, procedural frames of 128 px over the whole vertical range of a 256 px scene,
batch 16, Projected GAN at --d-input 0), two warm-up steps (for --compile, the compiling, from an empty
inductor cache: a first run's cost; later processes reuse the compiled kernels), then --steps timed
steps. The table gives images per second from the median step and the speed-up over fp32 eager at the
same thread count; the variants of one thread count run back to back, so they see the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

VARIANTS = {  # name -> TrainOptions that differ
    "fp32": dict(amp="off"),
    "fp32 + compile": dict(amp="off", compile=True),
    "bf16": dict(amp="bf16"),
    "bf16 + compile": dict(amp="bf16", compile=True),
}
SETTING = dict(data="procedural", resolution=128, scene_height=256, y_extent=3072, batch=16,
               loss="projected", d_input=0)


def worker(args: argparse.Namespace) -> None:
    import torch

    from infiniscape.train.distributed import DistEnv
    from infiniscape.train.loop import Trainer
    from infiniscape.train.options import TrainOptions

    torch.set_num_threads(args.threads[0])
    with tempfile.TemporaryDirectory() as out:
        opts = TrainOptions(out=out, config=args.config, **SETTING, **VARIANTS[args.worker])
        trainer = Trainer(opts, DistEnv())
        start = time.perf_counter()
        for _ in range(2):
            trainer.train_step()
        warm = time.perf_counter() - start
        steps = []
        for _ in range(args.steps):
            t = time.perf_counter()
            trainer.train_step()
            steps.append(time.perf_counter() - t)
    print(json.dumps({"variant": args.worker, "threads": args.threads[0], "warm_s": warm,
                      "step_s": statistics.median(steps), "batch": opts.batch}), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--steps", type=int, default=8, help="timed steps per variant")
    p.add_argument("--config", default="landscape", help="native config of the generator")
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--worker", choices=list(VARIANTS), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    rows = []
    for threads in args.threads:
        for variant in args.variants:
            cmd = [sys.executable, __file__, "--worker", variant, "--threads", str(threads), "--steps",
                   str(args.steps), "--config", args.config]
            with tempfile.TemporaryDirectory() as cache:  # compile from scratch, as a first run does
                done = subprocess.run(cmd, capture_output=True, text=True, env=dict(
                    os.environ, OMP_NUM_THREADS=str(threads), TORCHINDUCTOR_CACHE_DIR=cache))
            if done.returncode:
                sys.exit(f"{variant} at {threads} threads failed: {done.stderr.strip().splitlines()[-1]}")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(f"# {variant} x{threads}: {r['step_s']:.2f} s a step", file=sys.stderr, flush=True)
    print("| threads | variant | step s (median) | img/s | vs fp32 | warm-up s (2 steps) |\n"
          "|---|---|---|---|---|---|")
    for r in rows:
        base = next((b for b in rows if b["threads"] == r["threads"] and b["variant"] == "fp32"), None)
        ratio = f"{base['step_s'] / r['step_s']:.2f}x" if base else "-"
        print(f"| {r['threads']} | {r['variant']} | {r['step_s']:.2f} | {r['batch'] / r['step_s']:.1f} | "
              f"**{ratio}** | {r['warm_s']:.0f} |")
    print(f"\n{args.steps} timed steps per variant, config {args.config}; load average at the end "
          + " ".join(f"{v:.1f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
