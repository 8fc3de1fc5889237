#include "entropix/train/full_perplexity.h"

#include <algorithm>
#include <cmath>

#include "entropix/data/windows.h"
#include "entropix/train/train_step.h"
#include "entropix/util/error.h"

namespace entropix {

FullPerplexity full_perplexity(GPT& model, const TokenData& data, int64_t batch_size, torch::Device device) {
  const int64_t T = model->spec().context;
  FullPerplexity r;
  r.windows = full_window_count(data, T);
  if (r.windows < 1)
    throw InputError(data.path + ": has " + std::to_string(data.size()) + " tokens, fewer than one window of T+1 = " +
                     std::to_string(T + 1) + " for --full");
  if (batch_size < 1) throw std::invalid_argument("full_perplexity: batch_size must be >= 1");
  EvalScope scope(model);
  double sum = 0;  // nats, summed token by token in order
  for (int64_t first = 0; first < r.windows; first += batch_size) {
    const int64_t n = std::min(batch_size, r.windows - first);
    auto [x, y] = full_windows(data, T, first, n);  // (n, T) each
    torch::Tensor logits = model->forward(x.to(device)).logits;  // (n, T, V)
    torch::Tensor nll = torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(-1)}), y.to(device).reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));  // (n * T)
    nll = nll.to(torch::kCPU, torch::kFloat64).contiguous();
    const double* p = nll.data_ptr<double>();
    for (int64_t i = 0; i < nll.numel(); ++i) sum += p[i];
  }
  r.tokens = r.windows * T;
  r.loss = sum / static_cast<double>(r.tokens);
  r.ppl = std::exp(r.loss);
  return r;
}

}  // namespace entropix
