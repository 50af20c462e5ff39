"""Navigation panel: where the view is, an overview map of the visited area (click to jump), go to a
world point, zoom presets, reset, tile grid."""

from __future__ import annotations

from imgui_bundle import imgui

from infiniscape.overview import OverviewMap, fit_rect, map_area

COL = imgui.IM_COL32


class NavigationWidget:
    def __init__(self, studio):
        self.studio = studio
        self.goto = [0, 0]
        self.show_grid = False
        self.defaults = dict(goto=[0, 0], show_grid=False)
        self.map = OverviewMap(studio.pool.gl)
        self.map_rect: tuple[float, float, float, float] | None = None  # world box the map shows
        self.map_box: tuple[float, float, float, float] | None = None

    def __call__(self, show: bool = True) -> None:
        s = self.studio
        if show:
            v, size = s.canvas.view, s.canvas.size
            imgui.text(self.readout())
            x0, y0, x1, y1 = v.world_rect(size)
            imgui.text_disabled(f"visible {x1 - x0:.0f} x {y1 - y0:.0f} px, "
                                f"{len(s.canvas.visible)} tiles")
            self._overview()
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

    def readout(self) -> str:
        """Where the view is: its centre in whole world px and its zoom."""
        v, size = self.studio.canvas.view, self.studio.canvas.size
        cx, cy = v.x + size[0] / 2 / v.zoom, v.y + size[1] / 2 / v.zoom
        return f"centre ({_whole(cx)}, {_whole(cy)})   zoom {v.zoom:.3g}x"

    def _overview(self) -> None:
        """The visited area from the coarse mosaic, the view as a white box; click or drag to go there."""
        s = self.studio
        if s.visited is None:
            return
        w, h = imgui.get_content_region_avail().x, imgui.get_font_size() * 5
        p0 = imgui.get_cursor_screen_pos()
        self.map_box = (p0.x, p0.y, w, h)  # where the map is on screen (tests click it)
        imgui.invisible_button("##overview", imgui.ImVec2(max(1.0, w), h))
        if imgui.is_item_active():
            # the map keeps its framing while dragged, so the point under the mouse stays put
            x0, y0, x1, y1 = self.map_rect
            m = imgui.get_io().mouse_pos
            fx, fy = (m.x - p0.x) / max(w, 1.0), (m.y - p0.y) / h
            s.intents.goto = (x0 + fx * (x1 - x0), y0 + fy * (y1 - y0))
        else:
            view = s.canvas.view.world_rect(s.canvas.size)
            want = fit_rect(map_area(s.visited, view), w, h)
            if self.map_rect is None or _refit(self.map_rect, want, view):
                self.map_rect = want  # else the framing holds still: no recomposing while panning
        x0, y0, x1, y1 = self.map_rect
        self.map.update(s.canvas.mosaic, self.map_rect, w, h)
        dl = imgui.get_window_draw_list()
        p1 = imgui.ImVec2(p0.x + w, p0.y + h)
        if self.map.tex is not None:
            dl.add_image(imgui.ImTextureRef(self.map.tex), p0, p1)
        sx, sy = w / (x1 - x0), h / (y1 - y0)
        vx0, vy0, vx1, vy1 = s.canvas.view.world_rect(s.canvas.size)
        dl.push_clip_rect(p0, p1, True)
        a = imgui.ImVec2(p0.x + (vx0 - x0) * sx, p0.y + (vy0 - y0) * sy)
        b = imgui.ImVec2(max(a.x + 2, p0.x + (vx1 - x0) * sx), max(a.y + 2, p0.y + (vy1 - y0) * sy))
        dl.add_rect(a, b, COL(0, 0, 0, 200), 0.0, 3.0)
        dl.add_rect(a, b, COL(255, 255, 255, 255), 0.0, 1.5)
        dl.pop_clip_rect()
        dl.add_rect(p0, p1, COL(90, 90, 100, 255))
        imgui.set_item_tooltip("visited area: click or drag to move the view there")


def _whole(value: float) -> str:
    """A coordinate to the nearest whole px, never "-0"."""
    return str(round(value))  # an int: no negative zero


def _refit(current, want, view, tolerance: float = 1.25) -> bool:
    """Whether the map must be framed anew: the view left it, or the wanted scale moved by more than
    ``tolerance`` (the visited area grew, or a jump made the old framing far too wide)."""
    inside = (current[0] <= view[0] and view[2] <= current[2]
              and current[1] <= view[1] and view[3] <= current[3])
    rw = (current[2] - current[0]) / max(want[2] - want[0], 1e-9)
    rh = (current[3] - current[1]) / max(want[3] - want[1], 1e-9)
    same_aspect = abs(rw / rh - 1) < 1e-6  # the map widget kept its shape
    return not inside or not same_aspect or not 1 / tolerance <= rw <= tolerance
