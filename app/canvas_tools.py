"""Tools on the canvas: select a region, select a statistics region, place / move / delete style anchors.

Tools only write intents (edit actions) and their own selection state; the studio applies them."""

from __future__ import annotations

import math

from imgui_bundle import imgui

from .intents import Intents

COL = imgui.IM_COL32
SELECTION = COL(255, 210, 60, 255)
STATS = COL(80, 170, 255, 255)
ANCHOR = COL(255, 90, 200, 255)
PICK = COL(120, 255, 140, 255)
ANCHOR_HIT_PX = 9.0  # how close (screen px) a click must be to grab an anchor
TOOLS = ("pan", "select", "stats", "anchor", "pick")


def _rect(a, b) -> tuple[int, int, int, int] | None:
    """Integer world rectangle (x, y, w, h) spanned by two world points, None if empty."""
    x0, x1 = sorted((math.floor(a[0]), math.floor(b[0])))
    y0, y1 = sorted((math.floor(a[1]), math.floor(b[1])))
    w, h = x1 - x0, y1 - y0
    return (x0, y0, w, h) if w >= 1 and h >= 1 else None


class CanvasTools:
    """State of the canvas tools; ``handle`` reads the mouse, ``draw`` overlays the result."""

    def __init__(self):
        self.tool = "pan"
        self.selection: tuple[int, int, int, int] | None = None
        self.stats_rect: tuple[int, int, int, int] | None = None
        self.pick_point: tuple[float, float] | None = None  # where a picked style comes from
        self.anchor_seed = 1
        self.use_pick = False
        self.anchors: list[tuple[float, float]] = []  # world positions, refreshed by the studio
        self.fusion = None  # the world's FusionParams (how far anchors reach), refreshed by the studio
        self.reaches: list = []  # each anchor's own FusionParams (its radius and blur), likewise
        self.show_reach = True  # outline every anchor's reach (the Styles panel's checkbox)
        self.intents = Intents()
        self._start: tuple[float, float] | None = None
        self._grab: int | None = None  # index of the anchor being dragged
        self._grab_to: tuple[float, float] | None = None
        self._moved = False

    def handle(self, canvas, hovered: bool, active: bool) -> bool:
        """Consume the left button for the current tool; True if the canvas must not pan with it."""
        io = imgui.get_io()
        right_click = hovered and imgui.is_mouse_clicked(imgui.MouseButton_.right)
        if self.tool in ("anchor", "pick") and right_click:
            hit = self._anchor_at(canvas, io.mouse_pos)
            if hit is not None:
                from infiniscape.renderer.edits import RemoveAnchor

                self.intents.apply = RemoveAnchor(hit)
        if self.tool == "pan":
            return False
        world = canvas.view.to_world(io.mouse_pos.x, io.mouse_pos.y, canvas.origin)
        if hovered and imgui.is_mouse_clicked(imgui.MouseButton_.left):
            self._start, self._moved = world, False
            if self.tool == "anchor":
                self._grab = self._anchor_at(canvas, io.mouse_pos)
                self._grab_to = None
        if self._start is None:
            return True
        if active and io.mouse_down[0]:
            if io.mouse_delta.x or io.mouse_delta.y:
                self._moved = True
            if self.tool == "select":
                self.selection = _rect(self._start, world) or self.selection
            elif self.tool == "stats":
                self.stats_rect = _rect(self._start, world) or self.stats_rect
            elif self.tool == "anchor" and self._grab is not None and self._moved:
                self._grab_to = world
        if imgui.is_mouse_released(imgui.MouseButton_.left):
            self._release(world)
        return True

    def _release(self, world) -> None:
        from infiniscape.renderer.edits import AddAnchor, MoveAnchor

        start, self._start = self._start, None
        if self.tool == "select" and _rect(start, world) is None:
            self.selection = None  # a click without a drag clears the selection
        elif self.tool == "stats" and _rect(start, world) is None:
            self.stats_rect = None
        elif self.tool == "pick":
            self.pick_point, self.use_pick, self.tool = world, True, "anchor"
        elif self.tool == "anchor":
            if self._grab is not None:
                if self._grab_to is not None:
                    self.intents.apply = MoveAnchor(self._grab, (round(world[0]), round(world[1])))
            else:
                at = (round(world[0]), round(world[1]))
                if self.use_pick and self.pick_point is not None:
                    pick = (round(self.pick_point[0]), round(self.pick_point[1]))
                    self.intents.apply = AddAnchor(at, pick=pick)
                else:
                    self.intents.apply = AddAnchor(at, seed=int(self.anchor_seed))
        self._grab, self._grab_to = None, None

    def _anchor_at(self, canvas, mouse) -> int | None:
        best, best_d = None, ANCHOR_HIT_PX
        for i, at in enumerate(self.anchors):
            sx, sy = canvas.view.to_screen(at[0], at[1], canvas.origin)
            d = math.hypot(sx - mouse.x, sy - mouse.y)
            if d <= best_d:
                best, best_d = i, d
        return best

    def draw(self, canvas, dl) -> None:
        v, o = canvas.view, canvas.origin

        def box(rect, col, label):
            x, y, w, h = rect
            a, b = v.to_screen(x, y, o), v.to_screen(x + w, y + h, o)
            dl.add_rect(imgui.ImVec2(*a), imgui.ImVec2(*b), COL(0, 0, 0, 200), 0.0, 3.0)
            dl.add_rect(imgui.ImVec2(*a), imgui.ImVec2(*b), col, 0.0, 1.5)
            dl.add_text(imgui.ImVec2(a[0] + 3, a[1] + 2), col, f"{label} {w}x{h}")

        if self.selection:
            box(self.selection, SELECTION, "selection")
        if self.stats_rect:
            box(self.stats_rect, STATS, "stats")
        self._draw_reaches(canvas, dl)
        r = 6.0
        for i, at in enumerate(self.anchors):
            pos = self._grab_to if (i == self._grab and self._grab_to) else at
            sx, sy = v.to_screen(pos[0], pos[1], o)
            dl.add_circle_filled(imgui.ImVec2(sx, sy), r + 2, COL(0, 0, 0, 200))
            dl.add_circle_filled(imgui.ImVec2(sx, sy), r, ANCHOR)
            dl.add_text(imgui.ImVec2(sx + r + 3, sy - r), ANCHOR, str(i))
        if self.pick_point is not None and self.use_pick:
            sx, sy = v.to_screen(self.pick_point[0], self.pick_point[1], o)
            dl.add_circle(imgui.ImVec2(sx, sy), r + 2, PICK, 0, 2.0)

    def reach_outlines(self, canvas) -> list[tuple[tuple[float, float], bool, object]]:
        """World points whose reach to outline, each with whether it is being placed or dragged and
        its FusionParams: every anchor while ``show_reach`` or an anchor tool is on, and the cursor
        while placing."""
        if self.fusion is None:
            return []
        placing = self.tool in ("anchor", "pick")
        out = []
        for i, at in enumerate(self.anchors):
            reach = self.reaches[i] if i < len(self.reaches) else self.fusion
            if i == self._grab and self._grab_to is not None:
                out.append((self._grab_to, True, reach))
            elif self.show_reach or placing:
                out.append((at, False, reach))
        if self.tool == "anchor" and self._grab is None and canvas.hover_world is not None:
            out.append((canvas.hover_world, True, self.fusion))  # where a click would put one
        return out

    def _draw_reaches(self, canvas, dl) -> None:
        """Full style inside the inner line, the world's own outside the outer one, the blend between."""
        v, o = canvas.view, canvas.origin
        for at, live, f in self.reach_outlines(canvas):
            alpha = 230 if live else 120
            edge, fade = COL(255, 90, 200, alpha), COL(255, 90, 200, alpha // 2)
            sx, sy = v.to_screen(at[0], at[1], o)
            rings = ((f.radius, edge, 2.0), (max(0.0, f.radius - f.blur_width / 2), fade, 1.0),
                     (f.radius + f.blur_width / 2, fade, 1.0))
            for radius, col, thick in rings:
                if radius <= 0:
                    continue
                rs = radius * v.zoom
                if f.shape == "band":
                    top, bottom = sy - f.band * v.zoom, sy + f.band * v.zoom
                    for x in (sx - rs, sx + rs):
                        dl.add_line(imgui.ImVec2(x, top), imgui.ImVec2(x, bottom), col, thick)
                else:
                    dl.add_circle(imgui.ImVec2(sx, sy), rs, col, 0, thick)
            if live:
                label = f"reach {f.shape} r {f.radius} blur {f.blur_width}"
                dl.add_text(imgui.ImVec2(sx + 10, sy + 8), edge, label)
