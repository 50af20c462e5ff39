"""Seam score: 1.0 where tile borders are invisible, clearly above 1 where they show."""

from __future__ import annotations

import numpy as np
import pytest

from infiniscape.cli import main
from infiniscape.renderer.analysis.average import sample_tiles
from infiniscape.renderer.analysis.seams import (
    pool,
    seam_energy,
    seam_interval,
    seam_score,
    world_seam_samples,
)
from infiniscape.renderer.world import World

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def smooth_field(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A stationary, band-limited random image (white noise low-passed in the frequency domain)."""
    rng = np.random.default_rng(seed)
    spec = np.fft.fft2(rng.normal(size=(h, w, 3)), axes=(0, 1))
    fy, fx = np.fft.fftfreq(h)[:, None, None], np.fft.fftfreq(w)[None, :, None]
    return np.fft.ifft2(spec * np.exp(-(fx ** 2 + fy ** 2) / 0.01), axes=(0, 1)).real


def test_plain_stationary_image_scores_one_and_a_stepped_copy_more():
    img = smooth_field(256, 256)
    assert seam_score(img, 32) == pytest.approx(1.0, abs=0.15)
    cells = (np.arange(256) // 32) % 2
    stepped = img + 0.5 * img.std() * cells[None, :, None]  # every other cell brighter: vertical seams
    e = seam_energy(stepped, 32)
    assert e.score_x > 3 and e.score_y == pytest.approx(seam_energy(img, 32).score_y)
    assert e.score > 1.5


def test_grid_offset_moves_the_borders():
    img = smooth_field(128, 128, seed=1)
    cells = ((np.arange(128) - 5) // 16) % 2
    stepped = img + img.std() * cells[None, :, None]
    assert seam_energy(stepped, 16, offset=(5, 0)).score_x > 3
    assert seam_energy(stepped, 16, offset=(0, 0)).score_x < 2


@pytest.mark.parametrize("name, regions, side", [("tiny", 32, 4), ("default", 8, 2)])
def test_native_model_is_seamless_within_noise(name, regions, side, request):
    world = World(request.getfixturevalue("tiny" if name == "tiny" else "default_model"))
    samples = world_seam_samples(world, regions=regions, tiles_per_side=side)
    score, (lo, hi) = pool(samples).score, seam_interval(samples)
    # No seam: borders carry no more gradient energy than the matched interior lines (an untrained
    # net's borders come out slightly smoother in y, 0.95; the interval is from 32 or 8 regions).
    assert 0.9 < score < 1.1 and lo < 1.0, (score, lo, hi)
    assert hi - lo < 0.3  # enough regions for the interval to mean something


def test_seam_interval_excludes_one_when_every_other_tile_is_brighter(tiny):
    world = World(tiny)
    t = world.tile_size
    cells = (np.arange(3 * t) // t) % 2
    samples = [seam_energy(world.render(k * 5 * t, 0, 3 * t, 3 * t) + 0.2 * cells[None, :, None], t)
               for k in range(6)]
    lo, hi = seam_interval(samples)
    assert 1.2 < lo < hi


def test_independently_sampled_tiles_stitched_together_show_seams(tiny):
    world = World(tiny)
    t = world.tile_size
    tiles = world.render_tiles(sample_tiles(9, seed=5))
    mosaic = np.concatenate([np.concatenate(tiles[r * 3:(r + 1) * 3], axis=1) for r in range(3)], axis=0)
    assert seam_score(mosaic, t) > 5
    assert seam_score(world.render(0, 0, 3 * t, 3 * t), t) < 1.5


def test_metrics_command_prints_the_seam_score(capsys):
    assert main(["metrics", "--model", "tiny", "--device", "cpu", "--metric", "seams", "--samples", "2"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("seams: ")
    assert 0.5 < float(out[0].split()[1]) < 1.5
