"""What the studio shows of a training run, whatever wrote it (infiniscape, the StyleGAN2-ADA loop of
StyleGAN3 / ALIS / INR-GAN / Projected GAN, InfinityGAN, a custom command), and the incremental
readers every run format shares: JSONL tails, log tails, sample grids."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TAIL_LINES = 12
GRID_MAX_PX = 2048  # an SG2-ADA grid is 7680 px wide: shown (and kept) at most this wide
GRID_CACHE = 6  # decoded grids kept per run, so the grid slider moves without re-reading


@dataclass(frozen=True)
class RunView:
    """One run read at one moment (built off the UI thread). ``status`` holds the progress in
    every format's terms: kimg, total_kimg, progress, eta_s, sec_per_kimg (each optional)."""

    path: Path
    state: str  # running, starting, finished, stopped, crashed, killed, stalled
    error: str | None
    status: dict
    format: str = "infiniscape"  # infiniscape, sg2-ada, infinitygan, command
    stats: dict[str, np.ndarray] = field(default_factory=dict)  # per-tick columns, all one length
    x_axes: dict[str, str] = field(default_factory=dict)  # axis label -> its column in stats
    metrics: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name -> (kimg, value)
    grids: tuple[Path, ...] = ()  # sample grids, oldest first
    grid_path: Path | None = None  # the grid read into ``grid`` (the newest unless one was chosen)
    grid: np.ndarray | None = None  # uint8 [H, W, 3]
    snapshots: tuple[Path, ...] = ()  # files Open in canvas can load, oldest first
    tail: tuple[str, ...] = ()  # last lines of the run's console / log
    about: str = ""  # one line on what wrote the run (generator class, GPUs, batch)
    note: str = ""  # what the format does not offer as plain files (InfinityGAN's curves)
    watched: Path | None = None  # a command run: the run directory its command writes

    @property
    def snapshot(self) -> Path | None:
        """The newest snapshot."""
        return self.snapshots[-1] if self.snapshots else None


@dataclass(frozen=True)
class RunSummary:
    """One line of the runs list (and of `infiniscape runs`)."""

    path: Path
    state: str
    kimg: float | None
    total_kimg: float | None
    updated: float  # newest mtime of the run's files: the list shows the newest first
    format: str = "infiniscape"
    metric: str | None = None  # the newest metric, "fid50k_full 12.3"
    snapshot: Path | None = None  # the newest snapshot


class JsonlTail:
    """Records of an append-only JSONL file, read from where the last read stopped. A torn last
    line (being written, or left by a kill) waits for its newline; a rewritten file (a resume
    truncates it atomically) is read again from the start. Lines that are not a JSON object are
    skipped."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.records: list[dict] = []
        self._offset, self._pending, self._inode = 0, b"", None

    def poll(self) -> bool:
        """Read what was appended; True when ``records`` changed."""
        try:
            st = os.stat(self.path)
        except OSError:
            changed = bool(self.records)
            self.__init__(self.path)
            return changed
        changed = False
        if st.st_ino != self._inode or st.st_size < self._offset:
            changed = bool(self.records)
            self.records, self._offset, self._pending, self._inode = [], 0, b"", st.st_ino
        if st.st_size == self._offset:
            return changed
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        self._offset += len(data)
        *lines, self._pending = (self._pending + data).split(b"\n")
        for line in lines:
            rec = parse_record(line)
            if rec is not None:
                self.records.append(rec)
                changed = True
        return changed


def parse_record(line: bytes | str) -> dict | None:
    """One JSONL line as a dict, or None for anything else (torn, garbled, not an object)."""
    try:
        rec = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return rec if isinstance(rec, dict) else None


def last_record(path: Path, window: int = 1 << 16) -> dict | None:
    """The last complete JSON object of a JSONL file (reads only its end)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - window))
            lines = f.read().split(b"\n")
    except OSError:
        return None
    for line in reversed(lines[:-1]):  # the part after the last newline is still being written
        rec = parse_record(line)
        if rec is not None:
            return rec
    return None


