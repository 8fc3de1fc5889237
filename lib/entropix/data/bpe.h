// GPT-2's byte-level BPE (vocab.json + merges.txt, as OpenAI and Hugging Face publish them):
// pre-tokenisation (pretokenize.h), the byte-to-unicode map, and the ranked merges, with a cache
// of encoded pieces. Token ids equal Hugging Face `tokenizers`' (tests/unit/test_bpe.cpp).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "entropix/data/pretokenize.h"

namespace entropix {

// The immutable model, shared by every encoder thread.
struct BpeModel {
  std::vector<std::string> token_bytes;  // id -> the raw bytes it stands for
  uint32_t byte_id[256] = {};            // the id of each single byte
  // (left id << 32 | right id) -> (rank << 32 | merged id)
  std::unordered_map<uint64_t, uint64_t> merges;
  uint32_t vocab_size = 0;  // largest id + 1
  uint32_t end_of_text = 0;
  size_t merge_count = 0;
};

// The printable character GPT-2 writes for byte b in vocab.json and merges.txt ("Ġ" for a space).
char32_t gpt2_byte_to_unicode(unsigned char b);

// Reads vocab.json and merges.txt. InputError naming the file (and line) for a malformed file, a
// merge whose parts or result are not in the vocabulary, a missing single byte, or a vocabulary
// without <|endoftext|>.
std::shared_ptr<const BpeModel> load_gpt2_bpe(const std::filesystem::path& vocab_json,
                                             const std::filesystem::path& merges_txt);

// One encoder per thread: it owns its cache and buffers.
class BpeEncoder {
 public:
  explicit BpeEncoder(std::shared_ptr<const BpeModel> model);
  // Appends the ids of `text` to `out`. Invalid UTF-8 is first repaired (utf8.h: U+FFFD per
  // maximal ill-formed subpart, as Python's errors="replace").
  void encode(std::string_view text, std::vector<uint32_t>& out);
  const BpeModel& model() const { return *model_; }
  std::shared_ptr<const BpeModel> shared_model() const { return model_; }

 private:
  void encode_piece(std::string_view piece, std::vector<uint32_t>& out);
  void merge_symbols();

  std::shared_ptr<const BpeModel> model_;
  Gpt2PreTokenizer pretok_;
  std::vector<Piece> pieces_;
  std::vector<uint32_t> symbols_;
  std::string key_;
  // piece bytes -> its ids; cleared when it grows past kCacheLimit entries (bounded memory).
  std::unordered_map<std::string, std::vector<uint32_t>> cache_;
  static constexpr size_t kCacheLimit = 1u << 18;
  static constexpr size_t kCachedPieceBytes = 64;  // longer pieces are rare: not cached
};

// The bytes of `ids` concatenated (the text, if it was valid UTF-8). std::out_of_range for an id
// outside the vocabulary.
std::string bpe_decode(const BpeModel& model, const std::vector<uint32_t>& ids);

}  // namespace entropix
