// Fused CPU ops for StyleGAN2's synthesis layers (inference):
//
// - bias_noise_lrelu_: the layer epilogue (x + noise) + bias -> leaky ReLU -> gain -> clamp as one pass,
//   in place, with the reference's order of operations (so the same values).
// - fir_phases: the low-pass after the 2x-upsampling convolution, read straight from the four phase
//   convolutions' outputs (ops/conv2d_resample.py): the interleaved image is never written. Rows are
//   streamed through a ring of horizontally filtered rows, as in filtered_lrelu.cpp.

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "fir_rows.h"
#include "kernels.h"

using fir_rows::ceil_div;
using fir_rows::combine;
using fir_rows::floor_div;

torch::Tensor bias_noise_lrelu_(torch::Tensor x, torch::Tensor noise, torch::Tensor b, double gain, double slope,
                                double clamp) {
  TORCH_CHECK(x.dim() == 4 && x.scalar_type() == torch::kFloat32 && x.device().is_cpu() && x.is_contiguous(),
              "x must be a contiguous float32 CPU tensor [N, C, H, W]");
  const int64_t C = x.size(1), plane = x.size(2) * x.size(3);
  TORCH_CHECK(b.dim() == 1 && b.size(0) == C && b.scalar_type() == torch::kFloat32, "b must be [C]");
  const bool has_noise = noise.numel() > 0;
  TORCH_CHECK(!has_noise || (noise.dim() == 2 && noise.size(0) == x.size(2) && noise.size(1) == x.size(3) &&
                             noise.scalar_type() == torch::kFloat32),
              "noise must be [H, W] float32 or empty");
  auto nz = has_noise ? noise.contiguous() : noise;
  auto bc = b.contiguous();
  float* xd = x.data_ptr<float>();
  const float* nd = has_noise ? nz.data_ptr<float>() : nullptr;
  const float* bd = bc.data_ptr<float>();
  const float g = gain, s = slope, c = clamp;
  at::parallel_for(0, x.size(0) * C, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float* p = xd + i * plane;
      const float bias = bd[i % C];
      if (has_noise)
        for (int64_t k = 0; k < plane; ++k) p[k] = (p[k] + nd[k]) + bias;
      else
        for (int64_t k = 0; k < plane; ++k) p[k] = p[k] + bias;
      // min/max: branch-free (vectorised), same values as leaky_relu then the gain and the clamp
      for (int64_t k = 0; k < plane; ++k) p[k] = (std::max(p[k], 0.0f) + s * std::min(p[k], 0.0f)) * g;
      if (c >= 0)
        for (int64_t k = 0; k < plane; ++k) p[k] = std::min(std::max(p[k], -c), c);
    }
  });
  return x;
}

namespace {

// Correlation with `g` along one axis of a signal given as its even (0) and odd (1) samples, after padding
// `p0` zeros in front: output phase c (outputs 2m + c) tap t reads phase `phase[c][t]` at m + offset[c][t].
struct PolyphaseAxis {
  int count[2];  // outputs per output phase
  std::vector<int> phase[2], offset[2];
  int pad_left[2] = {0, 0}, pad_right[2] = {0, 0};  // zeros around each input phase so every tap reads inside

  PolyphaseAxis(int taps, int p0, int out_len, const int in_len[2]) {
    for (int c = 0; c < 2; ++c) {
      count[c] = c < out_len ? ceil_div(out_len - c, 2) : 0;
      for (int t = 0; t < taps; ++t) {
        const int q = c + t - p0;  // input sample read by tap t of output c (m = 0)
        const int b = q - 2 * floor_div(q, 2);
        phase[c].push_back(b);
        offset[c].push_back(floor_div(q, 2));
      }
    }
    int lo[2] = {0, 0}, hi[2] = {in_len[0] - 1, in_len[1] - 1};
    for (int c = 0; c < 2; ++c)
      for (size_t t = 0; t < offset[c].size(); ++t) {
        const int b = phase[c][t];
        lo[b] = std::min(lo[b], offset[c][t]);
        hi[b] = std::max(hi[b], offset[c][t] + count[c] - 1);
      }
    for (int b = 0; b < 2; ++b) {
      pad_left[b] = -lo[b];
      pad_right[b] = hi[b] - (in_len[b] - 1);
    }
  }
};

}  // namespace

