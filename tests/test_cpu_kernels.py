"""The fused CPU kernels give the pure-torch reference ops' values (filtered_lrelu; StyleGAN2's layer
epilogue and up-conv low-pass), and the ops fall back to the reference where a kernel does not apply
(gradients) or cannot be built (no compiler).

The official numbers are the filtered_lrelu cases of fixtures/ops_reference.npz (official `impl='ref'`
outputs on StyleGAN3-T/R layer geometries; see test_ops_reference.py)."""

import itertools
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from infiniscape.ops import cpu_kernels as fused
from infiniscape.ops.bias_act import bias_act
from infiniscape.ops.conv2d_resample import interleave
from infiniscape.ops.filtered_lrelu import filtered_lrelu as reference
from infiniscape.ops.upfirdn2d import setup_filter, upfirdn2d

FIXTURE = Path(__file__).parent / "fixtures" / "ops_reference.npz"
HAVE_COMPILER = shutil.which(os.environ.get("CXX", "c++")) is not None and shutil.which("ninja") is not None
needs_kernel = pytest.mark.skipif(not HAVE_COMPILER or bool(os.environ.get("INFINISCAPE_NO_KERNELS")),
                                  reason="no C++ compiler / ninja: the kernel cannot be built here")


def _max_rel_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, f"{tuple(a.shape)} vs {tuple(b.shape)}"
    return (a - b).abs().max().item() / max(1.0, b.abs().max().item())


@needs_kernel
def test_kernel_builds_where_a_compiler_exists():
    assert fused.kernel_status() == "compiled"


@needs_kernel
def test_kernel_matches_reference_on_every_geometry():
    """Up 1/2/4, down 1/2, short and long taps, separable and 2D (radial) low-pass, positive and
    negative (cropping) padding, flip_filter, with and without clamp and bias, batch > 1."""
    gen = torch.Generator().manual_seed(0)
    cases = 0
    for up, down, fu_taps, fd_taps, pad, flip, clamp, fd_2d in itertools.product(
            [1, 2, 4], [1, 2], [1, 6, 24], [1, 7, 12], [[9, 8, 9, 8], [-6, -9, -5, -9], [3, 0, 1, 2]],
            [False, True], [None, 0.5], [False, True]):
        if up % down or (fd_2d and fd_taps == 1):
            continue
        fu = torch.randn(fu_taps, generator=gen) if fu_taps > 1 else None
        fd = None if fd_taps == 1 else torch.randn(*((fd_taps, fd_taps - 1) if fd_2d else (fd_taps,)),
                                                   generator=gen)
        x = torch.randn(2, 3, 13, 11, generator=gen)
        b = torch.randn(3, generator=gen) if clamp is None else None
        args = dict(up=up, down=down, padding=pad, gain=1.3, slope=0.2, clamp=clamp, flip_filter=flip)
        try:
            want = reference(x, fu, fd, b, **args)
        except AssertionError:  # the geometry leaves no output
            continue
        assert fused._kernel_applies(x, fu, fd, b, up, down)
        got = fused.filtered_lrelu(x, fu, fd, b, **args)
        assert _max_rel_diff(got, want) <= 1e-6, args
        cases += 1
    assert cases > 300


@needs_kernel
def test_kernel_reproduces_official_stylegan3_layers():
    with np.load(FIXTURE, allow_pickle=False) as npz:
        data = {k: torch.from_numpy(npz[k]) for k in npz.files if k.startswith("filtered_lrelu/")
                and not k.endswith("params")}
        params = {k.rsplit("/", 1)[0]: json.loads(str(npz[k])) for k in npz.files
                  if k.startswith("filtered_lrelu/") and k.endswith("params")}
    assert len(params) >= 7
    for key, p in params.items():
        layer = p.pop("layer")
        t = {name: data.get(f"{key}/{name}") for name in ("x", "fu", "fd", "b", "y")}
        y = fused.filtered_lrelu(t["x"], t["fu"], t["fd"], t["b"], **p)
        assert (y - t["y"]).abs().max().item() <= 1e-5, layer


