"""Reused output buffers: a buffer comes back only when nothing else holds it."""

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from infiniscape.ops import buffers, cpu_conv, cpu_kernels

BIG = (1, 64, 64, 64)  # 1 MiB of float32: pooled


@pytest.fixture(autouse=True)
def fresh_pool():
    buffers.clear()
    yield
    buffers.clear()


def test_a_dropped_buffer_is_handed_out_again():
    a = buffers.empty(BIG)
    ptr = a.data_ptr()
    del a
    assert buffers.empty(BIG).data_ptr() == ptr


def test_a_buffer_someone_keeps_is_never_handed_out_again():
    a = buffers.empty(BIG).fill_(1)
    view, array = a[0, :2], a.numpy()
    b = buffers.empty(BIG).fill_(2)
    assert b.data_ptr() != a.data_ptr() and a.eq(1).all()
    del a, view
    c = buffers.empty(BIG).fill_(3)  # the numpy array still holds the first buffer
    assert c.data_ptr() not in (array.ctypes.data, b.data_ptr()) and (array == 1).all()


def test_small_tensors_and_a_full_pool_fall_back_to_fresh_memory():
    buffers.empty((1, 8, 8))
    buffers.empty(BIG)
    assert set(buffers._local.pool) == {(BIG, torch.float32)}  # below MIN_BYTES: not kept
    held = [buffers.empty(BIG) for _ in range(buffers.MAX_PER_SHAPE + 2)]
    assert len({t.data_ptr() for t in held}) == len(held)


def test_buffers_beyond_the_byte_cap_are_not_kept(monkeypatch):
    monkeypatch.setattr(buffers, "MAX_BYTES", 3 * (1 << 20))
    first = [buffers.empty(BIG) for _ in range(3)]  # 3 MiB kept
    extra = buffers.empty(BIG)
    del first, extra
    assert len(buffers._local.pool[(BIG, torch.float32)]) == 3 and buffers._local.kept_bytes == 3 << 20


def test_threads_never_share_a_buffer():
    ptrs = {}

    def take(name):
        ptrs[name] = buffers.empty(BIG).data_ptr()  # dropped at once: free again in this thread's pool

    take("main")
    t = threading.Thread(target=take, args=("worker",))
    t.start()
    t.join()
    assert ptrs["main"] != ptrs["worker"]


@pytest.mark.skipif(not cpu_conv.nnpack_available() or cpu_kernels.kernel() is None,
                    reason="needs NNPACK and the compiled kernels")
@pytest.mark.parametrize("padding", [(1, 1), (2, 1), (0, 0)])
def test_nnpack_writes_into_reused_buffers_without_touching_kept_outputs(padding):
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(1, 32, 72, 72, generator=gen)
    w = torch.randn(64, 32, 3, 3, generator=gen) / 17
    want = F.conv2d(x.double(), w.double(), padding=padding).float()
    with torch.no_grad():
        first = cpu_kernels.nnpack_conv3x3(x, w, padding)
        kept = first.clone()
        second = cpu_kernels.nnpack_conv3x3(x * 2, w, padding)
    assert first.shape == want.shape and second.data_ptr() != first.data_ptr()
    assert torch.equal(first, kept)  # the second call did not write into the output still held
    assert (first - want).abs().max().item() <= 1e-4 * want.abs().max().item()
    scale = want.abs().max().item()
    np.testing.assert_allclose(second.numpy(), 2 * first.numpy(), rtol=1e-4, atol=1e-4 * scale)