torch::Tensor fir_phases(std::vector<torch::Tensor> phases, torch::Tensor f, int64_t px0, int64_t px1,
                         int64_t py0, int64_t py1, double gain, std::optional<torch::Tensor> out) {
  TORCH_CHECK(phases.size() == 4, "expected the four phases (0,0), (0,1), (1,0), (1,1)");
  for (auto& p : phases) {
    TORCH_CHECK(p.dim() == 4 && p.scalar_type() == torch::kFloat32 && p.device().is_cpu(),
                "phases must be float32 CPU tensors [N, C, h, w]");
    TORCH_CHECK(p.size(0) == phases[0].size(0) && p.size(1) == phases[0].size(1), "phases differ in N or C");
    p = p.contiguous();
  }
  TORCH_CHECK(f.dim() == 1 && f.scalar_type() == torch::kFloat32, "f must be a 1D float32 filter");
  const int h[2] = {static_cast<int>(phases[0].size(2)), static_cast<int>(phases[2].size(2))};
  const int w[2] = {static_cast<int>(phases[0].size(3)), static_cast<int>(phases[1].size(3))};
  TORCH_CHECK(phases[1].size(2) == h[0] && phases[3].size(2) == h[1] && phases[2].size(3) == w[0] &&
                  phases[3].size(3) == w[1] && (h[0] - h[1] == 0 || h[0] - h[1] == 1) &&
                  (w[0] - w[1] == 0 || w[0] - w[1] == 1),
              "phase shapes do not interleave into one image");
  const int N = phases[0].size(0), C = phases[0].size(1);
  const int Hy = h[0] + h[1], Wy = w[0] + w[1], taps = f.size(0);
  const int Hz = Hy + py0 + py1 - taps + 1, Wz = Wy + px0 + px1 - taps + 1;
  TORCH_CHECK(Hz > 0 && Wz > 0, "image smaller than the filter");
  const std::vector<float> g = conv_taps(f, false, static_cast<float>(std::sqrt(gain)));  // gain per pass
  const PolyphaseAxis ax(taps, px0, Wz, w);

  if (out.has_value())
    TORCH_CHECK(out->is_contiguous() && out->scalar_type() == torch::kFloat32 &&
                    out->sizes() == torch::IntArrayRef({N, C, Hz, Wz}), "out must be a contiguous [N, C, Hz, Wz]");
  auto z = out.has_value() ? *out : torch::empty({N, C, Hz, Wz}, phases[0].options());
  float* zd = z.data_ptr<float>();
  const float* pd[4];
  for (int i = 0; i < 4; ++i) pd[i] = phases[i].data_ptr<float>();
  at::parallel_for(0, static_cast<int64_t>(N) * C, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> buf[2], tmp(Wz), ring(static_cast<size_t>(taps) * Wz), wt;
    for (int b = 0; b < 2; ++b) buf[b].assign(ax.pad_left[b] + w[b] + ax.pad_right[b], 0.0f);
    std::vector<const float*> ptr(std::max(taps, 1));
    for (int64_t i = begin; i < end; ++i) {
      // Row r of the interleaved image, filtered horizontally, into ring row r % taps.
      auto filter_row = [&](int r) {
        const int a = r % 2, j = r / 2;
        for (int b = 0; b < 2; ++b) {
          const float* src = pd[2 * a + b] + (i * h[a] + j) * static_cast<int64_t>(w[b]);
          std::copy(src, src + w[b], buf[b].begin() + ax.pad_left[b]);
        }
        float* out = ring.data() + static_cast<size_t>(r % taps) * Wz;
        for (int c = 0; c < 2; ++c) {
          for (int t = 0; t < taps; ++t) {
            const int b = ax.phase[c][t];
            ptr[t] = buf[b].data() + ax.pad_left[b] + ax.offset[c][t];
          }
          combine(tmp.data(), ptr.data(), g.data(), taps, ax.count[c]);
          for (int m = 0; m < ax.count[c]; ++m) out[2 * m + c] = tmp[m];
        }
      };
      int next = 0;  // next image row to filter horizontally
      for (int yo = 0; yo < Hz; ++yo) {
        for (const int last = std::min(Hy - 1, yo - static_cast<int>(py0) + taps - 1); next <= last; ++next)
          filter_row(next);
        int n = 0;
        wt.clear();
        for (int t = 0; t < taps; ++t) {
          const int r = yo + t - static_cast<int>(py0);
          if (r < 0 || r >= Hy) continue;  // zero padding
          ptr[n++] = ring.data() + static_cast<size_t>(r % taps) * Wz;
          wt.push_back(g[t]);
        }
        combine(zd + (i * Hz + yo) * static_cast<int64_t>(Wz), ptr.data(), wt.data(), n, Wz);
      }
    }
  });
  return z;
}
