// OpenBLAS, where LibTorch uses it for fp32 matrix products (Debian's LibTorch links the system
// BLAS; with libopenblas0-pthread installed that is OpenBLAS, built with DYNAMIC_ARCH: it picks
// its kernels from the CPU model at load time).
//
// OpenBLAS 0.3.21 (Debian 12) does not know recent Xeon models (e.g. family 6 model 207) and
// falls back to its generic "Prescott" (SSE3) kernels: about 30 GFLOP/s per core instead of
// about 140 with its AVX-512 ones on the same core (docs/performance.md). These functions find
// the OpenBLAS in the process, if any, at run time (no link dependency), and re-select its
// kernels from what the CPU and the OS actually support.
#pragma once
#include <string>

namespace entropix {

struct BlasInfo {
  bool openblas = false;  // OpenBLAS is loaded in this process
  std::string config;     // openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ..."
  std::string core;       // kernels in use, e.g. "SkylakeX"
  std::string detected;   // what OpenBLAS chose by itself, when entropix re-selected
  int threads = 0;        // OpenBLAS's own thread pool size
};

// When OpenBLAS (DYNAMIC_ARCH) fell back to kernels older than the CPU supports, switches it to
// SkylakeX (AVX-512 F/BW/DQ/VL usable) or Haswell (AVX2 + FMA usable). Does nothing when the
// user set OPENBLAS_CORETYPE, when OpenBLAS is not loaded, or when its choice already uses AVX2.
// Call before the first matrix product. Results change only by float rounding (another
// summation order inside the kernels).
void select_openblas_kernels();

// Sets OpenBLAS's own thread pool (separate from LibTorch's OpenMP threads); no-op without OpenBLAS.
void set_openblas_threads(int threads);

// The CPU threads of training: LibTorch's intra-op (OpenMP) threads and OpenBLAS's pool alike,
// so that a matrix product uses as many cores as the element-wise work around it. (OpenBLAS's
// pool otherwise keeps its own default, every core, whatever train.threads says.)
void set_compute_threads(int threads);

BlasInfo blas_info();

}  // namespace entropix
