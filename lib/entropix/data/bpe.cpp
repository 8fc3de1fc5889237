#include "entropix/data/bpe.h"

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "entropix/data/utf8.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

constexpr const char* kEndOfText = "<|endoftext|>";
constexpr uint32_t kNoByte = std::numeric_limits<uint32_t>::max();

// Inverse of gpt2_byte_to_unicode: code point -> byte, or -1.
int unicode_to_byte(char32_t cp) {
  static const auto table = [] {
    std::unordered_map<char32_t, int> t;
    for (int b = 0; b < 256; ++b) t[gpt2_byte_to_unicode(static_cast<unsigned char>(b))] = b;
    return t;
  }();
  const auto it = table.find(cp);
  return it == table.end() ? -1 : it->second;
}

// A vocabulary string in GPT-2's printable alphabet -> the raw bytes it stands for. A string
// with characters outside that alphabet (an added special token) stands for its own UTF-8.
std::string to_raw_bytes(const std::string& token) {
  std::string raw;
  for (size_t i = 0; i < token.size();) {
    const int b = unicode_to_byte(next_code_point(token, i));
    if (b < 0) return token;
    raw += static_cast<char>(b);
  }
  return raw;
}

}  // namespace

char32_t gpt2_byte_to_unicode(unsigned char b) {
  // Printable Latin-1 bytes stand for themselves; the other 68 (controls, space, 0x7F..0xA0,
  // 0xAD) are moved to U+0100 and up, in byte order.
  const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
  if (printable) return b;
  int n = 0;
  for (int c = 0; c < b; ++c) {
    const bool p = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE);
    if (!p) ++n;
  }
  return 256 + n;
}

std::shared_ptr<const BpeModel> load_gpt2_bpe(const fs::path& vocab_json, const fs::path& merges_txt) {
  auto m = std::make_shared<BpeModel>();
  nlohmann::json vocab;
  try {
    vocab = nlohmann::json::parse(read_file(vocab_json));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(vocab_json.string() + ": not valid JSON (" + e.what() + "); expected GPT-2's vocab.json");
  }
  if (!vocab.is_object() || vocab.empty())
    throw InputError(vocab_json.string() + ": expected a JSON object of token -> id (GPT-2's vocab.json)");
  std::unordered_map<std::string, uint32_t> ids;  // raw bytes -> id
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_unsigned() || it.value().get<uint64_t>() >= (1u << 24))
      throw InputError(vocab_json.string() + ": token " + nlohmann::json(it.key()).dump() +
                       " has id " + it.value().dump() + "; ids must be integers in 0..16777215");
    const auto id = it.value().get<uint32_t>();
    if (id >= m->token_bytes.size()) m->token_bytes.resize(id + 1);
    const std::string raw = it.key() == kEndOfText ? it.key() : to_raw_bytes(it.key());
    m->token_bytes[id] = raw;
    ids.emplace(raw, id);
  }
  m->vocab_size = static_cast<uint32_t>(m->token_bytes.size());
  if (!vocab.contains(kEndOfText))
    throw InputError(vocab_json.string() + ": no \"<|endoftext|>\" token; the end-of-text token separates documents");
  m->end_of_text = vocab[kEndOfText].get<uint32_t>();
  for (int b = 0; b < 256; ++b) {
    const auto it = ids.find(std::string(1, static_cast<char>(b)));
    if (it == ids.end()) {
      std::string shown;
      append_utf8(shown, gpt2_byte_to_unicode(static_cast<unsigned char>(b)));
      throw InputError(vocab_json.string() + ": byte " + std::to_string(b) + " (\"" + shown +
                       "\") has no token; a byte-level BPE vocabulary holds all 256 bytes");
    }
    m->byte_id[b] = it->second;
  }

  std::ifstream in(merges_txt, std::ios::binary);
  if (!in) throw InputError(merges_txt.string() + ": cannot read (expected GPT-2's merges.txt)");
  std::string line;
  size_t line_no = 0;
  uint64_t rank = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
    const size_t sp = line.find(' ');
    const auto where = [&] { return merges_txt.string() + ":" + std::to_string(line_no) + ": "; };
    if (sp == std::string::npos || sp == 0 || sp + 1 == line.size() || line.find(' ', sp + 1) != std::string::npos)
      throw InputError(where() + "expected two tokens separated by one space, found \"" + line + "\"");
    const std::string a = to_raw_bytes(line.substr(0, sp)), b = to_raw_bytes(line.substr(sp + 1));
    const auto ia = ids.find(a), ib = ids.find(b), iab = ids.find(a + b);
    if (ia == ids.end() || ib == ids.end() || iab == ids.end())
      throw InputError(where() + "merge \"" + line + "\": " +
                       (ia == ids.end() ? "its left part" : ib == ids.end() ? "its right part" : "its result") +
                       " is not in " + vocab_json.string() + " (vocab.json and merges.txt must come from the same tokenizer)");
    const uint64_t key = (uint64_t(ia->second) << 32) | ib->second;
    m->merges.emplace(key, (rank++ << 32) | iab->second);  // a repeated pair keeps its first rank
  }
  m->merge_count = rank;
  return m;
}

