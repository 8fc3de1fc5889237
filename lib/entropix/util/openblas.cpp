#include "entropix/util/openblas.h"

#include "entropix/util/cpu_features.h"

#include <dlfcn.h>

#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <string>

namespace entropix {
namespace {

// The selection made by select_openblas_kernels, for blas_info().
std::string g_detected;

template <typename Fn>
Fn openblas_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

std::string call_string(const char* name) {
  auto fn = openblas_symbol<char* (*)()>(name);
  const char* s = fn ? fn() : nullptr;
  return s ? std::string(s) : std::string();
}

// OpenBLAS core names whose kernels predate AVX2: what DYNAMIC_ARCH falls back to for a CPU it
// does not recognise.
bool pre_avx2_core(const std::string& core) {
  static const char* const legacy[] = {"Prescott", "Core2",     "Penryn",    "Dunnington", "Nehalem",
                                       "Atom",     "Katmai",    "Coppermine", "Northwood", "Banias",
                                       "Opteron",  "Opteron(SSE3)", "Barcelona", "Bobcat",  "Unknown",
                                       "Sandybridge", "Bulldozer"};
  return std::any_of(std::begin(legacy), std::end(legacy), [&](const char* name) { return core == name; });
}

}  // namespace

void select_openblas_kernels() {
  if (std::getenv("OPENBLAS_CORETYPE")) return;  // the user's choice stands
  auto quit = openblas_symbol<void (*)()>("gotoblas_dynamic_quit");
  auto init = openblas_symbol<void (*)()>("gotoblas_dynamic_init");
  if (!quit || !init) return;  // not OpenBLAS, or built for one fixed CPU
  const std::string detected = call_string("openblas_get_corename");
  if (!pre_avx2_core(detected)) return;
  const char* better = cpu::avx512_usable() ? "SkylakeX" : cpu::avx2_usable() ? "Haswell" : nullptr;
  if (!better) return;
  // gotoblas_dynamic_init reads OPENBLAS_CORETYPE only while no kernel table is set: clear it,
  // name the kernels, initialise again. OpenBLAS keeps no per-kernel state before its first call.
  setenv("OPENBLAS_CORETYPE", better, /*overwrite=*/0);
  quit();
  init();
  unsetenv("OPENBLAS_CORETYPE");  // child processes decide for themselves
  g_detected = detected;
}

void set_openblas_threads(int threads) {
  if (auto fn = openblas_symbol<void (*)(int)>("openblas_set_num_threads")) fn(std::max(1, threads));
}

void set_compute_threads(int threads) {
  torch::set_num_threads(std::max(1, threads));
  set_openblas_threads(threads);
}

BlasInfo blas_info() {
  BlasInfo info;
  info.openblas = openblas_symbol<void*>("openblas_get_config") != nullptr;
  if (!info.openblas) return info;
  info.config = call_string("openblas_get_config");
  info.core = call_string("openblas_get_corename");
  info.detected = g_detected;
  if (auto fn = openblas_symbol<int (*)()>("openblas_get_num_threads")) info.threads = fn();
  return info;
}

}  // namespace entropix
