"""Capture panel: save the view at 1x/2x/4x, export a world rectangle at zoom 1 .. 1/8, save and
load the scene."""

from __future__ import annotations

from imgui_bundle import imgui

from infiniscape.intents import ZOOMS


class CaptureWidget:
    def __init__(self, studio):
        self.studio = studio
        self.view_path = "view.png"
        self.export_path = "export.png"
        self.rect = [0, 0, 1024, 1024]
        self.zoom = 0  # the export's level of detail: zoom ZOOMS[level]
        self.scene_path = "scene.yaml"
        # screen rectangles (x0, y0, x1, y1) of the last drawn controls, by name (tests click them)
        self.rects: dict[str, tuple[float, float, float, float]] = {}

    def __call__(self, show: bool = True) -> None:
        if not show:
            return
        s = self.studio
        em = imgui.get_font_size()
        imgui.set_next_item_width(-em * 10.5)
        _, self.view_path = imgui.input_text("##view_path", self.view_path)
        for scale in (1, 2, 4):
            imgui.same_line()
            if imgui.button(f"Save {scale}x"):
                s.intents.save_view = (self.view_path, scale)
        imgui.set_item_tooltip("the visible region at canvas size x 1, 2, 4 (native px when zoomed out)")
        sel = s.tools.selection
        if sel and imgui.button("Use selection"):
            self.rect = list(sel)
        if sel:
            imgui.same_line()
        if imgui.button("Use view"):
            x0, y0, x1, y1 = s.canvas.view.world_rect(s.canvas.size)
            self.rect = [int(x0), int(y0), max(1, int(x1 - x0)), max(1, int(y1 - y0))]
        imgui.same_line()
        if imgui.button("Visited area") and s.visited:
            x0, y0, x1, y1 = s.visited
            self.rect = [int(x0), int(y0), max(1, int(x1 - x0)), max(1, int(y1 - y0))]
        imgui.set_next_item_width(-1)
        _, self.rect = imgui.input_int4("##export_rect", self.rect)
        imgui.set_next_item_width(-em * 9.5)
        _, self.export_path = imgui.input_text("##export_path", self.export_path)
        imgui.same_line()
        self._zoom_combo(em * 4)
        imgui.same_line()
        if imgui.button("Export"):
            x, y, w, h = self.rect
            s.intents.export = ((int(x), int(y), max(1, int(w)), max(1, int(h))), self.export_path,
                                2.0 ** -self.zoom)
        self._hit("Export")
        imgui.set_next_item_width(-em * 8)
        _, self.scene_path = imgui.input_text("##scene_path", self.scene_path)
        imgui.same_line()
        if imgui.button("Save##scene"):
            s.intents.save_scene = self.scene_path
        imgui.same_line()
        if imgui.button("Load##scene"):
            s.intents.open_scene = self.scene_path
        for job in s.jobs.active():
            imgui.text_disabled(f"{job.name} ... {job.progress_text()}")

    def _zoom_combo(self, width: float) -> None:
        at = imgui.get_cursor_screen_pos()  # an open popup becomes the last item: note the combo first
        self.rects["zoom"] = (at.x, at.y, at.x + width, at.y + imgui.get_frame_height())
        imgui.set_next_item_width(width)
        if imgui.begin_combo("##export_zoom", ZOOMS[self.zoom]):
            for level, label in enumerate(ZOOMS):
                if imgui.selectable(label, level == self.zoom)[0]:
                    self.zoom = level
                self._hit(f"zoom {label}")
            imgui.end_combo()
        imgui.set_item_tooltip("export at zoom 1/Z: each pixel the mean colour of Z x Z world pixels, "
                               "from the model's own level of detail where it has one")

    def _hit(self, name: str) -> None:
        a, b = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        self.rects[name] = (a.x, a.y, b.x, b.y)
