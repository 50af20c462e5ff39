"""Options of a training run: one dataclass, saved as the run's config.yaml.

Each option is declared here once, with its help; `infiniscape train` builds its flags from these
fields (``--name-with-dashes``) and the Training panel its form, so a default, a type, a choice or
a help text is never restated elsewhere."""

from __future__ import annotations

import types
from dataclasses import MISSING, Field, asdict, dataclass, field, fields

from infiniscape.models.errors import UserError

DEVICES = ("auto", "cpu", "cuda")
LOSSES = ("stylegan2", "projected")
AMP = ("auto", "bf16", "fp16", "off")


def option(default=MISSING, help: str = "", *, choices: tuple = (), hints: tuple = (),
           positive: bool = False, metavar: str | None = None, cli: bool = True, panel=MISSING) -> Field:
    """A TrainOptions field: its default and help, plus how the CLI and the panel offer it.

    choices: the only values allowed; hints: usual values offered by the panel, others allowed;
    positive: an integer > 0; cli=False: not a flag (set in code only); panel: the Training
    panel's default where it differs (a short run, live curves)."""
    meta = {"help": help, "choices": choices, "hints": hints or choices, "positive": positive,
            "metavar": metavar, "cli": cli}
    if panel is not MISSING:
        meta["panel"] = panel
    return field(default=default, metadata=meta)


@dataclass
class TrainOptions:
    """Every option of a run, each with its help (see ``option``): what --help and the panel show."""

    data: str = option(help="training images: folder, zip or procedural[:SEED]", metavar="DIR|ZIP|procedural",
                       panel="procedural")
    out: str = option(help="run directory to create", metavar="RUN_DIR")
    config: str = option("tiny", "native config name (tiny, small, default) or .yaml")
    kimg: float = option(1000.0, "length in thousands of real images shown to D; may extend a resume",
                         panel=100.0)
    batch: int = option(16, "global batch size (split over processes)", positive=True)
    resolution: int | None = option(None, "frame size R (R x R); default: the config's tile size",
                                    positive=True)
    loss: str = option("stylegan2", "stylegan2: logistic loss + R1 with a residual D; projected: "
                       "Projected GAN (frozen pretrained EfficientNet-Lite0 features, hinge loss, "
                       "DiffAugment; needs the train extra)", choices=LOSSES)
    lr: float = option(0.0025, "Adam learning rate of G and D (D's is corrected for lazy R1)")
    d_lr: float | None = option(None, "discriminator learning rate; default: --lr (0.002 with --loss "
                                "projected)")
    r1_gamma: float | None = option(None, "R1 weight; default: StyleGAN2-ADA's 0.0002 * R^2 / batch")
    r1_interval: int = option(16, "lazy regularisation: R1 every N discriminator steps", cli=False)
    ema_kimg: float | None = option(None, "G_ema half-life in kimg; default: batch * 10 / 32", cli=False)
    ema_rampup: float | None = option(0.05, "G_ema half-life at most this fraction of the images seen so far",
                                      cli=False)
    d_channels: int | None = option(None, "discriminator width; default: half G's widest stage, 32 at least",
                                    positive=True)
    diffaug: bool = option(False, "DiffAugment (colour, translation, cutout); always on with --loss "
                           "projected")
    d_input: int | None = option(224, "projected: frames resized to PX for the feature network (224, as the "
                                 "official code below 224 px; 0: their own size, 3x faster, but 1x1 patches "
                                 "at 128)", metavar="PX")
    d_scale: float = option(0.25, "projected: width of the patch discriminators vs the paper")
    lod_weight: float = option(1.0, "weight of the level-of-detail consistency term: each coarse RGB against "
                               "the box-downsampled frame (0: off)")
    scene_height: int | None = option(None, "procedural data: lay the landscapes out for PX-tall frames; "
                                      "default: the frame size", positive=True, metavar="PX")
    y_extent: int = option(0, "procedural data: frames at every height within +-PX of the horizon, half of "
                           "them in the landscape band (0: all at the horizon)", metavar="PX")
    y_band: tuple[float, float] | None = option(None, "world y band of the frame's top row for datasets "
                                                "without a known horizon; default: around -0.6 R",
                                                metavar="LO,HI")
    tick_kimg: float = option(1.0, "stats every N kimg or every --tick-seconds, whichever comes first")
    tick_seconds: float = option(60.0, "stats at least every N seconds", panel=10.0)
    snapshot_kimg: float = option(4.0, "snapshot and sample grids every N kimg")
    keep_snapshots: int = option(5, "snapshots kept", positive=True)
    metrics_kimg: float = option(0.0, "FID/KID every N kimg (0: off; needs the metrics extra)")
    metrics: str = option("fid,kid,fid_far", "metrics to compute (needs the metrics extra)")
    metrics_samples: int = option(500, "frames per metric evaluation", positive=True)
    amp: str = option("auto", "mixed precision: auto (bf16/fp16 on GPU, off on CPU), bf16 (GPU or CPU), "
                      "fp16 (GPU), off",
                      choices=AMP)
    compile: bool = option(False, "torch.compile the generator's synthesis layers for training: inductor "
                           "fuses their elementwise passes (~1.5x faster steps on the CPU) after a minute or "
                           "two of compiling in every process; needs a C++ compiler")
    device: str = option("auto", "cpu, cuda or auto", hints=DEVICES)
    data_workers: int = option(0, "processes that render or decode the real frames, the next step's while "
                                  "this one trains (0: the training process itself, enough on a CPU); a "
                                  "GPU wants several: a core renders ~260 procedural 128 px frames a second")
    seed: int = option(0, "random seed: every random draw of the run derives from (seed, rank, step)")

    def check(self) -> None:
        """Raise UserError naming the first bad option."""
        if self.batch < 1:
            raise UserError(f"--batch must be positive, got {self.batch}")
        if self.kimg <= 0:
            raise UserError(f"--kimg must be positive, got {self.kimg}")
        if self.loss not in LOSSES:
            raise UserError(f"--loss must be stylegan2 or projected, got {self.loss!r}")
        if self.lod_weight < 0 or self.y_extent < 0 or self.data_workers < 0:
            raise UserError("--lod-weight, --y-extent and --data-workers must not be negative")
        if self.amp not in AMP:
            raise UserError(f"--amp must be auto, bf16, fp16 or off, got {self.amp!r}")
        for name in ("snapshot_kimg", "tick_kimg"):
            if getattr(self, name) <= 0:
                raise UserError(f"{flag(name)} must be positive")
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


OPTIONS: dict[str, Field] = {f.name: f for f in fields(TrainOptions)}
_TYPES = {"str": str, "int": int, "float": float, "bool": bool}


def flag(name: str) -> str:
    """The CLI flag of an option: ``--snapshot-kimg`` for ``snapshot_kimg``."""
    return "--" + name.replace("_", "-")


def value_type(name: str) -> type:
    """The option's type without None: str, int, float, bool or tuple."""
    text = OPTIONS[name].type.split("|")[0].strip()  # annotations are strings here (__future__)
    return _TYPES.get(text, tuple if text.startswith("tuple") else types.NoneType)


def help_text(name: str) -> str:
    """The option's help with its default, as --help and the panel's tooltips show it."""
    f = OPTIONS[name]
    text = f.metadata["help"]
    if f.default is not None and f.default is not MISSING and value_type(name) is not bool:
        text += f" (default {to_text(f.default)})"
    return text


def to_text(value) -> str:
    """An option's value as the CLI takes it."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" for v in value)
    return str(value)
