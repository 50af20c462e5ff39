"""`infiniscape runs`: the training runs in a folder as a table (any format the Training panel reads)."""

from __future__ import annotations

import argparse
import sys
import time

HELP = "list the training runs in a folder: format, state, kimg, newest metric, newest snapshot"
COLUMNS = ("run", "format", "state", "kimg", "newest metric", "newest snapshot")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", default="runs",
                   help="a run directory or a folder of them: infiniscape, StyleGAN2-ADA / StyleGAN3 / "
                        "ALIS / INR-GAN / Projected GAN, InfinityGAN logs/<exp>, custom commands "
                        "(default: runs)")
    p.add_argument("--watch", action="store_true", help="redraw the table until Ctrl-C")
    p.add_argument("--interval", type=float, default=5.0, metavar="S",
                   help="--watch: seconds between redraws (default 5)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from infiniscape.models.errors import UserError
    from infiniscape.run_list import TrainingRuns

    root = Path(args.dir).expanduser()
    if not root.is_dir():
        raise UserError(f"{root} is not a folder: give a run directory or a folder of runs")
    if args.interval <= 0:
        raise UserError("--interval must be > 0 seconds")
    runs = TrainingRuns()
    if not args.watch:
        print(table(runs.scan(root), root))
        return 0
    clear = "\033[H\033[J" if sys.stdout.isatty() else ""
    try:
        while True:
            text = table(runs.scan(root), root)
            print(f"{clear}{text}\n\n{time.strftime('%H:%M:%S')}  every {args.interval:g} s, Ctrl-C ends",
                  flush=True)
            time.sleep(args.interval)
    except KeyboardInterrupt:  # the way --watch ends: no traceback, no error status
        print()
        return 0


def table(summaries: list, root) -> str:
    """The runs as aligned text columns, newest first."""
    if not summaries:
        return f"no runs in {root}"
    rows = [COLUMNS] + [row(s) for s in summaries]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def row(s) -> tuple[str, ...]:
    kimg = "-" if s.kimg is None else f"{s.kimg:.1f}"
    if s.total_kimg:
        kimg += f"/{s.total_kimg:g}"
    snapshot = "-"
    if s.snapshot is not None:
        try:
            snapshot = str(s.snapshot.relative_to(s.path))
        except ValueError:  # a command's snapshot lives in the run it writes
            snapshot = str(s.snapshot)
    return s.path.name, s.format, s.state, kimg, s.metric or "-", snapshot
