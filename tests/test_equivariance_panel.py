"""The Equivariance panel on a StyleGAN3 network pickle, in the real studio driven headless: Untransform shows
the transformed render moved back to where the identity render has it (the StyleGAN3 visualizer's option)."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("imgui_bundle")
from imgui_driver import frame, frames_until  # noqa: E402
from test_equivariance_official import sg3_pickle  # noqa: E402, F401  (module fixture)

from infiniscape.renderer.analysis.equivariance import difference_strip  # noqa: E402
from infiniscape.renderer.analysis.synthetic import SinusoidGenerator  # noqa: E402
from infiniscape.studio import Studio  # noqa: E402


@pytest.fixture
def sg3_studio(make_studio, sg3_pickle):  # noqa: F811
    s = make_studio(str(sg3_pickle), cache_mb=16, panels="Equivariance", first_frame=False)
    s.canvas.view.zoom = 4.0  # few canvas tiles to render beside the panel's work
    frame(s)
    return s


def panel_strip(studio: Studio, untransform: bool) -> np.ndarray:
    """The panel's uint8 strip once it shows the current settings."""
    panel = studio.widgets["Equivariance"]
    panel.untransform = untransform

    def shown() -> bool:  # the studio's analysis runner renders the strip; the panel draws it
        done = studio.analysis.result("equivariance view")
        return done is not None and done.request == panel.view_request() and panel.image.rgb is done.value

    frames_until(studio, shown, timeout=60)
    return panel.image.rgb


def test_untransform_shows_the_stylegan3_render_moved_back(sg3_studio):
    panel = sg3_studio.widgets["Equivariance"]
    assert panel.generator() is sg3_studio.world.model  # the network pickle's canvas, not the test signal
    panel.tx, panel.ty = 0.2, -0.15  # content 12.8 px right, 9.6 px up
    r = sg3_studio.world.model.resolution
    orig = np.clip(np.rint((sg3_studio.world.model.render_transformed(0, np.eye(3)).permute(1, 2, 0).numpy()
                            + 1) * 127.5), 0, 255)
    centre = (slice(r // 2 - 8, r // 2 + 8), slice(r // 2 - 8, r // 2 + 8))  # valid after moving back

    moved = panel_strip(sg3_studio, False)[:, :r].astype(float)
    strip = panel_strip(sg3_studio, True)
    back = strip[:, :r].astype(float)
    assert np.abs(back[centre] - orig[centre]).max() <= 1  # one uint8 step: rounding of a near-equal image
    assert np.abs(moved[centre] - orig[centre]).max() > 8
    assert strip[:, 2 * r + 8:].max() <= 2  # |difference| x 4 is black: a translation this net follows well



@pytest.mark.parametrize("tx, ty, turns, whole_pixels, untransform", [
    (0.1, -0.06, 0.0, False, False), (3 / 64, -2 / 64, 0.0, True, False),
    (0.1, -0.06, 0.05, False, False), (0.1, -0.06, 0.05, False, True)])
def test_difference_of_an_equivariant_generator_is_black(tx, ty, turns, whole_pixels, untransform):
    """No spurious edges where the reference's mask ends, rotation and translation together included."""
    strip = difference_strip(SinusoidGenerator(64), 3, tx, ty, turns * 2 * math.pi, whole_pixels, untransform)
    assert strip.shape == (64, 3 * 64 + 8, 3)
    assert strip[:, 2 * 64 + 8:].max() <= 2
