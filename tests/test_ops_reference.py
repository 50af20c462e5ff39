"""Our pure-torch ops reproduce the official StyleGAN3 reference ops (numbers in fixtures/ops_reference.npz).

The fixture holds inputs, outputs and input gradients (for a fixed output weighting `dy`) produced by
the official `impl='ref'` code on small random inputs; no official code lives in this repository.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from infiniscape.ops import upfirdn2d as fir
from infiniscape.ops.bias_act import bias_act
from infiniscape.ops.filtered_lrelu import filtered_lrelu

FIXTURE = Path(__file__).parent / "fixtures" / "ops_reference.npz"
TOL = 1e-5


def _cases(data: dict, op: str):
    """Yield (case key, keyword arguments, tensors) for every stored case of `op`."""
    keys = sorted({k.rsplit("/", 1)[0] for k in data if k.startswith(op + "/")})
    assert keys, f"no {op} cases in {FIXTURE.name}"
    for key in keys:
        tensors = {k.rsplit("/", 1)[1]: torch.from_numpy(v) for k, v in data.items()
                   if k.startswith(key + "/") and not k.endswith("/params")}
        yield key, json.loads(str(data[key + "/params"])), tensors


@pytest.fixture(scope="module")
def data():
    with np.load(FIXTURE, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _check_value_and_grad(fn, a, name):
    x = a["x"].clone().requires_grad_(True)
    y = fn(x)
    assert y.shape == a["y"].shape, name
    assert (y - a["y"]).abs().max().item() <= TOL, name
    (dx,) = torch.autograd.grad((y * a["dy"]).sum(), x)
    assert torch.isfinite(dx).all(), name
    assert (dx - a["dx"]).abs().max().item() <= TOL, name


def test_upfirdn2d_matches_official(data):
    for key, p, a in _cases(data, "upfirdn2d"):
        f = a.get("f")
        _check_value_and_grad(lambda x, f=f, p=p: fir.upfirdn2d(x, f, **p), a, f"{key} {p}")


def test_resampling_helpers_match_official(data):
    for key, p, a in _cases(data, "helpers"):
        op = getattr(fir, p.pop("op"))
        y = op(a["x"], a["f"], **p)
        assert y.shape == a["y"].shape and (y - a["y"]).abs().max().item() <= TOL, f"{key} {p}"


def test_setup_filter_matches_official(data):
    for key, p, a in _cases(data, "setup_filter"):
        y = fir.setup_filter(**p)
        assert y.shape == a["y"].shape and (y - a["y"]).abs().max().item() <= TOL, f"{key} {p}"


def test_bias_act_matches_official_for_every_activation(data):
    seen = set()
    for key, p, a in _cases(data, "bias_act"):
        seen.add(p["act"])
        _check_value_and_grad(lambda x, a=a, p=p: bias_act(x, a["b"], **p), a, f"{key} {p}")
    assert seen == {"linear", "relu", "lrelu", "tanh", "sigmoid", "elu", "selu", "softplus", "swish"}


def test_filtered_lrelu_matches_official_on_stylegan3_layers(data):
    for key, p, a in _cases(data, "filtered_lrelu"):
        layer = p.pop("layer")
        fn = lambda x, a=a, p=p: filtered_lrelu(x, a.get("fu"), a.get("fd"), a["b"], **p)  # noqa: E731
        _check_value_and_grad(fn, a, f"{key} {layer} {p}")


def test_filtered_lrelu_gradients_reach_bias_and_input():
    x = torch.randn(1, 2, 10, 10, requires_grad=True)
    b = torch.zeros(2, requires_grad=True)
    f = fir.setup_filter([1, 3, 3, 1], separable=True)
    filtered_lrelu(x, f, f, b, up=2, down=2, padding=[2, 1, 2, 1]).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert b.grad is not None and b.grad.abs().sum() > 0


def test_ops_run_in_float64():
    x = torch.randn(1, 1, 6, 6, dtype=torch.float64)
    y = fir.upsample2d(x, fir.setup_filter([1, 3, 3, 1]))
    assert y.dtype == torch.float64 and y.shape == (1, 1, 12, 12)
    # A constant image keeps its level in the interior after upsampling (DC-preserving filter + gain).
    ones = fir.upsample2d(torch.ones(1, 1, 6, 6), fir.setup_filter([1, 3, 3, 1]))
    assert torch.allclose(ones[..., 3:-3, 3:-3], torch.ones(1, 1, 6, 6))
