"""The Model panel's generation controls, driven headless with simulated clicks and drags on a StyleGAN2
network pickle: truncation, noise, class, style mixing and the seed plane reach the world's render
settings, and the canvas is redrawn with them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("imgui_bundle")
from imgui_bundle import imgui  # noqa: E402
from imgui_driver import frame, frames_until  # noqa: E402
from test_official_pickle import write_pickle  # noqa: E402

from infiniscape.models.contract import StyleMix, Tile  # noqa: E402
from infiniscape.renderer.world import to_uint8  # noqa: E402


@pytest.fixture
def studio(make_studio, tmp_path):
    pickle = write_pickle(tmp_path, "sg2_resnet_cond")
    s = make_studio(str(pickle), cache_mb=32, panels="Model", one_thread=True)
    return s, s.widgets["Model"].generation


def press(studio, at, to=None, steps: int = 3) -> None:
    """Mouse down at `at`, move to `to` (if given), release: a click or a drag."""
    io = imgui.get_io()
    io.add_mouse_pos_event(*at)
    frame(studio)
    io.add_mouse_button_event(0, True)
    frame(studio)
    if to is not None:
        for i in range(1, steps + 1):
            io.add_mouse_pos_event(at[0] + (to[0] - at[0]) * i / steps, at[1] + (to[1] - at[1]) * i / steps)
            frame(studio)
    io.add_mouse_button_event(0, False)
    frame(studio)


def point(panel, name: str, fx: float = 0.5) -> tuple[float, float]:
    x0, y0, x1, y1 = panel.rects[name]
    return (round(x0 + (x1 - x0) * fx), round((y0 + y1) / 2))


def settings(studio):
    return studio.world.settings()


def test_panel_sets_every_knob_and_the_canvas_follows(studio):
    s, panel = studio
    assert settings(s).class_idx == 0  # a conditional network gets a class at once
    num_ws, c_dim = s.model_info["num_ws"], s.model_info["c_dim"]

    # truncation: a click on the slider sets psi where it lands (range -1 .. 2), applied on release
    press(s, point(panel, "truncation", 0.5))
    psi = settings(s).truncation
    assert 0.4 < psi < 0.6 and psi == pytest.approx(panel.psi)

    # noise: the combo's "random" entry
    press(s, point(panel, "noise"))
    frame(s)  # the popup is placed on its second frame
    press(s, point(panel, "noise random"))
    assert settings(s).noise_mode == "random"
    press(s, point(panel, "noise"))
    frame(s)
    press(s, point(panel, "noise const"))
    assert settings(s).noise_mode == "world"

    # class: the slider's right end is the last class
    press(s, point(panel, "class", 0.99))
    assert settings(s).class_idx == c_dim - 1

    # style mixing: the checkbox turns it on with the visualizer's seed and the fine layers
    press(s, point(panel, "style mix", 0.1))
    assert settings(s).style_mix == StyleMix(1000, num_ws // 2, num_ws)

    # seed plane: dragging the x field right by 50 px moves 0.5 seeds (fractional: a blend)
    x0, y0, x1, y1 = panel.rects["seed x, y"]
    start = (round(x0 + (x1 - x0) * 0.2), round((y0 + y1) / 2))
    press(s, start, (start[0] + 50, start[1]), steps=5)
    dx, dy = settings(s).seed_offset
    assert dx == pytest.approx(0.5, abs=0.02) and dy == 0.0
    press(s, point(panel, "Snap"))
    assert settings(s).seed_offset == (float(round(dx)), 0.0)
    assert not s.status_error, s.status

    # the canvas redraws with the new knobs: tile (0, 0) is the model's render under them
    frames_until(s, lambda: s.scheduler.tile(Tile(0, 0)) is not None, timeout=60)
    want = s.world.model.render([Tile(0, 0)], s.world.latents(), settings(s))[0].permute(1, 2, 0).numpy()
    assert np.array_equal(s.scheduler.tile(Tile(0, 0)), to_uint8(want))

    press(s, point(panel, "Reset"))
    st = settings(s)
    assert (st.truncation, st.style_mix, st.seed_offset, st.class_idx) == (1.0, None, (0.0, 0.0), c_dim - 1)


def test_native_models_show_only_their_knobs(make_studio):
    s = make_studio(cache_mb=16, panels="Model")
    panel = s.widgets["Model"].generation
    assert "truncation" in panel.rects and "style mix" not in panel.rects and "class" not in panel.rects
    press(s, point(panel, "truncation", 0.25))
    psi = settings(s).truncation
    assert -0.4 < psi < -0.1 and psi == pytest.approx(panel.psi)  # a quarter along -1 .. 2
    assert s.world.scene.truncation == settings(s).truncation  # saved scenes keep it
