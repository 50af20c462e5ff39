// Fused CPU filtered leaky ReLU (StyleGAN3 inference): bias -> upsample by `up` with a separable FIR ->
// leaky ReLU, gain, clamp -> FIR low-pass (separable or 2D) -> keep every `down`-th sample. Same arguments
// and results as the pure-torch reference in ops/filtered_lrelu.py (summed in the same tap order).
//
// One image plane at a time, streamed row by row through two small rings of rows, so the 4x-upsampled
// plane the reference materialises never exists and the working set stays in the core's caches.
// Every FIR pass is "an output row is a weighted sum of whole rows" (a contiguous multiply-add the
// compiler vectorises). Horizontally this needs polyphase layouts: an upsampled row is kept phase-major
// (sample r + up * m stored at r * mu + m), which is exactly what a polyphase upsampler produces and,
// because `down` divides `up`, what the downsampler can read contiguously; its output comes out
// phase-major in g = up / down phases and is interleaved once per output row. Inserted zeros are never
// multiplied.

#include "kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "fir_rows.h"

namespace {

using fir_rows::ceil_div;
using fir_rows::combine;
using fir_rows::floor_div;

// One output phase of a polyphase upsampler: outputs r + up * m (m < count) read the padded input at
// m + offset[t] with weight weight[t].
struct Phase {
  int count = 0;
  std::vector<int> offset;
  std::vector<float> weight;
};

struct Plan {
  int H, W, Hu, Wu, Ho, Wo, up, down, py0;
  int mu;  // samples per phase of a phase-major upsampled row (up * mu >= Wu)
  int g, mo;  // output phases (up / down) and samples per output phase (g * mo >= Wo)
  int fdh, fdw;
  int pad_left, pad_right;  // zeros around an input row so every horizontal tap reads inside it
  float gain, slope, clamp;  // clamp < 0: none
  std::vector<Phase> hup;  // horizontal upsampling, one per phase of the upsampled row
  std::vector<float> gu;  // vertical upsampling taps (flipped, scaled)
  std::vector<float> gdx, gdy;  // separable downsampling taps (flipped); gdx empty when 2D
  std::vector<float> gd2;  // 2D downsampling taps [fdh * fdw] (flipped) or empty
  std::vector<int> hoff;  // [g * fdw]: where output phase s's tap kx starts in a phase-major row
  std::vector<int> ocount;  // [g]: outputs of each output phase
};

// One [H, W] plane -> one [Ho, Wo] plane. Scratch belongs to the calling thread.
struct PlaneWorker {
  const Plan& p;
  int ring_a, ring_v;  // rows kept of the horizontally upsampled input / of the downsampler's input
  size_t a_stride, v_stride;
  std::vector<float> row, a, urow, v, oph;
  std::vector<const float*> ptr;
  std::vector<float> w;

  explicit PlaneWorker(const Plan& plan) : p(plan) {
    const int fu = static_cast<int>(p.gu.size());
    ring_a = ceil_div(fu, p.up) + 1;  // an upsampled row reads ceil(fu / up) consecutive input rows
    ring_v = p.fdh;  // an output row reads fdh consecutive rows
    a_stride = static_cast<size_t>(p.up) * p.mu;
    v_stride = p.gd2.empty() ? static_cast<size_t>(p.g) * p.mo : a_stride;
    row.assign(p.pad_left + p.W + p.pad_right, 0.0f);
    // Zero-filled: the unused tail of each phase stays 0, so whole-row passes never see garbage.
    a.assign(ring_a * a_stride, 0.0f);
    urow.assign(a_stride, 0.0f);
    v.assign(ring_v * v_stride, 0.0f);
    oph.assign(static_cast<size_t>(p.g) * p.mo, 0.0f);
    ptr.resize(std::max<size_t>({p.gu.size(), p.gdx.size(), p.gdy.size(), p.gd2.size(), 8}));
    w.reserve(fu);
  }

  // Horizontal upsampling of the biased input row `x` into a phase-major row `out`.
  void upsample_row(const float* x, float bias, float* out) {
    float* r = row.data() + p.pad_left;
    for (int i = 0; i < p.W; ++i) r[i] = x[i] + bias;
    for (int r0 = 0; r0 < p.up; ++r0) {
      const Phase& phase = p.hup[r0];
      const int taps = static_cast<int>(phase.offset.size());
      for (int t = 0; t < taps; ++t) ptr[t] = r + phase.offset[t];
      combine(out + r0 * p.mu, ptr.data(), phase.weight.data(), taps, phase.count);
    }
  }

