// A sparse 1x1 convolution for BlazePose's detector on the CPU (pipeline/pose/sparse_kernel.py builds and loads it).
//
// 75% of the detector's 1x1 weights are zero, scattered.  oneDNN's dense kernels multiply them all; this kernel, in
// XNNPACK's manner, keeps each output channel's non-zero weights (CSR) and, on a tile of 32 pixels transposed so
// that a vector holds 8 pixels of one channel, adds weight x input row for each non-zero only.  The tensors stay
// NHWC (channels_last), as oneDNN's depthwise convolutions around it read and write them.
//
// The same bits on every CPU that runs it: each output value is the bias, then its channel's non-zeros added in
// one fixed order with fused multiply-adds, whatever the batch, the tile or the pixel's place in it; no run-time
// choice of instructions (AVX2 and FMA, checked by supported(); without them the caller keeps oneDNN).
#include <torch/extension.h>
#include <immintrin.h>
#include <cstring>
#include <vector>

static constexpr int TILE = 32;  // pixels per tile: four AVX vectors

// One tile of V*8 pixels (inT: [cin][TILE], outT: [cout][TILE]); two output channels at a time, so that 2*V sums
// run side by side (FMA latency); each channel's sum is in its own fixed order: bias, then its non-zeros in order.
template <int V>
__attribute__((target("avx2,fma")))
static void tile_avx2(const float* inT, const int32_t* rowptr, const int32_t* cols, const float* vals, const float* bias,
                      int64_t cout, float* outT) {
  int64_t c = 0;
  for (; c + 1 < cout; c += 2) {
    __m256 a[V], b[V];
    for (int v = 0; v < V; ++v) { a[v] = _mm256_set1_ps(bias[c]); b[v] = _mm256_set1_ps(bias[c + 1]); }
    int32_t i = rowptr[c], ie = rowptr[c + 1], j = rowptr[c + 1], je = rowptr[c + 2];
    for (; i < ie && j < je; ++i, ++j) {
      const float* ra = inT + (int64_t)cols[i] * TILE;
      const float* rb = inT + (int64_t)cols[j] * TILE;
      __m256 wa = _mm256_broadcast_ss(vals + i), wb = _mm256_broadcast_ss(vals + j);
      for (int v = 0; v < V; ++v) {
        a[v] = _mm256_fmadd_ps(wa, _mm256_loadu_ps(ra + 8 * v), a[v]);
        b[v] = _mm256_fmadd_ps(wb, _mm256_loadu_ps(rb + 8 * v), b[v]);
      }
    }
    for (; i < ie; ++i) {
      const float* ra = inT + (int64_t)cols[i] * TILE;
      __m256 wa = _mm256_broadcast_ss(vals + i);
      for (int v = 0; v < V; ++v) a[v] = _mm256_fmadd_ps(wa, _mm256_loadu_ps(ra + 8 * v), a[v]);
    }
    for (; j < je; ++j) {
      const float* rb = inT + (int64_t)cols[j] * TILE;
      __m256 wb = _mm256_broadcast_ss(vals + j);
      for (int v = 0; v < V; ++v) b[v] = _mm256_fmadd_ps(wb, _mm256_loadu_ps(rb + 8 * v), b[v]);
    }
    for (int v = 0; v < V; ++v) { _mm256_storeu_ps(outT + c * TILE + 8 * v, a[v]); _mm256_storeu_ps(outT + (c + 1) * TILE + 8 * v, b[v]); }
  }
  for (; c < cout; ++c) {
    __m256 a[V];
    for (int v = 0; v < V; ++v) a[v] = _mm256_set1_ps(bias[c]);
    for (int32_t i = rowptr[c]; i < rowptr[c + 1]; ++i) {
      const float* ra = inT + (int64_t)cols[i] * TILE;
      __m256 wa = _mm256_broadcast_ss(vals + i);
      for (int v = 0; v < V; ++v) a[v] = _mm256_fmadd_ps(wa, _mm256_loadu_ps(ra + 8 * v), a[v]);
    }
    for (int v = 0; v < V; ++v) _mm256_storeu_ps(outT + c * TILE + 8 * v, a[v]);
  }
}


__attribute__((target("avx2,fma")))
static inline void transpose8(__m256 r[8]) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20); r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20); r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31); r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31); r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

static inline float activate(float v, int64_t activation) {
  if (activation == 1 || activation == 3) v = v > 0.f ? v : 0.f;
  if (activation == 3) v = v < 6.f ? v : 6.f;
  return v;
}

// Pixels [p0, p0 + count) of src ([pixels][cin], cin a multiple of 8) into inT ([cin][TILE]), zeros past count.
__attribute__((target("avx2,fma")))
static void gather_tile(const float* src, int64_t cin, int64_t p0, int64_t count, int vectors, float* inT) {
  for (int pb = 0; pb < vectors * 8; pb += 8) {
    for (int64_t kb = 0; kb < cin; kb += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = pb + i < count ? _mm256_loadu_ps(src + (p0 + pb + i) * cin + kb) : _mm256_setzero_ps();
      transpose8(r);
      for (int j = 0; j < 8; ++j) _mm256_storeu_ps(inT + (kb + j) * TILE + pb, r[j]);
    }
  }
}

