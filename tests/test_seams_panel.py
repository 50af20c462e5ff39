"""The Seams panel measures the loaded model in the background and shows score, interval and regions."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("imgui_bundle")
from imgui_driver import frame, frames_until  # noqa: E402

from infiniscape.renderer.analysis.seams import pool, seam_interval, world_seam_samples  # noqa: E402


def test_seams_panel_measures_the_world_and_agrees_with_the_metric(make_studio):
    s = make_studio(cache_mb=32, panels="Seams", first_frame=False)
    panel = s.widgets["Seams"]
    panel.regions, panel.tiles_per_side, panel.sample_seed = 4, 2, 3
    frame(s)
    panel.measure()
    frames_until(s, lambda: panel.result is not None, timeout=120)
    frame(s)  # the result is drawn, plot included
    assert not s.status_error, s.status
    samples = world_seam_samples(s.world, regions=4, tiles_per_side=2, seed=3)
    r = panel.result
    assert r["score"] == pool(samples).score and r["interval"] == seam_interval(samples)
    assert r["regions"] == 4 and np.array_equal(r["per_region"], [e.score for e in samples])
