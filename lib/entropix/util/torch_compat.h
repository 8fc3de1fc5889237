// The one place where LibTorch 1.13 (Debian) and LibTorch 2.x (CUDA clusters) differ.
// Everything version-dependent goes here, gated on TORCH_VERSION_MAJOR.
#pragma once
#include <torch/torch.h>
#include <torch/version.h>

#include <string>

namespace entropix::compat {

inline std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

// clip_grad_norm_ returns the total norm (before clipping) as a double in both versions.
inline double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  return torch::nn::utils::clip_grad_norm_(params, max_norm);
}

inline bool cuda_available() { return torch::cuda::is_available(); }

}  // namespace entropix::compat
