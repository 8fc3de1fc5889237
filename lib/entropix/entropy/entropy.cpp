#include "entropix/entropy/entropy.h"

#include "entropix/entropy/attention_entropy.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "entropix/util/vector_math.h"

namespace entropix {

torch::Tensor row_entropy(const torch::Tensor& probs) {
  auto terms = probs * probs.clamp_min(1e-30).log();                    // (B, H, T, T), p ln p
  return -torch::nansum(terms, std::vector<int64_t>{-1});               // (B, H, T)
}

torch::Tensor headwise_entropy(const torch::Tensor& probs) {
  return row_entropy(probs).mean(std::vector<int64_t>{0, 2});  // (H)
}

int64_t nonfinite_entries(const torch::Tensor& probs) {
  return torch::logical_not(torch::isfinite(probs)).sum().item<int64_t>();
}

double uniform_causal_entropy(int64_t T) {
  double sum = 0;
  for (int64_t i = 1; i <= T; ++i) sum += std::log(static_cast<double>(i));
  return sum / static_cast<double>(T);
}

HeadBins bin_heads(const std::vector<std::vector<double>>& headwise, double max) {
  HeadBins bins;
  bins.max = max;
  int64_t finite = 0;
  for (const auto& layer : headwise) {
    int64_t layer_finite = 0, top = 0, bottom = 0;
    for (double e : layer) {
      if (!std::isfinite(e)) continue;
      ++finite, ++layer_finite;
      // With max = 0 every head is one-hot: all of them belong to the collapse bin.
      const int bin = std::clamp(max > 0 ? static_cast<int>(std::floor(4.0 * e / max)) : 0, 0, 3);
      bins.fractions[bin] += 1;
      top += bin == 3, bottom += bin == 0;
    }
    const double n = static_cast<double>(std::max<int64_t>(layer_finite, 1));
    bins.layer_overload.push_back(top / n);
    bins.layer_collapse.push_back(bottom / n);
  }
  if (finite > 0)
    for (auto& f : bins.fractions) f /= static_cast<double>(finite);
  return bins;
}

// probs (B, H, T, T) -> (H) in double for logging: the mean entropy of the query rows whose
// probabilities are all finite; NaN for a head with no such row (its non-finite entries are
// reported in nan_counts instead of silently contributing zeros). A row's entropy sum is finite
// exactly when all its probabilities are finite (a NaN or infinite p makes its term NaN or -inf;
// softmax never gives negative p), so finiteness is tested on the (B, H, T) row sums rather than
// on every probability: the same result in fewer passes over the (B, H, T, T) tensor.
// *all_finite: whether every row was finite (then nan_counts is 0 without counting).
// Row sums of entr(p) = -p ln p in double, (..., T) -> (...), with entr's conventions: 0 at
// p = 0, -inf for p < 0, NaN for NaN. For a float32 CPU tensor this is one pass without
// temporaries (each p widened to double; with AVX-512, eight logarithms at a time through
// glibc's libmvec, at most 4 ulp of error), about eight times faster than widening the tensor,
// entr and sum through LibTorch; the same values up to rounding (~1e-15 relative).
namespace {

// -sum x ln x over one row, entr's conventions (see row_entropy_sums), scalar.
double row_entr_sum(const float* row, int64_t T) {
  double sum = 0;
  for (int64_t j = 0; j < T; ++j) {
    const double x = row[j];
    if (x > 0) sum -= x * std::log(x);
    else if (x < 0) sum -= std::numeric_limits<double>::infinity();
    else if (x != 0) sum += x;  // NaN
  }
  return sum;
}

// Whether row[from..T) are all zeros (+0 or -0; not NaN): OR of the bits without the sign, a
// loop the compiler vectorises.
bool zeros_after(const float* row, int64_t from, int64_t T) {
  uint32_t bits = 0;
  for (int64_t j = from; j < T; ++j) {
    uint32_t b;
    std::memcpy(&b, row + j, sizeof b);
    bits |= b & 0x7fffffffu;
  }
  return bits == 0;
}

#ifdef ENTROPIX_MVEC
// The same with 8 logarithms at a time (AVX-512, libmvec); rows holding a negative or NaN value
// go to the scalar loop, which gives them entr's -inf or NaN.
__attribute__((target("avx512f"))) double row_entr_sum_avx512(const float* row, int64_t T) {
  const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
  __m512d acc = zero;
  int64_t j = 0;
  for (; j + 8 <= T; j += 8) {
    const __m512d x = _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(row + j));  // (maskz: no GCC 12 false warning)
    if (_mm512_cmp_pd_mask(x, zero, _CMP_GE_OQ) != 0xFF) return row_entr_sum(row, T);
    // ln 1 = 0 stands in where x = 0, so those lanes add 0 * 0.
    const __m512d safe = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, zero, _CMP_GT_OQ), one, x);
    acc = _mm512_fnmadd_pd(x, _ZGVeN8v_log(safe), acc);  // acc - x ln x
  }
  double sum = simd::lanes_sum(acc);
  for (; j < T; ++j) {
    const double x = row[j];
    if (!(x >= 0)) return row_entr_sum(row, T);
    if (x > 0) sum -= x * std::log(x);
  }
  return sum;
}
#endif

}  // namespace

