"""Place image panel: put a real image on the canvas by inversion. Choose a file, select where it goes
on the canvas (Select tool: the rectangle's size is the image's size in the world), Place; the fit runs
in the background with its loss curve and a live preview, and ends as one history entry (undo removes
it). The world continues the image beyond the rectangle."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui, implot

from infiniscape.gl_textures import PanelImage


class PlaceImageWidget:
    def __init__(self, studio):
        self.studio = studio
        self.path = ""
        self.steps = 200
        self.preview = PanelImage(studio.pool.gl)
        self._shown = None  # the preview array last uploaded
        self.hits: dict[str, tuple[float, float]] = {}  # button centres of the last frame (tests click them)

    def __call__(self, show: bool = True) -> None:
        s = self.studio
        if not show:
            return
        em = imgui.get_font_size()
        imgui.set_next_item_width(-em * 4)
        _, self.path = imgui.input_text("image##place", self.path)
        imgui.set_next_item_width(em * 10)
        _, self.steps = imgui.slider_int("steps##place", self.steps, 20, 600)
        sel = s.tools.selection
        invertible = s.world is not None and s.world.model.capabilities.inversion
        placing = s.placing
        if sel is None:
            imgui.text_disabled("select where the image goes (Select tool, drag on the canvas)")
        elif not invertible and s.world is not None:
            imgui.text_disabled(f"{s.world.model.family} models cannot be inverted")
        imgui.begin_disabled(sel is None or not invertible or not self.path.strip() or placing is not None)
        if imgui.button("Place in selection"):
            s.intents.place_image = (self.path.strip(), tuple(sel), int(self.steps))
        self._hit("Place")
        imgui.end_disabled()
        if placing is None:
            return
        imgui.same_line()
        if imgui.button("Cancel##place") and placing.job is not None:
            placing.job.cancelled.set()
        self._hit("Cancel")
        done = len(placing.losses)
        imgui.progress_bar(done / max(placing.steps, 1), imgui.ImVec2(-1, 0),
                           f"{placing.name}: step {done}/{placing.steps}")
        if placing.losses and implot.begin_plot("fit loss##place", imgui.ImVec2(-1, em * 8)):
            implot.setup_axes("step", "loss", implot.AxisFlags_.auto_fit, implot.AxisFlags_.auto_fit)
            implot.plot_line("loss", np.asarray(placing.losses, np.float64))
            implot.end_plot()
        if placing.preview is not None and placing.preview is not self._shown:
            self._shown = placing.preview
            self.preview.set(np.clip(np.round((placing.preview + 1) * 127.5), 0, 255).astype(np.uint8))
        if self._shown is not None:
            self.preview.draw(imgui.get_content_region_avail().x)

    def _hit(self, name: str) -> None:
        a, b = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        self.hits[name] = ((a.x + b.x) / 2, (a.y + b.y) / 2)