  // Upsampled row `oy` (phase-major): vertical taps over the ring of input rows, then the nonlinearity.
  void upsampled_row(int oy, float* out) {
    int taps = 0;
    const int fu = static_cast<int>(p.gu.size());
    for (int k = 0; k < fu; ++k) {
      const int q = oy - p.py0 + k;  // zero-inserted row read by tap k
      if (q < 0 || q % p.up != 0 || q / p.up >= p.H) continue;
      ptr[taps++] = a.data() + (q / p.up) % ring_a * a_stride;
      w.push_back(p.gu[k]);
    }
    const int n = static_cast<int>(a_stride);
    combine(out, ptr.data(), w.data(), taps, n);
    w.clear();
    // min/max instead of a branch on the sign (random signs mispredict; min/max vectorise), with the
    // reference's roundings: x * slope (or x), times gain, then the clamp.
    const float gain = p.gain, slope = p.slope, c = p.clamp;
    for (int i = 0; i < n; ++i) {
      const float s = out[i];
      out[i] = (std::max(s, 0.0f) + slope * std::min(s, 0.0f)) * gain;
    }
    if (c >= 0)
      for (int i = 0; i < n; ++i) out[i] = std::min(std::max(out[i], -c), c);
  }

  // Horizontal downsampling of the phase-major rows `rows[ky]` (ky < fdh; one row when separable) into
  // the output-phase-major `out`.
  void downsample_rows(const float* const* rows, const std::vector<float>& taps2, int nrows, float* out) {
    for (int s = 0; s < p.g; ++s) {
      int t = 0;
      for (int ky = 0; ky < nrows; ++ky)
        for (int kx = 0; kx < p.fdw; ++kx) ptr[t++] = rows[ky] + p.hoff[s * p.fdw + kx];
      combine(out + s * p.mo, ptr.data(), taps2.data(), t, p.ocount[s]);
    }
  }

  // out[g * t + s] = ph[s * mo + t]: the output row in natural order.
  void interleave(const float* ph, float* out) {
    for (int s = 0; s < p.g; ++s)
      for (int t = 0; t < p.ocount[s]; ++t) out[p.g * t + s] = ph[s * p.mo + t];
  }

  const float* ring_row(int i) const { return v.data() + i % ring_v * v_stride; }

  void run(const float* x, float bias, float* y) {
    const bool separable = p.gd2.empty();
    const int fu = static_cast<int>(p.gu.size());
    int next_in = 0;  // next input row to upsample horizontally
    for (int oy = 0; oy < p.Hu; ++oy) {
      for (const int last = std::min(p.H - 1, floor_div(oy - p.py0 + fu - 1, p.up)); next_in <= last; ++next_in)
        upsample_row(x + static_cast<size_t>(next_in) * p.W, bias, a.data() + next_in % ring_a * a_stride);
      float* vrow = v.data() + oy % ring_v * v_stride;
      if (separable) {  // horizontal downsampling at once; the ring keeps fdh rows for the vertical pass
        upsampled_row(oy, urow.data());
        const float* r = urow.data();
        downsample_rows(&r, p.gdx, 1, vrow);
      } else {  // 2D filter: the ring keeps the upsampled rows themselves
        upsampled_row(oy, vrow);
      }
      const int first = oy - (p.fdh - 1);  // the output row whose last input row is oy, if any
      if (first < 0 || first % p.down != 0 || first / p.down >= p.Ho) continue;
      float* out = y + static_cast<size_t>(first / p.down) * p.Wo;
      float* dst = p.g == 1 ? out : oph.data();
      if (separable) {
        for (int k = 0; k < p.fdh; ++k) ptr[k] = ring_row(first + k);
        combine(dst, ptr.data(), p.gdy.data(), p.fdh, p.g * p.mo);
      } else {
        std::vector<const float*> rows(p.fdh);
        for (int k = 0; k < p.fdh; ++k) rows[k] = ring_row(first + k);
        downsample_rows(rows.data(), p.gd2, p.fdh, dst);
      }
      if (p.g > 1) interleave(oph.data(), out);
    }
  }
};

Plan make_plan(int H, int W, const torch::Tensor& fu, const torch::Tensor& fd, int up, int down, int px0,
               int px1, int py0, int py1, float gain, float slope, float clamp, bool flip) {
  Plan p;
  const int fuw = fu.size(0);
  p.fdw = fd.size(-1);
  p.fdh = fd.size(0);  // a 1D filter is square
  p.H = H;
  p.W = W;
  p.up = up;
  p.down = down;
  p.py0 = py0;
  p.Wu = W * up + px0 + px1 - fuw + 1;
  p.Hu = H * up + py0 + py1 - fuw + 1;
  TORCH_CHECK(p.Wu >= p.fdw && p.Hu >= p.fdh, "image smaller than the filters");
  p.Wo = (p.Wu - p.fdw) / down + 1;
  p.Ho = (p.Hu - p.fdh) / down + 1;
  p.gain = gain;
  p.slope = slope;
  p.clamp = clamp;
  p.mu = ceil_div(p.Wu, up);
  p.g = up / down;
  p.mo = ceil_div(p.Wo, p.g);

  // A separable filter is applied once per axis, so each pass carries sqrt(up * up) = up.
  p.gu = conv_taps(fu, flip, static_cast<float>(up));
  int lo = 0, hi = W - 1;
  p.hup.resize(up);
  for (int r = 0; r < up; ++r) {
    Phase& ph = p.hup[r];
    ph.count = r < p.Wu ? ceil_div(p.Wu - r, up) : 0;
    for (int k = 0; k < fuw; ++k) {
      const int q = r - px0 + k;  // zero-inserted position read by tap k of output r
      if (((q % up) + up) % up != 0) continue;  // an inserted zero
      ph.offset.push_back(q / up);  // exact division, also for negative q
      ph.weight.push_back(p.gu[k]);
      lo = std::min(lo, q / up);
      hi = std::max(hi, q / up + ph.count - 1);
    }
  }
  p.pad_left = -lo;
  p.pad_right = hi - (W - 1);

  if (fd.dim() == 1)
    p.gdx = p.gdy = conv_taps(fd, flip, 1.0f);
  else
    p.gd2 = conv_taps(fd.flatten(), flip, 1.0f);  // reversing the flat taps flips both axes
  p.hoff.resize(p.g * p.fdw);
  p.ocount.resize(p.g);
  for (int s = 0; s < p.g; ++s) {
    p.ocount[s] = s < p.Wo ? ceil_div(p.Wo - s, p.g) : 0;
    for (int kx = 0; kx < p.fdw; ++kx) {
      const int j = s * down + kx;  // upsampled sample read by tap kx of output s (t = 0)
      p.hoff[s * p.fdw + kx] = j % up * p.mu + j / up;
    }
  }
  return p;
}

}  // namespace