@needs_kernel
def test_stylegan2_epilogue_gives_bias_act_values():
    """(x + noise) + bias -> leaky ReLU -> gain -> clamp, in the reference's order: the same floats."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 5, 9, 7, generator=gen) * 3
    b, noise = torch.randn(5, generator=gen), torch.randn(9, 7, generator=gen)
    for nz, slope, gain, clamp in [(noise, 0.2, 1.0, 2.5), (None, 0.2, 1.4, None), (noise, 0.0, 2.0, None),
                                   (None, 1.0, 1.0, 0.5)]:
        want = bias_act(x + (0 if nz is None else nz), b, act="lrelu", alpha=slope, gain=gain, clamp=clamp)
        y = x.clone()
        got = fused.bias_lrelu_(y, b, nz, slope=slope, gain=gain, clamp=clamp)
        assert got.data_ptr() == y.data_ptr() and torch.equal(got, want), (slope, gain, clamp)


@needs_kernel
def test_low_pass_read_from_phases_equals_interleave_then_upfirdn2d():
    gen = torch.Generator().manual_seed(2)
    for h, w, extra, f, pad in [(9, 7, 1, [1, 3, 3, 1], [1, 1, 1, 1]), (6, 6, 0, [1, 3, 3, 1], [2, 1, 2, 1]),
                                (8, 5, 1, [1, 2, 1], [0, -1, 1, 0]),
                                (5, 8, 0, [1, 4, 6, 4, 1], [3, 2, 2, 3])]:
        # phases of an image with (2h + extra) rows and (2w + extra) columns
        shapes = [(h + extra, w + extra), (h + extra, w), (h, w + extra), (h, w)]
        parts = [torch.randn(2, 3, *s, generator=gen) for s in shapes]
        f2 = setup_filter(f)  # 2D and normalised, as StyleGAN2's resample_filter buffer
        want = upfirdn2d(interleave(parts), f2, padding=pad, gain=4)
        got = fused.fir_phases(parts, f2, padding=pad, gain=4)
        assert got is not None and _max_rel_diff(got, want) <= 1e-6, (h, w, extra, f, pad)


def test_phases_of_a_non_separable_filter_are_left_to_the_reference():
    parts = [torch.randn(1, 1, 4, 4)] * 4
    assert fused.fir_phases(parts, torch.tensor([[1.0, 0.0], [0.0, 1.0]]), padding=0) is None


def test_gradients_flow_through_the_reference():
    x = torch.randn(1, 2, 10, 10, requires_grad=True)
    b = torch.zeros(2, requires_grad=True)
    f = torch.tensor([1.0, 3.0, 3.0, 1.0]) / 8
    args = dict(up=2, down=2, padding=[2, 1, 2, 1])
    assert not fused._kernel_applies(x, f, f, b, 2, 2)
    fused.filtered_lrelu(x, f, f, b, **args).square().sum().backward()
    gx, gb = x.grad.clone(), b.grad.clone()
    x.grad = b.grad = None
    reference(x, f, f, b, **args).square().sum().backward()
    assert torch.equal(gx, x.grad) and torch.equal(gb, b.grad)


def test_without_a_compiler_the_op_falls_back_to_the_reference(tmp_path):
    """A fresh process whose compiler does not exist (and an empty kernel cache) still computes the op,
    with the reference's exact values, and says once why the kernel is unavailable."""
    script = textwrap.dedent("""
        import torch
        from infiniscape.ops import cpu_kernels as fused
        from infiniscape.ops.filtered_lrelu import filtered_lrelu as reference
        torch.manual_seed(0)
        x, f, b = torch.randn(1, 4, 9, 9), torch.randn(12), torch.randn(4)
        args = dict(up=2, down=2, padding=[9, 8, 9, 8], clamp=256)
        assert torch.equal(fused.filtered_lrelu(x, f, f, b, **args), reference(x, f, f, b, **args))
        print(fused.kernel_status())
    """)
    env = dict(os.environ, CXX=str(tmp_path / "no-such-compiler"), INFINISCAPE_CACHE=str(tmp_path / "cache"),
               OMP_NUM_THREADS="1")
    env.pop("INFINISCAPE_NO_KERNELS", None)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"unavailable: RuntimeError: no C++ compiler ({env['CXX']!r} not found)"
    assert proc.stderr.count("fused CPU kernels unavailable") == 1
    assert not (tmp_path / "cache").exists()  # nothing was built or half-built
