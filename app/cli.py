"""`infiniscape` command line: one subcommand per module in infiniscape.commands.

Each command module defines HELP, ``add_arguments(parser)`` and ``run(args) -> int`` and imports
its heavy dependencies (torch, GL) inside ``run`` so that `infiniscape --help` stays instant.
Any error becomes one line on stderr and exit status 2 (a UserError says what to do; anything else is
named and points at ``--debug``, which, like INFINISCAPE_DEBUG=1, prints the full traceback).
Ctrl-C anywhere is one line and exit status 130.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys

# name -> module under infiniscape.commands; the first entry is the default (bare `infiniscape`)
COMMANDS = ["view", "render", "export", "info", "dataset", "video", "train", "levels", "spectrum", "metrics",
            "runs", "invert"]


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line naming the command, exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="infiniscape", description="Studio for GANs that paint infinite images.",
                           epilog="--debug (anywhere) or INFINISCAPE_DEBUG=1: full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        mod = importlib.import_module(f"infiniscape.commands.{name}")
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. Ctrl-C at any moment, start-up (imports, parsing, model loading) included,
    is one line and exit status 130; any error is one line and exit status 2, never a traceback."""
    command = "view"
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("INFINISCAPE_DEBUG", "") not in ("", "0") or "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        if not argv and "view" in COMMANDS:
            argv = ["view"]
        command = next((a for a in argv if a in COMMANDS), command)
        return _run(argv)
    except KeyboardInterrupt:
        print(f"infiniscape {command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # MemoryError and RecursionError included: one line, the user's work kept
        if debug:
            import traceback

            traceback.print_exc()
        from infiniscape.models.errors import describe_error

        hint = "" if debug else "; run again with --debug for the traceback and report it"
        print(f"infiniscape {command}: error: {describe_error(e, hint)}", file=sys.stderr)
        return 2


def _run(argv: list[str]) -> int:
    with _ctrl_c_held():  # start-up: the command modules, torch and its C++ extensions load
        parser = build_parser()
        args = parser.parse_args(argv)
        import torch  # noqa: F401  (every command reads models or tensors)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return int(args._run(args) or 0)


@contextlib.contextmanager
def _ctrl_c_held():
    """Hold Ctrl-C until the block ends, then raise KeyboardInterrupt: one raised inside torch's C++
    start-up aborts the process (pybind11: terminate) or resurfaces after it was handled."""
    held: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: held.append(1))
    except ValueError:  # not the main thread (an embedding application): nothing to hold
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
