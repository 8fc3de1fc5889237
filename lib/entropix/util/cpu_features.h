// What the CPU and the operating system let this process use (x86-64; false elsewhere).
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace entropix::cpu {

#if defined(__x86_64__) || defined(__i386__)
// XCR0: which register states the OS saves on context switches. AVX needs XMM|YMM (bits 1-2);
// AVX-512 also opmask, ZMM_Hi256 and Hi16_ZMM (bits 5-7).
inline unsigned long long xcr0() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}

inline bool avx2_usable() {
  __builtin_cpu_init();
  return (xcr0() & 0x6) == 0x6 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// AVX-512 F, BW, DQ and VL (OpenBLAS's SkylakeX kernels need all four).
inline bool avx512_usable() {
  __builtin_cpu_init();
  return (xcr0() & 0xe6) == 0xe6 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}
#else
inline bool avx2_usable() { return false; }
inline bool avx512_usable() { return false; }
#endif

}  // namespace entropix::cpu
