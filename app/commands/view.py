"""`infiniscape view`: the desktop studio (bare `infiniscape` runs this)."""

from __future__ import annotations

import argparse

from .common import add_model_arguments, positive

HELP = "open the desktop studio: endless canvas, edits, style fusion, capture"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    p.add_argument("--scene", default=None, metavar="FILE", help="open a saved scene (.yaml)")
    p.add_argument("--seed", type=int, default=0, help="scene seed (default 0)")
    p.add_argument("--width", type=positive("--width"), default=1280, help="window width (default 1280)")
    p.add_argument("--height", type=positive("--height"), default=800, help="window height (default 800)")
    p.add_argument("--font-size", type=positive("--font-size"), default=15, help="UI font px (default 15)")
    p.add_argument("--cache-mb", type=positive("--cache-mb"), default=512, help="tile cache MB (default 512)")
    p.add_argument("--panels", default=None, metavar="A,B", help="panels open at start, by title, e.g. "
                   "Training,Performance (default: Model, Navigation, Edit, Performance)")
    p.add_argument("--screenshot", default=None, metavar="PATH", help="save a PNG of the window at the end")
    p.add_argument("--quit-after-frames", type=positive("--quit-after-frames"), default=None, metavar="N",
                   help="scripted runs: quit after N frames, once every visible tile is drawn")


def run(args: argparse.Namespace) -> int:
    from infiniscape.window import StudioWindow, check_display

    from .common import resolve_device

    check_display()  # before loading torch: no display is one line, at once
    device = resolve_device(args.device)
    reserve_ui_core()
    window = StudioWindow(args.width, args.height, font_size=float(args.font_size))
    from infiniscape.studio import Studio

    studio = Studio(model=args.model, scene=args.scene, seed=args.seed, device=device,
                    cache_bytes=args.cache_mb << 20)
    try:
        if args.panels is not None:
            open_panels(studio, args.panels)
        return window.run(studio, quit_after_frames=args.quit_after_frames, screenshot=args.screenshot)
    finally:
        studio.close()
        window.close()


def open_panels(studio, names: str) -> None:
    """Open exactly the panels named (case-insensitive); an unknown name is a one-line error."""
    from infiniscape.models.errors import UserError

    wanted = {n.strip().lower() for n in names.split(",") if n.strip()}
    titles = [t for t, _, _ in studio.panels]
    unknown = wanted - {t.lower() for t in titles}
    if unknown:
        raise UserError(f"--panels: no panel {', '.join(sorted(unknown))}; "
                        f"the panels are {', '.join(titles)}")
    studio.panels = [(t, w, t.lower() in wanted) for t, w, _ in studio.panels]


def reserve_ui_core() -> None:
    """Leave one core to the UI thread (and a software GL rasteriser): with every core in torch's
    spinning OpenMP pool, a 2-core machine rendered tiles ~20x slower while the window ran."""
    import os

    import torch

    torch.set_num_threads(max(1, min(torch.get_num_threads(), (os.cpu_count() or 2) - 1)))
