#include "entropix/data/source.h"

#include <filesystem>
#include <stdexcept>

#include "entropix/data/prepare.h"
#include "entropix/util/error.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

fs::path split_path(const ExperimentSpec& spec, const std::string& split) {
  if (split != "train" && split != "val") throw std::invalid_argument("unknown data split '" + split + "'");
  if (spec.data.source == "pystdlib") return ensure_pystdlib_corpus() / (split + ".tok");
  return split == "train" ? spec.data.train : spec.data.val;
}

}  // namespace

std::shared_ptr<const TokenData> load_split(const ExperimentSpec& spec, const std::string& split, TokenCheck check) {
  const auto vocab = static_cast<uint32_t>(spec.model.vocab_size);
  const fs::path path = split_path(spec, split);
  std::shared_ptr<TokenData> data;
  try {
    data = std::make_shared<TokenData>(load_tokens(path, spec.data.format, vocab, check));
  } catch (const InputError& e) {
    std::error_code ec;
    if (fs::exists(path, ec)) throw;
    // A missing corpus: say how to make one (the paper specs read data/codeparrot/*.bin).
    throw InputError(std::string(e.what()) + "; to create it see docs/data.md (\"Reproducing the paper's data\" for data/codeparrot)");
  }
  // load_tokens already refuses this for both formats; kept as a guard, with the trainer's message.
  if (data->vocab_size > vocab)
    throw InputError(data->path + ": token file vocabulary is " + std::to_string(data->vocab_size) +
                     " but model.vocab_size is " + std::to_string(vocab) + "; set model.vocab_size >= " +
                     std::to_string(data->vocab_size));
  return data;
}

LoadedData load_data(const ExperimentSpec& spec, TokenCheck check) {
  return {load_split(spec, "train", check), load_split(spec, "val", check)};
}

}  // namespace entropix