// outT ([cout][TILE]) back to dst ([pixels][cout]) for pixels [p0, p0 + count), plus the residual, activated.
__attribute__((target("avx2,fma")))
static void scatter_tile(const float* outT, const float* other, int64_t cout, int64_t p0, int64_t count, int64_t activation, float* dst) {
  const __m256 zero = _mm256_setzero_ps(), six = _mm256_set1_ps(6.f);
  const int64_t whole = cout / 8 * 8;
  for (int64_t pb = 0; pb < count; pb += 8) {
    for (int64_t cb = 0; cb < whole; cb += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(outT + (cb + i) * TILE + pb);
      transpose8(r);
      for (int j = 0; j < 8 && pb + j < count; ++j) {
        const int64_t at = (p0 + pb + j) * cout + cb;
        __m256 v = r[j];
        if (other) v = _mm256_add_ps(v, _mm256_loadu_ps(other + at));
        if (activation == 1 || activation == 3) v = _mm256_max_ps(v, zero);
        if (activation == 3) v = _mm256_min_ps(v, six);
        _mm256_storeu_ps(dst + at, v);
      }
    }
    for (int64_t c = whole; c < cout; ++c) {
      for (int64_t j = 0; j < 8 && pb + j < count; ++j) {
        const int64_t at = (p0 + pb + j) * cout + c;
        float v = outT[c * TILE + pb + j];
        if (other) v = v + other[at];
        dst[at] = activate(v, activation);
      }
    }
  }
}

torch::Tensor sparse_pointwise(torch::Tensor input, torch::Tensor rowptr, torch::Tensor cols, torch::Tensor vals,
                               torch::Tensor bias, int64_t activation, c10::optional<torch::Tensor> residual) {
  const int64_t n = input.size(0), cin = input.size(1), h = input.size(2), w = input.size(3);
  const int64_t cout = bias.size(0), pixels = n * h * w;
  TORCH_CHECK(input.dim() == 4 && input.device().is_cpu() && input.scalar_type() == at::kFloat,
              "the sparse 1x1 convolution takes a 4-D float32 CPU tensor");
  TORCH_CHECK(cin % 8 == 0, "the sparse 1x1 convolution needs input channels in multiples of 8, not ", cin);
  TORCH_CHECK(rowptr.scalar_type() == at::kInt && cols.scalar_type() == at::kInt && vals.scalar_type() == at::kFloat
              && bias.scalar_type() == at::kFloat && rowptr.numel() == cout + 1 && cols.numel() == vals.numel()
              && rowptr.is_contiguous() && cols.is_contiguous() && vals.is_contiguous() && bias.is_contiguous(),
              "the sparse weights must be int32 row pointers (one per output channel, plus one), int32 columns and "
              "float32 values and bias, contiguous");
  TORCH_CHECK(!residual || residual->sizes() == at::IntArrayRef({n, cout, h, w}), "the residual must have the output's shape");
  auto in = input.contiguous(at::MemoryFormat::ChannelsLast);
  auto out = torch::empty({n, cout, h, w}, input.options().memory_format(at::MemoryFormat::ChannelsLast));
  const float* src = in.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const float* other = nullptr;
  torch::Tensor res;
  if (residual) { res = residual->contiguous(at::MemoryFormat::ChannelsLast); other = res.data_ptr<float>(); }
  // the tiles' buffers, kept by the thread between calls (no allocation, no zeroing: every value read is written)
  thread_local std::vector<float> inT, outT;
  if ((int64_t)inT.size() < cin * TILE) inT.resize(cin * TILE);
  if ((int64_t)outT.size() < cout * TILE) outT.resize(cout * TILE);

  const int32_t* rp = rowptr.data_ptr<int32_t>(); const int32_t* cl = cols.data_ptr<int32_t>();
  const float* vl = vals.data_ptr<float>(); const float* bs = bias.data_ptr<float>();
  for (int64_t p0 = 0; p0 < pixels; p0 += TILE) {
    const int64_t count = std::min<int64_t>(TILE, pixels - p0);
    const int vectors = (int)((count + 7) / 8);
    gather_tile(src, cin, p0, count, vectors, inT.data());
    switch (vectors) {
      case 4: tile_avx2<4>(inT.data(), rp, cl, vl, bs, cout, outT.data()); break;
      case 3: tile_avx2<3>(inT.data(), rp, cl, vl, bs, cout, outT.data()); break;
      case 2: tile_avx2<2>(inT.data(), rp, cl, vl, bs, cout, outT.data()); break;
      default: tile_avx2<1>(inT.data(), rp, cl, vl, bs, cout, outT.data()); break;
    }
    scatter_tile(outT.data(), other, cout, p0, count, activation, dst);
  }
  return out;
}

static bool supported() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("sparse_pointwise", &sparse_pointwise, "act(W x + bias [+ residual]) for a CSR W, NHWC tensors");
  m.def("supported", &supported, "whether this CPU has the instructions the kernel uses (AVX2, FMA)");
}
