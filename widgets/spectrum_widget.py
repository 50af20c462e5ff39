"""Spectrum panel: live FFT of the view or selection, average spectra of the world (and a dataset)
with 0/45-degree slices and the radial profile, export to .npz + .png. The studio's analysis runner
(app.analysis) computes them; the panel asks and draws."""

from __future__ import annotations

from imgui_bundle import imgui, implot

from infiniscape.analysis_requests import AverageSpectra, ExportSpectra, Spectrum
from infiniscape.gl_textures import PanelImage

from . import ui


class SpectrumWidget:
    def __init__(self, studio):
        self.studio = studio
        ui.settings(self, live=True, use_selection=True, beta=8.0, db_range=50.0, luminance=False, tiles=16)
        self.data = ""
        self.export_path = "spectrum.npz"
        self.fft_image = PanelImage(studio.pool.gl)
        self.avg_image = PanelImage(studio.pool.gl)
        self._shown: dict[str, object] = {}  # kind -> the result each image shows

    @property
    def spectra(self) -> dict:
        """label -> AverageSpectrum of the last average ({} before the first)."""
        avg = self.studio.analysis.result(AverageSpectra.kind)
        return avg.value.spectra if avg is not None else {}

    def _show(self, kind: str, image: PanelImage, picture) -> None:
        result = self.studio.analysis.result(kind)
        if result is not None and self._shown.get(kind) is not result:
            self._shown[kind] = result
            image.set(picture(result.value))

    def start_average(self) -> None:
        self.studio.intents.analyse.append(AverageSpectra(int(self.tiles), float(self.beta), self.data))

    def __call__(self, show: bool = True) -> None:
        s = self.studio
        if self.live and show:
            s.intents.analyse.append(Spectrum(self.use_selection, self.beta, self.db_range, self.luminance))
        if not show:
            return
        self._show(Spectrum.kind, self.fft_image, lambda strip: strip)
        self._show(AverageSpectra.kind, self.avg_image, lambda shown: shown.heatmaps)
        em = imgui.get_font_size()
        with ui.disabled(s.world is None):
            self.live = ui.checkbox("Live FFT", self.live)
            imgui.same_line()
            self.use_selection = ui.checkbox("of the selection", self.use_selection)
            imgui.same_line()
            self.luminance = ui.checkbox("Luminance", self.luminance)
            self.beta = ui.slider_float("Kaiser beta", self.beta, 0.0, 50.0, "%.1f", ems=8)
            imgui.same_line()
            self.db_range = ui.slider_float("dB +/-", self.db_range, 0.1, 100.0, "%.0f", ems=6)
            if self.fft_image.rgb is not None:
                imgui.text_disabled("the region | its power spectrum, zero frequency at the centre")
                self.fft_image.draw(imgui.get_content_region_avail().x)
                ui.colour_bar(-self.db_range, self.db_range, "dB around the mean power")
            imgui.separator()
            self.tiles = ui.input_int("tiles", self.tiles, ems=5, lo=1, hi=4096)
            imgui.same_line()
            ui.width(-7)
            _, self.data = imgui.input_text_with_hint("##data", "dataset (optional)", self.data)
            imgui.same_line()
            job = s.analysis.job(AverageSpectra.kind)
            busy = s.analysis.busy(AverageSpectra.kind)
            with ui.disabled(busy):
                if imgui.button("Average"):
                    self.start_average()
            if busy:
                imgui.text_disabled(f"averaging ... {job.progress_text()}")
        avg = s.analysis.result(AverageSpectra.kind)
        if avg is not None:
            self._plots(em, avg.value)
        ui.reset_button(self, "spectrum")

    def _plots(self, em: float, avg) -> None:
        def label(key: str) -> str:  # legend text: "model: landscape", "data: procedural"
            name = avg.names.get(key)
            return f"{key}: {name}" if name else key

        imgui.text(" | ".join(label(k) for k in avg.spectra) + " (average spectra, whitened)")
        self.avg_image.draw(imgui.get_content_region_avail().x)
        ui.colour_bar(-40.0, 20.0, "dB")
        auto = implot.AxisFlags_.auto_fit
        for title, curves in avg.plots:
            if implot.begin_plot(f"{title}##spec", imgui.ImVec2(-1, em * 13)):
                implot.setup_axes("frequency (cycles / image)", "power (dB)", auto, auto)
                implot.setup_legend(implot.Location_.north_east)
                for key, (f, db) in curves.items():
                    implot.plot_line(label(key), f, db)
                implot.end_plot()
        ui.width(-5)
        _, self.export_path = imgui.input_text("##spec_export", self.export_path)
        imgui.same_line()
        if imgui.button("Export##spec"):
            self.studio.intents.analyse.append(ExportSpectra(self.export_path))
