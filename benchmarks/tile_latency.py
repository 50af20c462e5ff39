"""Median warm per-tile latency of the native configs, with FLOPs per tile and achieved GFLOP/s.

    python benchmarks/tile_latency.py [--tiles 20] [--configs tiny default] [--devices cpu cuda]

A tile is rendered alone (batch 1, fp32) at a fresh world position each time, so the time includes
drawing its lattice cells, coordinates and style weights, as in the studio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from infiniscape.models.contract import RenderSettings, Tile
from infiniscape.models.lattice import HashedLatents
from infiniscape.models.native.model import stack_window_inputs
from infiniscape.models.registry import load_model


def flops_per_tile(model) -> int:
    t = model.tile_size
    inputs = [model.window_inputs(0, 0, t, t, HashedLatents(0), RenderSettings())]
    b = stack_window_inputs(inputs, model.device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.generator(b["x"], b["z"], b["conv_weights"], b["rgb_weights"], b["noises"])
    return counter.get_total_flops()


def measure(name: str, device: str, tiles: int) -> dict:
    model = load_model(name, device=device)
    latents = HashedLatents(1)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for i in range(3):  # warm-up: allocator, oneDNN primitive cache, CUDA kernels
        model.render([Tile(-10 - i, 3)], latents)
    times, input_times = [], []
    for i in range(tiles):
        tile = Tile(i * 7 - 50, (i % 5) - 2)
        sync()
        t0 = time.perf_counter()
        model.window_inputs(*tile.rect(model.tile_size), latents, RenderSettings())
        input_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        model.render([tile], latents)
        sync()
        times.append(time.perf_counter() - t0)
    flops = flops_per_tile(model)
    med = statistics.median(times)
    return {"config": name, "device": device, "tile": f"{model.tile_size}px", "tiles": tiles,
            "median_ms": med * 1e3, "p90_ms": sorted(times)[int(0.9 * (tiles - 1))] * 1e3,
            "inputs_ms": statistics.median(input_times) * 1e3, "gflop": flops / 1e9,
            "gflops": flops / med / 1e9}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=20)
    ap.add_argument("--configs", nargs="+", default=["tiny", "default"])
    ap.add_argument("--devices", nargs="+", default=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    head = f"{'config':<8} {'device':<6} {'tile':>6} {'tiles':>5} {'median ms':>10} {'p90 ms':>8} " \
           f"{'inputs ms':>10} {'GFLOP/tile':>11} {'GFLOP/s':>8}"
    print(head)
    print("-" * len(head))
    for device in args.devices:
        for name in args.configs:
            r = measure(name, device, args.tiles)
            print(f"{r['config']:<8} {r['device']:<6} {r['tile']:>6} {r['tiles']:>5} {r['median_ms']:>10.1f} "
                  f"{r['p90_ms']:>8.1f} {r['inputs_ms']:>10.1f} {r['gflop']:>11.2f} {r['gflops']:>8.1f}")


if __name__ == "__main__":
    main()
