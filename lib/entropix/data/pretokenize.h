// GPT-2's pre-tokenisation: the pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// matched by hand over code points (leftmost alternative first, each greedy), as Hugging Face
// `tokenizers` (ByteLevel, use_regex=True) and OpenAI's encoder.py apply it.
#pragma once
#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace entropix {

// A piece of the text: byte offsets [begin, end).
using Piece = std::pair<size_t, size_t>;

class Gpt2PreTokenizer {
 public:
  // Replaces `out` with the pieces of `text` (valid UTF-8; repair it first). The pieces cover the
  // text, in order. Reuses its buffers: no allocation per character once warm.
  void split(std::string_view text, std::vector<Piece>& out);

 private:
  enum Class : unsigned char { kLetter, kNumber, kSpace, kOther };
  struct Cp {
    size_t offset;  // byte offset of the code point in the text
    char32_t cp;
    Class cls;
  };
  static Class classify(char32_t cp);
  size_t match_at(size_t i) const;  // the end (code-point index) of the piece starting at i
  size_t run_end(size_t i, Class cls) const;

  std::vector<Cp> cps_;
};

}  // namespace entropix
