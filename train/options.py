"""Options of a training run: one dataclass, saved as the run's config.yaml."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from infiniscape.models.errors import UserError


@dataclass
class TrainOptions:
    data: str  # folder, zip or "procedural[:SEED]"
    out: str  # run directory
    config: str = "tiny"  # native config name or .yaml path
    kimg: float = 1000.0  # length of the run in thousands of real images shown to D
    batch: int = 16  # global batch (split over processes)
    resolution: int | None = None  # frame size R (R x R); default: the config's tile_size
    loss: str = "stylegan2"  # "stylegan2": logistic loss, lazy R1, residual D; "projected": Projected GAN
    lr: float = 0.0025  # Adam learning rate of G and D (D's is corrected for lazy R1)
    d_lr: float | None = None  # discriminator learning rate; None: lr (stylegan2), 0.002 (projected)
    r1_gamma: float | None = None  # R1 weight; None: StyleGAN2-ADA's 0.0002 * R^2 / batch
    r1_interval: int = 16  # lazy regularisation: R1 every N discriminator steps
    ema_kimg: float | None = None  # G_ema half-life in kimg; None: batch * 10 / 32
    ema_rampup: float | None = 0.05  # half-life at most this fraction of the images seen so far
    d_channels: int | None = None  # discriminator width; None: half G's widest stage, 32 at least
    diffaug: bool = False  # DiffAugment (colour, translation, cutout); always on with --loss projected
    d_input: int | None = 224  # projected: frames resized to this size for the feature network
    #                            (the official code's 224 below 224 px); 0: the frames' own size
    d_scale: float = 0.25  # projected: width of the patch discriminators relative to the paper's
    lod_weight: float = 1.0  # level-of-detail consistency: each coarse RGB vs the box-downsampled frame
    scene_height: int | None = None  # procedural data: landscapes laid out for frames this tall
    y_extent: int = 0  # procedural data: frame tops spread over +-y_extent px around the horizon
    #                    (half of them in the landscape band); 0: every frame at the horizon
    y_band: tuple[float, float] | None = None  # world y band of the frame's top row (no horizon known)
    tick_kimg: float = 1.0  # stats every N kimg ...
    tick_seconds: float = 60.0  # ... or every N seconds, whichever comes first
    snapshot_kimg: float = 4.0  # snapshot + sample grids every N kimg
    keep_snapshots: int = 5  # snapshots kept
    metrics_kimg: float = 0.0  # FID/KID every N kimg (0: off)
    metrics: str = "fid,kid,fid_far"  # which metrics (needs the metrics extra)
    metrics_samples: int = 500  # frames per metric evaluation
    amp: str = "auto"  # mixed precision: auto (bf16/fp16 on GPU, off on CPU), bf16, fp16, off
    device: str = "auto"  # cpu, cuda or auto
    seed: int = 0  # every random draw of the run derives from (seed, rank, step)

    def check(self) -> None:
        """Raise UserError naming the first bad option."""
        if self.batch < 1:
            raise UserError(f"--batch must be positive, got {self.batch}")
        if self.kimg <= 0:
            raise UserError(f"--kimg must be positive, got {self.kimg}")
        if self.loss not in ("stylegan2", "projected"):
            raise UserError(f"--loss must be stylegan2 or projected, got {self.loss!r}")
        if self.lod_weight < 0 or self.y_extent < 0:
            raise UserError("--lod-weight and --y-extent must not be negative")
        if self.amp not in ("auto", "bf16", "fp16", "off"):
            raise UserError(f"--amp must be auto, bf16, fp16 or off, got {self.amp!r}")
        for name in ("snapshot_kimg", "tick_kimg"):
            if getattr(self, name) <= 0:
                raise UserError(f"--{name.replace('_', '-')} must be positive")
        if self.y_band is not None and self.y_band[0] > self.y_band[1]:
            raise UserError(f"--y-band {self.y_band}: the low end must come first")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["y_band"] = list(self.y_band) if self.y_band is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainOptions:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if kw.get("y_band") is not None:
            kw["y_band"] = tuple(float(v) for v in kw["y_band"])
        return cls(**kw)