torch::Tensor row_entropy_sums(const torch::Tensor& probs) {
  if (!probs.device().is_cpu() || probs.scalar_type() != torch::kFloat)
    return torch::special::entr(probs.to(torch::kDouble)).sum(-1);
  const torch::Tensor p = probs.contiguous();
  const int64_t T = p.size(-1), rows = T > 0 ? p.numel() / T : 0;
  auto sizes = p.sizes().vec();
  sizes.pop_back();
  torch::Tensor out = torch::empty(sizes, p.options().dtype(torch::kDouble));
  const float* src = p.data_ptr<float>();
  double* dst = out.data_ptr<double>();
  auto row_sum = &row_entr_sum;
#ifdef ENTROPIX_MVEC
  if (simd::vector_math_usable()) row_sum = &row_entr_sum_avx512;
#endif
  // Square (..., T, T) probabilities are usually causal: query row i has zeros after key i, and
  // those contribute nothing. Sum entries 0..i only, after a check (no logarithm: a bitwise OR)
  // that the rest really are zeros; any other row is summed whole. Half the logarithms of a
  // causal record, the same values up to summation order.
  const bool square = p.dim() >= 2 && p.size(-2) == T;
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* row = src + r * T;
      const int64_t keys = square ? r % T + 1 : T;
      dst[r] = keys < T && zeros_after(row, keys, T) ? row_sum(row, keys) : row_sum(row, T);
    }
  });
  return out;
}

// (B, H, T) row entropies -> (H) double: the mean over each head's finite rows (see below).
torch::Tensor finite_row_mean(const torch::Tensor& row_entropies, bool* all_finite) {
  auto row_entropy = row_entropies.to(torch::kDouble);                                   // (B, H, T)
  auto finite_rows = torch::isfinite(row_entropy);                              // (B, H, T)
  *all_finite = finite_rows.all().item<bool>();
  if (*all_finite) return row_entropy.mean(std::vector<int64_t>{0, 2});         // (H)
  auto total = torch::where(finite_rows, row_entropy, torch::zeros_like(row_entropy)).sum(std::vector<int64_t>{0, 2});
  auto rows = finite_rows.sum(std::vector<int64_t>{0, 2}).to(torch::kDouble);  // (H)
  return total / rows;                                                         // 0/0 = NaN when no finite row
}

torch::Tensor logged_headwise_entropy(const torch::Tensor& probs, bool* all_finite) {
  return finite_row_mean(row_entropy_sums(probs), all_finite);  // (B, H, T, T) -> (B, H, T) -> (H)
}

void rebin(EntropyRecord& rec, int64_t T) {
  double observed_max = 0;
  for (const auto& layer : rec.headwise)
    for (double e : layer)
      if (std::isfinite(e)) observed_max = std::max(observed_max, e);
  rec.bins = bin_heads(rec.headwise, rec.bin_max_mode == "causal" ? uniform_causal_entropy(T) : observed_max);
}

