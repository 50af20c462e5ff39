"""What the widgets and canvas tools ask the studio to do this frame (StyleGAN3 visualizer's args).

Widgets never touch the world or the scheduler; they write here and the studio carries it out once
per frame, so every widget can be driven and checked headless."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Intents:
    # one-shot requests (None / False = nothing asked this frame)
    open_model: str | None = None
    open_scene: str | None = None
    save_scene: str | None = None
    goto: tuple[float, float] | None = None  # world point to centre the view on
    zoom: float | None = None
    reset_view: bool = False
    apply: object | None = None  # an edit action of infiniscape.renderer.edits
    undo: bool = False
    redo: bool = False
    jump: int | None = None  # history position to go to
    save_view: tuple[str, int] | None = None  # (path, scale)
    export: tuple[tuple[int, int, int, int], str, float] | None = None  # (world rect, path, zoom 2^-k)
    place_image: tuple[str, tuple[int, int, int, int], int] | None = None  # (image file, world rect, steps)
    fusion: object | None = None  # a renderer.fusion.FusionParams for every style anchor
    settings: dict | None = None  # scene-wide knobs to change (World.with_settings): truncation, ...
    # standing settings, written every frame by their widget
    show_grid: bool = False
    fps_limit: int = 60
    vsync: bool = False
    tool: str = "pan"  # pan | select | stats | anchor
