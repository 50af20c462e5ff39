"""Model panel: open a config or checkpoint (path field, file dialog, recent list); generation controls
(truncation, noise, class, style mixing, seed plane); model facts."""

from __future__ import annotations

from imgui_bundle import imgui

from .generation import GenerationControls


class ModelWidget:
    def __init__(self, studio):
        self.studio = studio
        self.path = studio.model_name
        self._dialog = None  # a portable_file_dialogs.open_file, polled each frame (never blocks)
        self.generation = GenerationControls(studio)  # truncation, noise, class, style mixing, seed plane

    def __call__(self, show: bool = True) -> None:
        s = self.studio
        self._poll_dialog()
        if not show:
            self.generation(show=False)  # still writes what it needs (a conditional net's class)
            return
        em = imgui.get_font_size()
        imgui.set_next_item_width(-em * 12)
        entered, self.path = imgui.input_text("##model_path", self.path,
                                              imgui.InputTextFlags_.enter_returns_true)
        imgui.same_line()
        if imgui.button("Open") or entered:
            s.intents.open_model = self.path.strip()
        imgui.same_line()
        if imgui.button("Browse..."):
            self._browse()
        imgui.same_line()
        if imgui.button("Recent..."):
            imgui.open_popup("recent_models")
        if imgui.begin_popup("recent_models"):
            for name in list(s.recent) + [n for n in s.builtin_models if n not in s.recent]:
                if imgui.selectable(name, name == s.model_name)[0]:
                    self.path = name
                    s.intents.open_model = name
            imgui.end_popup()
        if s.loading:
            imgui.text_disabled(f"loading {s.loading} ...")
        if s.load_error:  # one line; the field, Open and Recent above are the way on
            imgui.push_style_color(imgui.Col_.text, imgui.ImVec4(1.0, 0.45, 0.45, 1.0))
            imgui.text_wrapped(s.load_error)
            imgui.pop_style_color()
        info = s.model_info
        if not info:
            if not s.loading:
                imgui.text_disabled("no model loaded: type a path and Open, or pick one in Recent...")
            return
        imgui.text(f"{s.model_name}: {info.get('family', '?')}, {info.get('tile_size', '?')} px tiles")
        self.generation()
        if imgui.tree_node("details"):  # closed by default: the 800 px layout needs the room
            for key, value in info.items():
                if key not in ("family", "tile_size", "fields", "capabilities"):
                    imgui.text_disabled(f"{key}: {value}")
            for name, f in info.get("fields", {}).items():
                imgui.bullet_text(f"{name}: {f['group']}, {f['spacing']} px cells, {f['channels']} ch")
            caps = [k for k, v in info.get("capabilities", {}).items() if v is True]
            if caps:
                imgui.text_wrapped("can: " + ", ".join(caps))
            imgui.tree_pop()

    def _browse(self) -> None:
        try:
            from imgui_bundle import portable_file_dialogs as pfd

            self._dialog = pfd.open_file("Open model", "", ["Models", "*.pt *.pth *.pkl *.yaml *.yml",
                                                             "All files", "*"])
        except Exception as e:  # no zenity/kdialog: the path field still works
            self.studio.report(f"no file dialog available ({e}); type the path instead", error=True)

    def _poll_dialog(self) -> None:
        if self._dialog is None or not self._dialog.ready():
            return
        files, self._dialog = self._dialog.result(), None
        if files:
            self.path = files[0]
            self.studio.intents.open_model = files[0]
        else:
            self.studio.report("no file chosen (a file dialog needs zenity or kdialog): type the path")
