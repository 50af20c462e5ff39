"""Driving the real studio headless: an imgui + ImPlot context without a window or GL, one frame at a
time (textures are counted, not uploaded). Shared by the studio and panel tests."""

from __future__ import annotations

import time

import pytest
from imgui_bundle import imgui, implot

W, H = 1280, 800


@pytest.fixture
def gui():
    ctx = imgui.create_context()
    implot.create_context()
    io = imgui.get_io()
    io.display_size = imgui.ImVec2(W, H)
    io.set_ini_filename(None)
    io.backend_flags |= imgui.BackendFlags_.renderer_has_textures
    yield io
    implot.destroy_context()
    imgui.destroy_context(ctx)


def frame(studio) -> None:
    imgui.get_io().delta_time = 1 / 60
    imgui.new_frame()
    studio.frame(W, H)
    imgui.render()
    for tex in imgui.get_platform_io().textures:  # the font atlas: pretend a backend took it
        if tex.status != imgui.ImTextureStatus.ok:
            tex.set_tex_id(1)
            tex.status = imgui.ImTextureStatus.ok


def frames_until(studio, cond, timeout: float = 30.0, pause: float = 0.005) -> None:
    end = time.perf_counter() + timeout
    while not cond():
        assert time.perf_counter() < end, "timed out"
        frame(studio)
        time.sleep(pause)
