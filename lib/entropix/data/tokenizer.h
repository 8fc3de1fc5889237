// Tokenizers behind one interface: the byte-level one, GPT-2's byte-level BPE (bpe.h) and
// sentencepiece (sentencepiece_tokenizer.h). `prepare` encodes with them; `load_tokenizer` gives
// back the one a prepared corpus was made with (from its meta.json), e.g. to decode samples.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace entropix {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // "byte", "gpt2-bpe" or "sentencepiece" (meta.json's "tokenizer").
  virtual std::string kind() const = 0;
  // Appends the ids of `text` to `out`. Not safe to call from two threads on one object (it may
  // keep a cache): give each thread its own clone().
  virtual void encode(std::string_view text, std::vector<uint32_t>& out) = 0;
  // The text of `ids` (invalid UTF-8 is possible when `ids` cut a character). std::out_of_range
  // for an id >= vocab_size().
  virtual std::string decode(const std::vector<uint32_t>& ids) const = 0;
  virtual uint32_t vocab_size() const = 0;
  // The token that ends every document. The byte tokenizer has none: it ends a document with a
  // newline byte (10) only when the text does not already end in one (see end_document).
  virtual uint32_t end_of_text() const = 0;
  // A new encoder sharing the (immutable) model, with its own cache.
  virtual std::unique_ptr<Tokenizer> clone() const = 0;

  // Appends the tokens that close a document whose text was `text`.
  virtual void end_document(std::string_view /*text*/, std::vector<uint32_t>& out) const { out.push_back(end_of_text()); }

  std::vector<uint32_t> encode(std::string_view text) {
    std::vector<uint32_t> ids;
    encode(text, ids);
    return ids;
  }
  // encode(text) followed by end_document(text).
  void encode_document(std::string_view text, std::vector<uint32_t>& out) {
    encode(text, out);
    end_document(text, out);
  }
};

// One byte per token (vocabulary 256).
std::unique_ptr<Tokenizer> make_byte_tokenizer();

// GPT-2's byte-level BPE from vocab.json and merges.txt (InputError for bad files).
std::unique_ptr<Tokenizer> make_gpt2_bpe_tokenizer(const std::filesystem::path& vocab_json,
                                                   const std::filesystem::path& merges_txt);

// The tokenizer a corpus prepared by `entropix prepare` was made with: reads <dir>/meta.json and
// the tokenizer files stored beside it (checked against the checksums meta.json records).
// InputError naming the file for a missing or malformed meta.json, a missing or changed
// tokenizer file, or an unknown tokenizer kind.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& corpus_dir);

// FNV-1a-64 of a file's bytes as 16 hex digits (the checksum meta.json records for tokenizer files).
std::string file_checksum(const std::filesystem::path& file);

}  // namespace entropix
