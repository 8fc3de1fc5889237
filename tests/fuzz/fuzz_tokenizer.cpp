// libFuzzer target: arbitrary bytes through the GPT-2 BPE encoder with a small byte-level model
// (the 256 byte tokens, a few merges, <|endoftext|>), written to vocab.json and merges.txt in the
// working directory and read by load_gpt2_bpe. Properties: every id is in the vocabulary, and
// decoding the ids gives the text back as repair_utf8 makes it (byte-level BPE loses nothing else).
// scripts/fuzz.sh builds and runs it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "entropix/data/bpe.h"
#include "entropix/data/utf8.h"

namespace {
using namespace entropix;

std::string utf8_of(char32_t cp) {  // cp < 0x10000: gpt2_byte_to_unicode's range
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

std::string shown(char byte) { return utf8_of(gpt2_byte_to_unicode(static_cast<unsigned char>(byte))); }

std::shared_ptr<const BpeModel> small_model() {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(shown(static_cast<char>(b)));
  const std::vector<std::pair<std::string, std::string>> merges = {
      {shown(' '), "t"}, {"h", "e"}, {shown(' ') + "t", "he"}, {"i", "n"}, {"a", "b"}, {"ab", "ab"}};
  for (const auto& [left, right] : merges) tokens.push_back(left + right);
  std::ofstream vocab("vocab.json");
  vocab << "{";
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string quoted;
    for (char c : tokens[i]) quoted += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    vocab << "\"" << quoted << "\": " << i << ", ";
  }
  vocab << "\"<|endoftext|>\": " << tokens.size() << "}";
  vocab.close();
  std::ofstream ranks("merges.txt");
  ranks << "#version: 0.2\n";
  for (const auto& [left, right] : merges) ranks << left << " " << right << "\n";
  ranks.close();
  return load_gpt2_bpe("vocab.json", "merges.txt");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static BpeEncoder encoder(small_model());
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<uint32_t> ids;
  encoder.encode(text, ids);
  for (uint32_t id : ids)
    if (id >= encoder.model().vocab_size) {
      std::fprintf(stderr, "finding: id %u outside the vocabulary of %u\n", id, encoder.model().vocab_size);
      std::abort();
    }
  if (bpe_decode(encoder.model(), ids) != repair_utf8(text)) {
    std::fprintf(stderr, "finding: decoding the ids does not give the repaired text back\n");
    std::abort();
  }
  return 0;
}
