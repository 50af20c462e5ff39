"""Layers panel: every layer of the generator for the tile under the cursor, one channel or three as
RGB, normalised, scaled in dB, with its FFT (captured and pictured by app.analysis)."""

from __future__ import annotations

from imgui_bundle import imgui

from infiniscape.analysis_requests import Layers
from infiniscape.gl_textures import PanelImage

from . import ui


class LayersWidget:
    def __init__(self, studio):
        self.studio = studio
        self.follow = True  # capture the tile under the cursor (else the one at the view centre)
        ui.settings(self, selected="output", channel=0, rgb=True, normalize=True, gain_db=0.0, fft=False,
                    fft_all=True, beta=8.0, db_range=50.0)
        self.image = PanelImage(studio.pool.gl)
        self._shown = None  # the result the image shows

    def request(self) -> Layers:
        return Layers(self.follow, self.selected, int(self.channel), self.rgb, self.normalize, self.gain_db,
                      self.fft, self.fft_all, self.beta, self.db_range)

    def __call__(self, show: bool = True) -> None:
        if not show:
            return
        s = self.studio
        em = imgui.get_font_size()
        can_capture = s.model_info.get("capabilities", {}).get("layer_capture", True)
        shown = s.analysis.result(Layers.kind)
        view = shown.value if shown is not None else None
        with ui.disabled(s.world is None or not can_capture):
            self.follow = ui.checkbox("Tile under the cursor", self.follow)
            s.intents.analyse.append(self.request())
            if view is not None:
                imgui.same_line()
                imgui.text_disabled(f"tile ({view.tile.ix}, {view.tile.iy})")
            if imgui.begin_list_box("##layers", imgui.ImVec2(-1, em * 7)):
                for layer in view.layers if view is not None else ():
                    if imgui.selectable(layer.describe(), layer.name == self.selected)[0]:
                        self.selected = layer.name
                imgui.end_list_box()
            if view is not None and view.layer is not None:
                self._layer(view, shown)
            ui.reset_button(self, "layers")

    def _layer(self, view, shown) -> None:
        n = view.layer.shape[0]
        self.rgb = ui.checkbox("RGB", self.rgb)
        imgui.same_line()
        self.normalize = ui.checkbox("Normalize", self.normalize)
        imgui.same_line()
        self.channel = ui.slider_int("channel", self.channel, 0, max(0, n - 1), ems=6)
        self.gain_db = ui.slider_float("Scale dB", self.gain_db, -40.0, 40.0, "%.1f", ems=8)
        self.fft = ui.checkbox("FFT", self.fft)
        if self.fft:
            imgui.same_line()
            self.fft_all = ui.checkbox("All channels", self.fft_all)
            self.db_range = ui.slider_float("Range dB", self.db_range, 0.1, 100.0, "%.0f", ems=6)
            imgui.same_line()
            self.beta = ui.slider_float("Kaiser beta", self.beta, 0.0, 50.0, "%.1f", ems=6)
        if shown is not self._shown:
            self._shown = shown
            self.image.set(view.image)
        if self.fft:
            imgui.text_disabled("the layer | its power spectrum, zero frequency at the centre")
        self.image.draw(imgui.get_content_region_avail().x)
        if self.fft:
            ui.colour_bar(-self.db_range, self.db_range, "dB around the mean power")
        imgui.text_disabled("  ".join(f"{k} {a:.3f}/{b:.3f}" for k, (a, b) in view.stats.items())
                            + "  (all/shown)")
