"""Deep Zoom (DZI) pyramids of a world rectangle, as OpenSeadragon reads them, streamed with memory
bounded by a few tile rows per level whatever the rectangle's size.

DZI level L of a W x H image is ceil(W / 2^k) x ceil(H / 2^k) with k = maxL - L and
maxL = ceil(log2(max(W, H))), down to 1 x 1 at level 0; tile (col, row) of a level covers
[col * ts - overlap, (col + 1) * ts + overlap) clipped to the level, in OUT_files/L/col_row.png.
The finest levels are the world's own levels of detail (what the studio shows zoomed out; a last
row or column there is the world's pixel, which may reach past the rectangle), the coarser ones 2x2
box averages of the next finer level as its rows stream past (an odd last row or column averages
what exists, as VIPS does)."""

from __future__ import annotations

import io
import math
import shutil
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import numpy as np

from ..models.errors import UserError
from ..models.files import atomic_output, remove, write_error
from .export import PngStreamWriter, check_writable, uint8_strips
from .rank_rows import Ranks, check_same_world, is_writer
from .world import LEVELS, World

DZI_NAMESPACE = "http://schemas.microsoft.com/deepzoom/2008"
TILE_FORMATS = ("png", "jpg")
COARSE_SOURCES = ("model", "box")  # where levels below full resolution come from
JPEG_QUALITY = 90
HALVE_ROWS = 16  # rows averaged at a time: the uint16 sums of a full-width strip would be 2x its size


def check_dzi_path(path: str | Path) -> Path:
    """Fail early, before any rendering, if the descriptor or its tile folder cannot be written."""
    path = Path(path)
    if path.suffix.lower() != ".dzi":
        raise UserError(f"output {path} must end in .dzi (the tiles go to the folder {path.stem}_files "
                        "beside it)")
    check_writable(path)
    files = tiles_folder(path)
    if files.exists() and not files.is_dir():
        raise UserError(f"cannot write tiles to {files}: it is a file (remove it or pick another name)")
    return path


def tiles_folder(path: Path) -> Path:
    return path.with_name(f"{path.stem}_files")


def pyramid_sizes(width: int, height: int) -> list[tuple[int, int]]:
    """(width, height) of every DZI level, level 0 (1 x 1) first."""
    top = (max(width, height) - 1).bit_length()  # maxL = ceil(log2(max(W, H)))
    return [(-(-width >> (top - L)), -(-height >> (top - L))) for L in range(top + 1)]


def dzi_xml(width: int, height: int, tile_size: int, overlap: int, fmt: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<Image xmlns="{DZI_NAMESPACE}" TileSize="{tile_size}" Overlap="{overlap}" Format="{fmt}">'
            f'<Size Width="{width}" Height="{height}"/></Image>\n')


def export_dzi(world: World, x: int, y: int, width: int, height: int, out: str | Path,
               tile_size: int = 254, overlap: int = 1, fmt: str = "png", coarse: str = "model",
               progress: Callable[[int], None] | None = None, ranks: Ranks | None = None) -> Path:
    """Write the world rectangle (x, y, width, height), world pixels at full resolution, as OUT.dzi
    plus OUT_files/. The tiles are written to a hidden folder renamed into place when complete and
    the descriptor comes last, so a failed export leaves no pyramid behind. ``ranks``: this process's
    place in a torch.distributed group; every rank calls this, renders its share of the tile rows,
    and only rank 0 writes.

    ``coarse``: "model" takes the levels 1/2, 1/4, ... from the model's own levels of detail where
    it renders them and the rectangle's corner is aligned to them; "box" averages every level from
    the full resolution (each level then agrees with the next finer one to uint8 rounding)."""
    out = check_dzi_path(out) if is_writer(ranks) else Path(out)
    check_pyramid_options(tile_size, overlap, fmt, coarse)
    if width <= 0 or height <= 0:
        raise UserError(f"size must be positive, got {width}x{height}")
    sizes = pyramid_sizes(width, height)[::-1]  # by k: sizes[k] is the level at 2^-k
    own = world_levels(world, x, y, len(sizes), coarse)
    check_same_world(ranks, world)
    if not is_writer(ranks):
        for k in range(own):
            for _ in uint8_strips(world, x >> k, y >> k, *sizes[k], k, ranks=ranks):
                pass  # rank 0 receives them
        return out
    files, tmp = tiles_folder(out), out.with_name(f".{out.stem}_files.partial")
    remove(tmp)  # left by a killed export
    try:
        tilers = [LevelTiler(tmp / str(len(sizes) - 1 - k), *sizes[k], tile_size, overlap, fmt)
                  for k in range(len(sizes))]
        for k in range(own):  # the world's own levels; the last one feeds the averaged chain
            lx, ly = x >> k, y >> k
            chain = Pyramid(tilers[k:] if k == own - 1 else tilers[k:k + 1])
            with closing(uint8_strips(world, lx, ly, *sizes[k], k, progress, ranks)) as strips:
                for strip in strips:
                    chain.add(strip)
            chain.finish()
        _replace(out, files, tmp, dzi_xml(width, height, tile_size, overlap, fmt))
    except BaseException as e:
        remove(tmp)
        if isinstance(e, OSError):
            raise write_error(e, out) from None
        raise
    return out


def check_pyramid_options(tile_size: int, overlap: int, fmt: str, coarse: str) -> None:
    if tile_size <= 0 or not 0 <= overlap < tile_size:
        raise UserError(f"tile size {tile_size} with overlap {overlap}: use a positive tile size and "
                        "an overlap from 0 to tile size - 1")
    if fmt not in TILE_FORMATS:
        raise UserError(f"tile format {fmt!r}: use {' or '.join(TILE_FORMATS)}")
    if coarse not in COARSE_SOURCES:
        raise UserError(f"coarse levels from {coarse!r}: use {' or '.join(COARSE_SOURCES)}")


