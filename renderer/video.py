"""Scroll videos: frames of a fixed size whose centre moves along a straight world path."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from ..models.contract import Tile
from ..models.errors import UserError
from ..models.files import atomic_output
from .world import World, tiles_covering, to_uint8


def frame_origins(path: tuple[tuple[float, float], tuple[float, float]], size: tuple[int, int],
                  frames: int) -> list[tuple[int, int]]:
    """Top-left world corner of every frame; the path gives the frame centre at both ends."""
    (x0, y0), (x1, y1) = path
    w, h = size
    ts = np.linspace(0.0, 1.0, frames) if frames > 1 else np.zeros(1)
    return [(int(round(x0 + t * (x1 - x0) - w / 2)), int(round(y0 + t * (y1 - y0) - h / 2))) for t in ts]


def iter_frames(world: World, origins: list[tuple[int, int]], size: tuple[int, int],
                progress: Callable[[int], None] | None = None) -> Iterator[np.ndarray]:
    """uint8 frames [h, w, 3]; consecutive frames share tiles, so tiles are kept while in view."""
    w, h = size
    t = world.tile_size
    cache: OrderedDict[Tile, np.ndarray] = OrderedDict()
    for ox, oy in origins:
        wanted = [tile for row in tiles_covering(t, ox, oy, w, h) for tile in row]
        missing = [tile for tile in wanted if tile not in cache]
        for tile, img in zip(missing, world.render_tiles(missing), strict=True):
            cache[tile] = to_uint8(img)
        frame = np.empty((h, w, 3), np.uint8)
        for tile in wanted:
            cache.move_to_end(tile)
            tx, ty = tile.ix * t, tile.iy * t
            x0, y0, x1, y1 = max(ox, tx), max(oy, ty), min(ox + w, tx + t), min(oy + h, ty + t)
            frame[y0 - oy:y1 - oy, x0 - ox:x1 - ox] = cache[tile][y0 - ty:y1 - ty, x0 - tx:x1 - tx]
        while len(cache) > 2 * len(wanted):  # bounded: the current view and the one before
            cache.popitem(last=False)
        if progress:
            progress(1)
        yield frame


def write_video(world: World, path: tuple[tuple[float, float], tuple[float, float]], size: tuple[int, int],
                frames: int, out: str | Path, fps: int = 30,
                progress: Callable[[int], None] | None = None) -> Path:
    """MP4 (needs the `video` extra, imageio-ffmpeg) or a folder of numbered PNGs."""
    out = Path(out)
    origins = frame_origins(path, size, frames)
    if out.suffix.lower() == ".mp4":
        try:
            import imageio_ffmpeg
        except ImportError:
            raise UserError("writing MP4 needs the video extra: pip install 'infiniscape[video]' "
                            "(or pass a folder for numbered PNGs)") from None
        if not out.parent.is_dir():
            raise UserError(f"cannot write {out}: folder {out.parent} does not exist")
        with atomic_output(out) as tmp:
            writer = imageio_ffmpeg.write_frames(str(tmp), size, fps=fps, quality=8, macro_block_size=1,
                                                 output_params=["-f", "mp4"])
            writer.send(None)
            try:
                for frame in iter_frames(world, origins, size, progress):
                    writer.send(np.ascontiguousarray(frame))
            finally:
                writer.close()
        return out
    if out.suffix:
        raise UserError(f"video output {out} must be a .mp4 file or a folder for numbered PNGs")
    out.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(iter_frames(world, origins, size, progress)):
        with atomic_output(out / f"frame_{i:05d}.png") as tmp:
            Image.fromarray(frame).save(tmp, format="PNG")
    return out
