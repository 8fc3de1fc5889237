// The one place where LibTorch 1.13 (Debian) and LibTorch 2.x (CUDA clusters) differ.
// Everything version-dependent goes here, gated on TORCH_VERSION_MAJOR.
#pragma once
#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

// 2.9 and later expose the CUDA caching allocator's statistics through c10's generic device
// allocator interface, so reading them needs no CUDA headers or c10_cuda link (the
// interface appeared around 2.8; 2.9 is the first version this project relies on for it).
#define ENTROPIX_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))
#if ENTROPIX_TORCH_AT_LEAST(2, 9)
#include <c10/core/CachingDeviceAllocator.h>
#endif
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/autograd/profiler_kineto.h>
#else
#include <torch/csrc/autograd/profiler_legacy.h>
#endif

namespace entropix::compat {

inline std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

// Global L2 norm of the parameters' gradients (before clipping), as a double; the gradients are
// scaled by max_norm / (norm + 1e-6) when that is below 1, which is what clip_grad_norm_ does.
// On 2.x the norms come from one _foreach_norm and the scaling is one _foreach_mul_, and only when
// it changes something: clip_grad_norm_ multiplies every gradient by the clamped factor (1 when
// not clipping), a pass over all of them each step. 1.13: clip_grad_norm_ itself.
inline double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
#if TORCH_VERSION_MAJOR >= 2
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;
  const std::vector<torch::Tensor> norms = at::_foreach_norm(grads, 2);  // one () per gradient
  const double total = at::linalg_vector_norm(at::stack(norms), 2).item<double>();
  const double factor = max_norm / (total + 1e-6);
  if (factor < 1.0) at::_foreach_mul_(grads, factor);  // (NaN total: no factor; the step skips the update)
  return total;
#else
  return torch::nn::utils::clip_grad_norm_(params, max_norm);
#endif
}

inline bool cuda_available() { return torch::cuda::is_available(); }

// Waits for the device's queued work (CUDA); nothing to wait for on the CPU. For timing.
inline void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

// ---- Mixed precision (train.precision: bf16) ---------------------------------------------
// Autocast to bfloat16 on `device` for the guard's lifetime, as `torch.autocast(device_type,
// dtype=torch.bfloat16)` does in Python: matmuls and linear layers run in bf16, precision-
// sensitive ops (softmax, log_softmax, norms, losses) stay in fp32, parameters stay fp32.
// Disabled (a no-op) when `enabled` is false. LibTorch 1.13 has no C++ guard and names the
// state per device type (set_enabled for CUDA, set_cpu_enabled for CPU); 2.4 and later take the
// device type as an argument.
class AutocastGuard {
 public:
  AutocastGuard(const torch::Device& device, bool enabled) : type_(device.type()), active_(enabled) {
    if (!active_) return;
    TORCH_CHECK(type_ == c10::DeviceType::CPU || type_ == c10::DeviceType::CUDA,
                "bf16 autocast needs a CPU or CUDA device, got ", device);
    prev_enabled_ = is_enabled(type_);
    prev_dtype_ = get_dtype(type_);
    set_enabled(type_, true);
    set_dtype(type_, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!active_) return;
    // Leaving the outermost autocast region frees the cache of bf16 weight copies.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_enabled(type_, prev_enabled_);
    set_dtype(type_, prev_dtype_);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

  static bool is_enabled(c10::DeviceType type) {
#if ENTROPIX_TORCH_AT_LEAST(2, 4)
    return at::autocast::is_autocast_enabled(type);
#else
    return type == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
  }

 private:
  static void set_enabled(c10::DeviceType type, bool on) {
#if ENTROPIX_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_enabled(type, on);
#else
    if (type == c10::DeviceType::CUDA) at::autocast::set_enabled(on);
    else at::autocast::set_cpu_enabled(on);
#endif
  }
  static at::ScalarType get_dtype(c10::DeviceType type) {
#if ENTROPIX_TORCH_AT_LEAST(2, 4)
    return at::autocast::get_autocast_dtype(type);
#else
    return type == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                         : at::autocast::get_autocast_cpu_dtype();
#endif
  }
  static void set_dtype(c10::DeviceType type, at::ScalarType dtype) {
#if ENTROPIX_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_dtype(type, dtype);
#else
    if (type == c10::DeviceType::CUDA) at::autocast::set_autocast_gpu_dtype(dtype);
    else at::autocast::set_autocast_cpu_dtype(dtype);
#endif
  }

  c10::DeviceType type_;
  bool active_;
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

// train.tf32: lets CUDA fp32 matmuls and convolutions use TF32 tensor cores (10-bit mantissa
// inputs, fp32 accumulation). Process-wide; has no effect on the CPU.
inline void set_tf32(bool allowed) {
  at::globalContext().setAllowTF32CuBLAS(allowed);
  at::globalContext().setAllowTF32CuDNN(allowed);
}
inline bool tf32_allowed() { return at::globalContext().allowTF32CuBLAS(); }

// ---- Fused scaled-dot-product attention ---------------------------------------------------
// LibTorch 2.x has at::scaled_dot_product_attention (flash / memory-efficient kernels on CUDA,
// a fused flash kernel on CPU); it returns no probabilities. 1.13 has only a private variant,
// which this project does not use.
#if TORCH_VERSION_MAJOR >= 2
inline constexpr bool has_fused_sdpa = true;
#else
inline constexpr bool has_fused_sdpa = false;
#endif

// Causal softmax(q k^T / sqrt(hs)) v for q, k, v (B, H, T, hs) -> (B, H, T, hs) through the
// fused kernel. Only call when has_fused_sdpa.
inline torch::Tensor fused_causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                            double dropout_p = 0.0) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, dropout_p, /*is_causal=*/true);
#else
  TORCH_CHECK(false, "fused scaled-dot-product attention needs LibTorch 2.x (this is ", torch_version(), ")");
  return {};
