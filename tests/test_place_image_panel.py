"""The Place image panel: choose a file, select where it goes, Place; the fit runs off the UI thread with
its loss curve and preview, ends as one history entry, and Ctrl+Z removes it exactly."""

from __future__ import annotations

import numpy as np
import pytest

imgui_bundle = pytest.importorskip("imgui_bundle")
from imgui_driver import frame, frames_until  # noqa: E402
from PIL import Image  # noqa: E402
from test_training_panel import click  # noqa: E402  (clicks a panel's recorded button centre)

from infiniscape.renderer.scene import Scene  # noqa: E402
from infiniscape.renderer.world import World, to_uint8  # noqa: E402


@pytest.fixture
def studio(make_studio):
    s = make_studio(cache_mb=32, panels="Place image", first_frame=False, one_thread=True)
    return s, s.widgets["Place image"]


def test_placing_an_image_fits_it_in_the_background_and_ctrl_z_removes_it(studio, tmp_path):
    s, panel = studio
    photo = World(s.world.model, Scene(model="tiny", seed=8)).render(0, 0, 32, 32)
    Image.fromarray(to_uint8(photo)).save(tmp_path / "photo.png")
    rect = (16, -16, 32, 32)
    before = s.world.render(*rect)
    frame(s)
    assert "Place" in panel.hits  # drawn, disabled without a selection and a file
    s.tools.selection = rect
    panel.path, panel.steps = str(tmp_path / "photo.png"), 30
    frame(s)
    click(s, panel, "Place")
    assert s.placing is not None and s.placing.rect == rect
    frames_until(s, lambda: s.placing is not None and s.placing.preview is not None, timeout=60)
    assert s.placing.preview.shape == (32, 32, 3)  # the fitting window, shown in the panel
    frames_until(s, lambda: s.placing is None, timeout=120)
    assert s.world.history_position == 1 and s.world.history[0] == "place photo.png at (16, -16) 32x32"
    placed = s.world.render(*rect)
    from infiniscape.renderer.inversion import psnr

    assert psnr(placed, photo) > psnr(before, photo) + 3
    frame(s)
    s.intents.undo = True  # what Ctrl+Z asks for
    s._carry_out()
    assert s.world.history_position == 0
    assert np.array_equal(s.world.render(*rect), before)


def test_a_cancelled_placement_leaves_the_world_unchanged(studio, tmp_path):
    s, panel = studio
    Image.new("RGB", (32, 32), (200, 30, 30)).save(tmp_path / "red.png")
    s.tools.selection = (0, 0, 32, 32)
    panel.path, panel.steps = str(tmp_path / "red.png"), 600
    frame(s)
    click(s, panel, "Place")
    frames_until(s, lambda: s.placing is not None and len(s.placing.losses) > 0, timeout=60)
    click(s, panel, "Cancel")
    frames_until(s, lambda: s.placing is None, timeout=60)
    assert s.world.history_position == 0


def test_an_unreadable_file_is_a_red_status_line(studio, tmp_path):
    s, panel = studio
    (tmp_path / "broken.png").write_bytes(b"not a png")
    s.tools.selection = (0, 0, 32, 32)
    panel.path = str(tmp_path / "broken.png")
    frame(s)
    click(s, panel, "Place")
    assert s.placing is None and s.world.history_position == 0
    assert "cannot read image" in s.status and s.status_error
