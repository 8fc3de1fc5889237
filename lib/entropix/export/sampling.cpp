#include "entropix/export/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "entropix/util/error.h"
#include "entropix/util/mix.h"

namespace entropix {
namespace {

// Uniform in [0, 1) from the top 53 bits of the hash of (seed, step).
double uniform(uint64_t seed, uint64_t step) {
  return static_cast<double>(splitmix64(splitmix64(seed) ^ step) >> 11) * (1.0 / 9007199254740992.0);
}

// The id drawn from logits (V) for one step.
int64_t draw(const std::vector<double>& logits, const SampleOptions& o, uint64_t step) {
  const int64_t V = static_cast<int64_t>(logits.size());
  std::vector<int64_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  // Most likely first, the lower id first among equals.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return logits[a] > logits[b]; });
  if (o.temperature == 0 || o.top_k == 1) return order[0];
  const int64_t k = o.top_k > 0 ? std::min(o.top_k, V) : V;
  const double top = logits[order[0]] / o.temperature;
  std::vector<double> w(k);
  double sum = 0;
  for (int64_t i = 0; i < k; ++i) sum += w[i] = std::exp(logits[order[i]] / o.temperature - top);  // (0, 1]
  const double u = uniform(o.seed, step) * sum;
  double acc = 0;
  for (int64_t i = 0; i < k; ++i) {
    acc += w[i];
    if (u < acc) return order[i];
  }
  return order[k - 1];  // u rounded onto the total
}

}  // namespace

void check_sample_options(const SampleOptions& o, const std::vector<int64_t>& prompt, int64_t vocab_size) {
  if (o.tokens < 1) throw InputError("--tokens: must be >= 1, got " + std::to_string(o.tokens));
  if (!std::isfinite(o.temperature) || o.temperature < 0)
    throw InputError("--temperature: must be a finite number >= 0 (0: greedy), got " + std::to_string(o.temperature));
  if (o.top_k < 0 || o.top_k > vocab_size)
    throw InputError("--top-k: must be in 0..model.vocab_size " + std::to_string(vocab_size) + " (0: all tokens), got " +
                     std::to_string(o.top_k));
  if (prompt.empty()) throw InputError("--prompt: empty; sampling needs at least one token to continue");
  for (int64_t id : prompt)
    if (id < 0 || id >= vocab_size)
      throw InputError("--prompt: token " + std::to_string(id) + " is outside model.vocab_size " + std::to_string(vocab_size));
}

std::vector<int64_t> sample_tokens(GPT& model, const std::vector<int64_t>& prompt, const SampleOptions& o) {
  check_sample_options(o, prompt, model->spec().vocab_size);
  torch::NoGradGuard no_grad;
  model->eval();
  const torch::Device device = model->wte->weight.device();
  const int64_t T = model->spec().context;
  std::vector<int64_t> seq = prompt, added;
  for (int64_t step = 0; step < o.tokens; ++step) {
    const int64_t n = std::min<int64_t>(T, static_cast<int64_t>(seq.size()));
    torch::Tensor idx = torch::tensor(std::vector<int64_t>(seq.end() - n, seq.end()), torch::kInt64)
                            .view({1, n})
                            .to(device);                                        // (1, n)
    torch::Tensor last = model->forward(idx).logits.select(1, n - 1).squeeze(0)  // (V)
                             .to(torch::kCPU, torch::kFloat64).contiguous();
    const double* p = last.data_ptr<double>();
    const int64_t id = draw(std::vector<double>(p, p + last.numel()), o, static_cast<uint64_t>(step));
    seq.push_back(id);
    added.push_back(id);
  }
  return added;
}

}  // namespace entropix
