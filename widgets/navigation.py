"""Navigation panel: where the view is, go to a world point, zoom presets, reset, tile grid."""

from __future__ import annotations

from imgui_bundle import imgui


class NavigationWidget:
    def __init__(self, studio):
        self.studio = studio
        self.goto = [0, 0]
        self.show_grid = False
        self.defaults = dict(goto=[0, 0], show_grid=False)

    def __call__(self, show: bool = True) -> None:
        s = self.studio
        if show:
            v, size = s.canvas.view, s.canvas.size
            cx, cy = v.x + size[0] / 2 / v.zoom, v.y + size[1] / 2 / v.zoom
            imgui.text(f"centre ({cx:.0f}, {cy:.0f})   zoom {v.zoom:.3g}x")
            x0, y0, x1, y1 = v.world_rect(size)
            imgui.text_disabled(f"visible {x1 - x0:.0f} x {y1 - y0:.0f} px, "
                                f"{len(s.canvas.visible)} tiles")
            imgui.set_next_item_width(imgui.get_font_size() * 10)
            entered, self.goto = imgui.input_int2("##goto", self.goto,
                                                  imgui.InputTextFlags_.enter_returns_true)
            imgui.same_line()
            if imgui.button("Go to") or entered:
                s.intents.goto = (float(self.goto[0]), float(self.goto[1]))
            for z in (0.125, 0.25, 0.5, 1, 2, 4, 8):
                if imgui.button(f"{z:g}x" if z >= 1 else f"1/{round(1 / z)}x"):
                    s.intents.zoom = float(z)
                imgui.same_line()
            imgui.new_line()
            if imgui.button("Reset view"):
                s.intents.reset_view = True
                self.goto = list(self.defaults["goto"])
            imgui.same_line()
            _, self.show_grid = imgui.checkbox("Tile grid", self.show_grid)
            imgui.text_disabled("drag / arrows / WASD: pan   wheel: zoom")
        s.intents.show_grid = self.show_grid
