"""`infiniscape` command line: one subcommand per module in infiniscape.commands.

Each command module defines HELP, ``add_arguments(parser)`` and ``run(args) -> int`` and imports
its heavy dependencies (torch, GL) inside ``run`` so that `infiniscape --help` stays instant.
A UserError anywhere becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> module under infiniscape.commands; the first entry is the default (bare `infiniscape`)
COMMANDS = ["view", "render", "export", "info", "dataset", "video", "train", "levels", "spectrum", "metrics"]


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line naming the command, exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="infiniscape", description="Studio for GANs that paint infinite images.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        mod = importlib.import_module(f"infiniscape.commands.{name}")
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. Ctrl-C at any moment, start-up (imports, parsing, model loading) included,
    is one line and exit status 130, never a traceback."""
    command = "view"
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        if not argv and "view" in COMMANDS:
            argv = ["view"]
        command = next((a for a in argv if a in COMMANDS), command)
        return _run(argv)
    except KeyboardInterrupt:
        print(f"infiniscape {command}: interrupted", file=sys.stderr)
        return 130


def _run(argv: list[str]) -> int:
    from infiniscape.models.errors import UserError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except UserError as e:
        print(f"infiniscape {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
