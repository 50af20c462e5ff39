"""`infiniscape levels`: fit the level-of-detail heads of a native checkpoint (older ones lack them)."""

from __future__ import annotations

import argparse

from .common import positive

HELP = "fit a native checkpoint's coarse levels (zoomed-out views) to its full resolution; weights kept"


def add_arguments(p: argparse.ArgumentParser) -> None:
    a = p.add_argument
    a("model", help="native checkpoint (.pt) or built-in model name")
    a("--out", required=True, help="checkpoint to write (the same weights plus fitted level heads)")
    a("--steps", type=positive("--steps"), default=400, help="optimiser steps (default 400)")
    a("--batch", type=positive("--batch"), default=8, help="frames per step (default 8)")
    a("--resolution", type=positive("--resolution"), default=128, help="frame size (default 128)")
    a("--lr", type=float, default=0.002, help="Adam learning rate of the heads (default 0.002; a smaller "
      "one refines heads that were trained in)")
    a("--head-hidden", type=int, default=None, metavar="N", help="hidden channels of the heads' nonlinear "
      "branch (0: linear heads; default: the checkpoint's)")
    a("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from infiniscape.models.errors import UserError
    from infiniscape.models.native.config import BOUNDS
    from infiniscape.models.native.model import NativeModel
    from infiniscape.models.registry import load_model, save_checkpoint
    from infiniscape.renderer.export import check_writable
    from infiniscape.train.levels import fit_level_heads, with_head_hidden

    if not args.lr > 0:  # refused before the model loads
        raise UserError(f"--lr must be positive, got {args.lr}")
    lo, hi = BOUNDS["level_head_hidden"]
    if args.head_hidden is not None and not lo <= args.head_hidden <= hi:
        raise UserError(f"--head-hidden must be {lo} to {hi} channels, got {args.head_hidden}")
    model = load_model(args.model)
    if not isinstance(model, NativeModel):
        raise UserError(f"{args.model} is a {model.family} model: only native models have level heads "
                        "(other families' coarse levels are downsampled full tiles)")
    if args.head_hidden is not None:
        model = with_head_hidden(model, args.head_hidden)
    out = Path(args.out)
    if out.suffix != ".pt":
        raise UserError(f"--out {out}: write a .pt checkpoint")
    check_writable(out)

    def progress(step: int, loss: float) -> None:
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step:5d}  consistency {loss:.4f}", file=sys.stderr)

    losses = fit_level_heads(model, args.steps, args.batch, args.resolution, lr=args.lr, seed=args.seed,
                             progress=progress)
    extra = {**model.trained, "levels_fitted": {"steps": args.steps, "lr": args.lr,
                                                "head_hidden": model.cfg.level_head_hidden,
                                                "consistency": round(losses[-1], 5),
                                                "from": str(Path(args.model).name)}}
    save_checkpoint(model.generator, out, extra=extra, half=True)
    print(f"wrote {out}: consistency {losses[0]:.4f} -> {losses[-1]:.4f}", file=sys.stderr)
    return 0
