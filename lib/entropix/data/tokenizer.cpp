#include "entropix/data/tokenizer.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "entropix/data/bpe.h"
#include "entropix/data/sentencepiece_tokenizer.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "entropix/util/hash.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

class ByteTokenizer : public Tokenizer {
 public:
  std::string kind() const override { return "byte"; }
  void encode(std::string_view text, std::vector<uint32_t>& out) override {
    for (unsigned char b : text) out.push_back(b);
  }
  std::string decode(const std::vector<uint32_t>& ids) const override {
    std::string s;
    for (uint32_t id : ids) {
      if (id >= 256) throw std::out_of_range("token id " + std::to_string(id) + " is not a byte (vocabulary 256)");
      s += static_cast<char>(id);
    }
    return s;
  }
  uint32_t vocab_size() const override { return 256; }
  uint32_t end_of_text() const override { return '\n'; }
  std::unique_ptr<Tokenizer> clone() const override { return std::make_unique<ByteTokenizer>(); }
  // Files never run into each other: a newline, unless the text already ends in one.
  void end_document(std::string_view text, std::vector<uint32_t>& out) const override {
    if (text.empty() || text.back() != '\n') out.push_back('\n');
  }
};

class Gpt2BpeTokenizer : public Tokenizer {
 public:
  explicit Gpt2BpeTokenizer(std::shared_ptr<const BpeModel> model) : encoder_(std::move(model)) {}
  std::string kind() const override { return "gpt2-bpe"; }
  void encode(std::string_view text, std::vector<uint32_t>& out) override { encoder_.encode(text, out); }
  std::string decode(const std::vector<uint32_t>& ids) const override { return bpe_decode(encoder_.model(), ids); }
  uint32_t vocab_size() const override { return encoder_.model().vocab_size; }
  uint32_t end_of_text() const override { return encoder_.model().end_of_text; }
  std::unique_ptr<Tokenizer> clone() const override {
    return std::make_unique<Gpt2BpeTokenizer>(encoder_.shared_model());
  }

 private:
  BpeEncoder encoder_;
};

// <dir>/<name>, checked against the checksum meta.json records for it.
fs::path checked_file(const fs::path& dir, const nlohmann::json& info, const std::string& role) {
  const fs::path meta = dir / "meta.json";
  if (!info.contains("files") || !info["files"].contains(role) || !info["files"][role].is_string())
    throw InputError(meta.string() + ": tokenizer.files." + role + " is missing; re-create the corpus with entropix prepare");
  const fs::path file = dir / info["files"][role].get<std::string>();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw InputError(file.string() + ": no such file (meta.json names it as the tokenizer's " + role + ")");
  if (info.contains("checksums") && info["checksums"].contains(role)) {
    const std::string want = info["checksums"][role].get<std::string>(), got = file_checksum(file);
    if (want != got)
      throw InputError(file.string() + ": checksum " + got + " differs from " + want +
                       " recorded in meta.json; the tokenizer file changed after the corpus was prepared");
  }
  return file;
}

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer() { return std::make_unique<ByteTokenizer>(); }

std::unique_ptr<Tokenizer> make_gpt2_bpe_tokenizer(const fs::path& vocab_json, const fs::path& merges_txt) {
  return std::make_unique<Gpt2BpeTokenizer>(load_gpt2_bpe(vocab_json, merges_txt));
}

std::string file_checksum(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string() + ": cannot read");
  uint64_t h = kFnv1aOffset;
  char buf[1 << 16];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) h = fnv1a64_bytes(buf, static_cast<size_t>(in.gcount()), h);
  return hex16(h);
}

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& dir) {
  const fs::path meta_path = dir / "meta.json";
  std::error_code ec;
  if (!fs::is_regular_file(meta_path, ec))
    throw InputError(meta_path.string() + ": no such file (expected the meta.json of a corpus made by entropix prepare)");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(read_file(meta_path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(meta_path.string() + ": not valid JSON (" + e.what() + ")");
  }
  const std::string kind = meta.value("tokenizer", std::string());
  const nlohmann::json info = meta.value("tokenizer_info", nlohmann::json::object());
  if (kind == "byte") return make_byte_tokenizer();
  if (kind == "gpt2-bpe")
    return make_gpt2_bpe_tokenizer(checked_file(dir, info, "vocab"), checked_file(dir, info, "merges"));
  if (kind == "sentencepiece") return make_sentencepiece_tokenizer(checked_file(dir, info, "model"));
  throw InputError(meta_path.string() + ": tokenizer is \"" + kind + "\"; expected byte, gpt2-bpe or sentencepiece");
}

}  // namespace entropix
