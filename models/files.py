"""Writing the files users keep: atomically, and a full disk or an unwritable target is one line that
names the file, with nothing half-written left behind."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import UserError

DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # EFBIG: a file-size limit, same remedy


def is_disk_full(e: BaseException) -> bool:
    """An OSError of a full disk, or torch.save's C++ writer failing (it reports ENOSPC as a
    RuntimeError from inline_container.cc)."""
    if isinstance(e, OSError):
        return e.errno in DISK_FULL
    return isinstance(e, RuntimeError) and ("file write failed" in str(e) or "inline_container" in str(e))


def write_error(e: BaseException, path: str | os.PathLike) -> UserError:
    """The one line for a failed write of ``path``."""
    if is_disk_full(e):
        return UserError(f"disk full: cannot write {path}; free some space and try again "
                         "(nothing half-written was left)")
    reason = getattr(e, "strerror", None) or str(e).strip().splitlines()[0][:160]
    return UserError(f"cannot write {path}: {reason}")


def partial_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` to write; it replaces ``path`` when the block succeeds
    and is removed when it fails; an OSError becomes write_error's line."""
    path = Path(path)
    tmp = partial_path(path)
    remove(tmp)  # left by a killed run
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as e:
        remove(tmp)
        if isinstance(e, OSError) or is_disk_full(e):
            raise write_error(e, path) from None
        raise


def remove(path: Path) -> None:
    """Remove a file or folder if it exists; never raises (it runs while handling another error)."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass
