"""Styles panel: style anchors for fusion, from a seed or picked from the canvas; place, move, delete."""

from __future__ import annotations

from imgui_bundle import imgui


class StylesWidget:
    def __init__(self, studio):
        self.studio = studio

    def __call__(self, show: bool = True) -> None:
        if not show:
            return
        s, tools = self.studio, self.studio.tools
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
        from ..renderer.edits import RemoveAnchor

        for i, a in enumerate(anchors):
            imgui.text(f"{i}: ({a.at[0]:.0f}, {a.at[1]:.0f}) {a.describe()}")
            imgui.same_line()
            if imgui.small_button(f"Go##a{i}"):
                s.intents.goto = (float(a.at[0]), float(a.at[1]))
            imgui.same_line()
            if imgui.small_button(f"Delete##a{i}"):
                s.intents.apply = RemoveAnchor(i)
