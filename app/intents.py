"""What the widgets and canvas tools ask the studio to do this frame (StyleGAN3 visualizer's args).

Widgets never touch the world or the scheduler; they write here and the studio carries it out once
per frame, so every widget can be driven and checked headless."""

from __future__ import annotations

from dataclasses import dataclass, field

from infiniscape.models.contract import (
    NOISE_MODES,  # noqa: F401  (scene noise modes, network names)
    StyleMix,  # noqa: F401  (the Model panel's style-mixing setting)
)
from infiniscape.models.errors import UserError  # noqa: F401  (what a request refused raises)
from infiniscape.renderer.levels import ZOOMS  # noqa: F401  (the export zooms the Capture panel offers)


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
    analyse: list = field(default_factory=list)  # requests of app.analysis (Spectrum, Layers, ...)
    stop_analysis: str | None = None  # the kind of analysis whose job to stop
    # standing settings, written every frame by their widget
    show_grid: bool = False
    fps_limit: int = 60
    vsync: bool = False


# -- edit actions from plain values (Intents.apply), so panels need not know renderer.edits ---------

def resample(field_name: str, rect: tuple[int, int, int, int], seed: int,
             stats: tuple[int, int, int, int] | None = None, feather: int = 8):
    """Redraw ``field_name``'s cells under ``rect`` from ``seed`` (matching ``stats``' statistics)."""
    from infiniscape.renderer.edits import Resample

    return Resample(field_name, tuple(rect), int(seed), stats, int(feather))


def remove_anchor(index: int):
    from infiniscape.renderer.edits import RemoveAnchor

    return RemoveAnchor(index)


def anchor_reach(index: int, radius: int | None, blur: int | None):
    """The anchor's own radius and blur; None for both gives it the scene's reach again."""
    from infiniscape.renderer.edits import SetAnchorReach

    return SetAnchorReach(index, radius, blur)
