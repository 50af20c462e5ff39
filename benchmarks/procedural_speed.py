"""Images per second of the procedural landscape source, one process (the target: >= 50/s at 256^2).

    python benchmarks/procedural_speed.py [--resolutions 128 256 512] [--seconds 2]
"""

from __future__ import annotations

import argparse
import time

from infiniscape.train.procedural import ProceduralLandscapes


def images_per_second(resolution: int, seconds: float, width: int | None = None) -> float:
    """Render consecutive indices for about ``seconds`` and return the rate."""
    ds = ProceduralLandscapes(resolution, seed=0, width=width)
    ds[0]  # warm-up: first-call allocations and BLAS thread start
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or n < 3:
        ds[n + 1]
        n += 1
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--seconds", type=float, default=2.0, help="time spent per resolution")
    parser.add_argument("--aspect", type=int, default=1, help="width = aspect * resolution (strips)")
    args = parser.parse_args()
    print(f"{'resolution':>12}  {'images/s':>9}  {'ms/image':>9}")
    for res in args.resolutions:
        rate = images_per_second(res, args.seconds, width=res * args.aspect)
        label = f"{res}x{res * args.aspect}"
        print(f"{label:>12}  {rate:9.1f}  {1000 / rate:9.2f}")


if __name__ == "__main__":
    main()
