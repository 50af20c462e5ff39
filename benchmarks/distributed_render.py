"""Wall time of a large render with 2 torchrun ranks x 1 thread against 1 process x 1 thread, side by side.

    python benchmarks/distributed_render.py [--model landscape] [--width 4096] [--height 4096]
                                            [--kinds png dzi] [--rounds 1]

Each run is the real command line, start-up and model loading included: `infiniscape render` (or
`export --dzi`) in one process, then `python -m torch.distributed.run --nproc_per_node 2 -m
infiniscape ...`, alternating, with OMP_NUM_THREADS=1 (torchrun gives each rank cores / ranks
threads: 1 on a 2-core machine). The outputs are compared byte for byte.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(kind: str, args: argparse.Namespace, out: Path) -> list[str]:
    world = ["--model", args.model, "--seed", "7", "--x", "-2048", "--y", "-1024", "--width", str(args.width),
             "--height", str(args.height), "--device", "cpu", "--quiet"]
    if kind == "dzi":
        return ["export", *world, "--dzi", str(out / "world.dzi")]
    return ["render", *world, "--out", str(out / f"world.{kind}")]


def timed(argv: list[str], ranks: int) -> float:
    launch = [sys.executable, "-m", "infiniscape"] if ranks == 1 else \
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(ranks), "--master_port",
         str(free_port()), "-m", "infiniscape"]
    start = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(launch + argv, capture_output=True, text=True, env=env)
    took = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"{' '.join(argv[:1])} with {ranks} rank(s) failed: {proc.stderr.strip()[-600:]}")
    return took


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="landscape")
    parser.add_argument("--width", type=int, default=4096)
    parser.add_argument("--height", type=int, default=4096)
    parser.add_argument("--kinds", nargs="+", choices=["png", "npy", "dzi"], default=["png", "dzi"])
    parser.add_argument("--rounds", type=int, default=1, help="alternating pairs per kind (median reported)")
    args = parser.parse_args()
    print(f"{args.model}, {args.width}x{args.height} px, {os.cpu_count()} cores, torch {torch.__version__}")
    print(f"{'output':>8}  {'1 rank x 1 thread':>18}  {'2 ranks x 1 thread':>19}  {'speed-up':>8}  identical")
    for kind in args.kinds:
        one, two = [], []
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            for _ in range(args.rounds):
                one.append(timed(command(kind, args, Path(a)), 1))
                two.append(timed(command(kind, args, Path(b)), 2))
            same = files(Path(a)) == files(Path(b))
        t1, t2 = statistics.median(one), statistics.median(two)
        print(f"{kind:>8}  {t1:17.1f}s  {t2:18.1f}s  {t1 / t2:7.2f}x  {'yes' if same else 'NO'}", flush=True)


if __name__ == "__main__":
    main()
