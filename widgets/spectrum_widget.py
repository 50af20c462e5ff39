"""Spectrum panel: live FFT of the view or selection, average spectra of the world (and a dataset)
with 0/45-degree slices and the radial profile, export to .npz + .png."""

from __future__ import annotations

import math
import time

import numpy as np
from imgui_bundle import imgui, implot

MAX_LIVE_SIDE = 512  # world px per side the live FFT reads: a bigger view is cropped around its centre


class PanelImage:
    """A uint8 image shown in a panel; uploaded to a GL texture on the UI thread when it changes."""

    def __init__(self, studio):
        self.studio = studio
        self.rgb: np.ndarray | None = None
        self._tex = None
        self._dirty = False
        self._fake = 0

    def set(self, rgb: np.ndarray | None) -> None:
        self.rgb, self._dirty = rgb, True

    def draw(self, width: float) -> None:
        if self.rgb is None:
            return
        if self._dirty:
            self._upload()
        h, w = self.rgb.shape[:2]
        imgui.image(imgui.ImTextureRef(self._tex), imgui.ImVec2(width, width * h / max(w, 1)))

    def _upload(self) -> None:
        self._dirty = False
        if not self.studio.pool.use_gl:
            self._fake += 1
            self._tex = 10**6 + self._fake  # headless: a stand-in id, nothing is drawn
            return
        from OpenGL import GL

        if self._tex is None:
            self._tex = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._tex)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_NEAREST)  # see the bins
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        img = np.ascontiguousarray(self.rgb)
        h, w = img.shape[:2]
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGB8, w, h, 0, GL.GL_RGB, GL.GL_UNSIGNED_BYTE, img)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)


def view_pixels(studio, rect: tuple[int, int, int, int]) -> np.ndarray:
    """uint8 [h, w, 3] of a world rectangle, rendered through the world (off the UI thread)."""
    from infiniscape.renderer.world import to_uint8

    x, y, w, h = rect
    return to_uint8(studio.world.render(x, y, w, h))


