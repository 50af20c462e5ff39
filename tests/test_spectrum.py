"""Spectra follow the StyleGAN3 visualizer and avg_spectra.py definitions."""

from __future__ import annotations

import numpy as np
import pytest

from infiniscape.cli import main
from infiniscape.renderer.analysis import average as avg
from infiniscape.renderer.analysis.spectrum import (
    COLORMAP,
    colorize,
    peak_frequency,
    power_spectrum,
    spectrum_image,
    to_db,
)


def test_fft_matches_numpy_reference_with_the_same_window():
    rng = np.random.default_rng(0)
    img = rng.uniform(-1, 1, (48, 40, 3)).astype(np.float32)
    beta = 6.5
    ref = 0.0
    for c in range(3):  # the visualizer's recipe written out plainly
        ch = img[:, :, c].astype(np.float64) - img[:, :, c].mean()
        ch = ch * np.kaiser(48, beta)[:, None] * np.kaiser(40, beta)[None, :]
        ref = ref + np.abs(np.fft.fft2(ch)) ** 2
    ref = np.fft.fftshift(ref)  # even sizes: roll by (H // 2, W // 2)
    got = power_spectrum(img, beta=beta)
    assert np.abs(got - ref).max() <= 1e-5 * ref.max()
    db_ref = 10 * np.log10(ref / ref.mean())
    assert np.abs(to_db(got) - db_ref).max() < 1e-5


def test_luminance_mode_uses_one_weighted_channel():
    rng = np.random.default_rng(1)
    img = rng.normal(size=(32, 32, 3))
    grey = img @ np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(power_spectrum(img, mode="luminance"), power_spectrum(grey[:, :, None]),
                               rtol=1e-12)


@pytest.mark.parametrize("fy, fx", [(0, 5), (3, -7), (-9, 12)])
def test_pure_sinusoid_peaks_at_its_bin(fy, fx):
    h, w = 64, 64
    y, x = np.mgrid[:h, :w]
    wave = np.cos(2 * np.pi * (fy * y / h + fx * x / w) + 0.3)
    p = power_spectrum(np.repeat(wave[:, :, None], 3, axis=2), beta=8)
    assert peak_frequency(p) in ((fy, fx), (-fy, -fx))  # a real cosine has both +f and -f
    assert to_db(p).max() > 20  # far above the mean


def test_colormap_maps_the_db_range_end_to_end():
    assert COLORMAP.shape == (256, 3) and COLORMAP.dtype == np.uint8
    lum = COLORMAP @ np.array([0.299, 0.587, 0.114])
    assert np.all(np.diff(lum) >= -1.0)  # ordered from dark to light
    out = colorize(np.array([-100.0, -50.0, 0.0, 50.0, 100.0]), -50, 50)
    assert (out[0] == COLORMAP[0]).all() and (out[1] == COLORMAP[0]).all()
    assert (out[-1] == COLORMAP[-1]).all() and (out[3] == COLORMAP[-1]).all()
    img = spectrum_image(np.random.default_rng(2).normal(size=(16, 24, 3)), db_range=30)
    assert img.shape == (16, 24, 3) and img.dtype == np.uint8


def test_average_spectrum_of_white_noise_is_flat_at_0_db():
    rng = np.random.default_rng(3)
    imgs = [rng.normal(100.0, 20.0, (32, 32, 3)) for _ in range(64)]
    s = avg.average_spectrum(imgs, mean=100.0, std=20.0, beta=8, interp=2)
    assert s.power.shape == (64, 64) and s.power.dtype == np.float64
    db = s.heatmap_db()
    assert abs(db.mean()) < 0.3 and db.std() < 0.5  # flat: 64 images x 3 channels averaged
    f, radial = s.radial()
    assert len(f) == 17 and np.abs(radial[1:]).max() < 0.6


def test_average_spectrum_slices_follow_the_heatmap():
    rng = np.random.default_rng(4)
    y, x = np.mgrid[:32, :32]
    imgs = [np.repeat((np.cos(2 * np.pi * 4 * x / 32 + rng.uniform(0, 6)) * 50 + 128)[:, :, None], 3, 2)
            for _ in range(4)]
    mean, std = avg.image_moments(imgs)
    s = avg.average_spectrum(imgs, mean, std, interp=4)
    sl = s.slices()
    assert len(sl["slice0"]) == 64 and sl["freqs0"][-1] == pytest.approx(16 - 0.25)
    assert sl["freqs0"][np.argmax(sl["slice0"][1:]) + 1] == pytest.approx(4.0)  # 4 cycles per image
    assert sl["slice45"].max() < sl["slice0"].max() - 20  # the wave is horizontal only


def test_spectrum_command_writes_npz_and_png(tmp_path, capsys):
    out = tmp_path / "s.npz"
    rc = main(["spectrum", "--model", "tiny", "--device", "cpu", "--tiles", "3", "--data", "procedural",
               "--interp", "2", "--out", str(out), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    d = np.load(out)
    assert list(d["labels"]) == ["model", "data"]
    assert d["model_spectrum"].shape == (128, 128) and d["data_heatmap_db"].shape == (128, 128)
    assert d["model_stats"][1] == 3 and len(d["model_radial_db"]) == 33
    from PIL import Image

    from infiniscape.renderer.analysis.figure import MARGIN, PANEL
    from infiniscape.renderer.analysis.spectrum import colorize

    png = np.asarray(Image.open(out.with_suffix(".png")).convert("RGB"))
    assert png.shape[1] >= 2 * PANEL + MARGIN and png.shape[0] >= PANEL + 200  # heatmaps, colour bar, profile
    # both heatmaps are drawn in the colour bar's colours: the figure, not two bare images
    heat = png[60 + 20 + PANEL // 2, MARGIN + PANEL // 2]
    palette = colorize(np.linspace(-40, 20, 256), -40, 20)
    assert np.abs(palette.astype(int) - heat.astype(int)).sum(1).min() <= 3
    assert (png.reshape(-1, 3) == (255, 255, 255)).all(1).mean() > 0.3  # white page, dark labels


def test_spectrum_command_rejects_a_non_npz_output(tmp_path, capsys):
    assert main(["spectrum", "--model", "tiny", "--out", str(tmp_path / "s.png")]) == 2
    assert "npz" in capsys.readouterr().err


def test_region_pixels_from_a_tile_store_equal_the_render(tiny):
    """The panels read tiles the canvas holds already: a stored tile is exactly its render."""
    from infiniscape.models.contract import Tile
    from infiniscape.renderer.analysis.pixels import region_pixels
    from infiniscape.renderer.world import World, to_uint8

    world = World(tiny)
    t = world.tile_size
    stored = {Tile(0, 0): to_uint8(world.render(0, 0, t, t))}

    class Store:
        def get(self, tile):
            return stored.get(tile)

        def put(self, tile, image):
            pass

    rect = (-t // 2 + 3, t // 3, 2 * t - 5, t + 7)  # meets six tiles, one of them stored
    expected = to_uint8(world.render(*rect))
    assert np.array_equal(region_pixels(world, rect, Store()), expected)
    assert np.array_equal(region_pixels(world, rect), expected)