#endif
}

// ---- Device memory statistics -------------------------------------------------------------
// Peak bytes held by the CUDA caching allocator's tensors since the last reset_cuda_peak_memory;
// nullopt where this LibTorch offers no version-independent way to read it (before 2.9).
inline std::optional<int64_t> cuda_peak_allocated_bytes(const torch::Device& device) {
#if ENTROPIX_TORCH_AT_LEAST(2, 9)
  if (!device.is_cuda()) return std::nullopt;
  const auto index = device.has_index() ? device.index() : c10::DeviceIndex(0);
  const auto stats = c10::getDeviceAllocator(c10::DeviceType::CUDA)->getDeviceStats(index);
  return stats.allocated_bytes[0].peak;  // [0]: StatType::AGGREGATE, all pools together
#else
  (void)device;
  return std::nullopt;
#endif
}

// Free bytes on CUDA device `index` as the driver reports them, or nullopt where LibTorch's
// generic device allocator cannot tell (before 2.10, or an allocator without getMemoryInfo).
inline std::optional<int64_t> cuda_free_memory(int index) {
#if ENTROPIX_TORCH_AT_LEAST(2, 10)
  try {
    return static_cast<int64_t>(
        c10::getDeviceAllocator(c10::DeviceType::CUDA)->getMemoryInfo(static_cast<c10::DeviceIndex>(index)).first);
  } catch (const std::exception&) {
    return std::nullopt;
  }
#else
  (void)index;
  return std::nullopt;
#endif
}

inline void reset_cuda_peak_memory(const torch::Device& device) {
#if ENTROPIX_TORCH_AT_LEAST(2, 9)
  if (!device.is_cuda()) return;
  c10::getDeviceAllocator(c10::DeviceType::CUDA)->resetPeakStats(device.has_index() ? device.index() : 0);
#else
  (void)device;
#endif
}

