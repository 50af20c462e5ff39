"""Layers panel: every layer of the generator for the tile under the cursor, one channel or three as
RGB, normalised, scaled in dB, with its FFT."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui

from .spectrum_widget import PanelImage, colour_bar


class LayersWidget:
    def __init__(self, studio):
        self.studio = studio
        self.follow = True  # capture the tile under the cursor (else the one at the view centre)
        self.selected = "output"
        self.channel = 0
        self.rgb = True
        self.normalize = True
        self.gain_db = 0.0
        self.fft = False
        self.fft_all = True
        self.beta = 8.0
        self.db_range = 50.0
        self.defaults = dict(selected="output", channel=0, rgb=True, normalize=True, gain_db=0.0, fft=False,
                             fft_all=True, beta=8.0, db_range=50.0)
        self.layers: list = []
        self.tile = None
        self.image = PanelImage(studio)
        self._job = None
        self._shown = None

    def _target_tile(self):
        from infiniscape.models.contract import Tile

        s = self.studio
        c = s.canvas
        if self.follow and c.hover_world is not None:
            wx, wy = c.hover_world
        else:
            x0, y0, x1, y1 = c.view.world_rect(c.size)
            wx, wy = (x0 + x1) / 2, (y0 + y1) / 2
        t = s.world.tile_size
        return Tile(math.floor(wx / t), math.floor(wy / t))

    def _capture(self) -> None:
        from infiniscape.renderer.analysis.layers import capture_layers

        s = self.studio
        if s.world is None or (self._job is not None and not self._job.done.is_set()):
            return
        tile = self._target_tile()
        key = (tile, s.world, s.world.revision)
        if key == self.tile:
            return
        self.tile = key
        world = s.world
        self._job = s.jobs.start(f"layers of tile {tile.ix},{tile.iy}",
                                 lambda job: capture_layers(world, tile), on_done=self._got_layers)

    def _got_layers(self, layers) -> None:
        self.layers = layers
        self._shown = None

    def current(self):
        for layer in self.layers:
            if layer.name == self.selected:
                return layer
        return self.layers[-1] if self.layers else None

    def _refresh(self, layer) -> None:
        from infiniscape.renderer.analysis.layers import layer_image, layer_spectrum

        settings = (id(layer), self.channel, self.rgb, self.normalize, self.gain_db, self.fft, self.fft_all,
                    self.beta, self.db_range)
        if settings == self._shown:
            return
        self._shown = settings
        img = layer_image(layer.data, self.channel, self.rgb, self.normalize, self.gain_db)
        if self.fft:
            spec = layer_spectrum(layer.data, self.channel, self.rgb, self.fft_all, self.beta, self.db_range)
            img = np.concatenate([img, np.full((img.shape[0], 2, 3), 30, np.uint8), spec], axis=1)
        self.image.set(img)

    def __call__(self, show: bool = True) -> None:
        if not show:
            return
        s = self.studio
        em = imgui.get_font_size()
        can_capture = s.model_info.get("capabilities", {}).get("layer_capture", True)
        imgui.begin_disabled(s.world is None or not can_capture)
        _, self.follow = imgui.checkbox("Tile under the cursor", self.follow)
        self._capture()
        if self.tile:
            imgui.same_line()
            imgui.text_disabled(f"tile ({self.tile[0].ix}, {self.tile[0].iy})")
        if imgui.begin_list_box("##layers", imgui.ImVec2(-1, em * 7)):
            for layer in self.layers:
                if imgui.selectable(layer.describe(), layer.name == self.selected)[0]:
                    self.selected = layer.name
            imgui.end_list_box()
        layer = self.current()
        if layer is not None:
            n = layer.shape[0]
            _, self.rgb = imgui.checkbox("RGB", self.rgb)
            imgui.same_line()
            _, self.normalize = imgui.checkbox("Normalize", self.normalize)
            imgui.same_line()
            imgui.set_next_item_width(em * 6)
            _, self.channel = imgui.slider_int("channel", self.channel, 0, max(0, n - 1))
            imgui.set_next_item_width(em * 8)
            _, self.gain_db = imgui.slider_float("Scale dB", self.gain_db, -40.0, 40.0, "%.1f")
            _, self.fft = imgui.checkbox("FFT", self.fft)
            if self.fft:
                imgui.same_line()
                _, self.fft_all = imgui.checkbox("All channels", self.fft_all)
                imgui.set_next_item_width(em * 6)
                _, self.db_range = imgui.slider_float("Range dB", self.db_range, 0.1, 100.0, "%.0f")
                imgui.same_line()
                imgui.set_next_item_width(em * 6)
                _, self.beta = imgui.slider_float("Kaiser beta", self.beta, 0.0, 50.0, "%.1f")
            self._refresh(layer)
            if self.fft:
                imgui.text_disabled("the layer | its power spectrum, zero frequency at the centre")
            self.image.draw(imgui.get_content_region_avail().x)
            if self.fft:
                colour_bar(-self.db_range, self.db_range, "dB around the mean power")
            from infiniscape.renderer.analysis.layers import layer_stats

            st = layer_stats(layer.data, self.channel, self.rgb)
            imgui.text_disabled("  ".join(f"{k} {a:.3f}/{b:.3f}" for k, (a, b) in st.items())
                                + "  (all/shown)")
        if imgui.button("Reset##layers"):
            for k, v in self.defaults.items():
                setattr(self, k, v)
        imgui.end_disabled()