def live_rect(studio, use_selection: bool) -> tuple[int, int, int, int] | None:
    """The selection, or the visible region, cropped around its centre to MAX_LIVE_SIDE px."""
    sel = studio.tools.selection
    if use_selection and sel:
        x, y, w, h = sel
    else:
        x0, y0, x1, y1 = studio.canvas.view.world_rect(studio.canvas.size)
        x, y, w, h = math.floor(x0), math.floor(y0), math.ceil(x1 - x0), math.ceil(y1 - y0)
    if w < 8 or h < 8:
        return None
    cw, ch = min(w, MAX_LIVE_SIDE), min(h, MAX_LIVE_SIDE)
    return (int(x + (w - cw) // 2), int(y + (h - ch) // 2), int(cw), int(ch))


class SpectrumWidget:
    def __init__(self, studio):
        self.studio = studio
        self.live = True
        self.use_selection = True
        self.beta = 8.0
        self.db_range = 50.0
        self.luminance = False
        self.tiles = 16
        self.data = ""
        self.export_path = "spectrum.npz"
        self.defaults = dict(live=True, use_selection=True, beta=8.0, db_range=50.0, luminance=False,
                             tiles=16)
        self.fft_image = PanelImage(studio)
        self.avg_image = PanelImage(studio)
        self.pixels: np.ndarray | None = None  # the last live region's pixels
        self.spectra: dict = {}  # label -> AverageSpectrum
        self.names: dict[str, str] = {}  # label -> what it is (the model's name, the dataset)
        self._key = None
        self._job = None
        self._avg_job = None
        self._last = 0.0

    # -- live FFT -------------------------------------------------------------------------------
    def _live(self) -> None:
        s = self.studio
        rect = live_rect(s, self.use_selection) if s.world is not None else None
        settings = (self.beta, self.db_range, self.luminance)
        key = (rect, s.world, s.world.revision if s.world else None)
        if rect is None or (self._job is not None and not self._job.done.is_set()):
            return
        if key != self._key and time.perf_counter() - self._last > 0.25:  # at most 4 renders a second
            self._key, self._last = key, time.perf_counter()
            self._job = s.jobs.start("live FFT", lambda job: view_pixels(s, rect), on_done=self._got_pixels)
        elif self.pixels is not None and settings != getattr(self, "_shown", None):
            self._refresh()

    def _got_pixels(self, pixels: np.ndarray) -> None:
        self.pixels = pixels
        self._refresh()

    def _refresh(self) -> None:
        from infiniscape.renderer.analysis.spectrum import spectrum_image

        self._shown = (self.beta, self.db_range, self.luminance)
        mode = "luminance" if self.luminance else "all"
        fft = spectrum_image(self.pixels, self.beta, self.db_range, mode)
        gap = np.full((fft.shape[0], 4, 3), 30, np.uint8)
        self.fft_image.set(np.concatenate([self.pixels, gap, fft], axis=1))

    # -- average spectra ------------------------------------------------------------------------
    def start_average(self) -> None:
        from infiniscape.renderer.analysis import average as avg

        s = self.studio
        world, n, data, beta = s.world, int(self.tiles), self.data.strip(), float(self.beta)

        def work(job):
            images = list(_counting(avg.world_tiles(world, avg.sample_tiles(n, seed=0)), job))
            dataset = None
            if data:
                from infiniscape.train.dataset import open_dataset

                dataset = open_dataset(data, world.tile_size)
                real = [np.asarray(dataset[i]) for i in range(min(n, len(dataset)))]
                mean, std = avg.image_moments(real)
            else:
                mean, std = avg.image_moments(images)
            out = {"model": avg.average_spectrum(images, mean, max(std, 1e-6), beta, 4)}
            if dataset is not None:
                out["data"] = avg.average_spectrum(real, mean, max(std, 1e-6), beta, 4)
            return out

        self.names = {"model": s.model_name, "data": data}
        self._avg_job = s.jobs.start(f"average spectrum of {n} tiles", work, total=n,
                                     on_done=self._got_average)

    def _got_average(self, spectra: dict) -> None:
        from infiniscape.renderer.analysis.spectrum import colorize

        self.spectra = spectra
        maps = [colorize(sp.heatmap_db(), -40, 20) for sp in spectra.values()]
        gap = np.full((maps[0].shape[0], 4, 3), 30, np.uint8)
        row = [m for pair in zip(maps, [gap] * len(maps), strict=True) for m in pair][:-1]
        self.avg_image.set(np.concatenate(row, axis=1))
        self.studio.report(f"average spectrum of {next(iter(spectra.values())).count} tiles ready")

    def export(self) -> None:
        from infiniscape.renderer.analysis.average import heatmap_png, save_npz

        path = save_npz(self.export_path, self.spectra)
        png = heatmap_png(path.with_suffix(".png"), self.spectra, names=self.names)
        self.studio.report(f"saved {path} and {png}")

    # -- drawing --------------------------------------------------------------------------------
    def __call__(self, show: bool = True) -> None:
        s = self.studio
        if self.live and show:
            self._live()
        if not show:
            return
        em = imgui.get_font_size()
        imgui.begin_disabled(s.world is None)
        _, self.live = imgui.checkbox("Live FFT", self.live)
        imgui.same_line()
        _, self.use_selection = imgui.checkbox("of the selection", self.use_selection)
        imgui.same_line()
        _, self.luminance = imgui.checkbox("Luminance", self.luminance)
        imgui.set_next_item_width(em * 8)
        _, self.beta = imgui.slider_float("Kaiser beta", self.beta, 0.0, 50.0, "%.1f")
        imgui.same_line()
        imgui.set_next_item_width(em * 6)
        _, self.db_range = imgui.slider_float("dB +/-", self.db_range, 0.1, 100.0, "%.0f")
        if self.fft_image.rgb is not None:
            imgui.text_disabled("the region | its power spectrum, zero frequency at the centre")
            self.fft_image.draw(imgui.get_content_region_avail().x)
            colour_bar(-self.db_range, self.db_range, "dB around the mean power")
        imgui.separator()
        imgui.set_next_item_width(em * 5)
        _, self.tiles = imgui.input_int("tiles", self.tiles)
        self.tiles = max(1, min(self.tiles, 4096))
        imgui.same_line()
        imgui.set_next_item_width(-em * 7)
        _, self.data = imgui.input_text_with_hint("##data", "dataset (optional)", self.data)
        imgui.same_line()
        busy = self._avg_job is not None and not self._avg_job.done.is_set()
        imgui.begin_disabled(busy)
        if imgui.button("Average"):
            self.start_average()
        imgui.end_disabled()
        if busy:
            imgui.text_disabled(f"averaging ... {self._avg_job.progress_text()}")
        imgui.end_disabled()
        if self.spectra:
            self._plots(em)
        if imgui.button("Reset##spectrum"):
            for k, v in self.defaults.items():
                setattr(self, k, v)

    def label(self, key: str) -> str:
        """Legend text: "model: landscape", "data: procedural"."""
        name = self.names.get(key)
        return f"{key}: {name}" if name else key

    def _plots(self, em: float) -> None:
        imgui.text(" | ".join(self.label(k) for k in self.spectra) + " (average spectra, whitened)")
        self.avg_image.draw(imgui.get_content_region_avail().x)
        colour_bar(-40.0, 20.0, "dB")
        auto = implot.AxisFlags_.auto_fit
        for title, fx, fy in (("0-degree slice (horizontal)", "freqs0", "slice0"),
                              ("45-degree slice (diagonal)", "freqs45", "slice45"),
                              ("radial profile (mean over rings)", None, None)):
            if implot.begin_plot(f"{title}##spec", imgui.ImVec2(-1, em * 13)):
                implot.setup_axes("frequency (cycles / image)", "power (dB)", auto, auto)
                implot.setup_legend(implot.Location_.north_east)
                for key, sp in self.spectra.items():
                    if fx is None:
                        f, db = sp.radial()
                    else:
                        sl = sp.slices()
                        f, db = sl[fx], sl[fy]
                    implot.plot_line(self.label(key), np.ascontiguousarray(f), np.ascontiguousarray(db))
                implot.end_plot()
        imgui.set_next_item_width(-em * 5)
        _, self.export_path = imgui.input_text("##spec_export", self.export_path)
        imgui.same_line()
        if imgui.button("Export##spec"):
            self.studio._guard(self.export, "export spectrum")


def colour_bar(lo: float, hi: float, unit: str, steps: int = 48) -> None:
    """The heatmaps' colour scale as a strip under them, with its end values and unit."""
    from infiniscape.renderer.analysis.spectrum import colorize

    em, width = imgui.get_font_size(), imgui.get_content_region_avail().x
    p = imgui.get_cursor_screen_pos()
    dl = imgui.get_window_draw_list()
    cols = colorize(np.linspace(lo, hi, steps), lo, hi)
    w = width / steps
    for i, (r, g, b) in enumerate(cols.tolist()):
        a, b2 = imgui.ImVec2(p.x + i * w, p.y), imgui.ImVec2(p.x + (i + 1) * w + 1, p.y + em * 0.6)
        dl.add_rect_filled(a, b2, imgui.IM_COL32(r, g, b, 255))
    imgui.dummy(imgui.ImVec2(width, em * 0.6))
    imgui.text_disabled(f"{lo:g}")
    mid = f"{(lo + hi) / 2:g} {unit}"
    imgui.same_line(max(0.0, (width - imgui.calc_text_size(mid).x) / 2))
    imgui.text_disabled(mid)
    imgui.same_line(max(0.0, width - imgui.calc_text_size(f"{hi:g}").x))
    imgui.text_disabled(f"{hi:g}")


def _counting(it, job):
    for x in it:
        job.advance(1)
        yield x