namespace {

// A record from per-layer attention tensors; `layer_entropy(tensor, &nonfinite)` gives a layer's
// headwise entropies (H) in double and its nan_counts entry (a count). T is every tensor's last size.
template <typename LayerEntropy>
EntropyRecord assemble_record(const std::vector<torch::Tensor>& layers, int64_t step, const std::string& split,
                              const std::string& bin_max_mode, LayerEntropy layer_entropy) {
  torch::NoGradGuard no_grad;
  EntropyRecord rec;
  rec.step = step;
  rec.split = split;
  rec.bin_max_mode = bin_max_mode;
  for (const auto& layer : layers) {
    rec.max_entropy = std::log(static_cast<double>(layer.size(-1)));
    int64_t nonfinite = 0;
    const torch::Tensor heads = layer_entropy(layer, &nonfinite).to(torch::kCPU).contiguous();  // (H)
    std::vector<double> row(heads.data_ptr<double>(), heads.data_ptr<double>() + heads.numel());
    double sum = 0;
    int64_t n = 0;
    for (double e : row) {
      if (std::isfinite(e)) sum += e, ++n;
    }
    rec.layerwise.push_back(n ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN());
    rec.headwise.push_back(std::move(row));
    rec.nan_counts.push_back(nonfinite);
  }
  rebin(rec, layers.empty() ? 1 : layers.front().size(-1));
  return rec;
}

}  // namespace

EntropyRecord measure_entropy(const std::vector<torch::Tensor>& attn_probs, int64_t step, const std::string& split,
                              const std::string& bin_max_mode) {
  return assemble_record(attn_probs, step, split, bin_max_mode, [](const torch::Tensor& probs, int64_t* nonfinite) {
    bool all_finite = false;
    auto heads = logged_headwise_entropy(probs, &all_finite);  // (H)
    *nonfinite = all_finite ? 0 : nonfinite_entries(probs);
    return heads;
  });
}

EntropyRecord measure_row_entropy(const std::vector<torch::Tensor>& row_entropy, int64_t step, const std::string& split,
                                  const std::string& bin_max_mode) {
  return assemble_record(row_entropy, step, split, bin_max_mode, [](const torch::Tensor& rows, int64_t* nonfinite) {
    bool all_finite = false;
    auto heads = finite_row_mean(rows, &all_finite);  // (H)
    if (!all_finite) *nonfinite = rows.size(-1) * torch::logical_not(torch::isfinite(rows)).sum().item<int64_t>();
    return heads;
  });
}

namespace {
nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace

double causal_ceiling_of(double ln_t) {
  return uniform_causal_entropy(static_cast<int64_t>(std::llround(std::exp(ln_t))));
}

const std::vector<RecordField>& EntropyRecord::fields() {
  static const std::vector<RecordField> f = [] {
    std::vector<RecordField> out = {
        {"kind"},      {"step"},       {"split"}, {"max_entropy"}, {"causal_ceiling"},    {"headwise"},
        {"layerwise"}, {"nan_counts"}, {"bins"},  {"bin_max"},     {"bin_max_mode"},      {"overload_fraction"},
        {"collapse_fraction"},         {"layer_overload_fraction"},  {"layer_collapse_fraction"}};
    // The learned values, optional: those the components and the regulariser declare.
    for (const auto& v : learned_value_catalog()) out.push_back({v.name, false});
    return out;
  }();
  return f;
}

nlohmann::json to_json(const EntropyRecord& r) {
  nlohmann::json headwise = nlohmann::json::array();
  for (const auto& layer : r.headwise) {
    nlohmann::json row = nlohmann::json::array();
    for (double e : layer) row.push_back(number_or_null(e));
    headwise.push_back(row);
  }
  nlohmann::json layerwise = nlohmann::json::array();
  for (double e : r.layerwise) layerwise.push_back(number_or_null(e));
  nlohmann::json out = {
      {"kind", "entropy"},
      {"step", r.step},
      {"split", r.split},
      {"max_entropy", r.max_entropy},
      {"causal_ceiling", r.max_entropy > 0 ? nlohmann::json(causal_ceiling_of(r.max_entropy)) : nlohmann::json(nullptr)},
      {"headwise", headwise},
      {"layerwise", layerwise},
      {"nan_counts", r.nan_counts},
      {"bins", r.bins.fractions},
      {"bin_max", r.bins.max > 0 ? nlohmann::json(r.bins.max) : nlohmann::json(nullptr)},
      {"bin_max_mode", r.bin_max_mode},
      {"overload_fraction", r.bins.fractions[3]},
      {"collapse_fraction", r.bins.fractions[0]},
      {"layer_overload_fraction", r.bins.layer_overload},
      {"layer_collapse_fraction", r.bins.layer_collapse},
  };
  for (const auto& [name, value] : r.learned.items()) out[name] = value;
  return out;
}

}  // namespace entropix
