"""Stream any world rectangle to disk tile row by tile row, at any level of detail, with memory
bounded by one row."""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ..models.errors import UserError
from ..models.files import atomic_output
from .levels import zoom_level
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
                  progress: Callable[[int], None] | None = None, zoom: str | float = 1.0) -> Path:
    """Render width x height output pixels to .png or .npy, written atomically (temp + rename).

    (x, y) is the world corner, snapped down to a multiple of 1/zoom; at zoom 2^-k each output pixel
    is the mean colour of 2^k x 2^k world pixels (the world's level k, see World.iter_pieces)."""
    out = check_output_path(out)
    level = zoom_level(zoom)
    x, y = x >> level, y >> level
    with atomic_output(out) as tmp, open(tmp, "wb") as f:
        if out.suffix.lower() == ".png":
            _write_png(world, x, y, width, height, level, f, progress)
        else:
            _write_npy(world, x, y, width, height, level, f, progress)
    return out


def uint8_strips(world: World, x: int, y: int, width: int, height: int, level: int = 0,
                 progress: Callable[[int], None] | None = None) -> Iterator[np.ndarray]:
    """The rectangle (in the level's pixels, as World.iter_pieces) as 8-bit strips, top to bottom:
    uint8 [rows, width, 3], one per tile row, so only one tile row is ever held."""
    t = world.tile_size
    strip, strip_y = None, None
    for ox, oy, piece in world.iter_pieces(x, y, width, height, progress, level=level):
        if strip is None or oy != strip_y:
            if strip is not None:
                yield strip
            rows = min(t - (y + oy) % t, height - oy)  # the tile row's rows inside the rectangle
            strip, strip_y = np.empty((rows, width, 3), np.uint8), oy
        strip[:, ox:ox + piece.shape[1]] = to_uint8(piece)
    yield strip


def _write_png(world, x, y, width, height, level, f, progress) -> None:
    png = PngStreamWriter(f, width, height)
    for strip in uint8_strips(world, x, y, width, height, level, progress):
        png.write_rows(strip)
    png.close()


def _write_npy(world, x, y, width, height, level, f, progress) -> None:
    header = {"descr": "<f4", "fortran_order": False, "shape": (height, width, 3)}
    np.lib.format.write_array_header_1_0(f, header)
    base = f.tell()
    f.truncate(base + height * width * 12)
    for ox, oy, piece in world.iter_pieces(x, y, width, height, progress, level=level):
        for r in range(piece.shape[0]):  # each row of the piece is contiguous in the file
            f.seek(base + ((oy + r) * width + ox) * 12)
            f.write(np.ascontiguousarray(piece[r], dtype="<f4").tobytes())
