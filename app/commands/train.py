"""`infiniscape train`: train a native generator into a run directory (resumable, torchrun-aware)."""

from __future__ import annotations

import argparse
import sys

from .common import pair, positive

HELP = "train a native generator on a folder, a zip or procedural landscapes (writes a run directory)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """One flag per TrainOptions field, its help, choices and checks taken from the declaration.
    Every default here is None so that `--resume` can tell what was given from what the run recorded."""
    from infiniscape.train.options import OPTIONS, flag, help_text, value_type

    for name, f in OPTIONS.items():
        meta, kind, dashed = f.metadata, value_type(name), flag(name)
        if not meta["cli"]:
            continue
        if kind is bool:
            p.add_argument(dashed, action="store_const", const=True, help=help_text(name))
        elif meta["choices"]:
            p.add_argument(dashed, choices=meta["choices"], help=help_text(name))
        else:
            parse = (positive(dashed) if meta["positive"] else None if kind is str else
                     pair(dashed, float, f"{meta['metavar']} in world pixels") if kind is tuple else kind)
            p.add_argument(dashed, type=parse, metavar=meta["metavar"], help=help_text(name))
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its newest snapshot "
                   "(flags given with it override what the run recorded)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _options(args: argparse.Namespace):
    from pathlib import Path

    from infiniscape.models.errors import UserError
    from infiniscape.train.options import TrainOptions
    from infiniscape.train.run_dir import RunDir
    from infiniscape.train.run_reader import CONFIG, holds_run

    given = {k: v for k, v in vars(args).items() if v is not None and k in TrainOptions.__dataclass_fields__}
    if args.resume:
        run = RunDir(args.resume)
        if not (run.path / CONFIG).exists():
            raise UserError(f"--resume {args.resume}: no config.yaml there, so it is not a run directory")
        if args.out and Path(args.out).resolve() != run.path.resolve():
            raise UserError("--resume continues a run in its own directory: leave out --out")
        _check_not_running(run)
        opts = TrainOptions.from_dict({**run.read_config(), **given, "out": str(run.path)})
        return opts, True
    if not args.data or not args.out:
        raise UserError("--data and --out are required (or --resume RUN_DIR)")
    out = Path(args.out)
    if holds_run(out):
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
