"""Configuration of the native infinite generator (one YAML file per named config in configs/)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

# Ranges of the scalar fields: far beyond any trained model, far below what exhausts memory.
BOUNDS = {"tile_size": (8, 4096), "z_dim": (1, 4096), "w_dim": (1, 4096), "mapping_layers": (0, 32),
          "local_channels": (1, 1024), "style_spacing": (8, 1 << 24), "coord_octaves": (0, 16),
          "init_seed": (0, (1 << 63) - 1), "level_head_hidden": (0, 1024)}


@dataclass(frozen=True)
class StageSpec:
    channels: int  # feature channels at this resolution
    convs: int  # padding-free 3x3 convolutions at this resolution


@dataclass(frozen=True)
class NativeConfig:
    name: str = "native"
    tile_size: int = 256  # output pixels per tile side
    z_dim: int = 256  # global latent (style anchor) size
    w_dim: int = 256  # intermediate latent size
    mapping_layers: int = 4
    mapping_lr_mul: float = 0.01
    local_channels: int = 32  # channels of the local latent lattice (one cell = base_scale px)
    style_spacing: int = 1024  # world pixels between style anchors (2D lattice)
    # Horizontal sin/cos features with periods style_spacing / 2**k, k < coord_octaves. Off by default:
    # periodic x features repeat structure every period (a trained model's ridges recurred every 256
    # px) and line up with the tile grid (seam score x 0.88 on an untrained model).
    coord_octaves: int = 0
    vertical: str = "saturating"  # "saturating" (landscapes: horizon at world y = 0) or "periodic"
    vertical_scales: tuple[int, ...] = (64, 256, 1024)  # px; tanh(y / s) per scale when saturating
    noise: bool = True
    # Coherence of the style anchors' latents over long distances: [cells_x, cells_y, share] per
    # octave, a coarser lattice every cells_x x cells_y anchors (cells_y 0: one per column) taking
    # `share` of each anchor's variance (FieldSpec.octaves). Empty: independent anchors, as trained.
    style_octaves: tuple[tuple[int, int, float], ...] = ()
    init_seed: int = 0  # weights of an untrained model are drawn from this seed
    # The coarse levels' RGB heads (LevelToRGB): 0 = one modulated 3x3 convolution, linear in the
    # stage's features; N > 0 adds a nonlinear branch with N hidden channels. Chosen when the heads
    # are fitted (`infiniscape levels --head-hidden N`), not by training.
    level_head_hidden: int = 0
    # Resolutions from coarse to fine; each stage after the first upsamples 2x.
    stages: tuple[StageSpec, ...] = field(default_factory=lambda: (
        StageSpec(128, 3), StageSpec(96, 2), StageSpec(64, 2), StageSpec(32, 1), StageSpec(16, 1)))

    @property
    def base_scale(self) -> int:
        """World pixels per pixel of the coarsest stage (= local lattice spacing)."""
        return 2 ** (len(self.stages) - 1)

    @property
    def coord_channels(self) -> int:
        vertical = 2 * self.coord_octaves if self.vertical == "periodic" else len(self.vertical_scales)
        return 2 * self.coord_octaves + vertical

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent or out-of-range key."""
        for name, (lo, hi) in BOUNDS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise ValueError(f"{name} must be an integer from {lo} to {hi}, got {str(value)[:24]}")
        if not 1 <= len(self.stages) <= 8 or not 1 <= len(self.vertical_scales) <= 16:
            raise ValueError("stages must list 1 to 8 resolutions and vertical_scales 1 to 16 scales")
        for i, st in enumerate(self.stages):
            if not (1 <= st.channels <= 4096 and 0 <= st.convs <= 16):
                raise ValueError(f"stages[{i}] must have 1..4096 channels and 0..16 convs, "
                                 f"got [{str(st.channels)[:12]}, {str(st.convs)[:12]}]")
        if not all(1 <= s <= 1 << 30 for s in self.vertical_scales):
            raise ValueError("vertical_scales must be world pixels from 1 to 2^30")
        if self.vertical not in ("saturating", "periodic"):
            raise ValueError(f"vertical must be 'saturating' or 'periodic', got {self.vertical!r}")
        for i, octave in enumerate(self.style_octaves):
            if not (len(octave) == 3 and all(type(v) is int and 0 <= v <= 1 << 20 for v in octave[:2])
                    and octave[0] > 0 and isinstance(octave[2], float) and 0.0 < octave[2] < 1.0):
                raise ValueError(f"style_octaves[{i}] must be [cells_x >= 1, cells_y >= 0, share in (0, 1)], "
                                 f"got {str(octave)[:40]}")
        if sum(o[2] for o in self.style_octaves) >= 1.0:
            raise ValueError("style_octaves' shares must sum to less than 1 (each anchor keeps its own part)")
        if not self.stages:
            raise ValueError("stages must list at least one resolution")
        if self.tile_size % self.base_scale:
            raise ValueError(f"tile_size {self.tile_size} is not a multiple of base scale {self.base_scale}")
        if self.style_spacing % self.tile_size:
            raise ValueError(f"style_spacing {self.style_spacing} is not a multiple of tile_size")
        if self.style_spacing % (2 ** self.coord_octaves):
            raise ValueError("style_spacing must be divisible by 2**coord_octaves (periods divide it)")

    def tile_bytes(self) -> int:
        """Activations of one tile, generously: each stage's window (twice its output side, for the
        padding-free margin) times its channels, a few copies per convolution."""
        n = len(self.stages)
        return sum(st.channels * (2 * self.tile_size // 2 ** (n - 1 - i)) ** 2 * 4 * (st.convs + 2)
                   for i, st in enumerate(self.stages))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stages"] = [[s["channels"], s["convs"]] for s in d["stages"]]
        d["vertical_scales"] = list(self.vertical_scales)
        d["style_octaves"] = [list(o) for o in self.style_octaves]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> NativeConfig:
        if not isinstance(d, dict):
            raise ValueError(f"a model config is a mapping of keys to values, got a {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known - {"family"})
        if unknown:
            raise ValueError(f"unknown config key {unknown[0]!r}")
        kw = {k: v for k, v in d.items() if k in known}
        if "stages" in kw:
            kw["stages"] = tuple(StageSpec(int(c), int(n)) for c, n in kw["stages"])
        if "vertical_scales" in kw:
            kw["vertical_scales"] = tuple(int(s) for s in kw["vertical_scales"])
        if "style_octaves" in kw:
            octaves = kw["style_octaves"]
            if not isinstance(octaves, list | tuple) or not all(isinstance(o, list | tuple) for o in octaves):
                raise ValueError("style_octaves must be a list of [cells_x, cells_y, share]")
            kw["style_octaves"] = tuple(tuple(o) for o in octaves)
        cfg = cls(**kw)
        cfg.validate()
        return cfg
