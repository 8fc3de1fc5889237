// sentencepiece through Debian's libsentencepiece: apply a model, or train one on documents.
// Built only with -DENTROPIX_WITH_SENTENCEPIECE=ON (ENTROPIX_HAVE_SENTENCEPIECE; off by default,
// see CMakeLists.txt); otherwise both calls fail with an InputError that says how to enable it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "entropix/data/tokenizer.h"

namespace entropix {

// True when this build has sentencepiece.
bool have_sentencepiece();

// A tokenizer for the model file. Its end-of-text token is the model's </s> (eos_id), or failing
// that a piece "<|endoftext|>"; InputError when the model has neither, or cannot be read.
std::unique_ptr<Tokenizer> make_sentencepiece_tokenizer(const std::filesystem::path& model_file);

struct SentencePieceTraining {
  uint32_t vocab_size = 0;
  int threads = 1;
  // Called repeatedly; returns false when there are no more documents. Each document is cut into
  // its lines (sentencepiece trains on lines).
  std::function<bool(std::string& document)> next_document;
};

// Trains a unigram model (the sentencepiece default) with byte fallback, full character
// coverage and whitespace kept as is, and returns the serialized model (the .model file's bytes).
// InputError when sentencepiece refuses (e.g. vocab_size too large for the corpus).
std::string train_sentencepiece(const SentencePieceTraining& training);

}  // namespace entropix