// x [N, C, H, W] float32; fu 1D; fd 1D or 2D; b [C]; `down` divides `up`. Returns [N, C, Ho, Wo].
torch::Tensor filtered_lrelu(torch::Tensor x, torch::Tensor fu, torch::Tensor fd, torch::Tensor b, int64_t up,
                             int64_t down, int64_t px0, int64_t px1, int64_t py0, int64_t py1, double gain,
                             double slope, double clamp, bool flip_filter) {
  TORCH_CHECK(x.dim() == 4 && x.scalar_type() == torch::kFloat32 && x.device().is_cpu(),
              "x must be a float32 CPU tensor [N, C, H, W]");
  TORCH_CHECK(fu.dim() == 1 && fu.scalar_type() == torch::kFloat32, "fu must be a 1D float32 filter");
  TORCH_CHECK((fd.dim() == 1 || fd.dim() == 2) && fd.scalar_type() == torch::kFloat32,
              "fd must be a 1D or 2D float32 filter");
  TORCH_CHECK(b.dim() == 1 && b.size(0) == x.size(1) && b.scalar_type() == torch::kFloat32, "b must be [C]");
  TORCH_CHECK(up >= 1 && down >= 1 && up % down == 0, "down must divide up");
  x = x.contiguous();
  b = b.contiguous();
  const int N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const Plan p = make_plan(H, W, fu, fd, up, down, px0, px1, py0, py1, gain, slope, clamp, flip_filter);

  auto y = torch::empty({N, C, p.Ho, p.Wo}, x.options());
  const float* xd = x.data_ptr<float>();
  const float* bd = b.data_ptr<float>();
  float* yd = y.data_ptr<float>();
  const size_t in_plane = static_cast<size_t>(H) * W, out_plane = static_cast<size_t>(p.Ho) * p.Wo;
  at::parallel_for(0, static_cast<int64_t>(N) * C, 1, [&](int64_t begin, int64_t end) {
    PlaneWorker worker(p);
    for (int64_t i = begin; i < end; ++i) worker.run(xd + i * in_plane, bd[i % C], yd + i * out_plane);
  });
  return y;
}

// The extension module that ops/cpu_kernels.py loads: every op declared in kernels.h.
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("filtered_lrelu", &filtered_lrelu, "fused filtered leaky ReLU (CPU, float32, inference)");
  m.def("bias_noise_lrelu_", &bias_noise_lrelu_, "(x + noise) + bias -> leaky ReLU, gain, clamp, in place");
  m.def("fir_phases", &fir_phases, "FIR low-pass of an image given as its four 2x2 polyphase components");
  m.def("nnpack_conv3x3_out", &nnpack_conv3x3_out, "NNPACK's 3x3 convolution of one image into a given output");
}
