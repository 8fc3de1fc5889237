#include "entropix/data/sentencepiece_tokenizer.h"

#include <stdexcept>

#include "entropix/util/error.h"

#ifdef ENTROPIX_HAVE_SENTENCEPIECE
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#endif

namespace entropix {
namespace fs = std::filesystem;

#ifdef ENTROPIX_HAVE_SENTENCEPIECE

namespace {

class SentencePieceTokenizer : public Tokenizer {
 public:
  SentencePieceTokenizer(std::shared_ptr<const sentencepiece::SentencePieceProcessor> sp, uint32_t eot)
      : sp_(std::move(sp)), eot_(eot) {}
  std::string kind() const override { return "sentencepiece"; }
  void encode(std::string_view text, std::vector<uint32_t>& out) override {
    ids_.clear();
    const auto status = sp_->Encode(absl::string_view(text.data(), text.size()), &ids_);
    if (!status.ok()) throw std::runtime_error("sentencepiece: " + status.ToString());
    out.insert(out.end(), ids_.begin(), ids_.end());
  }
  std::string decode(const std::vector<uint32_t>& ids) const override {
    std::vector<int> v;
    for (uint32_t id : ids) {
      if (id >= vocab_size())
        throw std::out_of_range("token id " + std::to_string(id) + " is not below the vocabulary size " +
                                std::to_string(vocab_size()));
      v.push_back(static_cast<int>(id));
    }
    std::string text;
    const auto status = sp_->Decode(v, &text);
    if (!status.ok()) throw std::runtime_error("sentencepiece: " + status.ToString());
    return text;
  }
  uint32_t vocab_size() const override { return static_cast<uint32_t>(sp_->GetPieceSize()); }
  uint32_t end_of_text() const override { return eot_; }
  std::unique_ptr<Tokenizer> clone() const override { return std::make_unique<SentencePieceTokenizer>(sp_, eot_); }

 private:
  std::shared_ptr<const sentencepiece::SentencePieceProcessor> sp_;  // Encode is const: shared by threads
  uint32_t eot_;
  std::vector<int> ids_;
};

// Feeds sentencepiece's trainer the lines of the documents, one at a time.
class DocumentLines : public sentencepiece::SentenceIterator {
 public:
  explicit DocumentLines(const SentencePieceTraining& t) : t_(t) { Next(); }
  bool done() const override { return done_; }
  void Next() override {
    while (true) {
      if (pos_ >= doc_.size()) {
        if (!t_.next_document(doc_)) {
          done_ = true;
          return;
        }
        pos_ = 0;
      }
      size_t end = doc_.find('\n', pos_);
      if (end == std::string::npos) end = doc_.size();
      line_.assign(doc_, pos_, end - pos_);
      pos_ = end + 1;
      if (!line_.empty()) return;
    }
  }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }  // ok

 private:
  const SentencePieceTraining& t_;
  std::string doc_, line_;
  size_t pos_ = 0;
  bool done_ = false;
};

}  // namespace

bool have_sentencepiece() { return true; }

std::unique_ptr<Tokenizer> make_sentencepiece_tokenizer(const fs::path& model_file) {
  auto sp = std::make_shared<sentencepiece::SentencePieceProcessor>();
  const auto status = sp->Load(model_file.string());
  if (!status.ok())
    throw InputError(model_file.string() + ": cannot load as a sentencepiece model (" + status.ToString() + ")");
  int eot = sp->eos_id();
  if (eot < 0) {
    eot = sp->PieceToId("<|endoftext|>");
    if (eot == sp->unk_id()) eot = -1;
  }
  if (eot < 0)
    throw InputError(model_file.string() + ": the model has no end-of-text token (no </s> and no <|endoftext|> piece); "
                     "train it with an eos piece");
  return std::make_unique<SentencePieceTokenizer>(sp, static_cast<uint32_t>(eot));
}

std::string train_sentencepiece(const SentencePieceTraining& t) {
  const std::unordered_map<std::string, std::string> args = {
      {"vocab_size", std::to_string(t.vocab_size)},
      {"model_type", "unigram"},
      {"character_coverage", "1.0"},
      {"byte_fallback", "true"},
      {"remove_extra_whitespaces", "false"},  // code keeps its indentation
      {"input_sentence_size", "2000000"},     // a sample of lines when the corpus has more
      {"shuffle_input_sentence", "true"},
      {"max_sentence_length", "16384"},
      {"num_threads", std::to_string(std::max(1, t.threads))},
      {"minloglevel", "2"},  // errors only: its info lines would bury prepare's output
  };
  DocumentLines lines(t);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &lines, &model);
  if (!status.ok())
    throw InputError("sentencepiece training with --vocab-size " + std::to_string(t.vocab_size) +
                     " failed: " + status.ToString());
  return model;
}

#else  // no sentencepiece in this build

namespace {
[[noreturn]] void missing() {
  throw InputError("--tokenizer sentencepiece: this entropix was built without sentencepiece; install "
                   "libsentencepiece-dev and rebuild with -DENTROPIX_WITH_SENTENCEPIECE=ON (docs/data.md)");
}
}  // namespace

bool have_sentencepiece() { return false; }
std::unique_ptr<Tokenizer> make_sentencepiece_tokenizer(const fs::path&) { missing(); }
std::string train_sentencepiece(const SentencePieceTraining&) { missing(); }

#endif

}  // namespace entropix
