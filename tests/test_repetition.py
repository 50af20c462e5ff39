import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from infiniscape.renderer.analysis.repetition import nearest_repeat, world_repetition
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.world import World


def smooth_noise(width: int, height: int = 64, cell: int = 8, seed: int = 0) -> np.ndarray:
    """Random values on a coarse grid, bicubically enlarged: a texture that never repeats."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(size=(height // cell + 2, width // cell + 2, 3)).astype(np.float32)
    big = [np.asarray(Image.fromarray(coarse[..., c]).resize((width + 2 * cell, height + 2 * cell),
                                                               Image.BICUBIC)) for c in range(3)]
    return np.stack(big, -1)[cell:cell + height, cell:cell + width]


def test_a_periodic_strip_is_found_at_its_period():
    period = 768
    rng = np.random.default_rng(1)
    strip = np.tile(smooth_noise(period), (1, 11, 1))[:, :8192]
    strip = strip + rng.normal(scale=0.05, size=strip.shape)  # noise differs between the copies
    r = nearest_repeat(strip)
    assert r.ratio < 0.1
    assert r.shift % period == 0 and r.shift >= 256


def test_an_exact_copy_scores_zero_and_names_both_windows():
    strip = smooth_noise(4096, seed=2)
    strip[:, 3200:3456] = strip[:, 640:896]
    r = nearest_repeat(strip)
    assert r.ratio < 1e-6 and (r.x_a, r.x_b) == (640, 3200)


def test_a_texture_that_never_repeats_scores_far_from_zero():
    assert nearest_repeat(smooth_noise(8192, seed=3)).ratio > 0.5


def test_a_long_stretch_of_one_plain_colour_is_not_a_repeat_but_a_copied_window_in_it_is():
    # A coherent world paints skies and lakes of one palette over thousands of px: windows there are
    # close in colour but share no structure. Distance is measured on structure (palette removed).
    rng = np.random.default_rng(0)
    strip = smooth_noise(8192, seed=4)
    strip[:, 1000:4000] = np.array([0.8, 0.4, 0.2]) + rng.normal(scale=0.02, size=(64, 3000, 3))
    assert nearest_repeat(strip).ratio > 0.5
    strip[:, 6016:6272] = strip[:, 1024:1280] + rng.normal(scale=0.002, size=(64, 256, 3))
    r = nearest_repeat(strip)
    assert r.ratio < 0.2 and (r.x_a, r.x_b) == (1024, 6016)


def test_a_strip_too_short_for_two_windows_is_refused():
    with pytest.raises(ValueError, match="no two 256 px windows"):
        nearest_repeat(np.zeros((8, 400, 3)))


def test_the_hashed_lattice_world_does_not_repeat(tiny):
    world = World(tiny, Scene(seed=4))
    (x, r), = world_repetition(world, width=2048, height=32, window=128, seed=5)
    assert r.ratio > 0.3 and r.shift >= 128


def test_metrics_cli_prints_the_repetition_line():
    out = subprocess.run([sys.executable, "-m", "infiniscape", "metrics", "--model", "tiny", "--metric",
                          "repetition", "--samples", "1"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    line, = [ln for ln in out.stdout.splitlines() if ln.startswith("repetition: ")]
    assert 0.3 < float(line.split()[1]) < 2 and "1 strips of 8192x64 px" in line
