// glibc's vector math library (libmvec, linked through libm) for AVX-512 code paths: eight
// doubles or sixteen floats per call, at most 4 ulp of error. ENTROPIX_MVEC is defined where it exists (x86-64
// glibc); callers also check cpu::avx512_usable() at run time before taking such a path.
#pragma once

#if defined(__x86_64__) && defined(__GLIBC__)
#include <immintrin.h>
#define ENTROPIX_MVEC 1
extern "C" __attribute__((target("avx512f"))) __m512d _ZGVeN8v_log(__m512d);  // ln x, lane by lane
extern "C" __attribute__((target("avx512f"))) __m512d _ZGVeN8v_exp(__m512d);  // e^x, lane by lane
extern "C" __attribute__((target("avx512f"))) __m512 _ZGVeN16v_expf(__m512);  // e^x, float lanes
#endif
