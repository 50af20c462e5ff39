"""Styles panel: style anchors for fusion, from a seed or picked from the canvas; place, move, delete;
how far anchors reach (radius, blur, disk or vertical bands)."""

from __future__ import annotations

from imgui_bundle import imgui

from infiniscape import intents


class StylesWidget:
    def __init__(self, studio):
        self.studio = studio
        self.radius, self.blur = 256, 256  # the sliders; follow the world's fusion while not dragged
        self.own: dict[int, tuple[int, int]] = {}  # an anchor's radius and blur while being dragged

    def __call__(self, show: bool = True) -> None:
        if not show:
            return
        s, tools = self.studio, self.studio.tools
        self._reach()
        if imgui.radio_button("Anchor tool", tools.tool == "anchor"):
            tools.tool = "anchor"
        imgui.same_line()
        imgui.text_disabled("click: add   drag: move   right-click: delete")
        if imgui.radio_button("from seed", not tools.use_pick):
            tools.use_pick = False
        imgui.same_line()
        imgui.set_next_item_width(imgui.get_font_size() * 7)
        _, tools.anchor_seed = imgui.input_int("##anchor_seed", tools.anchor_seed)
        if imgui.radio_button("picked from canvas", tools.use_pick):
            tools.use_pick = tools.pick_point is not None
            if not tools.use_pick:
                tools.tool = "pick"
        imgui.same_line()
        if imgui.button("Pick..."):
            tools.tool = "pick"
        if tools.tool == "pick":
            imgui.same_line()
            imgui.text_colored(imgui.ImVec4(0.5, 1, 0.55, 1), "click the canvas")
        elif tools.pick_point is not None:
            imgui.same_line()
            imgui.text_disabled(f"({tools.pick_point[0]:.0f}, {tools.pick_point[1]:.0f})")
        anchors = s.world.anchors if s.world is not None else ()
        if not anchors:
            imgui.text_disabled("no style anchors: the model's own styles everywhere")
        fusion = s.world.scene.fusion if s.world is not None else None
        for i, a in enumerate(anchors):
            imgui.text(f"{i}: ({a.at[0]:.0f}, {a.at[1]:.0f}) {a.describe()}")
            imgui.same_line()
            if imgui.small_button(f"Go##a{i}"):
                s.intents.goto = (float(a.at[0]), float(a.at[1]))
            imgui.same_line()
            if imgui.small_button(f"Delete##a{i}"):
                s.intents.apply = intents.remove_anchor(i)
            self._own_reach(i, a, fusion.of(a))

    def _own_reach(self, i: int, anchor, reach) -> None:
        """This anchor's own radius and blur (an undoable edit when the drag is let go); Scene
        resets it to the scene's reach."""
        s, em = self.studio, imgui.get_font_size()
        imgui.indent(em)
        r, b = self.own.get(i, (reach.radius, reach.blur_width))
        imgui.set_next_item_width(em * 6)
        _, r = imgui.drag_int(f"radius##own{i}", r, 2.0, 0, 1 << 14)
        active, let_go = imgui.is_item_active(), imgui.is_item_deactivated_after_edit()
        imgui.same_line()
        imgui.set_next_item_width(em * 6)
        _, b = imgui.drag_int(f"blur##own{i}", b, 2.0, 0, 1 << 14)
        active, let_go = active or imgui.is_item_active(), let_go or imgui.is_item_deactivated_after_edit()
        if let_go:
            s.intents.apply = intents.anchor_reach(i, r, b)
        if active and not let_go:
            self.own[i] = (r, b)
        else:
            self.own.pop(i, None)
        if anchor.radius is not None or anchor.blur is not None:
            imgui.same_line()
            if imgui.small_button(f"Scene##own{i}"):
                s.intents.apply = intents.anchor_reach(i, None, None)
        imgui.unindent(em)

    def _reach(self) -> None:
        """Radius, blur and shape of every anchor's reach; a change applies when the slider is let go
        (each one redraws the canvas)."""
        from dataclasses import replace

        s, tools = self.studio, self.studio.tools
        f = s.world.scene.fusion if s.world is not None else None
        if f is None:
            return
        em = imgui.get_font_size()
        imgui.set_next_item_width(em * 9)
        _, self.radius = imgui.slider_int("radius px", self.radius, f.step, 2048,
                                          flags=imgui.SliderFlags_.logarithmic)
        radius_done = imgui.is_item_deactivated_after_edit()
        if not imgui.is_item_active() and not radius_done:
            self.radius = f.radius
        imgui.same_line()
        imgui.set_next_item_width(em * 7)
        _, self.blur = imgui.slider_int("blur px", self.blur, 0, 2 * max(self.radius, f.step))
        blur_done = imgui.is_item_deactivated_after_edit()
        if not imgui.is_item_active() and not blur_done:
            self.blur = f.blur_width
        want = None
        if radius_done:  # the blur stays in proportion to the radius
            scale = f.blur_width / max(f.radius, 1)
            want = replace(f, radius=self.radius, blur=None if f.blur is None else round(self.radius * scale))
        elif blur_done:
            want = replace(f, blur=self.blur)
        imgui.text("reach")
        imgui.same_line()
        if imgui.radio_button("disk", f.shape == "disk") and f.shape != "disk":
            want = replace(f, shape="disk")
        imgui.same_line()
        if imgui.radio_button("vertical bands", f.shape == "band") and f.shape != "band":
            want = replace(f, shape="band")
        imgui.set_item_tooltip("x distance only, as ALIS's anchors: a palette change across sky and ground "
                               "stays a band, not a disk")
        imgui.same_line()
        _, tools.show_reach = imgui.checkbox("outline", tools.show_reach)
        if want is not None:
            s.intents.fusion = want
