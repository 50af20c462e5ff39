// NNPACK's 3x3 Winograd convolution called directly, into an output the caller provides.
//
// torch._nnpack_spatial_convolution allocates a fresh output (and a fresh bias) on every call; above
// glibc's mmap threshold every page of a fresh output is faulted in again (~8 ms per 32 MB here). Called
// directly, NNPACK writes into a buffer the caller reuses (ops/buffers.py), with a per-thread workspace.
#include "kernels.h"

#include <ATen/Config.h>

#if AT_NNPACK_ENABLED() && __has_include(<nnpack.h>) && __has_include(<pthreadpool.h>)
#include <nnpack.h>
#include <pthreadpool.h>

#include <cstdint>
#include <map>
#include <mutex>

namespace {

std::mutex pool_mutex;

// A pthreadpool of torch's intra-op thread count (NNPACK's own parallelism); nullptr runs on the calling
// thread. One pool per count, kept for the process: another thread may still be using the previous one.
pthreadpool_t threadpool() {
  static std::map<size_t, pthreadpool_t> pools;
  const size_t want = static_cast<size_t>(std::max(1, at::get_num_threads()));
  if (want == 1) return nullptr;
  std::lock_guard<std::mutex> lock(pool_mutex);
  auto it = pools.find(want);
  if (it == pools.end()) it = pools.emplace(want, pthreadpool_create(want)).first;
  return it->second;
}

nnp_size size2(int64_t height, int64_t width) {
  nnp_size s;
  s.height = static_cast<size_t>(height);
  s.width = static_cast<size_t>(width);
  return s;
}

}  // namespace

bool nnpack_conv3x3_out(torch::Tensor x, torch::Tensor w, torch::Tensor out, int64_t pad_h, int64_t pad_w) {
  static const bool ready = nnp_initialize() == nnp_status_success;
  if (!ready) return false;
  TORCH_CHECK(x.dim() == 4 && x.size(0) == 1 && x.is_contiguous() && x.scalar_type() == torch::kFloat32,
              "x must be a contiguous float32 [1, I, H, W]");
  TORCH_CHECK(w.dim() == 4 && w.size(1) == x.size(1) && w.size(2) == 3 && w.size(3) == 3 && w.is_contiguous() &&
                  w.scalar_type() == torch::kFloat32, "w must be a contiguous float32 [O, I, 3, 3]");
  const int64_t O = w.size(0), I = x.size(1), H = x.size(2), W = x.size(3);
  TORCH_CHECK(out.is_contiguous() && out.scalar_type() == torch::kFloat32 && out.dim() == 4 && out.size(0) == 1 &&
                  out.size(1) == O && out.size(2) == H + 2 * pad_h - 2 && out.size(3) == W + 2 * pad_w - 2,
              "out must be a contiguous float32 [1, O, H + 2 pad - 2, W + 2 pad - 2]");
  thread_local std::vector<float> zero_bias;  // NNPACK always adds a bias
  if (zero_bias.size() < static_cast<size_t>(O)) zero_bias.assign(O, 0.0f);
  thread_local std::vector<uint8_t> workspace;
  nnp_padding pad;
  pad.top = pad.bottom = static_cast<size_t>(pad_h);
  pad.left = pad.right = static_cast<size_t>(pad_w);
  pthreadpool_t tp = threadpool();
  auto run = [&](void* ws, size_t* ws_size) {
    return nnp_convolution_inference(nnp_convolution_algorithm_auto, nnp_convolution_transform_strategy_compute,
                                     I, O, size2(H, W), pad, size2(3, 3), size2(1, 1), x.data_ptr<float>(),
                                     w.data_ptr<float>(), zero_bias.data(), out.data_ptr<float>(), ws, ws_size,
                                     nnp_activation_identity, nullptr, tp, nullptr);
  };
  size_t need = 0;
  if (run(nullptr, &need) != nnp_status_success) return false;  // the size query
  if (workspace.size() < need + 64) workspace.resize(need + 64);
  void* aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(workspace.data()) + 63) & ~uintptr_t(63));
  return run(aligned, &need) == nnp_status_success;
}

#else  // a torch build without NNPACK: the caller falls back to torch's convolution

bool nnpack_conv3x3_out(torch::Tensor, torch::Tensor, torch::Tensor, int64_t, int64_t) { return false; }

#endif
