#include "entropix/export/text_codec.h"

#include <filesystem>

#include "entropix/data/tokenizer.h"
#include "entropix/util/error.h"

namespace entropix {
namespace {

// data.tokenizer byte (data/prepare.cpp): token = the byte's value, 0..255.
class ByteCodec : public TextCodec {
 public:
  explicit ByteCodec(int64_t vocab_size) : vocab_size_(vocab_size) {}
  std::vector<int64_t> encode(const std::string& text) const override {
    std::vector<int64_t> ids;
    for (unsigned char c : text) {
      if (c >= vocab_size_)
        throw InputError("--prompt: byte " + std::to_string(c) + " is outside the model's vocabulary (model.vocab_size " +
                         std::to_string(vocab_size_) + ")");
      ids.push_back(c);
    }
    return ids;
  }
  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string text;
    // Ids of a vocabulary larger than 256 beyond the bytes have no text: shown as U+FFFD.
    for (int64_t id : ids) text += id >= 0 && id < 256 ? std::string(1, static_cast<char>(id)) : "\xEF\xBF\xBD";
    return text;
  }

 private:
  int64_t vocab_size_;
};

// A corpus prepared with another tokenizer (GPT-2 BPE, sentencepiece): the one its meta.json names.
class TokenizerCodec : public TextCodec {
 public:
  explicit TokenizerCodec(std::unique_ptr<Tokenizer> tok) : tok_(std::move(tok)) {}
  std::vector<int64_t> encode(const std::string& text) const override {
    const std::vector<uint32_t> ids = tok_->clone()->encode(text);  // a clone: encode keeps a cache
    return {ids.begin(), ids.end()};
  }
  std::string decode(const std::vector<int64_t>& ids) const override {
    std::vector<uint32_t> in;
    for (int64_t id : ids) {
      if (id < 0 || id >= static_cast<int64_t>(tok_->vocab_size())) continue;  // padding ids have no text
      in.push_back(static_cast<uint32_t>(id));
    }
    return tok_->decode(in);
  }

 private:
  std::unique_ptr<Tokenizer> tok_;
};

// The prepared corpus's directory: data.val (else data.train) when it is a directory, otherwise
// the directory holding that file or glob. Empty for the built-in pystdlib corpus (bytes).
std::filesystem::path corpus_dir_of(const DataSpec& data) {
  if (data.source != "files") return {};
  const std::filesystem::path p = data.val.empty() ? data.train : data.val;
  std::error_code ec;
  return std::filesystem::is_directory(p, ec) ? p : p.parent_path();
}

}  // namespace

std::unique_ptr<TextCodec> text_codec_for(const ExperimentSpec& spec) {
  const std::filesystem::path dir = corpus_dir_of(spec.data);
  std::error_code ec;
  if (!dir.empty() && std::filesystem::exists(dir / "meta.json", ec)) {
    std::unique_ptr<Tokenizer> tok = load_tokenizer(dir);
    if (tok->kind() != "byte") return std::make_unique<TokenizerCodec>(std::move(tok));
  }
  if (spec.data.tokenizer == "byte") return std::make_unique<ByteCodec>(spec.model.vocab_size);
  throw InputError("data.tokenizer: sample cannot encode or decode '" + spec.data.tokenizer + "' (valid: byte, or a corpus whose meta.json names its tokenizer)");
}

}  // namespace entropix
