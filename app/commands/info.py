"""`infiniscape info`: what a model or config is."""

from __future__ import annotations

import argparse

HELP = "describe a model: family, tile size, parameters, latent fields, capabilities"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="config name (tiny, default), .yaml config or checkpoint file")


def run(args: argparse.Namespace) -> int:
    from infiniscape.models.registry import load_model

    model = load_model(args.model)
    d = model.describe()
    print(f"model:        {args.model}")
    print(f"family:       {d['family']}")
    print(f"tile size:    {d['tile_size']} px")
    for key, value in d.items():
        if key not in ("family", "tile_size", "fields", "capabilities"):
            print(f"{key + ':':<13} {value}")
    print("fields:")
    for name, f in d["fields"].items():
        coherent = "".join(f"; {share:g} of its variance from a lattice every {cx} cells along x"
                           + (f" and {cy} along y" if cy else ", one per column")
                           for cx, cy, share in f.get("octaves", ()))
        cell = f"one cell = {f['spacing']} px, {f['channels']} channels"
        print(f"  {name:<10} group {f['group']:<6} {cell}{coherent}")
    caps = ", ".join(f"{k}={v}" for k, v in d["capabilities"].items())
    print(f"capabilities: {caps}")
    return 0
