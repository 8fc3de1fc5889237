// Text <-> token ids for `entropix sample`: the one place that knows how a run's corpus was
// tokenised: the tokenizer named by the meta.json beside the spec's data files (GPT-2 BPE,
// sentencepiece: data/tokenizer.h), else the byte tokenizer (one token per byte).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "entropix/spec/spec.h"

namespace entropix {

class TextCodec {
 public:
  virtual ~TextCodec() = default;
  // Token ids of `text`; InputError when the text cannot be encoded for this vocabulary.
  virtual std::vector<int64_t> encode(const std::string& text) const = 0;
  // The text of `ids` (bytes as they come: a byte vocabulary may produce invalid UTF-8).
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
};

// The codec of the corpus the spec trained on. InputError naming data.tokenizer when entropix
// cannot decode that vocabulary.
std::unique_ptr<TextCodec> text_codec_for(const ExperimentSpec& spec);

}  // namespace entropix
