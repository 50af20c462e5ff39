"""Edit panel: canvas tool, region resample (field, seed, statistics region, feather), undo history."""

from __future__ import annotations

from imgui_bundle import imgui

from infiniscape import intents

from . import ui

FIELDS = ("local", "style", "noise")


class EditWidget:
    def __init__(self, studio):
        self.studio = studio
        ui.settings(self, field=0, seed=1, feather=8, use_stats=False)

    def resample_action(self):
        """The Resample the panel would issue now, or None without a selection."""
        tools = self.studio.tools
        if tools.selection is None:
            return None
        stats = tools.stats_rect if self.use_stats else None
        return intents.resample(FIELDS[self.field], tools.selection, self.seed, stats, self.feather)

    def __call__(self, show: bool = True) -> None:
        s = self.studio
        if not show:
            return
        tools = s.tools
        for name, label in (("pan", "Pan"), ("select", "Select"), ("stats", "Stats region")):
            if imgui.radio_button(label, tools.tool == name):
                tools.tool = name
            imgui.same_line()
        imgui.new_line()
        sel = tools.selection
        imgui.text(f"selection: {sel[2]}x{sel[3]} at ({sel[0]}, {sel[1]})" if sel else
                   "selection: none (Select tool, drag on the canvas)")
        em = imgui.get_font_size()
        imgui.set_next_item_width(em * 6)
        _, self.field = imgui.combo("field", self.field, FIELDS)
        imgui.same_line()
        imgui.set_next_item_width(em * 7)
        _, self.seed = imgui.input_int("seed", self.seed)
        imgui.same_line()
        if imgui.button("Next"):
            self.seed += 1
        imgui.set_next_item_width(em * 8)
        _, self.feather = imgui.slider_int("feather px", self.feather, 0, 64)
        imgui.begin_disabled(tools.stats_rect is None)
        has_stats = tools.stats_rect is not None
        _, self.use_stats = imgui.checkbox("match statistics region", self.use_stats and has_stats)
        imgui.end_disabled()
        imgui.begin_disabled(sel is None or s.world is None)
        if imgui.button("Resample (R)") or (sel and ui.key_pressed(imgui.Key.r)):
            s.intents.apply = self.resample_action()
            self.seed += 1  # the next press gives another variation
        imgui.end_disabled()
        imgui.same_line()
        ui.reset_button(self, "edit")
        self._history()

    def _history(self) -> None:
        s = self.studio
        w = s.world
        imgui.separator()
        imgui.begin_disabled(w is None or not w.can_undo)
        if imgui.button("Undo (Ctrl+Z)"):
            s.intents.undo = True
        imgui.end_disabled()
        imgui.same_line()
        imgui.begin_disabled(w is None or not w.can_redo)
        if imgui.button("Redo (Ctrl+Y)"):
            s.intents.redo = True
        imgui.end_disabled()
        if w is None:
            return
        em = imgui.get_font_size()
        if imgui.begin_list_box("##history", imgui.ImVec2(-1, em * 6)):
            entries = ["(unedited scene)"] + list(w.history)
            for i, line in enumerate(entries):
                done = i <= w.history_position
                label = f"{i}. {line}##h{i}" if done else f"   {line}##h{i}"
                if imgui.selectable(label, i == w.history_position)[0] and i != w.history_position:
                    s.intents.jump = i
            imgui.end_list_box()
