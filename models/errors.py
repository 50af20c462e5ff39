"""Errors a user can cause and fix; the CLI and the studio show them as one line, never a traceback.

``describe_error`` is the one place any exception becomes that line (CLI, background jobs, tile
worker, studio status bar)."""

from __future__ import annotations

import errno


class UserError(Exception):
    """Bad input: the message says what was wrong and what to do."""


class ModelLoadError(UserError):
    """A model name, config or checkpoint that cannot be loaded."""


def one_line(text: str, limit: int = 400) -> str:
    """Whitespace folded to single spaces, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_error(e: BaseException, hint: str = "", limit: int = 400) -> str:
    """One line for any exception: what happened and what to do. ``hint`` follows an unexpected
    error (the CLI: how to see its traceback)."""
    if isinstance(e, UserError):
        text = str(e)
    elif isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" {e.filename}" if e.filename else ""
        text = f"disk full: cannot write{where}; free some space and try again"
    elif isinstance(e, OSError):
        where = f" {e.filename}" if e.filename else ""
        text = f"cannot access{where}: {e.strerror or e}"
    elif isinstance(e, MemoryError):
        text = "out of memory: try a smaller region, a smaller tile batch or a smaller model"
    elif isinstance(e, RecursionError):
        text = "the input nests too deeply to be read"
    else:
        text = f"internal error ({type(e).__name__}: {str(e)[:limit]}){hint}"
    return one_line(text, limit)
