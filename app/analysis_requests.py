"""What the analysis panels (Spectrum, Equivariance, Layers, Seams) ask for and get back: small frozen
requests a panel writes into ``Intents.analyse`` every frame (live ones) or once (buttons), and the
results ``app.analysis.Analysis`` keeps for the panels to draw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

METRIC_LABELS = {"eqt_int": "EQ-T", "eqt_frac": "EQ-T frac", "eqr": "EQ-R"}


# -- requests (plain data; a live one is written every frame, the runner skips what it has served) --

@dataclass(frozen=True)
class Spectrum:
    """Live FFT of the selection (or the visible region), cropped to MAX_LIVE_SIDE px around its centre."""

    kind: ClassVar[str] = "spectrum"
    of_selection: bool = True
    beta: float = 8.0  # Kaiser window
    db_range: float = 50.0  # colours span +/- this around the mean power
    luminance: bool = False  # Rec. 601 luminance instead of every channel


@dataclass(frozen=True)
class AverageSpectra:
    """Average spectrum of ``tiles`` world tiles, and of as many images of ``data`` when given."""

    kind: ClassVar[str] = "average spectrum"
    tiles: int = 16
    beta: float = 8.0
    data: str = ""  # dataset to compare with: folder, .zip or 'procedural[:SEED]'


@dataclass(frozen=True)
class ExportSpectra:
    """The last average spectra to ``path`` (.npz) with the labelled .png beside it."""

    kind: ClassVar[str] = "export spectrum"
    path: str


@dataclass(frozen=True)
class EquivarianceView:
    """Transformed render | ideal reference | difference, for one input transform."""

    kind: ClassVar[str] = "equivariance view"
    seed: int = 0
    tx: float = 0.0  # image widths
    ty: float = 0.0
    angle: float = 0.0  # radians
    whole_pixels: bool = False  # the reference moved by whole pixels (integer shift)
    untransform: bool = False  # compare in the original frame (the StyleGAN3 visualizer's option)
    test_signal: bool = False  # band-limited sinusoids instead of the model


@dataclass(frozen=True)
class EquivarianceMetrics:
    """EQ-T / EQ-T frac / EQ-R PSNRs over ``samples`` seeds."""

    kind: ClassVar[str] = "equivariance metrics"
    metrics: tuple[str, ...] = ("eqt_int", "eqt_frac")
    samples: int = 16
    test_signal: bool = False


@dataclass(frozen=True)
class Layers:
    """Every layer of the tile under the cursor (else at the view centre), and how one is shown."""

    kind: ClassVar[str] = "layers"
    follow: bool = True
    selected: str = "output"
    channel: int = 0
    rgb: bool = True
    normalize: bool = True
    gain_db: float = 0.0
    fft: bool = False
    fft_all: bool = True
    beta: float = 8.0
    db_range: float = 50.0


@dataclass(frozen=True)
class SeamScore:
    """The seam score over ``regions`` random blocks of tiles_per_side^2 tiles."""

    kind: ClassVar[str] = "seams"
    regions: int = 16
    tiles_per_side: int = 2
    seed: int = 0


# -- results ----------------------------------------------------------------------------------------

@dataclass
class Result:
    request: object  # what was asked
    value: object  # what a panel draws (per kind: see the handlers)


@dataclass
class AverageShown:
    spectra: dict  # label -> renderer.analysis.average.AverageSpectrum
    names: dict[str, str]  # label -> what it is (the model's name, the dataset)
    heatmaps: object  # uint8 [H, W, 3]: the labels' heatmaps side by side
    plots: list  # (title, {label: (frequency, dB)}) per plot


@dataclass
class LayersShown:
    tile: object  # models.contract.Tile
    layers: list  # renderer.analysis.layers.LayerOutput, in execution order
    layer: object  # the one shown
    image: object  # uint8 [H, W, 3]
    stats: dict[str, tuple[float, float]]  # mean/std/max over all channels and the shown ones


def colour_ramp(lo: float, hi: float, steps: int) -> list[tuple[int, int, int]]:
    """``steps`` RGB colours of the heatmaps' colormap from ``lo`` to ``hi`` (for a colour bar)."""
    import numpy as np

    from infiniscape.renderer.analysis.spectrum import colorize

    return [tuple(c) for c in colorize(np.linspace(lo, hi, steps), lo, hi).tolist()]
