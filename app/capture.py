"""Saving the view and exporting world rectangles as background jobs (the Capture panel's intents)."""

from __future__ import annotations

import math

import numpy as np

MAX_VIEW_PIXELS = 64 << 20  # world px a "save view" may render (uint8: 192 MB); beyond, use Export


def save_view(studio, path: str, scale: int = 1):
    """Save what the canvas shows, at canvas size x ``scale``, rendered off the UI thread."""
    from PIL import Image

    from infiniscape.models.files import atomic_output
    from infiniscape.renderer.export import check_output_path
    from infiniscape.renderer.world import to_uint8

    out = check_output_path(path)
    if out.suffix.lower() != ".png":
        raise ValueError(f"{path}: the view is saved as .png")
    x0, y0, x1, y1 = studio.canvas.view.world_rect(studio.canvas.size)
    x, y = math.floor(x0), math.floor(y0)
    w, h = max(1, math.ceil(x1) - x), max(1, math.ceil(y1) - y)
    if w * h > MAX_VIEW_PIXELS:
        raise ValueError(f"the view covers {w}x{h} world px: zoom in, or use Export for big regions")
    size = (max(1, round(studio.canvas.size[0] * scale)), max(1, round(studio.canvas.size[1] * scale)))
    world = studio.world

    def work(job):
        buf = np.empty((h, w, 3), np.uint8)
        for ox, oy, piece in world.iter_pieces(x, y, w, h, job.advance):
            buf[oy:oy + piece.shape[0], ox:ox + piece.shape[1]] = to_uint8(piece)
        img = Image.fromarray(buf)
        if img.size != size:
            shrink = size[0] < w
            img = img.resize(size, Image.Resampling.LANCZOS if shrink else Image.Resampling.NEAREST)
        with atomic_output(out) as tmp:
            img.save(tmp, format="PNG")
        return out

    studio.report(f"saving view to {out} ...")
    return studio.jobs.start(f"save view {out.name}", work, total=world.tile_count(x, y, w, h),
                           on_done=lambda p: studio.report(f"saved view {p} ({size[0]}x{size[1]})"))

def export(studio, rect: tuple[int, int, int, int], path: str, zoom: float = 1.0):
    """Export a world rectangle at zoom 1, 1/2, 1/4, ... with the streaming exporter, off the UI
    thread: the output is the level's pixels covering the rectangle."""
    from infiniscape.renderer.export import check_output_path, export_region
    from infiniscape.renderer.levels import level_rect, zoom_level, zoom_text

    out = check_output_path(path)
    k = zoom_level(zoom)
    x, y, w, h = rect
    lx, ly, ow, oh = level_rect(x, y, w, h, k)
    world = studio.world
    at = f" at zoom {zoom_text(k)}" if k else ""
    studio.report(f"exporting {w}x{h} at ({x}, {y}){at} to {out} ...")
    return studio.jobs.start(f"export {out.name}",
                           lambda job: export_region(world, x, y, ow, oh, out, job.advance, zoom),
                           total=world.tile_count(lx, ly, ow, oh, k),
                           on_done=lambda p: studio.report(f"exported {p} ({ow}x{oh}{at})"))
