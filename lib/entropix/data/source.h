// The token data a spec names (data.source / data.train / data.val), loaded and checked against
// the model's vocabulary. Shared by `run` and `eval` so both read the data the same way.
#pragma once
#include <memory>
#include <string>

#include "entropix/data/token_file.h"
#include "entropix/spec/spec.h"

namespace entropix {

struct LoadedData {
  std::shared_ptr<const TokenData> train, val;
};

// One split, "train" or "val" (std::invalid_argument otherwise). pystdlib: the cached corpus,
// prepared on first use; files: data.train / data.val in data.format. InputError naming the file
// when it is missing, malformed, or uses a larger vocabulary than model.vocab_size.
// `check`: how token bounds are checked (load_tokens); training passes deferred.
std::shared_ptr<const TokenData> load_split(const ExperimentSpec& spec, const std::string& split,
                                            TokenCheck check = TokenCheck::cached);

// Both splits (same errors as load_split).
LoadedData load_data(const ExperimentSpec& spec, TokenCheck check = TokenCheck::cached);

}  // namespace entropix
