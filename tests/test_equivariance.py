"""EQ-T / EQ-T_frac / EQ-R as StyleGAN3 defines them, checked on generators with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from infiniscape.cli import main
from infiniscape.models.errors import UserError
from infiniscape.renderer.analysis import equivariance as eq
from infiniscape.renderer.analysis.synthetic import SinusoidGenerator


@pytest.fixture(scope="module")
def equivariant():
    return eq.equivariance_metrics(SinusoidGenerator(64), samples=4, seed=1)


def test_translation_equivariant_generator_scores_above_60_db(equivariant):
    assert equivariant["eqt_frac"] > 60
    assert equivariant["eqt_int"] > 100  # whole-pixel shifts of the same sinusoids: float rounding only
    assert equivariant["eqr"] > 60


def test_position_dependent_generator_scores_low(equivariant):
    pinned = eq.equivariance_metrics(SinusoidGenerator(64, pinned=0.3), samples=4, seed=1)
    for name in eq.METRICS:
        assert pinned[name] < 25, (name, pinned[name])
        assert pinned[name] < equivariant[name] - 30


def test_integer_shift_moves_content_and_masks_the_fill():
    x = torch.arange(64.0).reshape(1, 1, 8, 8)
    out, mask = eq.integer_shift(x, 2 / 8, -1 / 8)  # 2 px right, 1 px up
    assert out[0, 0, 0, 2] == x[0, 0, 1, 0] and out[0, 0, 6, 7] == x[0, 0, 7, 5]
    assert mask[0, 0, :, :2].sum() == 0 and mask[0, 0, 7].sum() == 0 and mask.sum() == 6 * 7


def test_fractional_shift_by_whole_pixels_is_exact_and_interpolates_a_slow_wave():
    x = torch.randn(1, 2, 16, 16)
    out, mask = eq.fractional_shift(x, 3 / 16, 0.0)
    m = mask.bool()
    assert torch.allclose(out[m], eq.integer_shift(x, 3 / 16, 0.0)[0][m], atol=1e-6)
    u = torch.arange(64.0)
    wave = torch.cos(2 * math.pi * 0.05 * u).expand(1, 1, 64, 64)
    out, mask = eq.fractional_shift(wave, 0.3 / 64, 0.0)
    want = torch.cos(2 * math.pi * 0.05 * (u - 0.3)).expand(1, 1, 64, 64)
    assert ((out - want).abs() * mask).max() < 1e-2 and mask[0, 0, 0, :3].sum() == 0


def test_bandlimit_filter_phases_each_sum_to_one_over_up_squared():
    f = eq.bandlimit_filter(eq.rotation_matrix(0.7), a=3, amax=6, up=4)
    assert f.shape == (47, 47)
    padded = torch.nn.functional.pad(f, [0, 1, 0, 1]).reshape(12, 4, 12, 4)
    torch.testing.assert_close(padded.sum(dim=(0, 2)), torch.full((4, 4), 1 / 16), atol=1e-6, rtol=0)


def test_rotation_by_zero_keeps_a_band_limited_image():
    y, x = torch.meshgrid(torch.arange(48.0), torch.arange(48.0), indexing="ij")
    img = torch.cos(2 * math.pi * (0.07 * x + 0.03 * y))[None, None]
    out, mask = eq.rotate(img, 0.0)
    assert mask.sum() > 0 and ((out - img).abs() * mask).max() < 1e-2


def test_untransform_moves_an_equivariant_render_back_to_the_identity_render():
    gen = SinusoidGenerator(64)
    orig = gen.render_transformed(3, np.eye(3))[None]
    transform = eq.rotation_matrix(-0.4) @ eq.translation_matrix(0.07, -0.03)
    moved = gen.render_transformed(3, transform)[None]
    back, mask = eq.untransform(moved, transform)
    ref, ref_mask = eq.bandlimit(orig, transform)  # the same band limit, nothing moved
    mask = mask * ref_mask

    def masked_psnr(a):
        return eq.psnr(float(((a - ref).double().square() * mask).sum()), float(mask.sum()))

    assert mask.mean() > 0.5
    assert masked_psnr(back) > 60 and masked_psnr(moved) < 25


def test_bandlimit_without_rotation_keeps_the_image():
    x = torch.randn(1, 3, 32, 32)
    y, mask = eq.bandlimit(x, eq.translation_matrix(0.3, 0.1))
    assert mask.sum() > 0 and float(((y - x).abs() * mask).max()) < 1e-5


def test_progress_and_early_stop():
    calls = []
    eq.equivariance_metrics(SinusoidGenerator(32), ["eqt_int"], samples=5,
                            progress=lambda d, t: calls.append((d, t)), should_stop=lambda: len(calls) >= 2)
    assert calls == [(1, 5), (2, 5)]


def test_unknown_metric_and_missing_input_transform_are_user_errors(tiny):
    with pytest.raises(ValueError, match="eqt_frac"):
        eq.equivariance_metrics(SinusoidGenerator(32), ["eqx"], samples=1)
    with pytest.raises(UserError, match="no input transform to rotate"):
        eq.transformable(tiny, ["eqt_int", "eqr"])
    assert isinstance(eq.transformable(SinusoidGenerator()), eq.TransformableGenerator)


def test_metrics_command_says_in_one_line_that_the_native_model_cannot_be_rotated(capsys):
    args = ["metrics", "--model", "tiny", "--device", "cpu", "--metric", "eqr", "--samples", "1"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no input transform" in err[0]


def test_a_native_world_moved_by_whole_lattice_periods_is_exactly_the_moved_render(tiny):
    from infiniscape.models.lattice import HashedLatents
    from infiniscape.renderer.analysis.world_shift import WorldShiftGenerator

    gen = eq.transformable(tiny, ["eqt_int", "eqt_frac"])
    assert isinstance(gen, WorldShiftGenerator) and gen.period == 8
    orig = gen.render_transformed(5, np.eye(3))
    x, y = gen.origin(5)
    world = tiny.render_windows([(x, y)], 64, 64, HashedLatents(5))[0]
    assert float((orig.clamp(-1, 1) - world).abs().max()) <= 1e-5  # the identity is the world itself
    p = gen.period / gen.resolution
    for t in ((p, 0.0), (-p, 2 * p), (0.0, -p)):
        ref, mask = eq.integer_shift(orig[None], *t)
        moved = gen.render_transformed(5, eq.translation_matrix(*t))[None]
        assert float(((moved - ref) * mask).abs().max()) == 0.0  # whole periods: cells re-indexed
    ref, mask = eq.integer_shift(orig[None], 3 / 64, 0.0)
    moved = gen.render_transformed(5, eq.translation_matrix(3 / 64, 0.0))[None]
    assert float(((moved - ref) * mask).abs().max()) > 1e-3  # a sub-lattice shift is not exact


def test_metrics_command_prints_translation_psnrs_for_a_native_model(capsys):
    args = ["metrics", "--model", "tiny", "--device", "cpu", "--metric", "eqt_int,eqt_frac", "--samples", "2"]
    assert main(args) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in out] == ["eqt_int", "eqt_frac"]
    assert all(0 < float(line.split()[1]) < 200 for line in out)


def test_psnr_of_pooled_sums():
    assert eq.psnr(4.0 * 10, 10) == pytest.approx(0.0)
    assert eq.psnr(0.0, 5) == float("inf")
    assert eq.psnr(np.float64(4e-6), 1) == pytest.approx(60.0)