// ---- AdamW update -------------------------------------------------------------------------
// torch::optim::AdamW::step updates one parameter at a time with about ten tensor operations each
// (a pass over the parameter per operation). 2.4 and later have at::_fused_adamw_ on the CPU and
// CUDA, what PyTorch's AdamW(fused=True) calls: one pass per parameter, over a whole parameter
// group in one call. adamw_step takes that path and keeps its moments in the optimizer's own state
// (AdamWParamState: step, exp_avg, exp_avg_sq), so checkpoints and state_dict see what
// AdamW::step would have left there. Same update (decoupled weight decay, bias-corrected moments),
// rounded differently in the last bits. amsgrad and LibTorch before 2.4: AdamW::step.
#if ENTROPIX_TORCH_AT_LEAST(2, 4)
inline constexpr bool has_fused_adamw = true;
#else
inline constexpr bool has_fused_adamw = false;
#endif

namespace detail {
// The optimizer's state key of a parameter: its TensorImpl (a void* key in 2.x, its printed
// address in older versions).
template <typename Key>
Key optimizer_state_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream s;
    s << p.unsafeGetTensorImpl();
    return s.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}
}  // namespace detail

inline void adamw_step(torch::optim::AdamW& opt) {
#if ENTROPIX_TORCH_AT_LEAST(2, 4)
  for (auto& group : opt.param_groups())
    if (static_cast<torch::optim::AdamWOptions&>(group.options()).amsgrad()) {
      opt.step();
      return;
    }
  torch::NoGradGuard no_grad;
  auto& state = opt.state();
  using Key = typename std::decay_t<decltype(state)>::key_type;
  for (auto& group : opt.param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
    std::map<int64_t, torch::Tensor> step_tensors;  // one () float tensor per step count in the group
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const Key key = detail::optimizer_state_key<Key>(p);
      auto it = state.find(key);
      if (it == state.end()) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        it = state.emplace(key, std::move(fresh)).first;
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
      s.step(s.step() + 1);
      auto& t = step_tensors[s.step()];
      if (!t.defined()) t = torch::full({}, static_cast<double>(s.step()), p.options().dtype(torch::kFloat));
      params.push_back(p);
      grads.push_back(p.grad());
      exp_avgs.push_back(s.exp_avg());
      exp_avg_sqs.push_back(s.exp_avg_sq());
      steps.push_back(t);
    }
    if (params.empty()) continue;
    at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps, o.lr(),
                      std::get<0>(o.betas()), std::get<1>(o.betas()), o.weight_decay(), o.eps(),
                      /*amsgrad=*/false, /*maximize=*/false);
  }
#else
  opt.step();
#endif
}

// Records the operators run while it lives and writes them as a Chrome trace to `path` when it
// goes. 2.x: Kineto, the profiler behind torch.profiler (CPU operators, plus CUDA kernels when
// `cuda`). 1.13: the legacy profiler, the only one Debian's build has; it costs far more per
// operator (it doubled a GPT-2-small step here), so its absolute times are inflated.
class OperatorTrace {
 public:
  OperatorTrace(std::string path, bool cuda) : path_(std::move(path)) {
#if TORCH_VERSION_MAJOR >= 2
    namespace impl = torch::profiler::impl;
    const impl::ProfilerConfig config(impl::ProfilerState::KINETO);
    std::set<impl::ActivityType> activities{impl::ActivityType::CPU};
    if (cuda) activities.insert(impl::ActivityType::CUDA);
    torch::autograd::profiler::prepareProfiler(config, activities);
    torch::autograd::profiler::enableProfiler(config, activities);
#else
    (void)cuda;
    legacy_ = std::make_unique<torch::autograd::profiler::RecordProfile>(path_);
#endif
  }
  ~OperatorTrace() {
#if TORCH_VERSION_MAJOR >= 2
    torch::autograd::profiler::disableProfiler()->save(path_);
#endif
  }
  OperatorTrace(const OperatorTrace&) = delete;
  OperatorTrace& operator=(const OperatorTrace&) = delete;

 private:
  std::string path_;
#if TORCH_VERSION_MAJOR < 2
  std::unique_ptr<torch::autograd::profiler::RecordProfile> legacy_;
#endif
};

}  // namespace entropix::compat
