"""The imgui idioms the panels repeat: settings with defaults and a Reset button, a disabled scope,
item widths in ems, controls that return their value, ids, and the heatmaps' colour bar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from imgui_bundle import imgui

from infiniscape.analysis_requests import colour_ramp


def settings(panel, **defaults) -> None:
    """Give the panel these settings, and remember them as what Reset goes back to."""
    for k, v in defaults.items():
        setattr(panel, k, v)
    panel.defaults = dict(defaults)


def changed(panel) -> bool:
    """Whether any setting differs from its default."""
    return any(getattr(panel, k) != v for k, v in panel.defaults.items())


def reset_button(panel, panel_id: str, only_when_changed: bool = False) -> None:
    """``Reset##panel_id``: every setting back to its default (greyed out while nothing changed, if asked)."""
    with disabled(only_when_changed and not changed(panel)):
        if imgui.button(ident("Reset", panel_id)):
            for k, v in panel.defaults.items():
                setattr(panel, k, v)


def ident(label: str, panel_id: str) -> str:
    """A label unique to its panel: the same text in two panels is two controls."""
    return f"{label}##{panel_id}"


@contextmanager
def disabled(when: bool = True) -> Iterator[None]:
    """Controls inside are greyed out and inert while ``when`` holds."""
    imgui.begin_disabled(when)
    try:
        yield
    finally:
        imgui.end_disabled()


def width(ems: float) -> None:
    """The next control's width in font heights; negative leaves that much room at the right."""
    imgui.set_next_item_width(imgui.get_font_size() * ems)


def checkbox(label: str, value: bool) -> bool:
    return imgui.checkbox(label, value)[1]


def slider_float(label: str, value: float, lo: float, hi: float, fmt: str, ems: float | None = None) -> float:
    if ems is not None:
        width(ems)
    return imgui.slider_float(label, value, lo, hi, fmt)[1]


def slider_int(label: str, value: int, lo: int, hi: int, ems: float | None = None) -> int:
    if ems is not None:
        width(ems)
    return imgui.slider_int(label, value, lo, hi)[1]


def input_int(label: str, value: int, ems: float | None = None, lo: int | None = None,
              hi: int | None = None) -> int:
    """An integer field, clamped to [lo, hi] where given."""
    if ems is not None:
        width(ems)
    value = imgui.input_int(label, value)[1]
    return max(lo if lo is not None else value, min(value, hi if hi is not None else value))


def key_pressed(key) -> bool:
    """A shortcut key went down this frame, outside text fields and Ctrl chords."""
    io = imgui.get_io()
    return not io.want_text_input and not io.key_ctrl and imgui.is_key_pressed(key, False)


def colour_bar(lo: float, hi: float, unit: str, steps: int = 48) -> None:
    """The heatmaps' colour scale as a strip under them, with its end values and unit."""
    em, full = imgui.get_font_size(), imgui.get_content_region_avail().x
    p = imgui.get_cursor_screen_pos()
    dl = imgui.get_window_draw_list()
    w = full / steps
    for i, (r, g, b) in enumerate(colour_ramp(lo, hi, steps)):
        a, b2 = imgui.ImVec2(p.x + i * w, p.y), imgui.ImVec2(p.x + (i + 1) * w + 1, p.y + em * 0.6)
        dl.add_rect_filled(a, b2, imgui.IM_COL32(r, g, b, 255))
    imgui.dummy(imgui.ImVec2(full, em * 0.6))
    imgui.text_disabled(f"{lo:g}")
    mid = f"{(lo + hi) / 2:g} {unit}"
    imgui.same_line(max(0.0, (full - imgui.calc_text_size(mid).x) / 2))
    imgui.text_disabled(mid)
    imgui.same_line(max(0.0, full - imgui.calc_text_size(f"{hi:g}").x))
    imgui.text_disabled(f"{hi:g}")
