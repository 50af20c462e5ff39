// Row kernels shared by the fused CPU ops: an output row as a weighted sum of whole input rows.
#pragma once

#include <algorithm>

namespace fir_rows {

// y[i] (= or +=) sum_k a[k] * x[k][i] for K taps; K is a constant so the sum stays in registers.
template <int K, bool Init>
inline void madd(float* __restrict y, const float* const* x, const float* a, int n) {
  const float* p[K];
  float c[K];
  for (int k = 0; k < K; ++k) {
    p[k] = x[k];
    c[k] = a[k];
  }
  for (int i = 0; i < n; ++i) {
    float s = Init ? 0.0f : y[i];
    for (int k = 0; k < K; ++k) s += c[k] * p[k][i];
    y[i] = s;
  }
}

template <int K>
inline void madd(float* y, const float* const* x, const float* a, int n, bool init) {
  init ? madd<K, true>(y, x, a, n) : madd<K, false>(y, x, a, n);
}

// y[i] = sum over taps of a[k] * x[k][i], taps in order, eight at a time (one pass over y per group).
inline void combine(float* y, const float* const* x, const float* a, int taps, int n) {
  if (taps == 0) {
    std::fill(y, y + n, 0.0f);
    return;
  }
  int k = 0;
  for (; taps - k >= 8; k += 8) madd<8>(y, x + k, a + k, n, k == 0);
  const bool init = k == 0;
  switch (taps - k) {
    case 7: madd<7>(y, x + k, a + k, n, init); break;
    case 6: madd<6>(y, x + k, a + k, n, init); break;
    case 5: madd<5>(y, x + k, a + k, n, init); break;
    case 4: madd<4>(y, x + k, a + k, n, init); break;
    case 3: madd<3>(y, x + k, a + k, n, init); break;
    case 2: madd<2>(y, x + k, a + k, n, init); break;
    case 1: madd<1>(y, x + k, a + k, n, init); break;
    default: break;
  }
}

inline int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

}  // namespace fir_rows