def as_number(value) -> float:
    """A stat's value as a float: NaN for null, text or anything else that is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return float("nan")
    return float(value)


def columns(records: list[dict], skip: tuple[str, ...] = ("step",)) -> dict[str, np.ndarray]:
    """Per-key float arrays over the records (missing, null or non-numeric values are NaN); keys
    whose values are never numbers are left out."""
    keys = [k for k in dict.fromkeys(k for r in records for k in r) if k not in skip]
    out = {}
    for k in keys:
        vals = np.array([as_number(r.get(k)) for r in records], np.float64)
        if np.isfinite(vals).any() or all(r.get(k) is None or isinstance(r.get(k), float) for r in records):
            out[k] = vals
    return out


def read_tail(path: Path, nbytes: int = 8192) -> str:
    """The last ``nbytes`` of a text file ('' when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - nbytes))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def tail_lines(path: Path, names: tuple[str, ...] = ("console.txt", "log.txt"),
               n: int = TAIL_LINES) -> tuple[str, ...]:
    """Last non-blank lines of the first of ``names`` in ``path`` that has any."""
    for name in names:
        text = read_tail(Path(path) / name)
        lines = [ln for ln in text.replace("\r", "\n").splitlines() if ln.strip()]  # tqdm redraws with \r
        if lines:
            return tuple(lines[-n:])
    return ()


def newest_mtime(paths) -> float | None:
    """Newest modification time among ``paths`` (missing ones skipped: a trainer prunes old files)."""
    times = []
    for p in paths:
        try:
            times.append(os.stat(p).st_mtime)
        except OSError:
            continue
    return max(times, default=None)


def activity(path: Path) -> float:
    """When a run directory of any format last changed: the folder itself (files created in it) and
    the files runs append to as they go."""
    path = Path(path)
    return newest_mtime([path, *(path / n for n in ("log.txt", "stats.jsonl", "status.json", "console.txt",
                                                    "error-log.txt"))]) or 0.0


def duration(seconds: float) -> str:
    s = int(max(0, seconds))
    if s >= 86400:
        return f"{s // 86400}d {s // 3600 % 24}h"
    return f"{s // 3600}h {s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"


class GridReader:
    """Decodes sample grids (downscaled to ``GRID_MAX_PX``), keeping the last few. ``show`` keeps
    the grid it showed last while the one wanted cannot be read yet (still being written)."""

    def __init__(self):
        self._cache: dict[Path, np.ndarray] = {}
        self.shown: tuple[Path | None, np.ndarray | None] = (None, None)

    def show(self, grids: tuple[Path, ...], chosen: Path | None = None
             ) -> tuple[Path | None, np.ndarray | None]:
        """(path, rgb) of ``chosen`` when it is one of ``grids``, else of the newest grid."""
        want = chosen if chosen in grids else (grids[-1] if grids else None)
        rgb = self.read(want)
        if rgb is not None or want is None:
            self.shown = (want, rgb)
        return self.shown

    def read(self, path: Path | None) -> np.ndarray | None:
        if path is None:
            return None
        if path in self._cache:
            return self._cache[path]
        try:
            from PIL import Image

            with Image.open(path) as im:
                im.draft("RGB", (GRID_MAX_PX, GRID_MAX_PX))  # JPEG: decode at a fraction of the size
                im = im.convert("RGB")
                if im.width > GRID_MAX_PX:
                    im = im.resize((GRID_MAX_PX, max(1, round(im.height * GRID_MAX_PX / im.width))),
                                   Image.Resampling.BOX)
                rgb = np.asarray(im)
        except (OSError, ValueError, SyntaxError):  # half-written, or not an image at all
            return None
        if len(self._cache) >= GRID_CACHE:
            self._cache.pop(next(iter(self._cache)))
        self._cache[path] = rgb
        return rgb