def world_levels(world: World, x: int, y: int, levels: int, coarse: str = "model") -> int:
    """How many of the finest DZI levels come from the world itself: with coarse "model", the levels
    the model renders (the World's box-averaged levels would re-render the finer one once each) whose
    pixel grid the corner (x, y) is aligned to; with "box", full resolution only."""
    if coarse == "box":
        return 1
    n = 1
    while n < min(world.model.levels, LEVELS, levels) and x % (1 << n) == 0 and y % (1 << n) == 0:
        n += 1
    return n


def world_tile_count(world: World, x: int, y: int, width: int, height: int, coarse: str = "model") -> int:
    """Tiles export_dzi renders (its progress total)."""
    sizes = pyramid_sizes(width, height)[::-1]
    own = world_levels(world, x, y, len(sizes), coarse)
    return sum(world.tile_count(x >> k, y >> k, *sizes[k], k) for k in range(own))


def _replace(out: Path, files: Path, tmp: Path, xml: str) -> None:
    """Swap the finished tiles in, then write the descriptor: an old descriptor never points at
    new tiles, nor a new one at a half-replaced folder."""
    out.unlink(missing_ok=True)
    if files.exists():
        shutil.rmtree(files)
    tmp.rename(files)
    with atomic_output(out) as partial:
        partial.write_text(xml)


class LevelTiler:
    """Cuts one DZI level into tiles as its rows arrive top to bottom; holds at most one tile row
    (plus overlap) and the last rows added."""

    def __init__(self, folder: Path, width: int, height: int, tile_size: int, overlap: int, fmt: str):
        self.folder, self.width, self.height = folder, width, height
        self.ts, self.overlap, self.fmt = tile_size, overlap, fmt
        self.chunks: list[np.ndarray] = []  # the level's rows from `top` on, as added
        self.top, self.held = 0, 0
        self.next_row = 0  # the next tile row to write
        self.tile_rows = math.ceil(height / tile_size)
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, rows: np.ndarray) -> None:
        """rows: uint8 [n, width, 3], the level's next rows."""
        assert rows.dtype == np.uint8 and rows.shape[1:] == (self.width, 3), rows.shape
        self.chunks.append(rows)
        self.held += len(rows)
        ts, ov = self.ts, self.overlap
        while self.next_row < self.tile_rows:
            r = self.next_row
            y0, y1 = max(r * ts - ov, 0), min((r + 1) * ts + ov, self.height)
            if self.top + self.held < y1:
                return
            held = np.concatenate(self.chunks) if len(self.chunks) > 1 else self.chunks[0]
            band = held[y0 - self.top:y1 - self.top]
            for c in range(math.ceil(self.width / ts)):
                x0, x1 = max(c * ts - ov, 0), min((c + 1) * ts + ov, self.width)
                self._write(band[:, x0:x1], self.folder / f"{c}_{r}.{self.fmt}")
            self.next_row += 1
            keep = (r + 1) * ts - ov  # the next tile row starts here
            tail = held[keep - self.top:].copy()
            self.chunks, self.top, self.held = [tail], keep, len(tail)

    def finish(self) -> None:
        assert self.next_row == self.tile_rows, (self.folder, self.next_row, self.tile_rows)

    def _write(self, tile: np.ndarray, path: Path) -> None:
        if self.fmt == "png":
            buf = io.BytesIO()
            png = PngStreamWriter(buf, tile.shape[1], tile.shape[0])
            png.write_rows(np.ascontiguousarray(tile))
            png.close()
            path.write_bytes(buf.getvalue())
        else:
            from PIL import Image

            Image.fromarray(tile).save(path, quality=JPEG_QUALITY)


class Pyramid:
    """A chain of levels, finest first: rows added to the first are tiled there and averaged 2x2
    into the next, and so on, as they stream."""

    def __init__(self, tilers: list[LevelTiler]):
        self.tilers = tilers
        self.pending: list[np.ndarray | None] = [None] * len(tilers)  # an unpaired row per level

    def add(self, rows: np.ndarray, i: int = 0) -> None:
        self.tilers[i].add(rows)
        if i + 1 == len(self.tilers):
            return
        if self.pending[i] is not None:
            rows = np.concatenate([self.pending[i], rows])
        even = len(rows) & ~1
        self.pending[i] = rows[even:] if even < len(rows) else None
        for a in range(0, even, HALVE_ROWS):
            self.add(halve(rows[a:min(a + HALVE_ROWS, even)]), i + 1)

    def finish(self) -> None:
        for i, tiler in enumerate(self.tilers):
            if i + 1 < len(self.tilers) and self.pending[i] is not None:
                last, self.pending[i] = self.pending[i], None
                self.add(halve(np.concatenate([last, last])), i + 1)  # an odd last row: itself
            tiler.finish()


def halve(rows: np.ndarray) -> np.ndarray:
    """uint8 [2n, w, 3] -> [n, ceil(w / 2), 3]: the rounded mean of each 2x2 block; an odd last
    column averages its two pixels."""
    s = rows[0::2].astype(np.uint16)
    s += rows[1::2]  # [n, w, 3]: sums of row pairs
    w = s.shape[1]
    out = s[:, 0:w - 1:2] + s[:, 1::2]
    if w % 2:
        out = np.concatenate([out, 2 * s[:, -1:]], 1)
    out += 2  # round half up
    out >>= 2
    return out.astype(np.uint8)
