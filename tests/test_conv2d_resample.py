"""StyleGAN2's 2x up-convolution as four phase convolutions equals the transposed convolution, and the
NNPACK (Winograd) 3x3 convolution stays within float rounding of the direct one."""

import pytest
import torch
import torch.nn.functional as F

from infiniscape.ops import cpu_conv
from infiniscape.ops.conv2d_resample import phase_kernels, transposed_conv2x


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_phase_convolutions_equal_the_stride_2_transposed_convolution(k):
    gen = torch.Generator().manual_seed(k)
    x = torch.randn(2, 6, 7, 5, generator=gen)
    w = torch.randn(4, 3, k, k, generator=gen)  # 2 groups: [O, I / groups, k, k]
    want = F.conv_transpose2d(x, w.reshape(2, 2, 3, k, k).transpose(1, 2).reshape(6, 2, k, k), stride=2,
                              groups=2)
    got = transposed_conv2x(x, phase_kernels(w), groups=2)
    assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5, rtol=1e-5)


def test_cpu_conv_convolution_stays_within_rounding_of_the_direct_one():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 64, 40, 40, generator=gen)
    w = torch.randn(48, 64, 3, 3, generator=gen) / 24
    for padding in (1, 2):
        want = F.conv2d(x.double(), w.double(), padding=padding).float()
        got = cpu_conv.conv2d(x, w, padding=padding)
        assert got.shape == want.shape
        assert (got - want).abs().max().item() <= 1e-4 * want.abs().max().item()


def test_cpu_conv_leaves_groups_and_gradients_to_the_direct_convolution():
    x, w = torch.randn(1, 4, 8, 8, requires_grad=True), torch.randn(4, 2, 3, 3)
    assert torch.equal(cpu_conv.conv2d(x, w, padding=1, groups=2), F.conv2d(x, w, padding=1, groups=2))
    w2 = torch.randn(3, 4, 3, 3)
    y = cpu_conv.conv2d(x, w2, padding=1)
    assert torch.equal(y, F.conv2d(x, w2, padding=1)) and y.grad_fn is not None


def test_cpu_conv_leaves_maps_below_32x32_to_the_direct_convolution():
    x, w = torch.randn(1, 8, 16, 16), torch.randn(8, 8, 3, 3)
    with torch.no_grad():
        assert torch.equal(cpu_conv.conv2d(x, w, padding=1), F.conv2d(x, w, padding=1))


def test_cpu_conv_one_by_one_kernels_agree_with_the_direct_convolution():
    gen = torch.Generator().manual_seed(1)
    x, w = torch.randn(2, 24, 9, 7, generator=gen), torch.randn(5, 24, 1, 1, generator=gen)
    with torch.no_grad():
        got, want = cpu_conv.conv2d(x, w), F.conv2d(x.double(), w.double()).float()
    assert got.shape == want.shape and (got - want).abs().max().item() <= 1e-5 * want.abs().max().item()
