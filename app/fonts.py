"""The shipped UI font (no download at run time; see assets/README.md for its source and license)."""

from __future__ import annotations

import importlib.resources

FONT_FILE = "DroidSans.ttf"
DEFAULT_SIZE = 15.0


def font_path() -> str:
    return str(importlib.resources.files("infiniscape") / "assets" / FONT_FILE)


def load_ui_font(size: float = DEFAULT_SIZE):
    """Add the shipped font to the current imgui context and make it the default."""
    from imgui_bundle import imgui

    io = imgui.get_io()
    font = io.fonts.add_font_from_file_ttf(font_path(), size)
    io.font_default = font
    imgui.get_style().font_size_base = size
    return font
