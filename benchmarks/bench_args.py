"""The command line every benchmark script starts with (run them as `python benchmarks/<name>.py`)."""

from __future__ import annotations

import argparse


def parser(doc: str, model: str = "tiny", **options: tuple) -> argparse.ArgumentParser:
    """The script's parser: its docstring's first line, --model, and ``name=(default, help)`` options
    typed after their default (``cache_mb`` is --cache-mb)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--model", default=model)
    for name, (default, help) in options.items():
        p.add_argument("--" + name.replace("_", "-"), type=None if default is None else type(default),
                       default=default, help=help)
    return p
