// The fused CPU ops of the infiniscape extension (loaded by ops/cpu_kernels.py), float32, inference only.
#pragma once

#include <torch/extension.h>

#include <optional>
#include <vector>

// ops/filtered_lrelu.py's filtered_lrelu for a 1D `fu` and `down` dividing `up` (filtered_lrelu.cpp).
torch::Tensor filtered_lrelu(torch::Tensor x, torch::Tensor fu, torch::Tensor fd, torch::Tensor b, int64_t up,
                             int64_t down, int64_t px0, int64_t px1, int64_t py0, int64_t py1, double gain,
                             double slope, double clamp, bool flip_filter);

// x = clamp(lrelu((x + noise) + b) * gain) in place; noise [H, W] or empty (stylegan2_ops.cpp).
torch::Tensor bias_noise_lrelu_(torch::Tensor x, torch::Tensor noise, torch::Tensor b, double gain, double slope,
                                double clamp);

// upfirdn2d(y, outer(f, f), padding, gain) where y [N, C, Hy, Wy] is given by its polyphase components
// phases[2a + b] = y[:, :, a::2, b::2] (stylegan2_ops.cpp).
// Written into `out` when it is defined (a reused buffer of the output's shape), else into a new tensor.
torch::Tensor fir_phases(std::vector<torch::Tensor> phases, torch::Tensor f, int64_t px0, int64_t px1,
                         int64_t py0, int64_t py1, double gain, std::optional<torch::Tensor> out);

// conv2d(x, w, padding=(pad_h, pad_w)) for x [1, I, H, W] and w [O, I, 3, 3] by NNPACK, into `out`
// (nnpack_conv.cpp); false where NNPACK refuses (the caller falls back).
bool nnpack_conv3x3_out(torch::Tensor x, torch::Tensor w, torch::Tensor out, int64_t pad_h, int64_t pad_w);

// The taps of a true convolution with `f` (reversed, as correlation taps; as given with `flip`), times `scale`.
inline std::vector<float> conv_taps(const torch::Tensor& f, bool flip, float scale) {
  auto c = f.contiguous();
  const float* d = c.data_ptr<float>();
  const int n = static_cast<int>(c.numel());
  std::vector<float> g(n);
  for (int k = 0; k < n; ++k) g[k] = (flip ? d[k] : d[n - 1 - k]) * scale;
  return g;
}
