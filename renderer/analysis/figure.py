"""The spectrum figure the CLI writes: labelled heatmaps with a dB colour bar and the radial profiles,
drawn with numpy and Pillow only (no plotting library: the figure is one fixed layout, and Pillow
is already a dependency)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .spectrum import colorize

WHITE, INK, GREY, GRID = (255, 255, 255), (20, 20, 24), (110, 110, 118), (225, 225, 230)
LINES = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189)]  # one per spectrum
PANEL = 300  # px: each heatmap's side
MARGIN = 64


def _font(size: int):
    from importlib.resources import files

    from PIL import ImageFont

    ttf = files("infiniscape") / "assets" / "DroidSans.ttf"  # the studio's font, shipped as package data
    try:
        return ImageFont.truetype(str(ttf), size)
    except OSError:
        return ImageFont.load_default(size)


def _text(draw, xy, text, font, fill=INK, anchor="la") -> None:
    draw.text(xy, text, fill=fill, font=font, anchor=anchor)


def _vertical_text(img, centre, text, font) -> None:
    """Text turned 90 degrees (read bottom to top), centred on ``centre``."""
    from PIL import Image, ImageDraw

    w, h = (int(v) + 4 for v in font.getbbox(text)[2:])
    label = Image.new("RGB", (w, h), WHITE)
    ImageDraw.Draw(label).text((2, 0), text, fill=INK, font=font)
    label = label.rotate(90, expand=True)
    img.paste(label, (int(centre[0] - label.width / 2), int(centre[1] - label.height / 2)))


def _ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """Round tick values covering [lo, hi]."""
    span = max(hi - lo, 1e-9)
    raw = span / n
    mag = 10 ** np.floor(np.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return np.arange(np.ceil(lo / step) * step, hi + step * 1e-6, step)


def spectrum_figure(path: str | Path, spectra: dict, names: dict[str, str] | None = None,
                    lo: float = -40.0, hi: float = 20.0) -> Path:
    """PNG: one heatmap per spectrum (title naming model / data, frequency axes in cycles per image),
    a colour bar in dB, and the radial power profiles of all of them with a legend."""
    from PIL import Image, ImageDraw

    names = names or {}
    labels = [f"{k}: {names[k]}" if names.get(k) else k for k in spectra]
    n = len(spectra)
    bar_w, plot_h = 90, 300
    width = max(MARGIN + n * (PANEL + MARGIN) + bar_w, 760)  # room for the title with one spectrum
    height = 60 + PANEL + 70 + plot_h + 80
    img = Image.new("RGB", (width, height), WHITE)
    d = ImageDraw.Draw(img)
    big, font, small = _font(20), _font(15), _font(13)
    _text(d, (width // 2, 14), "Average power spectrum (whitened, Kaiser-windowed), "
          + " vs ".join(labels), big, anchor="ma")
    top = 60
    for i, (sp, label) in enumerate(zip(spectra.values(), labels, strict=True)):
        x0 = MARGIN + i * (PANEL + MARGIN)
        heat = Image.fromarray(colorize(sp.heatmap_db(), lo, hi)).resize((PANEL, PANEL),
                                                                         Image.Resampling.NEAREST)
        img.paste(heat, (x0, top + 20))
        d.rectangle([x0 - 1, top + 19, x0 + PANEL, top + 20 + PANEL], outline=INK)
        _text(d, (x0 + PANEL // 2, top), f"{label} ({sp.count} images, {sp.image_size} px)", font,
              anchor="ma")
        nyq = sp.image_size // 2
        for f in (-nyq, -nyq // 2, 0, nyq // 2, nyq):
            fx = x0 + (f + nyq) / (2 * nyq) * PANEL
            fy = top + 20 + (f + nyq) / (2 * nyq) * PANEL
            d.line([fx, top + 20 + PANEL, fx, top + 25 + PANEL], fill=INK)
            _text(d, (fx, top + 27 + PANEL), str(f), small, anchor="ma")
            d.line([x0 - 5, fy, x0, fy], fill=INK)
            _text(d, (x0 - 7, fy), str(f), small, anchor="rm")  # rows run from -Nyquist down
        _text(d, (x0 + PANEL // 2, top + 44 + PANEL), "horizontal frequency (cycles / image)", small,
              anchor="ma")
        _vertical_text(img, (x0 - 52, top + 20 + PANEL // 2), "vertical frequency (cycles / image)", small)
    # colour bar
    bx = MARGIN + n * (PANEL + MARGIN) - MARGIN // 2
    ramp = colorize(np.linspace(hi, lo, PANEL)[:, None].repeat(18, 1), lo, hi)
    img.paste(Image.fromarray(ramp), (bx, top + 20))
    d.rectangle([bx - 1, top + 19, bx + 18, top + 20 + PANEL], outline=INK)
    for v in _ticks(lo, hi, 6):
        y = top + 20 + (hi - v) / (hi - lo) * (PANEL - 1)
        d.line([bx + 18, y, bx + 23, y], fill=INK)
        _text(d, (bx + 26, y), f"{v:g}", small, anchor="lm")
    _text(d, (bx + 9, top + 2), "power (dB)", small, anchor="ma")
    # radial profiles
    _radial_plot(img, d, (MARGIN + 10, top + PANEL + 100, width - MARGIN - 20, plot_h), spectra, labels,
                 font, small)
    path = Path(path)
    img.save(path)
    return path


def _radial_plot(img, d, box, spectra: dict, labels: list[str], font, small) -> None:
    x0, y0, w, h = box
    curves = [sp.radial() for sp in spectra.values()]
    fmax = max(float(f[-1]) for f, _ in curves)
    vals = np.concatenate([db for _, db in curves])
    lo, hi = float(np.floor(vals.min() / 10) * 10), float(np.ceil(vals.max() / 10) * 10)
    hi = hi if hi > lo else lo + 10
    _text(d, (x0 + w // 2, y0 - 24), "Radial profile: mean power over rings of one cycle per image", font,
          anchor="ma")

    def px(f, v):
        return x0 + f / max(fmax, 1e-9) * w, y0 + (hi - v) / (hi - lo) * h

    for v in _ticks(lo, hi, 6):
        _, y = px(0, v)
        d.line([x0, y, x0 + w, y], fill=GRID)
        _text(d, (x0 - 6, y), f"{v:g}", small, anchor="rm")
    for f in _ticks(0, fmax, 8):
        x, _ = px(f, lo)
        d.line([x, y0, x, y0 + h], fill=GRID)
        _text(d, (x, y0 + h + 4), f"{f:g}", small, anchor="ma")
    d.rectangle([x0, y0, x0 + w, y0 + h], outline=INK)
    _text(d, (x0 + w // 2, y0 + h + 24), "frequency (cycles / image)", small, anchor="ma")
    _vertical_text(img, (x0 - 52, y0 + h // 2), "power (dB)", small)
    for i, ((f, db), label) in enumerate(zip(curves, labels, strict=True)):
        col = LINES[i % len(LINES)]
        d.line([px(a, b) for a, b in zip(f, db, strict=True)], fill=col, width=2)
        lx, ly = x0 + w - 230, y0 + 12 + i * 20
        d.line([lx, ly, lx + 24, ly], fill=col, width=3)
        _text(d, (lx + 30, ly), label, small, anchor="lm")
