"""`infiniscape train`: train a native generator into a run directory (resumable, torchrun-aware)."""

from __future__ import annotations

import argparse
import sys

from .common import positive

HELP = "train a native generator on a folder, a zip or procedural landscapes (writes a run directory)"


def _band(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--y-band takes LO,HI in world pixels, got {text!r}") from None
    return lo, hi


def add_arguments(p: argparse.ArgumentParser) -> None:
    # Defaults are None so that `--resume` can tell what was given from what the run recorded.
    a = p.add_argument
    a("--data", metavar="DIR|ZIP|procedural", help="training images: folder, zip or procedural[:SEED]")
    a("--config", help="native config name (tiny, small, default) or .yaml (default: tiny)")
    a("--out", metavar="RUN_DIR", help="run directory to create")
    a("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its newest snapshot")
    a("--kimg", type=float, help="length in thousands of real images (default 1000; may extend a resume)")
    a("--batch", type=positive("--batch"), help="global batch size (default 16)")
    a("--resolution", type=positive("--resolution"), help="frame size R (default: the config's tile size)")
    a("--loss", choices=["stylegan2", "projected"], help="stylegan2: logistic loss + R1 with a residual D "
      "(default); projected: Projected GAN (frozen pretrained EfficientNet-Lite0 features, hinge loss, "
      "DiffAugment; needs the train extra)")
    a("--lr", type=float, help="Adam learning rate (default 0.0025)")
    a("--d-lr", type=float, help="discriminator learning rate (default: --lr; 0.002 with --loss projected)")
    a("--d-input", type=int, metavar="PX", help="projected: frames resized to PX for the feature network "
      "(default 224, as the official code below 224 px; 0: their own size, 3x faster, but 1x1 patches "
      "at 128)")
    a("--d-scale", type=float, help="projected: width of the patch discriminators vs the paper "
      "(default 0.25)")
    a("--lod-weight", type=float, help="weight of the level-of-detail consistency term: each coarse RGB "
      "against the box-downsampled frame (default 1; 0: off)")
    a("--scene-height", type=positive("--scene-height"), metavar="PX", help="procedural data: lay the "
      "landscapes out for PX-tall frames (default: the frame size)")
    a("--y-extent", type=int, metavar="PX", help="procedural data: frames at every height within +-PX of the "
      "horizon, half of them in the landscape band (default 0: all at the horizon)")
    a("--r1-gamma", type=float, help="R1 weight (default: 0.0002 * R^2 / batch)")
    a("--diffaug", action="store_const", const=True, help="DiffAugment (colour, translation, cutout)")
    a("--y-band", type=_band, metavar="LO,HI", help="world y band of the frame's top row for datasets "
      "without a known horizon (default: around -0.6 R)")
    a("--d-channels", type=positive("--d-channels"), help="discriminator width (default: from G)")
    a("--tick-kimg", type=float, help="stats every N kimg (default 1) or --tick-seconds (default 60)")
    a("--tick-seconds", type=float, help=argparse.SUPPRESS)
    a("--snapshot-kimg", type=float, help="snapshot and samples every N kimg (default 4)")
    a("--keep-snapshots", type=positive("--keep-snapshots"), help="snapshots kept (default 5)")
    a("--metrics-kimg", type=float, help="FID/KID every N kimg (default 0: off; needs the metrics extra)")
    a("--metrics", help="metrics to compute: fid,kid,fid_far (default: all three)")
    a("--metrics-samples", type=positive("--metrics-samples"), help="frames per evaluation (default 500)")
    a("--amp", choices=["auto", "bf16", "fp16", "off"], help="mixed precision on GPU (default auto)")
    a("--device", help="cpu, cuda or auto (default auto)")
    a("--seed", type=int, help="random seed of the run (default 0)")
    a("--quiet", action="store_true", help="no progress bar")


def _options(args: argparse.Namespace):
    from pathlib import Path

    from infiniscape.models.errors import UserError
    from infiniscape.train.options import TrainOptions
    from infiniscape.train.run_dir import RunDir

    given = {k: v for k, v in vars(args).items() if v is not None and k in TrainOptions.__dataclass_fields__}
    if args.resume:
        run = RunDir(args.resume)
        if not (run.path / "config.yaml").exists():
            raise UserError(f"--resume {args.resume}: no config.yaml there, so it is not a run directory")
        if args.out and Path(args.out).resolve() != run.path.resolve():
            raise UserError("--resume continues a run in its own directory: leave out --out")
        _check_not_running(run)
        opts = TrainOptions.from_dict({**run.read_config(), **given, "out": str(run.path)})
        return opts, True
    if not args.data or not args.out:
        raise UserError("--data and --out are required (or --resume RUN_DIR)")
    out = Path(args.out)
    if (out / "status.json").exists() or (out / "snapshots").exists():
        raise UserError(f"{out} already holds a run: continue it with --resume {out}, or pick a new --out")
    return TrainOptions(**given), False


def _check_not_running(run) -> None:
    """Refuse to resume a run whose process is still alive (two writers would interleave)."""
    import os

    from infiniscape.models.errors import UserError

    status = run.read_status() or {}
    pid = status.get("pid")
    if status.get("state") != "running" or not pid or pid == os.getpid():
        return
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return  # killed or crashed: resuming is what it needs
    except PermissionError:
        pass  # alive, under another user
    raise UserError(f"{run.path} is still being trained by process {pid}: stop it first "
                    f"(kill -TERM {pid} finishes cleanly)")


def run(args: argparse.Namespace) -> int:
    from infiniscape.models.errors import UserError
    from infiniscape.models.files import is_disk_full, write_error
    from infiniscape.train import distributed
    from infiniscape.train.loop import Trainer
    from infiniscape.train.run_dir import record_failure

    opts, resume = _options(args)
    opts.check()
    env = distributed.setup(opts.device)
    try:
        trainer = Trainer(opts, env)
        try:
            state = trainer.fit(resume=resume, progress=not args.quiet)
        except (Exception, KeyboardInterrupt) as e:
            if env.is_main:
                line = record_failure(trainer.run, e)
                if isinstance(e, (UserError, KeyboardInterrupt)):
                    raise
                if is_disk_full(e):
                    raise write_error(e, trainer.run.path) from None
                print(f"infiniscape train: failed: {line} (traceback in {trainer.run.path / 'log.txt'})",
                      file=sys.stderr)
            return 1
    finally:
        distributed.teardown(env)
    if env.is_main:
        print(f"{state}: {opts.out} at kimg {trainer.nimg / 1000:g}", file=sys.stderr)
    return 0
