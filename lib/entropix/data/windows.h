// Consecutive non-overlapping windows over a token stream, for the full-split perplexity
// (`entropix eval --full`). Window i predicts tokens i*T+1 .. i*T+T from tokens i*T .. i*T+T-1,
// so every window needs T + 1 tokens and consecutive windows share one token (the last target of
// one is the first input of the next); each token after the first is predicted exactly once, up to
// the tail that does not fill a window.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <utility>

#include "entropix/data/token_file.h"

namespace entropix {

// The number of whole windows: the sum over shards of floor((n_tokens - 1) / T).
int64_t full_window_count(const TokenData& data, int64_t context);

// Windows first .. first + count - 1 as x, y: int64 (count, T) on the CPU, y = x shifted by one.
// std::out_of_range when they run past full_window_count.
std::pair<torch::Tensor, torch::Tensor> full_windows(const TokenData& data, int64_t context, int64_t first,
                                                     int64_t count);

}  // namespace entropix
