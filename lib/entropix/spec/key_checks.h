// Range checks of numeric spec keys, and the documented upper bounds on model and batch sizes
// (docs/spec.md, docs/reliability.md "Input checks"). The bounds keep every size product that
// describe, cost and the memory estimate form inside int64 and refuse shapes no machine trains,
// before anything is built; they are far above GPT-3's (96 layers, 96 heads, d 12288, T 2048).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace entropix::spec_detail {

inline constexpr int64_t kMaxLayers = 4096;
inline constexpr int64_t kMaxHeads = 4096;
inline constexpr int64_t kMaxEmbd = 65536;
inline constexpr int64_t kMaxContext = 131072;
inline constexpr int64_t kMaxFfnMult = 64;
inline constexpr int64_t kMaxBatch = 1 << 20;  // train.batch_size and train.grad_accum

// "" when fine, else "must be ..., got v".
std::function<std::string(double)> at_least(double lo);
std::function<std::string(double)> positive();
std::function<std::string(double)> between(double lo, double hi);  // inclusive
std::function<std::string(double)> in_unit_interval();
std::function<std::string(double)> dropout_probability();

// An integer bound as docs text: 65536.
std::string limit(int64_t v);

}  // namespace entropix::spec_detail
