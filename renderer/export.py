"""Stream any world rectangle to disk tile row by tile row, at any level of detail, with memory
bounded by one row; under torchrun the tile rows are shared among the ranks (rank_rows) and rank 0
writes the same bytes as one process."""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import numpy as np

from ..models.errors import UserError
from ..models.files import atomic_output
from .levels import zoom_level
from .rank_rows import Ranks, check_same_world, is_split, is_writer, rows_on_ranks
from .world import World, to_uint8

FORMATS = (".png", ".npy")


def check_output_path(path: str | Path) -> Path:
    """Fail early, before any rendering, if the output cannot be written."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise UserError(f"output {path} must end in .png (8-bit image) or .npy (float32 values in [-1, 1])")
    return check_writable(path)


def check_writable(path: Path) -> Path:
    """The path's folder exists and is writable, and the path is not a folder."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"cannot write {path}: folder {parent} does not exist")
    if path.is_dir():
        raise UserError(f"cannot write {path}: it is a folder")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserError(f"cannot write {path}: permission denied")
    return path


class PngStreamWriter:
    """Minimal streaming PNG encoder (8-bit RGB): rows go straight into one zlib stream."""

    def __init__(self, f, width: int, height: int, level: int = 6):
        self.f, self.width, self.height = f, width, height
        self._z = zlib.compressobj(level)
        self.rows_written = 0
        f.write(b"\x89PNG\r\n\x1a\n")
        self._chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))

    def _chunk(self, kind: bytes, data: bytes) -> None:
        self.f.write(struct.pack(">I", len(data)) + kind + data)
        self.f.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)) & 0xFFFFFFFF))

    def write_rows(self, rows: np.ndarray) -> None:
        """rows: uint8 [n, width, 3]."""
        assert rows.dtype == np.uint8 and rows.shape[1:] == (self.width, 3), rows.shape
        filtered = np.zeros((rows.shape[0], self.width * 3 + 1), np.uint8)  # filter type 0 per row
        filtered[:, 1:] = rows.reshape(rows.shape[0], -1)
        data = self._z.compress(filtered.tobytes())
        if data:
            self._chunk(b"IDAT", data)
        self.rows_written += rows.shape[0]

    def close(self) -> None:
        assert self.rows_written == self.height, (self.rows_written, self.height)
        self._chunk(b"IDAT", self._z.flush())
        self._chunk(b"IEND", b"")


def export_region(world: World, x: int, y: int, width: int, height: int, out: str | Path,
                  progress: Callable[[int], None] | None = None, zoom: str | float = 1.0,
                  ranks: Ranks | None = None) -> Path:
    """Render width x height output pixels to .png or .npy, written atomically (temp + rename).

    (x, y) is the world corner, snapped down to a multiple of 1/zoom; at zoom 2^-k each output pixel
    is the mean colour of 2^k x 2^k world pixels (the world's level k, see World.iter_pieces).
    ``ranks``: this process's place in a torch.distributed group; every rank calls this, renders its
    share of the tile rows, and only rank 0 touches ``out``."""
    out = check_output_path(out) if is_writer(ranks) else Path(out)
    level = zoom_level(zoom)
    x, y = x >> level, y >> level
    check_same_world(ranks, world)
    as_uint8 = out.suffix.lower() != ".npy"
    if not is_writer(ranks):
        for _ in strips(world, x, y, width, height, level, as_uint8=as_uint8, ranks=ranks):
            pass  # rank 0 receives them
        return out
    with atomic_output(out) as tmp, open(tmp, "wb") as f, \
            closing(strips(world, x, y, width, height, level, progress, as_uint8, ranks)) as rows:
        if as_uint8:
            png = PngStreamWriter(f, width, height)
            for strip in rows:
                png.write_rows(strip)
            png.close()
        else:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False,
                                                     "shape": (height, width, 3)})
            for strip in rows:  # a full-width strip is contiguous in the file
                f.write(strip.astype("<f4", copy=False).tobytes())
    return out


def tile_row_bands(tile_size: int, y: int, height: int) -> list[tuple[int, int]]:
    """Output rows [top, bottom) of each tile row that meets rows y .. y + height - 1 of a level."""
    t = tile_size
    cuts = [0] + list(range(t - y % t, height, t)) + [height]
    return list(zip(cuts[:-1], cuts[1:], strict=True))


def strips(world: World, x: int, y: int, width: int, height: int, level: int = 0,
           progress: Callable[[int], None] | None = None, as_uint8: bool = True,
           ranks: Ranks | None = None) -> Iterator[np.ndarray]:
    """The rectangle (in the level's pixels, as World.iter_pieces) as strips top to bottom, one per
    tile row: uint8 [rows, width, 3], or float32 in [-1, 1] when not ``as_uint8``. Only one tile row
    is held. With ``ranks`` the rows are rendered on every rank in turn and rank 0 yields them all
    (progress per row); the other ranks yield nothing."""
    if width <= 0 or height <= 0:
        raise UserError(f"size must be positive, got {width}x{height}")
    bands = tile_row_bands(world.tile_size, y, height)

    def band(i: int, report: Callable[[int], None] | None = None) -> np.ndarray:
        top, bottom = bands[i]
        strip = np.empty((bottom - top, width, 3), np.uint8 if as_uint8 else np.float32)
        for ox, oy, piece in world.iter_pieces(x, y + top, width, bottom - top, report, level=level):
            strip[oy:oy + piece.shape[0], ox:ox + piece.shape[1]] = to_uint8(piece) if as_uint8 else piece
        return strip

    if not is_split(ranks):
        for i in range(len(bands)):
            yield band(i, progress)
        return
    columns = world.tile_count(x, y, width, 1, level)
    yield from rows_on_ranks(ranks, len(bands), band, lambda i: (bands[i][1] - bands[i][0], width, 3),
                             np.dtype(np.uint8 if as_uint8 else np.float32),
                             progress and (lambda rows: progress(rows * columns)))


def uint8_strips(world: World, x: int, y: int, width: int, height: int, level: int = 0,
                 progress: Callable[[int], None] | None = None,
                 ranks: Ranks | None = None) -> Iterator[np.ndarray]:
    """The rectangle as 8-bit strips, top to bottom: uint8 [rows, width, 3], one per tile row."""
    return strips(world, x, y, width, height, level, progress, True, ranks)
