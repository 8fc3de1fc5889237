// glibc's vector math library (libmvec, linked through libm) for AVX-512 code paths: eight
// doubles or sixteen floats per call, at most 4 ulp of error. ENTROPIX_MVEC is defined where it
// exists (x86-64 glibc); a path that uses it is taken only when vector_math_usable().
#pragma once

#include <cstdint>

#include "entropix/util/cpu_features.h"

#if defined(__x86_64__) && defined(__GLIBC__)
#include <immintrin.h>
#define ENTROPIX_MVEC 1
extern "C" __attribute__((target("avx512f"))) __m512d _ZGVeN8v_log(__m512d);  // ln x, lane by lane
extern "C" __attribute__((target("avx512f"))) __m512d _ZGVeN8v_exp(__m512d);  // e^x, lane by lane
extern "C" __attribute__((target("avx512f"))) __m512 _ZGVeN16v_expf(__m512);  // e^x, float lanes
#endif

namespace entropix::simd {

// Whether this CPU and OS run the AVX-512 paths (checked once).
inline bool vector_math_usable() {
#ifdef ENTROPIX_MVEC
  static const bool usable = cpu::avx512_usable();
  return usable;
#else
  return false;
#endif
}

#ifdef ENTROPIX_MVEC
// The first `remaining` lanes of a block (all of them when remaining fills it): the mask for a
// row's last, partial block.
inline __mmask16 first_lanes16(int64_t remaining) {
  return remaining >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << remaining) - 1);
}
inline __mmask8 first_lanes8(int64_t remaining) {
  return remaining >= 8 ? __mmask8(0xFF) : __mmask8((1u << remaining) - 1);
}

// Reductions over the lanes, in lane order, through memory (GCC 12 warns falsely about the
// _mm512_reduce_* intrinsics).
__attribute__((target("avx512f"))) inline float lanes_max(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float m = lanes[0];
  for (float x : lanes) m = x > m ? x : m;
  return m;
}
__attribute__((target("avx512f"))) inline double lanes_sum(__m512 v) {  // float lanes, summed in double
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  double s = 0;
  for (float x : lanes) s += x;
  return s;
}
__attribute__((target("avx512f"))) inline double lanes_sum(__m512d v) {
  alignas(64) double lanes[8];
  _mm512_store_pd(lanes, v);
  double s = 0;
  for (double x : lanes) s += x;
  return s;
}
#endif

}  // namespace entropix::simd
