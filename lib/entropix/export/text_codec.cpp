#include "entropix/export/text_codec.h"

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

}  // namespace

std::unique_ptr<TextCodec> text_codec_for(const ExperimentSpec& spec) {
  if (spec.data.tokenizer == "byte") return std::make_unique<ByteCodec>(spec.model.vocab_size);
  throw InputError("data.tokenizer: sample cannot encode or decode '" + spec.data.tokenizer + "' yet (valid: byte)");
}

}  // namespace entropix
