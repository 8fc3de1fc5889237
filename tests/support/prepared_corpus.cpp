#include "support/prepared_corpus.h"

#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>

#include "support/test_util.h"

namespace entropix::test {
namespace fs = std::filesystem;

std::vector<uint16_t> read_tokens_raw(const fs::path& file) {
  const std::string bytes = read_text(file);
  size_t start = 0;
  if (file.extension() == ".tok") {
    if (bytes.size() < 32 || bytes.compare(0, 8, "ENTROPIX") != 0) throw std::runtime_error(file.string() + ": not a token file");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[16 + i]);
    if (bytes.size() != 32 + 2 * n) throw std::runtime_error(file.string() + ": size disagrees with the header");
    start = 32;
  }
  std::vector<uint16_t> out;
  for (size_t i = start; i + 1 < bytes.size(); i += 2)
    out.push_back(static_cast<uint16_t>(static_cast<unsigned char>(bytes[i]) | (static_cast<unsigned char>(bytes[i + 1]) << 8)));
  return out;
}

bool key_goes_to_val(const std::string& key, double val_fraction) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<double>(h % 10000) < val_fraction * 10000;
}

namespace {
// GPT-2's byte -> printable character map, written out from its definition (bytes_to_unicode in
// OpenAI's encoder.py): printable Latin-1 bytes stand for themselves, the rest take 256, 257, ...
std::string byte_char(int b) {
  auto printable = [](int c) { return (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || c >= 174; };
  int cp = b;
  if (!printable(b)) {
    cp = 256;
    for (int c = 0; c < b; ++c) cp += printable(c) ? 0 : 1;
  }
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace

void write_tiny_gpt2_vocab(const fs::path& dir) {
  const std::string sp = byte_char(' ');  // "Ġ"
  std::string vocab = "{";
  for (int b = 0; b < 256; ++b) vocab += json_string(byte_char(b)) + ": " + std::to_string(b) + ", ";
  vocab += json_string(sp + "t") + ": 256, \"he\": 257, " + json_string(sp + "the") + ": 258, \"in\": 259, " +
           json_string(sp + "a") + ": 260, \"<|endoftext|>\": 261}";
  write_text(dir / "vocab.json", vocab);
  write_text(dir / "merges.txt", "#version: 0.2\n" + sp + " t\nh e\n" + sp + "t he\ni n\n" + sp + " a\n");
}

}  // namespace entropix::test