BpeEncoder::BpeEncoder(std::shared_ptr<const BpeModel> model) : model_(std::move(model)) {}

// Applies the lowest-ranked merge among adjacent symbols, every occurrence left to right, until
// no adjacent pair has a merge: GPT-2's bpe() in encoder.py.
void BpeEncoder::merge_symbols() {
  auto& s = symbols_;
  const auto& merges = model_->merges;
  while (s.size() > 1) {
    uint64_t best = std::numeric_limits<uint64_t>::max(), pair = 0;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const uint64_t key = (uint64_t(s[i]) << 32) | s[i + 1];
      const auto it = merges.find(key);
      if (it != merges.end() && it->second < best) {
        best = it->second;  // ranks are unique, so the lowest value is the lowest rank
        pair = key;
      }
    }
    if (best == std::numeric_limits<uint64_t>::max()) return;
    const uint32_t merged = static_cast<uint32_t>(best);
    size_t w = 0;
    for (size_t r = 0; r < s.size();) {
      if (r + 1 < s.size() && ((uint64_t(s[r]) << 32) | s[r + 1]) == pair) {
        s[w++] = merged;
        r += 2;
      } else {
        s[w++] = s[r++];
      }
    }
    s.resize(w);
  }
}

void BpeEncoder::encode_piece(std::string_view piece, std::vector<uint32_t>& out) {
  const bool cacheable = piece.size() <= kCachedPieceBytes;
  if (cacheable) {
    key_.assign(piece);  // reuses key_'s buffer: no allocation per piece
    const auto it = cache_.find(key_);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  symbols_.clear();
  for (unsigned char b : piece) symbols_.push_back(model_->byte_id[b]);
  merge_symbols();
  out.insert(out.end(), symbols_.begin(), symbols_.end());
  if (cacheable) {
    if (cache_.size() >= kCacheLimit) cache_.clear();
    cache_.emplace(key_, symbols_);
  }
}

void BpeEncoder::encode(std::string_view text, std::vector<uint32_t>& out) {
  std::string repaired;
  if (!is_valid_utf8(text)) {
    repaired = repair_utf8(text);
    text = repaired;
  }
  pretok_.split(text, pieces_);
  for (const Piece& p : pieces_) encode_piece(text.substr(p.first, p.second - p.first), out);
}

std::string bpe_decode(const BpeModel& model, const std::vector<uint32_t>& ids) {
  std::string out;
  for (uint32_t id : ids) {
    if (id >= model.token_bytes.size())
      throw std::out_of_range("token id " + std::to_string(id) + " is not below the vocabulary size " +
                              std::to_string(model.vocab_size));
    out += model.token_bytes[id];
  }
  return out;
}

}  // namespace entropix
