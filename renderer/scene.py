"""A Scene is plain data that reproduces a canvas exactly: model, seed, knobs, edits, styles."""

from __future__ import annotations

from dataclasses import dataclass, field

NOISE_MODES = ("world", "off")


@dataclass
class Scene:
    model: str = "default"  # config name or checkpoint path
    seed: int = 0
    truncation: float = 1.0
    noise_mode: str = "world"  # "world": noise from the seeded lattice; "off": no noise
    edits: list = field(default_factory=list)
    styles: list = field(default_factory=list)
