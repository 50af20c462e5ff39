"""The Capture panel exports at a chosen zoom: its combo and Export button write the intent, the studio
does the work."""

from __future__ import annotations

import pytest

pytest.importorskip("imgui_bundle")
import test_studio_headless as headless  # noqa: E402
from imgui_driver import frame  # noqa: E402


@pytest.fixture
def capture(make_studio, one_torch_thread):
    s = make_studio(cache_mb=32, panels="Capture")
    return s, s.widgets["Capture"]


def centre(panel, name: str) -> tuple[float, float]:
    x0, y0, x1, y1 = panel.rects[name]
    return (round((x0 + x1) / 2), round((y0 + y1) / 2))


def test_export_at_a_chosen_zoom_asks_the_studio_for_it(capture, tmp_path):
    s, panel = capture
    asked = []
    s.export = lambda *intent: asked.append(intent)  # what the studio is asked to carry out
    panel.rect, panel.export_path = [10, -20, 400, 240], str(tmp_path / "z.png")

    headless.click(s, centre(panel, "Export"))
    assert asked == [((10, -20, 400, 240), str(tmp_path / "z.png"), 1.0)]

    headless.click(s, centre(panel, "zoom"))
    frame(s)  # the popup is placed on its second frame
    headless.click(s, centre(panel, "zoom 1/4"))
    assert panel.zoom == 2
    headless.click(s, centre(panel, "Export"))
    assert asked[-1] == ((10, -20, 400, 240), str(tmp_path / "z.png"), 0.25)


def test_the_studio_exports_the_level_pixels_covering_the_rectangle(capture, tmp_path):
    import numpy as np
    from PIL import Image

    from infiniscape.renderer.levels import level_rect
    from infiniscape.renderer.world import to_uint8

    s, panel = capture
    panel.rect, panel.export_path, panel.zoom = [10, -20, 100, 60], str(tmp_path / "z.png"), 2
    frame(s)
    headless.click(s, centre(panel, "Export"))
    s.jobs.wait(60)
    frame(s)
    assert not s.status_error, s.status
    x, y, w, h = level_rect(10, -20, 100, 60, 2)
    assert (x, y, w, h) == (2, -5, 26, 15)  # world (8, -20) .. (112, 40) at 1/4
    got = np.asarray(Image.open(tmp_path / "z.png").convert("RGB"))
    np.testing.assert_array_equal(got, to_uint8(s.world.render(x, y, w, h, level=2)))
